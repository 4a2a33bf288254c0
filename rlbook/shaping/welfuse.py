"""Welfare equilibria and WelFuSe (Levi, Lu, Willi, de Witt, Foerster, "The Danger of Arrogance", 2024).

Shaping learners such as LOLA act like **Stackelberg leaders**: they choose their action assuming the other
player will best-respond. When both players lead, the profile of the two leader strategies need not be a
Nash equilibrium; a game where it is not is **non-coincidental** (Chicken: both leaders go straight).
A **welfare equilibrium** replaces the leader's own value by a welfare ``w(v_self, v_other)`` of both
values at the follower's best response; greedy welfare gives back Stackelberg. **WelFuSe** runs exact
LOLA on a welfare chosen per run and re-chooses it after each episode by a bootstrap draw
(Thompson-style) of the own reward each welfare earned.

Everything here is over **one-dimensional actions**: a player's raw parameter ``u`` is a real number, its
action is ``act(u)`` (``sigmoid`` = P(first action) for 2x2 matrix games, ``linear`` for the continuous
games). ``payoff(game, x, y) -> (r_x, r_y)`` takes actions; ``values(game, u_self, u_other, seat)``
takes raw parameters and returns ``(r_self, r_other)`` from either seat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.games.matrix import GAMES as MATRIX_GAMES
from rlbook.games.matrix import STRATEGIES, MatrixGame, exact_value_probs
from rlbook.learners.naive import lola_direction

# --------------------------------------------------------------------------------------------------
# Games with one-dimensional actions
# --------------------------------------------------------------------------------------------------


@struct.dataclass
class Game1D:
    """A two-player game with a scalar action each. ``payoff[s, i]`` over joint states [CC, CD, DC, DD]
    (player x first) for ``kind="matrix"``; unused (zeros) for the continuous kinds."""

    payoff: jax.Array  # f32[4, 2]
    kind: str = struct.field(pytree_node=False, default="matrix")
    name: str = struct.field(pytree_node=False, default="custom")
    act: str = struct.field(pytree_node=False, default="sigmoid")
    lo: float = struct.field(pytree_node=False, default=0.0)  # action range for grid solvers
    hi: float = struct.field(pytree_node=False, default=1.0)


KINDS = ("matrix", "tandem", "impossible_market", "ipd_tft_alld", "ultimatum")
ACTIVATIONS: dict[str, Callable] = {"sigmoid": jax.nn.sigmoid, "linear": lambda u: u}


def matrix_game_1d(r_x, r_y, name: str = "custom") -> Game1D:
    """A 2x2 game from payoff vectors over [CC, CD, DC, DD] (player x first; action 0 = C).

    The scalar action is P(action 0) = sigmoid(u). Shapes and finiteness are checked (``ValueError``).
    """
    arrs = []
    for param, r in (("r_x", r_x), ("r_y", r_y)):
        a = np.asarray(r, dtype=np.float64).reshape(-1) if np.ndim(r) == 2 else np.asarray(r, float)
        if a.shape != (4,):
            raise ValueError(
                f"{param} must have 4 entries over [CC, CD, DC, DD], got {np.shape(r)}"
            )
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{param} must be finite, got {a.tolist()}")
        arrs.append(a)
    return Game1D(payoff=jnp.asarray(np.stack(arrs, axis=1), jnp.float32), name=str(name))


def _continuous(kind: str, name: str, act: str, lo: float, hi: float, payoff=None) -> Game1D:
    p = jnp.zeros((4, 2), jnp.float32) if payoff is None else payoff
    return Game1D(payoff=p, kind=kind, name=name, act=act, lo=lo, hi=hi)


def _from_chapter1(key: str, name: str) -> Game1D:
    g = MATRIX_GAMES[key]
    return matrix_game_1d(np.asarray(g.r1), np.asarray(g.r2), name)


GAMES: dict[str, Game1D] = {
    # The 2x2 games of Chapter 1 (one-shot, action = P(C) or P(swerve) or P(stag)).
    "prisoners_dilemma": _from_chapter1("ipd", "prisoners_dilemma"),
    "imp": _from_chapter1("imp", "imp"),  # player x wins by mismatching (M-FOS)
    "chicken": _from_chapter1("chicken", "chicken"),  # 0 = swerve, 1 = straight
    "stag_hunt": _from_chapter1("stag_hunt", "stag_hunt"),
    "battle_of_sexes": _from_chapter1("bos", "battle_of_sexes"),
    # The welfare-equilibria paper's other 2x2 games.
    "baby_chicken": matrix_game_1d([0, -1, 1, -3], [0, 1, -1, -3], "baby_chicken"),
    "matching_pennies": matrix_game_1d([1, -1, -1, 1], [-1, 1, 1, -1], "matching_pennies"),
    "coordination": matrix_game_1d([2, 0, 0, 1], [1, 0, 0, 2], "coordination"),
    "awkward": matrix_game_1d([3, 1, 2, 4], [1, 3, 5, 2], "awkward"),
    "elusive": matrix_game_1d([1, 3, 0, 2], [1, 0, 0, 1], "elusive"),
    "eagle": matrix_game_1d([4, -4, -2, 2], [1, -1, -3, 3], "eagle"),
    # Continuous one-dimensional games.
    "tandem": _continuous("tandem", "tandem", "linear", -2.0, 3.0),
    "impossible_market": _continuous("impossible_market", "impossible_market", "linear", -2.0, 2.0),
    "ultimatum": _continuous("ultimatum", "ultimatum", "sigmoid", 0.0, 1.0),
    # IPD where each player's action is its weight on TFT (rest AllD); payoffs from the Chapter 1 IPD.
    "ipd_tft_alld": _continuous(
        "ipd_tft_alld",
        "ipd_tft_alld",
        "sigmoid",
        0.0,
        1.0,
        jnp.stack([MATRIX_GAMES["ipd"].r1, MATRIX_GAMES["ipd"].r2], axis=1),
    ),
}
MATRIX_GAME_NAMES = tuple(k for k, g in GAMES.items() if g.kind == "matrix")


def get_game(name: str) -> Game1D:
    """The registered game ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    check_choice("game", name, GAMES)
    return GAMES[name]


def payoff(game: Game1D, x, y, gamma: float = 0.96):
    """Both players' rewards ``(r_x, r_y)`` at actions ``x``, ``y`` (broadcasting, jit/grad safe)."""
    if game.kind == "matrix":
        joint = jnp.stack([x * y, x * (1 - y), (1 - x) * y, (1 - x) * (1 - y)], axis=-1)
        r = joint @ game.payoff
        return r[..., 0], r[..., 1]
    if game.kind == "tandem":
        s = x + y
        return -s * s + 2 * x, -s * s + 2 * y
    if game.kind == "impossible_market":
        inter = x * y + y**4 / (4 * (1 + x * x)) - x**4 / (4 * (1 + y * y))
        return -(x**6 / 6 - x * x / 2 + inter), -(y**6 / 6 - y * y / 2 - inter)
    if game.kind == "ultimatum":
        return 5 * x + 8 * (1 - x) * y, 5 * x + 2 * (1 - x) * y
    if game.kind == "ipd_tft_alld":
        return _ipd_mix(game, x, y, gamma)
    raise ValueError(f"game.kind must be one of {KINDS}, got {game.kind!r}")


def _ipd_mix(game: Game1D, x, y, gamma):
    """Normalised IPD value when each player plays TFT with weight x (y), else AllD (own perspective)."""
    mg = MatrixGame(r1=game.payoff[:, 0], r2=game.payoff[:, 1], name="ipd")
    tft, alld = STRATEGIES["tft"], STRATEGIES["alld"]

    def one(a, b):
        return jnp.stack(
            exact_value_probs(a * tft + (1 - a) * alld, b * tft + (1 - b) * alld, mg, gamma)
        )

    x, y = jnp.broadcast_arrays(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    flat = jax.vmap(one)(x.reshape(-1), y.reshape(-1))
    return flat[:, 0].reshape(x.shape), flat[:, 1].reshape(x.shape)


def values(game: Game1D, u_self, u_other, seat: int = 0):
    """``(r_self, r_other)`` from raw parameters, for the player in ``seat`` (0 = x, 1 = y)."""
    act = ACTIVATIONS[game.act]
    a, b = act(u_self), act(u_other)
    if seat == 0:
        return payoff(game, a, b)
    r_other, r_self = payoff(game, b, a)
    return r_self, r_other


# --------------------------------------------------------------------------------------------------
# Welfare functions
# --------------------------------------------------------------------------------------------------

WELFARES: dict[str, Callable] = {
    "greedy": lambda vs, vo: vs,
    "selfless": lambda vs, vo: vo,
    "self_destructive": lambda vs, vo: -vs,
    "malicious": lambda vs, vo: -vo,
    "egalitarian": lambda vs, vo: jnp.minimum(vs, vo),
    "utilitarian": lambda vs, vo: 0.5 * (vs + vo),
    "fairness": lambda vs, vo: -0.5 * jnp.abs(vs - vo),
}


def welfare(name: str, v_self, v_other):
    """The welfare ``name`` of the two values (from the point of view of the player who owns it)."""
    check_choice("welfare", name, WELFARES)
    return WELFARES[name](v_self, v_other)


def _welfare_by_index(names: tuple[str, ...], idx, v_self, v_other):
    """Welfare ``names[idx]`` with a traced ``idx`` (all are computed, one is selected)."""
    if len(names) == 1:
        return WELFARES[names[0]](v_self, v_other)
    return jnp.stack([WELFARES[n](v_self, v_other) for n in names])[idx]


# --------------------------------------------------------------------------------------------------
# Best responses, Stackelberg and welfare equilibria on a grid
# --------------------------------------------------------------------------------------------------


class GridGame(NamedTuple):
    """Both payoffs on an ``n x n`` grid of actions: ``rx[i, j] = r_x(xs[i], ys[j])``; best responses."""

    xs: jax.Array  # f32[n] actions of x (and of y: the same grid)
    rx: jax.Array  # f32[n, n]
    ry: jax.Array  # f32[n, n]
    br_y: jax.Array  # i32[n]: index of y's best response to each xs[i]
    br_x: jax.Array  # i32[n]: index of x's best response to each ys[j]


class WelfareEquilibrium(NamedTuple):
    """x* leads with welfare w_x, y* leads with w_y; the profile (x*, y*) and how far it is from Nash."""

    x: jax.Array
    y: jax.Array
    vx: jax.Array  # r_x(x*, y*)
    vy: jax.Array  # r_y(x*, y*)
    lead_x: jax.Array  # f32[2]: (r_x, r_y) when x plays x* and y best-responds
    lead_y: jax.Array  # f32[2]: (r_x, r_y) when y plays y* and x best-responds
    regret_x: jax.Array  # max_x' r_x(x', y*) - r_x(x*, y*) >= 0
    regret_y: jax.Array


@partial(jax.jit, static_argnames=("n",))
def grid_game(game: Game1D, n: int = 2001) -> GridGame:
    """Payoffs of both players on ``n`` evenly spaced actions in ``[game.lo, game.hi]`` (jitted)."""
    xs = jnp.linspace(game.lo, game.hi, n)
    rx, ry = payoff(game, xs[:, None], xs[None, :])
    return GridGame(xs=xs, rx=rx, ry=ry, br_y=jnp.argmax(ry, axis=1), br_x=jnp.argmax(rx, axis=0))


def best_response(game: Game1D, other_action, seat: int = 1, n: int = 2001) -> jax.Array:
    """The grid best response of the player in ``seat`` to the other player's ``other_action``."""
    check_choice("seat", seat, (0, 1))
    xs = jnp.linspace(game.lo, game.hi, n)
    if seat == 1:
        return xs[jnp.argmax(payoff(game, other_action, xs)[1])]
    return xs[jnp.argmax(payoff(game, xs, other_action)[0])]


@partial(jax.jit, static_argnames=("welfare_x", "welfare_y"))
def _we_from_grid(g: GridGame, welfare_x: str, welfare_y: str) -> WelfareEquilibrium:
    n = g.xs.shape[0]
    idx = jnp.arange(n)
    # x leads: y answers each xs[i] with br_y[i]; x maximises its welfare of the two values there
    wx = WELFARES[welfare_x](g.rx[idx, g.br_y], g.ry[idx, g.br_y])
    ix = jnp.argmax(wx)
    wy = WELFARES[welfare_y](g.ry[g.br_x, idx], g.rx[g.br_x, idx])
    iy = jnp.argmax(wy)
    return WelfareEquilibrium(
        x=g.xs[ix],
        y=g.xs[iy],
        vx=g.rx[ix, iy],
        vy=g.ry[ix, iy],
        lead_x=jnp.stack([g.rx[ix, g.br_y[ix]], g.ry[ix, g.br_y[ix]]]),
        lead_y=jnp.stack([g.rx[g.br_x[iy], iy], g.ry[g.br_x[iy], iy]]),
        regret_x=jnp.max(g.rx[:, iy]) - g.rx[ix, iy],
        regret_y=jnp.max(g.ry[ix, :]) - g.ry[ix, iy],
    )


def default_grid(game: Game1D) -> int:
    """Grid size for the solvers: 2001 actions, 401 for the IPD mixture (a 4x4 solve per grid point)."""
    return 401 if game.kind == "ipd_tft_alld" else 2001


def welfare_equilibrium(
    game: Game1D, welfare_x: str = "greedy", welfare_y: str | None = None, n: int | None = None
) -> WelfareEquilibrium:
    """The grid welfare equilibrium: x* = argmax_x w_x(V_x(x, BR_y(x)), V_y(x, BR_y(x))), y* likewise.

    ``welfare_y`` defaults to ``welfare_x``; greedy welfare gives both players' Stackelberg strategies.
    Ties go to the lowest grid index (``argmax``), exactly as on the reference's grid.
    """
    welfare_y = welfare_x if welfare_y is None else welfare_y
    n = default_grid(game) if n is None else n
    check_choice("welfare_x", welfare_x, WELFARES)
    check_choice("welfare_y", welfare_y, WELFARES)
    check_int(_Named(n=n), "n", lo=2)
    return _we_from_grid(grid_game(game, n), welfare_x, welfare_y)


def stackelberg(game: Game1D, n: int | None = None) -> WelfareEquilibrium:
    """Both players' Stackelberg leader strategies played together (the greedy welfare equilibrium)."""
    return welfare_equilibrium(game, "greedy", "greedy", n)


def payoff_scale(game: Game1D, n: int = 201) -> float:
    """max - min of all payoffs on a grid: the unit for 'is this regret small?'."""
    g = grid_game(game, n)
    return float(
        jnp.maximum(jnp.max(jnp.stack([g.rx, g.ry])) - jnp.min(jnp.stack([g.rx, g.ry])), 1e-6)
    )


def is_coincidental(game: Game1D, n: int | None = None, rel_tol: float = 0.01) -> bool:
    """True if the leader-leader (Stackelberg) profile is a Nash equilibrium on the grid.

    'Nash' up to ``rel_tol`` times the game's payoff range: a grid can put a leader a step away from a
    mixed point (regret of order one grid step), while a non-coincidental game's regret is of the order
    of its payoffs (Chicken: 99 out of 101).
    """
    check_float(_Named(rel_tol=rel_tol), "rel_tol", lo=0.0)
    eq = stackelberg(game, n)
    tol = rel_tol * payoff_scale(game)
    return bool(max(float(eq.regret_x), float(eq.regret_y)) <= tol)


@dataclasses.dataclass(frozen=True)
class _Named:
    """Lets the config checks name a plain function argument in their error message."""

    n: int = 2
    rel_tol: float = 0.0


# --------------------------------------------------------------------------------------------------
# Learners: naive, exact LOLA (with a welfare), look-ahead, SaGa, SaSa
# --------------------------------------------------------------------------------------------------

LEARNERS = ("naive", "lola", "lookahead", "saga", "sasa", "welfuse")
# naive, exact LOLA and WelFuSe are one learner, welfare-LOLA, with different data: naive = look-ahead
# eta 0 and greedy welfare (a test checks it equals the naive gradient), LOLA = one fixed welfare,
# WelFuSe = several candidate welfares re-chosen each episode. So any pairing of them shares one
# compiled program and can be vmapped over pairings.
FAMILY = ("naive", "lola", "welfuse")


class Hyper(NamedTuple):
    """Per-player hyperparameters, traced (changing them does not recompile); index 0 = seat x."""

    lr: jax.Array  # f32[2]
    eta: jax.Array  # f32[2] look-ahead step (0 = naive)
    allowed: jax.Array  # bool[2, K] welfares a player may use (one-hot = a fixed welfare)


def lookahead_direction(v_self_fn, v_other_fn, a, b, eta):
    """Look-ahead: the opponent's naive step is taken but not differentiated through (detached)."""
    b_new = b + eta * jax.lax.stop_gradient(jax.grad(v_other_fn, argnums=1)(a, b))
    return jax.grad(v_self_fn)(a, b_new)


def saga_direction(key, game: Game1D, a, b, seat: int, num: int, std: float):
    """SaGa: sample ``num`` opponent actions around ``b``, take the one best for the opponent, and ascend
    the own reward against it."""
    bs = b + std * jax.random.normal(key, (num,))
    r_other = jax.vmap(lambda bb: values(game, a, bb, seat)[1])(bs)
    b_best = bs[jnp.argmax(r_other)]
    return jax.grad(lambda aa: values(game, aa, b_best, seat)[0])(a)


def sasa_direction(key, game: Game1D, a, b, seat: int, num: int, std: float):
    """SaSa: ``num`` own x ``num`` opponent samples; for each own sample the opponent's best sample answers;
    return ``a_best - a`` for the own sample that does best against its answer."""
    ka, kb = jax.random.split(key)
    a_s = a + std * jax.random.normal(ka, (num,))
    b_s = b + std * jax.random.normal(kb, (num,))
    r_self, r_other = values(game, a_s[:, None], b_s[None, :], seat)  # [num_a, num_b]
    br = jnp.argmax(r_other, axis=1)
    best = jnp.argmax(r_self[jnp.arange(num), br])
    return a_s[best] - a


def direction(kind: str, key, game, a, b, seat, w_idx, welfares, eta, cfg):
    """The update direction of one player (scalar raw parameters ``a`` own, ``b`` other).

    ``kind`` is ``"family"`` (naive / LOLA / WelFuSe: exact LOLA on welfare ``welfares[w_idx]`` with
    look-ahead ``eta``), ``"lookahead"``, ``"saga"`` or ``"sasa"``.
    """
    r_other = lambda aa, bb: values(game, aa, bb, seat)[1]
    w = lambda aa, bb: _welfare_by_index(welfares, w_idx, *values(game, aa, bb, seat))
    if kind == "family":
        return lola_direction(w, r_other, a, b, eta, "exact")
    if kind == "lookahead":
        return lookahead_direction(w, r_other, a, b, eta)
    if kind == "saga":
        return saga_direction(key, game, a, b, seat, cfg.saga_samples, cfg.saga_std)
    if kind == "sasa":
        return sasa_direction(key, game, a, b, seat, cfg.sasa_samples, cfg.sasa_std)
    raise ValueError(f"kind must be family, lookahead, saga or sasa, got {kind!r}")


def learner_kind(learner: str) -> str:
    check_choice("learner", learner, LEARNERS)
    return "family" if learner in FAMILY else learner


# --------------------------------------------------------------------------------------------------
# WelFuSe's welfare selection
# --------------------------------------------------------------------------------------------------


def reselect(key, welfare_idx, episode_reward, active):
    """Bootstrap (Thompson-style) choice of each run's welfare for the next episode.

    ``welfare_idx``: i32[B] the welfare each run used; ``episode_reward``: f32[B] its mean own reward;
    ``active``: bool[K] welfares still in play. A welfare no run used is pruned for good. For each
    welfare, each run draws one reward uniformly from the runs that used it; the run then takes the
    welfare with the largest draw. Returns ``(new_idx i32[B], new_active bool[K])``.
    """
    k_num = active.shape[0]
    b = welfare_idx.shape[0]
    used = jnp.stack([jnp.any(welfare_idx == k) for k in range(k_num)])
    active = active & used
    keys = jax.random.split(key, k_num)

    def draws(k, kk):
        logits = jnp.where(welfare_idx == k, 0.0, -jnp.inf)
        pick = jax.random.categorical(kk, logits, shape=(b,))
        return jnp.where(active[k], episode_reward[pick], -jnp.inf)

    samples = jnp.stack([draws(k, keys[k]) for k in range(k_num)])  # [K, B]
    return jnp.argmax(samples, axis=0).astype(jnp.int32), active


# --------------------------------------------------------------------------------------------------
# Config and make_train
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WelFuSeConfig(Config):
    """One pairing ``learner1`` (seat x) vs ``learner2`` (seat y) in ``game``: ``n_runs`` independent runs,
    ``n_episodes`` episodes of ``n_steps`` simultaneous updates; raw actions redrawn from
    ``N(0, init_std^2)`` at each episode start. Defaults: the reference's Fig. 4 (Chicken, sigmoid)."""

    PRESETS: ClassVar[dict] = {
        "tiny": dict(n_runs=4, n_steps=20, n_episodes=2),  # smoke test
        # Fig. 4 is small enough to run at its own size on a CPU: book = the reference's sizes.
        "book": dict(n_runs=100, n_steps=1000, n_episodes=3),
        "paper": dict(n_runs=100, n_steps=1000, n_episodes=3),
    }
    game: str = "chicken"
    learner1: str = "welfuse"
    learner2: str = "welfuse"
    n_runs: int = 100
    n_steps: int = 1000
    n_episodes: int = 3
    lr: float = 0.1
    eta: float = 25.0  # exact LOLA's look-ahead step (the reference's inner_lr)
    welfare: str = "greedy"  # what a plain (exact) LOLA / look-ahead learner ascends
    candidates: tuple[str, ...] = ("greedy", "egalitarian", "fairness")
    saga_samples: int = 200
    saga_std: float = 1.0
    sasa_samples: int = 15
    sasa_std: float = 1.0
    init_std: float = 1.0

    def validate(self):
        check_choice("game", self.game, GAMES)
        check_choice("learner1", self.learner1, LEARNERS)
        check_choice("learner2", self.learner2, LEARNERS)
        check_choice("welfare", self.welfare, WELFARES)
        check_int(self, "n_runs", "n_steps", "n_episodes", "saga_samples", "sasa_samples", lo=1)
        check_float(self, "lr", lo=0.0, lo_open=True)
        check_float(self, "eta", "saga_std", "sasa_std", "init_std", lo=0.0)
        if not isinstance(self.candidates, tuple) or not self.candidates:
            raise ValueError(f"candidates must be a non-empty tuple of {sorted(WELFARES)}")
        for c in self.candidates:
            check_choice("candidates", c, WELFARES)


class Episode(NamedTuple):
    """Per-episode record of one pairing (leading axes [E, ...] after the scan over episodes)."""

    rewards: jax.Array  # f32[T, B, 2] per step, both players, before each update
    actions: jax.Array  # f32[T, B, 2] actions act(u)
    welfare: jax.Array  # i32[B, 2] index into ``welfare_names`` each player used in the episode
    counts: jax.Array  # i32[2, K] runs per welfare, per player


@struct.dataclass
class TrainOutput:
    episodes: Episode  # leaves [E, ...]
    welfare_names: tuple = struct.field(pytree_node=False, default=())  # what the indices mean


class _Carry(NamedTuple):
    key: jax.Array
    welfare: jax.Array  # i32[B, 2]
    active: jax.Array  # bool[2, K]
    last_reward: jax.Array  # f32[B, 2] previous episode's mean own reward


def welfare_names(cfg: WelFuSeConfig) -> tuple[str, ...]:
    """The welfare list every index refers to: the candidates, then greedy and ``cfg.welfare`` if new."""
    names = tuple(cfg.candidates)
    for extra in ("greedy", cfg.welfare):
        if extra not in names:
            names = names + (extra,)
    return names


def player_hyper(cfg: WelFuSeConfig, learner: str) -> tuple[float, np.ndarray]:
    """(eta, allowed welfares) of one learner: naive = (0, greedy), LOLA = (eta, cfg.welfare),
    WelFuSe = (eta, the candidates); look-ahead / SaGa / SaSa use (eta, cfg.welfare)."""
    check_choice("learner", learner, LEARNERS)
    names = welfare_names(cfg)
    one_hot = lambda n: np.array([m == n for m in names])
    if learner == "naive":
        return 0.0, one_hot("greedy")
    if learner == "welfuse":
        return cfg.eta, np.array([m in cfg.candidates for m in names])
    return cfg.eta, one_hot(cfg.welfare)


def pairing_hyper(cfg: WelFuSeConfig, learner1: str, learner2: str) -> Hyper:
    """The ``Hyper`` of a pairing (feed it to ``make_train_hyper(cfg)``'s ``train``)."""
    (e1, a1), (e2, a2) = player_hyper(cfg, learner1), player_hyper(cfg, learner2)
    return Hyper(
        lr=jnp.full((2,), cfg.lr, jnp.float32),
        eta=jnp.array([e1, e2], jnp.float32),
        allowed=jnp.asarray(np.stack([a1, a2])),
    )


def _choose(carry: _Carry, first, allowed, b: int):
    """Each player's welfare per run: uniform over ``allowed`` in the first episode, then ``reselect``."""
    key, *ks = jax.random.split(carry.key, 5)
    new_w, new_active = [], []
    for p in (0, 1):
        w0 = jax.random.categorical(ks[p], jnp.where(allowed[p], 0.0, -jnp.inf), shape=(b,))
        w1, a1 = reselect(ks[2 + p], carry.welfare[:, p], carry.last_reward[:, p], carry.active[p])
        new_w.append(jnp.where(first, w0, w1).astype(jnp.int32))
        new_active.append(jnp.where(first, allowed[p], a1))
    return key, jnp.stack(new_w, axis=1), jnp.stack(new_active)


def make_train_hyper(cfg: WelFuSeConfig):
    """``train(key, hyper) -> TrainOutput``; ``hyper`` (``pairing_hyper``) is traced, so naive / LOLA /
    WelFuSe pairings share one compile when both learners are in ``FAMILY``."""
    game = get_game(cfg.game)
    kinds = (learner_kind(cfg.learner1), learner_kind(cfg.learner2))
    names = welfare_names(cfg)
    b = cfg.n_runs

    def one_run(hyper, u1, u2, k1, k2, w):
        """Simultaneous update of one run; rewards and actions recorded before it."""
        d1 = direction(kinds[0], k1, game, u1, u2, 0, w[0], names, hyper.eta[0], cfg)
        d2 = direction(kinds[1], k2, game, u2, u1, 1, w[1], names, hyper.eta[1], cfg)
        r = jnp.stack(values(game, u1, u2, 0))
        a = ACTIVATIONS[game.act](jnp.stack([u1, u2]))
        return u1 + hyper.lr[0] * d1, u2 + hyper.lr[1] * d2, r, a

    def episode(hyper, carry: _Carry, first):
        key, w, active = _choose(carry, first, hyper.allowed, b)
        key, k_init, k_steps = jax.random.split(key, 3)
        u0 = cfg.init_std * jax.random.normal(k_init, (2, b))

        def body(u, k):
            ks = jax.random.split(k, 2 * b).reshape(2, b)
            u1, u2, r, a = jax.vmap(partial(one_run, hyper))(u[0], u[1], ks[0], ks[1], w)
            return jnp.stack([u1, u2]), (r, a)

        _, (r, a) = jax.lax.scan(body, u0, jax.random.split(k_steps, cfg.n_steps))
        counts = (w.T[:, :, None] == jnp.arange(len(names))).sum(axis=1)  # [2, K]
        ep = Episode(rewards=r, actions=a, welfare=w, counts=counts)
        return _Carry(key, w, active, r.mean(axis=0)), ep

    def train(key, hyper: Hyper) -> TrainOutput:
        carry = _Carry(
            key=key,
            welfare=jnp.zeros((b, 2), jnp.int32),
            active=jnp.asarray(hyper.allowed, bool),
            last_reward=jnp.zeros((b, 2)),
        )
        firsts = jnp.arange(cfg.n_episodes) == 0
        _, eps = jax.lax.scan(lambda c, f: episode(hyper, c, f), carry, firsts)
        return TrainOutput(episodes=eps, welfare_names=names)

    return train


def make_train(cfg: WelFuSeConfig):
    """``train(key) -> TrainOutput`` for ``cfg.learner1`` vs ``cfg.learner2``
    (``jax.jit(jax.vmap(train))(keys)`` runs many seeds at once)."""
    inner = make_train_hyper(cfg)
    hyper = pairing_hyper(cfg, cfg.learner1, cfg.learner2)
    return lambda key: inner(key, hyper)


def run_pairings(cfg: WelFuSeConfig, key, pairings, n_seeds: int = 1) -> dict:
    """Every (learner1, learner2) pairing of ``FAMILY`` for ``n_seeds`` seeds, in one compiled program
    (vmapped over pairings and seeds). Seed ``s`` uses ``fold_in(key, s)`` for every pairing (common
    random numbers). Returns ``{(l1, l2): TrainOutput}`` with leaves ``[n_seeds, E, ...]``."""
    for l1, l2 in pairings:
        if l1 not in FAMILY or l2 not in FAMILY:
            raise ValueError(f"run_pairings takes learners in {FAMILY}, got {(l1, l2)}")
    check_int(_Named(n=n_seeds), "n", lo=1)
    base = cfg.replace(learner1="welfuse", learner2="welfuse")
    hypers = jax.tree.map(lambda *h: jnp.stack(h), *[pairing_hyper(cfg, *p) for p in pairings])
    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(n_seeds))
    train = make_train_hyper(base)
    run = jax.jit(jax.vmap(jax.vmap(train, in_axes=(0, None)), in_axes=(None, 0)))
    out = check_finite(run(keys, hypers))
    return {tuple(p): jax.tree.map(lambda x, i=i: x[i], out) for i, p in enumerate(pairings)}


def check_finite(out: TrainOutput) -> TrainOutput:
    """Raise ``ValueError`` if a run diverged (NaN or inf in rewards or actions); returns ``out``."""
    for field in ("rewards", "actions"):
        if not bool(jnp.all(jnp.isfinite(getattr(out.episodes, field)))):
            raise ValueError(f"training diverged: non-finite {field} (lower lr or eta)")
    return out


def final_reward(out: TrainOutput, last: int = 100) -> np.ndarray:
    """Mean reward of both players over the last ``last`` steps of the last episode: f32[..., 2]."""
    r = np.asarray(out.episodes.rewards)  # [..., E, T, B, 2]
    return r[..., -1, -last:, :, :].mean(axis=(-3, -2))


def episode_means(out: TrainOutput) -> np.ndarray:
    """Mean reward per episode for both players: f32[..., E, 2]."""
    return np.asarray(out.episodes.rewards).mean(axis=(-3, -2))
