"""Chapter 11 widgets: pick context points and watch predictive bands redraw; forecast horizon slider.

The callbacks are plain functions of (model config, parameters, batch, slider values) returning a
:class:`Bands` record (forward passes only, from trained parameters); the widgets only wire them up.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlbook.np import data, gp
from rlbook.np.train import NPConfig, predict


@struct.dataclass
class Bands:
    x: np.ndarray  # [N] input (GP x, or time step)
    y: np.ndarray  # [N] observed values
    mask_c: np.ndarray  # [N] context points
    mean: np.ndarray  # [N] predictive mean
    sd: np.ndarray  # [N] predictive sd (of the S-sample mixture)


def mixture_moments(mus, sds) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of an equal-weight mixture of Gaussians ``[S, ...]`` -> ``[...]``."""
    mus, sds = np.asarray(mus, np.float64), np.asarray(sds, np.float64)
    mean = mus.mean(0)
    var = (sds**2 + mus**2).mean(0) - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


def choose_contexts(batch: data.Batch, n_context: int, key, allowed=None) -> data.Batch:
    """Batch of one sequence/curve with ``n_context`` context points chosen at random among
    ``allowed: [N]`` (default: all points); every other point is a target."""
    n = batch.y.shape[1]
    allowed = np.ones(n, bool) if allowed is None else np.asarray(allowed, bool)
    if not 0 <= n_context <= int(allowed.sum()):
        raise ValueError(f"n_context={n_context} must lie in [0, {int(allowed.sum())}]")
    order = np.asarray(jax.random.permutation(key, np.flatnonzero(allowed)))
    mask = np.zeros(n, np.float32)
    mask[order[:n_context]] = 1.0
    mc = jnp.asarray(mask)[None]
    return batch.replace(mask_c=mc, mask_t=1.0 - mc)


def _bands(cfg: NPConfig, params, batch: data.Batch, key, n_samples: int) -> Bands:
    pred = predict(cfg, params, batch, key, n_samples)
    mean, sd = mixture_moments(pred.mu[:, 0, :, 0], pred.sd[:, 0, :, 0])
    x = np.asarray(batch.x[0, :, 0]) if cfg.task == "gp" else np.arange(batch.y.shape[1])
    return Bands(x, np.asarray(batch.y[0, :, 0]), np.asarray(batch.mask_c[0]), mean, sd)


def context_bands(
    cfg: NPConfig, params, batch: data.Batch, n_context: int, key, n_samples: int = 16
) -> Bands:
    """Predictive bands of a trained model after choosing ``n_context`` contexts (for sequences, only
    in chunks before the last)."""
    allowed = None
    if cfg.task != "gp":
        allowed = np.arange(batch.y.shape[1]) < (cfg.n_chunks - 1) * cfg.chunk
    return _bands(cfg, params, choose_contexts(batch, n_context, key, allowed), key, n_samples)


def oracle_bands(batch: data.Batch, length: float, scale: float, n_context: int, key) -> Bands:
    """The exact GP's bands (true kernel) with the same context choice as :func:`context_bands`."""
    b = choose_contexts(batch, n_context, key)
    x, y, mc = (np.asarray(a[0], np.float64) for a in (b.x[..., 0], b.y[..., 0], b.mask_c))
    kern = lambda a, c: gp.rbf(a, c, length, scale)  # noqa: E731
    mean, var = gp.posterior(x[mc > 0], y[mc > 0], x, kern, data.JITTER)
    return Bands(x, y, mc, mean, np.sqrt(var))


def horizon_bands(
    cfg: NPConfig, params, batch: data.Batch, horizon: int, key, n_samples: int = 16
) -> Bands:
    """Bands when the last ``horizon`` chunks are context-free (the contexts of the other chunks are
    kept from ``batch``)."""
    if not 1 <= horizon < cfg.n_chunks:
        raise ValueError(f"horizon={horizon} must lie in [1, {cfg.n_chunks - 1}]")
    t = np.arange(batch.y.shape[1])
    keep = jnp.asarray(t < (cfg.n_chunks - horizon) * cfg.chunk, jnp.float32)[None]
    mc = batch.mask_c * keep
    b = batch.replace(mask_c=mc, mask_t=1.0 - mc)
    return _bands(cfg, params, b, key, n_samples)


def sd_by_chunk(bands: Bands, chunk: int) -> np.ndarray:
    """Mean predictive sd in each chunk: ``[K]``."""
    return bands.sd.reshape(-1, chunk).mean(-1)


def plot_bands(ax, bands: Bands, title: str = "", chunk: int | None = None) -> None:
    ax.plot(bands.x, bands.y, color="0.6", lw=0.8, label="data")
    ax.fill_between(
        bands.x,
        bands.mean - 2 * bands.sd,
        bands.mean + 2 * bands.sd,
        alpha=0.3,
        label="mean +- 2 sd",
    )
    ax.plot(bands.x, bands.mean, lw=1.2, label="predictive mean")
    c = bands.mask_c > 0
    ax.plot(bands.x[c], bands.y[c], "k.", ms=4, label="contexts")
    if chunk:
        for b in range(chunk, len(bands.x), chunk):
            ax.axvline(b - 0.5, color="0.85", lw=0.6, zorder=0)
    ax.set_title(title)


def context_widget(bank: dict, batches: dict, oracle: dict):
    """Sliders and dropdowns around :func:`context_bands` / :func:`oracle_bands`.

    ``bank[(data_name, model_name)] = (cfg, params)``; ``batches[data_name]`` one sequence or curve;
    ``oracle[data_name] = (length, scale)`` for the GP-curve data."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    names = sorted({d for d, _ in bank} | set(oracle))
    data_dd = w.Dropdown(options=names, description="data")
    model_dd = w.Dropdown(description="model")
    n_sl = w.IntSlider(value=10, min=0, max=40, description="contexts")
    seed_sl = w.IntSlider(value=0, min=0, max=20, description="draw")
    out = w.Output()

    def models_for(d):
        return sorted(m for dd, m in bank if dd == d) + (["gp_oracle"] if d in oracle else [])

    def redraw(*_):
        d, m = data_dd.value, model_dd.value
        if m not in models_for(d):
            return
        key = jax.random.key(seed_sl.value)
        if m == "gp_oracle":
            bands = oracle_bands(batches[d], *oracle[d], n_sl.value, key)
        else:
            cfg, params = bank[(d, m)]
            bands = context_bands(cfg, params, batches[d], n_sl.value, key)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(7, 3))
            plot_bands(ax, bands, f"{m} on {d}, {n_sl.value} contexts")
            ax.set_xlabel("x" if d == "gp" else "time step")
            ax.set_ylabel("y")
            plt.show()

    def on_data(*_):
        model_dd.options = models_for(data_dd.value)
        redraw()

    data_dd.observe(on_data, "value")
    for wd in (model_dd, n_sl, seed_sl):
        wd.observe(redraw, "value")
    on_data()
    return w.VBox([w.HBox([data_dd, model_dd]), w.HBox([n_sl, seed_sl]), out])


def horizon_widget(bank: dict, batch: data.Batch):
    """A horizon slider around :func:`horizon_bands`; ``bank[name] = (cfg, params)`` (sequence models)."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    model_dd = w.Dropdown(options=sorted(bank), description="model")
    cfg0 = next(iter(bank.values()))[0]
    h_sl = w.IntSlider(value=1, min=1, max=min(6, cfg0.n_chunks - 1), description="horizon")
    out = w.Output()

    def redraw(*_):
        cfg, params = bank[model_dd.value]
        bands = horizon_bands(cfg, params, batch, h_sl.value, jax.random.key(0))
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(7, 3))
            plot_bands(
                ax, bands, f"{model_dd.value}: last {h_sl.value} chunk(s) forecast", cfg.chunk
            )
            ax.set_xlabel("time step")
            ax.set_ylabel("y")
            plt.show()

    for wd in (model_dd, h_sl):
        wd.observe(redraw, "value")
    redraw()
    return w.VBox([w.HBox([model_dd, h_sl]), out])
