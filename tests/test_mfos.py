"""M-FOS: the meta-game against Chapter 1's exact values, the perspective identity, ES and PPO pieces."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.games.matrix import exact_value, get_game, swap_game
from rlbook.learners.naive import naive_update
from rlbook.shaping import mfos
from rlbook.shaping.mfos import MetaGame, MFOSConfig


def _env(**kw):
    c = MFOSConfig(**kw)
    env = MetaGame()
    return c, env, mfos.meta_params(c)


def test_reward_is_the_exact_value_with_theta_before_its_update():
    c, env, params = _env(game="ipd")
    obs, state = env.reset(jax.random.key(0), params)
    phi = jnp.array([0.3, -1.0, 2.0, 0.1, -0.4])
    obs2, state2, r, term, trunc, info = env.step(jax.random.key(1), state, phi, params)
    v1, v2 = exact_value(phi, state.theta, get_game("ipd"), 0.96)
    np.testing.assert_allclose([r, info["opp_reward"]], [v1, v2], rtol=1e-6)
    np.testing.assert_allclose(obs2, jax.nn.sigmoid(jnp.concatenate([phi, state.theta])), rtol=1e-6)
    assert not bool(term) and not bool(trunc) and int(state2.t) == 1


def test_reset_plays_a_warm_up_step_and_drops_its_reward():
    c, env, params = _env(game="ipd")
    key = jax.random.key(3)
    obs, state = env.reset(key, params)
    k_opp, k_phi = jax.random.split(key)
    theta0, phi0 = jax.random.normal(k_opp, (5,)), jax.random.normal(k_phi, (5,))
    np.testing.assert_allclose(obs, jax.nn.sigmoid(jnp.concatenate([phi0, theta0])), rtol=1e-6)
    expected = naive_update(theta0, phi0, swap_game(get_game("ipd")), 0.96, 1.0)
    np.testing.assert_allclose(state.theta, expected, rtol=1e-5)
    assert int(state.t) == 0


def test_co_player_learns_from_its_own_perspective():
    """A co-player in seat 2 facing phi must move up its own seat-2 value. The game is asymmetric with
    CD != DC for both players (in the IPD the swap is the identity, so a missing or doubled CD/DC
    swap would pass there): TFT vs AllD in both seat orders, and the update against jax.grad of the
    seat-2 value, catch either bug."""
    from dataclasses import replace

    from rlbook.games.matrix import exact_value_unnormalised, make_game

    game = make_game([2.0, -1.0, 0.5, -3.0], [1.0, 3.0, -2.0, 0.0], "asymmetric")
    swapped = swap_game(game)
    assert not np.allclose(swapped.r1, game.r1) and not np.allclose(swapped.r2, game.r2)
    params = replace(mfos.meta_params(MFOSConfig(opp_lr=0.5)), game=game)
    tft = jnp.array([3.0, 3.0, -3.0, 3.0, -3.0])  # cooperate first, then copy the other's last move
    alld = jnp.full(5, -3.0)
    for phi, theta in ((tft, alld), (alld, tft)):
        g = jax.grad(lambda t, phi=phi: exact_value_unnormalised(phi, t, game)[1])(theta)
        upd = mfos.co_player_update(theta, phi, params)
        np.testing.assert_allclose(upd, theta + 0.5 * g, rtol=1e-5, atol=1e-6)
        assert float(jnp.abs(g).max()) > 1e-3  # the check has something to compare
        # seat 2's value = seat 1's value on the swapped game
        v_seat2 = exact_value(phi, theta, game)[1]
        v_seat1 = exact_value(theta, phi, swapped)[0]
        np.testing.assert_allclose(v_seat2, v_seat1, rtol=1e-5)
        # without the swap the update would differ: the test can catch a missing swap
        wrong = naive_update(theta, phi, game, 0.96, 0.5)
        assert float(jnp.abs(wrong - upd).max()) > 1e-3
    # TFT vs AllD: seat orders give different values in this game (the swap is not a no-op)
    assert (
        abs(float(exact_value(tft, alld, game)[0]) - float(exact_value(alld, tft, game)[1])) > 0.1
    )


def test_co_player_ascends_its_own_seat_2_value_in_an_asymmetric_game():
    from rlbook.games.matrix import exact_value_unnormalised

    c = MFOSConfig(game="bos", opp_lr=0.5)
    params = mfos.meta_params(c)
    phi = jnp.array([0.2, -0.7, 1.1, 0.4, -1.5])
    theta = jnp.array([-0.3, 0.9, 0.5, -1.2, 0.8])
    g = jax.grad(lambda t: exact_value_unnormalised(phi, t, get_game("bos"))[1])(theta)
    np.testing.assert_allclose(
        mfos.co_player_update(theta, phi, params), theta + 0.5 * g, rtol=1e-5
    )


def test_truncates_after_meta_steps():
    c, env, params = _env(meta_steps=3)
    net = mfos.MFOSPolicy(8)
    p = net.init(jax.random.key(0), jnp.zeros(10))
    trial = mfos.rollout(lambda o: net.apply(p, o), jax.random.key(1), params)
    assert trial.reward.shape == (3,) and trial.phi.shape == (3, 5)
    # the env's own flag: truncated exactly at the 3rd meta-step, never terminated
    obs, state = env.reset(jax.random.key(2), params)
    flags = []
    for _ in range(3):
        obs, state, _, term, trunc, _ = env.step_env(None, state, jnp.zeros(5), params)
        flags.append((bool(term), bool(trunc)))
    assert flags == [(False, False), (False, False), (False, True)]


def test_vmap_equals_a_loop():
    c, env, params = _env(meta_steps=5)
    net = mfos.MFOSPolicy(8)
    p = net.init(jax.random.key(0), jnp.zeros(10))
    pol = lambda o: net.apply(p, o)
    keys = jax.random.split(jax.random.key(2), 4)
    batched = jax.vmap(lambda k: mfos.rollout(pol, k, params))(keys).reward
    looped = jnp.stack([mfos.rollout(pol, k, params).reward for k in keys])
    np.testing.assert_allclose(batched, looped, rtol=1e-5, atol=1e-6)


def test_lambda_anneals_to_zero_at_iteration_667():
    lam = mfos.anneal_lambda(jnp.arange(1000), 0.0015)
    assert float(lam[0]) == 1.0
    assert float(lam[666]) > 0.0 and float(lam[667]) == 0.0


def test_ppo_shapes_first_epoch_ratio_and_variance():
    c = MFOSConfig(method="ppo", hidden=16, batch=8, iterations=2, meta_steps=6)
    out = jax.jit(mfos.make_train_ppo(c))(jax.random.key(0))
    assert out.reward.shape == (2,) and out.opp_reward.shape == (2,)
    assert out.stats["ratio_mean"].shape == (2, c.update_epochs)
    np.testing.assert_allclose(
        out.stats["ratio_mean"][:, 0], 1.0, rtol=1e-5
    )  # on-policy first epoch
    net = mfos.MFOSActorCritic(16)
    mean, var, v = net.apply(out.train_state.params, jnp.zeros((3, 10)))
    assert mean.shape == (3, 5) and var.shape == (3, 5) and v.shape == (3,)
    assert bool(jnp.all(var > 0))
    assert np.isfinite(np.asarray(out.reward)).all()


def test_ppo_samples_and_scores_with_the_variance_not_the_std():
    """The actor's softplus head is a *variance*. A ratio of 1 in the first epoch only shows that the
    rollout and the update agree; this test checks what they agree on: the sampled phi have variance
    ``var`` (z = (phi - mean) / sqrt(var) has E[z^2] = 1), and the stored log-probability is the
    Normal density with standard deviation sqrt(var). Using var as the std (or the std as the
    variance) in either place fails one of the two checks."""
    from scipy.stats import norm

    c = MFOSConfig(method="ppo", hidden=16, batch=64, meta_steps=10)
    net = mfos.MFOSActorCritic(16)
    p = net.init(jax.random.key(0), jnp.zeros(10))
    tr = mfos.ppo_collect(p, jax.random.key(1), net, c, mfos.meta_params(c))
    mean, var, _ = net.apply(p, tr.obs)
    mean, var, phi = (np.asarray(x, np.float64) for x in (mean, var, tr.phi))
    assert abs(var.mean() - 1.0) > 0.2  # var is far enough from 1 for a mix-up to show
    z2 = (phi - mean) ** 2 / var
    assert abs(z2.mean() - 1.0) < 0.1  # 3200 samples: s.e. of E[z^2] about 0.025
    assert abs(((phi - mean) ** 2 / var**2).mean() - 1.0) > 0.2  # what a mix-up would give
    expected = norm.logpdf(phi, mean, np.sqrt(var)).sum(-1)
    np.testing.assert_allclose(np.asarray(tr.logp), expected, rtol=1e-4, atol=1e-4)


def test_discounted_returns():
    r = jnp.array([[1.0], [0.0], [2.0]])
    np.testing.assert_allclose(mfos.discounted_returns(r, 0.5)[:, 0], [1.5, 1.0, 2.0])


def test_es_training_is_deterministic_and_improves():
    c = MFOSConfig(generations=12, popsize=16, num_opps=4, meta_steps=20, hidden=8, eval_opps=16)
    a = jax.jit(mfos.make_train_es(c))(jax.random.key(0))
    b = jax.jit(mfos.make_train_es(c))(jax.random.key(0))
    np.testing.assert_array_equal(a.mean_fitness, b.mean_fitness)
    assert float(a.mean_fitness[-1]) > float(a.mean_fitness[0]) + 0.2


def test_zd_fit_recognises_an_extortionate_strategy():
    """Press & Dyson's extortion in the IPD (payoffs shifted): an exact ZD strategy, residual 0."""
    game = get_game("ipd")
    chi, phi_ = 2.0, 0.1
    P = -2.0  # mutual defection
    # p~ = phi [(R_self - P) - chi (R_other - P)]
    pt = phi_ * ((game.r1 - P) - chi * (game.r2 - P))
    p = pt + jnp.array([1.0, 1.0, 0.0, 0.0])
    assert bool(jnp.all((p >= 0) & (p <= 1)))
    coef, resid, chi_hat = mfos.zd_fit(p, game)
    assert float(resid) < 1e-5
    np.testing.assert_allclose(chi_hat, chi, rtol=1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"game": "go"}, "game"),
        ({"opponent": "br"}, "opponent"),
        ({"gamma": 1.0}, "gamma"),
        ({"popsize": 7}, "popsize"),
        ({"opp_lr": -1.0}, "opp_lr"),
        ({"meta_steps": 0}, "meta_steps"),
        ({"method": "ga"}, "method"),
    ],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MFOSConfig(**kwargs)


def test_self_play_meta_game_uses_naive_co_players_and_ppo_refuses_it():
    for opp in ("self", "independent"):
        assert mfos.meta_params(MFOSConfig(opponent=opp)).opponent == "nl"
        with pytest.raises(ValueError, match="opponent"):
            mfos.make_train_ppo(MFOSConfig(opponent=opp, method="ppo"))
    with pytest.raises(ValueError, match="preset"):
        MFOSConfig.preset("huge")


SMALL = dict(meta_steps=8, popsize=4, num_opps=3, generations=2, hidden=8, eval_opps=3)


def _two_policies():
    net = mfos.MFOSPolicy(8)
    pa = net.init(jax.random.key(10), jnp.zeros(10))
    pb = net.init(jax.random.key(11), jnp.zeros(10))
    return net, pa, pb


def test_independent_fitness_is_each_seats_own_return():
    """Seat 2's fitness is seat 2's reward with the other learner in seat 1 (a seat or reward mix-up
    gives a different number: the two policies differ); a trial with use_nl meets a naive learner."""
    c = MFOSConfig(opponent="independent", **SMALL)
    params = mfos.meta_params(c)
    net, pa, pb = _two_policies()
    keys = jax.random.split(jax.random.key(5), 3)
    pol_a, pol_b = (lambda o: net.apply(pa, o)), (lambda o: net.apply(pb, o))
    play = lambda k: mfos.self_play_rollout(pol_a, pol_b, k, params.game, c.gamma, c.meta_steps)
    sp = jax.vmap(play)(keys)
    no_nl = mfos.ESTrials(keys, jnp.zeros(3, bool))
    f_a = mfos.independent_fitness(pa, pb, 0, no_nl, net, c, params)
    f_b = mfos.independent_fitness(pb, pa, 1, no_nl, net, c, params)
    np.testing.assert_allclose([f_a, f_b], [sp.reward.mean(), sp.opp_reward.mean()], rtol=1e-5)
    assert abs(float(f_a - f_b)) > 1e-3
    all_nl = mfos.ESTrials(keys, jnp.ones(3, bool))
    vs_nl = jax.vmap(lambda k: mfos.rollout(pol_b, k, params).reward.mean())(keys).mean()
    f_nl = mfos.independent_fitness(pb, pa, 1, all_nl, net, c, params)
    np.testing.assert_allclose(f_nl, vs_nl, rtol=1e-5)


def test_independent_self_play_trains_two_learners_and_evaluates_them_against_each_other():
    c = MFOSConfig(opponent="independent", **SMALL)
    out, trials = mfos.train_eval_es(c, seed=1, num_seeds=2)
    kernel = out.params["params"]["Dense_0"]["kernel"]
    assert kernel.shape == (2, 2, 10, 8) and out.mean_fitness.shape == (2, 2, 2)
    assert float(jnp.abs(kernel[:, 0] - kernel[:, 1]).min()) >= 0.0
    assert not np.allclose(kernel[0, 0], kernel[0, 1])  # two learners, not one shared policy
    assert trials.reward.shape == (2, 3, 8)
    # the evaluation is seat 1 vs seat 2: replaying seed 0's pair reproduces its rewards
    net = mfos.MFOSPolicy(8)
    pa, pb = (jax.tree.map(lambda x, i=i: x[0, i], out.params) for i in (0, 1))
    ev = mfos.evaluate(net, jax.tree.map(lambda x: x[0], out.params), c, jax.random.key(2))
    pol_a, pol_b = (lambda o: net.apply(pa, o)), (lambda o: net.apply(pb, o))
    keys = jax.random.split(jax.random.key(2), c.eval_opps)
    game = mfos.meta_params(c).game
    sp = jax.vmap(lambda k: mfos.self_play_rollout(pol_a, pol_b, k, game, c.gamma, 8))(keys)
    np.testing.assert_allclose(ev.reward, sp.reward, rtol=1e-5)
    np.testing.assert_allclose(ev.opp_reward, sp.opp_reward, rtol=1e-5)


def test_zd_fit_per_strategy_differs_from_the_fit_of_the_average():
    """Two non-ZD strategies whose average is exactly ZD: fitting the average says residual 0, fitting
    each says what each is."""
    game = get_game("ipd")
    zd = 0.1 * ((game.r1 + 2.0) - 2.0 * (game.r2 + 2.0)) + 0.05  # chi = 2, strictly inside (0, 1)
    base = zd + jnp.array([1.0, 1.0, 0.0, 0.0])
    d = 0.025 * jnp.array([1.0, -1.0, -1.0, 1.0])  # orthogonal to R_self, R_other and 1; norm 0.05
    p = jnp.stack([base + d, base - d])
    logits = jnp.concatenate([jnp.zeros((2, 1)), jnp.log(p / (1 - p))], axis=1)
    fits = mfos.zd_fit_batch(logits, game)
    assert fits.residual.shape == (2,) and fits.chi.shape == (2,)
    np.testing.assert_allclose(fits.residual, 0.05, rtol=1e-3)
    _, resid_mean, chi_mean = mfos.zd_fit(p.mean(0), game)
    assert float(resid_mean) < 1e-5
    np.testing.assert_allclose(chi_mean, 2.0, rtol=1e-4)
