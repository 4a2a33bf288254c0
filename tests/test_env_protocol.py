"""The env protocol (``rlbook.rl.env.Environment``): six-tuple, one auto-reset, gymnax spaces; every
game and meta-game of the opponent-shaping chapters follows it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments import spaces

from rlbook.games import coin_game, ipditm, iterated
from rlbook.rl.env import Environment
from rlbook.shaping import mfos, rfos


class Countdown(Environment):
    """A toy env: the state counts steps, the episode ends after 2; counts its reset_env calls."""

    def __init__(self):
        self.resets = 0

    @property
    def default_params(self):
        return 2

    def reset_env(self, key, params):
        self.resets += 1
        return jnp.float32(-1.0), jnp.int32(0)

    def step_env(self, key, state, action, params):
        t = state + 1
        return t.astype(jnp.float32), t, jnp.float32(action), t >= params, jnp.bool_(False), {}


def test_auto_reset_exactly_once_at_the_episode_end():
    env = Countdown()
    obs, s = env.reset(jax.random.key(0))
    assert env.resets == 1
    out = env.step(jax.random.key(1), s, 5.0)
    assert len(out) == 6 and env.resets == 2  # one reset_env per step
    obs, s, r, term, trunc, info = out
    assert int(s) == 1 and float(obs) == 1.0 and not bool(term) and float(r) == 5.0
    obs, s, r, term, trunc, info = env.step(jax.random.key(2), s, 0.0)
    assert bool(term) and int(s) == 0 and float(obs) == -1.0  # the next episode's start
    assert float(info["final_observation"]) == 2.0  # the observation the episode ended on
    obs, s, *_ = env.step(jax.random.key(3), s, 0.0)
    assert int(s) == 1  # a fresh episode goes on: not reset twice


ENVS = {
    "iterated": lambda: iterated.IteratedMatrixGame("ipd", 3),
    "coin_game": lambda: coin_game.CoinGame(size=3, num_steps=3),
    "ipditm": lambda: ipditm.IPDitM(size=5, view=3, num_coins=2, num_steps=3),
}


@pytest.mark.parametrize("name", list(ENVS))
def test_games_follow_the_protocol(name):
    env = ENVS[name]()
    assert isinstance(env, Environment)
    assert isinstance(env.action_space(), spaces.Discrete)
    assert env.action_space().n == env.num_actions
    obs, state = env.reset(jax.random.key(0))
    assert env.observation_space().contains(obs)
    action = jnp.zeros(2, jnp.int32)
    for t in range(3):
        out = env.step(jax.random.key(t + 1), state, action)
        assert len(out) == 6
        obs, state, reward, term, trunc, info = out
        assert reward.shape == (2,) and bool(trunc) == (t == 2) and not bool(term)
        assert env.observation_space().contains(obs)
    assert int(state.t) == 0 and "final_observation" in info  # auto-reset after 3 steps
    obs0, state0 = env.reset(env.split_key(jax.random.key(3))[1])
    np.testing.assert_array_equal(obs, obs0)


def test_mfos_meta_game_is_stateless_and_follows_the_protocol():
    env = mfos.MetaGame()
    assert isinstance(env, Environment) and vars(env) == {}  # methods read only their params
    params = mfos.meta_params(mfos.MFOSConfig(meta_steps=2))
    obs, state = env.reset(jax.random.key(0), params)
    assert env.observation_space().contains(obs) and env.action_space().shape == (5,)
    phi = jnp.zeros(5)
    obs, state, r, term, trunc, info = env.step(jax.random.key(1), state, phi, params)
    assert int(state.t) == 1 and not bool(trunc)
    obs, state, r, term, trunc, info = env.step(jax.random.key(2), state, phi, params)
    assert bool(trunc) and int(state.t) == 0  # a fresh meta-episode
    assert set(info) == {"opp_reward", "opp_theta", "final_observation"}


def test_rfos_meta_mdp_follows_the_protocol():
    c = rfos.RFOSConfig(h=2, episode_len=2)
    env, params = rfos.MetaMDP(), rfos.mdp_params(c)
    obs, state = env.reset(jax.random.key(0), params)
    assert env.observation_space(params).n == 16 and env.observation_space(params).contains(obs)
    assert env.action_space().n == 2
    for t in range(2):
        obs, state, r, term, trunc, info = env.step(jax.random.key(t), state, jnp.int32(1), params)
        assert 0.0 <= float(r) <= 1.0 and bool(trunc) == (t == 1)
    assert int(state.t) == 0 and float(state.opp_q[0]) == c.opp_q_init  # fresh opponent
