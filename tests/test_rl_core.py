"""The shared RL core: closed forms for returns and GAE, categorical helpers, the seeds helper."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook import rl


def test_discounted_returns_closed_form_and_episode_cut():
    r = jnp.array([1.0, 2.0, 3.0, 4.0])
    g = rl.discounted_returns(r, 0.5)
    np.testing.assert_allclose(g, [1 + 1 + 0.75 + 0.5, 2 + 1.5 + 1.0, 3 + 2.0, 4.0], rtol=1e-6)
    d = jnp.array([0.0, 1.0, 0.0, 0.0])  # episode ends after step 1
    g = rl.discounted_returns(r, 0.5, d)
    np.testing.assert_allclose(g, [1 + 1.0, 2.0, 3 + 2.0, 4.0], rtol=1e-6)


def test_gae_with_lambda_one_is_return_minus_value():
    r = jnp.array([1.0, 0.0, 2.0])
    v = jnp.array([0.3, -0.2, 0.5])
    d = jnp.zeros(3)
    adv, tgt = rl.gae(r, v, d, jnp.array(0.0), 0.9, 1.0)
    np.testing.assert_allclose(adv, rl.discounted_returns(r, 0.9) - v, rtol=1e-6)
    np.testing.assert_allclose(tgt, adv + v, rtol=1e-6)


def test_categorical_helpers():
    logits = jnp.log(jnp.array([[0.2, 0.3, 0.5]]))
    np.testing.assert_allclose(
        rl.categorical_logp(logits, jnp.array([2])), np.log([0.5]), rtol=1e-6
    )
    ent = -(0.2 * np.log(0.2) + 0.3 * np.log(0.3) + 0.5 * np.log(0.5))
    np.testing.assert_allclose(rl.categorical_entropy(logits), [ent], rtol=1e-6)


def test_linear_schedule_reaches_zero_after_the_last_update():
    s = rl.linear_schedule(1.0, num_updates=4, steps_per_update=3)
    assert [float(s(c)) for c in (0, 2, 3, 11, 12)] == [1.0, 1.0, 0.75, 0.25, 0.0]


def test_train_seeds_equals_a_loop():
    def train(key):
        return jax.random.normal(key, (3,)).sum()

    out = rl.train_seeds(train, seed=7, num_seeds=4)
    loop = [train(k) for k in rl.seed_keys(7, 4)]
    np.testing.assert_allclose(out, loop, rtol=1e-6)
    with pytest.raises(ValueError, match="num_seeds"):
        rl.seed_keys(0, 0)
