"""Naive learners and exact LOLA in N-player memory-one games (``rlbook.games.nplayer``).

Every player ascends its own un-normalised value ``V_i`` (as in ``rlbook.learners.naive``); all players
update simultaneously from the same joint policy.

* NL: ``theta_i += lr * grad_i V_i``;
* exact N-player LOLA for player i: every co-player j != i takes its naive step
  ``theta_j' = theta_j + eta * grad_j V_j`` **as a function of theta_i**, and player i ascends
  ``V_i(theta_i, theta_{-i}'(theta_i))`` (Chapter 1's ``exact`` variant, looking ahead through all
  N - 1 co-players at once). With ``eta = 0`` it is NL.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from rlbook.games.nplayer import (
    NPlayerGame,
    _check_game,
    exact_value,
    exact_value_unnormalised,
    value_and_own_grads,
)

KINDS = ("nl", "lola")


def value_and_naive_grads(thetas, game: NPlayerGame, gamma=0.96):
    """``(V [n], G [n, 2^n + 1])``: every player's un-normalised value and, row i, grad_i V_i
    (closed form, ``rlbook.games.nplayer.value_and_own_grads``)."""
    return value_and_own_grads(thetas, game, gamma)


def naive_grads_autodiff(thetas, game: NPlayerGame, gamma=0.96) -> jax.Array:
    """``naive_grads`` by reverse-mode autodiff (one backward pass per player); what LOLA
    differentiates through (its second-order graph compiles far faster than the closed form's)."""
    v, vjp = jax.vjp(lambda th: exact_value_unnormalised(th, game, gamma), thetas)
    (jac,) = jax.vmap(vjp)(jnp.eye(game.n, dtype=v.dtype))  # [n (value), n (seat), D]
    return jnp.einsum("iid->id", jac)


def naive_grads(thetas, game: NPlayerGame, gamma=0.96) -> jax.Array:
    """f32[n, 2^n + 1]: row i = grad of V_i with respect to theta_i (each player's own gradient)."""
    return value_and_naive_grads(thetas, game, gamma)[1]


def lola_grad(thetas, i: int, game: NPlayerGame, gamma=0.96, eta=1.0) -> jax.Array:
    """f32[2^n + 1]: exact LOLA direction of player ``i`` (look-ahead through every co-player)."""
    others = (jnp.arange(game.n) != i)[:, None]

    def lookahead_value(x):
        th = thetas.at[i].set(x)
        th_next = th + eta * others * naive_grads_autodiff(th, game, gamma)
        return exact_value_unnormalised(th_next, game, gamma)[i]

    return jax.grad(lookahead_value)(thetas[i])


def learner_step(thetas, kinds: tuple[str, ...], game: NPlayerGame, gamma=0.96, lr=1.0, eta=1.0):
    """One simultaneous update of every player whose kind is 'nl' or 'lola' (others are left alone,
    e.g. a shaper's seat). ``kinds``: static tuple of length n.

    Returns ``(new thetas, V [n])`` with V the un-normalised values *before* the update."""
    v, g = value_and_naive_grads(thetas, game, gamma)
    for i, k in enumerate(kinds):
        if k == "lola":
            g = g.at[i].set(lola_grad(thetas, i, game, gamma, eta))
    learns = jnp.asarray([k in KINDS for k in kinds])[:, None]
    return thetas + lr * learns * g, v


class NPlayerRun(NamedTuple):
    """Trajectories of ``simulate``: ``thetas [B, T + 1, n, D]``, ``value [B, T + 1, n]`` per-step
    rewards (the first entry is before any update)."""

    thetas: jax.Array
    value: jax.Array


def check_kinds(kinds, n: int) -> tuple[str, ...]:
    kinds = tuple(kinds)
    if len(kinds) != n:
        raise ValueError(f"kinds must name one learner per player (n = {n}), got {len(kinds)}")
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"every learner kind must be one of {KINDS}, got {k!r}")
    return kinds


@partial(jax.jit, static_argnames=("kinds", "n_steps"))
def _simulate(thetas0, game, gamma, lr, eta, kinds, n_steps):
    def run(th0):
        def body(th, _):
            th, _ = learner_step(th, kinds, game, gamma, lr, eta)
            return th, th

        _, tr = jax.lax.scan(body, th0, None, length=n_steps)
        tr = jnp.concatenate([th0[None], tr])
        return NPlayerRun(tr, jax.vmap(lambda t: exact_value(t, game, gamma))(tr))

    return jax.vmap(run)(thetas0)


def simulate(
    key,
    game: NPlayerGame,
    kinds=None,
    *,
    n_runs: int = 64,
    n_steps: int = 100,
    gamma=0.96,
    lr=1.0,
    eta=1.0,
    init_std=1.0,
) -> NPlayerRun:
    """``n_runs`` independent learning runs (``jit(vmap(scan))``) from ``N(0, init_std^2)`` logits.

    ``kinds``: one of ``KINDS`` per player (default: all naive)."""
    _check_game(game)
    kinds = check_kinds(kinds or ("nl",) * game.n, game.n)
    if int(n_runs) < 1 or int(n_steps) < 1:
        raise ValueError(f"n_runs and n_steps must be >= 1, got {n_runs}, {n_steps}")
    th0 = init_std * jax.random.normal(key, (int(n_runs), game.n, 2**game.n + 1))
    f = jnp.float32
    return _simulate(th0, game, f(gamma), f(lr), f(eta), kinds, int(n_steps))
