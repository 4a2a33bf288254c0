"""What a progress bar costs: PPO on Breakout-MinAtar with the per-update tick compiled in and a bar
open, against the same training compiled without the tick, alternating runs in one process.

    python benchmarks/progress.py [--updates 12] [--repeats 5]

Prints the median wall time of each and their ratio (>1: the bar costs time). Not a test: timings are
never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics

import jax
from timing import alternate_times, load_average

from rlbook.learners import ppo
from rlbook.rl import progress


def build(updates: int, with_tick: bool):
    cfg = ppo.PPOConfig.preset("book")
    cfg = cfg.replace(total_timesteps=updates * cfg.num_envs * cfg.num_steps)
    tick = progress.tick
    if not with_tick:
        progress.tick = lambda: None  # traced away: the compiled loop has no callback at all
    try:
        train = jax.jit(ppo.make_train(cfg)).lower(jax.random.key(0)).compile()
    finally:
        progress.tick = tick
    return cfg, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--updates", type=int, default=12)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    print(f"# load average {load_average()}")
    cfg, with_bar = build(a.updates, True)
    _, without = build(a.updates, False)
    key = jax.random.key(0)

    def run_with_bar():
        with contextlib.redirect_stderr(io.StringIO()), progress.progress(cfg.num_updates, "ppo"):
            return jax.block_until_ready(with_bar(key))

    times = alternate_times(
        {"tick + bar": run_with_bar, "no tick": lambda: without(key)}, a.repeats
    )
    med = {k: statistics.median(v) for k, v in times.items()}
    frames = cfg.num_updates * cfg.num_envs * cfg.num_steps
    for k, v in med.items():
        print(f"{k:12s} median {v:.3f} s over {a.repeats} runs ({frames / v:,.0f} env steps/s)")
    print(f"ratio (tick + bar) / (no tick): {med['tick + bar'] / med['no tick']:.3f}")
    print(f"# load average {load_average()}")


if __name__ == "__main__":
    main()
