"""The sampled iterated game: API, perspective of the observations, and exact value == Monte Carlo."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.games.iterated import (
    IteratedMatrixGame,
    default_params,
    reset,
    rollout_memory1,
    step,
)
from rlbook.games.matrix import exact_value_unnormalised, get_game


def test_reset_and_step_api():
    env = IteratedMatrixGame("ipd", num_steps=3)
    obs, state = env.reset(jax.random.key(0))
    np.testing.assert_array_equal(obs, [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0]])
    # player 1 cooperates, player 2 defects: joint state CD
    obs, state, reward, terminated, truncated, info = env.step(
        jax.random.key(1), state, jnp.array([0, 1])
    )
    np.testing.assert_array_equal(reward, [-3.0, 0.0])
    np.testing.assert_array_equal(obs[0], [0, 0, 1, 0, 0])  # player 1 sees CD
    np.testing.assert_array_equal(obs[1], [0, 0, 0, 1, 0])  # player 2 sees DC (own action first)
    assert not bool(terminated) and not bool(truncated)
    assert int(info["joint_state"]) == 1


def test_episode_is_finite_and_autoresets():
    params = default_params("ipd", num_steps=2)
    obs, state = reset(jax.random.key(0), params)
    a = jnp.array([1, 1])
    obs, state, _, _, trunc, _ = step(jax.random.key(1), state, a, params)
    assert not bool(trunc)
    obs, state, r, term, trunc, info = step(jax.random.key(2), state, a, params)
    assert bool(trunc) and not bool(term)
    np.testing.assert_array_equal(r, [-2, -2])
    np.testing.assert_array_equal(info["final_observation"][0], [0, 0, 0, 0, 1])  # DD before reset
    np.testing.assert_array_equal(obs[0], [1, 0, 0, 0, 0])  # new episode starts
    assert int(state.t) == 0


def test_vmap_over_envs():
    params = default_params("imp", num_steps=5)
    keys = jax.random.split(jax.random.key(0), 8)
    obs, state = jax.vmap(reset, in_axes=(0, None))(keys, params)
    actions = jnp.stack([jnp.arange(8) % 2, (jnp.arange(8) // 2) % 2], axis=1)
    obs, state, r, term, trunc, _ = jax.vmap(step, in_axes=(0, 0, 0, None))(
        keys, state, actions, params
    )
    assert obs.shape == (8, 2, 5) and r.shape == (8, 2) and trunc.shape == (8,)
    np.testing.assert_allclose(r.sum(-1), 0.0)  # IMP is zero-sum


@pytest.mark.parametrize(("name", "seed"), [("ipd", 0), ("ipd", 1), ("imp", 2), ("stag_hunt", 3)])
def test_exact_value_equals_monte_carlo(name, seed):
    game = get_game(name)
    k0, k1, k2 = jax.random.split(jax.random.key(seed), 3)
    theta1, theta2 = jax.random.normal(k0, (5,)), jax.random.normal(k1, (5,))
    returns, rewards = rollout_memory1(k2, theta1, theta2, game, num_steps=300, num_envs=4096)
    assert rewards.shape == (4096, 300, 2)
    exact = np.array(exact_value_unnormalised(theta1, theta2, game, 0.96))
    mc = np.array(returns.mean(0))
    se = np.array(returns.std(0)) / np.sqrt(returns.shape[0])
    # truncation after 300 rounds leaves at most gamma^300 / (1 - gamma) * max|r| (< 2e-3 here)
    tail = 0.96**300 / 0.04 * float(jnp.max(jnp.abs(jnp.stack([game.r1, game.r2]))))
    assert np.all(np.abs(mc - exact) <= 3 * se + tail), (mc, exact, se)


def test_deterministic_strategies_in_the_sampled_game():
    # TFT (large logits) vs AllD: -3 in round 1 then -2 forever for TFT
    tft = jnp.array([30.0, 30.0, -30.0, 30.0, -30.0])
    alld = jnp.full(5, -30.0)
    _, rewards = rollout_memory1(
        jax.random.key(0), tft, alld, get_game("ipd"), num_steps=4, num_envs=2
    )
    np.testing.assert_array_equal(rewards[0, :, 0], [-3, -2, -2, -2])
    _, rewards = rollout_memory1(
        jax.random.key(0), alld, tft, get_game("ipd"), num_steps=4, num_envs=2
    )
    np.testing.assert_array_equal(rewards[0, :, 1], [-3, -2, -2, -2])  # same, from seat 2


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown game"):
        IteratedMatrixGame("go")
    with pytest.raises(ValueError, match="num_steps"):
        default_params("ipd", 0)
    with pytest.raises(ValueError, match="gamma"):
        rollout_memory1(jax.random.key(0), jnp.zeros(5), jnp.zeros(5), get_game("ipd"), gamma=1.2)
    with pytest.raises(ValueError, match="theta2"):
        rollout_memory1(jax.random.key(0), jnp.zeros(5), jnp.zeros(4), get_game("ipd"))
