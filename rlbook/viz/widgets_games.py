"""Chapter 1 widgets: pure functions (tested without a frontend) plus thin ipywidgets builders.

* ``dynamics_summary`` / ``make_dynamics_explorer``: choose the game, the two learners, learning rates,
  discount and seed; watch policy trajectories and rewards.
* ``payoff_summary`` / ``make_payoff_editor``: edit the eight payoffs and rerun the dynamics.
* ``memory1_summary`` / ``make_memory1_explorer``: two memory-one strategies -> exact values and the
  discounted state visitation (presets AllC, AllD, TFT, WSLS).

Every builder returns an ``ipywidgets.interactive`` whose callback calls the pure function, draws a
figure and returns the summary dict (kept in ``.result``).
"""

from __future__ import annotations

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from rlbook.games.matrix import (
    GAMES,
    STRATEGIES,
    MatrixGame,
    exact_value_probs,
    get_game,
    make_game,
    memory1_visitation_probs,
    validate_gamma,
)
from rlbook.learners.naive import LEARNERS, simulate
from rlbook.viz.plots_games import dynamics_figure, plot_visitation

N_RUNS = 32
N_STEPS = 100


def dynamics_summary(
    game: str | MatrixGame = "ipd",
    learner1: str = "nl",
    learner2: str = "nl",
    lr1: float = 1.0,
    lr2: float = 1.0,
    gamma: float = 0.96,
    seed: int = 0,
    eta: float = 1.0,
    n_runs: int = N_RUNS,
    n_steps: int = N_STEPS,
):
    """Run ``n_runs`` learning runs and summarise them: (summary dict, ``SimResult``)."""
    g = get_game(game) if isinstance(game, str) else game
    validate_gamma(gamma)
    res = simulate(
        jax.random.key(int(seed)),
        g,
        learner1,
        learner2,
        n_runs=n_runs,
        n_steps=n_steps,
        gamma=gamma,
        lr1=lr1,
        lr2=lr2,
        eta1=eta,
        eta2=eta,
    )
    final = np.asarray(res.value[:, -1])
    pc = np.asarray(res.p_coop[:, -1])
    if not np.all(np.isfinite(final)):
        raise ValueError("the dynamics diverged (non-finite values); lower the learning rates")
    summary = {
        "game": g.name,
        "learners": f"{learner1}-{learner2}",
        "reward1": float(final[:, 0].mean()),
        "reward2": float(final[:, 1].mean()),
        "p_cooperate1": float(pc[:, 0].mean()),
        "p_cooperate2": float(pc[:, 1].mean()),
    }
    return summary, res


def _draw_dynamics(summary, res):
    fig = dynamics_figure(
        res,
        f"{summary['game']}: {summary['learners']}  (final rewards "
        f"{summary['reward1']:.3g}, {summary['reward2']:.3g})",
    )
    plt.show()
    plt.close(fig)


def make_dynamics_explorer(**defaults):
    """Explorer: game, learner 1/2, learning rates, gamma, seed -> trajectories and rewards."""
    style = {"description_width": "initial"}

    def callback(game, learner1, learner2, lr1, lr2, gamma, seed):
        summary, res = dynamics_summary(game, learner1, learner2, lr1, lr2, gamma, seed)
        _draw_dynamics(summary, res)
        return summary

    d = {"game": "ipd", "learner1": "nl", "learner2": "nl", "lr1": 1.0, "lr2": 1.0}
    d.update(defaults)
    return widgets.interactive(
        callback,
        game=widgets.Dropdown(options=sorted(GAMES), value=d["game"], description="game"),
        learner1=widgets.Dropdown(options=sorted(LEARNERS), value=d["learner1"], description="learner 1"),
        learner2=widgets.Dropdown(options=sorted(LEARNERS), value=d["learner2"], description="learner 2"),
        lr1=widgets.FloatSlider(value=d["lr1"], min=0.05, max=3.0, step=0.05, description="lr 1", continuous_update=False, style=style),
        lr2=widgets.FloatSlider(value=d["lr2"], min=0.05, max=3.0, step=0.05, description="lr 2", continuous_update=False, style=style),
        gamma=widgets.FloatSlider(value=0.96, min=0.5, max=0.99, step=0.01, description="gamma", continuous_update=False),
        seed=widgets.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False),
    )  # fmt: skip


def payoff_summary(r1, r2, learner1="nl", learner2="nl", lr=1.0, gamma=0.96, seed=0):
    """Dynamics in a user-defined game (payoffs over [CC, CD, DC, DD]): (summary dict, ``SimResult``)."""
    game = make_game(r1, r2, "custom")
    scale = float(np.max(np.abs(np.concatenate([np.asarray(r1), np.asarray(r2)]))))
    # keep the step size comparable across payoff scales (the IPD's largest payoff is 3)
    lr_eff = lr * 3.0 / max(scale, 1e-6)
    return dynamics_summary(game, learner1, learner2, lr_eff, lr_eff, gamma, seed)


def make_payoff_editor(preset: str = "ipd"):
    """Payoff editor: eight payoffs (+ learners, lr, seed) -> rerun the dynamics; a preset loader."""
    g = get_game(preset)
    boxes = {}
    for who, r in (("r1", g.r1), ("r2", g.r2)):
        for k, s in enumerate(("CC", "CD", "DC", "DD")):
            boxes[f"{who}_{s}"] = widgets.FloatText(
                value=float(r[k]), description=f"{who} {s}", layout={"width": "160px"}
            )

    def callback(learner1, learner2, lr, seed, **pay):
        r1 = [pay[f"r1_{s}"] for s in ("CC", "CD", "DC", "DD")]
        r2 = [pay[f"r2_{s}"] for s in ("CC", "CD", "DC", "DD")]
        summary, res = payoff_summary(r1, r2, learner1, learner2, lr, 0.96, seed)
        _draw_dynamics(summary, res)
        return summary

    w = widgets.interactive(
        callback,
        learner1=widgets.Dropdown(options=sorted(LEARNERS), value="nl", description="learner 1"),
        learner2=widgets.Dropdown(options=sorted(LEARNERS), value="nl", description="learner 2"),
        lr=widgets.FloatSlider(value=1.0, min=0.05, max=3.0, step=0.05, description="lr", continuous_update=False),
        seed=widgets.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False),
        **boxes,
    )  # fmt: skip
    loader = widgets.Dropdown(options=sorted(GAMES), value=preset, description="load game")

    def load(change):
        game = get_game(change["new"])
        with w.hold_trait_notifications():
            for who, r in (("r1", game.r1), ("r2", game.r2)):
                for k, s in enumerate(("CC", "CD", "DC", "DD")):
                    boxes[f"{who}_{s}"].value = float(r[k])

    loader.observe(load, names="value")
    w.loader = loader
    w.children = (loader, *w.children)
    return w


def memory1_summary(p1, p2, game: str | MatrixGame = "ipd", gamma: float = 0.96):
    """Exact values and visitation of two memory-one strategies given as P(C) over 5 states."""
    g = get_game(game) if isinstance(game, str) else game
    p1 = jnp.asarray(p1, jnp.float32)
    p2 = jnp.asarray(p2, jnp.float32)
    for name, p in (("p1", p1), ("p2", p2)):
        if p.shape != (5,) or bool(jnp.any((p < 0) | (p > 1))):
            raise ValueError(f"{name} must be 5 probabilities in [0, 1], got {np.asarray(p)}")
    v1, v2 = exact_value_probs(p1, p2, g, gamma)
    m = memory1_visitation_probs(p1, p2, gamma)
    return {"value1": float(v1), "value2": float(v2), "visitation": np.asarray(m).tolist()}


def make_memory1_explorer(game: str = "ipd"):
    """Two memory-one strategies (five P(C) sliders each, preset buttons) -> exact values, visitation."""
    labels = ("start", "CC", "CD", "DC", "DD")
    sliders = {}
    for who, preset in (("p1", "tft"), ("p2", "alld")):
        for k, lab in enumerate(labels):
            sliders[f"{who}_{k}"] = widgets.FloatSlider(
                value=float(STRATEGIES[preset][k]), min=0.0, max=1.0, step=0.05,
                description=f"{who} {lab}", continuous_update=False,
            )  # fmt: skip

    def callback(game, **ps):
        p1 = [ps[f"p1_{k}"] for k in range(5)]
        p2 = [ps[f"p2_{k}"] for k in range(5)]
        out = memory1_summary(p1, p2, game)
        fig, ax = plt.subplots(figsize=(5, 3))
        plot_visitation(ax, out["visitation"])
        ax.set_title(f"values: {out['value1']:.3g} (player 1), {out['value2']:.3g} (player 2)")
        plt.show()
        plt.close(fig)
        return out

    w = widgets.interactive(
        callback,
        game=widgets.Dropdown(options=sorted(GAMES), value=game, description="game"),
        **sliders,
    )
    presets = {}
    for who in ("p1", "p2"):
        dd = widgets.Dropdown(
            options=["-", *sorted(STRATEGIES)], value="-", description=f"{who} preset"
        )

        def apply(change, who=who):
            if change["new"] == "-":
                return
            for k in range(5):
                sliders[f"{who}_{k}"].value = float(STRATEGIES[change["new"]][k])

        dd.observe(apply, names="value")
        presets[who] = dd
    w.presets = presets
    w.children = (presets["p1"], presets["p2"], *w.children)
    return w
