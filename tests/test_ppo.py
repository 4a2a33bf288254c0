import functools

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook import rl
from rlbook.learners import ppo
from rlbook.learners.ppo import NetConfig, PPOConfig, final_return, gae, make_train

MLP = NetConfig.preset("mlp", width=16)
TINY = dict(num_envs=4, num_steps=8, num_minibatches=2, update_epochs=1, probe_size=8)


def test_gae_matches_plain_loop():
    rng = np.random.default_rng(0)
    T, N = 12, 3
    r, v = rng.normal(size=(T, N)), rng.normal(size=(T, N))
    d = (rng.random((T, N)) < 0.2).astype(np.float32)
    last = rng.normal(size=N)
    g, lam = 0.97, 0.9
    adv = np.zeros((T, N))
    nxt_adv, nxt_v = np.zeros(N), last
    for t in reversed(range(T)):
        delta = r[t] + g * nxt_v * (1 - d[t]) - v[t]
        nxt_adv = delta + g * lam * (1 - d[t]) * nxt_adv
        adv[t], nxt_v = nxt_adv, v[t]
    a, tgt = gae(jnp.asarray(r), jnp.asarray(v), jnp.asarray(d), jnp.asarray(last), g, lam)
    np.testing.assert_allclose(a, adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tgt, adv + v, rtol=1e-5, atol=1e-5)


def test_truncation_bootstrap_is_exact_for_gae():
    # one-step trace: truncated step gets r + gamma * V(final_observation), trace reset on done
    a, _ = gae(
        jnp.array([1.0 + 0.9 * 5.0]),
        jnp.array([2.0]),
        jnp.array([1.0]),
        jnp.array(7.0),
        0.9,
        0.95,
    )
    assert float(a[0]) == pytest.approx(1.0 + 0.9 * 5.0 - 2.0)


def _cartpole(max_steps=16):
    env, params = gymnax.make("CartPole-v1")
    return env, params.replace(max_steps_in_episode=max_steps)


def _setup(cfg, max_steps=16):
    env, params = _cartpole(max_steps)
    net = ppo.ActorCritic(cfg.actor, cfg.critic, env.action_space(params).n)
    runner = ppo.init_runner(jax.random.key(0), cfg, net, env, params)
    return env, params, net, runner


@pytest.mark.parametrize("bootstrap", [True, False])
def test_bootstrap_truncated_adds_gamma_v_only_on_truncated_steps(bootstrap):
    cfg = PPOConfig(
        env_name="CartPole-v1", total_timesteps=32, **TINY, actor=MLP, critic=MLP,
        bootstrap_truncated=bootstrap,
    )  # fmt: skip
    env, params, net, runner = _setup(cfg, max_steps=16)
    step = functools.partial(ppo.env_step, config=cfg, network=net, env=env, env_params=params)
    _, (tr, finished, done) = jax.lax.scan(step, runner, None, 20)
    reward, done = np.asarray(tr.reward), np.asarray(done)
    # CartPole pays 1 per step; an episode that reaches 16 steps is truncated there (a random policy
    # also drops the pole earlier, so both kinds of end occur)
    length = np.zeros(done.shape[1], int)
    truncated = np.zeros_like(done)
    for t in range(done.shape[0]):
        length += 1
        truncated[t] = done[t] & (length == 16)
        length[done[t]] = 0
    assert truncated.any() and (done & ~truncated).any()
    if bootstrap:
        assert np.all(reward[~truncated] == 1.0)
        assert np.all(reward[truncated] != 1.0)  # 1 + gamma * V(final obs)
    else:
        assert np.all(reward == 1.0)
    assert np.all(np.asarray(finished)[done] >= 1.0)  # episode returns count raw rewards


def test_anneal_lr_changes_only_the_second_update():
    kw = dict(env_name="CartPole-v1", total_timesteps=2 * 32, **TINY, actor=MLP, critic=MLP)
    out = {}
    for anneal in (True, False):
        cfg = PPOConfig(**kw, anneal_lr=anneal)
        env, params, net, runner = _setup(cfg)
        step = functools.partial(ppo.update, config=cfg, network=net, env=env, env_params=params)
        r1, _ = step(runner, None)
        r2, _ = step(r1, None)
        out[anneal] = (r1.train_state.params, r2.train_state.params)
    same = jax.tree.map(np.array_equal, out[True][0], out[False][0])
    assert all(jax.tree.leaves(same))  # lr * (1 - 0/2) during the first update
    diff = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), out[True][1], out[False][1])
    assert max(jax.tree.leaves(diff)) > 0  # lr * (1 - 1/2) during the second


@pytest.mark.parametrize("clip_value", [True, False])
def test_clip_value_switches_the_value_loss(clip_value):
    cfg = PPOConfig(env_name="CartPole-v1", **TINY, actor=MLP, critic=MLP, clip_value=clip_value)
    net = ppo.ActorCritic(MLP, MLP, 2)
    obs = jax.random.normal(jax.random.key(2), (16, 4))
    params = net.init(jax.random.key(1), obs[:1])
    logits, v = net.apply(params, obs)
    a = jnp.zeros(16, jnp.int32)
    # old values 3 below the new ones, targets 1 above: the clipped value (old + 0.2) misses by 3.8
    tr = ppo.Transition(obs, a, rl.categorical_logp(logits, a), v - 3.0, jnp.zeros(16), a)
    _, stats = ppo.loss(params, ppo.Batch(tr, jnp.linspace(-1, 1, 16), v + 1.0), cfg, net)
    want = 0.5 * 3.8**2 if clip_value else 0.5 * 1.0**2
    assert float(stats["value_loss"]) == pytest.approx(want, rel=1e-4)


def test_switch_coef_adds_the_top1_load_balancing_loss():
    top1 = NetConfig(kind="top1", num_experts=2, expert_hidden=8, conv_features=4, width=8)
    net = ppo.ActorCritic(top1, top1, 3)
    obs = jax.random.uniform(jax.random.key(0), (16, 10, 10, 4))
    params = net.init(jax.random.key(1), obs[:1])
    logits, v = net.apply(params, obs)
    a = jnp.zeros(16, jnp.int32)
    tr = ppo.Transition(obs, a, rl.categorical_logp(logits, a), v, jnp.zeros(16), jnp.zeros(16))
    batch = ppo.Batch(tr, jnp.linspace(-1, 1, 16), v + 1.0)
    base = PPOConfig(**TINY, actor=top1, critic=top1)
    l0, _ = ppo.loss(params, batch, base, net)
    l1, _ = ppo.loss(params, batch, base.replace(switch_coef=0.5), net)
    sw = ppo.switch_losses(params, obs, net)
    assert len(sw) == 2 and all(float(s) >= 1.0 for s in sw)  # n * sum(frac * prob) >= 1
    assert float(l1 - l0) == pytest.approx(0.5 * float(sw[0] + sw[1]), rel=1e-5)


def test_make_train_accepts_an_env_instance_and_returns_train_output():
    env, params = _cartpole(16)
    cfg = PPOConfig(env_name="CartPole-v1", total_timesteps=32, **TINY, actor=MLP, critic=MLP)
    out = jax.jit(make_train(cfg, env, params))(jax.random.key(0))
    assert isinstance(out, rl.TrainOutput)
    assert out["metrics"] is out.metrics
    # 16-step episodes: every finished CartPole episode returns at most 16
    r = np.asarray(out.metrics["return"])
    assert np.all(r[np.isfinite(r)] <= 16.0)


@pytest.mark.slow
def test_ppo_solves_cartpole():
    net = NetConfig(encoder="mlp", width=64, mlp_layers=2)
    cfg = PPOConfig(
        env_name="CartPole-v1",
        total_timesteps=120_000,
        num_envs=16,
        num_steps=128,
        num_minibatches=4,
        update_epochs=4,
        lr=2.5e-3,
        actor=net,
        critic=net,
        probe_size=64,
    )
    out = jax.jit(make_train(cfg))(jax.random.key(0))
    assert final_return(out.metrics, 0.1) > 150.0


def test_moe_critic_runs_and_logs_on_minatar():
    cfg = PPOConfig(
        total_timesteps=2 * 8 * 32,
        num_envs=8,
        num_steps=32,
        num_minibatches=2,
        update_epochs=1,
        critic=NetConfig(kind="top1", num_experts=2),
        actor=NetConfig(kind="softmoe", num_experts=2, expert_hidden=16),
        probe_size=32,
    )
    m = jax.jit(make_train(cfg))(jax.random.key(0)).metrics
    for k in ("critic_dormant", "actor_dormant", "critic_srank"):
        assert m[k].shape == (2,)
        assert np.all(np.isfinite(np.asarray(m[k])))
