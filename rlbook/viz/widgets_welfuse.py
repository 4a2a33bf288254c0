"""Chapter 5 figures and widgets: equilibria of a 2x2 game, welfare contours, LOLA's look-ahead in Chicken.

* ``equilibria_2x2`` / ``make_equilibria_explorer``: edit both players' 2x2 payoff tables -> Nash
  equilibria, both Stackelberg leaders, welfare equilibria and the coincidental verdict, drawn on the
  strategy square (best-response curves) and on the payoff plane.
* ``plot_welfare_contours``: the payoff plane of a game with each welfare's contours, the outcomes a
  leader can reach against a best-responding follower, and the welfare equilibrium.
* ``lola_chicken_selfplay`` / ``make_lookahead_explorer``: exact-LOLA self-play in sigmoid Chicken for a
  chosen look-ahead eta (traced: one compile for every slider value).
"""

from __future__ import annotations

import functools

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from rlbook.games.matrix import make_game, nash_equilibria_2x2
from rlbook.shaping.welfuse import (
    Game1D,
    WelFuSeConfig,
    grid_game,
    is_coincidental,
    make_train_hyper,
    matrix_game_1d,
    pairing_hyper,
    payoff,
    welfare_equilibrium,
)

WE_WELFARES = ("greedy", "egalitarian", "utilitarian", "fairness")
COLOURS = {"greedy": "C3", "egalitarian": "C2", "utilitarian": "C0", "fairness": "C4"}
MARKERS = {"greedy": "X", "egalitarian": "P", "utilitarian": "D", "fairness": "v"}
CHICKEN = ((0.0, -1.0, 1.0, -100.0), (0.0, 1.0, -1.0, -100.0))


def equilibria_2x2(r_x=CHICKEN[0], r_y=CHICKEN[1], n: int = 1001) -> dict:
    """Equilibria of the 2x2 game with payoffs ``r_x``, ``r_y`` over [CC, CD, DC, DD] (x's action first).

    Actions are P(action 0). Returns plain floats: ``nash`` (list of (p_x, p_y)), and for each welfare
    of ``WE_WELFARES`` the profile where both lead with it (``greedy`` = both Stackelberg leaders), its
    values, and whether the game is coincidental (leader-leader profile is Nash).
    """
    game = matrix_game_1d(r_x, r_y, "custom")
    out = {
        "nash": [
            (float(p), float(q)) for p, q in nash_equilibria_2x2(make_game(r_x, r_y, "custom"))
        ]
    }
    for w in WE_WELFARES:
        eq = welfare_equilibrium(game, w, n=n)
        out[w] = {
            "x": float(eq.x),
            "y": float(eq.y),
            "vx": float(eq.vx),
            "vy": float(eq.vy),
            "lead_x": [float(v) for v in eq.lead_x],
        }
    out["coincidental"] = is_coincidental(game, n=n)
    return out


def _feasible(game: Game1D, n: int = 41):
    p = jnp.linspace(0.0, 1.0, n)
    rx, ry = payoff(game, p[:, None], p[None, :])
    return np.asarray(rx).ravel(), np.asarray(ry).ravel()


def plot_equilibria(result: dict, r_x, r_y, axes=None, n: int = 201):
    """Left: strategy square with both best-response curves and the equilibria; right: payoff plane."""
    game = matrix_game_1d(r_x, r_y, "custom")
    g = grid_game(game, n)
    xs = np.asarray(g.xs)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.0, 3.8))
    ax, bx = axes
    ax.plot(xs, xs[np.asarray(g.br_y)], color="0.3", lw=1.5, label="y's best response to x")
    ax.plot(
        xs[np.asarray(g.br_x)], xs, color="0.6", lw=1.5, ls="--", label="x's best response to y"
    )
    fx, fy = _feasible(game)
    bx.scatter(fx, fy, s=3, color="0.8", label="reachable (p_x, p_y)")
    for p, q in result["nash"]:
        ax.plot(p, q, "ko", ms=9, mfc="none", mew=2)
        vx, vy = payoff(game, p, q)
        bx.plot(float(vx), float(vy), "ko", ms=9, mfc="none", mew=2)
    ax.plot([], [], "ko", mfc="none", mew=2, label="Nash")
    for i, w in enumerate(WE_WELFARES):
        e = result[w]
        label = "Stackelberg (both lead)" if w == "greedy" else f"{w} WE"
        style = dict(color=COLOURS[w], marker=MARKERS[w], ls="none", ms=13 - 2 * i, alpha=0.8)
        ax.plot(e["x"], e["y"], label=label, **style)
        bx.plot(e["vx"], e["vy"], **style)
    ax.set(xlabel="x's P(action 0)", ylabel="y's P(action 0)", xlim=(-0.05, 1.05))
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    bx.set(xlabel="x's reward per step", ylabel="y's reward per step")
    verdict = "coincidental" if result["coincidental"] else "NON-coincidental"
    bx.set_title(f"payoff plane ({verdict})")
    ax.set_title("strategy square")
    return axes


def make_equilibria_explorer() -> widgets.interactive:
    """Eight payoff boxes (start: Chicken) -> ``equilibria_2x2`` and its figure."""

    def show(
        x_CC=0.0, x_CD=-1.0, x_DC=1.0, x_DD=-100.0, y_CC=0.0, y_CD=1.0, y_DC=-1.0, y_DD=-100.0
    ):
        r_x, r_y = (x_CC, x_CD, x_DC, x_DD), (y_CC, y_CD, y_DC, y_DD)
        res = equilibria_2x2(r_x, r_y, n=501)
        fig, axes = plt.subplots(1, 2, figsize=(10.0, 3.8), gridspec_kw={"wspace": 0.8})
        plot_equilibria(res, r_x, r_y, axes)
        plt.show()
        return res

    boxes = {
        k: widgets.FloatText(value=v, description=k, layout=widgets.Layout(width="150px"))
        for k, v in zip(
            ("x_CC", "x_CD", "x_DC", "x_DD", "y_CC", "y_CD", "y_DC", "y_DD"),
            CHICKEN[0] + CHICKEN[1],
            strict=True,
        )
    }
    return widgets.interactive(show, **boxes)


def leader_curve(game: Game1D, welfare_name: str, n: int = 1001):
    """For each leader action p (x leads): the follower's best response and both values there."""
    g = grid_game(game, n)
    idx = np.arange(n)
    br = np.asarray(g.br_y)
    return np.asarray(g.xs), np.asarray(g.rx)[idx, br], np.asarray(g.ry)[idx, br]


def plot_welfare_contours(game: Game1D, welfares=WE_WELFARES, n: int = 1001):
    """Payoff plane with each welfare's contours, the leader's reachable outcomes and the WE marked."""
    from rlbook.shaping.welfuse import WELFARES

    fx, fy = _feasible(game)
    _, vx, vy = leader_curve(game, "greedy", n)
    lo = min(fx.min(), fy.min()) - 2
    hi = max(fx.max(), fy.max()) + 2
    grid = np.linspace(lo, hi, 200)
    gx, gy = np.meshgrid(grid, grid)
    fig, axes = plt.subplots(1, len(welfares), figsize=(3.0 * len(welfares), 3.2), sharey=True)
    for ax, w in zip(axes, welfares, strict=True):
        ax.contour(
            gx, gy, np.asarray(WELFARES[w](gx, gy)), levels=12, cmap="viridis", linewidths=0.7
        )
        ax.scatter(fx, fy, s=2, color="0.8")
        ax.plot(vx, vy, ".", color="C1", ms=3, label="x leads, y best-responds")
        eq = welfare_equilibrium(game, w, n=n)
        ax.plot(
            *[float(v) for v in eq.lead_x],
            "*",
            color=COLOURS.get(w, "k"),
            ms=14,
            label="x's WE lead",
        )
        ax.plot(float(eq.vx), float(eq.vy), "X", color="k", ms=9, label="both lead")
        ax.set(title=f"{w}", xlabel="x's reward per step")
    axes[0].set_ylabel("y's reward per step")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"welfare contours on the payoff plane of {game.name}", y=1.02)
    fig.tight_layout()
    return fig


@functools.lru_cache(maxsize=4)
def _selfplay_fn(n_runs: int, n_steps: int):
    cfg = WelFuSeConfig(
        learner1="lola", learner2="lola", n_runs=n_runs, n_steps=n_steps, n_episodes=1
    )
    return cfg, jax.jit(make_train_hyper(cfg))


def lola_chicken_selfplay(
    eta: float = 25.0, n_runs: int = 64, n_steps: int = 300, seed: int = 0
) -> dict:
    """Greedy exact-LOLA self-play in sigmoid Chicken with look-ahead ``eta`` (lr 0.1).

    Returns the mean reward at the last step (over runs and both players), the fraction of runs where both end going straight
    (P(swerve) < 0.5 each: a crash), and each run's final P(swerve) for both players.
    """
    if not 0.0 <= float(eta) <= 100.0:
        raise ValueError(f"eta must lie in [0, 100], got {eta}")
    cfg, train = _selfplay_fn(int(n_runs), int(n_steps))
    hyper = pairing_hyper(cfg, "lola", "lola")._replace(eta=jnp.full((2,), eta, jnp.float32))
    out = train(jax.random.key(int(seed)), hyper)
    r = np.asarray(out.episodes.rewards)[0]  # [T, B, 2]
    p = np.asarray(out.episodes.actions)[0, -1]  # [B, 2]
    return {
        "eta": float(eta),
        "final_reward": float(r[-1].mean()),
        "crash_fraction": float(np.mean((p[:, 0] < 0.5) & (p[:, 1] < 0.5))),
        "p_swerve": p,
        "reward_curve": r.mean(axis=(1, 2)),
    }


def plot_selfplay(res: dict, ax=None):
    """Final P(swerve) of both players, one dot per run."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.2))
    ax.scatter(res["p_swerve"][:, 0], res["p_swerve"][:, 1], s=14, alpha=0.6)
    ax.set(xlim=(-0.05, 1.05), ylim=(-0.05, 1.05), xlabel="x's P(swerve)", ylabel="y's P(swerve)")
    ax.set_title(
        f"η={res['eta']:g}: crash {res['crash_fraction']:.0%}, r={res['final_reward']:.3g}"
    )
    return ax


def make_lookahead_explorer() -> widgets.interactive:
    def show(eta=0.0):
        res = lola_chicken_selfplay(eta)
        plot_selfplay(res)
        plt.show()
        return {k: res[k] for k in ("eta", "final_reward", "crash_fraction")}

    return widgets.interactive(
        show,
        eta=widgets.FloatSlider(
            value=0.0, min=0.0, max=25.0, step=0.5, description="η", continuous_update=False
        ),
    )
