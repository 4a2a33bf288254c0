"""Naive learners and LOLA (opponent-shaping notes §0.4 and §0.7 items 5-6)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.games.matrix import exact_value_unnormalised, get_game, swap_game
from rlbook.learners.naive import (
    LEARNERS,
    joint_step,
    lola_gradient,
    lola_update,
    naive_update,
    simulate,
)


def _thetas(seed):
    k1, k2 = jax.random.split(jax.random.key(seed))
    return jax.random.normal(k1, (5,)), jax.random.normal(k2, (5,))


def test_naive_update_is_gradient_ascent_on_unnormalised_value():
    a, b = _thetas(0)
    game = get_game("ipd")
    g = jax.grad(lambda t: exact_value_unnormalised(t, b, game, 0.96)[0])(a)
    np.testing.assert_allclose(naive_update(a, b, game, 0.96, 0.5), a + 0.5 * g, rtol=1e-6)


def test_player_two_update_uses_the_swapped_game():
    a, b = _thetas(1)
    game = get_game("bos")
    _, new_b = joint_step(a, b, game, "nl", "nl", 0.96, 1.0, 0.3)
    g2 = jax.grad(lambda t: exact_value_unnormalised(a, t, game, 0.96)[1])(b)
    np.testing.assert_allclose(new_b, b + 0.3 * g2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", ["taylor_full", "taylor_paper", "exact"])
def test_lola_with_eta_zero_is_naive(variant):
    a, b = _thetas(2)
    game = get_game("ipd")
    np.testing.assert_allclose(
        lola_update(a, b, game, 0.96, 1.0, 0.0, variant),
        naive_update(a, b, game, 0.96, 1.0),
        rtol=1e-5,
        atol=1e-6,
    )


def test_taylor_variants_differ_by_the_grad_of_grad2_v1_term():
    a, b = _thetas(3)
    game = get_game("ipd")
    full = lola_gradient(a, b, game, 0.96, 1.0, "taylor_full")
    paper = lola_gradient(a, b, game, 0.96, 1.0, "taylor_paper")
    # difference = grad_1(grad_2 V1) . grad_2 V2 with grad_2 V2 held fixed
    g22 = jax.grad(lambda t: exact_value_unnormalised(a, t, game, 0.96)[1])(b)
    extra = jax.grad(
        lambda t: jnp.dot(jax.grad(lambda u: exact_value_unnormalised(t, u, game, 0.96)[0])(b), g22)
    )(a)
    np.testing.assert_allclose(full - paper, extra, rtol=1e-4, atol=1e-4)


def test_exact_lola_matches_first_order_taylor_for_small_eta():
    a, b = _thetas(4)
    game = get_game("ipd")
    eta = 1e-3
    ex = lola_gradient(a, b, game, 0.96, eta, "exact")
    nl = lola_gradient(a, b, game, 0.96, 0.0, "exact")
    tp = lola_gradient(a, b, game, 0.96, eta, "taylor_full")
    # exact LOLA differentiates V1(t1, t2 + eta grad2 V2(t1)) = first order taylor_full in eta
    np.testing.assert_allclose((ex - nl) / eta, (tp - nl) / eta, rtol=0.05, atol=0.05)


def test_nl_nl_ipd_defects():
    res = simulate(jax.random.key(0), get_game("ipd"), "nl", "nl", n_runs=256, n_steps=100)
    run_mean = float(res.value[:, 1:, 0].mean())
    final = res.value[:, -1, 0]
    assert abs(run_mean - (-1.98)) < 0.02, run_mean
    assert float(final.mean()) < -1.95
    assert float(jnp.mean(res.p_coop[:, -1, 0] < 0.1)) > 0.9  # P(C) -> ~0 in most seeds


def test_nl_nl_imp_is_near_zero():
    res = simulate(jax.random.key(1), get_game("imp"), "nl", "nl", n_runs=256, n_steps=100)
    assert abs(float(res.value[:, 1:, 0].mean())) < 0.05


def test_lola_lola_ipd_reciprocates():
    key = jax.random.key(0)
    lola = simulate(key, get_game("ipd"), "lola", "lola", n_runs=128, n_steps=100)
    nl = simulate(key, get_game("ipd"), "nl", "nl", n_runs=128, n_steps=100)
    final = lola.value[:, -1, 0]
    assert float(jnp.mean(final > -1.3)) > 0.8
    assert float(final.mean()) > -1.2
    assert float(final.mean()) > float(nl.value[:, -1, 0].mean())


def test_lola_exploits_naive_learner_in_ipd():
    res = simulate(jax.random.key(2), get_game("ipd"), "lola", "nl", n_runs=128, n_steps=100)
    v = res.value[:, 1:].mean((0, 1))
    assert float(v[0]) > float(v[1])  # LOLA gets more than the NL it shapes


def test_simulate_is_deterministic_and_matches_manual_steps():
    game = get_game("ipd")
    r1 = simulate(jax.random.key(5), game, "lola", "nl", n_runs=4, n_steps=3)
    r2 = simulate(jax.random.key(5), game, "lola", "nl", n_runs=4, n_steps=3)
    np.testing.assert_array_equal(r1.theta1, r2.theta1)
    a, b = r1.theta1[2, 0], r1.theta2[2, 0]
    for t in range(3):
        a, b = lola_update(a, b, game), naive_update(b, a, swap_game(game))
        np.testing.assert_allclose(r1.theta1[2, t + 1], a, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(r1.theta2[2, t + 1], b, rtol=1e-4, atol=1e-4)


def test_bad_arguments():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="learner1"):
        simulate(key, get_game("ipd"), "sgd", "nl", n_runs=2, n_steps=2)
    with pytest.raises(ValueError, match="gamma"):
        simulate(key, get_game("ipd"), n_runs=2, n_steps=2, gamma=1.0)
    with pytest.raises(ValueError, match="variant"):
        lola_update(jnp.zeros(5), jnp.zeros(5), get_game("ipd"), variant="dice")
    with pytest.raises(ValueError, match="theta1_init"):
        simulate(key, get_game("ipd"), n_runs=2, n_steps=2, theta1_init=jnp.zeros((3, 5)))
    assert set(LEARNERS) == {"nl", "lola"}


@pytest.mark.parametrize(("l1", "l2"), [("nl", "nl"), ("lola", "lola")])
def test_pd_is_ipd_plus_three_step_by_step(l1, l2):
    # Adding a constant to every payoff adds a constant to V (sum M = 25): same learning dynamics.
    from rlbook.games.matrix import make_game

    ipd = get_game("ipd")
    pd = make_game(ipd.r1 + 3, ipd.r2 + 3, "pd")
    np.testing.assert_array_equal(pd.r1, [2, 0, 3, 1])
    a = simulate(jax.random.key(7), ipd, l1, l2, n_runs=8, n_steps=20)
    b = simulate(jax.random.key(7), pd, l1, l2, n_runs=8, n_steps=20)
    # float32: V carries an extra 75 in the PD, so rounding differs at ~1e-5 and LOLA's second
    # derivatives amplify it over 20 steps; a wrong sign or scale would differ by O(1)
    np.testing.assert_allclose(a.theta1, b.theta1, rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(a.value + 3, b.value, atol=1e-2)
