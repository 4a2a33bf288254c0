"""Neural-process baselines in flax.linen: CNP, latent NP, and an LSTM; shared pieces used by the RNP.

Every model is called as ``model.apply(params, x, y, mask_c, mask_post, key, posterior)`` with
``x: [B, N, dx]``, ``y: [B, N, 1]``, ``mask_c: [B, N]`` (context points) and ``mask_post: [B, N]`` (the
points a training posterior may read: contexts and targets). It returns a :class:`Pred` with the
predictive mean and sd at every point, ``[B, N, 1]``, and the KL term ``[B]`` of its ELBO (zero for the
deterministic models). ``posterior=False`` (prediction) draws latents from the context-conditioned prior.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

MIN_SD = 0.1  # floor of every predicted and latent sd (the reference notebooks' 0.1 + 0.9 * ...)


@struct.dataclass
class Gaussian:
    mu: jax.Array
    sd: jax.Array


@struct.dataclass
class Pred:
    mu: jax.Array  # [B, N, 1]
    sd: jax.Array  # [B, N, 1]
    kl: jax.Array  # [B]
    state: Any = None  # the RNP's slow states [B, K, ds]; None for the other models


def masked_mean(h: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean of ``h: [..., N, D]`` over the points where ``mask: [..., N]`` is 1, and a has-point flag
    ``[..., 1]``. An empty mask gives zeros (the count is floored at 1); masked points get an exactly zero
    gradient."""
    count = mask.sum(-1, keepdims=True)
    total = (h * mask[..., None]).sum(-2)
    return total / jnp.maximum(count, 1.0), (count > 0).astype(h.dtype)


def gaussian_kl(q: Gaussian, p: Gaussian) -> jax.Array:
    """``KL(q || p)`` of diagonal Gaussians, summed over the last axis."""
    var_ratio = (q.sd / p.sd) ** 2
    return 0.5 * (var_ratio + ((q.mu - p.mu) / p.sd) ** 2 - 1.0 - jnp.log(var_ratio)).sum(-1)


def gauss_logpdf(y: jax.Array, mu: jax.Array, sd: jax.Array) -> jax.Array:
    return -0.5 * (jnp.log(2 * jnp.pi) + 2 * jnp.log(sd) + ((y - mu) / sd) ** 2)


def gaussian_head(out: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Split a decoder output ``[..., 2]`` into a mean and an sd ``0.1 + 0.9 softplus``."""
    return out[..., :1], MIN_SD + (1.0 - MIN_SD) * jax.nn.softplus(out[..., 1:])


class MLP(nn.Module):
    """ReLU MLP; the last layer is linear."""

    features: tuple[int, ...]

    @nn.compact
    def __call__(self, h):
        for i, f in enumerate(self.features):
            h = nn.Dense(f)(h)
            if i < len(self.features) - 1:
                h = nn.relu(h)
        return h


class LatentHead(nn.Module):
    """Pooled summary -> diagonal Gaussian, sd ``0.1 + 0.9 sigmoid`` (the NP reference's latent head)."""

    hidden: int
    dz: int

    @nn.compact
    def __call__(self, h) -> Gaussian:
        h = nn.relu(nn.Dense(self.hidden)(h))
        mu = nn.Dense(self.dz)(h)
        sd = MIN_SD + (1.0 - MIN_SD) * nn.sigmoid(nn.Dense(self.dz)(h))
        return Gaussian(mu, sd)


def _broadcast_points(summary: jax.Array, like: jax.Array) -> jax.Array:
    """``summary: [B, D]`` repeated at every point of ``like: [B, N, .]`` -> ``[B, N, D]``."""
    return jnp.broadcast_to(summary[..., None, :], like.shape[:-1] + summary.shape[-1:])


class NP(nn.Module):
    """Neural process on one set of points: deterministic path (mean-pooled MLP of ``[x, y]`` over the
    contexts) plus, if ``latent``, a global latent ``z`` with prior ``q(z | C)`` and posterior
    ``q(z | C + T)``. ``latent=False`` is the CNP."""

    hidden: int = 64
    dz: int = 64
    latent: bool = True
    n_enc: int = 3

    def setup(self):
        self.det_enc = MLP((self.hidden,) * self.n_enc)
        self.decoder = MLP((self.hidden, self.hidden, 2))
        if self.latent:
            self.lat_enc = MLP((self.hidden,) * self.n_enc)
            self.lat_head = LatentHead(self.hidden, self.dz)

    def __call__(self, x, y, mask_c, mask_post, key, posterior: bool = False) -> Pred:
        xy = jnp.concatenate([x, y], -1)
        r, flag = masked_mean(self.det_enc(xy), mask_c)
        parts, kl = [r, flag], jnp.zeros(x.shape[:-2])
        if self.latent:
            h = self.lat_enc(xy)
            prior = self.lat_head(jnp.concatenate(masked_mean(h, mask_c), -1))
            post = self.lat_head(
                jnp.concatenate(masked_mean(h, jnp.maximum(mask_c, mask_post)), -1)
            )
            q = post if posterior else prior
            z = q.mu + q.sd * jax.random.normal(key, q.mu.shape)
            parts.append(z)
            kl = gaussian_kl(post, prior)
        summary = _broadcast_points(jnp.concatenate(parts, -1), x)
        mu, sd = gaussian_head(self.decoder(jnp.concatenate([summary, x], -1)))
        return Pred(mu, sd, kl)


def CNP(hidden: int = 64, n_enc: int = 3) -> NP:
    """The conditional neural process: an :class:`NP` without the latent path."""
    return NP(hidden=hidden, latent=False, n_enc=n_enc)


def shift_right(a: jax.Array) -> jax.Array:
    """``a: [B, T, D]`` delayed by one step along T (zeros first)."""
    return jnp.concatenate([jnp.zeros_like(a[:, :1]), a[:, :-1]], 1)


class LSTMBaseline(nn.Module):
    """Causal LSTM filter with a Gaussian output: at step t it reads ``x_t``, the previous point's value
    if that point is a context (else 0) and the previous point's context flag, and predicts ``y_t``. It
    sees only earlier contexts, so interpolation and forecasting are the same computation."""

    hidden: int = 64

    @nn.compact
    def __call__(self, x, y, mask_c, mask_post, key, posterior: bool = False) -> Pred:
        prev = shift_right(jnp.concatenate([y * mask_c[..., None], mask_c[..., None]], -1))
        h = nn.RNN(nn.OptimizedLSTMCell(self.hidden))(jnp.concatenate([x, prev], -1))
        mu, sd = gaussian_head(MLP((self.hidden, 2))(h))
        return Pred(mu, sd, jnp.zeros(x.shape[:-2]))
