"""Chapter 2 widget callbacks, without a frontend."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.shaping.mfos import MFOSPolicy
from rlbook.viz import widgets_mfos as w

PARAMS = MFOSPolicy(8).init(jax.random.key(0), jnp.zeros(10))


def test_replay_summary_shapes_and_values():
    s = w.replay_summary(PARAMS, 8, "ipd", "nl", 1.0, 20, 0, num_opps=4)
    assert s["opp_p_coop"].shape == (20, 5) and s["reward_by_step"].shape == (20,)
    assert -3.0 <= s["mfos_reward"] <= 0.0 and -3.0 <= s["opp_reward"] <= 0.0
    np.testing.assert_allclose(s["mfos_reward"], s["reward_by_step"].mean(), rtol=1e-5)


def test_replay_rejects_bad_input():
    with pytest.raises(ValueError, match="game"):
        w.replay_summary(PARAMS, 8, "go")
    with pytest.raises(ValueError, match="opponent"):
        w.replay_summary(PARAMS, 8, "ipd", "self")
    with pytest.raises(ValueError, match="meta_steps"):
        w.replay_summary(PARAMS, 8, "ipd", "nl", 1.0, 0)


def test_explorer_reacts_to_widgets():
    ex = w.make_replay_explorer({"ipd": PARAMS, "imp": PARAMS}, hidden=8)
    first = ex.result
    ex.children[0].value = "ipd"  # game (sorted: imp first)
    assert ex.result != first
    ipd_nl = ex.result
    ex.children[1].value = "lola"
    assert ex.result["opp_reward"] != ipd_nl["opp_reward"]
    ex.children[3].value = 30
    assert set(ex.result) == {"mfos_reward", "opp_reward"}
