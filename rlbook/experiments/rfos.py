"""Chapter 4 experiment: R-FOS (R-max on the tabular meta-MDP) against the bandit Q-learner.

For each history length h, one R-FOS run with the preset's constants: the final greedy policy's per-step
reward, the meta-episodes until every (s, a) pair was known, and the learning curves. ``book`` runs h = 1, 2
at epsilon 0.5 (seconds); ``medium`` adds h = 3 (about a minute); ``paper`` uses the reference's
epsilon 0.2 for h = 2, 3 (3.3e7 meta-episodes for h = 3: tens of minutes on a CPU).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from rlbook.config import check_choice
from rlbook.experiments import Experiment
from rlbook.shaping.rfos import RFOSConfig, best_memoryless_reward, episodes_to_known, make_train

DESCRIPTION = "R-FOS: R-max on the discretised meta-MDP vs a Q-learner in matching pennies"

HISTORIES = {"tiny": (1,), "book": (1, 2), "medium": (1, 2, 3), "paper": (2, 3)}  # runs per preset


def config(preset: str) -> dict:
    check_choice("preset", preset, HISTORIES)
    return {f"h{h}": RFOSConfig.preset(preset, h=h).to_dict() for h in HISTORIES[preset]}


def run_one(cfg: RFOSConfig, seed: int) -> dict:
    out = jax.jit(make_train(cfg))(jax.random.key(seed))
    pairs = cfg.num_states * cfg.num_actions
    return {
        "h": cfg.h,
        "num_states": cfg.num_states,
        "m": cfg.m,
        "episodes": int(cfg.num_batches * cfg.num_envs),
        "final_reward": float(out.final_reward),
        "episodes_to_known": episodes_to_known(out.metrics, pairs),
        "curve_episodes": np.asarray(out.metrics.episodes).tolist(),
        "curve_reward": np.asarray(out.metrics.reward).round(5).tolist(),
        "curve_known": np.asarray(out.metrics.known).tolist(),
        "policy": np.asarray(out.policy).tolist(),
    }


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    check_choice("preset", preset, HISTORIES)
    results = {}
    summary = {}
    for h in HISTORIES[preset]:
        cfg = RFOSConfig.preset(preset, h=h)
        log(f"h={h}: |S|={cfg.num_states} m={cfg.m} meta-episodes={cfg.episodes}")
        r = run_one(cfg, seed)
        results[f"h{h}"] = r
        summary[f"h{h}_final_reward"] = round(r["final_reward"], 4)
        summary[f"h{h}_episodes_to_known"] = r["episodes_to_known"]
        log(
            f"h={h}: final reward {r['final_reward']:.3f}, all known after {r['episodes_to_known']}"
        )
    best, p = best_memoryless_reward(jax.random.key(seed + 1), RFOSConfig.preset(preset))
    summary["best_memoryless_reward"] = round(best, 4)
    results["best_memoryless"] = {"reward": best, "p_first": p}
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    return summary, results


EXPERIMENT = Experiment(
    "rfos", DESCRIPTION, run, config, presets=tuple(HISTORIES), chapter="04_rfos"
)
