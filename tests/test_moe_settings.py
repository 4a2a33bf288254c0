"""Multi-task MinAtar, the MoE architectures and routers of Chapter 10, and the MTRL / CRL PPO loops."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.envs.multitask_minatar import GAMES, MultiTaskMinAtar, per_task_mean, task_of
from rlbook.learners import moe_settings as ms
from rlbook.moe.settings_nets import (
    ARCHS,
    ROUTERS,
    HardMoE,
    SettingsNetConfig,
    SettingsTorso,
    param_count,
)


@functools.lru_cache
def _env(n=6, max_steps=None):
    return MultiTaskMinAtar(GAMES, n, max_steps)


def test_multitask_shapes_padding_and_task_planes():
    env = _env()
    a = env.split_assignment()
    np.testing.assert_array_equal(a, [0, 0, 1, 1, 2, 2])
    obs, states = env.reset(jax.random.key(0), a)
    assert obs.shape == (6, 10, 10, 9) == (6,) + env.obs_shape
    assert len(states) == 3
    np.testing.assert_array_equal(task_of(obs, 3), a)
    # Breakout and Asterix have 4 channels: channels 4, 5 are zero padding; SpaceInvaders uses 6
    assert float(jnp.abs(obs[a != 1][..., 4:6]).sum()) == 0.0
    planes = obs[..., 6:]
    np.testing.assert_array_equal(planes[:, 3, 7], jax.nn.one_hot(a, 3))
    o2, _, r, term, trunc, info = jax.jit(env.step)(jax.random.key(1), states, jnp.zeros(6, int), a)
    assert o2.shape == obs.shape and r.shape == term.shape == trunc.shape == (6,)
    assert info["final_observation"].shape == obs.shape
    single = env.single_assignment(2)
    o3, _ = env.reset(jax.random.key(0), single)
    np.testing.assert_array_equal(task_of(o3, 3), [2] * 6)


def test_multitask_bad_inputs():
    with pytest.raises(ValueError, match="games"):
        MultiTaskMinAtar(("Pong-v0",), 4)
    with pytest.raises(ValueError, match="num_envs"):
        MultiTaskMinAtar(GAMES, 0)
    with pytest.raises(ValueError, match="assignment"):
        _env().reset(jax.random.key(0), jnp.zeros(5, jnp.int32))
    with pytest.raises(ValueError, match="multiple"):
        MultiTaskMinAtar(GAMES, 4).split_assignment()
    for bad in (
        dict(arch="middel"),
        dict(router="top2"),
        dict(placement="head"),
        dict(order=(0, 0, 1)),
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ms.SettingsConfig(**bad)
    with pytest.raises(ValueError, match="num_experts"):
        ms.SettingsConfig(arch="big", router="hard", num_experts=2)
    with pytest.raises(ValueError, match="phase_timesteps"):
        ms.SettingsConfig(phase_timesteps=10)


def test_per_task_mean():
    vals = jnp.array([[1.0, 2.0, 5.0, 0.0]])
    done = jnp.array([[True, True, True, False]])
    mean, cnt = per_task_mean(vals, done, jnp.array([0, 0, 1, 2]), 3)
    np.testing.assert_allclose(mean[:2], [1.5, 5.0])
    assert np.isnan(mean[2]) and list(np.asarray(cnt)) == [2, 1, 0]


def test_hard_router_sends_task_t_to_expert_t():
    x = jax.random.normal(jax.random.key(0), (6, 5, 8))
    task = jnp.array([0, 1, 2, 2, 1, 0])
    layer = HardMoE(3, 16)
    p = layer.init(jax.random.key(1), x, task)
    y, aux = layer.apply(p, x, task)
    np.testing.assert_array_equal(aux["usage"], jax.nn.one_hot(task, 3))
    w = p["params"]["experts"]
    for b in range(6):  # row b equals expert task[b] applied alone
        t = int(task[b])
        h = jax.nn.relu(x[b] @ w["w1"][t] + w["b1"][t])
        np.testing.assert_allclose(y[b], h @ w["w2"][t] + w["b2"][t], rtol=1e-5, atol=1e-5)
    # the same through whole torsos: Big and Middle usage is the one-hot of the observation's task planes
    obs, _ = _env().reset(jax.random.key(0), _env().split_assignment())
    for arch in ("big", "middle"):
        torso = SettingsTorso(SettingsNetConfig(arch=arch, router="hard"), 6)
        _, _, _, usage = torso.apply(torso.init(jax.random.key(2), obs), obs)
        np.testing.assert_array_equal(usage, jax.nn.one_hot(_env().split_assignment(), 3))


def test_parameter_counts_closed_form():
    conv = 9 * 9 * 16 + 16  # PatchConv3x3 on 9 channels
    dense = 1024 * 128 + 128
    head = 128 * 6 + 6
    experts = 3 * (64 * 128 + 128 + 128 * 64 + 64)  # 3 experts on PerFeat tokens (d = 64)
    experts128 = 3 * (128 * 128 + 128 + 128 * 128 + 128)  # 3 experts on one 128-d token
    phi = 64 * 3 * 6 + 1  # Soft MoE Phi (p = ceil(16 / 3) = 6) + scale
    expect = {
        ("baseline", "soft"): conv + dense + head,
        ("middle", "soft"): conv + phi + experts + 1024 * 6 + 6,
        ("middle", "top1"): conv + 64 * 3 + experts + 1024 * 6 + 6,
        ("middle", "hard"): conv + experts + 1024 * 6 + 6,
        ("final", "hard"): conv + dense + experts128 + head,
        ("all", "hard"): conv + experts + dense + experts128 + head,
        ("big", "hard"): 3 * (conv + dense) + head,
        ("big", "soft"): 3 * (conv + dense) + 900 * 3 + 1 + head,
    }
    for (arch, router), n in expect.items():
        assert param_count(SettingsNetConfig(arch=arch, router=router)) == n, (arch, router)
    for arch in ARCHS:
        for router in ROUTERS:
            assert param_count(SettingsNetConfig(arch=arch, router=router)) > 0


@pytest.mark.slow
def test_truncation_bootstraps_in_mtrl_and_crl_assignments():
    """gymnax 1.0 truncation: done on truncation, reward + gamma V(final observation), in both layouts."""
    cfg = ms.SettingsConfig.preset("tiny", envs_per_game=2)
    env = MultiTaskMinAtar(GAMES, cfg.num_envs, max_steps_in_episode=1)  # every step truncates
    net = ms.make_network(cfg)
    ts = ms.init_train_state(jax.random.key(0), cfg, net)
    for assignment in (env.split_assignment(), env.single_assignment(1)):
        obs, st = env.reset(jax.random.key(1), assignment)
        runner = ms.Runner(ts, st, obs, jnp.zeros(6), jax.random.key(2), assignment, 0.0, 1.0)
        _, (tr, finished, done) = ms.env_step(runner, None, cfg, net, env)
        # replay the same step to get the raw reward and the final observation
        k_s = jax.random.split(jax.random.key(2), 3)[2]
        logits, _ = net.apply(ts.params, obs)
        _, _, r, term, trunc, info = env.step(k_s, st, tr.action, assignment)
        assert bool(done.all()) and bool(trunc.any())
        v_final = net.apply(
            ts.params, info["final_observation"], method=ms.SettingsActorCritic.value
        )
        only_trunc = trunc & ~term
        expect = r + cfg.gamma * v_final * only_trunc
        np.testing.assert_allclose(tr.reward, expect, rtol=1e-5, atol=1e-6)
        assert float(jnp.abs(tr.reward - r).max()) > 0  # the bonus is not zero


@pytest.mark.slow
def test_mtrl_and_crl_tiny_runs():
    for setting in ("mtrl", "crl"):
        cfg = ms.SettingsConfig.preset("tiny", setting=setting, order=(2, 0, 1))
        out = ms.make_train(cfg, jit_phase=True)(jax.random.key(0))
        assert out.returns.shape == (3, 3) and np.isfinite(np.asarray(out.returns)).all()
        assert out.metrics["critic_dormant"].shape == (3, cfg.phase_updates)
        expected = [-1, -1, -1] if setting == "mtrl" else [2, 0, 1]
        assert list(np.asarray(out.order)) == expected
    assert np.isfinite(ms.forgetting(out.returns, out.order))
