"""Chapter 10's widget callbacks (pure functions)."""

import numpy as np
import pytest

from rlbook.viz import widgets_moe_settings as wms


def test_arch_counts():
    base = wms.arch_counts("baseline", "soft")
    assert base["vs_baseline"] == 1.0 and base["params"] == 133286
    big = wms.arch_counts("big", "hard")
    assert big["params"] == 3 * (133286 - 774) + 774
    assert wms.arch_counts("middle", "soft")["vs_baseline"] < 1.0
    with pytest.raises(ValueError, match="num_experts"):
        wms.arch_counts("big", "hard", 2)


def test_run_view_forgetting():
    # CRL order Asterix -> Breakout -> SpaceInvaders: drops of Asterix (phase 0) and Breakout (phase 1)
    r = {
        "returns_matrix": [[0.0, 1.0, 5.0], [4.0, 1.0, 2.0], [1.0, 3.0, 1.0]],
        "order": [2, 0, 1],
        "final_critic_dormant": 0.5,
    }
    v = wms.run_view(r)
    assert v["drops"] == {"Asterix": 4.0, "Breakout": 3.0}
    assert v["forgetting"] == 3.5
    mtrl = wms.run_view(dict(r, order=[-1, -1, -1]))
    assert mtrl["drops"] == {} and np.isnan(mtrl["forgetting"])
