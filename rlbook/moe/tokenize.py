"""Tokenisers: encoder output [B, h, w, c] -> tokens [B, m, d] (paper (a)'s PerConv, PerFeat, PerSamp)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

TOKENISERS = ("perconv", "perfeat", "persamp")


def per_conv(x: jax.Array) -> jax.Array:
    """One token per spatial position: [B, h*w, c]."""
    b, h, w, c = x.shape
    return x.reshape(b, h * w, c)


def per_feat(x: jax.Array) -> jax.Array:
    """One token per feature map (channel): [B, c, h*w] (the transpose of ``per_conv``)."""
    return jnp.swapaxes(per_conv(x), 1, 2)


def per_samp(x: jax.Array) -> jax.Array:
    """The whole observation as one token: [B, 1, h*w*c]."""
    return x.reshape(x.shape[0], 1, -1)


def tokenize(x: jax.Array, kind: str) -> jax.Array:
    if x.ndim != 4:
        raise ValueError(f"x must be [batch, h, w, c], got shape {x.shape}")
    fns = {"perconv": per_conv, "perfeat": per_feat, "persamp": per_samp}
    if kind not in fns:
        raise ValueError(f"tokens={kind!r}; valid: {', '.join(TOKENISERS)}")
    return fns[kind](x)


def token_shape(h: int, w: int, c: int, kind: str) -> tuple[int, int]:
    """(m, d) for an [h, w, c] encoder output."""
    shapes = {"perconv": (h * w, c), "perfeat": (c, h * w), "persamp": (1, h * w * c)}
    if kind not in shapes:
        raise ValueError(f"tokens={kind!r}; valid: {', '.join(TOKENISERS)}")
    return shapes[kind]
