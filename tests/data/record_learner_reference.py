"""Record the reference outputs of PPO, IPPO/MAPPO and DQN on tiny fixed-key runs (tests/test_learner_diff.py).

Made by running this script on commit 922f2f9 (before the learners were split into top-level
``env_step`` / ``update`` / ``loss`` functions on ``rlbook.rl``):

    git checkout 922f2f9 && python tests/data/record_learner_reference.py tests/data/learners_922f2f9.npz

The cases are given in the pre-refactor field names (``DQNConfig.total_steps``); the test builds the same
configs with today's names. CartPole's truncation cases shorten episodes to 16 steps through
``env_params.max_steps_in_episode`` so that ``bootstrap_truncated`` matters.
"""

from __future__ import annotations

import sys

import gymnax
import jax
import numpy as np

from rlbook.learners import mappo, ppo
from rlbook.learners.ppo import NetConfig, PPOConfig

TINY_PPO = dict(
    total_timesteps=2 * 8 * 32,
    num_envs=8,
    num_steps=32,
    num_minibatches=2,
    update_epochs=2,
    probe_size=32,
)
MLP = dict(encoder="mlp", width=16, mlp_layers=2)
PPO_CASES = {
    "ppo_dense": dict(TINY_PPO),
    "ppo_noanneal_noclipv": dict(TINY_PPO, anneal_lr=False, clip_value=False),
    "ppo_moe_switch": dict(
        TINY_PPO,
        switch_coef=0.01,
        actor=dict(kind="top1", num_experts=2, expert_hidden=16),
        critic=dict(kind="softmoe", num_experts=2, expert_hidden=16),
    ),
    "ppo_cartpole_trunc": dict(
        TINY_PPO, env_name="CartPole-v1", actor=MLP, critic=MLP, total_timesteps=3 * 8 * 32
    ),
    "ppo_cartpole_notrunc": dict(
        TINY_PPO,
        env_name="CartPole-v1",
        actor=MLP,
        critic=MLP,
        total_timesteps=3 * 8 * 32,
        bootstrap_truncated=False,
    ),
}
TRUNC_STEPS = 16
MAPPO_TINY = dict(
    num_envs=4, num_steps=8, total_timesteps=4 * 8 * 2, fc_dim=8, gru_dim=8, eval_envs=2
)
MAPPO_CASES = {
    "ippo": dict(MAPPO_TINY, algo="ippo"),
    "mappo": dict(MAPPO_TINY, algo="mappo"),
    "mappo_agent_reset": dict(MAPPO_TINY, algo="mappo", rnn_reset="agent"),
}
DQN_CASES = {
    "dqn_minatar_softmoe": dict(
        total_steps=256,
        num_envs=4,
        buffer_size=512,
        min_replay=64,
        batch_size=16,
        target_period=64,
        net=dict(kind="softmoe", num_experts=2, expert_hidden=16),
    ),
    "dqn_cartpole": dict(
        env_name="CartPole-v1",
        total_steps=2048,
        num_envs=4,
        buffer_size=512,
        min_replay=64,
        batch_size=16,
        update_period=4,
        target_period=64,
        eps_decay_steps=1000,
        net=MLP,
    ),
}


def _nets(kw: dict) -> dict:
    return {k: NetConfig(**v) if k in ("actor", "critic", "net") else v for k, v in kw.items()}


def flat(prefix: str, tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {f"{prefix}/{jax.tree_util.keystr(p)}": np.asarray(v) for p, v in leaves}


def param_summary(leaf) -> np.ndarray:
    """A parameter leaf as [sum, sum |x|, first 8 values] (float32): the whole file stays small."""
    f = np.asarray(leaf).ravel().astype(np.float64)
    return np.concatenate([[f.sum(), np.abs(f).sum()], f[:8]]).astype(np.float32)


def flat_params(prefix: str, params) -> dict[str, np.ndarray]:
    return {k: param_summary(v) for k, v in flat(prefix, params).items()}


def short_cartpole(name: str):
    env, params = gymnax.make(name)
    if name == "CartPole-v1":
        params = params.replace(max_steps_in_episode=TRUNC_STEPS)
    return env, params


def record() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    key = jax.random.key(0)
    for name, kw in PPO_CASES.items():
        ppo.make_env = short_cartpole  # pre-refactor make_train had no env argument
        r = jax.jit(ppo.make_train(PPOConfig(**_nets(kw))))(key)
        out.update(flat(f"{name}/metrics", r["metrics"]))
        out.update(flat_params(f"{name}/params", r["params"]))
    for name, kw in MAPPO_CASES.items():
        r = jax.jit(mappo.make_train(mappo.MAPPOConfig(**kw)))(key)
        out.update(flat(f"{name}/metrics", r["metrics"]))
        out.update(flat_params(f"{name}/params", r["params"]))
        for k in ("eval_win_rate", "eval_return", "eval_finished"):
            out[f"{name}/{k}"] = np.asarray(r[k])
    # DQN was removed after 922f2f9: its cases stay in the file for the record
    from rlbook.learners import dqn

    for name, kw in DQN_CASES.items():
        r = jax.jit(dqn.make_train(dqn.DQNConfig(**_nets(kw))))(key)
        out.update(flat(f"{name}/metrics", r["metrics"]))
        out.update(flat_params(f"{name}/params", r["params"]))
    return out


if __name__ == "__main__":
    np.savez_compressed(sys.argv[1], **record())
