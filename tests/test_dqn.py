import jax
import numpy as np
import pytest

from rlbook.learners.dqn import DQNConfig, make_train
from rlbook.learners.ppo import NetConfig


def test_dqn_config_errors():
    with pytest.raises(ValueError, match="min_replay"):
        DQNConfig(min_replay=8, batch_size=32).validate()
    with pytest.raises(ValueError, match="buffer_size"):
        DQNConfig(buffer_size=100, min_replay=1000).validate()


def test_dqn_learns_cartpole():
    cfg = DQNConfig(
        env_name="CartPole-v1",
        total_steps=30_000,
        num_envs=4,
        buffer_size=10_000,
        min_replay=500,
        update_period=1,
        target_period=500,
        lr=1e-3,
        eps_decay_steps=10_000,
        net=NetConfig(encoder="mlp", width=64, mlp_layers=2),
    )
    m = jax.jit(make_train(cfg))(jax.random.key(0))["metrics"]
    r, n = np.asarray(m["return"]), np.asarray(m["episodes"])
    first = np.nansum(r[:1000] * n[:1000]) / n[:1000].sum()
    k = len(r) // 10
    last = np.nansum(r[-k:] * n[-k:]) / max(n[-k:].sum(), 1)
    assert np.isfinite(np.asarray(m["loss"])).all()
    assert last > 2 * first and last > 60


def test_dqn_minatar_smoke_with_moe():
    cfg = DQNConfig(
        total_steps=256,
        num_envs=4,
        buffer_size=512,
        min_replay=64,
        batch_size=16,
        net=NetConfig(kind="softmoe", num_experts=2, expert_hidden=16),
    )
    m = jax.jit(make_train(cfg))(jax.random.key(0))["metrics"]
    assert m["loss"].shape == (64,)
    assert np.isfinite(np.asarray(m["loss"])).all()
