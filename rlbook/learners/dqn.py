"""Dopamine-style DQN on gymnax environments (MinAtar at book scale), any Q-network torso from the config.

Defaults follow Dopamine's MinAtar ``dqn_breakout.gin`` (gamma 0.99, 1-step, min replay 1000, update every 4
env steps, target every 1000, Adam lr 2.5e-4 eps 3.125e-4, replay 100k, batch 32, Huber loss), with
``num_envs`` parallel environments (1 = Dopamine). The Q-network is ``rlbook.learners.ppo.Torso``, so dense,
wider-dense, Soft MoE and Top-1 Q-networks differ only in ``net``. gymnax 1.0: ``step`` returns 6 values;
the bootstrap is cut only on ``terminated`` (a truncated transition bootstraps from its final observation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from rlbook.learners.ppo import NetConfig, Torso, make_env


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    env_name: str = "Breakout-MinAtar"
    total_steps: int = 100_000
    num_envs: int = 1
    buffer_size: int = 100_000
    batch_size: int = 32
    min_replay: int = 1000
    update_period: int = 4
    target_period: int = 1000
    gamma: float = 0.99
    lr: float = 2.5e-4
    adam_eps: float = 3.125e-4
    eps_start: float = 1.0
    eps_end: float = 0.01
    eps_decay_steps: int = 25_000
    net: NetConfig = NetConfig()

    def validate(self) -> None:
        for name in (
            "total_steps",
            "num_envs",
            "buffer_size",
            "batch_size",
            "update_period",
            "target_period",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.min_replay < self.batch_size:
            raise ValueError(
                f"min_replay={self.min_replay} must be >= batch_size={self.batch_size}"
            )
        if self.buffer_size < self.min_replay:
            raise ValueError(
                f"buffer_size={self.buffer_size} must be >= min_replay={self.min_replay}"
            )
        if self.total_steps < self.num_envs:
            raise ValueError("total_steps must be >= num_envs")
        self.net.validate("net")


def make_train(config: DQNConfig) -> Callable[[jax.Array], dict]:
    """``train(key)`` -> {'params', 'metrics'}; metrics per iteration (num_envs env steps): 'return' (mean
    return of episodes finished, NaN if none), 'episodes', 'loss' (0 before learning starts)."""
    config.validate()
    c = config
    env, env_params = make_env(c.env_name)
    n_act = env.action_space(env_params).n
    net = Torso(c.net, n_act)
    iters = c.total_steps // c.num_envs
    tx = optax.adam(c.lr, eps=c.adam_eps)

    def q(params, x):
        return net.apply(params, x)[0]

    def train(key):
        key, k_init, k_reset = jax.random.split(key, 3)
        obs0, _ = env.reset(jax.random.key(0), env_params)
        params = net.init(k_init, obs0[None])
        opt = tx.init(params)
        obs, st = jax.vmap(env.reset, (0, None))(jax.random.split(k_reset, c.num_envs), env_params)
        buf = {
            "obs": jnp.zeros((c.buffer_size,) + obs0.shape),
            "next_obs": jnp.zeros((c.buffer_size,) + obs0.shape),
            "action": jnp.zeros(c.buffer_size, jnp.int32),
            "reward": jnp.zeros(c.buffer_size),
            "term": jnp.zeros(c.buffer_size),
        }

        def loss_fn(p, tp, b):
            q_next = q(tp, b["next_obs"]).max(-1)
            target = b["reward"] + c.gamma * (1.0 - b["term"]) * q_next
            q_sa = jnp.take_along_axis(q(p, b["obs"]), b["action"][:, None], -1)[:, 0]
            return jnp.mean(optax.huber_loss(q_sa, jax.lax.stop_gradient(target)))

        def step(carry, t):
            params, tparams, opt, buf, obs, st, ep_ret, key = carry
            key, k_a, k_e, k_s, k_b = jax.random.split(key, 5)
            steps = t * c.num_envs
            eps = jnp.clip(
                c.eps_start + (c.eps_end - c.eps_start) * steps / c.eps_decay_steps, c.eps_end, 1.0
            )
            greedy = q(params, obs).argmax(-1)
            rand = jax.random.randint(k_a, (c.num_envs,), 0, n_act)
            action = jnp.where(jax.random.uniform(k_e, (c.num_envs,)) < eps, rand, greedy)
            nobs, st, rew, term, trunc, info = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(k_s, c.num_envs), st, action, env_params
            )
            done = jnp.logical_or(term, trunc)
            idx = (t * c.num_envs + jnp.arange(c.num_envs)) % c.buffer_size
            buf = {
                "obs": buf["obs"].at[idx].set(obs),
                "next_obs": buf["next_obs"].at[idx].set(info["final_observation"]),
                "action": buf["action"].at[idx].set(action),
                "reward": buf["reward"].at[idx].set(rew),
                "term": buf["term"].at[idx].set(term.astype(jnp.float32)),
            }
            ep_ret = ep_ret + rew
            finished = jnp.sum(ep_ret * done)
            n_done = jnp.sum(done)
            ep_ret = ep_ret * (1.0 - done)
            filled = jnp.minimum((t + 1) * c.num_envs, c.buffer_size)
            learn = jnp.logical_and(
                filled >= c.min_replay, (t * c.num_envs) % c.update_period < c.num_envs
            )

            def do_update(args):
                params, opt = args
                ix = jax.random.randint(k_b, (c.batch_size,), 0, filled)
                b = jax.tree_util.tree_map(lambda x: x[ix], buf)
                loss, g = jax.value_and_grad(loss_fn)(params, tparams, b)
                upd, opt = tx.update(g, opt, params)
                return optax.apply_updates(params, upd), opt, loss

            params, opt, loss = jax.lax.cond(
                learn, do_update, lambda a: (a[0], a[1], jnp.zeros(())), (params, opt)
            )
            sync = (t * c.num_envs) % c.target_period < c.num_envs
            tparams = jax.tree_util.tree_map(lambda a, b: jnp.where(sync, a, b), params, tparams)
            m = {
                "return": jnp.where(n_done > 0, finished / jnp.maximum(n_done, 1), jnp.nan),
                "episodes": n_done,
                "loss": loss,
            }
            return (params, tparams, opt, buf, nobs, st, ep_ret, key), m

        carry = (params, params, opt, buf, obs, st, jnp.zeros(c.num_envs), key)
        (params, *_), metrics = jax.lax.scan(step, carry, jnp.arange(iters))
        return {"params": params, "metrics": metrics}

    return train
