"""Single-agent PureJaxRL-style PPO on any gymnax-API environment (gymnax 1.0: 6-value ``step``).

One update is ``num_steps`` vectorised ``env_step``s, GAE, ``update_epochs`` x ``num_minibatches`` steps of
``loss`` (``rlbook.rl.run_epochs``) and representation metrics on a probe batch. Each piece is a top-level
function of ``(config, network, env, env_params)``; ``make_train`` only wires them into two ``lax.scan``s.
The shared maths (GAE, clipped losses, categorical helpers, schedules, episode statistics) is ``rlbook.rl``;
the networks are ``rlbook.rl.networks``. Multi-agent PPO is ``rlbook.learners.mappo``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from flax.training.train_state import TrainState

from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.moe.metrics import dormant_fraction, srank
from rlbook.rl import (  # noqa: F401  (gae, minibatch_indices, normalise: re-exported for old imports)
    TrainOutput,
    categorical_logp,
    categorical_logp_entropy,
    clipped_policy_loss,
    clipped_value_loss,
    episode_count,
    episode_mean,
    gae,
    linear_schedule,
    make_optimizer,
    minibatch_indices,
    normalise,
    progress,
    run_epochs,
    track_returns,
)
from rlbook.rl.networks import NET_KINDS, ActorCritic, NetConfig, Torso  # noqa: F401  (re-exported)
from rlbook.rl.shard import on_batch_axis


@dataclasses.dataclass(frozen=True)
class PPOConfig(Config):
    """PureJaxRL's MinAtar PPO hyperparameters. Presets set the run length (``tiny`` for smoke tests,
    ``book`` the chapter's live run, ``medium`` the stored sweep, ``paper`` the paper's 10M frames)."""

    PRESETS: ClassVar[dict] = {
        "tiny": dict(
            total_timesteps=8 * 16,
            num_envs=8,
            num_steps=16,
            update_epochs=1,
            num_minibatches=2,
            probe_size=32,
        ),
        "book": dict(total_timesteps=65_536),
        "medium": dict(total_timesteps=49_152),
        "paper": dict(total_timesteps=10_000_000),
    }

    env_name: str = "Breakout-MinAtar"
    total_timesteps: int = 500_000
    num_envs: int = 64
    num_steps: int = 128
    update_epochs: int = 4
    num_minibatches: int = 8
    lr: float = 5e-3
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    clip_value: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    switch_coef: float = 0.0
    actor: NetConfig = NetConfig()
    critic: NetConfig = NetConfig()
    probe_size: int = 256
    bootstrap_truncated: bool = True

    @property
    def num_updates(self) -> int:
        return self.total_timesteps // (self.num_envs * self.num_steps)

    def validate(self) -> None:
        check_choice("env_name", self.env_name, gymnax.registered_envs)
        check_int(self, "total_timesteps", "num_envs", "num_steps", "update_epochs")
        check_int(self, "num_minibatches", "probe_size")
        check_float(self, "lr", "clip_eps", "max_grad_norm", lo=0.0, lo_open=True)
        check_float(self, "gamma", "gae_lambda", lo=0.0, hi=1.0)
        check_float(self, "ent_coef", "vf_coef", "switch_coef", lo=0.0)
        if self.num_updates < 1:
            raise ValueError(
                f"total_timesteps={self.total_timesteps} must be >= num_envs * num_steps "
                f"= {self.num_envs * self.num_steps}"
            )
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            raise ValueError(
                f"num_minibatches={self.num_minibatches} must divide num_envs*num_steps"
            )
        self.actor.validate("actor")
        self.critic.validate("critic")


class Transition(NamedTuple):
    obs: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    reward: jax.Array  # gamma * V(final observation) added on truncation (bootstrap_truncated)
    done: jax.Array


class Batch(NamedTuple):
    """One update's flattened rollout: the loss's input (minibatches are slices of it)."""

    transition: Transition
    advantages: jax.Array
    targets: jax.Array


class RunnerState(NamedTuple):
    """The carry of both scans (env steps and updates)."""

    train_state: TrainState
    env_state: Any
    obs: jax.Array
    episode_returns: jax.Array  # running undiscounted return per env
    key: jax.Array


def make_env(env_name: str):
    """``gymnax.make(env_name)``: (env, default env params)."""
    return gymnax.make(env_name)


def init_runner(key, config: PPOConfig, network: ActorCritic, env, env_params) -> RunnerState:
    """Initial parameters, Adam state (annealed lr if ``anneal_lr``) and ``num_envs`` reset envs."""
    c = config
    key, k_init, k_reset = jax.random.split(key, 3)
    obs0, _ = env.reset(jax.random.key(0), env_params)
    params = network.init(k_init, obs0[None])
    steps_per_update = c.num_minibatches * c.update_epochs
    lr = linear_schedule(c.lr, c.num_updates, steps_per_update) if c.anneal_lr else c.lr
    ts = TrainState.create(
        apply_fn=network.apply, params=params, tx=make_optimizer(lr, c.max_grad_norm)
    )
    resets = jax.random.split(k_reset, c.num_envs)
    obs, env_state = on_batch_axis(jax.vmap(env.reset, (0, None))(resets, env_params))
    return RunnerState(ts, env_state, obs, jnp.zeros(c.num_envs), key)


def truncation_bonus(params, config: PPOConfig, network, term, trunc, info) -> jax.Array:
    """gamma * V(final observation) on steps that were truncated but not terminated, else 0.

    Added to the reward, it makes GAE (which cuts the bootstrap at every done) exact for truncation.
    """
    only_trunc = jnp.logical_and(trunc, jnp.logical_not(term))
    v_final = jax.lax.cond(
        jnp.any(only_trunc),
        lambda: network.apply(params, info["final_observation"], method=ActorCritic.value),
        lambda: jnp.zeros(config.num_envs),
    )
    return config.gamma * v_final * only_trunc


def env_step(runner: RunnerState, _, config: PPOConfig, network, env, env_params):
    """One step of every env under the current policy: (runner, (Transition, finished returns, done))."""
    ts, env_state, obs, ep_ret, key = runner
    key, k_a, k_s = jax.random.split(key, 3)
    logits, value = network.apply(ts.params, obs)
    action = jax.random.categorical(k_a, logits)
    logp = categorical_logp(logits, action)
    step_keys = jax.random.split(k_s, config.num_envs)
    nobs, env_state, reward, term, trunc, info = jax.vmap(env.step, (0, 0, 0, None))(
        step_keys, env_state, action, env_params
    )
    nobs, env_state = on_batch_axis((nobs, env_state))  # envs split over devices under a mesh
    done = jnp.logical_or(term, trunc)
    r_aug = reward
    if config.bootstrap_truncated:
        r_aug = reward + truncation_bonus(ts.params, config, network, term, trunc, info)
    ep_ret, finished = track_returns(ep_ret, reward, done)
    tr = Transition(obs, action, logp, value, r_aug, done)
    return RunnerState(ts, env_state, nobs, ep_ret, key), (tr, finished, done)


def switch_losses(params, obs, network) -> list[jax.Array]:
    """The actor's and the critic's Top-1 load-balancing losses (only for torsos that have one)."""
    (_, _, _, aux_a), (_, _, _, aux_c) = network.apply(params, obs, method=ActorCritic.probe)
    return [a["switch_loss"] for a in (aux_a, aux_c) if "switch_loss" in a]


def loss(params, batch: Batch, config: PPOConfig, network) -> tuple[jax.Array, dict]:
    """Clipped surrogate + vf_coef * (clipped) value loss - ent_coef * entropy (+ switch_coef * switch loss)."""
    c = config
    tr = batch.transition
    logits, v = network.apply(params, tr.obs)
    logp, ent = categorical_logp_entropy(logits, tr.action)
    pl, st = clipped_policy_loss(logp, tr.logp, normalise(batch.advantages), c.clip_eps)
    vl = clipped_value_loss(v, tr.value, batch.targets, c.clip_eps if c.clip_value else None)
    ent = ent.mean()
    total = pl + c.vf_coef * vl - c.ent_coef * ent
    if c.switch_coef > 0:
        for s in switch_losses(params, tr.obs, network):
            total = total + c.switch_coef * s
    return total, dict(st, policy_loss=pl, value_loss=vl, entropy=ent)


def _dormant(hidden, aux, tau, pool="per_expert"):
    mask = aux.get("slot_mask") if isinstance(aux, dict) else None
    return dormant_fraction(hidden, tau, pool=pool, mask=mask)


def probe_metrics(params, probe: jax.Array, network) -> dict:
    """Dormant fractions (tau 0 and 0.025) of both penultimate layers and srank of both feature sets."""
    (_, fa, ha, aa), (_, fc, hc, ac) = network.apply(params, probe, method=ActorCritic.probe)
    m = {
        "actor_dormant": _dormant(ha, aa, 0.0),
        "actor_dormant_025": _dormant(ha, aa, 0.025),
        "critic_dormant": _dormant(hc, ac, 0.0),
        "critic_dormant_025": _dormant(hc, ac, 0.025),
        "actor_srank": srank(fa),
        "critic_srank": srank(fc),
    }
    if hc.ndim == 4:  # MoE critic: Dopamine's pooled convention as well
        m["critic_dormant_pooled"] = _dormant(hc, ac, 0.0, pool="pooled")
    return m


def update(runner: RunnerState, _, config: PPOConfig, network, env, env_params):
    """Rollout, GAE, PPO epochs, metrics: one iteration of the outer scan."""
    c = config
    step = functools.partial(env_step, config=c, network=network, env=env, env_params=env_params)
    runner, (traj, finished, done) = jax.lax.scan(step, runner, None, c.num_steps)
    ts, key = runner.train_state, runner.key
    last_v = network.apply(ts.params, runner.obs, method=ActorCritic.value)
    adv, targets = gae(traj.reward, traj.value, traj.done, last_v, c.gamma, c.gae_lambda)
    batch_size = c.num_envs * c.num_steps
    flat = jax.tree_util.tree_map(
        lambda x: x.reshape((batch_size,) + x.shape[2:]), Batch(traj, adv, targets)
    )
    key, k_e = jax.random.split(key)
    loss_fn = functools.partial(loss, config=c, network=network)
    ts, stats = run_epochs(k_e, ts, flat, loss_fn, c.update_epochs, c.num_minibatches)
    # representation metrics on a fixed-size probe of this rollout's observations
    probe = flat.transition.obs[:: max(1, batch_size // c.probe_size)][: c.probe_size]
    metrics = {
        "return": episode_mean(finished, done),
        "episodes": episode_count(done),
        **probe_metrics(ts.params, probe, network),
        "value_loss": stats["value_loss"].mean(),
        "entropy": stats["entropy"].mean(),
    }
    progress.tick()  # advances a progress bar if one is open (experiments); else a no-op
    return runner._replace(train_state=ts, key=key), metrics


def make_train(config: PPOConfig, env=None, env_params=None) -> Callable[[jax.Array], TrainOutput]:
    """``train(key) -> TrainOutput(params, metrics)``; ``jax.jit(jax.vmap(train))(keys)`` trains seeds.

    ``env`` / ``env_params``: any gymnax-API environment (default ``gymnax.make(config.env_name)``; env
    params default to ``env.default_params``). Metrics per update: 'return' (mean episodic return of
    episodes finished in the update, NaN if none), 'episodes', dormant fractions at tau 0 and 0.025 of the
    actor and critic penultimate units, actor and critic srank on a probe batch, value loss, entropy. The
    bootstrap is zeroed only on ``terminated``; on ``truncated`` the reward is augmented by
    gamma * V(final_observation) (exact for GAE) unless ``bootstrap_truncated=False``.
    """
    if env is None:
        env, default_params = make_env(config.env_name)
    else:
        default_params = env.default_params
    env_params = default_params if env_params is None else env_params
    network = ActorCritic(config.actor, config.critic, env.action_space(env_params).n)
    step = functools.partial(update, config=config, network=network, env=env, env_params=env_params)

    def train(key: jax.Array) -> TrainOutput:
        runner = init_runner(key, config, network, env, env_params)
        runner, metrics = jax.lax.scan(step, runner, None, config.num_updates)
        return TrainOutput(params=runner.train_state.params, metrics=metrics)

    return train


def final_return(metrics: dict, frac: float = 0.1) -> float:
    """Mean episodic return over the last ``frac`` of updates (episode-weighted; NaN-safe)."""
    r = np.asarray(metrics["return"])
    n = np.asarray(metrics["episodes"])
    k = max(1, int(round(len(r) * frac)))
    r, n = r[-k:], n[-k:]
    ok = n > 0
    return float(np.sum(r[ok] * n[ok]) / max(n[ok].sum(), 1))
