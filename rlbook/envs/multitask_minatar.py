"""Several MinAtar games behind one observation and action format (multi-task and continual RL).

gymnax's MinAtar games differ in their observation channels (Breakout 4, SpaceInvaders 6, Asterix 4) and
their minimal action sets; with ``use_minimal_action_set=False`` every game takes the same 6 actions. Here
each game's observation is zero-padded to the largest channel count and ``K`` one-hot **task planes** are
appended (all ones on the plane of the game, zeros elsewhere), so every observation is ``[10, 10, C + K]``
and one network can play every game.

Environment classes cannot share one ``vmap``: each game is stepped with its own ``vmap`` inside one
jitted call and every env row keeps the outputs of the game it is assigned to. The assignment is data, not
structure, so multi-task training, each continual-learning phase and evaluation run one compiled program
(compiling three MinAtar games inside PPO's scans is the slow part on a CPU, not stepping them).
"""

from __future__ import annotations

from typing import Any

import gymnax
import jax
import jax.numpy as jnp
import numpy as np

GAMES = ("Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar")
SHORT = {
    "Breakout-MinAtar": "Breakout",
    "SpaceInvaders-MinAtar": "SpaceInvaders",
    "Asterix-MinAtar": "Asterix",
}
NUM_ACTIONS = 6  # MinAtar's full action set


class MultiTaskMinAtar:
    """``num_envs`` environments, env i playing game ``assignment[i]``; observations ``[N, 10, 10, C + K]``.

    ``reset(key, assignment) -> (obs, states)`` and ``step(key, states, actions, assignment) -> (obs, states,
    reward, terminated, truncated, info)`` follow gymnax 1.0 (auto-reset; ``info["final_observation"]``
    padded like ``obs``). ``assignment`` [N] (int) is a traced array, so one compiled program serves
    multi-task training (e.g. ``split_assignment``: N / K envs per game), every continual-learning phase
    (all envs on one game) and evaluation. Each game's ``vmap`` steps all N envs and each row keeps its
    own game's outputs (``states`` is a tuple of K batched gymnax states); the envs cost K times a single
    game's, small next to the network.
    """

    def __init__(self, games=GAMES, num_envs: int = 48, max_steps_in_episode: int | None = None):
        games = tuple(games)
        bad = [g for g in games if g not in gymnax.registered_envs or "MinAtar" not in g]
        if bad or not games:
            raise ValueError(f"games={games!r}: each must be a gymnax MinAtar game, e.g. {GAMES}")
        if len(set(games)) != len(games):
            raise ValueError(f"games={games!r} must not repeat a game")
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} must be an integer >= 1")
        self.games, self.num_envs = games, num_envs
        made = [gymnax.make(g, use_minimal_action_set=False) for g in games]
        self.envs = [e for e, _ in made]
        self.params = [p for _, p in made]
        if max_steps_in_episode is not None:  # shorter episodes (tests of truncation)
            if not isinstance(max_steps_in_episode, int) or max_steps_in_episode < 1:
                raise ValueError(
                    f"max_steps_in_episode={max_steps_in_episode!r} must be an integer >= 1"
                )
            self.params = [
                p.replace(max_steps_in_episode=max_steps_in_episode) for p in self.params
            ]
        self.channels = [e.observation_space(p).shape[-1] for e, p in made]
        for g, e, p in zip(games, self.envs, self.params, strict=True):
            if e.action_space(p).n != NUM_ACTIONS:
                raise ValueError(f"{g} has {e.action_space(p).n} actions, expected {NUM_ACTIONS}")
        self.max_channels = max(self.channels)

    @property
    def num_tasks(self) -> int:
        return len(self.games)

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        return (10, 10, self.max_channels + self.num_tasks)

    def split_assignment(self) -> jax.Array:
        """N / K envs per game, in game order (multi-task training and evaluation)."""
        if self.num_envs % self.num_tasks:
            raise ValueError(
                f"num_envs={self.num_envs} must be a multiple of {self.num_tasks} games"
            )
        per = self.num_envs // self.num_tasks
        return jnp.asarray(np.repeat(np.arange(self.num_tasks), per), jnp.int32)

    def single_assignment(self, game) -> jax.Array:
        """Every env on ``game`` (a continual-learning phase); ``game`` may be traced."""
        return jnp.full((self.num_envs,), game, jnp.int32)

    def pad(self, obs: jax.Array, task: int) -> jax.Array:
        """One game's observations [n, 10, 10, C_k] -> [n, 10, 10, C_max + K] (zero channels + task planes)."""
        n = obs.shape[0]
        zeros = jnp.zeros((n, 10, 10, self.max_channels - obs.shape[-1]), jnp.float32)
        planes = jnp.broadcast_to(
            jax.nn.one_hot(task, self.num_tasks, dtype=jnp.float32), (n, 10, 10, self.num_tasks)
        )
        return jnp.concatenate([obs.astype(jnp.float32), zeros, planes], axis=-1)

    def _check(self, assignment) -> None:
        if assignment.shape != (self.num_envs,):
            raise ValueError(
                f"assignment must have shape ({self.num_envs},), got {assignment.shape}"
            )

    def _select(self, per_game: list, assignment: jax.Array) -> jax.Array:
        """Row i of game ``assignment[i]``'s output, from K outputs with leading axis N."""
        out = per_game[0]
        for k in range(1, self.num_tasks):
            sel = (assignment == k).reshape((-1,) + (1,) * (out.ndim - 1))
            out = jnp.where(sel, per_game[k], out)
        return out

    def reset(self, key: jax.Array, assignment: jax.Array) -> tuple[jax.Array, tuple]:
        self._check(assignment)
        obs, states = [], []
        for k, kk in enumerate(jax.random.split(key, self.num_tasks)):
            o, s = jax.vmap(self.envs[k].reset, (0, None))(
                jax.random.split(kk, self.num_envs), self.params[k]
            )
            obs.append(self.pad(o, k))
            states.append(s)
        return self._select(obs, assignment), tuple(states)

    def step(
        self, key: jax.Array, states: tuple, actions: jax.Array, assignment: jax.Array
    ) -> tuple:
        """Step all games on all envs with ``actions`` [N]; row i keeps game ``assignment[i]``'s outputs."""
        self._check(assignment)
        outs = []
        for k, kk in enumerate(jax.random.split(key, self.num_tasks)):
            o, s, r, term, trunc, info = jax.vmap(self.envs[k].step, (0, 0, 0, None))(
                jax.random.split(kk, self.num_envs), states[k], actions, self.params[k]
            )
            fin = self.pad(info.get("final_observation", o), k)
            outs.append((self.pad(o, k), s, r.astype(jnp.float32), term, trunc, fin))
        obs, reward, term, trunc, final = (
            self._select([o[j] for o in outs], assignment) for j in (0, 2, 3, 4, 5)
        )
        info: dict[str, Any] = {"final_observation": final}
        return obs, tuple(o[1] for o in outs), reward, term, trunc, info


def task_of(obs: jax.Array, num_tasks: int) -> jax.Array:
    """The task id [B] read off the task planes of observations [B, 10, 10, C + K] (first pixel)."""
    return jnp.argmax(obs[:, 0, 0, -num_tasks:], axis=-1)


def per_task_mean(values: jax.Array, weights: jax.Array, task_ids: jax.Array, num_tasks: int):
    """Weighted mean of ``values`` [..., N] per task (last axis split by ``task_ids`` [N]); NaN if no weight.

    With ``weights`` = episode-done flags and ``values`` = finished returns this is each game's mean
    episodic return."""
    onehot = jax.nn.one_hot(task_ids, num_tasks)  # [N, K]
    w = weights.astype(jnp.float32)
    tot = jnp.einsum("...n,nk->k", jnp.where(weights, values, 0.0) * 1.0, onehot)
    cnt = jnp.einsum("...n,nk->k", w, onehot)
    return jnp.where(cnt > 0, tot / jnp.maximum(cnt, 1.0), jnp.nan), cnt
