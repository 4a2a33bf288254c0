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
    if variant not in LOLA_VARIANTS:
        raise ValueError(f"variant must be one of {LOLA_VARIANTS}, got {variant!r}")
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
    _check_game(game)
    _check_learner(learner1, "learner1")
    _check_learner(learner2, "learner2")
    if variant not in LOLA_VARIANTS:
        raise ValueError(f"variant must be one of {LOLA_VARIANTS}, got {variant!r}")
    validate_gamma(gamma)
    if int(n_runs) < 1:
        raise ValueError(f"n_runs must be >= 1, got {n_runs}")
    if int(n_steps) < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
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
