"""Two-player 2x2 matrix games, memory-one policies and their exact discounted values.

Conventions (tested in ``tests/test_matrix.py``, see the opponent-shaping notes §0.1):

* actions: 0 = cooperate (C), 1 = defect (D); a policy is a logit of P(C);
* joint state ``s = 2 * a1 + a2``, i.e. payoffs are listed over ``[CC, CD, DC, DD]`` with player 1's
  action first;
* a memory-one policy is ``theta: f32[5]``: index 0 is the first move, indices 1..4 the previous joint
  state **from the player's own perspective** (player 2's CD and DC are swapped internally);
* ``exact_value`` returns the *average per-step* discounted reward ``(1 - gamma) * V``; learners
  differentiate the un-normalised ``V`` (``exact_value_unnormalised``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

PERM = (0, 2, 1, 3)  # CD <-> DC: a joint state seen from the other seat
STATE_NAMES = ("CC", "CD", "DC", "DD")
OBS_NAMES = ("start", "CC", "CD", "DC", "DD")


@struct.dataclass
class MatrixGame:
    """Payoffs over joint states [CC, CD, DC, DD] (player 1's action first; 0 = C, 1 = D)."""

    r1: jax.Array
    r2: jax.Array
    name: str = struct.field(pytree_node=False, default="custom")


def _check_payoff(r, param: str) -> jax.Array:
    arr = np.asarray(r, dtype=np.float64)
    if arr.shape != (4,):
        raise ValueError(
            f"{param} must have shape (4,) (payoffs over [CC, CD, DC, DD]), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{param} must be finite, got {arr.tolist()}")
    return jnp.asarray(arr, dtype=jnp.float32)


def make_game(r1, r2, name: str = "custom") -> MatrixGame:
    """Build a game from two length-4 payoff vectors over [CC, CD, DC, DD]; validates shapes."""
    return MatrixGame(r1=_check_payoff(r1, "r1"), r2=_check_payoff(r2, "r2"), name=str(name))


GAMES: dict[str, MatrixGame] = {
    # Prisoner's dilemma with the LOLA / M-FOS payoffs (years in prison, negated).
    "ipd": make_game([-1, -3, 0, -2], [-1, 0, -3, -2], "ipd"),
    # Matching pennies as in M-FOS: player 1 wins by mismatching, zero-sum.
    "imp": make_game([-1, 1, 1, -1], [1, -1, -1, 1], "imp"),
    # Chicken with the M-FOS values (0 = swerve, 1 = straight).
    "chicken": make_game([0, -1, 1, -100], [0, 1, -1, -100], "chicken"),
    # Stag hunt (0 = stag, 1 = hare), the welfare-equilibria repo's values.
    "stag_hunt": make_game([10, 1, 8, 5], [10, 8, 1, 5], "stag_hunt"),
    # Battle of the sexes (0 = player 1's favourite venue, 1 = player 2's).
    "bos": make_game([3, 0, 0, 2], [2, 0, 0, 3], "bos"),
}


def get_game(name: str) -> MatrixGame:
    """The registered game ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    if name not in GAMES:
        raise ValueError(f"unknown game {name!r}; valid games: {', '.join(sorted(GAMES))}")
    return GAMES[name]


def swap_game(game: MatrixGame) -> MatrixGame:
    """The game seen from player 2's seat: r1' = perm(r2), r2' = perm(r1), perm = (0, 2, 1, 3)."""
    perm = jnp.asarray(PERM)
    return MatrixGame(r1=game.r2[..., perm], r2=game.r1[..., perm], name=game.name)


def validate_gamma(gamma) -> None:
    """Raise ``ValueError`` unless 0 < gamma < 1 (skipped for traced values inside jit)."""
    if isinstance(gamma, jax.core.Tracer):
        return
    g = np.asarray(gamma)
    if g.ndim == 0 and not (0.0 < float(g) < 1.0):
        raise ValueError(f"gamma must lie in the open interval (0, 1), got {float(g)}")
    if g.ndim > 0 and not np.all((g > 0) & (g < 1)):
        raise ValueError("gamma must lie in the open interval (0, 1)")


def _check_policy(x, param: str) -> None:
    if jnp.shape(x) != (5,):
        raise ValueError(
            f"{param} must have shape (5,) ([start, CC, CD, DC, DD]; vmap for batches), "
            f"got shape {jnp.shape(x)}"
        )


def _check_game(game) -> None:
    if not isinstance(game, MatrixGame):
        raise ValueError(f"game must be a MatrixGame (see get_game / make_game), got {type(game)}")
    for param, r in (("game.r1", game.r1), ("game.r2", game.r2)):
        if jnp.shape(r) != (4,):
            raise ValueError(f"{param} must have shape (4,), got shape {jnp.shape(r)}")


def init_last(theta):
    """rlbook layout [start, CC, CD, DC, DD] -> pax layout [CC, CD, DC, DD, start] (last axis)."""
    theta = jnp.asarray(theta)
    return jnp.concatenate([theta[..., 1:], theta[..., :1]], axis=-1)


def init_first(theta):
    """pax layout [CC, CD, DC, DD, start] -> rlbook layout [start, CC, CD, DC, DD] (last axis)."""
    theta = jnp.asarray(theta)
    return jnp.concatenate([theta[..., -1:], theta[..., :-1]], axis=-1)


def memory1_visitation_probs(p1, p2, gamma=0.96, *, method: str = "solve") -> jax.Array:
    """Discounted joint-state visitation ``M = d0^T (I - gamma P)^-1`` from cooperation probabilities.

    ``p1``, ``p2``: f32[5] P(C) for [start, CC, CD, DC, DD], each from its owner's perspective
    (deterministic strategies such as TFT are given here exactly, never as infinite logits).
    Returns f32[4] over [CC, CD, DC, DD] (player 1 first), summing to ``1 / (1 - gamma)``.
    ``method="inv"`` inverts the matrix instead of solving (the two agree; a test checks it).
    """
    _check_policy(p1, "p1")
    _check_policy(p2, "p2")
    validate_gamma(gamma)
    p = jnp.asarray(p1)
    # Player 2's own-perspective probabilities, re-indexed to player 1's state order.
    q = jnp.asarray(p2)[jnp.array([0, 1, 3, 2, 4])]
    p0, q0 = p[0], q[0]
    d0 = jnp.stack([p0 * q0, p0 * (1 - q0), (1 - p0) * q0, (1 - p0) * (1 - q0)])
    ps, qs = p[1:], q[1:]
    trans = jnp.stack([ps * qs, ps * (1 - qs), (1 - ps) * qs, (1 - ps) * (1 - qs)], axis=1)
    a = jnp.eye(4, dtype=trans.dtype) - gamma * trans
    if method == "solve":
        return jnp.linalg.solve(a.T, d0)
    if method == "inv":
        return d0 @ jnp.linalg.inv(a)
    raise ValueError(f"method must be 'solve' or 'inv', got {method!r}")


def memory1_visitation(theta1, theta2, gamma=0.96) -> jax.Array:
    """Discounted visitation over [CC, CD, DC, DD] for two memory-one policies given as logits."""
    _check_policy(theta1, "theta1")
    _check_policy(theta2, "theta2")
    return memory1_visitation_probs(jax.nn.sigmoid(theta1), jax.nn.sigmoid(theta2), gamma)


def exact_value_unnormalised(theta1, theta2, game: MatrixGame, gamma=0.96):
    """Both players' discounted returns ``V_i = M . r_i`` (what the learners differentiate)."""
    _check_game(game)
    m = memory1_visitation(theta1, theta2, gamma)
    return m @ game.r1, m @ game.r2


def exact_value(theta1, theta2, game: MatrixGame, gamma=0.96):
    """Both players' average per-step discounted reward ``(1 - gamma) * V`` (jit/vmap/grad safe)."""
    v1, v2 = exact_value_unnormalised(theta1, theta2, game, gamma)
    return (1 - gamma) * v1, (1 - gamma) * v2


def exact_value_probs(p1, p2, game: MatrixGame, gamma=0.96):
    """``exact_value`` from cooperation probabilities (for deterministic strategies)."""
    _check_game(game)
    m = memory1_visitation_probs(p1, p2, gamma)
    return (1 - gamma) * (m @ game.r1), (1 - gamma) * (m @ game.r2)


def p_cooperate(theta1, theta2, gamma=0.96):
    """Discounted frequency with which each player cooperates under the joint policy: (P1(C), P2(C))."""
    m = (1 - gamma) * memory1_visitation(theta1, theta2, gamma)
    return m[0] + m[1], m[0] + m[2]


# Memory-one strategies as P(C) over [start, CC, CD, DC, DD] (own perspective).
STRATEGIES: dict[str, jax.Array] = {
    "allc": jnp.array([1.0, 1.0, 1.0, 1.0, 1.0]),
    "alld": jnp.array([0.0, 0.0, 0.0, 0.0, 0.0]),
    "tft": jnp.array([1.0, 1.0, 0.0, 1.0, 0.0]),  # copy the opponent's last move
    "wsls": jnp.array([1.0, 1.0, 0.0, 0.0, 1.0]),  # win-stay, lose-shift (Pavlov)
}


def nash_equilibria_2x2(game: MatrixGame) -> list[tuple[float, float]]:
    """Nash equilibria of the one-shot game as (P1(C), P2(C)) pairs: pure ones, then the mixed one.

    Plain numpy (a teaching helper, not a core); assumes a non-degenerate game.
    """
    r1 = np.asarray(game.r1, dtype=np.float64).reshape(2, 2)  # [a1, a2]
    r2 = np.asarray(game.r2, dtype=np.float64).reshape(2, 2)
    eq: list[tuple[float, float]] = []
    for a1 in (0, 1):
        for a2 in (0, 1):
            if r1[a1, a2] >= r1[1 - a1, a2] and r2[a1, a2] >= r2[a1, 1 - a2]:
                eq.append((1.0 - a1, 1.0 - a2))
    # Mixed: q makes player 1 indifferent, p makes player 2 indifferent.
    den_q = r1[0, 0] - r1[0, 1] - r1[1, 0] + r1[1, 1]
    den_p = r2[0, 0] - r2[1, 0] - r2[0, 1] + r2[1, 1]
    if den_q != 0 and den_p != 0:
        q = (r1[1, 1] - r1[0, 1]) / den_q
        p = (r2[1, 1] - r2[1, 0]) / den_p
        if 0 < p < 1 and 0 < q < 1:
            eq.append((float(p), float(q)))
    return eq
