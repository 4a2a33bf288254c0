"""An RNP-style model built from the description of Recurrent Neural Processes (Willi et al., 2019).

No code was published with the paper; this is rlbook's reconstruction. A series on a fast clock is cut
into ``K`` chunks of ``L`` points (the slow clock k). Per chunk k:

* ``r_k``: masked mean of an MLP of ``[x_rel, u, y]`` over chunk k's *context* points (+ has-context flag);
* slow state ``s_k = GRU(s_{k-1}, [r_{k-1}, flag_{k-1}])`` (so ``s_k`` reads contexts of chunks < k only);
* chunk latent ``z_k``: prior ``p(z_k | s_k, C_k)``, posterior ``q(z_k | s_k, C_k + T_k)``;
* decoder ``p(y_t | x_rel, u_t, z_k, s_k, r_k)``, Gaussian with sd ``0.1 + 0.9 softplus``.

Given the slow states, chunks are conditionally independent: everything but the GRU runs batched over
all chunks, and the recurrence has K << T steps. ``x_rel = (position in chunk) / L``; exogenous
inputs ``u`` are ``x[..., 1:]``; the global time ``x[..., 0]`` is not used.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from rlbook.np.models import MLP, LatentHead, Pred, gaussian_head, gaussian_kl, masked_mean


def check_series_shapes(x, y, mask_c, chunk: int) -> int:
    """Number of chunks of a ``[B, T, .]`` batch; ``ValueError`` unless the shapes agree and T is a
    multiple of ``chunk``."""
    if x.ndim != 3 or y.ndim != 3 or y.shape[-1] != 1:
        raise ValueError(f"x must be [B, T, dx] and y [B, T, 1], got {x.shape} and {y.shape}")
    if x.shape[:2] != y.shape[:2] or mask_c.shape != x.shape[:2]:
        raise ValueError(f"x {x.shape}, y {y.shape} and mask_c {mask_c.shape} disagree on [B, T]")
    if chunk < 1 or x.shape[1] % chunk:
        raise ValueError(f"T={x.shape[1]} must be a positive multiple of chunk={chunk}")
    return x.shape[1] // chunk


class RNP(nn.Module):
    """RNP-style model; ``chunk`` is L, the number of fast steps per slow step."""

    chunk: int = 20
    hidden: int = 64
    dz: int = 32
    ds: int = 64

    def setup(self):
        h = self.hidden
        self.enc = MLP((h, h, h))
        self.lat_enc = MLP((h, h, h))
        self.slow = nn.RNN(nn.GRUCell(self.ds))
        self.lat_head = LatentHead(h, self.dz)
        self.decoder = MLP((h, h, 2))

    def _points(self, x, y):
        """Per-point inputs ``[B, K, L, .]``: features ``[x_rel, u]`` and encoder inputs ``[x_rel, u, y]``."""
        b, t, _ = x.shape
        k, length = t // self.chunk, self.chunk
        x_rel = jnp.broadcast_to((jnp.arange(length) / length)[:, None], (b, k, length, 1))
        feat = jnp.concatenate([x_rel, x[..., 1:].reshape(b, k, length, -1)], -1)
        return feat, jnp.concatenate([feat, y.reshape(b, k, length, 1)], -1)

    def _chunk_latents(self, hl, s, mask_c, mask_post):
        """Prior and posterior of z for chunks given pooled latent features and slow states."""
        prior = self.lat_head(jnp.concatenate([s, *masked_mean(hl, mask_c)], -1))
        both = jnp.maximum(mask_c, mask_post)
        post = self.lat_head(jnp.concatenate([s, *masked_mean(hl, both)], -1))
        return prior, post

    def _decode(self, feat, z, s, r, flag):
        summary = jnp.concatenate([z, s, r, flag], -1)
        summary = jnp.broadcast_to(summary[..., None, :], feat.shape[:-1] + summary.shape[-1:])
        return gaussian_head(self.decoder(jnp.concatenate([summary, feat], -1)))

    def __call__(self, x, y, mask_c, mask_post, key, posterior: bool = False) -> Pred:
        """Batched over chunks. Shapes as in ``rlbook.np.models``; T must be a multiple of ``chunk``."""
        b, t, _ = x.shape
        k = t // self.chunk
        feat, inp = self._points(x, y)
        mc, mp = mask_c.reshape(b, k, -1), mask_post.reshape(b, k, -1)
        r, flag = masked_mean(self.enc(inp), mc)  # [B, K, H], [B, K, 1]
        s = self.slow(_shifted(r, flag))  # [B, K, ds]: s_k has read chunks < k
        prior, post = self._chunk_latents(self.lat_enc(inp), s, mc, mp)
        q = post if posterior else prior
        z = q.mu + q.sd * jax.random.normal(key, q.mu.shape)  # [B, K, dz]
        mu, sd = self._decode(feat, z, s, r, flag)
        kl = gaussian_kl(post, prior).sum(-1)
        return Pred(mu.reshape(b, t, 1), sd.reshape(b, t, 1), kl, s)

    def loop(self, x, y, mask_c, mask_post, key, posterior: bool = False) -> Pred:
        """Reference: the same model one chunk at a time (a Python loop; used by the tests only)."""
        b, t, _ = x.shape
        k = t // self.chunk
        feat, inp = self._points(x, y)
        mc, mp = mask_c.reshape(b, k, -1), mask_post.reshape(b, k, -1)
        eps = jax.random.normal(key, (b, k, self.dz))
        carry = jnp.zeros((b, self.ds))
        msg = jnp.zeros((b, self.hidden + 1))
        mus, sds, kls, states = [], [], [], []
        for i in range(k):
            carry, out = self.slow(msg[:, None], initial_carry=carry, return_carry=True)
            s = out[:, 0]
            r, flag = masked_mean(self.enc(inp[:, i]), mc[:, i])
            prior, post = self._chunk_latents(self.lat_enc(inp[:, i]), s, mc[:, i], mp[:, i])
            q = post if posterior else prior
            mu, sd = self._decode(feat[:, i], q.mu + q.sd * eps[:, i], s, r, flag)
            mus.append(mu)
            sds.append(sd)
            kls.append(gaussian_kl(post, prior))
            states.append(s)
            msg = jnp.concatenate([r, flag], -1)
        mu, sd = jnp.stack(mus, 1).reshape(b, t, 1), jnp.stack(sds, 1).reshape(b, t, 1)
        return Pred(mu, sd, jnp.stack(kls, 1).sum(-1), jnp.stack(states, 1))


def _shifted(r: jax.Array, flag: jax.Array) -> jax.Array:
    """The GRU's input at slow step k is chunk k-1's summary (zeros at k = 0): ``[B, K, H + 1]``."""
    msg = jnp.concatenate([r, flag], -1)
    return jnp.concatenate([jnp.zeros_like(msg[:, :1]), msg[:, :-1]], 1)
