"""Shaper: memory semantics, batch averaging, co-player updates, determinism and input checks."""

from functools import partial

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


def test_training_is_deterministic_and_seed_dependent():
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


def test_naive_baseline_drifts_to_mutual_defection():
    """NL-NL, the no-shaping reference: two tabular REINFORCE learners in the sampled IPD start near
    random play (-1.5 per step) and drift to mutual defection (-2): after 16 updates both are closer
    to -2 than to -1.5."""
    c = S.ShaperConfig.preset("book")
    r = np.asarray(S.naive_baseline(c, jax.random.key(0), num_trials=16))
    assert r.shape == (16, c.num_episodes, 2)
    first, last = r[:, 0].mean(0), r[:, -1].mean(0)
    assert np.all(first > -1.75), first
    assert np.all(last < -1.75), last
    with pytest.raises(ValueError, match="env"):
        S.naive_baseline(S.ShaperConfig.preset("meta_tiny"), jax.random.key(0))


# ----------------------------------------------------------------------------- M-FOS (ES), pax shape


def test_mfos_net_has_pax_shape_and_th_gates_the_actor():
    c = cfg(agent="mfos")
    params = S.init_params(c, jax.random.key(0))["params"]["MFOSNet_0"]
    assert {"meta", "actor", "critic", "meta_in", "actor_in", "critic_in", "meta_out"} <= set(
        params
    )
    assert "bias" not in params["logits"]  # pax: logits = Linear(th * actor features), no bias
    net = S.make_agent(c, S.make_env(c))
    p = S.init_params(c, jax.random.key(0))
    h0 = jnp.zeros((3, S.memory_width(c)))
    obs = jax.nn.one_hot(jnp.array([0, 1, 2]), 5)
    h, logits = net.apply(p, h0, obs, jnp.zeros((3, c.hidden)))
    np.testing.assert_array_equal(logits, 0.0)  # th = 0 shuts the actor off
    h, logits = net.apply(p, h0, obs, S.initial_context(c, 3))
    assert not np.allclose(logits, 0.0)
    th_now = h[:, 3 * c.hidden :]
    assert np.all((th_now > 0) & (th_now < 1))  # a sigmoid


def test_mfos_carries_only_th_across_episodes():
    c = cfg(agent="mfos")
    out = run_trial(c)
    np.testing.assert_array_equal(out.h_start, 0)  # every GRU restarts each episode
    # the next episode's play depends on the th of the previous episode's last step
    params = S.init_params(c, jax.random.key(1))
    net = S.make_agent(c, S.make_env(c))
    obs = jnp.zeros((c.num_envs, 5)).at[:, 0].set(1.0)
    ctx = out.h_end[0][:, 3 * c.hidden :]
    _, logits_ctx = net.apply(params, jnp.zeros_like(out.h_end[0]), obs, ctx)
    _, logits_one = net.apply(params, jnp.zeros_like(out.h_end[0]), obs, S.initial_context(c, 3))
    assert not np.allclose(logits_ctx, logits_one)


# ----------------------------------------------------------------------------- the exact meta-game


def test_meta_game_matches_chapter_2():
    """env="ipd_meta" is mfos.MetaGame: exact values, the naive co-player's exact step."""
    from rlbook.games.matrix import exact_value
    from rlbook.shaping import mfos

    c = S.ShaperConfig.preset("meta_tiny")
    params = S.init_params(c, jax.random.key(1))
    key = jax.random.key(2)
    out = jax.jit(S.make_trial(c))(params, key)
    mp = S.meta_params(c)
    _, state = mfos.META_GAME.reset(key, mp)
    # replay the agent's first move by hand and check reward and co-player step
    obs, _ = mfos.META_GAME.reset(key, mp)
    x0 = jnp.concatenate([obs[:5], jnp.zeros(1)])[None]
    net = S.make_agent(c, S.make_env(c))
    _, phi = net.apply(params, jnp.zeros((1, c.hidden)), x0, S.initial_context(c, 1))
    r1, r2 = exact_value(phi[0], state.theta, mp.game, mp.gamma)
    np.testing.assert_allclose(out.reward[0], [r1, r2], rtol=1e-5, atol=1e-6)
    theta1 = mfos.co_player_update(state.theta, phi[0], mp)
    np.testing.assert_allclose(out.coplayer[0], theta1, rtol=1e-5, atol=1e-6)


def test_meta_game_memory_carry_and_reset():
    c = S.ShaperConfig.preset("meta_tiny")
    params = S.init_params(c, jax.random.key(1))
    carry = jax.jit(S.make_trial(c))(params, jax.random.key(0))
    np.testing.assert_array_equal(carry.h_start[1:], carry.h_end[:-1])
    assert float(jnp.abs(carry.h_start[1:]).sum()) > 0
    reset = jax.jit(S.make_trial(S.ShaperConfig.preset("meta_tiny", memory="reset")))(
        params, jax.random.key(0)
    )
    np.testing.assert_array_equal(reset.h_start, 0)
    np.testing.assert_array_equal(carry.reward[0], reset.reward[0])
    assert not np.allclose(carry.reward[1:], reset.reward[1:])


def test_playtime_reset_is_paired_and_a_no_op_without_memory():
    """The diagnostic replays the same weights on the same co-players; for Good Shepherd (no memory)
    carried and reset play are identical, so a "uses its memory" claim cannot pass for it."""
    for agent, same in (("gs", True), ("shaper", False)):
        c = S.ShaperConfig.preset("meta_tiny", agent=agent)
        p = jax.vmap(partial(S.init_params, c))(jax.random.split(jax.random.key(0), 2))
        carried, reset = S.playtime_reset(c, p, jax.random.key(3), num_trials=3)
        assert carried.shape == reset.shape == (2, 3, c.num_episodes, 2)
        np.testing.assert_array_equal(carried[:, :, 0], reset[:, :, 0])  # same first episode
        assert np.array_equal(carried, reset) == same


@pytest.mark.slow
def test_es_improves_the_agent_in_the_meta_game():
    """ES raises the agent's fitness: the last 10 generations beat the first 10 (one seed)."""
    c = S.ShaperConfig.preset("meta_tiny", generations=40, popsize=16, num_opps=2, hidden=8)
    out = jax.jit(S.make_train(c))(jax.random.key(0))
    f = np.asarray(out.fitness)
    assert f[-10:].mean() > f[:10].mean() + 0.05, f


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
        ({"env": "ipd_meta", "beta": -1.0}, "beta"),
    ],
)
def test_bad_config(kw, name):
    with pytest.raises(ValueError, match=name):
        S.make_trial(S.ShaperConfig(**kw))


def test_bad_preset():
    with pytest.raises(ValueError, match="preset"):
        S.ShaperConfig.preset("huge")
    assert S.ShaperConfig.preset("paper").popsize == 1000
