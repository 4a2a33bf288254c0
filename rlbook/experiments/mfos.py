"""Chapter 2 experiments: M-FOS (ES) against naive learners, LOLA and itself; M-FOS (PPO).

``mfos``: ES meta-training at the preset's size for IPD vs NL, IMP vs NL, Chicken vs NL, IPD vs LOLA and
IPD meta-self-play, ``num_seeds`` seeds each (vmapped), every mean policy evaluated on 256 held-out
co-players. Rewards are per-step averages over the 100-step meta-episode, mean over co-players and seeds.

``mfos`` has no ``paper`` preset: the paper's own meta-learner is PPO, run by ``mfos_ppo``.

``mfos_ppo``: the paper's PPO meta-learner vs NL in the IPD; ``book`` at batch 256 (CPU minutes),
``paper`` at the reference's batch 4096 x 1024 iterations (a GPU; 4.3 s an iteration on an idle 2-core CPU, up to 20 s on a shared one).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from rlbook.config import check_choice
from rlbook.experiments import Experiment
from rlbook.rl.progress import progress
from rlbook.shaping.mfos import MFOSConfig, make_train_ppo, train_eval_es

DESCRIPTION = "M-FOS (ES) vs NL / LOLA / itself in IPD, IMP, Chicken"

# (name, game, opponent, extra config)
SETTINGS = (
    ("ipd_vs_nl", "ipd", "nl", {}),
    ("imp_vs_nl", "imp", "nl", {}),
    ("chicken_vs_nl", "chicken", "nl", {}),
    ("ipd_vs_lola", "ipd", "lola", {"generations": 60}),
    ("ipd_self", "ipd", "self", {"anneal_rate": 1 / 60}),
)
ES_PRESETS = ("tiny", "book", "medium")  # the paper's own meta-learner is PPO: ``mfos_ppo``
PPO_PRESETS = {"tiny": "ppo_tiny", "book": "ppo_book", "medium": "ppo_medium", "paper": "paper"}


def es_config(preset: str, game: str, opponent: str, extra: dict) -> MFOSConfig:
    """The ES setting at ``preset``; ``extra`` (shorter LOLA runs, faster annealing) at ``book`` only."""
    if preset not in ES_PRESETS:
        raise ValueError(
            f"preset={preset!r} is not valid for mfos (ES); valid: {', '.join(ES_PRESETS)} "
            "(the paper's PPO meta-learner is the mfos_ppo experiment)"
        )
    return MFOSConfig.preset(
        preset, game=game, opponent=opponent, **(extra if preset == "book" else {})
    )


def settings(preset: str) -> tuple:
    """The settings a preset runs: ``tiny`` (a smoke test) runs the first (IPD vs NL) and self-play."""
    return (SETTINGS[0], SETTINGS[-1]) if preset == "tiny" else SETTINGS


def config(preset: str) -> dict:
    return {n: es_config(preset, g, o, x).to_dict() for n, g, o, x in settings(preset)}


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    summary, results = {}, {}
    for name, game, opp, extra in settings(preset):
        cfg = es_config(preset, game, opp, extra)
        with progress(cfg.generations, name):
            out, trials = train_eval_es(cfg, seed)
        r, r_opp = np.asarray(trials.reward), np.asarray(trials.opp_reward)  # [seeds, opps, T]
        results[name] = {
            "mfos_reward_per_seed": r.mean(axis=(1, 2)).tolist(),
            "opp_reward_per_seed": r_opp.mean(axis=(1, 2)).tolist(),
            "mfos_reward_by_step": r.mean(axis=(0, 1)).tolist(),
            "opp_reward_by_step": r_opp.mean(axis=(0, 1)).tolist(),
            "mean_fitness_curve": np.asarray(out.mean_fitness).tolist(),
        }
        summary[f"{game}_{'self' if opp == 'self' else 'mfos_vs_' + opp}_reward"] = round(
            float(r.mean()), 4
        )
        key2 = f"{game}_{'self_coplayer' if opp == 'self' else opp + '_vs_mfos'}_reward"
        summary[key2] = round(float(r_opp.mean()), 4)
        log(f"{name}: M-FOS {r.mean():.3f}, co-player {r_opp.mean():.3f}")
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    return summary, results


def ppo_config(preset: str) -> MFOSConfig:
    check_choice("preset", preset, PPO_PRESETS)
    return MFOSConfig.preset(PPO_PRESETS[preset])


def run_ppo(preset: str = "book", seed: int = 0, log=lambda msg: None):
    cfg = ppo_config(preset)
    log(f"PPO meta-learner vs NL in the IPD: batch {cfg.batch} x {cfg.iterations} iterations")
    t0 = time.perf_counter()
    out = jax.block_until_ready(jax.jit(make_train_ppo(cfg))(jax.random.key(seed)))
    wall = time.perf_counter() - t0
    r, r_opp = np.asarray(out.reward), np.asarray(out.opp_reward)
    if not np.isfinite(r).all():
        raise FloatingPointError("PPO meta-training diverged (non-finite reward)")
    last = max(1, len(r) // 10)
    summary = {
        "ipd_mfos_ppo_reward": round(float(r[-last:].mean()), 4),
        "ipd_nl_vs_mfos_ppo_reward": round(float(r_opp[-last:].mean()), 4),
        "first_reward": round(float(r[0]), 4),
        "s_per_iteration": round(wall / cfg.iterations, 4),
        "wall_s": round(wall, 2),
    }
    return summary, {"reward": r.tolist(), "opp_reward": r_opp.tolist()}


EXPERIMENT = Experiment("mfos", DESCRIPTION, run, config, presets=ES_PRESETS, chapter="02_mfos")
