"""Chapter 9 experiment: dense vs Soft MoE critics in PPO on Breakout-MinAtar (paper (a)'s scaling axis).

``book``: dense vs Soft MoE-4 (PerFeat tokens) in the critic, one seed, short. ``medium``: the scaling sweep,
Soft MoE with 1/2/4/8 experts against the dense critic widened x1/x2/x4/x8, over seeds, as CPU time
allows. ``paper``: the same sweep for 10M frames and 5 seeds (GPU). ``tiny``: one update of dense vs Soft MoE-1,
a smoke test.
"""

from __future__ import annotations

import time

import jax
import numpy as np

from rlbook.config import check_choice
from rlbook.experiments import Experiment
from rlbook.learners.ppo import NetConfig, PPOConfig, final_return, make_train
from rlbook.rl.progress import progress

DESCRIPTION = (
    "PPO on Breakout-MinAtar: Soft MoE critics (1-8 experts) vs dense critics widened x1-x8"
)

# the sweep of each preset (arms and seeds); the run length of every arm is PPOConfig.PRESETS[preset]
SWEEP = {
    "tiny": {"seeds": (0,), "experts": (1,), "widths": (1,)},
    "book": {"seeds": (0,), "experts": (4,), "widths": (1,)},
    "medium": {"seeds": (0, 1), "experts": (1, 2, 4, 8), "widths": (1, 2, 4, 8)},
    "paper": {"seeds": (0, 1, 2, 3, 4), "experts": (1, 2, 4, 8), "widths": (1, 2, 4, 8)},
}


def arms(preset: str) -> dict[str, PPOConfig]:
    """The dense critics widened x w and the Soft MoE critics with n experts (PerFeat tokens) of a preset."""
    check_choice("preset", preset, SWEEP)
    p = SWEEP[preset]
    out = {}
    for w in p["widths"]:
        out[f"dense_x{w}"] = PPOConfig.preset(preset, critic=NetConfig(width_mult=w))
    for n in p["experts"]:
        critic = NetConfig.preset("softmoe", num_experts=n)
        out[f"softmoe_{n}"] = PPOConfig.preset(preset, critic=critic)
    return out


def config(preset: str) -> dict:
    return {
        "preset": dict(SWEEP[preset], frames=PPOConfig.preset(preset).total_timesteps),
        "arms": {k: v.to_dict() for k, v in arms(preset).items()},
    }


KEYS = (
    "return",
    "critic_dormant",
    "critic_dormant_025",
    "critic_srank",
    "actor_dormant",
    "episodes",
)


def run_arm(cfg: PPOConfig, seed: int, train=None) -> dict:
    t0 = time.perf_counter()
    train = train or jax.jit(make_train(cfg))
    with progress(cfg.num_updates, f"seed {seed}"):
        out = jax.block_until_ready(train(jax.random.key(seed)))
    m = jax.tree_util.tree_map(np.asarray, out.metrics)
    wall = time.perf_counter() - t0
    res = {k: np.round(m[k].astype(float), 4).tolist() for k in KEYS}
    res.update(
        final_return=final_return(m),
        final_critic_dormant=float(m["critic_dormant"][-3:].mean()),
        final_critic_srank=float(m["critic_srank"][-3:].mean()),
        frames=cfg.num_updates * cfg.num_envs * cfg.num_steps,
        wall_s=round(wall, 1),
    )
    return res


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    check_choice("preset", preset, SWEEP)
    p = SWEEP[preset]
    results: dict = {"arms": {}}
    for name, cfg in arms(preset).items():
        results["arms"][name] = {}
        train = jax.jit(make_train(cfg))  # one compile per arm, reused over seeds
        for s in p["seeds"]:
            r = run_arm(cfg, seed + s, train)
            results["arms"][name][str(seed + s)] = r
            log(
                f"{name} seed {seed + s}: return {r['final_return']:.2f}, critic dormant "
                f"{r['final_critic_dormant']:.3f}, srank {r['final_critic_srank']:.0f}, {r['wall_s']} s"
            )

    def agg(name, key):
        return float(np.mean([v[key] for v in results["arms"][name].values()]))

    moe = f"softmoe_{4 if 4 in p['experts'] else p['experts'][-1]}"
    summary = {
        "dense_return": round(agg("dense_x1", "final_return"), 3),
        "softmoe_return": round(agg(moe, "final_return"), 3),
        "dense_dormant_fraction": round(agg("dense_x1", "final_critic_dormant"), 4),
        "softmoe_dormant_fraction": round(agg(moe, "final_critic_dormant"), 4),
        "frames": PPOConfig.preset(preset).total_timesteps,
        "seeds": len(p["seeds"]),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    return summary, results


EXPERIMENT = Experiment(
    "moe_scaling", DESCRIPTION, run, config, presets=tuple(SWEEP), chapter="09_moe_scaling"
)
