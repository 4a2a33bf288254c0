"""Chapter 6 widget callbacks, tested without a frontend."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rlbook.viz.widgets_nplayer import (
    make_table_explorer,
    make_welfare_explorer,
    mix_kinds,
    plot_table,
    plot_welfare_vs_n,
    stored_welfare,
    table_summary,
    welfare_vs_n,
)


def _by_description(w, text):
    return next(c for c in w.children if getattr(c, "description", None) == text)


def test_table_summary():
    s = table_summary("ipd", 4)
    assert s["welfare_all_c"] == 6.0 and s["welfare_all_d"] == 1.0 and s["dominant"] == "D"
    assert s["best_defectors"] == 0 and len(s["table"]) == 5
    c = table_summary("commons", 5)
    # two over-users still leave the commons standing: welfare (3 * 2 + 2 * 5) / 5 beats all-C
    assert c["best_defectors"] == 2 and c["welfare_by_defectors"][2] == pytest.approx(3.2)
    plot_table(s)
    plt.close("all")


def test_table_explorer_callbacks():
    w = make_table_explorer()
    assert w.result["game"] == "ipd" and w.result["n"] == 3
    _by_description(w, "game").value = "stag_hunt"
    _by_description(w, "N").value = 5
    assert w.result["game"] == "stag_hunt" and w.result["welfare_all_c"] == 3.0
    plt.close("all")


def test_welfare_vs_n_and_mixes():
    s = welfare_vs_n("ipd", "nl", ns=(2, 3), n_runs=4, n_steps=10)
    assert s["ns"] == [2, 3] and len(s["welfare"]) == 2
    assert all(d <= w <= c for w, c, d in zip(s["welfare"], s["all_c"], s["all_d"], strict=True))
    assert mix_kinds("lola", 3) == ("lola", "nl", "nl")
    with pytest.raises(ValueError, match="mix"):
        mix_kinds("shaper", 3)
    plot_welfare_vs_n(s)
    plt.close("all")


def test_welfare_explorer_callbacks():
    w = make_welfare_explorer()
    assert w.result["mix"] == "nl" and w.result["ns"] == [2, 3, 4]
    _by_description(w, "game").value = "snowdrift"
    assert w.result["game"] == "snowdrift"
    plt.close("all")


def test_stored_welfare_parses_results():
    results = {
        "ipd_n3_nl": {"welfare": [1.0, 2.0]},
        "ipd_n4_nl": {"welfare": [3.0]},
        "ipd_n3_shaper": {"welfare": [5.0]},
        "stag_hunt_n5_two_shapers": {"welfare": [0.5, 0.7]},
    }
    s = stored_welfare(results, "ipd", "nl")
    assert s["ns"] == [3, 4] and s["welfare"] == [1.5, 3.0]
    assert stored_welfare(results, "ipd", "shaper")["welfare"] == [5.0]
    two = stored_welfare(results, "stag_hunt", "two_shapers")
    assert two["ns"] == [5] and np.isclose(two["welfare"][0], 0.6)
