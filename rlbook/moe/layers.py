"""Mixture-of-experts layers for deep RL: Soft MoE, Top-1 token-choice MoE, expert choice, and a fast 3x3 conv.

Every layer routes **per observation**: tokens ``[batch, m, d]`` are mixed only within a batch row. Experts
are stored as one stacked weight (``w1 [n, d, H]``, ``w2 [n, H, d]``) and applied with einsums.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp


def _check(
    num_experts: int, expert_hidden: int, capacity_factor: float | None = None, x=None
) -> None:
    """Layer arguments, and (when given) that the input is tokens [batch, tokens, d]."""
    if x is not None and x.ndim != 3:
        raise ValueError(f"x must be [batch, tokens, d], got shape {x.shape}")
    if num_experts < 1:
        raise ValueError(f"num_experts={num_experts} must be >= 1")
    if expert_hidden < 1:
        raise ValueError(f"expert_hidden={expert_hidden} must be >= 1")
    if capacity_factor is not None and not capacity_factor > 0:
        raise ValueError(f"capacity_factor={capacity_factor} must be > 0")


def soft_slots(num_tokens: int, num_experts: int, capacity_factor: float = 1.0) -> int:
    """Slots per expert as in Dopamine's Soft MoE: ceil(m * cf / n) (so n * p >= m at cf = 1)."""
    return max(1, math.ceil(num_tokens * capacity_factor / num_experts))


def capacity(num_tokens: int, num_experts: int, capacity_factor: float = 1.0) -> int:
    """Tokens per expert in Top-1 / expert choice: ceil(m * cf / n); must be >= 1."""
    c = math.ceil(num_tokens * capacity_factor / num_experts)
    if c < 1:
        raise ValueError(f"capacity ceil(m*cf/n)={c} must be >= 1 (capacity_factor too small)")
    return c


class Experts(nn.Module):
    """n two-layer MLPs d -> H -> d as stacked weights; input [..., n, s, d] -> [..., n, s, d] (+ hidden).

    Computed expert-major: the slots are moved to [n, rows, d] (rows = every leading index and slot) so that
    each expert is one plain [rows, d] x [d, H] matmul, forward and backward. The einsum on [..., n, s, d]
    directly (``"...nsd,ndh->...nsh"``, the same sums) made XLA:CPU transpose the hidden activations with a
    stride-p inner loop, twice per step; expert-major is ~1.6x faster for Soft MoE-4 fwd+bwd at batch 1024.
    """

    num_experts: int
    hidden: int

    @nn.compact
    def __call__(self, x):
        n, d, h = self.num_experts, x.shape[-1], self.hidden
        if x.ndim < 3 or x.shape[-3] != n:
            raise ValueError(f"x must be [..., num_experts={n}, slots, d], got shape {x.shape}")
        init = nn.initializers.xavier_uniform(in_axis=-2, out_axis=-1, batch_axis=(0,))
        w1 = self.param("w1", init, (n, d, h))
        b1 = self.param("b1", nn.initializers.zeros, (n, h))
        w2 = self.param("w2", init, (n, h, d))
        b2 = self.param("b2", nn.initializers.zeros, (n, d))
        lead = x.shape[:-3] + x.shape[-2:-1]  # every index of a row except the expert's
        xe = jnp.moveaxis(x, -3, 0).reshape(n, -1, d)  # [n, rows, d]
        hid = nn.relu(jnp.einsum("nrd,ndh->nrh", xe, w1) + b1[:, None, :])
        out = jnp.einsum("nrh,nhd->nrd", hid, w2) + b2[:, None, :]

        def back(z):  # [n, rows, k] -> [..., n, s, k]
            return jnp.moveaxis(z.reshape((n,) + lead + z.shape[-1:]), 0, -3)

        return back(out), back(hid)


def _l2n(x, axis):
    return x * jax.lax.rsqrt(jnp.sum(x * x, axis=axis, keepdims=True) + 1e-6)


@jax.custom_vjp
def _bmm(a, b):
    """Per-observation matmul [B, i, j] x [B, j, k] -> [B, i, k] (Soft MoE's D^T X and C Y~).

    Same values as the einsum; the custom backward computes dA = G B^T and dB = A^T G with A^T
    materialised, so that every batched matmul contracts the left operand's last axis: XLA:CPU runs the
    transposed-left form (what autodiff emits for dB) ~4x slower on these 16 x 16 x 64 blocks.
    """
    return jnp.einsum("bij,bjk->bik", a, b)


def _bmm_fwd(a, b):
    return _bmm(a, b), (a, b)


def _bmm_bwd(res, g):
    a, b = res
    a_t = jax.lax.optimization_barrier(jnp.swapaxes(a, 1, 2))  # keep XLA from folding it back
    return jnp.einsum("bik,bjk->bij", g, b), jnp.einsum("bji,bik->bjk", a_t, g)


_bmm.defvjp(_bmm_fwd, _bmm_bwd)


class SoftMoE(nn.Module):
    """Soft MoE (Puigcerver et al. 2023) on tokens [B, m, d] -> ([B, m, d], aux).

    Logits L = X Phi [B, m, n, p]; dispatch D = softmax over tokens (axis m) per slot; slot inputs
    X~ = D^T X; expert j maps its p slots; combine C = softmax of L over all n*p slots per token;
    y = C Y~. With ``normalize`` tokens and Phi columns are l2-normalised over d and a learned scalar
    ``scale`` (init 1) multiplies Phi. ``random_phi`` draws a fresh N(0, 1) Phi per call (routing ablation,
    needs an rng stream 'phi').

    For speed on XLA:CPU the logits are computed once as [B, m, S] (S = n*p), D is formed transposed
    ([B, S, m], softmax over its last axis) and the per-observation products D^T X and C Y~ use ``_bmm``;
    ``tests/test_moe.py`` checks values and gradients against the plain einsum formula above.
    """

    num_experts: int
    expert_hidden: int
    slots_per_expert: int | None = None
    capacity_factor: float = 1.0
    normalize: bool = True
    random_phi: bool = False

    @nn.compact
    def __call__(self, x):
        _check(self.num_experts, self.expert_hidden, self.capacity_factor, x)
        _, m, d = x.shape
        n = self.num_experts
        p = self.slots_per_expert
        p = soft_slots(m, n, self.capacity_factor) if p is None else p
        if p < 1:
            raise ValueError(f"slots_per_expert={p} must be >= 1")
        if self.random_phi:
            phi = jax.random.normal(self.make_rng("phi"), (d, n, p))
        else:
            phi = self.param(
                "phi", nn.initializers.lecun_normal(in_axis=0, out_axis=(1, 2)), (d, n, p)
            )
        xr = x
        if self.normalize:
            scale = self.param("scale", nn.initializers.ones, ())
            xr = _l2n(x, -1)
            phi = scale * _l2n(phi, 0)
        b = x.shape[0]
        logits = jnp.einsum("bmd,ds->bms", xr, phi.reshape(d, n * p))  # [B, m, S], computed once
        # dispatch D (softmax over tokens) is formed transposed, [B, S, m], so that the slot inputs D^T X
        # and every per-observation matmul of the backward pass contract over a last axis (see _bmm)
        dispatch_t = jax.nn.softmax(jnp.swapaxes(logits, 1, 2), axis=-1)
        combine = jax.nn.softmax(logits, axis=-1)  # C: softmax over all n * p slots, [B, m, S]
        slots = _bmm(dispatch_t, x).reshape(b, n, p, d)
        y_slots, hid = Experts(n, self.expert_hidden, name="experts")(slots)
        y = _bmm(combine, y_slots.reshape(b, n * p, d))
        aux = {
            "hidden": hid,
            "dispatch": jnp.swapaxes(dispatch_t, 1, 2).reshape(b, m, n, p),
            "combine": combine.reshape(b, m, n, p),
        }
        return y, aux


class TopKMoE(nn.Module):
    """Top-1 token-choice MoE (Switch / Dopamine ``MoE``) on [B, m, d] -> ([B, m, d], aux).

    Only k = 1 is implemented, as in the released code (the name is the layer family's).

    Router g = softmax(X W_r) per token (optional logit noise N(0, noise_std^2 / n^2), rng 'noise');
    expert e_i = argmax g_i. Each expert keeps the first c = ceil(m * cf / n) tokens of its queue in token
    order; overflow tokens output a zero row. Kept rows y_i = g_i[e_i] * f_{e_i}(x_i).
    aux: hidden [B, n, c, H], gates [B, m, n], expert_index [B, m], kept_mask [B, m], switch_loss,
    importance_cv2, expert_counts [n] (tokens routed per expert, over the batch, before dropping).
    """

    num_experts: int
    expert_hidden: int
    capacity_factor: float = 1.0
    noise_std: float = 0.0

    @nn.compact
    def __call__(self, x):
        _check(self.num_experts, self.expert_hidden, self.capacity_factor, x)
        if not self.noise_std >= 0:
            raise ValueError(f"noise_std={self.noise_std} must be >= 0")
        b, m, d = x.shape
        n = self.num_experts
        c = capacity(m, n, self.capacity_factor)
        r = nn.Dense(n, use_bias=False, name="router")(x)
        if self.noise_std > 0:
            r = r + (self.noise_std / n) * jax.random.normal(self.make_rng("noise"), r.shape)
        gates = jax.nn.softmax(r, axis=-1)
        e = jnp.argmax(gates, axis=-1)  # [B, m]
        onehot = jax.nn.one_hot(e, n, dtype=x.dtype)  # [B, m, n]
        pos = (jnp.cumsum(onehot, axis=1) - 1.0) * onehot  # position in the expert's queue
        kept = (jnp.sum(pos * onehot, -1) < c) & True
        pos_i = jnp.sum(pos, -1).astype(jnp.int32)
        # dispatch tensor [B, m, n, c]: token i -> (expert e_i, slot pos_i) if kept
        disp = onehot[..., None] * jax.nn.one_hot(pos_i, c, dtype=x.dtype)[:, :, None, :]
        disp = disp * kept[..., None, None]
        slots = jnp.einsum("bmnc,bmd->bncd", disp, x)
        y_slots, hid = Experts(n, self.expert_hidden, name="experts")(slots)
        gate_sel = jnp.sum(gates * onehot, -1)
        y = jnp.einsum("bmnc,bncd->bmd", disp, y_slots) * gate_sel[..., None]
        frac = jnp.mean(onehot, axis=(0, 1))
        prob = jnp.mean(gates, axis=(0, 1))
        imp = jnp.sum(gates, axis=1)  # [B, n]
        cv2 = jnp.mean(jnp.var(imp, -1) / (jnp.mean(imp, -1) ** 2 + 1e-12))
        aux = {
            "hidden": hid,
            "gates": gates,
            "expert_index": e,
            "kept_mask": kept,
            "slot_mask": jnp.sum(disp, axis=1) > 0,  # [B, n, c] filled slots
            "switch_loss": n * jnp.sum(frac * prob),
            "importance_cv2": cv2,
            "expert_counts": jnp.sum(onehot, axis=(0, 1)),
        }
        return y, aux


class ExpertChoiceMoE(nn.Module):
    """Expert choice (Zhou et al. 2022) within one observation: G = softmax_n(X W_r); expert j takes its
    top c = ceil(m * cf / n) tokens by G[:, j]; y_i = sum_j 1[i in T_j] G[i, j] f_j(x_i)."""

    num_experts: int
    expert_hidden: int
    capacity_factor: float = 1.0

    @nn.compact
    def __call__(self, x):
        _check(self.num_experts, self.expert_hidden, self.capacity_factor, x)
        b, m, d = x.shape
        n = self.num_experts
        c = min(capacity(m, n, self.capacity_factor), m)
        g = jax.nn.softmax(nn.Dense(n, use_bias=False, name="router")(x), axis=-1)  # [B, m, n]
        top_g, top_i = jax.lax.top_k(jnp.swapaxes(g, 1, 2), c)  # [B, n, c]
        disp = jax.nn.one_hot(top_i, m, dtype=x.dtype)  # [B, n, c, m]
        slots = jnp.einsum("bncm,bmd->bncd", disp, x)
        y_slots, hid = Experts(n, self.expert_hidden, name="experts")(slots)
        y = jnp.einsum("bncm,bncd->bmd", disp * top_g[..., None], y_slots)
        counts = jnp.sum(disp, axis=(0, 1, 2))
        return y, {"hidden": hid, "gates": g, "token_counts": counts}


class PatchConv3x3(nn.Module):
    """3x3 VALID conv as 9 shifted slices + one Dense: equal to ``nn.Conv(F, (3, 3), padding="VALID")``
    with its kernel reshaped row-major to (9C, F), and ~10x faster inside ``lax.scan`` on XLA:CPU."""

    features: int
    stride: int = 1

    @nn.compact
    def __call__(self, x):
        if x.ndim != 4:
            raise ValueError(f"x must be [batch, H, W, C], got shape {x.shape}")
        if self.stride < 1:
            raise ValueError(f"stride={self.stride} must be >= 1")
        h, w = x.shape[1], x.shape[2]
        s = self.stride
        ho, wo = (h - 3) // s + 1, (w - 3) // s + 1
        views = [
            x[:, di : di + s * (ho - 1) + 1 : s, dj : dj + s * (wo - 1) + 1 : s, :]
            for di in range(3)
            for dj in range(3)
        ]
        return nn.Dense(self.features, name="dense")(jnp.concatenate(views, axis=-1))


def conv_params_to_patch(conv_params: dict) -> dict:
    """Map ``nn.Conv`` params {kernel (3, 3, C, F), bias} to ``PatchConv3x3`` params."""
    k = conv_params["kernel"]
    return {"dense": {"kernel": k.reshape(-1, k.shape[-1]), "bias": conv_params["bias"]}}
