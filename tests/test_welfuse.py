"""Tests of rlbook.shaping.welfuse: games, welfares, grid equilibria, learners, WelFuSe selection."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.shaping import welfuse as W

# (game, x, y) -> (r_x, r_y) at pure or known points; x, y = P(action 0) for the 2x2 games.
PAYOFF_CASES = [
    ("prisoners_dilemma", 1, 1, (-1, -1)),
    ("prisoners_dilemma", 1, 0, (-3, 0)),
    ("prisoners_dilemma", 0, 0, (-2, -2)),
    ("imp", 1, 1, (-1, 1)),  # x mismatches to win (M-FOS)
    ("matching_pennies", 1, 1, (1, -1)),  # x matches to win (welfare repo)
    ("chicken", 1, 1, (0, 0)),
    ("chicken", 1, 0, (-1, 1)),
    ("chicken", 0, 0, (-100, -100)),
    ("baby_chicken", 0, 0, (-3, -3)),
    ("stag_hunt", 1, 1, (10, 10)),
    ("stag_hunt", 1, 0, (1, 8)),
    ("stag_hunt", 0, 0, (5, 5)),
    ("battle_of_sexes", 1, 1, (3, 2)),
    ("battle_of_sexes", 0, 0, (2, 3)),
    ("coordination", 1, 1, (2, 1)),
    ("awkward", 0, 1, (2, 5)),
    ("elusive", 1, 0, (3, 0)),
    ("eagle", 0, 0, (2, 3)),
    ("tandem", 1.0, 0.0, (1.0, -1.0)),
    ("impossible_market", 0.0, 0.0, (0.0, 0.0)),
    ("impossible_market", 1.0, 0.0, (7 / 12, -0.25)),
    ("ultimatum", 1.0, 0.3, (5.0, 5.0)),
    ("ultimatum", 0.0, 1.0, (8.0, 2.0)),
    ("ipd_tft_alld", 1.0, 1.0, (-1.0, -1.0)),  # TFT-TFT
    ("ipd_tft_alld", 0.0, 0.0, (-2.0, -2.0)),  # AllD-AllD
    ("ipd_tft_alld", 1.0, 0.0, (-2.04, -1.92)),  # TFT vs AllD (TFT cooperates once)
    ("ipd_tft_alld", 0.0, 1.0, (-1.92, -2.04)),  # the other seat: catches a missing swap
]


@pytest.mark.parametrize("name,x,y,expected", PAYOFF_CASES)
def test_payoffs(name, x, y, expected):
    rx, ry = W.payoff(W.get_game(name), jnp.float32(x), jnp.float32(y))
    np.testing.assert_allclose([float(rx), float(ry)], expected, atol=1e-4)


def test_every_game_has_a_payoff_case():
    assert {c[0] for c in PAYOFF_CASES} == set(W.GAMES)


def test_matrix_payoff_is_bilinear_and_seats_agree():
    g = W.get_game("stag_hunt")
    rx, ry = W.payoff(g, 0.5, 0.5)
    assert float(rx) == pytest.approx(np.mean([10, 1, 8, 5]))
    # values from seat y: (r_self, r_other) = (r_y, r_x)
    rs, ro = W.values(g, jnp.float32(0.3), jnp.float32(-1.2), seat=1)
    bx, by = W.payoff(g, jax.nn.sigmoid(-1.2), jax.nn.sigmoid(0.3))
    np.testing.assert_allclose([rs, ro], [by, bx], rtol=1e-6)


def test_bad_games_raise():
    with pytest.raises(ValueError, match="game"):
        W.get_game("poker")
    with pytest.raises(ValueError, match="r_x"):
        W.matrix_game_1d([1, 2, 3], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="r_y"):
        W.matrix_game_1d([1, 2, 3, 4], [1, 2, 3, np.nan])


def test_welfare_identities():
    rng = np.random.default_rng(0)
    vs, vo = jnp.asarray(rng.normal(size=50)), jnp.asarray(rng.normal(size=50))
    w = {n: np.asarray(W.welfare(n, vs, vo)) for n in W.WELFARES}
    np.testing.assert_allclose(w["greedy"], vs)
    np.testing.assert_allclose(w["selfless"], vo)
    np.testing.assert_allclose(w["self_destructive"], -w["greedy"])
    np.testing.assert_allclose(w["malicious"], -w["selfless"])
    np.testing.assert_allclose(w["utilitarian"], 0.5 * (w["greedy"] + w["selfless"]), rtol=1e-6)
    # min(a, b) = (a + b) / 2 - |a - b| / 2
    np.testing.assert_allclose(
        w["egalitarian"], w["utilitarian"] + w["fairness"], rtol=1e-5, atol=1e-6
    )
    assert np.all(w["fairness"] <= 0)
    assert float(W.welfare("fairness", 2.0, 2.0)) == 0.0
    # the symmetric welfares do not care who is "self"
    for n in ("egalitarian", "utilitarian", "fairness"):
        np.testing.assert_allclose(w[n], np.asarray(W.welfare(n, vo, vs)))
    with pytest.raises(ValueError, match="welfare"):
        W.welfare("kind", 1.0, 2.0)


def test_chicken_follower_threshold():
    g = W.get_game("chicken")  # follower swerves (action 0, P = 1) iff leader's P(swerve) < 0.99
    assert float(W.best_response(g, 0.98)) == 1.0
    assert float(W.best_response(g, 0.995)) == 0.0
    assert float(W.best_response(g, 0.5, seat=0)) == 1.0  # a 50/50 opponent: swerve (-0.5 > -49.5)


def test_chicken_welfare_equilibria_match_closed_forms():
    g = W.get_game("chicken")
    n = 2001
    step = 1.0 / (n - 1)
    greedy = W.welfare_equilibrium(g, "greedy", n=n)
    assert float(greedy.x) == 0.0 and float(greedy.y) == 0.0  # both go straight
    np.testing.assert_allclose([greedy.vx, greedy.vy], [-100, -100])
    np.testing.assert_allclose(greedy.lead_x, [1.0, -1.0])  # as a leader against a follower: +1
    for w in ("egalitarian", "fairness"):
        eq = W.welfare_equilibrium(g, w, n=n)
        for p in (eq.x, eq.y):  # p* -> 0.99 from below (at 0.99 the follower is indifferent)
            assert 0.99 - 2 * step <= float(p) < 0.99
        np.testing.assert_allclose([eq.vx, eq.vy], [-0.01, -0.01], atol=2e-3)


def test_coincidental_classifier():
    assert not W.is_coincidental(W.get_game("chicken"))
    assert not W.is_coincidental(W.get_game("tandem"))
    assert not W.is_coincidental(W.get_game("coordination"))
    assert W.is_coincidental(W.get_game("prisoners_dilemma"))  # both leaders defect: Nash
    assert W.is_coincidental(W.get_game("stag_hunt"))  # both leaders hunt stag: Nash
    eq = W.stackelberg(W.get_game("chicken"))
    assert float(eq.regret_x) == pytest.approx(99.0)


def _rand(seed, k=2):
    return jax.random.normal(jax.random.key(seed), (k,))


@pytest.mark.parametrize("game", ["chicken", "tandem", "stag_hunt"])
@pytest.mark.parametrize("seat", [0, 1])
def test_exact_lola_with_eta_zero_is_naive(game, seat):
    g = W.get_game(game)
    a, b = _rand(1)
    naive = jax.grad(lambda aa: W.values(g, aa, b, seat)[0])(a)
    names = ("greedy", "egalitarian")
    lola0 = W.direction("family", None, g, a, b, seat, 0, names, 0.0, None)
    look0 = W.direction("lookahead", None, g, a, b, seat, 0, names, 0.0, None)
    np.testing.assert_allclose([lola0, look0], [naive, naive], rtol=1e-6)
    lola = W.direction("family", None, g, a, b, seat, 0, names, 5.0, None)
    assert not np.isclose(float(lola), float(naive))  # the look-ahead changes the step


def test_naive_pairing_equals_lola_with_eta_zero():
    cfg = W.WelFuSeConfig(n_runs=8, n_steps=30, n_episodes=1, learner1="naive", learner2="naive")
    a = jax.jit(W.make_train(cfg))(jax.random.key(3))
    b = jax.jit(W.make_train(cfg.replace(learner1="lola", learner2="lola", eta=0.0)))(
        jax.random.key(3)
    )
    np.testing.assert_allclose(a.episodes.actions, b.episodes.actions, rtol=1e-6)


def test_saga_and_sasa():
    g = W.get_game("tandem")
    cfg = W.WelFuSeConfig(game="tandem", saga_std=1e-4, sasa_std=0.0)
    a, b = _rand(2)
    naive = jax.grad(lambda aa: W.values(g, aa, b, 0)[0])(a)
    saga = W.direction("saga", jax.random.key(0), g, a, b, 0, 0, ("greedy",), 0.0, cfg)
    np.testing.assert_allclose(saga, naive, rtol=1e-2)  # opponent samples collapse onto b
    sasa = W.direction("sasa", jax.random.key(0), g, a, b, 0, 0, ("greedy",), 0.0, cfg)
    assert float(sasa) == 0.0  # no noise, no move
    # with noise, SaSa's step lands on one of its own samples
    d = W.sasa_direction(jax.random.key(1), g, a, b, 0, 15, 1.0)
    ka, _ = jax.random.split(jax.random.key(1))
    samples = a + jax.random.normal(ka, (15,))
    assert np.min(np.abs(np.asarray(samples) - float(a + d))) < 1e-6


def test_reselect_single_welfare_is_identity():
    idx = jnp.zeros(16, jnp.int32)
    r = jax.random.normal(jax.random.key(0), (16,))
    new, active = W.reselect(jax.random.key(1), idx, r, jnp.array([True]))
    np.testing.assert_array_equal(new, idx)
    assert bool(active[0])


def test_reselect_picks_best_under_deterministic_rewards_and_prunes():
    idx = jnp.array([0, 1, 2, 0, 1, 2, 0, 1], jnp.int32)
    r = jnp.array([1.0, 3.0, 2.0])[idx]  # every run of welfare k earned exactly r_k
    new, active = W.reselect(jax.random.key(0), idx, r, jnp.ones(4, bool))
    np.testing.assert_array_equal(new, np.ones(8))
    np.testing.assert_array_equal(active, [True, True, True, False])  # welfare 3 unused: pruned
    # a pruned welfare stays out even if it would look best
    idx2 = jnp.array([0, 0, 2, 2], jnp.int32)
    new2, _ = W.reselect(jax.random.key(0), idx2, jnp.array([0.0, 0.0, 5.0, 5.0]), active)
    np.testing.assert_array_equal(new2, [2, 2, 2, 2])


def test_greedy_lola_selfplay_crashes_in_chicken():
    cfg = W.WelFuSeConfig(learner1="lola", learner2="lola", n_runs=20, n_steps=300, n_episodes=1)
    out = W.check_finite(jax.jit(W.make_train(cfg))(jax.random.key(0)))
    final = W.final_reward(out)
    assert np.all(final < -90)  # both go straight: (-100, -100) at the limit


def test_train_vmaps_over_seeds_and_records_welfares():
    cfg = W.WelFuSeConfig(n_runs=6, n_steps=20, n_episodes=2)
    out = jax.jit(jax.vmap(W.make_train(cfg)))(jax.random.split(jax.random.key(0), 3))
    assert out.episodes.rewards.shape == (3, 2, 20, 6, 2)
    assert out.episodes.welfare.shape == (3, 2, 6, 2)
    assert out.welfare_names == ("greedy", "egalitarian", "fairness")
    np.testing.assert_array_equal(out.episodes.counts.sum(-1), np.full((3, 2, 2), 6))


def test_config_validation():
    with pytest.raises(ValueError, match="game"):
        W.WelFuSeConfig(game="poker")
    with pytest.raises(ValueError, match="learner1"):
        W.WelFuSeConfig(learner1="m-fos")
    with pytest.raises(ValueError, match="lr"):
        W.WelFuSeConfig(lr=0.0)
    with pytest.raises(ValueError, match="candidates"):
        W.WelFuSeConfig(candidates=("greedy", "vengeful"))
    with pytest.raises(ValueError, match="preset"):
        W.WelFuSeConfig.preset("huge")
    assert W.WelFuSeConfig.preset("book").n_steps == 1000


def test_check_finite_raises():
    cfg = W.WelFuSeConfig(n_runs=2, n_steps=3, n_episodes=1)
    out = jax.jit(W.make_train(cfg))(jax.random.key(0))
    bad = out.replace(
        episodes=out.episodes._replace(rewards=out.episodes.rewards.at[0].set(jnp.nan))
    )
    with pytest.raises(ValueError, match="diverged"):
        W.check_finite(bad)
