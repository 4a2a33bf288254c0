"""Chapter 10 experiment: PPO with mixtures of experts in multi-task (MTRL) and continual (CRL) MinAtar.

Arms: MTRL with the baseline network vs a Soft MoE in the middle (penultimate) layer of the critic; CRL
(Breakout -> SpaceInvaders -> Asterix) with the baseline vs Big experts (whole torsos) routed by task id in
the critic. Every run is ``len(games)`` phases; the run length and batch are ``SettingsConfig.PRESETS``.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from rlbook.config import check_choice
from rlbook.envs.multitask_minatar import SHORT
from rlbook.experiments import Experiment
from rlbook.learners.moe_settings import SettingsConfig, forgetting, make_train
from rlbook.rl.progress import progress

DESCRIPTION = (
    "multi-task and continual MinAtar PPO (Breakout, SpaceInvaders, Asterix): baseline vs Soft MoE "
    "(MTRL) and vs Big task-hard-coded experts (CRL); per-task returns, dormancy, forgetting"
)

ARMS = {
    "mtrl_dense": dict(setting="mtrl", arch="baseline"),
    "mtrl_softmoe": dict(setting="mtrl", arch="middle", router="soft"),
    "crl_dense": dict(setting="crl", arch="baseline"),
    "crl_big_hardcoded": dict(setting="crl", arch="big", router="hard"),
}
SWEEP = {
    "tiny": {"seeds": (0,), "arms": ("mtrl_dense", "crl_dense")},  # one network: one compile
    "book": {"seeds": (0,), "arms": tuple(ARMS)},
    "medium": {"seeds": (1,), "arms": tuple(ARMS)},  # seed 1 next to the book run's 0 (CPU time)
    "paper": {"seeds": (0, 1, 2, 3, 4), "arms": tuple(ARMS)},
}


def arms(preset: str) -> dict[str, SettingsConfig]:
    check_choice("preset", preset, SWEEP)
    return {a: SettingsConfig.preset(preset, **ARMS[a]) for a in SWEEP[preset]["arms"]}


def config(preset: str) -> dict:
    return {
        "preset": dict(SWEEP[preset]),
        "arms": {k: v.to_dict() for k, v in arms(preset).items()},
    }


def _r(x, d=4):
    return np.round(np.asarray(x, dtype=float), d).tolist()


def run_arm(cfg: SettingsConfig, seed: int) -> dict:
    """One seed of one arm: curves (phases concatenated), returns matrix, final dormancy and usage."""
    t0 = time.perf_counter()
    with progress(cfg.num_tasks * cfg.phase_updates, f"{cfg.setting} {cfg.arch} seed {seed}"):
        out = jax.block_until_ready(make_train(cfg, jit_phase=True)(jax.random.key(seed)))
    m = jax.tree_util.tree_map(lambda x: np.asarray(x).reshape((-1,) + x.shape[2:]), out.metrics)
    if not (np.isfinite(m["value_loss"]).all() and np.isfinite(m["entropy"]).all()):
        raise FloatingPointError(f"{cfg.setting}/{cfg.arch} seed {seed}: PPO diverged (NaN loss)")
    ret = np.asarray(out.returns)
    res = {
        "returns_matrix": _r(ret),
        "final_task_returns": _r(ret[-1]),
        "order": [int(g) for g in np.asarray(out.order)],
        "task_return": _r(m["task_return"]),
        "critic_dormant": _r(m["critic_dormant"]),
        "actor_dormant": _r(m["actor_dormant"]),
        "critic_dormant_025": _r(m["critic_dormant_025"]),
        "final_critic_dormant": float(m["critic_dormant"][-3:].mean()),
        "final_actor_dormant": float(m["actor_dormant"][-3:].mean()),
        "frames": cfg.total_timesteps,
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    if (
        "critic_usage" in m
    ):  # [K, n]: each game's usage at the end of its last phase (the probe holds
        # the rollout's games: all of them in MTRL, only the phase's game in CRL)
        end = np.asarray(out.metrics["critic_usage"])[:, -1]  # [P, K, n]
        rows = (
            end[-1]
            if cfg.setting == "mtrl"
            else end[np.argsort(cfg.order), np.arange(cfg.num_tasks)]
        )
        res["critic_usage"] = _r(rows)
    if cfg.setting == "crl":
        res["forgetting"] = forgetting(ret, out.order)
    return res


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    check_choice("preset", preset, SWEEP)
    results: dict = {"games": list(SettingsConfig().games), "arms": {}}
    for name, cfg in arms(preset).items():
        results["arms"][name] = {}
        for s in SWEEP[preset]["seeds"]:
            r = run_arm(cfg, seed + s)
            results["arms"][name][str(seed + s)] = r
            extra = f", forgetting {r['forgetting']:.3g}" if "forgetting" in r else ""
            log(
                f"{name} seed {seed + s}: returns {r['final_task_returns']}, critic dormant "
                f"{r['final_critic_dormant']:.3f}{extra}, {r['wall_s']} s"
            )

    def agg(name, key):
        if name not in results["arms"]:
            return None  # an arm the preset does not run (tiny)
        return round(float(np.mean([v[key] for v in results["arms"][name].values()])), 4)

    summary: dict = {}
    for arm, key in (("mtrl_dense", "dense"), ("mtrl_softmoe", "softmoe")):
        summary[f"mtrl_{key}_dormant_fraction"] = agg(arm, "final_critic_dormant")
        seeds = results["arms"].get(arm, {})
        rets = np.mean([v["final_task_returns"] for v in seeds.values()], axis=0) if seeds else None
        for i, g in enumerate(results["games"]):
            summary[f"mtrl_{key}_return_{SHORT[g]}"] = (
                None if rets is None else round(float(rets[i]), 3)
            )
    summary["crl_dense_forgetting"] = agg("crl_dense", "forgetting")
    summary["crl_big_hardcoded_forgetting"] = agg("crl_big_hardcoded", "forgetting")
    summary["frames_per_run"] = SettingsConfig.preset(preset).total_timesteps
    summary["seeds"] = len(SWEEP[preset]["seeds"])
    summary["wall_s"] = round(time.perf_counter() - t0, 1)
    return summary, results


EXPERIMENT = Experiment(
    "moe_settings", DESCRIPTION, run, config, presets=tuple(SWEEP), chapter="10_moe_settings"
)
