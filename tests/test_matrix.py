"""Identities of the exact memory-one value (opponent-shaping notes §0.7, items 1-3 and 8)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.games.matrix import (
    GAMES,
    STRATEGIES,
    exact_value,
    exact_value_probs,
    exact_value_unnormalised,
    get_game,
    init_first,
    init_last,
    make_game,
    memory1_visitation,
    memory1_visitation_probs,
    nash_equilibria_2x2,
    p_cooperate,
    swap_game,
    validate_gamma,
)

S = STRATEGIES


def _random_thetas(seed, n=64, scale=2.0):
    k1, k2 = jax.random.split(jax.random.key(seed))
    return scale * jax.random.normal(k1, (n, 5)), scale * jax.random.normal(k2, (n, 5))


def test_payoffs_follow_the_conventions():
    ipd = get_game("ipd")
    np.testing.assert_array_equal(ipd.r1, [-1, -3, 0, -2])
    np.testing.assert_array_equal(ipd.r2, [-1, 0, -3, -2])
    imp = get_game("imp")
    np.testing.assert_array_equal(imp.r1, [-1, 1, 1, -1])
    np.testing.assert_array_equal(imp.r2, -imp.r1)
    np.testing.assert_array_equal(get_game("chicken").r1, [0, -1, 1, -100])
    assert set(GAMES) == {"ipd", "imp", "chicken", "stag_hunt", "bos"}


def test_visitation_sums_to_horizon_and_is_nonnegative():
    t1, t2 = _random_thetas(0)
    m = jax.vmap(memory1_visitation, in_axes=(0, 0, None))(t1, t2, 0.96)
    np.testing.assert_allclose(m.sum(-1), 25.0, rtol=1e-5)
    assert bool(jnp.all(m >= -1e-6))
    m9 = jax.vmap(memory1_visitation, in_axes=(0, 0, None))(t1, t2, 0.9)
    np.testing.assert_allclose(m9.sum(-1), 10.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("allc", "allc", (-1.0, -1.0)),
        ("alld", "alld", (-2.0, -2.0)),
        ("allc", "alld", (-3.0, 0.0)),
        ("alld", "allc", (0.0, -3.0)),
        ("tft", "tft", (-1.0, -1.0)),
        ("tft", "alld", (-2.04, -1.92)),
        ("alld", "tft", (-1.92, -2.04)),
        ("wsls", "wsls", (-1.0, -1.0)),
    ],
)
def test_ipd_closed_forms(a, b, expected):
    v = exact_value_probs(S[a], S[b], get_game("ipd"), 0.96)
    np.testing.assert_allclose(np.array(v), expected, atol=1e-5)


def test_wsls_vs_alld_alternates():
    # WSLS cooperates first, then DD -> C (shift), CD -> D (shift): pattern CD, DD, CD, DD, ...
    g = 0.96
    v1, _ = exact_value_probs(S["wsls"], S["alld"], get_game("ipd"), g)
    expected = (1 - g) * (-3 - 2 * g) / (1 - g**2)
    np.testing.assert_allclose(float(v1), expected, atol=1e-5)


@pytest.mark.parametrize("name", sorted(GAMES))
def test_swap_identity_both_seat_orders(name):
    game = get_game(name)
    t1, t2 = _random_thetas(1, n=16)
    val = jax.vmap(exact_value, in_axes=(0, 0, None, None))
    a1, a2 = val(t1, t2, game, 0.96)
    b1, b2 = val(t2, t1, swap_game(game), 0.96)
    np.testing.assert_allclose(a1, b2, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(a2, b1, atol=1e-4, rtol=1e-4)


def test_swap_catches_asymmetric_strategies():
    ipd = get_game("ipd")
    sw = swap_game(ipd)
    np.testing.assert_array_equal(sw.r1, ipd.r1)  # swap(IPD) = IPD
    np.testing.assert_array_equal(sw.r2, ipd.r2)
    # TFT vs AllD in both seat orders, through the swapped game
    v = exact_value_probs(S["alld"], S["tft"], sw)
    np.testing.assert_allclose(np.array(v), (-1.92, -2.04), atol=1e-5)
    # an asymmetric game: swapping twice is the identity, once is not
    bos = get_game("bos")
    np.testing.assert_array_equal(swap_game(swap_game(bos)).r1, bos.r1)
    assert not np.allclose(swap_game(bos).r1, bos.r1)


def test_own_perspective_swap_matters():
    # Player 2 plays "cooperate only after CD" from its own view, i.e. after player 1 defected on it.
    # Player 1 always defects after the first round, so the state seen by player 2 is DC -> its CD.
    p2 = jnp.array([1.0, 0.0, 1.0, 0.0, 0.0])  # [start, CC, CD, DC, DD], own perspective
    p1 = jnp.array([0.0, 0.0, 0.0, 0.0, 0.0])  # AllD
    m = memory1_visitation_probs(p1, p2, 0.96)
    # round 1: p1 D, p2 C -> DC (player-1 order); p2 sees CD -> cooperates forever: all DC.
    np.testing.assert_allclose(m, [0, 0, 25, 0], atol=1e-4)


def test_imp_zero_sum_and_solve_equals_inv():
    t1, t2 = _random_thetas(2)
    v1, v2 = jax.vmap(exact_value, in_axes=(0, 0, None))(t1, t2, get_game("imp"))
    np.testing.assert_allclose(v1 + v2, 0.0, atol=1e-5)
    p1, p2 = jax.nn.sigmoid(t1), jax.nn.sigmoid(t2)
    ms = jax.vmap(lambda a, b: memory1_visitation_probs(a, b, 0.96, method="solve"))(p1, p2)
    mi = jax.vmap(lambda a, b: memory1_visitation_probs(a, b, 0.96, method="inv"))(p1, p2)
    np.testing.assert_allclose(ms, mi, rtol=1e-4, atol=1e-4)


def test_grad_equals_central_finite_differences():
    # x64 only inside this test (jax.experimental.enable_x64 moved to jax.enable_x64 in jax 0.10)
    with jax.enable_x64(True):
        k1, k2 = jax.random.split(jax.random.key(3))
        t1 = jax.random.normal(k1, (5,), dtype=jnp.float64)
        t2 = jax.random.normal(k2, (5,), dtype=jnp.float64)
        game = get_game("ipd")
        game = game.replace(r1=game.r1.astype(jnp.float64), r2=game.r2.astype(jnp.float64))
        for player in (0, 1):
            f = lambda a, b, i=player: exact_value_unnormalised(a, b, game, 0.96)[i]
            g1 = jax.grad(f, argnums=0)(t1, t2)
            g2 = jax.grad(f, argnums=1)(t1, t2)
            h = 1e-6
            eye = jnp.eye(5, dtype=jnp.float64)
            fd1 = jnp.array([(f(t1 + h * e, t2) - f(t1 - h * e, t2)) / (2 * h) for e in eye])
            fd2 = jnp.array([(f(t1, t2 + h * e) - f(t1, t2 - h * e)) / (2 * h) for e in eye])
            assert g1.dtype == jnp.float64
            np.testing.assert_allclose(g1, fd1, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(g2, fd2, rtol=1e-6, atol=1e-7)


def test_no_nan_for_extreme_logits():
    grid = jnp.linspace(-30.0, 30.0, 7)
    t1 = jnp.stack(jnp.meshgrid(*[grid] * 2, indexing="ij"), -1).reshape(-1, 2)
    t1 = jnp.concatenate([t1, t1[:, :1], t1[:, 1:], -t1[:, :1]], axis=1)  # [49, 5]
    t2 = t1[::-1]
    game = get_game("ipd")
    val = jax.vmap(exact_value, in_axes=(0, 0, None))(t1, t2, game)
    gr = jax.vmap(jax.grad(lambda a, b: exact_value(a, b, game)[0]))(t1, t2)
    assert bool(jnp.all(jnp.isfinite(val[0]))) and bool(jnp.all(jnp.isfinite(val[1])))
    assert bool(jnp.all(jnp.isfinite(gr)))


def test_jit_and_vmap_agree_with_eager():
    t1, t2 = _random_thetas(4, n=8)
    game = get_game("stag_hunt")
    eager = np.array([exact_value(a, b, game)[0] for a, b in zip(t1, t2, strict=True)])
    jitted = jax.jit(jax.vmap(exact_value, in_axes=(0, 0, None)))(t1, t2, game)[0]
    np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-5)


def test_p_cooperate_of_pure_strategies():
    pc = p_cooperate(jnp.full(5, 30.0), jnp.full(5, -30.0))
    np.testing.assert_allclose(np.array(pc), (1.0, 0.0), atol=1e-5)


def test_init_first_and_last_are_inverse():
    t = jnp.arange(10.0).reshape(2, 5)
    np.testing.assert_array_equal(init_last(t)[:, -1], t[:, 0])
    np.testing.assert_array_equal(init_first(init_last(t)), t)


def test_nash_equilibria():
    assert nash_equilibria_2x2(get_game("ipd")) == [(0.0, 0.0)]
    eq = nash_equilibria_2x2(get_game("imp"))
    assert len(eq) == 1 and np.allclose(eq[0], (0.5, 0.5))
    assert len(nash_equilibria_2x2(get_game("stag_hunt"))) == 3
    assert len(nash_equilibria_2x2(get_game("chicken"))) == 3


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="unknown game"):
        get_game("poker")
    with pytest.raises(ValueError, match="r1"):
        make_game([1, 2, 3], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="r2"):
        make_game([1, 2, 3, 4], np.ones((2, 2)))
    with pytest.raises(ValueError, match="theta1"):
        exact_value(jnp.zeros(4), jnp.zeros(5), get_game("ipd"))
    with pytest.raises(ValueError, match="theta2"):
        exact_value(jnp.zeros(5), jnp.zeros((3, 5)), get_game("ipd"))
    for g in (0.0, 1.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="gamma"):
            validate_gamma(g)
        with pytest.raises(ValueError, match="gamma"):
            exact_value(jnp.zeros(5), jnp.zeros(5), get_game("ipd"), g)
    validate_gamma(0.96)


def _numpy_value_start_last(p1, p2, r1, r2, gamma):
    """Independent float64 reference in the other common layout: [CC, CD, DC, DD, start], inverse."""
    q = np.array([p2[0], p2[2], p2[1], p2[3], p2[4]])  # player 2's CD/DC into player 1's order
    a, b = p1[4], q[4]
    d0 = np.array([a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)])
    x, y = p1[:4, None], q[:4, None]
    trans = np.hstack([x * y, x * (1 - y), (1 - x) * y, (1 - x) * (1 - y)])
    m = d0 @ np.linalg.inv(np.eye(4) - gamma * trans)
    return (1 - gamma) * (m @ r1), (1 - gamma) * (m @ r2)


@pytest.mark.parametrize("name", ["ipd", "bos", "chicken"])
def test_differential_against_start_last_layout(name):
    game = get_game(name)
    t1, t2 = _random_thetas(5, n=8)
    ours = jax.vmap(exact_value, in_axes=(0, 0, None))(t1, t2, game)
    for i in range(8):
        p1 = 1 / (1 + np.exp(-np.asarray(init_last(t1[i]), np.float64)))
        p2 = 1 / (1 + np.exp(-np.asarray(init_last(t2[i]), np.float64)))
        ref = _numpy_value_start_last(p1, p2, np.asarray(game.r1), np.asarray(game.r2), 0.96)
        np.testing.assert_allclose([ours[0][i], ours[1][i]], ref, rtol=1e-4, atol=1e-3)
