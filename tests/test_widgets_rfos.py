"""Chapter 4 widget callbacks, without a frontend."""

from __future__ import annotations

import pytest

from rlbook.viz import widgets_rfos as w


def test_constants_match_the_reference_table():
    out = w.rfos_constants(2, 0.5, 0.2, 0.8)
    assert (out["num_states"], out["m"], out["vi_sweeps"], out["meta_episodes"]) == (
        16,
        2575,
        11,
        329_600,
    )
    assert w.rfos_constants(3, 0.5, 0.2, 0.8)["bound"] / out["bound"] == pytest.approx(16.0)
    # the theorem's m (constant 1): (16 + ln(32 / 0.2)) / (0.25 * 0.2^4), far above the code's 2575
    assert out["theorem_m"] == pytest.approx((16 + 5.0751738) / 4e-4, rel=1e-6)
    with pytest.raises(ValueError, match="epsilon"):
        w.rfos_constants(1, 1.0, 0.2, 0.8)


def test_constants_explorer_updates_on_slider_moves():
    ex = w.make_constants_explorer()
    assert ex.result["m"] == 644
    ex.children[0].value = 2
    assert ex.result["num_states"] == 16 and ex.result["m"] == 2575
    ex.children[1].value = 0.25  # epsilon halves -> m grows 4x
    assert ex.result["m"] == pytest.approx(4 * 2575, rel=1e-3)


def test_policy_explorer_shows_a_learned_policy():
    ex = w.make_policy_explorer()
    first = ex.result
    assert first["h"] == 1 and len(first["policy"]) == 4
    assert first["reward"] > 0.6
    table = w.meta_policy_table(1, 0)
    assert table["labels"] == ["mm", "mo", "om", "oo"]
