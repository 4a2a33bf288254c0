"""Chapter 3 experiment: Shaper vs memory reset vs M-FOS (ES) vs Good Shepherd in the sampled IPD,
over several seeds (vmapped), plus batch averaging on/off, a reduced grid game, and the regime where
memory matters: the exact meta-game of Chapter 2 with an agent that sees only its own policy and reward.

Each method is trained with OpenES from ``num_seeds`` seeds and its ES mean is evaluated on held-out
co-players. Carried and reset memory are trained from the same seed keys and evaluated on the same
co-players, so they are compared with **paired** t-tests (over seeds; and, for the play-time reset
diagnostic, over (seed, co-player) pairs). Summary keys of the exact meta-game:
``ipd_shaper_carry_reward``, ``ipd_shaper_reset_reward``, ``carry_vs_reset_p``; of the sampled IPD:
``ipd_<method>_reward`` and ``ipd_carry_vs_reset_p``. ``book``: the §2.2 scale (5 seeds, 60 generations) and CoinGame
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
from rlbook.shaping.shaper import ShaperConfig, naive_baseline, playtime_reset, train_many

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
META = {  # the exact meta-game (ShaperConfig preset per experiment preset): carried vs reset memory
    "tiny": "meta_tiny",
    "book": "meta_book",
    "medium": "meta_book",
    "paper": "meta_book",
    "long": None,
}
GRIDS = {  # which grid-game presets of ShaperConfig each experiment preset runs (sizes live there)
    "tiny": ("coin_tiny",),
    "book": ("coin_book",),
    "medium": ("coin_book", "ipditm_book"),
    "paper": ("coin_paper", "ipditm_paper"),
    "long": (),
}


def methods(preset: str) -> tuple[str, ...]:
    """The IPD methods a preset runs: ``tiny`` (a smoke test) only carried memory vs reset; ``long``
    (Shaper alone, 300 generations: what a longer run reaches) only Shaper."""
    return {"tiny": ("shaper", "shaper_reset"), "long": ("shaper",)}.get(preset, tuple(METHODS))


def ipd_config(preset: str, method: str) -> ShaperConfig:
    return ShaperConfig.preset(preset, **METHODS[method])


def config(preset: str) -> dict:
    check_choice("preset", preset, GRIDS)
    out = {m: ipd_config(preset, m).to_dict() for m in methods(preset)}
    for g in GRIDS[preset]:
        out[g] = ShaperConfig.preset(g).to_dict()
    if META[preset]:
        out[META[preset]] = ShaperConfig.preset(META[preset]).to_dict()
    out["num_seeds"] = ShaperConfig.preset(preset).num_seeds
    return out


def to_list(params, index: int = 0):
    """Seed ``index`` of vmapped parameters as nested lists (JSON)."""
    return jax.tree_util.tree_map(lambda x: np.asarray(x[index]).tolist(), params)


def paired_p(a, b) -> float:
    """Two-sided paired t-test p-value (the methods share seed and co-player keys)."""
    return round(float(stats.ttest_rel(np.ravel(a), np.ravel(b)).pvalue), 4)


def playtime_row(cfg: ShaperConfig, params, seed: int) -> dict:
    """Carried-memory weights played with memory carried vs reset, on the same co-players."""
    carried, reset = (np.asarray(x) for x in playtime_reset(cfg, params, jax.random.key(seed + 2)))
    a, b = carried[..., 0].mean(-1), reset[..., 0].mean(-1)  # [seeds, trials]
    return {
        "carried_per_seed": a.mean(1).tolist(),
        "reset_per_seed": b.mean(1).tolist(),
        "carried_episode_curve": carried.mean((0, 1)).round(4).tolist(),
        "reset_episode_curve": reset.mean((0, 1)).round(4).tolist(),
        "paired_p": paired_p(a, b),
    }


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
    if cfg.agent == "shaper" and cfg.memory == "carry" and cfg.att_type == "nothing":
        row["playtime"] = playtime_row(cfg, out.params, seed)
        row["params"] = to_list(out.params)
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
        "params": to_list(out.params),
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
    if "shaper_reset" in per_seed:
        summary["ipd_carry_vs_reset_p"] = paired_p(per_seed["shaper"], per_seed["shaper_reset"])
    pt = results["shaper"]["playtime"]
    summary["ipd_shaper_playtime_reset_reward"] = round(float(np.mean(pt["reset_per_seed"])), 4)
    summary["ipd_playtime_reset_p"] = pt["paired_p"]
    nl = np.asarray(naive_baseline(ipd_config(preset, "shaper"), jax.random.key(seed + 1)))
    summary["ipd_nl_nl_reward"] = round(float(nl[..., 0].mean()), 4)
    results["nl_nl_episode_curve"] = nl.mean(0).round(4).tolist()
    return summary, results


def run_meta(preset: str, seed: int, log) -> tuple[dict, dict]:
    """The exact meta-game: Shaper with carried vs reset memory (same seeds, same co-players)."""
    rows, per_seed = {}, {}
    for m in ("shaper", "shaper_reset"):
        cfg = ShaperConfig.preset(META[preset], **METHODS[m])
        per_seed[m], rows[m] = run_ipd_method(cfg, seed)
    carry, reset = per_seed["shaper"], per_seed["shaper_reset"]
    pt = rows["shaper"]["playtime"]
    summary = {
        "ipd_shaper_carry_reward": round(float(carry.mean()), 4),
        "ipd_shaper_carry_coplayer_reward": round(
            float(np.mean(rows["shaper"]["coplayer_per_seed"])), 4
        ),
        "ipd_shaper_reset_reward": round(float(reset.mean()), 4),
        "ipd_shaper_reset_coplayer_reward": round(
            float(np.mean(rows["shaper_reset"]["coplayer_per_seed"])), 4
        ),
        "carry_vs_reset_p": paired_p(carry, reset),
        "meta_playtime_reset_reward": round(float(np.mean(pt["reset_per_seed"])), 4),
        "meta_playtime_reset_p": pt["paired_p"],
    }
    log(
        f"meta-game: carry {carry.mean():.3f}, reset {reset.mean():.3f}, paired p {summary['carry_vs_reset_p']}"
    )
    return summary, {f"meta_{m}": r for m, r in rows.items()}


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    check_choice("preset", preset, GRIDS)
    summary, results = run_meta(preset, seed, log) if META[preset] else ({}, {})
    s_ipd, r_ipd = run_ipd(preset, seed, log)
    summary, results = {**summary, **s_ipd}, {**results, **r_ipd}
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
