"""Representation metrics: dormant-neuron fraction (ReDo), srank, expert utilisation."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def dormant_fraction(
    h: jax.Array, tau: float = 0.0, pool: str = "per_expert", mask=None
) -> jax.Array:
    """Fraction of tau-dormant units (Sokar et al. 2023).

    Score s_i = E|h_i| / mean_k E|h_k|; unit i is dormant if s_i <= tau (at tau = 0: never active).
    ``h``: dense activations [B, H], or MoE expert activations [B, n, p, H]. For MoE, ``per_expert`` scores
    the n*H units (mean over batch and slots), ``pooled`` averages over all slots of all experts first
    (H units; Dopamine's released convention). ``mask`` [B, n, p] marks filled slots (Top-1).
    """
    if tau < 0:
        raise ValueError(f"tau={tau} must be >= 0")
    a = jnp.abs(h)
    if a.ndim == 2:
        act = a.mean(0)
    elif a.ndim == 4:
        w = jnp.ones(a.shape[:3]) if mask is None else mask.astype(a.dtype)
        if pool == "per_expert":
            act = (a * w[..., None]).sum((0, 2)) / jnp.maximum(w.sum((0, 2)), 1.0)[:, None]
        elif pool == "pooled":
            act = (a * w[..., None]).sum((0, 1, 2)) / jnp.maximum(w.sum(), 1.0)
        else:
            raise ValueError(f"pool={pool!r}; valid: 'per_expert', 'pooled'")
        act = act.reshape(-1)
    else:
        raise ValueError(f"h must be [B, H] or [B, n, p, H], got shape {h.shape}")
    score = act / (act.mean() + 1e-9)
    return jnp.mean((score <= tau).astype(jnp.float32))


def srank(features: jax.Array, delta: float = 0.01) -> jax.Array:
    """Effective rank (Kumar et al. 2021): min k with sum_{i<=k} sigma_i / sum sigma >= 1 - delta."""
    if features.ndim != 2:
        raise ValueError(f"features must be [B, F], got shape {features.shape}")
    s = jnp.linalg.svd(features, compute_uv=False)
    c = jnp.cumsum(s) / jnp.maximum(s.sum(), 1e-12)
    return jnp.sum(c < 1.0 - delta) + 1


def entropy(p: jax.Array, axis: int = -1) -> jax.Array:
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.maximum(p, 1e-30)), 0.0), axis=axis)


def soft_utilisation(combine: jax.Array) -> dict:
    """Soft MoE routing stats from combine weights [B, m, n, p]: combine mass per expert (sums to 1),
    mean combine-row entropy (nats; max log(n p)) and its normalised value."""
    b, m, n, p = combine.shape
    mass = combine.sum((0, 1, 3)) / (b * m)
    ent = entropy(combine.reshape(b, m, n * p)).mean()
    return {
        "expert_mass": mass,
        "combine_entropy": ent,
        "combine_entropy_norm": ent / jnp.log(n * p),
    }


def top1_utilisation(expert_index: jax.Array, kept_mask: jax.Array, num_experts: int) -> dict:
    """Top-1 token fraction per expert, dropped fraction, normalised histogram entropy."""
    frac = jnp.mean(jax.nn.one_hot(expert_index, num_experts), axis=tuple(range(expert_index.ndim)))
    ent = entropy(frac) / jnp.log(max(num_experts, 2))
    return {"token_fraction": frac, "dropped_fraction": 1.0 - kept_mask.mean(), "entropy_norm": ent}
