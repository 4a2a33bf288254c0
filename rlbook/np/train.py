"""Training and prediction for every model of the chapter: ``make_train(config) -> train(key)``.

One frozen :class:`NPConfig` names the model (``cnp``, ``np``, ``rnp``, ``lstm``) and the task (``gp``,
``oscillator``, ``two_tank``, ``co2``, ``sunspots``). Batches are drawn inside the jitted scan (fresh GP
curves / simulated sequences / random training windows of a real series every step), so
``jax.jit(jax.vmap(make_train(cfg)))(keys)`` trains several seeds at once. The loss is the negative ELBO
per fitted point (context and target points, as in the NP reference): ``-(sum log p(y | z ~ q) - KL) / n``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import optax
from flax import struct

from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.np import data
from rlbook.np.metrics import Scores, score
from rlbook.np.models import NP, LSTMBaseline, Pred, gauss_logpdf
from rlbook.np.rnp import RNP, check_series_shapes
from rlbook.rl import make_optimizer

MODELS = ("cnp", "np", "rnp", "lstm")
TASKS = ("gp", "oscillator", "two_tank", "co2", "sunspots")
SEQUENCE_TASKS = TASKS[1:]


@dataclasses.dataclass(frozen=True)
class NPConfig(Config):
    PRESETS: ClassVar[dict] = {
        "tiny": dict(hidden=8, dz=4, ds=8, steps=3, batch=2, lr=1e-3),  # smoke test
        "book": dict(hidden=64, dz=32, ds=64, steps=2000, batch=16, lr=1e-3),
        # the NP reference notebooks' sizes; the RNP's own sizes are not known (reconstruction)
        "paper": dict(hidden=128, dz=128, ds=128, steps=100_000, batch=16, lr=1e-4),
    }
    model: str = "rnp"
    task: str = "oscillator"
    hidden: int = 64
    dz: int = 32  # latent size (NP: global z, RNP: per-chunk z)
    ds: int = 64  # RNP slow-state (GRU) size
    steps: int = 2000
    batch: int = 16
    lr: float = 1e-3
    max_grad_norm: float = 1.0
    chunk: int = 20  # L: fast steps per chunk
    n_chunks: int = 20  # K
    max_forecast: int = 2  # training sequences end with U{1..max_forecast} context-free chunks
    n_train_seq: int = (
        0  # two_tank: size of the fixed training pool (0 = fresh sequences every step)
    )
    gp_points: int = 50

    def validate(self) -> None:
        check_choice("model", self.model, MODELS)
        check_choice("task", self.task, TASKS)
        check_int(self, "hidden", "dz", "ds", "steps", "batch", "chunk", "n_chunks", "max_forecast")
        check_int(self, "n_train_seq", lo=0)
        check_int(self, "gp_points", lo=4)
        check_float(self, "lr", lo=0.0, hi=1.0, lo_open=True)
        check_float(self, "max_grad_norm", lo=0.0, lo_open=True)
        if self.max_forecast >= self.n_chunks:
            raise ValueError(f"max_forecast={self.max_forecast} must be < n_chunks={self.n_chunks}")
        if self.task == "gp" and self.model in ("rnp", "lstm"):
            raise ValueError(f"model={self.model!r} needs a sequence task; valid: {SEQUENCE_TASKS}")


class TrainState(struct.PyTreeNode):
    params: Any
    opt_state: Any


class TrainOut(struct.PyTreeNode):
    params: Any
    losses: jax.Array  # [steps]


def make_model(cfg: NPConfig):
    if cfg.model == "rnp":
        return RNP(chunk=cfg.chunk, hidden=cfg.hidden, dz=cfg.dz, ds=cfg.ds)
    if cfg.model == "lstm":
        return LSTMBaseline(hidden=cfg.hidden)
    return NP(hidden=cfg.hidden, dz=cfg.dz, latent=cfg.model == "np")


def make_sampler(cfg: NPConfig, test: bool = False) -> Callable[[jax.Array], data.Batch]:
    """``sample(key) -> Batch`` of ``cfg.batch`` training (or test) examples of ``cfg.task``."""
    kw = dict(n_chunks=cfg.n_chunks, chunk=cfg.chunk)

    def n_forecast(key):
        return jax.random.randint(key, (cfg.batch,), 1, cfg.max_forecast + 1)

    if cfg.task == "gp":
        return lambda key: data.gp_curves(key, cfg.batch, cfg.gp_points)[0]
    if cfg.task == "oscillator":
        return lambda key: data.oscillator(key, cfg.batch, n_forecast=n_forecast(key), **kw)
    if cfg.task == "two_tank":
        if cfg.n_train_seq == 0:
            return lambda key: data.two_tank(key, cfg.batch, n_forecast=n_forecast(key), **kw)[0]
        # a fixed pool: the same n_train_seq sequences, fresh context masks every step
        pool = data.two_tank(jax.random.key(1_000_003 if test else 7), cfg.n_train_seq, **kw)[0]

        def from_pool(key):
            ki, km = jax.random.split(key)
            idx = jax.random.randint(ki, (cfg.batch,), 0, cfg.n_train_seq)
            obs = jnp.ones(pool.mask_c[idx].shape)
            mc, mt = data.series_masks(km, obs, cfg.n_chunks, cfg.chunk, n_forecast(key))
            return data.Batch(pool.x[idx], pool.y[idx], mc, mt, pool.aux[idx])

        return from_pool
    task = data.series_task(cfg.task, cfg.n_chunks, cfg.chunk)
    return lambda key: data.series_batch(task, key, cfg.batch, test, n_forecast(key))


def nelbo(pred: Pred, y: jax.Array, mask_fit: jax.Array) -> jax.Array:
    """Negative ELBO per fitted point, averaged over the batch."""
    ll = (gauss_logpdf(y, pred.mu, pred.sd)[..., 0] * mask_fit).sum(-1)
    return -((ll - pred.kl) / jnp.maximum(mask_fit.sum(-1), 1.0)).mean()


def apply_model(model, params, batch: data.Batch, key, posterior: bool) -> Pred:
    fit = jnp.maximum(batch.mask_c, batch.mask_t)
    return model.apply(params, batch.x, batch.y, batch.mask_c, fit, key, posterior)


def make_train(cfg: NPConfig) -> Callable[[jax.Array], TrainOut]:
    """``train(key) -> TrainOut(params, losses)``: ``cfg.steps`` Adam steps (global-norm clipping)."""
    model, sample = make_model(cfg), make_sampler(cfg)
    if cfg.model == "rnp":
        b0 = jax.eval_shape(sample, jax.random.key(0))
        check_series_shapes(b0.x, b0.y, b0.mask_c, cfg.chunk)
    tx = make_optimizer(cfg.lr, cfg.max_grad_norm, eps=1e-8)

    def loss_fn(params, batch, key):
        pred = apply_model(model, params, batch, key, posterior=True)
        return nelbo(pred, batch.y, jnp.maximum(batch.mask_c, batch.mask_t))

    def step(state: TrainState, key) -> tuple[TrainState, jax.Array]:
        kb, kz = jax.random.split(key)
        loss, grads = jax.value_and_grad(loss_fn)(state.params, sample(kb), kz)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        return TrainState(optax.apply_updates(state.params, updates), opt_state), loss

    def train(key: jax.Array) -> TrainOut:
        k_init, k_batch, k_loop = jax.random.split(key, 3)
        b = sample(k_batch)
        params = model.init(k_init, b.x, b.y, b.mask_c, b.mask_t, k_init, True)
        state = TrainState(params, tx.init(params))
        state, losses = jax.lax.scan(step, state, jax.random.split(k_loop, cfg.steps))
        return TrainOut(state.params, losses)

    return train


def predict(cfg: NPConfig, params, batch: data.Batch, key, n_samples: int = 32) -> Pred:
    """Predictions from the context-conditioned prior, ``mu, sd: [S, B, N, 1]`` (S = 1 for the
    deterministic models)."""
    model = make_model(cfg)
    n = n_samples if cfg.model in ("np", "rnp") else 1
    return jax.vmap(lambda k: apply_model(model, params, batch, k, posterior=False))(
        jax.random.split(key, n)
    )


def evaluate(cfg: NPConfig, params, batch: data.Batch, key, n_samples: int = 32) -> dict:
    """Scores on the context points and on the target points, split for sequences into interpolation
    (targets in chunks with context) and forecast (the context-free chunks at the end)."""
    pred = predict(cfg, params, batch, key, n_samples)
    out = {"context": score(pred.mu, pred.sd, batch.y, batch.mask_c)}
    if cfg.task == "gp":
        out["target"] = score(pred.mu, pred.sd, batch.y, batch.mask_t)
        return out
    b, t = batch.mask_c.shape
    chunk_has = batch.mask_c.reshape(b, -1, cfg.chunk).max(-1, keepdims=True)
    in_obs = jnp.broadcast_to(chunk_has, (b, t // cfg.chunk, cfg.chunk)).reshape(b, t)
    out["interp"] = score(pred.mu, pred.sd, batch.y, batch.mask_t * in_obs)
    out["forecast"] = score(pred.mu, pred.sd, batch.y, batch.mask_t * (1.0 - in_obs))
    return out


def eval_batch(cfg: NPConfig, key, batch_size: int, n_forecast: int = 1) -> data.Batch:
    """A test batch with exactly ``n_forecast`` context-free chunks at the end."""
    kw = dict(n_chunks=cfg.n_chunks, chunk=cfg.chunk, n_forecast=n_forecast)
    if cfg.task == "gp":
        return data.gp_curves(key, batch_size, cfg.gp_points)[0]
    if cfg.task == "oscillator":
        return data.oscillator(key, batch_size, **kw)
    if cfg.task == "two_tank":
        return data.two_tank(key, batch_size, **kw)[0]
    task = data.series_task(cfg.task, cfg.n_chunks, cfg.chunk)
    return data.series_batch(task, key, batch_size, True, n_forecast)


__all__ = [
    "NPConfig",
    "Scores",
    "TrainOut",
    "eval_batch",
    "evaluate",
    "make_model",
    "make_sampler",
    "make_train",
    "predict",
]
