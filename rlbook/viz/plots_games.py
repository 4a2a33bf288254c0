"""Figure helpers for Chapter 1 (matrix games, memory-one policies, NL and LOLA dynamics).

Each ``plot_*`` draws on a given matplotlib ``Axes`` and returns it. The learning dynamics they draw
(``memoryless_trajectories``, ``memoryless_field``) live in ``rlbook.learners.naive``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rlbook.games.matrix import STATE_NAMES, MatrixGame
from rlbook.learners.naive import memoryless_field, memoryless_trajectories  # noqa: F401 (re-export)

# ----------------------------------------------------------------------------- plots


def plot_payoff_table(ax, game: MatrixGame, title: str | None = None):
    """The bimatrix as a table: rows = player 1's action, columns = player 2's, cells 'r1, r2'."""
    r1 = np.asarray(game.r1).reshape(2, 2)
    r2 = np.asarray(game.r2).reshape(2, 2)
    ax.imshow(r1, cmap="RdYlGn", alpha=0.6)
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{r1[i, j]:g}, {r2[i, j]:g}", ha="center", va="center", fontsize=11)
    ax.set_xticks([0, 1], ["C", "D"])
    ax.set_yticks([0, 1], ["C", "D"])
    ax.set_xlabel("player 2's action")
    ax.set_ylabel("player 1's action")
    ax.grid(False)
    ax.set_title(title or game.name)
    return ax


def plot_visitation(ax, visitation, gamma=0.96, label=None):
    """Bars of the normalised discounted visitation (1 - gamma) M over [CC, CD, DC, DD]."""
    m = (1 - gamma) * np.asarray(visitation)
    ax.bar(STATE_NAMES, m, label=label, alpha=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("joint state (player 1 first)")
    ax.set_ylabel("discounted frequency")
    return ax


def plot_reward_curves(ax, res, label: str, player: int = 0, color=None):
    """Mean over runs (line) and 10-90 % band of a player's average per-step reward vs update step."""
    v = np.asarray(res.value[..., player])  # [B, T + 1]
    t = np.arange(v.shape[1])
    (line,) = ax.plot(t, v.mean(0), label=label, color=color)
    lo, hi = np.percentile(v, [10, 90], axis=0)
    ax.fill_between(t, lo, hi, alpha=0.2, color=line.get_color())
    ax.set_xlabel("learning step")
    ax.set_ylabel("average reward per round")
    return ax


def plot_p_cooperate(ax, res, player: int = 0, n_show: int = 20, color=None, label=None):
    """Per-run discounted frequency of cooperation vs learning step (thin lines) and the mean."""
    pc = np.asarray(res.p_coop[..., player])
    t = np.arange(pc.shape[1])
    ax.plot(t, pc[:n_show].T, lw=0.6, alpha=0.4, color=color or "C0")
    ax.plot(t, pc.mean(0), lw=2.0, color=color or "C0", label=label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("learning step")
    ax.set_ylabel("P(cooperate)")
    return ax


def plot_phase_portrait(
    ax,
    game: MatrixGame,
    learner1="nl",
    learner2="nl",
    *,
    starts=((0.8, 0.6), (0.3, 0.2)),
    n_steps=300,
    lr=0.01,
    eta=1.0,
    gamma=0.96,
    n_grid=15,
):
    """Vector field of a learning rule over (P1(C), P2(C)) with trajectories from ``starts``."""
    p1, p2, d1, d2 = memoryless_field(
        game, learner1, learner2, n_grid=n_grid, gamma=gamma, lr=lr, eta=eta
    )
    speed = np.hypot(np.asarray(d1), np.asarray(d2)) + 1e-12
    ax.quiver(p1, p2, d1 / speed, d2 / speed, speed, cmap="viridis", alpha=0.7, angles="xy")
    traj = np.asarray(
        memoryless_trajectories(
            np.asarray(starts),
            game,
            learner1,
            learner2,
            n_steps=n_steps,
            gamma=gamma,
            lr=lr,
            eta=eta,
        )
    )
    for k, tr in enumerate(traj):
        ax.plot(tr[:, 0], tr[:, 1], color=f"C{k + 1}", lw=1.5)
        ax.plot(tr[0, 0], tr[0, 1], "o", color=f"C{k + 1}")
        ax.plot(tr[-1, 0], tr[-1, 1], "s", color=f"C{k + 1}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("player 1: P(C)")
    ax.set_ylabel("player 2: P(C)")
    ax.set_title(f"{game.name}: {learner1.upper()} vs {learner2.upper()}")
    return traj


def dynamics_figure(res, title: str = ""):
    """Two panels: both players' P(cooperate) and average reward per round vs learning step."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    plot_p_cooperate(axes[0], res, 0, color="C0", label="player 1")
    plot_p_cooperate(axes[0], res, 1, color="C1", label="player 2")
    axes[0].legend(loc="best")
    plot_reward_curves(axes[1], res, "player 1", 0, color="C0")
    plot_reward_curves(axes[1], res, "player 2", 1, color="C1")
    axes[1].legend(loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
