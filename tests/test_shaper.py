"""Shaper: memory semantics, batch averaging, co-player updates, determinism and input checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.shaping import shaper as S

SMALL = dict(num_envs=3, num_episodes=4, num_steps=6, hidden=8, popsize=4, num_opps=2)


def cfg(**kw):
    return S.ShaperConfig(**{**SMALL, **kw})


def run_trial(c, seed=0):
    params = S.init_params(c, jax.random.key(1))
    return jax.jit(S.make_trial(c))(params, jax.random.key(seed))


def test_carried_hidden_state_spans_inner_episodes():
    out = run_trial(cfg(memory="carry"))
    # episode k+1 starts exactly where episode k ended ...
    np.testing.assert_array_equal(out.h_start[1:], out.h_end[:-1])
    # ... and that is not the zero state (this fails if the memory were reset)
    assert float(jnp.abs(out.h_start[1:]).min(axis=-1).max()) > 0
    assert float(jnp.abs(out.h_start[1:]).sum()) > 0
    np.testing.assert_array_equal(out.h_start[0], 0)


def test_reset_memory_starts_every_episode_at_zero():
    out = run_trial(cfg(memory="reset"))
    np.testing.assert_array_equal(out.h_start, 0)
    assert float(jnp.abs(out.h_end).sum()) > 0


def test_carry_changes_behaviour():
    a = run_trial(cfg(memory="carry"))
    b = run_trial(cfg(memory="reset"))
    np.testing.assert_array_equal(a.reward[0], b.reward[0])  # identical first episode
    assert not np.allclose(a.reward[1:], b.reward[1:])


def test_batch_average_math():
    h = jax.random.normal(jax.random.key(0), (5, 7))
    np.testing.assert_allclose(S.batch_average(h, 0.0), h)
    same = jnp.tile(h[:1], (5, 1))
    np.testing.assert_allclose(S.batch_average(same, 0.5), same, rtol=1e-6)
    np.testing.assert_allclose(
        S.batch_average(h, 1.0), jnp.tile(h.mean(0, keepdims=True), (5, 1)), rtol=1e-6
    )
    out = S.batch_average(h, 0.5)
    np.testing.assert_allclose(out, 0.5 * h + 0.5 * h.mean(0), rtol=1e-6)
    np.testing.assert_allclose(
        out.mean(0), h.mean(0), rtol=1e-5, atol=1e-6
    )  # the mean is preserved


def test_averaging_couples_the_envs():
    a = run_trial(cfg(att_type="nothing"))
    b = run_trial(cfg(att_type="avg", beta=0.0))
    np.testing.assert_allclose(a.reward, b.reward)  # beta = 0 is the identity
    c = run_trial(cfg(att_type="avg", beta=0.5))
    assert not np.allclose(a.h_end, c.h_end)


def test_mfos_and_gs_reset_memory():
    out = run_trial(cfg(agent="mfos"))
    np.testing.assert_array_equal(out.h_start, 0)
    out = run_trial(cfg(agent="gs"))
    np.testing.assert_array_equal(out.h_end, 0)


def test_coplayer_reinforce_matches_closed_form():
    c = cfg(coplayer_lr=0.7, gamma=0.0)
    spec = S.make_env(c)
    key = jax.random.key(3)
    w = S.coplayer_init(key, c, spec)
    L, E = 4, 3
    obs = jax.nn.one_hot(jax.random.randint(key, (L, E), 0, 5), 5)
    act = jax.random.randint(jax.random.key(4), (L, E), 0, 2)
    rew = jax.random.normal(jax.random.key(5), (L, E))
    new = S.coplayer_update(w, obs, act, rew, c)
    # gamma = 0: advantage = r - mean_E r; d log softmax = onehot(a) - pi
    adv = rew - rew.mean(1, keepdims=True)
    pi = jax.nn.softmax(obs @ w[0] + w[1])
    dlog = jax.nn.one_hot(act, 2) - pi
    gW = jnp.einsum("le,led,lea->da", adv, obs, dlog) / E
    gb = jnp.einsum("le,lea->a", adv, dlog) / E
    np.testing.assert_allclose(new[0], w[0] + 0.7 * gW / L, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new[1], w[1] + 0.7 * gb / L, rtol=1e-5, atol=1e-6)


def test_ppo_coplayer_first_epoch_equals_reinforce():
    c_pg = cfg(coplayer="reinforce")
    c_ppo = cfg(coplayer="ppo", update_epochs=1)
    spec = S.make_env(c_pg)
    w = S.coplayer_init(jax.random.key(0), c_pg, spec)
    obs = jax.nn.one_hot(jax.random.randint(jax.random.key(1), (5, 3), 0, 5), 5)
    act = jax.random.randint(jax.random.key(2), (5, 3), 0, 2)
    rew = jax.random.normal(jax.random.key(3), (5, 3))
    a = S.coplayer_update(w, obs, act, rew, c_pg)
    b = S.coplayer_update(w, obs, act, rew, c_ppo)  # ratio = 1 at the first epoch
    np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-6)


def test_coplayer_sees_only_its_own_reward(monkeypatch):
    """Changing only the agent's payoffs r1 leaves the co-player's learning unchanged (same key)."""
    from rlbook.games import iterated
    from rlbook.games.matrix import make_game

    c = cfg()
    base = S.make_env(c)
    params = S.init_params(c, jax.random.key(1))
    outs = []
    for r1 in ([-1, -3, 0, -2], [5, 7, -9, 1]):
        game = make_game(r1, [-1, 0, -3, -2])
        spec = base._replace(params=iterated.default_params(game, c.num_steps))
        monkeypatch.setattr(S, "make_env", lambda c, spec=spec: spec)
        outs.append(S.make_trial(c)(params, jax.random.key(0)))
    np.testing.assert_array_equal(outs[0].coplayer[0], outs[1].coplayer[0])
    np.testing.assert_array_equal(outs[0].reward[:, 1], outs[1].reward[:, 1])
    assert not np.allclose(outs[0].reward[:, 0], outs[1].reward[:, 0])


def test_training_is_deterministic_and_improves():
    c = cfg(generations=3, eval_trials=4)
    train = jax.jit(S.make_train(c))
    a = train(jax.random.key(0))
    b = train(jax.random.key(0))
    np.testing.assert_array_equal(a.fitness, b.fitness)
    np.testing.assert_array_equal(a.eval_reward, b.eval_reward)
    c2 = train(jax.random.key(1))
    assert not np.array_equal(a.fitness, c2.fitness)


def test_grid_envs_run_in_the_harness():
    for env in ("coin_game", "ipditm"):
        c = cfg(env=env, grid_size=5, num_coins=2)
        out, states = jax.jit(S.make_trial(c, record=True))(
            S.init_params(c, jax.random.key(0)), jax.random.key(1)
        )
        assert out.reward.shape == (c.num_episodes, 2)
        assert np.all(np.isfinite(out.reward))


def test_naive_baseline_shape():
    c = cfg()
    r = S.naive_baseline(c, jax.random.key(0), num_trials=3)
    assert r.shape == (3, c.num_episodes, 2)


@pytest.mark.parametrize(
    "kw,name",
    [
        ({"agent": "lola"}, "agent"),
        ({"memory": "forever"}, "memory"),
        ({"att_type": "att"}, "att_type"),
        ({"coplayer": "lola"}, "coplayer"),
        ({"env": "chess"}, "env"),
        ({"beta": 1.5}, "beta"),
        ({"popsize": 3}, "popsize"),
        ({"num_episodes": 0}, "num_episodes"),
        ({"coplayer_lr": 0.0}, "coplayer_lr"),
        ({"gamma": 2.0}, "gamma"),
    ],
)
def test_bad_config(kw, name):
    with pytest.raises(ValueError, match=name):
        S.make_trial(S.ShaperConfig(**kw))


def test_bad_preset():
    with pytest.raises(ValueError, match="preset"):
        S.ShaperConfig.preset("huge")
    assert S.ShaperConfig.preset("paper").popsize == 1000
