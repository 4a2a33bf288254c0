"""PPO's clipped losses and the categorical-policy helpers every discrete-action learner uses."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def clipped_policy_loss(
    logp_new: jax.Array, logp_old: jax.Array, advantages: jax.Array, clip_eps: float
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """PPO's clipped surrogate, to be minimised. Returns (loss, {approx_kl, clip_frac})."""
    ratio = jnp.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -jnp.mean(jnp.minimum(unclipped, clipped))
    stats = {
        "approx_kl": jnp.mean((ratio - 1.0) - (logp_new - logp_old)),
        "clip_frac": jnp.mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32)),
    }
    return loss, stats


def clipped_value_loss(
    v_new: jax.Array, v_old: jax.Array, targets: jax.Array, clip_eps: float | None
) -> jax.Array:
    """0.5 * MSE to the targets; with ``clip_eps`` the PureJaxRL clipped variant (max of the two)."""
    if clip_eps is None:
        return 0.5 * jnp.mean((v_new - targets) ** 2)
    v_clipped = v_old + jnp.clip(v_new - v_old, -clip_eps, clip_eps)
    return 0.5 * jnp.mean(jnp.maximum((v_new - targets) ** 2, (v_clipped - targets) ** 2))


def _take(logp_all: jax.Array, actions: jax.Array) -> jax.Array:
    return jnp.take_along_axis(logp_all, actions[..., None].astype(jnp.int32), -1)[..., 0]


def _entropy(logp_all: jax.Array, mask: jax.Array | None) -> jax.Array:
    terms = jnp.exp(logp_all) * logp_all
    if mask is not None:
        terms = jnp.where(mask, terms, 0.0)
    return -jnp.sum(terms, -1)


def categorical_logp(logits: jax.Array, actions: jax.Array) -> jax.Array:
    """log pi(a | s) for integer ``actions`` [...] under ``logits`` [..., A]."""
    return _take(jax.nn.log_softmax(logits), actions)


def categorical_entropy(logits: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """Entropy of the categorical distribution with ``logits`` [..., A], shape [...].

    With ``mask`` [..., A] (True = available action) only the available actions' terms are summed (the
    masked logits of unavailable actions carry no probability but may be very negative).
    """
    return _entropy(jax.nn.log_softmax(logits), mask)


def categorical_logp_entropy(
    logits: jax.Array, actions: jax.Array, mask: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """``(categorical_logp, categorical_entropy)`` from one log-softmax (what a policy loss needs: one
    backward path through the softmax, as in PureJaxRL)."""
    logp_all = jax.nn.log_softmax(logits)
    return _take(logp_all, actions), _entropy(logp_all, mask)
