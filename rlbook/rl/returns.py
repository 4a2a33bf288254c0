"""Returns and advantages over time-major rollouts: GAE, Monte-Carlo returns, normalisation."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gae(
    rewards: jax.Array,
    values: jax.Array,
    dones: jax.Array,
    last_value: jax.Array,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation over a time-major rollout.

    rewards, values, dones: [T, ...]; last_value: [...] (value of the state after the last step).
    ``dones[t]`` is 1 when the episode ended at step t (no bootstrap from ``values[t + 1]``).
    Returns (advantages [T, ...], value targets [T, ...] = advantages + values).
    """

    def step(carry, xs):
        next_adv, next_value = carry
        r, v, d = xs
        nonterminal = 1.0 - d
        delta = r + gamma * next_value * nonterminal - v
        adv = delta + gamma * lam * nonterminal * next_adv
        return (adv, v), adv

    init = (jnp.zeros_like(last_value), last_value)
    _, adv = jax.lax.scan(step, init, (rewards, values, dones.astype(values.dtype)), reverse=True)
    return adv, adv + values


def normalise(x: jax.Array, eps: float = 1e-8) -> jax.Array:
    return (x - x.mean()) / (x.std() + eps)


def discounted_returns(
    rewards: jax.Array, gamma: float, dones: jax.Array | None = None
) -> jax.Array:
    """Monte-Carlo returns G_t = r_t + gamma * (1 - d_t) * G_{t+1} over a time-major rollout.

    rewards (and dones, when given): [T, ...]. Returns [T, ...]; without ``dones`` the whole rollout is
    one episode (G_t = sum_k gamma^k r_{t+k}).
    """
    if dones is None:
        dones = jnp.zeros_like(rewards)

    def back(g, xs):
        r, d = xs
        g = r + gamma * (1.0 - d) * g
        return g, g

    _, g = jax.lax.scan(
        back, jnp.zeros_like(rewards[0]), (rewards, dones.astype(rewards.dtype)), reverse=True
    )
    return g
