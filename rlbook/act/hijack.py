"""Test-time hijack (zero-shot test-time ACT): plant a message-to-behaviour map during training, then
steer the frozen victim with it.

One genome = (phi, exploiter). For each candidate: a fresh victim trains with the messages f_phi(s)
(scale pi); it is then frozen (mode actions, frozen normaliser) and put in a goal-conditioned
CartPole: a secret goal g ~ U[-2.4, 2.4] per episode, reward exp(-(x - g)^2) per step, the episode
ending with the victim's. Only the exploiter sees g: its message pi * tanh(MLP([s, g])) replaces
f_phi(s), so at test time the adversary is no longer bound by m = f(s). Fitness = the manipulation
return (at most ~200), averaged over goals and victims.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from rlbook.act.cheap_talk import CheapTalkEnv
from rlbook.act.victim import VictimConfig, VictimNet, VictimOut, act_greedy

GOAL_RANGE = 2.4


class Exploiter(nn.Module):
    """[s, g] -> pre-tanh message [k] (2 x 32 tanh, the reference's exploiter trunk)."""

    num_messages: int = 2
    hidden: int = 32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = nn.tanh(nn.Dense(self.hidden)(x))
        h = nn.tanh(nn.Dense(self.hidden)(h))
        return nn.Dense(self.num_messages)(h)


def goal_reward(x: jax.Array, g: jax.Array) -> jax.Array:
    """The manipulation reward: exp(-(x - g)^2), 1 when the cart sits on the goal."""
    return jnp.exp(-((x - g) ** 2))


def sample_goals(key: jax.Array, n: int) -> jax.Array:
    return jax.random.uniform(key, (n,), minval=-GOAL_RANGE, maxval=GOAL_RANGE)


class HijackTrace(NamedTuple):
    x: jax.Array  # [T] cart position after each step
    m: jax.Array  # [T, k] the exploiter's messages
    reward: jax.Array  # [T] goal reward, 0 after the episode ended
    alive: jax.Array  # [T] 1 while the victim's episode runs


class Hijacker(NamedTuple):
    """The static pieces of a hijack evaluation (closed over, never traced)."""

    vcfg: VictimConfig
    env: CheapTalkEnv
    net: VictimNet
    exploiter: Exploiter
    scale: float  # |m| <= scale at test time too
    num_steps: int  # episode cap (the env's max steps)


def hijack_episode(
    h: Hijacker, victim: VictimOut, exploiter_params: Any, key: jax.Array, goal: jax.Array
) -> HijackTrace:
    """One episode of the frozen ``victim`` steered towards ``goal`` by the exploiter's messages."""
    env_params = h.env.default_env_params
    k_reset, k_run = jax.random.split(key)
    s, state = h.env.env.reset(k_reset, env_params)

    def step(carry, k):
        s, state, alive = carry
        m = h.scale * jnp.tanh(h.exploiter.apply(exploiter_params, jnp.append(s, goal)))
        a = act_greedy(h.vcfg, h.net, victim, jnp.concatenate([s, m]))
        s, state, _, term, trunc, info = h.env.env.step(k, state, a, env_params)
        x = info["final_observation"][0]  # before any auto-reset
        r = goal_reward(x, goal) * alive
        alive_next = alive * (1.0 - jnp.logical_or(term, trunc))
        return (s, state, alive_next), HijackTrace(x, m, r, alive)

    _, trace = jax.lax.scan(step, (s, state, 1.0), jax.random.split(k_run, h.num_steps))
    return trace


def hijack_return(
    h: Hijacker, victim: VictimOut, exploiter_params: Any, key: jax.Array, goals: jax.Array
) -> jax.Array:
    """Mean manipulation return of ``victim`` over ``goals`` [E] (one episode each)."""
    keys = jax.random.split(key, goals.shape[0])
    run = lambda k, g: hijack_episode(h, victim, exploiter_params, k, g)
    return jax.vmap(run)(keys, goals).reward.sum(-1).mean()
