"""Data for the neural-process chapter: GP curves, two simulators, two shipped real series.

Every batch has static shapes; variable context sizes are masks over a fixed maximum (a slice of a
different length would retrace every training step). A batch is a :class:`Batch`:
``x: [B, N, dx]`` inputs (column 0 is the time or the GP input, further columns exogenous inputs u),
``y: [B, N, 1]``, ``mask_c: [B, N]`` context points, ``mask_t: [B, N]`` target points (disjoint from
the context), ``aux: [B, N]`` a true latent quantity when there is one (the oscillator's log-frequency).

Sequences of length ``T = n_chunks * chunk`` are cut by the RNP into ``n_chunks`` chunks of ``chunk``
points; the last ``n_forecast`` chunks carry no context (forecast targets only).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
SERIES = ("co2", "sunspots")
JITTER = (
    0.02  # observation noise sd of the GP curves (the reference GPCurvesReader's 0.02**2 jitter)
)


@struct.dataclass
class Batch:
    x: jax.Array  # [B, N, dx]
    y: jax.Array  # [B, N, 1]
    mask_c: jax.Array  # [B, N] 1.0 = context point
    mask_t: jax.Array  # [B, N] 1.0 = target point (never a context point)
    aux: jax.Array  # [B, N] a true latent value (oscillator log-frequency) or zeros


def _check_pos_int(name: str, value, lo: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise ValueError(f"{name}={value!r} must be an integer >= {lo}")


# ---------------------------------------------------------------- GP curves
def rbf(x1: jax.Array, x2: jax.Array, length: jax.Array, scale: jax.Array) -> jax.Array:
    """Squared-exponential kernel ``scale^2 exp(-(x1 - x2)^2 / (2 length^2))``; x: [N], [M] -> [N, M]."""
    d = x1[:, None] - x2[None, :]
    return scale**2 * jnp.exp(-0.5 * (d / length) ** 2)


def gp_draw(key: jax.Array, x: jax.Array, length, scale, noise: float = JITTER) -> jax.Array:
    """One draw of a zero-mean GP with an RBF kernel plus ``noise^2`` on the diagonal; x: [N] -> [N]."""
    k = rbf(x, x, length, scale) + noise**2 * jnp.eye(x.shape[0], dtype=x.dtype)
    return jnp.linalg.cholesky(k) @ jax.random.normal(key, x.shape, x.dtype)


def gp_curves(
    key: jax.Array,
    batch: int,
    n_points: int = 50,
    min_context: int = 3,
    max_context: int | None = None,
    length_range: tuple[float, float] = (0.1, 0.6),
    scale_range: tuple[float, float] = (0.1, 1.0),
) -> tuple[Batch, jax.Array]:
    """``batch`` GP curves with random kernels (the ANP reference settings), x ~ U[-2, 2].

    Per curve: length ~ U(length_range), scale ~ U(scale_range), n_c ~ U{min_context..max_context}
    contexts, the remaining ``n_points - n_c`` points are targets. Returns the batch and the kernel
    parameters ``[B, 2]`` (length, scale) for the GP oracle.
    """
    _check_pos_int("batch", batch)
    _check_pos_int("n_points", n_points, 2)
    max_context = n_points - 1 if max_context is None else max_context
    if not 1 <= min_context <= max_context < n_points:
        raise ValueError(
            f"need 1 <= min_context ({min_context}) <= max_context ({max_context}) < n_points ({n_points})"
        )
    kx, kl, ks, kc, ky = jax.random.split(key, 5)
    x = jax.random.uniform(kx, (batch, n_points), minval=-2.0, maxval=2.0)
    length = jax.random.uniform(kl, (batch,), minval=length_range[0], maxval=length_range[1])
    scale = jax.random.uniform(ks, (batch,), minval=scale_range[0], maxval=scale_range[1])
    y = jax.vmap(gp_draw)(jax.random.split(ky, batch), x, length, scale)
    n_c = jax.random.randint(kc, (batch, 1), min_context, max_context + 1)
    idx = jnp.arange(n_points)[None, :]
    mask_c = (idx < n_c).astype(jnp.float32)
    b = Batch(x[..., None], y[..., None], mask_c, 1.0 - mask_c, jnp.zeros_like(x))
    return b, jnp.stack([length, scale], -1)


# ---------------------------------------------------------------- sequences
def series_masks(
    key: jax.Array,
    observed: jax.Array,
    n_chunks: int,
    chunk: int,
    n_forecast: jax.Array,
    frac_range: tuple[float, float] = (0.2, 0.6),
) -> tuple[jax.Array, jax.Array]:
    """Context/target masks ``[B, T]`` for sequences: in the first ``n_chunks - n_forecast`` chunks
    each observed point is a context with probability ~ U(frac_range) per sequence; every other
    observed point is a target. ``observed: [B, T]``, ``n_forecast: [B]``."""
    batch, t = observed.shape
    kf, kb = jax.random.split(key)
    frac = jax.random.uniform(kf, (batch, 1), minval=frac_range[0], maxval=frac_range[1])
    chunk_id = jnp.arange(t)[None, :] // chunk
    in_obs_chunk = chunk_id < (n_chunks - n_forecast[:, None])
    pick = jax.random.uniform(kb, (batch, t)) < frac
    mask_c = (pick & in_obs_chunk).astype(jnp.float32) * observed
    return mask_c, observed * (1.0 - mask_c)


def time_input(t: int) -> jax.Array:
    """Global time scaled to [-1, 1]: ``[T]``."""
    return jnp.linspace(-1.0, 1.0, t)


def oscillator(
    key: jax.Array,
    batch: int,
    n_chunks: int = 20,
    chunk: int = 20,
    n_forecast: int | jax.Array = 1,
    period: float = 20.0,
    freq_walk: float = 0.03,
    amp_walk: float = 0.02,
    noise: float = 0.05,
) -> Batch:
    """Drifting oscillator ``y_t = a_t sin(phi_t) + eps``: log-frequency and log-amplitude follow slow
    random walks (sd ``freq_walk``, ``amp_walk`` per step), ``phi_t`` integrates the frequency.
    ``aux`` holds the true log-frequency. The log-frequency is clipped to periods in [period/3, 3 period]."""
    for name, v in (("batch", batch), ("n_chunks", n_chunks), ("chunk", chunk)):
        _check_pos_int(name, v)
    t = n_chunks * chunk
    kf0, ka0, kp, kf, ka, kn, km, kh = jax.random.split(key, 8)
    base = jnp.log(2 * jnp.pi / period)
    lf0 = base + jax.random.uniform(kf0, (batch, 1), minval=-0.3, maxval=0.3)
    la0 = jax.random.uniform(ka0, (batch, 1), minval=-0.3, maxval=0.3)
    logf = lf0 + jnp.cumsum(freq_walk * jax.random.normal(kf, (batch, t)), axis=1)
    logf = jnp.clip(logf, base - jnp.log(3.0), base + jnp.log(3.0))
    loga = la0 + jnp.cumsum(amp_walk * jax.random.normal(ka, (batch, t)), axis=1)
    phase = jax.random.uniform(kp, (batch, 1), maxval=2 * jnp.pi) + jnp.cumsum(jnp.exp(logf), 1)
    y = jnp.exp(loga) * jnp.sin(phase) + noise * jax.random.normal(kn, (batch, t))
    nf = jnp.broadcast_to(jnp.asarray(n_forecast, jnp.int32), (batch,))
    mask_c, mask_t = series_masks(km, jnp.ones((batch, t)), n_chunks, chunk, nf)
    x = jnp.broadcast_to(time_input(t), (batch, t))[..., None]
    return Batch(x, y[..., None], mask_c, mask_t, logf)


def _tank_rhs(h, u, k1, k2, ku):
    h1, h2 = h[..., 0], h[..., 1]
    q1 = k1 * jnp.sqrt(jnp.maximum(h1, 0.0))
    return jnp.stack([-q1 + ku * u, q1 - k2 * jnp.sqrt(jnp.maximum(h2, 0.0))], -1)


def two_tank(
    key: jax.Array,
    batch: int,
    n_chunks: int = 20,
    chunk: int = 20,
    n_forecast: int | jax.Array = 1,
    k1: float = 0.5,
    k2: float = 0.4,
    ku: float = 0.5,
    h_max: float = 1.5,
    hold: int = 40,
    dt: float = 1.0,
    noise: float = 0.02,
) -> tuple[Batch, jax.Array]:
    """Cascade of two tanks (RK4, levels clipped to [0, h_max]: overflow), piecewise-constant random
    inflow ``u`` held for ``hold`` steps. ``x = [time, u]``, ``y = h2 + noise``. Returns the batch and
    the true levels ``[B, T, 2]``."""
    for name, v in (("batch", batch), ("n_chunks", n_chunks), ("chunk", chunk), ("hold", hold)):
        _check_pos_int(name, v)
    t = n_chunks * chunk
    ku_, kh, kn, km = jax.random.split(key, 4)
    u = jax.random.uniform(ku_, (batch, -(-t // hold)))
    u = jnp.repeat(u, hold, axis=1)[:, :t]
    h0 = jax.random.uniform(kh, (batch, 2), maxval=h_max)

    def step(h, u_t):
        f = lambda hh: _tank_rhs(hh, u_t, k1, k2, ku)  # noqa: E731
        a = f(h)
        b = f(h + 0.5 * dt * a)
        c = f(h + 0.5 * dt * b)
        d = f(h + dt * c)
        h = jnp.clip(h + dt / 6.0 * (a + 2 * b + 2 * c + d), 0.0, h_max)
        return h, h

    _, levels = jax.lax.scan(step, h0, u.T)
    levels = jnp.swapaxes(levels, 0, 1)  # [B, T, 2]
    y = levels[..., 1] + noise * jax.random.normal(kn, (batch, t))
    nf = jnp.broadcast_to(jnp.asarray(n_forecast, jnp.int32), (batch,))
    mask_c, mask_t = series_masks(km, jnp.ones((batch, t)), n_chunks, chunk, nf)
    x = jnp.stack([jnp.broadcast_to(time_input(t), (batch, t)), u], -1)
    return Batch(x, y[..., None], mask_c, mask_t, jnp.zeros((batch, t))), levels


# ---------------------------------------------------------------- shipped real series
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_series(name: str) -> np.ndarray:
    """The shipped series ``name`` (``co2`` or ``sunspots``) as float64 ``[T]`` (NaN = missing),
    after checking the CSV's sha256 against its provenance JSON."""
    if name not in SERIES:
        raise ValueError(f"series={name!r} is not valid; valid: {', '.join(SERIES)}")
    path = DATA_DIR / f"{name}.csv"
    record = json.loads((DATA_DIR / f"{name}.json").read_text())
    if _sha256(path) != record["sha256"]:
        raise ValueError(f"{path} does not match the sha256 recorded in {name}.json")
    col = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=1, dtype=np.float64)
    return np.asarray(col)


class SeriesTask(struct.PyTreeNode):
    """A real series cut into windows of ``n_chunks * chunk`` points, normalised per window.

    ``values: [T]`` float32 with missing points zeroed, ``observed: [T]``; windows start in
    ``[lo, hi - window]``. Each window is shifted by the mean of its context points (known at
    prediction time) and divided by ``scale`` (the pooled within-window sd of the training part)."""

    values: jax.Array
    observed: jax.Array
    scale: float = struct.field(pytree_node=False)
    n_chunks: int = struct.field(pytree_node=False)
    chunk: int = struct.field(pytree_node=False)
    split: int = struct.field(pytree_node=False)


def series_task(name: str, n_chunks: int, chunk: int, train_frac: float = 0.8) -> SeriesTask:
    """Windows over series ``name``; the first ``train_frac`` of the points is the training part."""
    raw = load_series(name)
    window = n_chunks * chunk
    split = int(train_frac * raw.shape[0])
    if split < window or raw.shape[0] - split < window:
        raise ValueError(
            f"n_chunks * chunk = {window} must fit in both parts of {name} ({split} and "
            f"{raw.shape[0] - split} points)"
        )
    train = raw[:split]
    devs = []
    for s in range(0, split - window + 1, chunk):
        w = train[s : s + window]
        devs.append(w[np.isfinite(w)] - np.nanmean(w))
    scale = float(np.std(np.concatenate(devs)))
    obs = np.isfinite(raw)
    return SeriesTask(
        jnp.asarray(np.where(obs, raw, 0.0), jnp.float32),
        jnp.asarray(obs, jnp.float32),
        scale,
        n_chunks,
        chunk,
        split,
    )


def series_windows(
    task: SeriesTask, key: jax.Array, starts: jax.Array, n_forecast: int | jax.Array = 1
) -> Batch:
    """The windows starting at ``starts: [B]`` with random context masks, normalised."""
    window = task.n_chunks * task.chunk
    idx = starts[:, None] + jnp.arange(window)[None, :]
    v, obs = task.values[idx], task.observed[idx]
    nf = jnp.broadcast_to(jnp.asarray(n_forecast, jnp.int32), starts.shape)
    mask_c, mask_t = series_masks(key, obs, task.n_chunks, task.chunk, nf)
    centre = (v * mask_c).sum(1, keepdims=True) / jnp.maximum(mask_c.sum(1, keepdims=True), 1.0)
    y = (v - centre) / task.scale * obs
    x = jnp.broadcast_to(time_input(window), v.shape)[..., None]
    return Batch(x, y[..., None], mask_c, mask_t, jnp.zeros_like(v))


def series_batch(
    task: SeriesTask, key: jax.Array, batch: int, test: bool, n_forecast: int | jax.Array = 1
) -> Batch:
    """``batch`` random windows from the training part (``test=False``) or the test part."""
    window = task.n_chunks * task.chunk
    total = task.values.shape[0]
    lo, hi = (task.split, total - window) if test else (0, task.split - window)
    ks, km = jax.random.split(key)
    starts = jax.random.randint(ks, (batch,), lo, hi + 1)
    return series_windows(task, km, starts, n_forecast)
