"""Neural processes (rlbook.np): data, GP oracle, CNP/NP/RNP/LSTM, metrics, training."""

import hashlib
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from rlbook.np import data, gp
from rlbook.np.metrics import score
from rlbook.np.models import CNP, NP, Gaussian, LSTMBaseline, gaussian_kl, masked_mean
from rlbook.np.rnp import RNP, check_series_shapes
from rlbook.np.train import NPConfig, make_train, nelbo

KEY = jax.random.key(0)


# ------------------------------------------------------------------ data
def test_gp_sampler_covariance_matches_kernel_within_mc_error():
    x = jnp.array([-1.0, -0.5, 0.0, 0.3, 1.5])
    length, scale, n = 0.5, 0.8, 20_000
    ys = jax.vmap(lambda k: data.gp_draw(k, x, length, scale))(jax.random.split(KEY, n))
    emp = np.cov(np.asarray(ys, np.float64).T)
    true = gp.rbf(np.asarray(x), np.asarray(x), length, scale) + data.JITTER**2 * np.eye(5)
    se = np.sqrt((np.outer(np.diag(true), np.diag(true)) + true**2) / n)
    assert np.all(np.abs(emp - true) < 5 * se)
    assert np.all(np.abs(np.asarray(ys).mean(0)) < 5 * np.sqrt(np.diag(true) / n))


def test_gp_curves_no_nan_over_parameter_box_and_seed_deterministic():
    grid = jnp.arange(-2.0, 2.0, 0.01)
    for length in (0.1, 1.0):
        for scale in (0.1, 1.0):
            assert np.isfinite(np.asarray(data.gp_draw(KEY, grid, length, scale))).all()
    b1, p1 = data.gp_curves(KEY, 8)
    b2, _ = data.gp_curves(KEY, 8)
    np.testing.assert_array_equal(b1.y, b2.y)
    assert b1.x.shape == (8, 50, 1) and b1.y.dtype == jnp.float32
    n_c = np.asarray(b1.mask_c.sum(1))
    assert n_c.min() >= 3 and n_c.max() <= 49
    np.testing.assert_array_equal(b1.mask_c + b1.mask_t, 1.0)  # targets are the non-contexts
    assert (p1[:, 0] >= 0.1).all() and (p1[:, 0] <= 0.6).all()


def test_simulators_deterministic_and_tank_levels_bounded():
    o1, o2 = data.oscillator(KEY, 4), data.oscillator(KEY, 4)
    np.testing.assert_array_equal(o1.y, o2.y)
    assert o1.y.shape == (4, 400, 1)
    # the last chunk is context-free
    assert float(o1.mask_c[:, -20:].sum()) == 0.0 and float(o1.mask_t[:, -20:].min()) == 1.0
    (t1, lev), (t2, _) = data.two_tank(KEY, 4, h_max=1.5), data.two_tank(KEY, 4, h_max=1.5)
    np.testing.assert_array_equal(t1.y, t2.y)
    assert float(lev.min()) >= 0.0 and float(lev.max()) <= 1.5
    assert t1.x.shape == (4, 400, 2)


@pytest.mark.parametrize("name,rows,missing", [("co2", 2284, 59), ("sunspots", 309, 0)])
def test_shipped_csv_matches_provenance(name, rows, missing):
    record = json.loads((data.DATA_DIR / f"{name}.json").read_text())
    sha = hashlib.sha256((data.DATA_DIR / f"{name}.csv").read_bytes()).hexdigest()
    assert sha == record["sha256"]
    assert record["provenance"]["script"] == "data/make_series.py"
    assert "public domain" in record["provenance"]["licence"]
    y = data.load_series(name)
    assert y.shape == (rows,) == (record["rows"],)
    assert int(np.isnan(y).sum()) == missing


def test_series_windows_are_normalised_by_context_only():
    task = data.series_task("co2", 8, 26)
    b = data.series_batch(task, KEY, 4, test=True)
    assert b.y.shape == (4, 208, 1)
    ctx_mean = (b.y[..., 0] * b.mask_c).sum(1) / b.mask_c.sum(1)
    np.testing.assert_allclose(ctx_mean, 0.0, atol=1e-4)
    assert float(b.mask_c[:, -26:].sum()) == 0.0


# ------------------------------------------------------------------ GP oracle
def test_gp_log_marginal_equals_scipy():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, 30), rng.normal(size=30)
    kern = lambda a, b: gp.rbf(a, b, 0.4, 0.9)  # noqa: E731
    ours = gp.log_marginal(x, y, kern, 0.05)
    ref = multivariate_normal(np.zeros(30), kern(x, x) + 0.05**2 * np.eye(30)).logpdf(y)
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)
    s = gp.target_scores(x[:10], y[:10], x[10:], y[10:], kern, 0.05)
    mean, cov = gp.posterior(x[:10], y[:10], x[10:], kern, 0.05, full_cov=True)
    np.testing.assert_allclose(
        s["joint_ll"], multivariate_normal(mean, cov + 1e-9 * np.eye(20)).logpdf(y[10:]), rtol=1e-6
    )


def test_gp_one_context_posterior_closed_form():
    kern = lambda a, b: gp.rbf(a, b, 0.5, 1.0)  # noqa: E731
    x1, y1, xs, noise = 0.2, 0.7, np.array([0.0, 0.9]), 0.1
    mean, var = gp.posterior(np.array([x1]), np.array([y1]), xs, kern, noise)
    k1s = np.exp(-0.5 * ((xs - x1) / 0.5) ** 2)
    np.testing.assert_allclose(mean, k1s * y1 / (1 + noise**2))
    np.testing.assert_allclose(var, 1 + noise**2 - k1s**2 / (1 + noise**2))
    with pytest.raises(ValueError, match="x and y"):
        gp.log_marginal(np.zeros(3), np.zeros(4), kern, 0.1)


# ------------------------------------------------------------------ pieces
def test_gaussian_kl_closed_form_vs_monte_carlo():
    q = Gaussian(jnp.array([0.3, -1.0]), jnp.array([0.5, 1.2]))
    p = Gaussian(jnp.array([0.0, 0.5]), jnp.array([1.0, 0.8]))
    z = q.mu + q.sd * jax.random.normal(KEY, (200_000, 2))
    logq = jax.scipy.stats.norm.logpdf(z, q.mu, q.sd).sum(-1)
    logp = jax.scipy.stats.norm.logpdf(z, p.mu, p.sd).sum(-1)
    diff = np.asarray(logq - logp, np.float64)
    assert abs(float(gaussian_kl(q, p)) - diff.mean()) < 4 * diff.std() / np.sqrt(diff.size)
    assert float(gaussian_kl(q, q)) == pytest.approx(0.0, abs=1e-6)
    r = jax.random.normal(KEY, (4, 100, 3))
    rand_q, rand_p = Gaussian(r[0], jnp.exp(r[1])), Gaussian(r[2], jnp.exp(r[3]))
    assert float(gaussian_kl(rand_q, rand_p).min()) >= 0.0


def test_masked_mean_permutation_padding_and_empty():
    h = jax.random.normal(KEY, (6, 4))
    m = jnp.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    r, flag = masked_mean(h, m)
    perm = jnp.array([5, 2, 0, 4, 3, 1])
    r2, _ = masked_mean(h[perm], m[perm])
    np.testing.assert_allclose(r, r2, atol=1e-6)
    r3, _ = masked_mean(
        jnp.concatenate([h, 9 * jnp.ones((3, 4))]), jnp.concatenate([m, jnp.zeros(3)])
    )
    np.testing.assert_allclose(r, r3, atol=1e-6)
    np.testing.assert_allclose(r, h[m > 0].mean(0), atol=1e-6)
    r0, f0 = masked_mean(h, jnp.zeros(6))
    assert float(jnp.abs(r0).max()) == 0.0 and float(f0[0]) == 0.0 and float(flag[0]) == 1.0


def _init(model, b, key=KEY):
    return model.init(key, b.x, b.y, b.mask_c, b.mask_t, key, True)


@pytest.mark.parametrize("latent", [False, True])
def test_cnp_np_invariant_to_context_permutation(latent):
    b, _ = data.gp_curves(KEY, 3, 20, max_context=10)
    model = NP(hidden=16, dz=8, latent=latent)
    params = _init(model, b)
    perm = jax.random.permutation(jax.random.key(3), 20)
    out1 = model.apply(params, b.x, b.y, b.mask_c, b.mask_t, KEY, False)
    out2 = model.apply(
        params, b.x[:, perm], b.y[:, perm], b.mask_c[:, perm], b.mask_t[:, perm], KEY, False
    )
    np.testing.assert_allclose(out1.mu[:, perm], out2.mu, atol=1e-5)
    np.testing.assert_allclose(out1.sd[:, perm], out2.sd, atol=1e-5)


def test_cnp_loss_equals_hand_computed_gaussian_nll():
    b, _ = data.gp_curves(KEY, 2, 10)
    model = CNP(hidden=8)
    pred = model.apply(_init(model, b), b.x, b.y, b.mask_c, b.mask_t, KEY, True)
    mu, sd, y = (np.asarray(a[..., 0], np.float64) for a in (pred.mu, pred.sd, b.y))
    nll = 0.5 * np.log(2 * np.pi) + np.log(sd) + 0.5 * ((y - mu) / sd) ** 2
    fit = np.asarray(jnp.maximum(b.mask_c, b.mask_t))
    expected = ((nll * fit).sum(1) / fit.sum(1)).mean()
    assert float(nelbo(pred, b.y, jnp.asarray(fit))) == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------ RNP
def _rnp_setup():
    b = data.oscillator(KEY, 2, n_chunks=5, chunk=4, n_forecast=2)
    model = RNP(chunk=4, hidden=16, dz=4, ds=8)
    return model, _init(model, b), b


@pytest.mark.parametrize("posterior", [False, True])
def test_rnp_no_leakage_from_later_chunks(posterior):
    model, params, b = _rnp_setup()
    fit = jnp.maximum(b.mask_c, b.mask_t)
    for k in range(5):

        def chunk_out(y, k=k):
            p = model.apply(params, b.x, y, b.mask_c, fit, KEY, posterior)
            return (p.mu[:, 4 * k : 4 * k + 4] + p.sd[:, 4 * k : 4 * k + 4]).sum()

        g = np.asarray(jax.grad(chunk_out)(b.y))[..., 0]
        assert np.all(g[:, 4 * (k + 1) :] == 0.0), f"chunk {k} reads later chunks"
        if k >= 1:  # it does read earlier contexts: the test can fail
            assert np.abs(g[:, : 4 * k] * np.asarray(b.mask_c[:, : 4 * k])).sum() > 0


def test_rnp_forecast_mode_reads_only_contexts():
    model, params, b = _rnp_setup()

    def total(y):
        p = model.apply(params, b.x, y, b.mask_c, b.mask_t, KEY, False)
        return (p.mu + p.sd).sum()

    g = np.asarray(jax.grad(total)(b.y))[..., 0]
    assert np.all(g[np.asarray(b.mask_c) == 0] == 0.0)
    assert np.abs(g[np.asarray(b.mask_c) == 1]).sum() > 0


@pytest.mark.parametrize("posterior", [False, True])
def test_rnp_chunk_loop_equals_batched(posterior):
    model, params, b = _rnp_setup()
    args = (b.x, b.y, b.mask_c, b.mask_t, KEY, posterior)
    batched = model.apply(params, *args)
    loop = model.apply(params, *args, method=RNP.loop)
    for a, c in ((batched.mu, loop.mu), (batched.sd, loop.sd), (batched.kl, loop.kl)):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(batched.state, loop.state, atol=1e-6)


def test_every_predicted_sd_at_least_0_1():
    b = data.oscillator(KEY, 2, n_chunks=5, chunk=4)
    big = b.replace(y=100.0 * b.y)
    for model in (RNP(chunk=4, hidden=16, dz=4, ds=8), NP(hidden=16, dz=4), LSTMBaseline(hidden=8)):
        params = _init(model, big)
        for post in (False, True):
            p = model.apply(params, big.x, big.y, big.mask_c, big.mask_t, KEY, post)
            assert float(p.sd.min()) >= 0.1


# ------------------------------------------------------------------ metrics, config, training
def test_score_coverage_of_a_calibrated_gaussian():
    mu = jax.random.normal(KEY, (1, 4, 5000, 1))
    sd = jnp.full_like(mu, 0.7)
    y = mu[0] + 0.7 * jax.random.normal(jax.random.key(1), mu.shape[1:])
    s = score(mu, sd, y, jnp.ones((4, 5000)))
    assert abs(float(s.coverage95) - 0.95) < 0.01 and abs(float(s.coverage68) - 0.6827) < 0.02
    assert float(s.joint_ll) == pytest.approx(float(s.marginal_ll), rel=1e-4)
    with pytest.raises(ValueError, match="mus/sds"):
        score(mu[0], sd[0], y, jnp.ones((4, 5000)))


def test_bad_shapes_sizes_and_configs_raise():
    x = jnp.zeros((2, 10, 1))
    with pytest.raises(ValueError, match="multiple of chunk"):
        check_series_shapes(x, jnp.zeros((2, 10, 1)), jnp.zeros((2, 10)), 3)
    with pytest.raises(ValueError, match="disagree"):
        check_series_shapes(x, jnp.zeros((2, 9, 1)), jnp.zeros((2, 10)), 5)
    with pytest.raises(ValueError, match="y"):
        check_series_shapes(x, jnp.zeros((2, 10)), jnp.zeros((2, 10)), 5)
    with pytest.raises(ValueError, match="n_points"):
        data.gp_curves(KEY, 2, n_points=1)
    with pytest.raises(ValueError, match="max_context"):
        data.gp_curves(KEY, 2, n_points=10, max_context=10)
    with pytest.raises(ValueError, match="batch"):
        data.oscillator(KEY, 0)
    with pytest.raises(ValueError, match="series"):
        data.load_series("nile")
    with pytest.raises(ValueError, match="n_chunks"):
        data.series_task("sunspots", 20, 11)
    with pytest.raises(ValueError, match="model"):
        NPConfig(model="anp")
    with pytest.raises(ValueError, match="lr"):
        NPConfig(lr=0.0)
    with pytest.raises(ValueError, match="max_forecast"):
        NPConfig(max_forecast=20)
    with pytest.raises(ValueError, match="sequence task"):
        NPConfig(model="rnp", task="gp")
    with pytest.raises(ValueError, match="preset"):
        NPConfig.preset("huge")


def test_make_train_vmaps_over_seeds_and_learns():
    cfg = NPConfig(model="cnp", task="gp", hidden=16, steps=60, batch=8, gp_points=20, lr=3e-3)
    out = jax.jit(jax.vmap(make_train(cfg)))(jax.random.split(KEY, 2))
    losses = np.asarray(out.losses)
    assert losses.shape == (2, 60) and np.isfinite(losses).all()
    assert losses[:, -10:].mean() < losses[:, :10].mean()
