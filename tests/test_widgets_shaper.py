"""Chapter 3 widget callbacks, without a frontend."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from rlbook.shaping.shaper import ShaperConfig, init_params
from rlbook.viz import widgets_shaper as w

IPD = ShaperConfig(num_envs=2, num_episodes=4, num_steps=8, hidden=8)
GRID = ShaperConfig(env="coin_game", num_envs=2, num_episodes=3, num_steps=5, hidden=8)


def test_coplayer_response_depends_on_lr_and_memory():
    params = init_params(IPD, jax.random.key(0))
    a = w.coplayer_response(params, IPD, lr=0.5, memory="carry", trials=4)
    b = w.coplayer_response(params, IPD, lr=4.0, memory="carry", trials=4)
    c = w.coplayer_response(params, IPD, lr=0.5, memory="reset", trials=4)
    assert a["p_coop"].shape == (4, 5) and np.all((a["p_coop"] >= 0) & (a["p_coop"] <= 1))
    # a faster learner moves further from its start
    assert np.abs(np.diff(b["p_coop"], axis=0)).sum() > np.abs(np.diff(a["p_coop"], axis=0)).sum()
    np.testing.assert_allclose(a["agent"][0], c["agent"][0])  # same first episode
    assert not np.allclose(a["agent"][1:], c["agent"][1:])
    with pytest.raises(ValueError, match="memory"):
        w.coplayer_response(params, IPD, memory="forever")
    with pytest.raises(ValueError, match="cfg.env"):
        w.coplayer_response(params, GRID)


def test_coplayer_response_on_the_meta_game():
    c = ShaperConfig.preset("meta_tiny")
    params = init_params(c, jax.random.key(0))
    r = w.coplayer_response(params, c, lr=1.0, memory="carry", trials=2)
    assert r["p_coop"].shape == (c.num_episodes, 5)
    assert np.all((r["p_coop"] > 0) & (r["p_coop"] < 1))


def test_coplayer_explorer_updates():
    params = init_params(IPD, jax.random.key(0))
    ex = w.make_coplayer_explorer(params, IPD)
    first = dict(ex.result)
    ex.children[1].value = "reset"
    assert ex.result != first


def test_replay_frames_and_viewer():
    params = init_params(GRID, jax.random.key(0))
    rep = w.record_replay(params, GRID, seed=1)
    f0 = w.replay_frame(rep, 0, 0)
    f1 = w.replay_frame(rep, 2, 4, env=1)
    assert f0.shape == f1.shape == (48, 48, 3) and f0.dtype == np.uint8
    with pytest.raises(ValueError, match="episode"):
        w.replay_frame(rep, 3, 0)
    with pytest.raises(ValueError, match="step"):
        w.replay_frame(rep, 0, 5)
    viewer = w.make_replay_viewer(rep)
    viewer.children[0].value = 2
    assert viewer.result["episode"] == 2
    anim = w.replay_animation(rep, episodes=(0, -1))
    assert anim is not None
    with pytest.raises(ValueError, match="cfg.env"):
        w.record_replay(params, IPD)
