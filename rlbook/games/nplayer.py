"""N-player symmetric 2-action games, memory-one policies, their exact discounted values and a sampled
iterated version (Leading the Pack: N-player opponent shaping, Souly et al., 2023).

Conventions (tested in ``tests/test_nplayer.py``):

* actions: 0 = cooperate (C), 1 = defect (D); a policy is a logit of P(C);
* a payoff table is ``f32[n + 1, 2]``: row = number of defectors **including oneself**, column = own
  action. The two impossible cells (a cooperator among n defectors, a defector among 0) are NaN, so a
  bug that reads them shows up as NaN instead of the reference's silent +-1000;
* joint state ``s = sum_j a_j 2^(n - 1 - j)`` (player 0 is the most significant bit), so at n = 2 the
  states are [CC, CD, DC, DD] as in ``rlbook.games.matrix``;
* player i sees the previous joint action **rotated to start at itself**,
  ``(a_i, a_{i+1}, ..., a_{n-1}, a_0, ..., a_{i-1})`` read as a binary number with its own action as the
  most significant bit (the reference's "first-person, clockwise" order): the state's bits rotated
  left by i;
* a memory-one policy is ``theta_i: f32[2^n + 1]``: index 0 is the first move, index ``1 + o`` the
  rotated observation ``o``. At n = 2 this is exactly Chapter 1's layout (player 2's CD and DC swapped);
* ``exact_value`` returns the average per-step discounted reward ``(1 - gamma) * V_i`` of every player;
  learners differentiate the un-normalised ``V`` (``exact_value_unnormalised``).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlbook.games.matrix import validate_gamma
from rlbook.rl.env import discounted_rollouts

GAME_NAMES = ("ipd", "snowdrift", "stag_hunt", "commons")
GAME_LABELS = {
    "ipd": "N-player prisoner's dilemma",
    "snowdrift": "snowdrift",
    "stag_hunt": "stag hunt",
    "commons": "tragedy of the commons",
}
MAX_PLAYERS = 10  # 2^n states: the exact solve is [2^n, 2^n]


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= MAX_PLAYERS:
        raise ValueError(
            f"n (number of players) must be an integer in [2, {MAX_PLAYERS}], got {n!r}"
        )
    return int(n)


def stag_hunt_threshold(n: int) -> int:
    """Cooperators needed for the stag: at least half the players and at least two (the reference's
    tables: 2, 2, 2, 3 for n = 2, 3, 4, 5)."""
    return max(2, math.ceil(_check_n(n) / 2))


def commons_max_defectors(n: int) -> int:
    """The commons survives while at most floor((n - 1) / 2) players over-use it (a strict majority
    of cooperators)."""
    return (_check_n(n) - 1) // 2


def _payoff(game: str, n: int, d: int, own: int) -> float:
    """Payoff of a player taking ``own`` (0 = C) when ``d`` players (incl. itself) defect."""
    n_c = n - d  # cooperators, including oneself if own = 0
    if game == "ipd":  # each cooperator gives 2 to each other player; defecting keeps 1 for oneself
        others_c = n_c - (1 - own)
        return 2.0 * others_c + own
    if (
        game == "snowdrift"
    ):  # benefit b = n if anyone clears the drift; cost c = n - 1 shared by clearers
        b, c = float(n), float(n - 1)
        return b - c / n_c if own == 0 else (b if n_c >= 1 else 0.0)
    if game == "stag_hunt":  # the stag needs enough hunters; a lone stag hunter loses 3
        if n_c >= stag_hunt_threshold(n):
            r_d = 6.0 * n_c / n
            return r_d - 3.0 if own == 0 else r_d
        return -3.0 if own == 0 else 0.0
    if game == "commons":  # the commons collapses when a majority over-uses it
        ok = d <= commons_max_defectors(n)
        return (2.0 if ok else -3.0) if own == 0 else (5.0 if ok else 0.0)
    raise ValueError(f"unknown game {game!r}; valid games: {', '.join(GAME_NAMES)}")


def payoff_table(game: str, n: int) -> np.ndarray:
    """f32[n + 1, 2]: row = number of defectors including oneself, column = own action (0 = C).

    Impossible cells (row n, column C; row 0, column D) are NaN."""
    if game not in GAME_NAMES:
        raise ValueError(f"unknown game {game!r}; valid games: {', '.join(GAME_NAMES)}")
    n = _check_n(n)
    table = np.full((n + 1, 2), np.nan, dtype=np.float32)
    for d in range(n + 1):
        for own in (0, 1):
            if (own == 0 and d < n) or (own == 1 and d >= 1):
                table[d, own] = _payoff(game, n, d, own)
    return table


@struct.dataclass
class NPlayerGame:
    """A symmetric n-player game given by its payoff table ``f32[n + 1, 2]``."""

    table: jax.Array
    n: int = struct.field(pytree_node=False)
    name: str = struct.field(pytree_node=False, default="custom")


def make_game(game: str, n: int) -> NPlayerGame:
    """The registered game ``game`` (one of ``GAME_NAMES``) for ``n`` players."""
    return NPlayerGame(table=jnp.asarray(payoff_table(game, n)), n=_check_n(n), name=game)


def game_from_table(table, name: str = "custom") -> NPlayerGame:
    """A game from any table [n + 1, 2]; the possible cells must be finite."""
    arr = np.asarray(table, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 3:
        raise ValueError(f"table must have shape (n + 1, 2) with n >= 2, got {arr.shape}")
    n = _check_n(arr.shape[0] - 1)
    arr = arr.copy()
    arr[n, 0] = np.nan
    arr[0, 1] = np.nan
    if not np.all(np.isfinite(arr[:n, 0])) or not np.all(np.isfinite(arr[1:, 1])):
        raise ValueError("table's possible cells (rows 0..n-1 for C, 1..n for D) must be finite")
    return NPlayerGame(table=jnp.asarray(arr), n=n, name=name)


# --------------------------------------------------------------------------------------------------
# State bookkeeping (plain numpy, computed once per n)
# --------------------------------------------------------------------------------------------------


def state_bits(n: int) -> np.ndarray:
    """int32[2^n, n]: bit j of state s is player j's action (player 0 = most significant bit)."""
    s = np.arange(2**n)[:, None]
    return ((s >> (n - 1 - np.arange(n))[None, :]) & 1).astype(np.int32)


def rotate_state(s, i: int, n: int):
    """Player i's view of global state s: its bits rotated left by i (own action -> most significant)."""
    i = i % n
    s = np.asarray(s)
    mask = 2**n - 1
    return ((s << i) | (s >> (n - i))) & mask if i else s


def observation_index(n: int) -> np.ndarray:
    """int32[n, 2^n]: ``obs[i, s]`` = player i's rotated observation of global state s."""
    s = np.arange(2**n)
    return np.stack([rotate_state(s, i, n) for i in range(n)]).astype(np.int32)


def rotation_matrices(n: int) -> np.ndarray:
    """f32[n, 2^n, 2^n] one-hot: ``R[i, s, o] = 1`` iff player i observes global state s as o.

    Used as matmuls instead of gathers: XLA:CPU's batched scatter (a gather's gradient) was seen to
    hang at large vmapped batches, while matmuls are fast in both directions."""
    obs = observation_index(n)
    return np.eye(2**n, dtype=np.float32)[obs]


def _by_state(p, n: int):
    """p: [n, 2^n + 1] per-player values by own index -> [2^n (global state), n]."""
    return jnp.einsum("iso,io->si", jnp.asarray(rotation_matrices(n)), p[:, 1:])


def reward_matrix(game: NPlayerGame) -> jax.Array:
    """f32[2^n, n]: every player's payoff in every joint state (only possible cells are read)."""
    bits = state_bits(game.n)
    d = bits.sum(1, keepdims=True)  # defectors in each state
    return game.table[np.broadcast_to(d, bits.shape), bits]


# --------------------------------------------------------------------------------------------------
# Exact value
# --------------------------------------------------------------------------------------------------


def _check_thetas(thetas, n: int | None = None) -> int:
    shape = jnp.shape(thetas)
    if len(shape) != 2 or shape[0] < 2 or shape[1] != 2 ** shape[0] + 1:
        raise ValueError(
            "thetas must have shape (n, 2^n + 1) ([first move, 2^n rotated states] per player; "
            f"vmap for batches), got shape {shape}"
        )
    if n is not None and shape[0] != n:
        raise ValueError(f"thetas has {shape[0]} players but the game has n = {n}")
    return shape[0]


def _check_game(game) -> None:
    if not isinstance(game, NPlayerGame):
        raise ValueError(f"game must be an NPlayerGame (see make_game), got {type(game)}")
    if jnp.shape(game.table) != (game.n + 1, 2):
        raise ValueError(
            f"game.table must have shape ({game.n + 1}, 2), got {jnp.shape(game.table)}"
        )


def _joint_probs(p, bits):
    """p: [..., n] P(C) of each player -> [..., 2^n] probability of every joint action."""
    pick = jnp.where(bits == 0, p[..., None, :], 1.0 - p[..., None, :])  # [..., 2^n, n]
    return jnp.prod(pick, axis=-1)


def solve_dd(a, b):
    """Solve ``a x = b`` for a diagonally dominant ``a`` [S, S] (``b``: [S] or [S, k]) by Gauss-Jordan
    elimination without pivoting, as plain XLA ops in a ``fori_loop``.

    ``I - gamma P`` with a stochastic P is diagonally dominant by rows and its transpose by columns, so
    no pivoting is needed. Why not ``jnp.linalg.solve``: its batched LAPACK call, vmapped over a
    population inside XLA:CPU's thread pool, was seen to deadlock on a loaded 2-core machine."""
    size = a.shape[0]
    vec = b.ndim == 1
    aug = jnp.concatenate([a, b[:, None] if vec else b], axis=1)
    idx = jnp.arange(size)

    def eliminate(k, aug):
        row = jax.lax.dynamic_index_in_dim(aug, k, axis=0, keepdims=False)
        row = row / row[k]
        col = jax.lax.dynamic_index_in_dim(aug, k, axis=1, keepdims=False)
        is_k = idx == k
        aug = aug - jnp.where(is_k, 0.0, col)[:, None] * row[None, :]
        return jnp.where(is_k[:, None], row[None, :], aug)

    x = jax.lax.fori_loop(0, size, eliminate, aug)[:, size:]
    return x[:, 0] if vec else x


def visitation_probs(probs, gamma=0.96) -> jax.Array:
    """Discounted joint-state visitation ``M = d0^T (I - gamma P)^-1`` from cooperation probabilities.

    ``probs``: f32[n, 2^n + 1], P(C) of each player at [first move, rotated states] (deterministic
    strategies given exactly). Returns f32[2^n] over global joint states, summing to 1 / (1 - gamma).
    """
    n = _check_thetas(probs)
    validate_gamma(gamma)
    probs = jnp.asarray(probs)
    bits = jnp.asarray(state_bits(n))
    d0 = _joint_probs(probs[:, 0], bits)  # [2^n]
    p_state = _by_state(probs, n)  # [2^n (from), n]
    trans = _joint_probs(p_state, bits)  # [2^n (from), 2^n (to)]
    a = jnp.eye(2**n, dtype=trans.dtype) - gamma * trans
    return solve_dd(a.T, d0)


def visitation(thetas, gamma=0.96) -> jax.Array:
    """``visitation_probs`` from logits ``thetas: f32[n, 2^n + 1]``."""
    _check_thetas(thetas)
    return visitation_probs(jax.nn.sigmoid(thetas), gamma)


def exact_value_unnormalised(thetas, game: NPlayerGame, gamma=0.96) -> jax.Array:
    """f32[n]: every player's discounted return ``V_i = M . r_i`` (what the learners differentiate)."""
    _check_game(game)
    _check_thetas(thetas, game.n)
    return visitation(thetas, gamma) @ reward_matrix(game)


def exact_value(thetas, game: NPlayerGame, gamma=0.96) -> jax.Array:
    """f32[n]: every player's average per-step discounted reward ``(1 - gamma) V_i``.

    ``thetas: f32[n, 2^n + 1]`` (player i's logits of P(C) at its first move and at each of its rotated
    observations); jit/vmap/grad safe."""
    return (1 - gamma) * exact_value_unnormalised(thetas, game, gamma)


def exact_value_probs(probs, game: NPlayerGame, gamma=0.96) -> jax.Array:
    """``exact_value`` from cooperation probabilities (for deterministic strategies)."""
    _check_game(game)
    _check_thetas(probs, game.n)
    return (1 - gamma) * visitation_probs(probs, gamma) @ reward_matrix(game)


def value_and_own_grads(thetas, game: NPlayerGame, gamma=0.96):
    """``(V [n], G [n, 2^n + 1])``: un-normalised values and, row i, grad_i V_i in closed form.

    With A = I - gamma P, M = d0^T A^-1 (visitation) and W = A^-1 R (per-state values, R [2^n, n]):
    dV_i = dd0 . W_i + gamma * M dP W_i, and P, d0 depend on theta_i only through player i's factor of
    each joint-action probability. Two solves instead of one backward pass per player (what naive
    learners need every step); equal to autodiff (tested) and itself differentiable (for LOLA)."""
    _check_game(game)
    n = _check_thetas(thetas, game.n)
    validate_gamma(gamma)
    p = jax.nn.sigmoid(thetas)
    bits = jnp.asarray(state_bits(n))  # [S (to), n]
    rot = jnp.asarray(rotation_matrices(n))  # [n, S, S]
    sign = 1.0 - 2.0 * bits  # +1 where the player cooperates next, -1 where it defects
    p_state = _by_state(p, n)  # [S (from), n]
    q = jnp.where(bits == 0, p_state[:, None, :], 1.0 - p_state[:, None, :])  # [S, S, n]
    q0 = jnp.where(bits == 0, p[:, 0], 1.0 - p[:, 0])  # [S, n]
    trans, d0 = jnp.prod(q, axis=-1), jnp.prod(q0, axis=-1)
    a = jnp.eye(2**n, dtype=trans.dtype) - gamma * trans
    rew = reward_matrix(game)  # [S, n]
    m = solve_dd(a.T, d0)  # [S]
    w = solve_dd(a, rew)  # [S, n]
    eye = jnp.eye(n, dtype=bool)
    rows = []
    for i in range(n):
        # products over the other players' factors (no division, safe at p = 0 or 1)
        loo = jnp.prod(jnp.where(eye[i], 1.0, q), axis=-1)  # [S, S]
        loo0 = jnp.prod(jnp.where(eye[i], 1.0, q0), axis=-1)  # [S]
        dp_state = gamma * m * ((loo * sign[:, i]) @ w[:, i])  # [S (from)]
        dp0 = (loo0 * sign[:, i]) @ w[:, i]
        g_state = dp_state * p_state[:, i] * (1 - p_state[:, i])  # by global state
        g0 = dp0 * p[i, 0] * (1 - p[i, 0])
        # back to player i's own indexing (a matmul with the rotation, see rotation_matrices)
        rows.append(jnp.concatenate([g0[None], g_state @ rot[i]]))
    return m @ rew, jnp.stack(rows)


def welfare(values) -> jax.Array:
    """Global welfare: the mean per-step reward over all players (last axis)."""
    return jnp.mean(values, axis=-1)


def constant_welfare(game: NPlayerGame, n_defectors: int) -> float:
    """Per-step welfare when the same ``n_defectors`` players defect every round."""
    t = np.asarray(game.table, dtype=np.float64)
    d = int(n_defectors)
    if not 0 <= d <= game.n:
        raise ValueError(f"n_defectors must lie in [0, {game.n}], got {n_defectors}")
    total = (game.n - d) * (t[d, 0] if d < game.n else 0.0) + d * (t[d, 1] if d else 0.0)
    return float(total / game.n)


def dominant_action(game: NPlayerGame) -> str:
    """'D' if defecting pays at least as much as cooperating whatever the others do (strictly for
    some), 'C' for the reverse, else 'none'."""
    t = np.asarray(game.table, dtype=np.float64)
    # others' defectors k = 0..n-1: C gives t[k, 0], D gives t[k + 1, 1]
    diff = t[1:, 1] - t[:-1, 0]
    if np.all(diff >= 0) and np.any(diff > 0):
        return "D"
    if np.all(diff <= 0) and np.any(diff < 0):
        return "C"
    return "none"


# --------------------------------------------------------------------------------------------------
# Sampled iterated game (gymnax-1.0-style API, one environment; vmap for many)
# --------------------------------------------------------------------------------------------------


@struct.dataclass
class NPlayerParams:
    game: NPlayerGame
    num_steps: int = struct.field(pytree_node=False, default=100)


@struct.dataclass
class NPlayerState:
    prev: jax.Array  # int32: 0 = start, 1 + s afterwards (s = global joint state, player 0 first)
    t: jax.Array  # int32 rounds played in this episode


def default_params(game: NPlayerGame, num_steps: int = 100) -> NPlayerParams:
    _check_game(game)
    if int(num_steps) < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    return NPlayerParams(game=game, num_steps=int(num_steps))


def observation(state: NPlayerState, n: int) -> jax.Array:
    """f32[n, 2^n + 1]: each player's one-hot over [start, rotated states] (its own view)."""
    obs_idx = jnp.asarray(observation_index(n))  # [n, 2^n]
    s = jnp.maximum(state.prev - 1, 0)
    idx = jnp.where(state.prev == 0, 0, 1 + obs_idx[:, s])
    return jax.nn.one_hot(idx, 2**n + 1)


def reset(key, params: NPlayerParams):
    del key  # the start state is deterministic
    state = NPlayerState(prev=jnp.int32(0), t=jnp.int32(0))
    return observation(state, params.game.n), state


def step(key, state: NPlayerState, action, params: NPlayerParams):
    """One simultaneous round: ``action: int32[n]`` (0 = C). Returns
    ``(obs [n, 2^n + 1], state, reward [n], terminated, truncated, info)``; auto-resets at the end of
    the episode (``truncated``), ``info["final_obs"]`` keeps the last observation."""
    n = params.game.n
    action = jnp.asarray(action, jnp.int32)
    d = jnp.sum(action)
    reward = params.game.table[d, action]
    joint = jnp.sum(action * (2 ** jnp.arange(n - 1, -1, -1)))
    t = state.t + 1
    truncated = t >= params.num_steps
    nxt = NPlayerState(prev=joint + 1, t=t)
    final_obs = observation(nxt, n)
    obs_re, state_re = reset(key, params)
    state_out = jax.tree_util.tree_map(lambda a, b: jnp.where(truncated, a, b), state_re, nxt)
    obs = jnp.where(truncated, obs_re, final_obs)
    info = {"joint_state": joint, "final_obs": final_obs, "num_defectors": d}
    return obs, state_out, reward, jnp.bool_(False), truncated, info


class IteratedNPlayerGame:
    """Object wrapper with gymnax's method names (``reset``, ``step``, ``default_params``)."""

    num_actions = 2

    def __init__(self, game: str | NPlayerGame = "ipd", n: int = 3, num_steps: int = 100):
        g = make_game(game, n) if isinstance(game, str) else game
        self.params = default_params(g, num_steps)
        self.num_agents = g.n
        self.obs_shape = (g.n, 2**g.n + 1)

    @property
    def default_params(self) -> NPlayerParams:
        return self.params

    def reset(self, key, params: NPlayerParams | None = None):
        return reset(key, self.params if params is None else params)

    def step(self, key, state, action, params: NPlayerParams | None = None):
        return step(key, state, action, self.params if params is None else params)


def rollout_memory1(key, thetas, game: NPlayerGame, *, num_steps=300, num_envs=4096, gamma=0.96):
    """Play memory-one policies ``thetas [n, 2^n + 1]`` in ``num_envs`` sampled games.

    Returns ``(returns [num_envs, n], rewards [num_envs, num_steps, n])`` with
    ``returns = sum_t gamma^t r_t``, the Monte-Carlo counterpart of ``exact_value_unnormalised``."""
    _check_game(game)
    _check_thetas(thetas, game.n)
    validate_gamma(gamma)
    if int(num_envs) < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    params = default_params(game, num_steps)
    return _rollout(key, jnp.asarray(thetas), params, int(num_envs), gamma)


@partial(jax.jit, static_argnames=("num_envs",))
def _rollout(key, thetas, params, num_envs, gamma):
    def policy(kt, obs):
        ka, ks = jax.random.split(kt)
        p_c = jax.nn.sigmoid(jnp.sum(obs * thetas, axis=-1))  # [n]
        u = jax.random.uniform(ka, p_c.shape)
        return jnp.where(u < p_c, 0, 1).astype(jnp.int32), ks

    return discounted_rollouts(key, reset, step, policy, params, num_envs, params.num_steps, gamma)
