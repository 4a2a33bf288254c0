"""Chapter 2 experiments: M-FOS (ES) against naive learners, LOLA and in meta-self-play; M-FOS (PPO).

``mfos``: ES meta-training for IPD vs NL, IMP vs NL, Chicken vs NL, IPD vs LOLA, IPD meta-self-play
between two independent ES meta-learners (``ipd_selfplay``), and the shared-parameter "welfare
optimum" contrast (``ipd_shared``: one parameter set in both seats, so ES maximises the symmetric
profile's return). ``num_seeds`` seeds each (vmapped), every final policy evaluated on 256 held-out
co-players (self-play: 256 fresh initial inner policies). Rewards are per-step averages over the 100-step
meta-episode; the summary gives the mean over co-players and seeds, ``results`` each seed. ``medium``
runs only IPD vs LOLA, twice as long (what fits in ~25 min on a loaded 2-core CPU).

``mfos`` has no ``paper`` preset: the paper's own meta-learner is PPO, run by ``mfos_ppo``.

``mfos_ppo``: the paper's PPO meta-learner vs NL and vs LOLA in the IPD, ``num_seeds`` seeds each;
``book`` at batch 256 (CPU minutes), ``paper`` at the reference's batch 4096 x 1024 iterations (a GPU;
4.3 s an iteration on an idle 2-core CPU, up to 20 s on a shared one).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from rlbook.config import check_choice
from rlbook.experiments import Experiment
from rlbook.rl import train_seeds
from rlbook.rl.progress import progress
from rlbook.shaping.mfos import SELF_PLAY, MFOSConfig, make_train_ppo, train_eval_es

DESCRIPTION = "M-FOS (ES) vs NL / LOLA and in meta-self-play in IPD, IMP, Chicken"


class Setting(NamedTuple):
    name: str
    game: str
    opponent: str
    reward_key: str  # summary key of M-FOS's (seat 1's) reward
    opp_key: str | None  # summary key of the co-player's reward (None: one list key for both seats)


SETTINGS = (
    Setting("ipd_vs_nl", "ipd", "nl", "ipd_mfos_vs_nl_reward", "ipd_nl_vs_mfos_reward"),
    Setting("imp_vs_nl", "imp", "nl", "imp_mfos_vs_nl_reward", "imp_nl_vs_mfos_reward"),
    Setting(
        "chicken_vs_nl", "chicken", "nl", "chicken_mfos_vs_nl_reward", "chicken_nl_vs_mfos_reward"
    ),
    Setting("ipd_vs_lola", "ipd", "lola", "ipd_mfos_vs_lola_reward", "ipd_lola_vs_mfos_reward"),
    Setting("ipd_selfplay", "ipd", "independent", "ipd_selfplay_reward", None),
    Setting("ipd_shared", "ipd", "self", "ipd_shared_welfare_reward", None),
)
ES_PRESETS = ("tiny", "book", "medium")  # the paper's own meta-learner is PPO: ``mfos_ppo``
PPO_PRESETS = {"tiny": "ppo_tiny", "book": "ppo_book", "medium": "ppo_medium", "paper": "paper"}


def es_config(preset: str, game: str, opponent: str, extra: dict | None = None) -> MFOSConfig:
    """The ES setting at ``preset`` (with ``extra`` overrides). Meta-self-play anneals its naive-learner
    mix to 0 at two thirds of training, as the reference's 0.0015 per iteration over 1024 iterations."""
    if preset not in ES_PRESETS:
        raise ValueError(
            f"preset={preset!r} is not valid for mfos (ES); valid: {', '.join(ES_PRESETS)} "
            "(the paper's PPO meta-learner is the mfos_ppo experiment)"
        )
    extra = dict(extra or {})
    c = MFOSConfig.preset(preset, game=game, opponent=opponent, **extra)
    if opponent in SELF_PLAY and "anneal_rate" not in extra:
        c = MFOSConfig.preset(
            preset, game=game, opponent=opponent, anneal_rate=1.5 / c.generations, **extra
        )
    return c


def settings(preset: str) -> tuple:
    """``tiny`` (a smoke test): IPD vs NL and independent self-play; ``medium``: IPD vs LOLA;
    ``book``: all six."""
    if preset == "tiny":
        return (SETTINGS[0], SETTINGS[4])
    if preset == "medium":
        return (SETTINGS[3],)
    return SETTINGS


def config(preset: str) -> dict:
    return {s.name: es_config(preset, s.game, s.opponent).to_dict() for s in settings(preset)}


def run_setting(s: Setting, preset: str, seed: int, summary: dict, log) -> dict:
    cfg = es_config(preset, s.game, s.opponent)
    with progress(cfg.generations, s.name):
        out, trials = train_eval_es(cfg, seed)
    r, r_opp = np.asarray(trials.reward), np.asarray(trials.opp_reward)  # [seeds, opps, T]
    r_seed, o_seed = r.mean(axis=(1, 2)), r_opp.mean(axis=(1, 2))
    if not (np.isfinite(r).all() and np.isfinite(r_opp).all()):
        raise FloatingPointError(f"{s.name}: non-finite reward")
    if s.opp_key is None:  # self-play: both seats are meta-learners; one key, [seat 1, seat 2]
        summary[s.reward_key] = [round(float(r.mean()), 4), round(float(r_opp.mean()), 4)]
    else:
        summary[s.reward_key] = round(float(r.mean()), 4)
        summary[s.opp_key] = round(float(r_opp.mean()), 4)
    log(f"{s.name}: per seed, seat 1 {np.round(r_seed, 3)}, seat 2 {np.round(o_seed, 3)}")
    return {
        "mfos_reward_per_seed": r_seed.tolist(),
        "opp_reward_per_seed": o_seed.tolist(),
        "mfos_reward_by_step": r.mean(axis=(0, 1)).tolist(),
        "opp_reward_by_step": r_opp.mean(axis=(0, 1)).tolist(),
        "mean_fitness_curve": np.asarray(out.mean_fitness).tolist(),
        "final_phi": np.asarray(trials.phi[:, :, -1]).tolist(),  # [seeds, opps, 5] seat 1
        "final_theta": np.asarray(trials.theta[:, :, -1]).tolist(),  # [seeds, opps, 5] seat 2
    }


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    summary, results = {}, {}
    for s in settings(preset):
        results[s.name] = run_setting(s, preset, seed, summary, log)
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    return summary, results


def ppo_config(preset: str, opponent: str = "nl") -> MFOSConfig:
    check_choice("preset", preset, PPO_PRESETS)
    return MFOSConfig.preset(PPO_PRESETS[preset], opponent=opponent)


def run_ppo(preset: str = "book", seed: int = 0, log=lambda msg: None):
    """The PPO meta-learner vs NL and vs LOLA in the IPD, ``num_seeds`` seeds each (vmapped)."""
    summary, results, t_all = {}, {}, time.perf_counter()
    for opp in ("nl", "lola"):
        cfg = ppo_config(preset, opp)
        log(
            f"PPO vs {opp}: {cfg.num_seeds} seeds x batch {cfg.batch} x {cfg.iterations} iterations"
        )
        t0 = time.perf_counter()
        out = train_seeds(make_train_ppo(cfg), seed, cfg.num_seeds)
        r, r_opp = np.asarray(out.reward), np.asarray(out.opp_reward)  # [seeds, iterations]
        wall = time.perf_counter() - t0
        if not np.isfinite(r).all():
            raise FloatingPointError(f"PPO meta-training vs {opp} diverged (non-finite reward)")
        last = max(1, r.shape[1] // 10)
        r_end, o_end = r[:, -last:].mean(axis=1), r_opp[:, -last:].mean(axis=1)
        tag = "" if opp == "nl" else "_vs_lola"
        summary[f"ipd_mfos_ppo{tag}_reward"] = round(float(r_end.mean()), 4)
        summary[f"ipd_{opp}_vs_mfos_ppo_reward"] = round(float(o_end.mean()), 4)
        summary[f"ipd_mfos_ppo{tag}_reward_per_seed"] = [round(float(x), 4) for x in r_end]
        summary[f"ipd_{opp}_vs_mfos_ppo_reward_per_seed"] = [round(float(x), 4) for x in o_end]
        summary[f"s_per_iteration_{opp}"] = round(wall / cfg.iterations, 4)
        results[opp] = {"reward": r.tolist(), "opp_reward": r_opp.tolist()}
        log(f"PPO vs {opp}, last 10%: M-FOS {np.round(r_end, 3)}, {opp} {np.round(o_end, 3)}")
    summary["first_reward"] = round(float(np.asarray(results["nl"]["reward"])[:, 0].mean()), 4)
    summary["wall_s"] = round(time.perf_counter() - t_all, 2)
    return summary, results


EXPERIMENT = Experiment("mfos", DESCRIPTION, run, config, presets=ES_PRESETS, chapter="02_mfos")
