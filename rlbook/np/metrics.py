"""Scores of predictive distributions: per-point log-likelihood, MSE, interval coverage.

Latent models predict a mixture over S latent samples: ``mus, sds: [S, B, N, 1]``. The *joint* per-point
log-likelihood of a sequence's targets is ``log mean_s prod_i p(y_i | z_s)`` divided by the number of
targets; the *marginal* one averages ``log mean_s p(y_i | z_s)`` over targets (compare it with factorised
scores such as the CNP's or the GP's marginal). Coverage uses the mixture's CDF at ``y``: the central
68% (95%) interval covers ``y`` when that CDF lies within 0.5 +- 0.34 (0.475).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm

from rlbook.np.models import gauss_logpdf


@struct.dataclass
class Scores:
    joint_ll: jax.Array  # mean over sequences of the joint per-point target log-likelihood
    marginal_ll: jax.Array  # mean over target points of the marginal log-likelihood
    mse: jax.Array  # of the predictive mean
    coverage68: jax.Array
    coverage95: jax.Array
    n_points: jax.Array


def score(mus: jax.Array, sds: jax.Array, y: jax.Array, mask: jax.Array) -> Scores:
    """Scores of S-sample mixtures ``mus, sds: [S, B, N, 1]`` at targets ``y: [B, N, 1]`` where
    ``mask: [B, N]`` is 1. Sequences without a target are left out of the joint score."""
    if mus.ndim != 4 or mus.shape != sds.shape or mus.shape[1:] != y.shape:
        raise ValueError(f"mus/sds must be [S, B, N, 1] matching y {y.shape}, got {mus.shape}")
    n_samples = mus.shape[0]
    ll = gauss_logpdf(y[None], mus, sds)[..., 0]  # [S, B, N]
    count = mask.sum(-1)
    joint = logsumexp((ll * mask).sum(-1), axis=0) - jnp.log(n_samples)  # [B]
    has = (count > 0).astype(ll.dtype)
    joint_pp = (has * joint / jnp.maximum(count, 1.0)).sum() / jnp.maximum(has.sum(), 1.0)
    marg = logsumexp(ll, axis=0) - jnp.log(n_samples)  # [B, N]
    total = jnp.maximum(mask.sum(), 1.0)
    mean = mus.mean(0)[..., 0]
    mse = (((mean - y[..., 0]) ** 2) * mask).sum() / total
    cdf = norm.cdf((y[None] - mus) / sds)[..., 0].mean(0)
    dev = jnp.abs(cdf - 0.5)
    return Scores(
        joint_pp,
        (marg * mask).sum() / total,
        mse,
        ((dev < 0.34) * mask).sum() / total,
        ((dev < 0.475) * mask).sum() / total,
        mask.sum(),
    )


def to_floats(s: Scores) -> dict[str, float]:
    return {
        "joint_ll": float(s.joint_ll),
        "marginal_ll": float(s.marginal_ll),
        "mse": float(s.mse),
        "rmse": float(jnp.sqrt(s.mse)),
        "coverage68": float(s.coverage68),
        "coverage95": float(s.coverage95),
    }
