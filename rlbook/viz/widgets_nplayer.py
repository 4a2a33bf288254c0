"""Chapter 6 widgets: pure functions (tested without a frontend) plus thin ipywidgets builders.

* ``table_summary`` / ``make_table_explorer``: game and N -> payoff table, (weakly) dominant action,
  welfare of all-C vs all-D and of every fixed number of defectors;
* ``welfare_vs_n`` / ``make_welfare_explorer``: a learner mix (NL-only, one LOLA, all LOLA) -> welfare
  bars over N from live exact-game runs (the ES shaper is too slow to train inside a callback: its
  bars come from the stored experiment, ``stored_welfare``).
"""

from __future__ import annotations

import ipywidgets as widgets
import jax
import matplotlib.pyplot as plt
import numpy as np

from rlbook.games.nplayer import (
    GAME_LABELS,
    GAME_NAMES,
    constant_welfare,
    dominant_action,
    make_game,
    payoff_table,
)
from rlbook.learners.nplayer import simulate

LIVE_MIXES = ("nl", "lola", "all_lola")


def table_summary(game: str = "ipd", n: int = 3) -> dict:
    """Payoff table, dominant action and the welfare of every fixed number of defectors."""
    g = make_game(game, int(n))
    welf = [constant_welfare(g, d) for d in range(g.n + 1)]
    return {
        "game": game,
        "n": g.n,
        "table": payoff_table(game, g.n).tolist(),
        "dominant": dominant_action(g),
        "welfare_by_defectors": welf,
        "welfare_all_c": welf[0],
        "welfare_all_d": welf[-1],
        "best_defectors": int(np.argmax(welf)),
    }


def plot_table(summary: dict, ax=None):
    """Two panels: each action's payoff vs the number of defectors, and the welfare bars."""
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    t = np.asarray(summary["table"], dtype=float)
    d = np.arange(len(t))
    ax[0].plot(d[:-1], t[:-1, 0], "o-", label="cooperate")
    ax[0].plot(d[1:], t[1:, 1], "s-", label="defect")
    ax[0].set(xlabel="defectors incl. oneself", ylabel="own payoff per round", xticks=d)
    ax[0].set_title(f"{GAME_LABELS[summary['game']]}, N = {summary['n']}")
    ax[0].legend(fontsize=8)
    colors = ["C2"] + ["C7"] * (len(d) - 2) + ["C3"]
    ax[1].bar(d, summary["welfare_by_defectors"], color=colors)
    ax[1].set(xlabel="defectors (0 = all-C, N = all-D)", ylabel="welfare per round", xticks=d)
    ax[1].set_title(f"dominant action: {summary['dominant']}")
    return ax


def _draw(plot, summary: dict) -> dict:
    """Draw ``summary`` with ``plot`` as the widget's figure; the widget's value is the summary."""
    plot(summary)
    plt.tight_layout()
    plt.show()
    return summary


def make_table_explorer():
    def show(game="ipd", n=3):
        return _draw(plot_table, table_summary(game, n))

    return widgets.interactive(
        show,
        game=widgets.Dropdown(options=list(GAME_NAMES), value="ipd", description="game"),
        n=widgets.IntSlider(value=3, min=2, max=8, description="N", continuous_update=False),
    )


def mix_kinds(mix: str, n: int) -> tuple[str, ...]:
    if mix not in LIVE_MIXES:
        raise ValueError(f"mix must be one of {LIVE_MIXES}, got {mix!r}")
    if mix == "nl":
        return ("nl",) * n
    if mix == "lola":
        return ("lola",) + ("nl",) * (n - 1)
    return ("lola",) * n


def welfare_vs_n(
    game: str = "ipd",
    mix: str = "nl",
    ns=(2, 3, 4),
    seed: int = 0,
    n_runs: int = 16,
    n_steps: int = 50,
) -> dict:
    """Welfare (mean per-step reward over players and learning steps) of ``mix`` at each N, with the
    all-C and all-D welfare for scale. Returns lists aligned with ``ns``."""
    out = {
        "game": game,
        "mix": mix,
        "ns": [int(n) for n in ns],
        "welfare": [],
        "all_c": [],
        "all_d": [],
    }
    for n in out["ns"]:
        g = make_game(game, n)
        res = simulate(
            jax.random.key(int(seed)), g, mix_kinds(mix, n), n_runs=n_runs, n_steps=n_steps
        )
        v = np.asarray(res.value[:, 1:])
        if not np.all(np.isfinite(v)):
            raise ValueError("the dynamics diverged (non-finite values)")
        out["welfare"].append(float(v.mean()))
        out["all_c"].append(constant_welfare(g, 0))
        out["all_d"].append(constant_welfare(g, n))
    return out


def plot_welfare_vs_n(summary: dict, ax=None):
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    ns = np.asarray(summary["ns"])
    ax.bar(ns, summary["welfare"], color="C0", label=summary["mix"])
    ax.plot(ns, summary["all_c"], "^--", color="C2", label="all-C")
    ax.plot(ns, summary["all_d"], "v--", color="C3", label="all-D")
    ax.set(xlabel="number of players N", ylabel="welfare per round", xticks=ns)
    ax.set_title(GAME_LABELS[summary["game"]])
    ax.legend(fontsize=8)
    return ax


def make_welfare_explorer():
    def show(game="ipd", mix="nl", seed=0):
        return _draw(plot_welfare_vs_n, welfare_vs_n(game, mix, seed=seed))

    return widgets.interactive(
        show,
        game=widgets.Dropdown(options=list(GAME_NAMES), value="ipd", description="game"),
        mix=widgets.Dropdown(options=list(LIVE_MIXES), value="nl", description="mix"),
        seed=widgets.IntSlider(value=0, min=0, max=9, description="seed", continuous_update=False),
    )


def stored_welfare(results: dict, game: str, mix: str) -> dict:
    """Welfare per N (mean and per seed) of ``mix`` from the ``nplayer`` experiment's results."""
    ns, mean, seeds = [], [], []
    for key, res in sorted(results.items()):  # keys: "{game}_n{n}_{mix}"
        if not key.endswith("_" + mix):
            continue
        g, n = key[: -len(mix) - 1].rsplit("_", 1)
        if g == game:
            ns.append(int(n[1:]))
            mean.append(float(np.mean(res["welfare"])))
            seeds.append(list(res["welfare"]))
    order = np.argsort(ns)
    return {
        "ns": [ns[i] for i in order],
        "welfare": [mean[i] for i in order],
        "per_seed": [seeds[i] for i in order],
    }
