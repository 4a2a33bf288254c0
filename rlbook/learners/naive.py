"""Naive learners (NL) and LOLA on the exact value of a memory-one matrix game.

Every update is written for the learner in **seat 1**: ``update(theta_self, theta_other, game, ...)``.
Update player 2 by calling it with ``swap_game(game)`` and ``(theta2, theta1)``; both players then use
the same code and their own-perspective parameters (opponent-shaping notes §0.4).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from flax import struct

from rlbook.config import check_choice, check_number
from rlbook.games.matrix import (
    MatrixGame,
    _check_game,
    _check_policy,
    exact_value,
    exact_value_unnormalised,
    p_cooperate,
    swap_game,
    validate_gamma,
)

LOLA_VARIANTS = ("taylor_full", "taylor_paper", "exact")


def _v1(theta_self, theta_other, game, gamma):
    return exact_value_unnormalised(theta_self, theta_other, game, gamma)[0]


def _v2(theta_self, theta_other, game, gamma):
    return exact_value_unnormalised(theta_self, theta_other, game, gamma)[1]


def naive_update(theta_self, theta_other, game: MatrixGame, gamma=0.96, lr=1.0):
    """One step of gradient ascent on the learner's own un-normalised value V_1."""
    g = jax.grad(_v1)(theta_self, theta_other, game, gamma)
    return theta_self + lr * g


def lola_direction(v1_fn, v2_fn, x_self, x_other, eta=1.0, variant="taylor_full"):
    """The LOLA ascent direction for any pair of value functions ``v_i(x_self, x_other)``.

    * ``taylor_full`` (M-FOS ``MetaGames``): grad_1 V1 + eta * grad_1 (grad_2 V1 . grad_2 V2);
    * ``taylor_paper`` (Foerster et al., 2018): grad_1 V1 + eta * (grad_2 V1)^T grad_1 grad_2 V2,
      i.e. the same with grad_2 V1 held constant;
    * ``exact``: grad_1 V1(x_1, x_2 + eta * grad_2 V2(x_1, x_2)), differentiating through the
      opponent's look-ahead step.

    With ``eta = 0`` every variant is the naive gradient grad_1 V1.
    """
    check_choice("variant", variant, LOLA_VARIANTS)
    grad2 = lambda f, a, b: jax.grad(f, argnums=1)(a, b)

    if variant == "exact":

        def lookahead_value(a):
            b_new = x_other + eta * grad2(v2_fn, a, x_other)
            return v1_fn(a, b_new)

        return jax.grad(lookahead_value)(x_self)

    def shaping(a):
        g21 = grad2(v1_fn, a, x_other)
        if variant == "taylor_paper":
            g21 = jax.lax.stop_gradient(g21)
        return jnp.vdot(g21, grad2(v2_fn, a, x_other))

    return jax.grad(v1_fn)(x_self, x_other) + eta * jax.grad(shaping)(x_self)


def lola_gradient(
    theta_self, theta_other, game: MatrixGame, gamma=0.96, eta=1.0, variant="taylor_full"
):
    """The LOLA direction for the memory-one learner in seat 1 (see ``lola_direction``)."""
    return lola_direction(
        lambda a, b: _v1(a, b, game, gamma),
        lambda a, b: _v2(a, b, game, gamma),
        theta_self,
        theta_other,
        eta,
        variant,
    )


def lola_update(
    theta_self,
    theta_other,
    game: MatrixGame,
    gamma=0.96,
    lr=1.0,
    eta=1.0,
    variant="taylor_full",
):
    """One LOLA step for the learner in seat 1 (``variant`` as in ``lola_gradient``)."""
    return theta_self + lr * lola_gradient(theta_self, theta_other, game, gamma, eta, variant)


def _nl(theta_self, theta_other, game, gamma, lr, eta, variant):
    del eta, variant
    return naive_update(theta_self, theta_other, game, gamma, lr)


LEARNERS = {"nl": _nl, "lola": lola_update}


def _check_learner(name: str, param: str) -> None:
    if name not in LEARNERS:
        raise ValueError(f"{param} must be one of {sorted(LEARNERS)}, got {name!r}")


def _check_simulate(game, learner1, learner2, variant, gamma, n_runs, n_steps) -> None:
    _check_game(game)
    _check_learner(learner1, "learner1")
    _check_learner(learner2, "learner2")
    check_choice("variant", variant, LOLA_VARIANTS)
    validate_gamma(gamma)
    check_number("n_runs", n_runs, 1, None, integer=True)
    check_number("n_steps", n_steps, 1, None, integer=True)


@struct.dataclass
class SimResult:
    """Trajectories of ``simulate``: leading axis = run, then time (T + 1 points incl. the start)."""

    theta1: jax.Array  # [B, T + 1, 5]
    theta2: jax.Array  # [B, T + 1, 5]
    value: jax.Array  # [B, T + 1, 2] average per-step reward (player 1, player 2)
    p_coop: jax.Array  # [B, T + 1, 2] discounted frequency of cooperation


def joint_step(
    theta1,
    theta2,
    game: MatrixGame,
    learner1: str = "nl",
    learner2: str = "nl",
    gamma=0.96,
    lr1=1.0,
    lr2=1.0,
    eta1=1.0,
    eta2=1.0,
    variant: str = "taylor_full",
):
    """Both players update simultaneously from the same (theta1, theta2)."""
    new1 = LEARNERS[learner1](theta1, theta2, game, gamma, lr1, eta1, variant)
    new2 = LEARNERS[learner2](theta2, theta1, swap_game(game), gamma, lr2, eta2, variant)
    return new1, new2


@partial(jax.jit, static_argnames=("learner1", "learner2", "n_steps", "variant"))
def _simulate(
    theta1, theta2, game, gamma, lr1, lr2, eta1, eta2, learner1, learner2, n_steps, variant
):
    def run(t1, t2):
        def body(carry, _):
            a, b = carry
            a, b = joint_step(a, b, game, learner1, learner2, gamma, lr1, lr2, eta1, eta2, variant)
            return (a, b), (a, b)

        _, (tr1, tr2) = jax.lax.scan(body, (t1, t2), None, length=n_steps)
        tr1 = jnp.concatenate([t1[None], tr1])
        tr2 = jnp.concatenate([t2[None], tr2])
        vals = jax.vmap(lambda a, b: jnp.stack(exact_value(a, b, game, gamma)))(tr1, tr2)
        pc = jax.vmap(lambda a, b: jnp.stack(p_cooperate(a, b, gamma)))(tr1, tr2)
        return SimResult(theta1=tr1, theta2=tr2, value=vals, p_coop=pc)

    return jax.vmap(run)(theta1, theta2)


def simulate(
    key,
    game: MatrixGame,
    learner1: str = "nl",
    learner2: str = "nl",
    *,
    n_runs: int = 256,
    n_steps: int = 100,
    gamma=0.96,
    lr1=1.0,
    lr2=1.0,
    eta1=1.0,
    eta2=1.0,
    variant: str = "taylor_full",
    init_std=1.0,
    theta1_init=None,
    theta2_init=None,
) -> SimResult:
    """Run ``n_runs`` independent learning runs at once (``jit(vmap(scan))``).

    Initial logits are ``N(0, init_std^2)`` from ``key`` (one draw per run and player) unless
    ``theta1_init`` / ``theta2_init`` ([n_runs, 5]) are given. Learning rates, eta and gamma are traced
    (changing them does not recompile); the learner names, ``variant`` and ``n_steps`` are static.
    """
    _check_simulate(game, learner1, learner2, variant, gamma, n_runs, n_steps)
    k1, k2 = jax.random.split(key)
    if theta1_init is None:
        theta1_init = init_std * jax.random.normal(k1, (n_runs, 5))
    if theta2_init is None:
        theta2_init = init_std * jax.random.normal(k2, (n_runs, 5))
    theta1_init = jnp.asarray(theta1_init, jnp.float32)
    theta2_init = jnp.asarray(theta2_init, jnp.float32)
    for name, t in (("theta1_init", theta1_init), ("theta2_init", theta2_init)):
        if t.shape != (n_runs, 5):
            raise ValueError(f"{name} must have shape ({n_runs}, 5), got {t.shape}")
        _check_policy(t[0], name + "[0]")
    f = jnp.float32
    return _simulate(
        theta1_init,
        theta2_init,
        game,
        f(gamma),
        f(lr1),
        f(lr2),
        f(eta1),
        f(eta2),
        learner1,
        learner2,
        int(n_steps),
        variant,
    )


# ----------------------------------------------------------------------------- memoryless policies
# All five logits equal, so a policy is one number P(C); the same learners (``lola_direction``;
# eta = 0 is NL) on the exact value, for Chapter 1's phase portraits.


def _memoryless_values(game: MatrixGame, gamma):
    one = jnp.ones(5)
    v1 = lambda a, b: exact_value_unnormalised(a * one, b * one, game, gamma)[0]
    v2 = lambda a, b: exact_value_unnormalised(a * one, b * one, game, gamma)[1]
    return v1, v2


@partial(jax.jit, static_argnames=("learner1", "learner2"))
def memoryless_step(
    x, game: MatrixGame, learner1="nl", learner2="nl", gamma=0.96, lr=0.01, eta=1.0
):
    """One simultaneous update of two memoryless logits ``x = [x1, x2]`` (un-normalised V, as NL/LOLA)."""
    e1 = eta if learner1 == "lola" else 0.0
    e2 = eta if learner2 == "lola" else 0.0
    d1 = lola_direction(*_memoryless_values(game, gamma), x[0], x[1], e1)
    d2 = lola_direction(*_memoryless_values(swap_game(game), gamma), x[1], x[0], e2)
    return x + lr * jnp.stack([d1, d2])


def memoryless_trajectories(
    p0, game: MatrixGame, learner1="nl", learner2="nl", *, n_steps=300, gamma=0.96, lr=0.01, eta=1.0
):
    """Trajectories in (P1(C), P2(C)) from starting probabilities ``p0`` [n, 2]: f32[n, n_steps + 1, 2]."""
    validate_gamma(gamma)
    _check_learner(learner1, "learner1")
    _check_learner(learner2, "learner2")
    p0 = jnp.clip(jnp.asarray(p0, jnp.float32), 1e-4, 1 - 1e-4)
    x0 = jnp.log(p0) - jnp.log1p(-p0)

    def one(x):
        def body(x, _):
            x = memoryless_step(x, game, learner1, learner2, gamma, lr, eta)
            return x, x

        _, xs = jax.lax.scan(body, x, None, length=n_steps)
        return jnp.concatenate([x[None], xs])

    return jax.nn.sigmoid(jax.vmap(one)(x0))


def memoryless_field(
    game: MatrixGame, learner1="nl", learner2="nl", *, n_grid=15, gamma=0.96, lr=0.01, eta=1.0
):
    """Grid ``(P1, P2)`` over (0, 1)^2 and the one-step change ``(dP1, dP2)`` of the learning rule."""
    g = jnp.linspace(0.05, 0.95, n_grid)
    p1, p2 = jnp.meshgrid(g, g, indexing="xy")
    p = jnp.stack([p1.ravel(), p2.ravel()], axis=1)
    x = jnp.log(p) - jnp.log1p(-p)
    step = jax.vmap(lambda xi: memoryless_step(xi, game, learner1, learner2, gamma, lr, eta))
    dp = jax.nn.sigmoid(step(x)) - p
    return p1, p2, dp[:, 0].reshape(p1.shape), dp[:, 1].reshape(p1.shape)
