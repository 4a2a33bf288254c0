import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.learners.ppo import NetConfig, PPOConfig, final_return, gae, make_train


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
    # one-step trace: truncated step gets r + gamma * V(final_obs), trace reset on done
    a, _ = gae(
        jnp.array([1.0 + 0.9 * 5.0]),
        jnp.array([2.0]),
        jnp.array([1.0]),
        jnp.array(7.0),
        0.9,
        0.95,
    )
    assert float(a[0]) == pytest.approx(1.0 + 0.9 * 5.0 - 2.0)


def test_config_errors():
    with pytest.raises(ValueError, match="kind"):
        PPOConfig(critic=NetConfig(kind="nope")).validate()
    with pytest.raises(ValueError, match="num_experts"):
        PPOConfig(critic=NetConfig(kind="softmoe", num_experts=0)).validate()
    with pytest.raises(ValueError, match="total_timesteps"):
        PPOConfig(total_timesteps=10).validate()


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
    assert final_return(out["metrics"], 0.1) > 150.0


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
    m = jax.jit(make_train(cfg))(jax.random.key(0))["metrics"]
    for k in ("critic_dormant", "actor_dormant", "critic_srank"):
        assert m[k].shape == (2,)
        assert np.all(np.isfinite(np.asarray(m[k])))
