"""Chapter 8 experiment: recurrent IPPO on SMAX 3m against the heuristic enemy.

Summary: ``win_rate`` (greedy evaluation episodes after training, one per eval env), ``env_steps``, ``sps``
(env steps per second of the training run, compile excluded), ``compile_s``, ``wall_s``, and the curves
(training-policy win rate and return per update vs env steps and seconds), and the trained actor's
parameters (``results["actor_params_msgpack_b64"]``, read back with ``rlbook.learners.mappo.decode_actor``).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from rlbook.experiments import Experiment
from rlbook.learners.mappo import MAPPOConfig, encode_actor, make_train
from rlbook.rl.progress import progress

DESCRIPTION = "Recurrent IPPO on SMAX 3m vs the heuristic enemy (greedy-eval win rate, SPS)"

ALGO = "ippo"


def config(preset: str, algo: str = ALGO) -> dict:
    return MAPPOConfig.preset(preset, algo=algo).to_dict()


def _last_mean(x, k: int = 3):
    """Mean of the last ``k`` updates that saw an episode end (None if none did, as in a tiny run)."""
    last = np.asarray(x[-k:], dtype=float)
    return round(float(np.nanmean(last)), 4) if np.isfinite(last).any() else None


def run_algo(algo: str, preset: str = "book", seed: int = 0, log=lambda m: None, **overrides):
    cfg = MAPPOConfig.preset(preset, algo=algo, **overrides)
    t0 = time.perf_counter()
    train = jax.jit(make_train(cfg)).lower(jax.random.key(seed)).compile()
    compile_s = time.perf_counter() - t0
    log(f"{algo} {cfg.scenario}: compiled in {compile_s:.1f} s, {cfg.num_updates} updates")
    t1 = time.perf_counter()
    with progress(cfg.num_updates, f"{algo} {cfg.scenario}"):
        out = jax.block_until_ready(train(jax.random.key(seed)))
    run_s = time.perf_counter() - t1
    m = {k: np.asarray(v) for k, v in out.metrics.items()}
    env_steps = int(cfg.num_updates * cfg.num_envs * cfg.num_steps)
    secs = (np.arange(cfg.num_updates) + 1) / cfg.num_updates * run_s
    summary = {
        "algo": algo,
        "scenario": cfg.scenario,
        "win_rate": round(float(out.eval_win_rate), 4),
        "eval_return": round(float(out.eval_return), 4),
        "final_train_win_rate": _last_mean(m["win_rate"]),
        "env_steps": env_steps,
        "sps": round(env_steps / run_s, 1),
        "compile_s": round(compile_s, 2),
        "wall_s": round(time.perf_counter() - t0, 2),
    }
    results = {
        "env_steps": m["env_steps"].tolist(),
        "seconds": np.round(secs, 3).tolist(),
        "win_rate": np.round(np.nan_to_num(m["win_rate"], nan=-1.0), 4).tolist(),
        "episode_return": np.round(np.nan_to_num(m["episode_return"], nan=-1.0), 4).tolist(),
        "entropy": np.round(m["entropy"], 4).tolist(),
        # the trained actor (mappo.decode_actor(cfg, ...)): the chapter animates this team
        "actor_params_msgpack_b64": encode_actor(out.params),
    }
    log(f"{algo}: greedy win rate {summary['win_rate']} after {env_steps} steps, {run_s:.0f} s")
    return summary, results


def run(preset: str = "book", seed: int = 0, log=lambda m: None):
    return run_algo(ALGO, preset, seed, log)


EXPERIMENT = Experiment(
    "smax_ippo", DESCRIPTION, run, config, presets=tuple(MAPPOConfig.PRESETS), chapter="08_smax"
)
