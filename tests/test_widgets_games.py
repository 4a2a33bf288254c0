"""Chapter 1 widget callbacks and figure helpers, tested without a frontend."""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

from rlbook.games.matrix import STRATEGIES, get_game
from rlbook.viz.plots_games import (
    memoryless_field,
    memoryless_trajectories,
    plot_payoff_table,
    plot_phase_portrait,
)
from rlbook.viz.widgets_games import (
    dynamics_summary,
    make_dynamics_explorer,
    make_memory1_explorer,
    make_payoff_editor,
    memory1_summary,
    payoff_summary,
)


def _by_description(w, text):
    return next(c for c in w.children if getattr(c, "description", None) == text)


def test_dynamics_summary_pure_function():
    s, res = dynamics_summary("ipd", "nl", "nl", n_runs=16)
    assert s["reward1"] < -1.9 and s["p_cooperate1"] < 0.1
    assert res.value.shape == (16, 101, 2)
    s2, _ = dynamics_summary("ipd", "lola", "lola", n_runs=16)
    assert s2["reward1"] > -1.3


def test_dynamics_explorer_callbacks():
    w = make_dynamics_explorer()
    assert w.result["learners"] == "nl-nl" and w.result["reward1"] < -1.9
    _by_description(w, "learner 1").value = "lola"
    _by_description(w, "learner 2").value = "lola"
    assert w.result["learners"] == "lola-lola" and w.result["reward1"] > -1.3
    _by_description(w, "game").value = "imp"
    assert w.result["game"] == "imp"
    np.testing.assert_allclose(w.result["reward1"] + w.result["reward2"], 0.0, atol=1e-5)
    _by_description(w, "seed").value = 3
    _by_description(w, "gamma").value = 0.9
    _by_description(w, "lr 1").value = 0.5
    assert w.result["game"] == "imp"
    plt.close("all")


def test_payoff_editor_reruns_the_dynamics():
    w = make_payoff_editor("ipd")
    base = w.result
    assert base["reward1"] < -1.9
    # PD + 3 everywhere is the same game shifted: same dynamics, rewards + 3
    s_shift, _ = payoff_summary([2, 0, 3, 1], [2, 3, 0, 1], lr=1.0)
    s_ipd, _ = payoff_summary([-1, -3, 0, -2], [-1, 0, -3, -2], lr=1.0)
    np.testing.assert_allclose(s_shift["reward1"], s_ipd["reward1"] + 3, atol=1e-4)
    # make cooperation dominant: CC pays most -> players learn to cooperate
    for name, v in (("r1 CC", 5.0), ("r2 CC", 5.0)):
        _by_description(w, name).value = v
    assert w.result["p_cooperate1"] > 0.9
    w.loader.value = "imp"
    assert _by_description(w, "r1 CD").value == 1.0
    assert w.result["game"] == "custom"
    np.testing.assert_allclose(w.result["reward1"] + w.result["reward2"], 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="r1"):
        payoff_summary([1, 2, 3], [1, 2, 3, 4])
    plt.close("all")


def test_memory1_summary_and_explorer():
    out = memory1_summary(STRATEGIES["tft"], STRATEGIES["alld"])
    np.testing.assert_allclose([out["value1"], out["value2"]], [-2.04, -1.92], atol=1e-5)
    np.testing.assert_allclose(sum(out["visitation"]), 25.0, rtol=1e-5)
    w = make_memory1_explorer()
    np.testing.assert_allclose(w.result["value1"], -2.04, atol=1e-5)  # default TFT vs AllD
    w.presets["p2"].value = "tft"
    np.testing.assert_allclose(w.result["value1"], -1.0, atol=1e-5)
    w.presets["p1"].value = "allc"
    w.presets["p2"].value = "alld"
    np.testing.assert_allclose([w.result["value1"], w.result["value2"]], [-3.0, 0.0], atol=1e-5)
    _by_description(w, "p1 start").value = 0.0
    assert w.result["value1"] < -2.9
    with pytest.raises(ValueError, match="p1"):
        memory1_summary([1.5, 0, 0, 0, 0], STRATEGIES["tft"])
    plt.close("all")


def test_phase_portrait_nl_cycles_out_and_lola_converges_in_imp():
    game = get_game("imp")
    starts = jnp.array([[0.7, 0.6]])
    nl = memoryless_trajectories(starts, game, "nl", "nl", n_steps=300)
    lola = memoryless_trajectories(starts, game, "lola", "lola", n_steps=300)
    dist = lambda tr: float(jnp.linalg.norm(tr[0, -1] - 0.5))
    assert dist(nl) > float(jnp.linalg.norm(starts[0] - 0.5))  # spirals away from the mixed NE
    assert dist(lola) < 0.01  # converges to it
    p1, p2, d1, d2 = memoryless_field(game, "nl", "nl", n_grid=5)
    assert p1.shape == d1.shape == (5, 5)
    # at the mixed equilibrium nothing moves
    _, _, e1, e2 = memoryless_field(game, "nl", "nl", n_grid=3)
    np.testing.assert_allclose([e1[1, 1], e2[1, 1]], 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="learner1"):
        memoryless_trajectories(starts, game, "pg", "nl")


def test_plots_draw():
    fig, axes = plt.subplots(1, 2)
    plot_payoff_table(axes[0], get_game("ipd"))
    traj = plot_phase_portrait(axes[1], get_game("imp"), n_grid=5, n_steps=20)
    assert traj.shape == (2, 21, 2)
    assert axes[1].get_xlabel() == "player 1: P(C)"
    plt.close(fig)
