"""Chapter 7 widget callbacks, without a frontend (tiny victims so the file stays quick)."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from rlbook.act.victim import VictimConfig
from rlbook.viz import widgets_act as w

TINY = VictimConfig(num_envs=2, num_steps=16, num_updates=3, update_epochs=2, final_updates=1)


def test_message_heatmap_picks_the_nearest_saved_generation():
    snaps = {"0": np.zeros((21, 21, 2)).tolist(), "4": np.ones((21, 21, 2)).tolist()}
    m, g = w.message_heatmap(snaps, 3)
    assert g == 4 and m.shape == (21, 21, 2) and m.max() == 1.0
    ex = w.make_heatmap_explorer({"harm": snaps, "help": snaps}, 2 * math.pi)
    assert ex.result["generation"] == 0 and ex.result["max_abs"] == 0.0
    ex.children[1].value = 4
    assert ex.result["generation"] == 4 and ex.result["max_abs"] == 1.0


def test_retrain_scale_zero_is_the_no_message_victim():
    lb = w.lab(TINY, 2)
    phi = lb.env.init_phi(jax.random.key(0))
    silent = w.retrain(phi, 0.0, 0, TINY, 2)
    zero = w.retrain(lb.env.zero_phi(), 2 * math.pi, 0, TINY, 2)
    np.testing.assert_array_equal(silent["final"], zero["final"])
    loud = w.retrain(phi, 2 * math.pi, 0, TINY, 2)
    assert silent["curve"].shape == (3,) and loud["final"].shape == (2,)
    # messages change the victim's inputs, hence its (sampled) learning run
    assert not np.array_equal(
        np.asarray(loud["out"].stats.loss), np.asarray(silent["out"].stats.loss)
    )
    ex = w.make_retrain_explorer({"random": phi, "none": lb.env.zero_phi()}, TINY, 2)
    first = ex.result
    ex.children[1].value = 0.0
    assert ex.result["final"] == pytest.approx(float(silent["final"].mean()))
    assert set(first) == {"final", "auc"}


def test_hijack_trace_and_explorer():
    lb = w.lab(TINY, 2)
    flat = np.asarray(ravel_pytree(lb.genome_template())[0])
    tr = w.hijack_trace(flat, 1.0, "act", 0, TINY, 2)
    alive = tr["alive"] > 0
    expected = np.sum(np.exp(-((tr["x"][alive] - 1.0) ** 2)))
    assert tr["return"] == pytest.approx(expected, rel=1e-5)
    assert np.abs(tr["m"]).max() <= math.pi + 1e-5
    with pytest.raises(ValueError, match="goal"):
        w.hijack_trace(flat, 3.0, "act", 0, TINY, 2)
    with pytest.raises(ValueError, match="which"):
        w.hijack_trace(flat, 0.0, "both", 0, TINY, 2)
    ex = w.make_hijack_explorer(flat, TINY, 2)
    assert ex.result["return"] == pytest.approx(tr["return"])
    ex.children[0].value = -1.0
    assert ex.result["return"] == pytest.approx(
        w.hijack_trace(flat, -1.0, "act", 0, TINY, 2)["return"]
    )
