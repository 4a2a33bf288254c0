"""Env steps/s of dense vs Soft MoE-4 (PerFeat, critic) PPO on Breakout-MinAtar, in one run; prints the ratio.

Targets (idle 2-core CPU): dense >= 9k steps/s; Soft MoE-4 no more than 2.5x slower than dense.
Compile time is excluded (the jitted train function is called once to compile, then timed on a new key).
Usage: JAX_PLATFORMS=cpu python benchmarks/ppo_minatar.py [frames]
"""

from __future__ import annotations

import sys
import time

import jax

from rlbook.learners.ppo import NetConfig, PPOConfig, make_train


def sps(cfg: PPOConfig) -> float:
    train = jax.jit(make_train(cfg))
    jax.block_until_ready(train(jax.random.key(0)))
    t = time.perf_counter()
    jax.block_until_ready(train(jax.random.key(1)))
    return cfg.num_updates * cfg.num_envs * cfg.num_steps / (time.perf_counter() - t)


def main(frames: int = 65_536) -> None:
    dense = sps(PPOConfig(total_timesteps=frames))
    moe = sps(PPOConfig(total_timesteps=frames, critic=NetConfig(kind="softmoe", num_experts=4)))
    print(f"dense PPO      : {dense:8.0f} env steps/s (target >= 9000)")
    print(f"Soft MoE-4 PPO : {moe:8.0f} env steps/s")
    print(f"ratio dense / Soft MoE-4 = {dense / moe:.2f} (target <= 2.5)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 65_536)
