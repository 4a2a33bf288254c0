"""Chapter 3 experiment: Shaper vs memory reset vs M-FOS (ES) vs Good Shepherd in the sampled IPD,
over several seeds (vmapped), plus batch averaging on/off and a reduced grid game.

Each method is trained with OpenES from ``num_seeds`` seeds and its ES mean is evaluated on held-out
co-players; the summary reports seed means, seed standard deviations and Welch's t-test for
Shaper (carried memory) vs memory reset. ``book``: the §2.2 scale (5 seeds, 60 generations) and CoinGame
3x3; ``medium``: 150 generations, 8 seeds, CoinGame and IPD-in-the-Matrix 5x5; ``paper``: pax's
``ipd/shaper_v_tabular.yaml`` scale (pop 1000, 100 x 100 trials, 5000 generations; days on a CPU).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import numpy as np
from scipy import stats

from rlbook.experiments import Experiment
from rlbook.shaping.shaper import ShaperConfig, make_train, naive_baseline

METHODS = {
    "shaper": dict(agent="shaper", memory="carry"),
    "shaper_reset": dict(agent="shaper", memory="reset"),
    "shaper_avg": dict(agent="shaper", memory="carry", att_type="avg"),
    "mfos": dict(agent="mfos"),
    "gs": dict(agent="gs"),
}
SCALE = {
    "book": dict(seeds=5, ipd={}, grids=("coin_book",), grid={}),
    "medium": dict(seeds=8, ipd=dict(generations=150), grids=("coin_book", "ipditm_book"), grid={}),
    "paper": dict(
        seeds=5, ipd=None, grids=("coin_book", "ipditm_book"), grid=dict(generations=3000)
    ),
}


def ipd_config(preset: str, method: str) -> ShaperConfig:
    base = "paper" if preset == "paper" else "book"
    return ShaperConfig.preset(base, **(SCALE[preset]["ipd"] or {}), **METHODS[method])


def config(preset: str) -> dict:
    out = {m: dataclasses.asdict(ipd_config(preset, m)) for m in METHODS}
    for g in SCALE[preset]["grids"]:
        out[g] = dataclasses.asdict(ShaperConfig.preset(g, **SCALE[preset]["grid"]))
    out["num_seeds"] = SCALE[preset]["seeds"]
    return out


def train_seeds(cfg: ShaperConfig, seed: int, num_seeds: int):
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    return jax.jit(jax.vmap(make_train(cfg)))(keys)


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    n = SCALE[preset]["seeds"]
    summary, results = {"num_seeds": n}, {}
    per_seed = {}
    for m in METHODS:
        cfg = ipd_config(preset, m)
        t = time.perf_counter()
        out = train_seeds(cfg, seed, n)
        ev = np.asarray(out.eval_reward)  # [seeds, trials, K, 2]
        agent, co = ev[..., 0].mean((1, 2)), ev[..., 1].mean((1, 2))
        per_seed[m] = agent
        results[m] = {
            "agent_per_seed": agent.tolist(),
            "coplayer_per_seed": co.tolist(),
            "agent_last_episode_per_seed": ev[:, :, -1, 0].mean(1).tolist(),
            "episode_curve": ev.mean((0, 1)).round(4).tolist(),
            "fitness_curve": np.asarray(out.fitness).mean(0).round(4).tolist(),
            "wall_s": round(time.perf_counter() - t, 2),
        }
        summary[f"ipd_{m}_reward"] = round(float(agent.mean()), 4)
        summary[f"ipd_{m}_reward_std"] = round(float(agent.std(ddof=1)), 4)
        summary[f"ipd_{m}_coplayer_reward"] = round(float(co.mean()), 4)
        log(f"{m}: agent {agent.mean():.3f} +- {agent.std(ddof=1):.3f}, co-player {co.mean():.3f}")
    summary["ipd_coplayer_reward"] = summary["ipd_shaper_coplayer_reward"]
    t_res = stats.ttest_ind(per_seed["shaper"], per_seed["shaper_reset"], equal_var=False)
    summary["ipd_carry_vs_reset_p"] = round(float(t_res.pvalue), 4)
    nl = np.asarray(naive_baseline(ipd_config(preset, "shaper"), jax.random.key(seed + 1)))
    summary["ipd_nl_nl_reward"] = round(float(nl[..., 0].mean()), 4)
    results["nl_nl_episode_curve"] = nl.mean(0).round(4).tolist()
    for g in SCALE[preset]["grids"]:
        cfg = ShaperConfig.preset(g, **SCALE[preset]["grid"])
        for m in ("shaper", "shaper_reset"):
            c = dataclasses.replace(cfg, **METHODS[m])
            t = time.perf_counter()
            out = train_seeds(c, seed, 1)
            ev = np.asarray(out.eval_reward)[0]
            wall = round(time.perf_counter() - t, 2)
            name = f"{c.env}_{m}"
            results[name] = {
                "agent": float(ev[..., 0].mean()),
                "coplayer": float(ev[..., 1].mean()),
                "episode_curve": ev.mean(0).round(4).tolist(),
                "fitness_curve": np.asarray(out.fitness)[0].round(4).tolist(),
                "wall_s": wall,
                "params": jax.tree_util.tree_map(lambda x: np.asarray(x[0]).tolist(), out.params),
            }
            summary[f"{name}_reward"] = round(float(ev[..., 0].mean()), 4)
            summary[f"{name}_coplayer_reward"] = round(float(ev[..., 1].mean()), 4)
            summary[f"{name}_wall_s"] = wall
            log(
                f"{name}: agent {ev[..., 0].mean():.3f}, co-player {ev[..., 1].mean():.3f}, {wall} s"
            )
    summary["ipd_shaper_reset_reward"] = summary["ipd_shaper_reset_reward"]
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    return summary, results


EXPERIMENT = Experiment(
    name="shaper",
    description="Shaper vs memory reset vs M-FOS(ES) vs Good Shepherd (sampled IPD, seeds) + grid game",
    run=run,
    config=config,
    chapter="03_shaper",
)
