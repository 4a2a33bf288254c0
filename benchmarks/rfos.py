"""R-FOS speed: a plain Python/numpy R-max loop, structured like the reference code, vs rlbook's jitted,
batched R-max, on the same setting (matching pennies vs the Q-learner, h history, epsilon 0.5), timed in
the same run.

The loop mirrors the reference (rmaxmfos ``Rmax-arch1_batch_limitedtraj.py``) in our own words: an outer
loop over meta-episodes, an inner loop over the 10 inner rounds, and for each transition an R-max update;
when a pair becomes known, the value-iteration sweeps run over the known pairs. rlbook runs
``num_envs`` meta-episodes per batch under ``vmap`` and the whole training under one ``lax.scan``.
Compile time is reported separately. Usage: ``python benchmarks/rfos.py [--h 1] [--episodes 20000]``.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from rlbook.shaping.rfos import INNER_GAMES, RFOSConfig, make_train


def python_rmax(cfg: RFOSConfig, episodes: int, seed: int = 0) -> float:
    """The reference's loop structure; returns the mean per-step reward."""
    rng = np.random.default_rng(seed)
    S, A, m, gamma = cfg.num_states, 2, cfg.m, cfg.gamma
    q0 = cfg.r_max / (1 - gamma)
    counts = np.zeros((S, A))
    rsum = np.zeros((S, A))
    trans = np.zeros((S, A, S))
    q = np.full((S, A), q0)
    r1_table, r2_table = (np.asarray(r) for r in INNER_GAMES[cfg.game])
    total = 0.0
    for _ in range(episodes):
        hist = list(rng.integers(0, 4, cfg.h))
        opp_q = np.full(2, cfg.opp_q_init)
        s = sum(j * 4**i for i, j in enumerate(hist))
        for _ in range(cfg.episode_len):
            best = np.flatnonzero(q[s] >= q[s].max() - 1e-6)
            a = int(rng.choice(best))
            if rng.random() < cfg.opp_greedy:
                b = int(rng.choice(np.flatnonzero(opp_q == opp_q.max())))
            else:
                b = int(rng.integers(0, 2))
            joint = 2 * a + b
            r = r1_table[joint]
            opp_q[b] = (1 - cfg.opp_lr) * opp_q[b] + cfg.opp_lr * r2_table[joint]
            hist = [joint] + hist[:-1]
            s2 = sum(j * 4**i for i, j in enumerate(hist))
            if counts[s, a] < m:
                counts[s, a] += 1
                rsum[s, a] += r
                trans[s, a, s2] += 1
                if counts[s, a] == m:  # newly known: re-plan over the known pairs
                    known = counts >= m
                    n = np.maximum(counts, 1)
                    q = np.full((S, A), q0)
                    for _ in range(cfg.sweeps):
                        v = q.max(1)
                        q = np.where(known, rsum / n + gamma * (trans / n[..., None]) @ v, q0)
            total += r
            s = s2
    return total / (episodes * cfg.episode_len)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--h", type=int, default=1)
    p.add_argument("--episodes", type=int, default=20_480)
    p.add_argument("--num-envs", type=int, default=512)
    args = p.parse_args()
    cfg = RFOSConfig.preset(
        "book", h=args.h, num_envs=args.num_envs, num_episodes=args.episodes, eval_envs=64
    )
    episodes = cfg.num_batches * cfg.num_envs

    t0 = time.perf_counter()
    ref_reward = python_rmax(cfg, episodes)
    t_ref = time.perf_counter() - t0

    train = jax.jit(make_train(cfg))
    t0 = time.perf_counter()
    compiled = train.lower(jax.random.key(0)).compile()
    t_compile = time.perf_counter() - t0
    jax.block_until_ready(compiled(jax.random.key(1)))  # warm
    t0 = time.perf_counter()
    out = jax.block_until_ready(compiled(jax.random.key(0)))
    t_jax = time.perf_counter() - t0
    jax_reward = float(np.mean(out.metrics.reward))

    steps = episodes * cfg.episode_len
    print(
        f"R-FOS, h={cfg.h}, |S|={cfg.num_states}, m={cfg.m}, {episodes} meta-episodes ({steps} steps)"
    )
    print(f"{'implementation':28s} {'wall s':>9s} {'steps/s':>12s} {'mean reward':>12s}")
    print(
        f"{'python loop (reference-like)':28s} {t_ref:9.2f} {steps / t_ref:12.4g} {ref_reward:12.4f}"
    )
    print(f"{'rlbook jit+scan+vmap':28s} {t_jax:9.3f} {steps / t_jax:12.4g} {jax_reward:12.4f}")
    print(f"compile (excluded above): {t_compile:.2f} s")
    print(f"speed-up rlbook / python loop: {t_ref / t_jax:.1f}x")


if __name__ == "__main__":
    main()
