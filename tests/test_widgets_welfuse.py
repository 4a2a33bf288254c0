"""Chapter 5 widget callbacks: equilibria of an edited 2x2 game, LOLA look-ahead in Chicken."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rlbook.viz import widgets_welfuse as V

PD = ((-1, -3, 0, -2), (-1, 0, -3, -2))


def test_equilibria_chicken():
    res = V.equilibria_2x2(n=501)
    nash = sorted(res["nash"])  # one swerves and one goes straight (twice), and the mixed one
    assert nash[0] == (0.0, 1.0) and nash[-1] == (1.0, 0.0)
    np.testing.assert_allclose(nash[1], (0.99, 0.99))
    assert res["greedy"]["x"] == 0.0 and res["greedy"]["vx"] == -100.0  # leaders crash
    assert 0.97 < res["egalitarian"]["x"] < 0.99
    assert res["coincidental"] is False


def test_equilibria_prisoners_dilemma_is_coincidental():
    res = V.equilibria_2x2(*PD, n=501)
    assert res["nash"] == [(0.0, 0.0)]
    assert (res["greedy"]["x"], res["greedy"]["y"]) == (0.0, 0.0)
    assert res["coincidental"] is True


def test_equilibria_bad_payoffs_raise():
    with pytest.raises(ValueError, match="r_x"):
        V.equilibria_2x2((1, 2, 3), PD[1])


def test_lookahead_selfplay_crashes_only_with_lookahead():
    naive = V.lola_chicken_selfplay(0.0)
    lola = V.lola_chicken_selfplay(25.0)
    assert naive["crash_fraction"] == 0.0 and naive["final_reward"] > -5
    assert lola["crash_fraction"] == 1.0 and lola["final_reward"] < -90
    assert lola["p_swerve"].shape == (64, 2)
    with pytest.raises(ValueError, match="eta"):
        V.lola_chicken_selfplay(-1.0)


def test_explorers_build_and_update():
    w = V.make_equilibria_explorer()
    assert w.result["coincidental"] is False
    boxes = {c.description: c for c in w.children if hasattr(c, "description")}
    for k, v in zip(
        ("x_CC", "x_CD", "x_DC", "x_DD", "y_CC", "y_CD", "y_DC", "y_DD"), PD[0] + PD[1], strict=True
    ):
        boxes[k].value = float(v)
    assert w.result["coincidental"] is True
    e = V.make_lookahead_explorer()
    assert e.result["crash_fraction"] == 0.0
    e.children[0].value = 25.0
    assert e.result["crash_fraction"] == 1.0
    plt.close("all")


def test_static_figures_draw():
    from rlbook.shaping.welfuse import get_game

    fig = V.plot_welfare_contours(get_game("chicken"), n=201)
    assert len(fig.axes) == 4
    ax = V.plot_selfplay(V.lola_chicken_selfplay(5.0))
    assert "crash" in ax.get_title()
    assert np.isfinite(V.lola_chicken_selfplay(5.0)["reward_curve"]).all()
    plt.close("all")
