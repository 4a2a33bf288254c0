"""N-player games: payoff tables vs the reference's yaml values, the exact memory-one value (rotation,
visitation, N = 2 reduction, Monte Carlo), the sampled game, the learners and the shapers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.games import matrix as mx
from rlbook.games import nplayer as npl
from rlbook.learners.nplayer import lola_grad, naive_grads, simulate
from rlbook.shaping.npos import NPOSConfig, make_train, shaper_obs, trial_welfare

# The reference's tables (pax, branch alex_learning, conf/experiment/n_player/shaper/{n}pl_{game}.yaml),
# possible cells only (None = impossible: the yaml has +-1000 or a filler there).
YAML = {
    ("ipd", 3): [[4, None], [2, 5], [0, 3], [None, 1]],
    ("ipd", 4): [[6, None], [4, 7], [2, 5], [0, 3], [None, 1]],
    ("ipd", 5): [[8, None], [6, 9], [4, 7], [2, 5], [0, 3], [None, 1]],
    ("snowdrift", 3): [[2.33, None], [2.0, 3], [1.0, 3], [None, 0]],
    ("snowdrift", 4): [[3.25, None], [3.0, 4], [2.5, 4], [1.0, 4], [None, 0]],
    ("snowdrift", 5): [[4.2, None], [4.0, 5], [3.667, 5], [3.0, 5], [1.0, 5], [None, 0]],
    ("stag_hunt", 3): [[3.0, None], [1.0, 4.0], [-3, 0], [None, 0]],
    ("stag_hunt", 4): [[3.0, None], [1.5, 4.5], [0.0, 3.0], [-3, 0], [None, 0]],
    ("stag_hunt", 5): [[3.0, None], [1.8, 4.8], [0.6, 3.6], [-3, 0], [-3, 0], [None, 0]],
    ("commons", 3): [[2, None], [2, 5], [-3, 0], [None, 0]],
    ("commons", 4): [[2, None], [2, 5], [-3, 0], [-3, 0], [None, 0]],
    ("commons", 5): [[2, None], [2, 5], [2, 5], [-3, 0], [-3, 0], [None, 0]],
}


@pytest.mark.parametrize(("game", "n"), sorted(YAML))
def test_tables_match_the_reference_yaml(game, n):
    table = npl.payoff_table(game, n)
    assert table.shape == (n + 1, 2)
    for d, row in enumerate(YAML[(game, n)]):
        for a, want in enumerate(row):
            if want is None:
                assert np.isnan(table[d, a]), (game, n, d, a)
            else:
                np.testing.assert_allclose(
                    table[d, a], want, atol=5e-3, err_msg=f"{game} {n} {d} {a}"
                )


def test_two_player_tables():
    np.testing.assert_allclose(npl.payoff_table("ipd", 2)[[0, 1, 1, 2], [0, 0, 1, 1]], [2, 0, 3, 1])
    # the reference's 2pl_sh.yaml: [[3, .], [-3, 0], [., 0]]
    np.testing.assert_allclose(
        npl.payoff_table("stag_hunt", 2)[[0, 1, 1, 2], [0, 0, 1, 1]], [3, -3, 0, 0]
    )


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="unknown game"):
        npl.payoff_table("chess", 3)
    with pytest.raises(ValueError, match="n"):
        npl.payoff_table("ipd", 1)
    with pytest.raises(ValueError, match="thetas"):
        npl.exact_value(jnp.zeros((3, 8)), npl.make_game("ipd", 3))
    with pytest.raises(ValueError, match="players"):
        npl.exact_value(jnp.zeros((2, 5)), npl.make_game("ipd", 3))
    with pytest.raises(ValueError, match="gamma"):
        npl.exact_value(jnp.zeros((3, 9)), npl.make_game("ipd", 3), gamma=1.0)


def test_observation_rotation_and_bit_order():
    # n = 3, joint action (a0, a1, a2) = (D, C, C): global state 0b100 = 4
    obs = npl.observation_index(3)
    assert obs[0, 4] == 0b100  # player 0 sees (D, C, C): own action most significant
    assert obs[1, 4] == 0b001  # player 1 sees (a1, a2, a0) = (C, C, D)
    assert obs[2, 4] == 0b010  # player 2 sees (a2, a0, a1) = (C, D, C)
    # at n = 2 the second player's view swaps CD and DC, as in rlbook.games.matrix
    np.testing.assert_array_equal(npl.observation_index(2)[1], [0, 2, 1, 3])
    # every row is a permutation fixing all-C and all-D
    for n in (3, 4, 5):
        o = npl.observation_index(n)
        for i in range(n):
            assert sorted(o[i]) == list(range(2**n))
            assert o[i, 0] == 0 and o[i, -1] == 2**n - 1


@pytest.mark.parametrize("game", npl.GAME_NAMES)
def test_impossible_cells_are_never_read(game):
    for n in (2, 3, 4, 5):
        g = npl.make_game(game, n)
        r = np.asarray(npl.reward_matrix(g))
        assert np.all(np.isfinite(r))  # the NaN cells never enter the rewards
    # and values and gradients built from them stay finite (one N keeps the test quick)
    g = npl.make_game(game, 4)
    th = 3.0 * jax.random.normal(jax.random.key(4), (4, 17))
    v, gr = jax.jit(npl.value_and_own_grads)(th, g)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(gr))


def _random_thetas(seed, n, batch=16, scale=2.0):
    return scale * jax.random.normal(jax.random.key(seed), (batch, n, 2**n + 1))


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_visitation_sums_to_horizon(n):
    m = jax.vmap(npl.visitation, in_axes=(0, None))(_random_thetas(n, n), 0.96)
    np.testing.assert_allclose(m.sum(-1), 25.0, rtol=1e-4)
    assert bool(jnp.all(m >= -1e-5))
    m9 = jax.vmap(npl.visitation, in_axes=(0, None))(_random_thetas(n, n), 0.9)
    np.testing.assert_allclose(m9.sum(-1), 10.0, rtol=1e-4)


@pytest.mark.parametrize("n", [3, 4, 5])
def test_rotating_every_seat_permutes_the_values(n):
    g = npl.make_game("snowdrift", n)
    th = _random_thetas(10 + n, n, batch=8)
    v = jax.vmap(npl.exact_value, in_axes=(0, None))(th, g)
    for k in range(1, n):
        # seat j now holds the policy of old seat j + k, so it earns old seat j + k's value
        v_rot = jax.vmap(npl.exact_value, in_axes=(0, None))(jnp.roll(th, -k, axis=1), g)
        np.testing.assert_allclose(v_rot, jnp.roll(v, -k, axis=1), rtol=2e-4, atol=2e-5)


def test_a_wrong_rotation_would_be_caught():
    # reading the others in counter-clockwise order is a different game value: the test above bites
    n = 3
    g = npl.make_game("ipd", n)
    th = _random_thetas(3, n, batch=1)[0]
    swapped = th.at[1, 1:].set(th[1, 1 + npl.observation_index(3)[2]])
    assert not np.allclose(npl.exact_value(th, g), npl.exact_value(swapped, g), atol=1e-3)


def test_two_players_reduce_to_chapter_one():
    th = _random_thetas(7, 2, batch=32)
    for name, shift in (("ipd", 3.0),):
        g = npl.make_game(name, 2)
        v = jax.vmap(npl.exact_value, in_axes=(0, None))(th, g)
        ref = jax.vmap(lambda t: jnp.stack(mx.exact_value(t[0], t[1], mx.get_game("ipd"))))(th)
        np.testing.assert_allclose(v, ref + shift, rtol=1e-4, atol=1e-4)  # N-IPD at N = 2 = IPD + 3
    # any symmetric 2-player table: player 1's r over [CC, CD, DC, DD], player 2's mirrored
    t = npl.payoff_table("snowdrift", 2)
    g = npl.make_game("snowdrift", 2)
    mg = mx.make_game([t[0, 0], t[1, 0], t[1, 1], t[2, 1]], [t[0, 0], t[1, 1], t[1, 0], t[2, 1]])
    v = jax.vmap(npl.exact_value, in_axes=(0, None))(th, g)
    ref = jax.vmap(lambda t: jnp.stack(mx.exact_value(t[0], t[1], mg)))(th)
    np.testing.assert_allclose(v, ref, rtol=1e-4, atol=1e-4)


def test_deterministic_closed_forms():
    for game in npl.GAME_NAMES:
        for n in (3, 4):
            g = npl.make_game(game, n)
            allc = jnp.ones((n, 2**n + 1))
            np.testing.assert_allclose(
                npl.exact_value_probs(allc, g), npl.constant_welfare(g, 0), rtol=1e-5
            )
            np.testing.assert_allclose(
                npl.exact_value_probs(0 * allc, g), npl.constant_welfare(g, n), atol=1e-5
            )
    # N-IPD: all-C pays 2 (n - 1) each, all-D pays 1 each; defecting is dominant
    g = npl.make_game("ipd", 4)
    assert npl.constant_welfare(g, 0) == 6.0 and npl.constant_welfare(g, 4) == 1.0
    assert npl.dominant_action(g) == "D"


@pytest.mark.parametrize(("game", "n"), [("ipd", 3), ("stag_hunt", 4)])
def test_exact_value_matches_monte_carlo(game, n):
    g = npl.make_game(game, n)
    th = 1.5 * jax.random.normal(jax.random.key(5), (n, 2**n + 1))
    returns, rewards = npl.rollout_memory1(jax.random.key(1), th, g, num_steps=300, num_envs=4096)
    assert np.all(np.isfinite(rewards))  # impossible (NaN) cells never hit
    exact = np.asarray(npl.exact_value_unnormalised(th, g))
    mc, se = np.asarray(returns.mean(0)), np.asarray(returns.std(0)) / np.sqrt(4096)
    assert np.all(np.abs(mc - exact) < 4 * se + 1e-3), (mc, exact, se)


def test_sampled_env_api_and_observations():
    env = npl.IteratedNPlayerGame("ipd", n=3, num_steps=2)
    obs, state = env.reset(jax.random.key(0))
    assert obs.shape == (3, 9) and np.all(np.asarray(obs[:, 0]) == 1)
    obs, state, r, term, trunc, info = env.step(jax.random.key(1), state, jnp.array([1, 0, 0]))
    np.testing.assert_allclose(r, [5.0, 2.0, 2.0])  # one defector: D gets 5, C gets 2
    assert not bool(trunc) and int(info["num_defectors"]) == 1
    # player i's one-hot marks 1 + its rotated view of (D, C, C)
    assert [int(jnp.argmax(o)) for o in obs] == [1 + 0b100, 1 + 0b001, 1 + 0b010]
    obs, state, r, term, trunc, info = env.step(jax.random.key(2), state, jnp.array([1, 1, 1]))
    assert bool(trunc) and int(state.t) == 0 and np.all(np.asarray(obs[:, 0]) == 1)
    assert int(jnp.argmax(info["final_obs"][0])) == 8
    np.testing.assert_allclose(r, [1.0, 1.0, 1.0])


def test_naive_grads_are_own_gradients():
    n = 3
    g = npl.make_game("ipd", n)
    th = _random_thetas(2, n, batch=1)[0]
    gr = naive_grads(th, g)
    for i in range(n):
        gi = jax.grad(lambda x, i=i: npl.exact_value_unnormalised(th.at[i].set(x), g)[i])(th[i])
        np.testing.assert_allclose(gr[i], gi, rtol=1e-4, atol=1e-4)
    # LOLA with no look-ahead is the naive gradient
    np.testing.assert_allclose(lola_grad(th, 0, g, eta=0.0), gr[0], rtol=1e-4, atol=1e-4)


def test_naive_learners_defect_in_the_nipd():
    res = simulate(jax.random.key(0), npl.make_game("ipd", 3), n_runs=16, n_steps=100)
    assert res.value.shape == (16, 101, 3)
    assert float(res.value[:, -1].mean()) < 1.5  # close to all-D (1) rather than all-C (4)


def test_shaper_obs_rotation():
    th = jnp.arange(3 * 9, dtype=jnp.float32).reshape(3, 9) / 30
    o = shaper_obs(th, 1).reshape(3, 9)
    np.testing.assert_allclose(o[0], jax.nn.sigmoid(th[1]))
    np.testing.assert_allclose(o[1], jax.nn.sigmoid(th[2]))


def test_config_validation():
    with pytest.raises(ValueError, match="game"):
        NPOSConfig(game="chess")
    with pytest.raises(ValueError, match="num_leaders"):
        NPOSConfig(mix="nl", num_leaders=1)
    with pytest.raises(ValueError, match="num_leaders"):
        NPOSConfig(n=3, num_leaders=4)
    with pytest.raises(ValueError, match="preset"):
        NPOSConfig.preset("huge")
    assert NPOSConfig.preset("paper").popsize == 50


def test_train_shapes_and_common_co_players():
    # two shapers (each with its own ES) and one naive learner
    c = NPOSConfig.preset(
        "book", n=3, num_leaders=2, generations=2, popsize=4, num_opps=2, meta_steps=5, eval_opps=3
    )
    out = jax.jit(make_train(c))(jax.random.key(0))
    assert out.fitness.shape == (2, 2) and out.eval.value.shape == (3, 5, 3)
    assert np.all(np.isfinite(out.eval.value))
    nl = jax.jit(make_train(c.replace(mix="nl", num_leaders=0)))(jax.random.key(0))
    # same held-out co-players: the naive seats start from the same logits
    np.testing.assert_allclose(nl.eval.thetas[:, 0, 2:], out.eval.thetas[:, 0, 2:])
    assert trial_welfare(nl.eval).shape == (3,)


def test_solve_dd_matches_lapack():
    for n in (2, 3, 4):
        s = 2**n
        p = jax.nn.softmax(jax.random.normal(jax.random.key(n), (s, s)), axis=1)
        a = jnp.eye(s) - 0.96 * p
        b = jax.random.normal(jax.random.key(10 + n), (s, 3))
        np.testing.assert_allclose(npl.solve_dd(a, b), jnp.linalg.solve(a, b), rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(
            npl.solve_dd(a.T, b[:, 0]), jnp.linalg.solve(a.T, b[:, 0]), rtol=1e-3, atol=1e-4
        )
