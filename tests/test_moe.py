import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.moe import (
    ExpertChoiceMoE,
    PatchConv3x3,
    SoftMoE,
    TopKMoE,
    capacity,
    dormant_fraction,
    soft_slots,
    srank,
    token_shape,
    tokenize,
)
from rlbook.moe.layers import conv_params_to_patch


def _x(b=3, m=10, d=8, seed=0):
    return jax.random.normal(jax.random.key(seed), (b, m, d))


@pytest.mark.parametrize("normalize", [True, False])
def test_soft_moe_weights_sum_to_one(normalize):
    x = _x()
    layer = SoftMoE(4, 16, normalize=normalize)
    p = layer.init(jax.random.key(1), x)
    y, aux = layer.apply(p, x)
    assert y.shape == x.shape
    np.testing.assert_allclose(aux["dispatch"].sum(1), 1.0, atol=1e-5)  # over tokens, per slot
    np.testing.assert_allclose(aux["combine"].sum((2, 3)), 1.0, atol=1e-5)  # over slots, per token
    assert aux["dispatch"].shape[2:] == (4, soft_slots(10, 4))


@pytest.mark.parametrize("normalize", [True, False])
def test_soft_moe_matches_numpy_loop(normalize):
    x = _x(2, 5, 6)
    layer = SoftMoE(3, 7, slots_per_expert=2, normalize=normalize)
    p = layer.init(jax.random.key(2), x)
    y, _ = layer.apply(p, x)
    q = jax.tree_util.tree_map(np.asarray, p["params"])
    phi = q["phi"].astype(np.float64)
    e = q["experts"]
    for b in range(2):
        X = np.asarray(x[b], np.float64)
        Xr, P = X, phi
        if normalize:
            Xr = X / np.sqrt((X**2).sum(-1, keepdims=True) + 1e-6)
            P = q["scale"] * phi / np.sqrt((phi**2).sum(0, keepdims=True) + 1e-6)
        L = np.einsum("md,dnp->mnp", Xr, P)
        D = np.exp(L - L.max(0)) / np.exp(L - L.max(0)).sum(0)
        Lf = L.reshape(5, -1)
        C = (
            np.exp(Lf - Lf.max(1, keepdims=True))
            / np.exp(Lf - Lf.max(1, keepdims=True)).sum(1, keepdims=True)
        ).reshape(L.shape)
        out = np.zeros_like(X)
        for j in range(3):
            for s in range(2):
                xs = (D[:, j, s, None] * X).sum(0)
                ys = np.maximum(xs @ e["w1"][j] + e["b1"][j], 0) @ e["w2"][j] + e["b2"][j]
                out += C[:, j, s, None] * ys
        np.testing.assert_allclose(y[b], out, rtol=1e-4, atol=1e-5)


def test_soft_moe_permutation_and_batch_independence():
    x = _x(2, 10, 8)
    layer = SoftMoE(4, 16)
    p = layer.init(jax.random.key(1), x)
    y, _ = layer.apply(p, x)
    perm = np.random.default_rng(0).permutation(10)
    yp, _ = layer.apply(p, x[:, perm])
    np.testing.assert_allclose(yp, y[:, perm], atol=1e-5)
    x2 = x.at[1].set(0.0)
    np.testing.assert_allclose(layer.apply(p, x2)[0][0], y[0], atol=1e-6)


def test_soft_moe_zero_phi_averages():
    x = _x(1, 6, 4)
    layer = SoftMoE(2, 5, slots_per_expert=3, normalize=False)
    p = layer.init(jax.random.key(1), x)
    p = jax.tree_util.tree_map(lambda a: a, p)
    p["params"]["phi"] = jnp.zeros_like(p["params"]["phi"])
    y, aux = layer.apply(p, x)
    np.testing.assert_allclose(aux["dispatch"], 1 / 6, atol=1e-6)
    np.testing.assert_allclose(aux["combine"], 1 / 6, atol=1e-6)
    np.testing.assert_allclose(y[0], jnp.broadcast_to(y[0, 0], y[0].shape), atol=1e-6)


def test_top1_drops_exactly_overflow_tokens():
    m, n = 10, 2
    x = _x(2, m, 8)
    layer = TopKMoE(n, 16, capacity_factor=1.0)
    p = layer.init(jax.random.key(3), x)
    # force routing: router kernel makes tokens go to expert by sign of feature 0
    w = np.zeros((8, n), np.float32)
    w[0] = [10.0, -10.0]
    p["params"]["router"]["kernel"] = jnp.asarray(w)
    y, aux = layer.apply(p, x)
    c = capacity(m, n)
    e = np.asarray(aux["expert_index"])
    kept = np.asarray(aux["kept_mask"])
    for b in range(2):
        for j in range(n):
            idx = np.where(e[b] == j)[0]
            assert kept[b, idx[:c]].all() and not kept[b, idx[c:]].any()
        dropped = ~kept[b]
        np.testing.assert_array_equal(np.asarray(y)[b, dropped], 0.0)
        assert np.all(np.abs(np.asarray(y)[b, kept[b]]).sum(-1) > 0)
    # kept rows = gate * expert output
    q = p["params"]["experts"]
    b, i = np.argwhere(kept)[0]
    j = e[b, i]
    f = jax.nn.relu(x[b, i] @ q["w1"][j] + q["b1"][j]) @ q["w2"][j] + q["b2"][j]
    np.testing.assert_allclose(y[b, i], aux["gates"][b, i, j] * f, rtol=1e-5, atol=1e-6)
    assert aux["expert_counts"].sum() == 2 * m


def test_switch_loss_uniform_is_one():
    x = _x(2, 8, 4)
    layer = TopKMoE(4, 8)
    p = layer.init(jax.random.key(0), x)
    p["params"]["router"]["kernel"] = jnp.zeros((4, 4))
    _, aux = layer.apply(p, x)
    # zero logits: argmax is expert 0 for all, P uniform -> loss = n * 1 * 1/n = 1; importance CV^2 = 0
    assert float(aux["switch_loss"]) == pytest.approx(1.0)
    assert float(aux["importance_cv2"]) == pytest.approx(0.0, abs=1e-6)


def test_expert_choice_capacity():
    x = _x(2, 12, 4)
    layer = ExpertChoiceMoE(3, 8)
    p = layer.init(jax.random.key(0), x)
    y, aux = layer.apply(p, x)
    assert y.shape == x.shape and aux["hidden"].shape == (2, 3, 4, 8)


def test_bad_arguments():
    x = _x()
    with pytest.raises(ValueError, match="num_experts"):
        SoftMoE(0, 8).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="capacity"):
        TopKMoE(4, 8, capacity_factor=0.0).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="batch, tokens"):
        SoftMoE(2, 8).init(jax.random.key(0), x[0])
    with pytest.raises(ValueError, match="tokens"):
        tokenize(jnp.zeros((1, 4, 4, 2)), "perpixel")
    with pytest.raises(ValueError, match="tau"):
        dormant_fraction(jnp.ones((3, 4)), tau=-1)


def test_patch_conv_equals_flax_conv():
    x = (jax.random.uniform(jax.random.key(0), (64, 10, 10, 4)) < 0.3).astype(jnp.float32)
    conv = nn.Conv(16, (3, 3), padding="VALID")
    pc = conv.init(jax.random.key(1), x)
    pc["params"]["bias"] = jax.random.normal(jax.random.key(2), (16,))
    pp = {"params": conv_params_to_patch(pc["params"])}
    patch = PatchConv3x3(16)
    np.testing.assert_allclose(patch.apply(pp, x), conv.apply(pc, x), atol=1e-5)
    g1 = jax.grad(lambda z: jnp.sum(jnp.sin(conv.apply(pc, z))))(x)
    g2 = jax.grad(lambda z: jnp.sum(jnp.sin(patch.apply(pp, z))))(x)
    np.testing.assert_allclose(g1, g2, atol=1e-5)
    conv2 = nn.Conv(8, (3, 3), strides=2, padding="VALID")
    pc2 = conv2.init(jax.random.key(3), x)
    np.testing.assert_allclose(
        PatchConv3x3(8, 2).apply({"params": conv_params_to_patch(pc2["params"])}, x),
        conv2.apply(pc2, x),
        atol=1e-5,
    )


def test_tokenisers():
    z = jax.random.normal(jax.random.key(0), (2, 8, 8, 16))
    for kind in ("perconv", "perfeat", "persamp"):
        assert tokenize(z, kind).shape[1:] == token_shape(8, 8, 16, kind)
    np.testing.assert_array_equal(
        tokenize(z, "perfeat"), jnp.swapaxes(tokenize(z, "perconv"), 1, 2)
    )


def test_dormant_fraction():
    assert float(dormant_fraction(jnp.zeros((5, 7)))) == 1.0
    assert float(dormant_fraction(jnp.full((5, 7), 0.3))) == 0.0
    h = jnp.array([[1.0, 2.0, 0.0, 0.1]] * 3)  # mean 0.775; scores 1.29, 2.58, 0, 0.129
    assert float(dormant_fraction(h, 0.0)) == 0.25
    assert float(dormant_fraction(h, 0.25)) == 0.5
    assert float(dormant_fraction(7.0 * h, 0.25)) == 0.5
    moe = jnp.zeros((4, 2, 3, 5)).at[:, 0, :, :].set(1.0)
    assert float(dormant_fraction(moe, pool="per_expert")) == 0.5
    assert float(dormant_fraction(moe, pool="pooled")) == 0.0


def test_srank():
    s = jnp.array([10.0, 5.0, 1.0, 0.01])
    assert int(srank(jnp.diag(s))) == 3
    q, _ = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (4, 4)))
    assert int(srank(q @ jnp.diag(s))) == 3
    assert int(srank(jnp.ones((6, 3)))) == 1


# --- differential tests for reformulations made for speed (old formula vs new, same parameters) ---------


def _experts_einsum(p, x):
    """The original ``Experts`` maths: einsums on [..., n, s, d] directly."""
    hid = jax.nn.relu(jnp.einsum("...nsd,ndh->...nsh", x, p["w1"]) + p["b1"][:, None, :])
    return jnp.einsum("...nsh,nhd->...nsd", hid, p["w2"]) + p["b2"][:, None, :], hid


@pytest.mark.parametrize("shape", [(3, 2, 5), (4, 3, 2, 5), (2, 4, 3, 1, 5)])
def test_experts_expert_major_equals_einsum(shape):
    from rlbook.moe.layers import Experts

    x = jax.random.normal(jax.random.key(0), shape)
    layer = Experts(shape[-3], 7)
    p = layer.init(jax.random.key(1), x)
    out, hid = layer.apply(p, x)
    ref_out, ref_hid = _experts_einsum(p["params"], x)
    assert out.shape == x.shape and hid.shape == shape[:-1] + (7,)
    np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hid, ref_hid, rtol=1e-5, atol=1e-5)
    g = jax.grad(lambda p, x: jnp.sum(jnp.sin(layer.apply(p, x)[0])), argnums=(0, 1))(p, x)
    g_ref = jax.grad(
        lambda q, x: jnp.sum(jnp.sin(_experts_einsum(q["params"], x)[0])), argnums=(0, 1)
    )(p, x)
    for a, b in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(g_ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        layer.apply(p, x[..., :1, :, :] if shape[-3] > 1 else jnp.concatenate([x, x], -3))


def _soft_moe_einsum(q, x, n, p, normalize, phi=None):
    """The original ``SoftMoE`` maths: logits [B, m, n, p], einsum dispatch/combine, einsum experts."""
    d = x.shape[-1]
    phi = q["phi"] if phi is None else phi
    xr = x
    if normalize:
        xr = x * jax.lax.rsqrt(jnp.sum(x * x, -1, keepdims=True) + 1e-6)
        phi = q["scale"] * phi * jax.lax.rsqrt(jnp.sum(phi * phi, 0, keepdims=True) + 1e-6)
    logits = jnp.einsum("bmd,dnp->bmnp", xr, phi)
    dispatch = jax.nn.softmax(logits, axis=1)
    combine = jax.nn.softmax(logits.reshape(*logits.shape[:2], n * p), -1).reshape(logits.shape)
    slots = jnp.einsum("bmnp,bmd->bnpd", dispatch, x)
    y_slots, hid = _experts_einsum(q["experts"], slots)
    assert slots.shape[-1] == d
    return jnp.einsum("bmnp,bnpd->bmd", combine, y_slots), dispatch, combine, hid


@pytest.mark.parametrize(
    "b,m,d,n,p,normalize",
    [
        (3, 10, 8, 4, None, True),
        (3, 10, 8, 4, None, False),
        (2, 16, 64, 4, None, True),  # the book's PerFeat shape
        (2, 5, 6, 3, 2, True),
        (2, 7, 5, 1, None, False),
        (4, 1, 9, 2, 1, True),
    ],
)
def test_soft_moe_equals_einsum_formula(b, m, d, n, p, normalize):
    """SoftMoE's transposed-dispatch / custom-backward formulation = the einsum formula, values and grads."""
    x = jax.random.normal(jax.random.key(3), (b, m, d))
    layer = SoftMoE(n, 11, slots_per_expert=p, normalize=normalize)
    params = layer.init(jax.random.key(4), x)
    pp = p or soft_slots(m, n)
    y, aux = layer.apply(params, x)
    ry, rd, rc, rh = _soft_moe_einsum(params["params"], x, n, pp, normalize)
    for a, r in ((y, ry), (aux["dispatch"], rd), (aux["combine"], rc), (aux["hidden"], rh)):
        assert a.shape == r.shape
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)
    w = jax.random.normal(jax.random.key(5), y.shape)

    def loss(pr, x):
        return jnp.sum(jnp.tanh(layer.apply(pr, x)[0]) * w)

    def loss_ref(pr, x):
        return jnp.sum(jnp.tanh(_soft_moe_einsum(pr["params"], x, n, pp, normalize)[0]) * w)

    g = jax.grad(loss, argnums=(0, 1))(params, x)
    g_ref = jax.grad(loss_ref, argnums=(0, 1))(params, x)
    for a, r in zip(jax.tree_util.tree_leaves(g), jax.tree_util.tree_leaves(g_ref), strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-5, atol=1e-5)
    # and under jit
    np.testing.assert_allclose(jax.jit(layer.apply)(params, x)[0], y, rtol=1e-5, atol=1e-6)


def test_soft_moe_random_phi():
    x = jax.random.normal(jax.random.key(6), (2, 6, 4))
    layer = SoftMoE(2, 5, random_phi=True)
    params = layer.init({"params": jax.random.key(7), "phi": jax.random.key(8)}, x)
    assert "phi" not in params["params"]
    y1, aux = layer.apply(params, x, rngs={"phi": jax.random.key(9)})
    y2, _ = layer.apply(params, x, rngs={"phi": jax.random.key(10)})
    np.testing.assert_allclose(aux["dispatch"].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(aux["combine"].sum((2, 3)), 1.0, atol=1e-5)
    assert not np.allclose(y1, y2)
