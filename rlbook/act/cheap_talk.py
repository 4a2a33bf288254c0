"""The Cheap Talk MDP (Lu et al., 2023): an adversary appends a message m = f_phi(s) to the observation.

``CheapTalkEnv`` wraps any gymnax 1.0 environment with a vector observation. Its observation is
``[s, scale * tanh(MLP_phi(s))]`` where ``s`` is the base observation the victim is shown (after the
auto-reset when an episode ends); reward, done and the env state are the base env's, untouched. The
adversary's parameters ``phi`` and the message ``scale`` live in ``CheapTalkParams`` next to the base
env's params, so a population of adversaries is ``jax.vmap`` over params, never a closure.

The observation normaliser of the reference (a running mean and variance over the whole observation,
messages included) is here too, as pure functions on ``NormState``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

# the reference's numbers: prior count, and the epsilon under the square root when normalising
NORM_PRIOR_COUNT = 1e-4
NORM_EPS = 1e-4
# a dimension whose running variance is below this (std < 0.01) carried no signal in training (a
# silent or near-constant message channel); CartPole's own dimensions stay well above it
CONST_VAR = 1e-4


class Adversary(nn.Module):
    """The "static" message MLP: raw observation [..., d] -> pre-tanh message [..., k] (2 x 64 ReLU).

    With every parameter zero its output is exactly zero, so phi = 0 sends m = 0.
    """

    num_messages: int = 2
    hidden: int = 64

    @nn.compact
    def __call__(self, s: jax.Array) -> jax.Array:
        h = nn.relu(nn.Dense(self.hidden)(s))
        h = nn.relu(nn.Dense(self.hidden)(h))
        return nn.Dense(self.num_messages)(h)


def check_message_args(num_messages: int, scale: float) -> None:
    """``ValueError`` unless k >= 1 is an integer and scale > 0 is finite (called before any jit)."""
    if isinstance(num_messages, bool) or not isinstance(num_messages, int) or num_messages < 1:
        raise ValueError(f"num_messages={num_messages!r} must be an integer >= 1")
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not 0 < scale < float("inf")
    ):
        raise ValueError(f"scale={scale!r} must be a finite number > 0")


@struct.dataclass
class CheapTalkParams:
    env_params: Any  # the base env's params
    phi: Any  # the adversary's MLP parameters (a flax params pytree)
    scale: jax.Array  # f32[]: |m| <= scale


class CheapTalkEnv:
    """Cheap-talk wrapper; house interface ``reset(key, params)`` and
    ``step(key, state, action, params) -> (obs, state, reward, done, info)``.

    ``done = terminated | truncated`` (gymnax 1.0 returns six values; both flags are kept in ``info``).
    ``obs``: [d + k] with ``obs[:d]`` the base observation.
    """

    def __init__(self, env, env_params, num_messages: int = 2, hidden: int = 64):
        check_message_args(num_messages, 1.0)
        self.env = env
        self.default_env_params = env_params
        self.num_messages = num_messages
        self.adversary = Adversary(num_messages, hidden)
        obs, _ = env.reset(jax.random.key(0), env_params)
        self.base_obs_dim = int(obs.shape[-1])
        self.obs_dim = self.base_obs_dim + num_messages

    def init_phi(self, key: jax.Array) -> Any:
        """A randomly initialised adversary (flax default init): the "random messages" baseline."""
        return self.adversary.init(key, jnp.zeros((self.base_obs_dim,)))

    def zero_phi(self) -> Any:
        """phi = 0: the message is exactly 0 (the ES starting point and the no-message victim)."""
        return jax.tree_util.tree_map(jnp.zeros_like, self.init_phi(jax.random.key(0)))

    def params(self, phi: Any, scale: float, env_params: Any = None) -> CheapTalkParams:
        check_message_args(self.num_messages, scale)
        env_params = self.default_env_params if env_params is None else env_params
        return CheapTalkParams(env_params, phi, jnp.asarray(scale, jnp.float32))

    def message(self, s: jax.Array, params: CheapTalkParams) -> jax.Array:
        """m = scale * tanh(MLP_phi(s)); a function of the observation only (never of the action)."""
        return params.scale * jnp.tanh(self.adversary.apply(params.phi, s))

    def observe(self, s: jax.Array, params: CheapTalkParams) -> jax.Array:
        return jnp.concatenate([s, self.message(s, params)], -1)

    def reset(self, key: jax.Array, params: CheapTalkParams):
        s, state = self.env.reset(key, params.env_params)
        return self.observe(s, params), state

    def step(self, key: jax.Array, state: Any, action: jax.Array, params: CheapTalkParams):
        s, state, reward, terminated, truncated, info = self.env.step(
            key, state, action, params.env_params
        )
        info = {**info, "terminated": terminated, "truncated": truncated}
        done = jnp.logical_or(terminated, truncated)
        return self.observe(s, params), state, reward, done, info


def make_cartpole(max_steps: int = 200):
    """gymnax CartPole-v1 capped at ``max_steps`` (the reference: 200; gymnax's default is 500)."""
    import gymnax

    env, env_params = gymnax.make("CartPole-v1")
    return env, env_params.replace(max_steps_in_episode=max_steps)


# --- the observation normaliser -------------------------------------------------------------------


class NormState(NamedTuple):
    mean: jax.Array  # f32[D]
    var: jax.Array  # f32[D]
    count: jax.Array  # f32[]


def norm_init(dim: int) -> NormState:
    """Mean 0, variance 1, count 1e-4 (the reference's prior)."""
    return NormState(jnp.zeros(dim), jnp.ones(dim), jnp.asarray(NORM_PRIOR_COUNT))


def norm_update(ns: NormState, batch: jax.Array) -> NormState:
    """Merge a batch [B, D] into the running moments (parallel-variance formula, Chan et al.)."""
    b_mean, b_var = batch.mean(0), batch.var(0)
    b_count = jnp.asarray(batch.shape[0], jnp.float32)
    tot = ns.count + b_count
    delta = b_mean - ns.mean
    mean = ns.mean + delta * b_count / tot
    m2 = ns.var * ns.count + b_var * b_count + delta**2 * ns.count * b_count / tot
    return NormState(mean, m2 / tot, tot)


def norm_apply(ns: NormState, obs: jax.Array, const_passthrough: bool = True) -> jax.Array:
    """(obs - mean) / sqrt(var + 1e-4).

    Trap: a dimension that was constant in training (a silent message channel) has variance ~0, so
    the reference multiplies any later value on it by ~100. With ``const_passthrough`` such a
    dimension (variance below ``CONST_VAR``) is centred but not scaled; elsewhere it is the
    reference's formula. On a truly constant dimension both give ~0 during training.
    """
    std = jnp.sqrt(ns.var + NORM_EPS)
    if const_passthrough:
        std = jnp.where(ns.var < CONST_VAR, 1.0, std)
    return (obs - ns.mean) / std
