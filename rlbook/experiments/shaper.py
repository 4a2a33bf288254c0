"""Chapter 3 experiment: Shaper vs memory reset vs M-FOS (ES) vs Good Shepherd in the sampled IPD,
over several seeds (vmapped), plus batch averaging on/off and a reduced grid game.

Each method is trained with OpenES from ``num_seeds`` seeds and its ES mean is evaluated on held-out
co-players; the summary reports seed means, seed standard deviations and Welch's t-test for
Shaper (carried memory) vs memory reset. ``book``: the §2.2 scale (5 seeds, 60 generations) and CoinGame
3x3; ``medium``: 150 generations, 8 seeds, CoinGame and IPD-in-the-Matrix 5x5; ``paper``: pax's
``ipd/shaper_v_tabular.yaml`` scale (pop 1000, 100 x 100 trials, 5000 generations; days on a CPU).
"""

from __future__ import annotations

import time

import jax
import numpy as np
from scipy import stats

from rlbook.config import check_choice
from rlbook.experiments import Experiment
from rlbook.rl.progress import progress
from rlbook.shaping.shaper import ShaperConfig, naive_baseline, train_many

DESCRIPTION = (
    "Shaper vs memory reset vs M-FOS(ES) vs Good Shepherd (sampled IPD, seeds) + grid game"
)

METHODS = {
    "shaper": dict(agent="shaper", memory="carry"),
    "shaper_reset": dict(agent="shaper", memory="reset"),
    "shaper_avg": dict(agent="shaper", memory="carry", att_type="avg"),
    "mfos": dict(agent="mfos"),
    "gs": dict(agent="gs"),
}
GRIDS = {  # which grid-game presets of ShaperConfig each experiment preset runs (sizes live there)
    "tiny": ("coin_tiny",),
    "book": ("coin_book",),
    "medium": ("coin_book", "ipditm_book"),
    "paper": ("coin_paper", "ipditm_paper"),
}


def methods(preset: str) -> tuple[str, ...]:
    """The IPD methods a preset runs: ``tiny`` (a smoke test) only carried memory vs reset."""
    return ("shaper", "shaper_reset") if preset == "tiny" else tuple(METHODS)


def ipd_config(preset: str, method: str) -> ShaperConfig:
    return ShaperConfig.preset(preset, **METHODS[method])


def config(preset: str) -> dict:
    check_choice("preset", preset, GRIDS)
    out = {m: ipd_config(preset, m).to_dict() for m in methods(preset)}
    for g in GRIDS[preset]:
        out[g] = ShaperConfig.preset(g).to_dict()
    out["num_seeds"] = ShaperConfig.preset(preset).num_seeds
    return out


def run_ipd_method(cfg: ShaperConfig, seed: int) -> tuple[np.ndarray, dict]:
    """One IPD method over ``cfg.num_seeds`` seeds: the agent's per-seed reward and the results row."""
    t = time.perf_counter()
    with progress(cfg.generations, "ES generations"):
        out = train_many(cfg, seed)
    ev = np.asarray(out.eval_reward)  # [seeds, trials, K, 2]
    agent, co = ev[..., 0].mean((1, 2)), ev[..., 1].mean((1, 2))
    row = {
        "agent_per_seed": agent.tolist(),
        "coplayer_per_seed": co.tolist(),
        "agent_last_episode_per_seed": ev[:, :, -1, 0].mean(1).tolist(),
        "episode_curve": ev.mean((0, 1)).round(4).tolist(),
        "fitness_curve": np.asarray(out.fitness).mean(0).round(4).tolist(),
        "wall_s": round(time.perf_counter() - t, 2),
    }
    return agent, row


def run_grid(cfg: ShaperConfig, seed: int) -> dict:
    """One grid-game run (one seed): rewards, curves and the trained parameters."""
    t = time.perf_counter()
    with progress(cfg.generations, "ES generations"):
        out = train_many(cfg, seed, 1)
    ev = np.asarray(out.eval_reward)[0]
    return {
        "agent": float(ev[..., 0].mean()),
        "coplayer": float(ev[..., 1].mean()),
        "episode_curve": ev.mean(0).round(4).tolist(),
        "fitness_curve": np.asarray(out.fitness)[0].round(4).tolist(),
        "wall_s": round(time.perf_counter() - t, 2),
        "params": jax.tree_util.tree_map(lambda x: np.asarray(x[0]).tolist(), out.params),
    }


def run_ipd(preset: str, seed: int, log) -> tuple[dict, dict]:
    summary, results, per_seed = {}, {}, {}
    for m in methods(preset):
        agent, results[m] = run_ipd_method(ipd_config(preset, m), seed)
        per_seed[m] = agent
        co = np.asarray(results[m]["coplayer_per_seed"])
        summary[f"ipd_{m}_reward"] = round(float(agent.mean()), 4)
        summary[f"ipd_{m}_reward_std"] = (
            round(float(agent.std(ddof=1)), 4) if len(agent) > 1 else 0.0
        )
        summary[f"ipd_{m}_coplayer_reward"] = round(float(co.mean()), 4)
        log(
            f"{m}: agent {agent.mean():.3f} +- {summary[f'ipd_{m}_reward_std']}, co-player {co.mean():.3f}"
        )
    summary["ipd_coplayer_reward"] = summary["ipd_shaper_coplayer_reward"]
    t_res = stats.ttest_ind(per_seed["shaper"], per_seed["shaper_reset"], equal_var=False)
    summary["ipd_carry_vs_reset_p"] = round(float(t_res.pvalue), 4)
    nl = np.asarray(naive_baseline(ipd_config(preset, "shaper"), jax.random.key(seed + 1)))
    summary["ipd_nl_nl_reward"] = round(float(nl[..., 0].mean()), 4)
    results["nl_nl_episode_curve"] = nl.mean(0).round(4).tolist()
    return summary, results


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    check_choice("preset", preset, GRIDS)
    summary, results = run_ipd(preset, seed, log)
    summary = {"num_seeds": ShaperConfig.preset(preset).num_seeds, **summary}
    for g in GRIDS[preset]:
        for m in ("shaper", "shaper_reset"):
            c = ShaperConfig.preset(g, **METHODS[m])
            name = f"{c.env}_{m}"
            results[name] = r = run_grid(c, seed)
            summary[f"{name}_reward"] = round(r["agent"], 4)
            summary[f"{name}_coplayer_reward"] = round(r["coplayer"], 4)
            summary[f"{name}_wall_s"] = r["wall_s"]
            log(f"{name}: agent {r['agent']:.3f}, co-player {r['coplayer']:.3f}, {r['wall_s']} s")
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    return summary, results


EXPERIMENT = Experiment(
    "shaper", DESCRIPTION, run, config, presets=tuple(GRIDS), chapter="03_shaper"
)
