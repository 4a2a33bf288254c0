"""Adversarial Cheap Talk: the wrapper cannot change the MDP, the normaliser, the victim PPO, the ES."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.act.adversary import ACTConfig, candidate_fitness, make_es, message_grid
from rlbook.act.cheap_talk import (
    CheapTalkEnv,
    make_cartpole,
    norm_apply,
    norm_init,
    norm_update,
)
from rlbook.act.hijack import Exploiter, Hijacker, goal_reward, hijack_episode
from rlbook.act.victim import (
    UpdateStats,
    VictimConfig,
    final_return,
    make_net,
    mean_return,
    population_train,
    victim_train,
)

TINY = VictimConfig(num_envs=2, num_steps=16, num_updates=2, update_epochs=2, final_updates=1)


@pytest.fixture(scope="module")
def env():
    return CheapTalkEnv(*make_cartpole(), num_messages=2)


def big_phi(env, key, gain=5.0):
    """A random adversary with large weights, so messages saturate and vary."""
    return jax.tree_util.tree_map(lambda x: gain * x, env.init_phi(key))


def test_wrapper_cannot_change_the_mdp(env):
    base, base_params = make_cartpole()
    assert base_params.max_steps_in_episode == 200
    params = env.params(big_phi(env, jax.random.key(3)), 2 * math.pi)
    keys = jax.random.split(jax.random.key(1), 300)
    actions = jax.random.bernoulli(jax.random.key(2), 0.5, (300,)).astype(jnp.int32)

    @jax.jit
    def both():
        o_b, s_b = base.reset(jax.random.key(0), base_params)
        o_w, s_w = env.reset(jax.random.key(0), params)

        def step(c, xs):
            s_b, s_w = c
            k, a = xs
            o_b, s_b, r_b, term, trunc, _ = base.step(k, s_b, a, base_params)
            o_w, s_w, r_w, d_w, info = env.step(k, s_w, a, params)
            out = (o_b, o_w, r_b, r_w, term | trunc, d_w, s_b, s_w, info["truncated"])
            return (s_b, s_w), out

        _, out = jax.lax.scan(step, (s_b, s_w), (keys, actions))
        return (o_b, o_w), out

    (o_b0, o_w0), (o_b, o_w, r_b, r_w, d_b, d_w, s_b, s_w, trunc) = both()
    np.testing.assert_array_equal(o_w0[:4], o_b0)
    np.testing.assert_array_equal(o_w[:, :4], o_b)
    np.testing.assert_array_equal(r_w, r_b)
    np.testing.assert_array_equal(d_w, d_b)
    for a, b in zip(jax.tree_util.tree_leaves(s_w), jax.tree_util.tree_leaves(s_b), strict=True):
        np.testing.assert_array_equal(a, b)
    assert d_b.sum() >= 3  # several episodes ended (and auto-reset) within the check
    m = o_w[:, 4:]
    assert float(jnp.abs(m).max()) <= 2 * math.pi + 1e-5
    assert float(m.std(0).min()) > 0.1  # the messages really vary
    # the message is a function of the shown observation only (no action, no history)
    np.testing.assert_allclose(m, env.message(o_b, params), rtol=1e-4, atol=1e-3)
    assert not bool(trunc.any()) or int(s_b.time.max()) <= 200


def test_message_bounds_and_zero_phi(env):
    s = jax.random.normal(jax.random.key(0), (256, 4)) * 5
    for scale in (0.5, math.pi, 2 * math.pi):
        m = env.message(s, env.params(big_phi(env, jax.random.key(1), 50.0), scale))
        assert float(jnp.abs(m).max()) <= scale * (1 + 1e-6)
    m0 = env.message(s, env.params(env.zero_phi(), 2 * math.pi))
    np.testing.assert_array_equal(m0, 0.0)
    _, _, grid = message_grid(env, env.zero_phi(), 2 * math.pi, 5)
    np.testing.assert_array_equal(grid, 0.0)


def test_normaliser_matches_numpy():
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc, 2.0, size=(64, 3)) for loc in (0.0, 3.0, -1.0)]
    ns = norm_init(3)
    for b in batches:
        ns = norm_update(ns, jnp.asarray(b, jnp.float32))
    allx = np.concatenate(batches)
    np.testing.assert_allclose(ns.mean, allx.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ns.var, allx.var(0), rtol=1e-4, atol=1e-4)
    out = norm_apply(ns, jnp.asarray(allx[:5], jnp.float32))
    ref = (allx[:5] - allx.mean(0)) / np.sqrt(allx.var(0) + 1e-4)
    np.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-3)


def test_normaliser_constant_dimension_trap():
    ns = norm_init(2)
    for _ in range(5):
        ns = norm_update(ns, jnp.stack([jnp.linspace(-1, 1, 8), jnp.zeros(8)], -1))
    probe = jnp.array([0.0, 1.0])
    # the reference multiplies a value on a never-used channel by ~1/sqrt(1e-4) = 100
    assert float(norm_apply(ns, probe, const_passthrough=False)[1]) > 90
    np.testing.assert_allclose(norm_apply(ns, probe)[1], 1.0, rtol=1e-3)


def test_population_vmap_equals_loop(env):
    phis = jax.vmap(env.init_phi)(jax.random.split(jax.random.key(0), 2))
    params = env.params(phis, 2 * math.pi)
    key = jax.random.key(7)
    pop = jax.jit(lambda k, p: population_train(TINY, env, k, p))(key, params)
    one = jax.jit(lambda k, p: victim_train(TINY, env, k, p))
    for i in range(2):
        phi_i = jax.tree_util.tree_map(lambda x, i=i: x[i], phis)
        out = one(key, env.params(phi_i, 2 * math.pi))
        for a, b in zip(
            jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(pop), strict=True
        ):
            np.testing.assert_allclose(a, b[i], rtol=1e-4, atol=1e-5)
    # same key and phi: the same fitness (common random numbers are exact)
    cfg = ACTConfig(popsize=2, victim=TINY)
    f1, _ = candidate_fitness(cfg, env, key, phis)
    f2, _ = candidate_fitness(cfg, env, key, phis)
    np.testing.assert_array_equal(f1, f2)


def test_zero_message_victim_learns_cartpole(env):
    cfg = VictimConfig()
    params = env.params(env.zero_phi(), 2 * math.pi)
    out = jax.jit(jax.vmap(lambda k: victim_train(cfg, env, k, params)))(
        jax.random.split(jax.random.key(0), 8)
    )
    final = final_return(out.stats, cfg.final_updates)
    assert bool(jnp.isfinite(final).all())
    assert float(final.mean()) > 150, final


def test_returns_never_nan():
    zero = UpdateStats(jnp.zeros(4), jnp.zeros(4, jnp.int32), jnp.zeros(4))
    assert float(final_return(zero, 2)) == 0.0
    assert float(mean_return(zero)) == 0.0
    some = UpdateStats(jnp.array([0.0, 30.0, 0.0, 100.0]), jnp.array([0, 2, 0, 1]), jnp.zeros(4))
    assert float(mean_return(some)) == pytest.approx((15.0 + 100.0) / 2)
    assert float(final_return(some, 3)) == pytest.approx(130.0 / 3)


def test_goal_reward_and_hijack_trace(env):
    x, g = jnp.linspace(-3, 3, 7), jnp.float32(0.7)
    np.testing.assert_allclose(goal_reward(x, g), np.exp(-((np.asarray(x) - 0.7) ** 2)), 1e-6)
    victim = jax.jit(lambda k: victim_train(TINY, env, k, env.params(env.zero_phi(), math.pi)))(
        jax.random.key(0)
    )
    ex = Exploiter(2, 8)
    exp = ex.init(jax.random.key(1), jnp.zeros(5))
    h = Hijacker(TINY, env, make_net(env, TINY), ex, math.pi, 200)
    tr = jax.jit(lambda k: hijack_episode(h, victim, exp, k, g))(jax.random.key(2))
    np.testing.assert_allclose(tr.reward, goal_reward(tr.x, g) * tr.alive, rtol=1e-6)
    assert float(jnp.abs(tr.m).max()) <= math.pi + 1e-5
    assert bool((jnp.diff(tr.alive) <= 0).all())  # the episode ends once


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(popsize=3),
        dict(popsize=0),
        dict(popsize=2.0),
        dict(num_messages=0),
        dict(scale=0.0),
        dict(scale=-1.0),
        dict(scale=float("inf")),
        dict(goal="steal"),
        dict(generations=0),
    ],
)
def test_bad_act_config_raises(kwargs):
    with pytest.raises(ValueError):
        ACTConfig(**kwargs)


def test_bad_wrapper_args_raise(env):
    base, base_params = make_cartpole()
    with pytest.raises(ValueError, match="num_messages"):
        CheapTalkEnv(base, base_params, num_messages=0)
    with pytest.raises(ValueError, match="scale"):
        env.params(env.zero_phi(), -1.0)
    with pytest.raises(ValueError, match="final_updates"):
        VictimConfig(num_updates=2, final_updates=3)
    with pytest.raises(ValueError, match="preset"):
        ACTConfig.preset("huge")


def test_es_uses_act_schedules(env):
    cfg = ACTConfig(popsize=4)
    es = make_es(cfg, env.zero_phi())
    state = es.init()
    assert float(jnp.abs(state.mean).max()) == 0.0  # generation 0 sends m = 0
    pop, _ = es.ask(jax.random.key(0), state)
    flat = jax.vmap(lambda p: jax.flatten_util.ravel_pytree(p)[0])(pop)
    np.testing.assert_allclose(flat[:2] + flat[2:], 0.0, atol=1e-6)  # antithetic pairs
    state = es.tell(state, pop, jnp.arange(4.0))
    assert float(state.sigma) == pytest.approx(0.04 * 0.999)


def test_linear_probes():
    from rlbook.act.probes import linear_probe, probe_accuracy

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = 3 * x[:, 0] - x[:, 1] + 0.5
    assert linear_probe(x[:300], y[:300], x[300:], y[300:]) == pytest.approx(1.0, abs=1e-6)
    noise = rng.normal(size=(400, 2))
    assert linear_probe(noise[:300], y[:300], noise[300:], y[300:]) < 0.1
    a = (x[:, 0] > 0).astype(int)
    assert probe_accuracy(x[:300], a[:300], x[300:], a[300:]) > 0.9


def test_experiment_config_presets_and_checks():
    from rlbook.experiments.act import EXPERIMENT, ACTExperimentConfig

    book = ACTExperimentConfig.preset("book")
    assert book.act_config("hijack").scale == pytest.approx(math.pi)
    assert book.act_config("harm").scale == pytest.approx(2 * math.pi)
    assert book.act_config("help").goal == "help"
    assert ACTExperimentConfig.preset("paper").popsize == 1024
    assert EXPERIMENT.name == "act" and EXPERIMENT.config("book")["popsize"] == book.popsize
    with pytest.raises(ValueError, match="preset"):
        ACTExperimentConfig.preset("huge")
    with pytest.raises(ValueError, match="popsize"):
        ACTExperimentConfig.preset("book", popsize=31)
    with pytest.raises(ValueError, match="eval_victims"):
        ACTExperimentConfig(eval_victims=0)
