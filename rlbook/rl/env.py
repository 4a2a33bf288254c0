"""The environment protocol of rlbook's single-process environments (gymnax 1.0 style).

An environment is a stateless object whose methods are pure functions of ``(key, state, action,
params)``; states and params are pytrees. A subclass writes the transition once, without resets:

* ``reset_env(key, params) -> (obs, state)``
* ``step_env(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)``

and inherits ``reset`` and ``step``; ``step`` calls ``step_env`` and, when the episode ended
(``terminated | truncated``), replaces the returned ``obs``/``state`` by a fresh ``reset_env`` (the
auto-reset, written here once). ``info["final_observation"]`` keeps the observation the episode ended on.
Spaces are gymnax's own (``gymnax.environments.spaces``).

``split_key(key) -> (step_key, reset_key)`` says which key each half receives (gymnax: a split); an
environment may override it to keep its own random streams.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from gymnax.environments import spaces

__all__ = ["Environment", "spaces"]


class Environment:
    """Base of every rlbook environment: ``step`` = ``step_env`` + one auto-reset."""

    @property
    def default_params(self) -> Any:
        raise NotImplementedError

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        raise NotImplementedError

    def step_env(self, key: jax.Array, state: Any, action: Any, params: Any) -> tuple:
        raise NotImplementedError

    def split_key(self, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(key for ``step_env``, key for the auto-reset); gymnax's split by default."""
        k_step, k_reset = jax.random.split(key)
        return k_step, k_reset

    def reset(self, key: jax.Array, params: Any | None = None) -> tuple[jax.Array, Any]:
        """A new episode: ``(obs, state)``."""
        return self.reset_env(key, self.default_params if params is None else params)

    def step(self, key: jax.Array, state: Any, action: Any, params: Any | None = None) -> tuple:
        """One step with auto-reset: ``(obs, state, reward, terminated, truncated, info)``.

        When the episode ends, ``obs`` and ``state`` already belong to the next episode and
        ``info["final_observation"]`` is the observation of the state the episode ended in."""
        params = self.default_params if params is None else params
        k_step, k_reset = self.split_key(key)
        obs_st, state_st, reward, terminated, truncated, info = self.step_env(
            k_step, state, action, params
        )
        obs_re, state_re = self.reset_env(k_reset, params)
        done = jnp.logical_or(terminated, truncated)
        state = jax.tree_util.tree_map(lambda a, b: jnp.where(done, a, b), state_re, state_st)
        obs = jnp.where(done, obs_re, obs_st)
        return obs, state, reward, terminated, truncated, dict(info, final_observation=obs_st)

    def action_space(self, params: Any | None = None) -> spaces.Space:
        """One agent's actions; by default ``Discrete(self.num_actions)`` (two-player games: both
        players act at once with an int32[2] action, each from this space)."""
        return spaces.Discrete(self.num_actions)

    def observation_space(self, params: Any | None = None) -> spaces.Space:
        raise NotImplementedError


def discounted_rollouts(key, reset, step, policy, params, num_envs: int, num_steps: int, gamma):
    """Monte Carlo episodes: ``num_envs`` runs of ``num_steps`` steps of the gymnax-style ``reset`` /
    ``step`` under ``policy(step_key, obs) -> (action, env_key)`` (the policy draws its action from
    ``step_key`` and hands back the key for the env step).

    Returns ``(discounted_return [num_envs, ...], rewards [num_envs, num_steps, ...])``.
    """

    def one_env(k):
        obs, state = reset(k, params)

        def body(carry, kt):
            obs, state = carry
            action, ks = policy(kt, obs)
            obs, state, reward, _, _, _ = step(ks, state, action, params)
            return (obs, state), reward

        _, rewards = jax.lax.scan(body, (obs, state), jax.random.split(k, num_steps))
        disc = gamma ** jnp.arange(num_steps, dtype=jnp.float32)
        return disc @ rewards, rewards

    return jax.vmap(one_env)(jax.random.split(key, num_envs))
