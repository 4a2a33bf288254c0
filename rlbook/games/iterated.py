"""Sampled iterated two-player matrix game with finite episodes (gymnax-1.0-style API).

``reset(key, params) -> (obs, state)`` and
``step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)`` for a single
environment; ``jax.vmap`` them over keys/states for many environments. Both players act at once:

* ``action``: int32[2], ``action[i]`` is player ``i + 1``'s move (0 = C, 1 = D);
* ``obs``: f32[2, 5], ``obs[i]`` is player ``i + 1``'s one-hot over [start, CC, CD, DC, DD] **from its
  own perspective** (its own previous action first), so a tabular policy over ``obs[i]`` is a
  memory-one policy in the layout of ``rlbook.games.matrix``;
* ``reward``: f32[2], both players' payoffs for the joint action.

An episode lasts ``params.num_steps`` rounds; the last step returns ``truncated = True`` (the game is
never terminated by itself) and the environment resets automatically, as gymnax's ``step`` does: the
returned ``obs``/``state`` then belong to the next episode, and ``info["final_observation"]`` keeps the last one.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from rlbook.config import check_number
from rlbook.games.matrix import MatrixGame, _check_game, _check_policy, get_game, validate_gamma
from rlbook.rl.env import Environment, discounted_rollouts, spaces


@struct.dataclass
class IteratedGameParams:
    game: MatrixGame
    num_steps: int = struct.field(pytree_node=False, default=100)


@struct.dataclass
class IteratedGameState:
    prev: jax.Array  # int32: 0 = start, 1 + (2 a1 + a2) afterwards (player 1's order)
    t: jax.Array  # int32 rounds played in this episode


def default_params(game: str | MatrixGame = "ipd", num_steps: int = 100) -> IteratedGameParams:
    """Params for ``game`` (a name or a ``MatrixGame``) with episodes of ``num_steps`` rounds."""
    g = get_game(game) if isinstance(game, str) else game
    _check_game(g)
    check_number("num_steps", num_steps, 1, None, integer=True)
    return IteratedGameParams(game=g, num_steps=num_steps)


_SWAP_OBS = jnp.array([0, 1, 3, 2, 4])  # player 1's obs index -> player 2's own-perspective index


def observation(state: IteratedGameState) -> jax.Array:
    """f32[2, 5]: each player's one-hot over [start, CC, CD, DC, DD] from its own perspective."""
    o1 = jax.nn.one_hot(state.prev, 5)
    o2 = jax.nn.one_hot(_SWAP_OBS[state.prev], 5)
    return jnp.stack([o1, o2])


class IteratedMatrixGame(Environment):
    """The sampled iterated game on the book's env protocol (``rlbook.rl.env.Environment``: ``step``
    is ``step_env`` plus the auto-reset). The constructor's game and episode length are its
    ``default_params``; both players act at once, so ``action_space`` is one player's."""

    num_agents = 2
    num_actions = 2
    obs_shape = (2, 5)

    def __init__(self, game: str | MatrixGame = "ipd", num_steps: int = 100):
        self.params = default_params(game, num_steps)

    @property
    def default_params(self) -> IteratedGameParams:
        return self.params

    def reset_env(self, key, params: IteratedGameParams):
        del key  # the start state is deterministic
        state = IteratedGameState(prev=jnp.int32(0), t=jnp.int32(0))
        return observation(state), state

    def step_env(self, key, state: IteratedGameState, action, params: IteratedGameParams):
        """One simultaneous round (no reset: ``step`` adds it)."""
        del key  # the round is deterministic given the joint action
        action = jnp.asarray(action, jnp.int32)
        joint = 2 * action[0] + action[1]
        reward = jnp.stack([params.game.r1[joint], params.game.r2[joint]])
        nxt = IteratedGameState(prev=joint + 1, t=state.t + 1)
        truncated = nxt.t >= params.num_steps
        info = {"joint_state": joint}
        return observation(nxt), nxt, reward, jnp.bool_(False), truncated, info

    def observation_space(self, params=None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, self.obs_shape, jnp.float32)


_GAME = IteratedMatrixGame()

# gymnax-style functions of ``params`` (the methods of a default instance, which read only their arguments)
reset = _GAME.reset
step = _GAME.step


def memory1_act(key, theta, obs_i):
    """Sample one player's action (0 = C) from memory-one logits ``theta`` given its own obs."""
    p_c = jax.nn.sigmoid(obs_i @ theta)
    return jnp.where(jax.random.uniform(key) < p_c, 0, 1).astype(jnp.int32)


def rollout_memory1(
    key,
    theta1,
    theta2,
    game: MatrixGame,
    *,
    num_steps: int = 300,
    num_envs: int = 4096,
    gamma: float = 0.96,
):
    """Play two memory-one policies in ``num_envs`` sampled games of ``num_steps`` rounds.

    Returns ``(returns, rewards)``: f32[num_envs, 2] discounted returns ``sum_t gamma^t r_t`` (the
    Monte-Carlo counterpart of ``exact_value_unnormalised``) and f32[num_envs, num_steps, 2] rewards.
    """
    _check_policy(theta1, "theta1")
    _check_policy(theta2, "theta2")
    validate_gamma(gamma)
    check_number("num_envs", num_envs, 1, None, integer=True)
    params = default_params(game, num_steps)
    return _rollout(key, jnp.asarray(theta1), jnp.asarray(theta2), params, int(num_envs), gamma)


@partial(jax.jit, static_argnames=("num_envs",))
def _rollout(key, theta1, theta2, params, num_envs, gamma):
    def policy(kt, obs):
        ka, kb, ks = jax.random.split(kt, 3)
        return jnp.stack([memory1_act(ka, theta1, obs[0]), memory1_act(kb, theta2, obs[1])]), ks

    return discounted_rollouts(key, reset, step, policy, params, num_envs, params.num_steps, gamma)
