"""Chapter 11 widget callbacks (rlbook.viz.widgets_np)."""

import jax
import numpy as np
import pytest

from rlbook.np import data
from rlbook.np.train import NPConfig, make_model
from rlbook.viz import widgets_np as wn

KEY = jax.random.key(0)


def _model(cfg, batch):
    return make_model(cfg).init(KEY, batch.x, batch.y, batch.mask_c, batch.mask_t, KEY, True)


@pytest.fixture(scope="module")
def rnp_setup():
    cfg = NPConfig(model="rnp", task="oscillator", hidden=8, dz=4, ds=8, chunk=5, n_chunks=6)
    batch = data.oscillator(KEY, 1, n_chunks=6, chunk=5)
    return cfg, _model(cfg, batch), batch


def test_mixture_moments_two_components():
    mean, sd = wn.mixture_moments(np.array([[-1.0], [1.0]]), np.array([[0.5], [0.5]]))
    assert mean[0] == pytest.approx(0.0)
    assert sd[0] == pytest.approx(np.sqrt(1.0 + 0.25))


def test_choose_contexts_counts_and_range():
    b, _ = data.gp_curves(KEY, 1, 20)
    allowed = np.arange(20) < 12
    c = wn.choose_contexts(b, 7, KEY, allowed)
    mc = np.asarray(c.mask_c[0])
    assert mc.sum() == 7 and mc[12:].sum() == 0
    np.testing.assert_array_equal(mc + np.asarray(c.mask_t[0]), 1.0)
    with pytest.raises(ValueError, match="n_context"):
        wn.choose_contexts(b, 13, KEY, allowed)


def test_context_bands_keep_the_last_chunk_free(rnp_setup):
    cfg, params, batch = rnp_setup
    bands = wn.context_bands(cfg, params, batch, 8, KEY, n_samples=4)
    assert bands.mean.shape == bands.sd.shape == (30,)
    assert bands.mask_c.sum() == 8 and bands.mask_c[-5:].sum() == 0
    assert bands.sd.min() >= 0.1 - 1e-6


def test_horizon_bands_remove_contexts_of_the_last_chunks(rnp_setup):
    cfg, params, batch = rnp_setup
    bands = wn.horizon_bands(cfg, params, batch, 3, KEY, n_samples=4)
    assert bands.mask_c[-15:].sum() == 0
    np.testing.assert_array_equal(bands.mask_c[:15], np.asarray(batch.mask_c[0, :15]))
    assert wn.sd_by_chunk(bands, cfg.chunk).shape == (6,)
    for bad in (0, 6):
        with pytest.raises(ValueError, match="horizon"):
            wn.horizon_bands(cfg, params, batch, bad, KEY)


def test_oracle_bands_interpolate_contexts():
    b, kp = data.gp_curves(KEY, 1, 30)
    length, scale = (float(v) for v in np.asarray(kp[0]))
    bands = wn.oracle_bands(b, length, scale, 10, KEY)
    c = bands.mask_c > 0
    assert c.sum() == 10
    # at a context point the posterior sd is at most the prior's and the noise keeps it positive
    assert np.all(bands.sd[c] <= np.sqrt(scale**2 + data.JITTER**2) + 1e-9)
    assert np.all(bands.sd > 0)
    assert np.mean(np.abs(bands.mean[c] - bands.y[c])) < 3 * data.JITTER + 0.05


def test_widgets_build(rnp_setup):
    pytest.importorskip("ipywidgets")
    cfg, params, batch = rnp_setup
    gcfg = NPConfig(model="cnp", task="gp", hidden=8)
    gb, kp = data.gp_curves(KEY, 1, 50)
    bank = {("oscillator", "rnp"): (cfg, params), ("gp", "cnp"): (gcfg, _model(gcfg, gb))}
    box = wn.context_widget(bank, {"oscillator": batch, "gp": gb}, {"gp": tuple(np.asarray(kp[0]))})
    assert box.children
    assert wn.horizon_widget({"rnp": (cfg, params)}, batch).children
