"""Episode statistics over vectorised environments: one running return per env, folded at episode ends.

``track_returns`` is called once per env step inside the rollout scan; ``episode_mean`` turns the finished
episodes of a rollout (any shape, e.g. [T, num_envs]) into a mean over episodes, NaN when none finished.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def track_returns(
    running: jax.Array, reward: jax.Array, done: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Add ``reward`` to the running returns; where ``done``, emit the episode's return and restart at 0.

    Returns ``(running', finished)``: ``finished`` holds the return of each episode that ended at this step
    and 0 elsewhere.
    """
    total = running + reward
    return jnp.where(done, 0.0, total), jnp.where(done, total, 0.0)


def episode_mean(values: jax.Array, done: jax.Array) -> jax.Array:
    """Mean of ``values`` over the entries where an episode ended (``done``); NaN if none did."""
    n = jnp.sum(done)
    total = jnp.sum(jnp.where(done, values, 0.0))
    return jnp.where(n > 0, total / jnp.maximum(n, 1), jnp.nan)


def episode_count(done: jax.Array) -> jax.Array:
    """Episodes that ended (``done`` summed over every axis)."""
    return jnp.sum(done)
