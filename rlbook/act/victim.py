"""The Victim: the reference's full-batch PPO, trained from scratch inside a ``CheapTalkEnv``.

``victim_train(cfg, env, key, params)`` takes the wrapper's params (base env params, the adversary's
phi and the message scale) as an argument, so a population of adversaries is one
``jax.vmap(victim_train, in_axes=(None, POP_AXES))``: every candidate trains a fresh victim with the
same key (common random numbers). The pieces (GAE, clipped losses, categorical helpers, the epoch
loop, the optimiser) are ``rlbook.rl``'s.

Reference settings (CartPole): 4 envs x 256 steps, 32 updates, 16 full-batch epochs, Adam 5e-3
(constant), gamma 0.99, lambda 0.95, entropy 0.01, clip 0.2 on ratio and value, shared 2 x 32 tanh
trunk, running observation normaliser, time limits counted as terminal.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.training.train_state import TrainState

from rlbook.act.cheap_talk import (
    CheapTalkEnv,
    CheapTalkParams,
    NormState,
    norm_apply,
    norm_init,
    norm_update,
)
from rlbook.config import Config, check_float, check_int
from rlbook.rl import (
    categorical_entropy,
    categorical_logp,
    clipped_policy_loss,
    clipped_value_loss,
    gae,
    make_optimizer,
    normalise,
    run_epochs,
)

# vmap axes of a population: phi batched, base env params and scale shared
POP_AXES = CheapTalkParams(env_params=None, phi=0, scale=None)


@dataclasses.dataclass(frozen=True)
class VictimConfig(Config):
    PRESETS: ClassVar[dict] = {"book": {}, "paper": {}}
    num_envs: int = 4
    num_steps: int = 256
    num_updates: int = 32
    update_epochs: int = 16
    lr: float = 5e-3
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: int = 32
    normalize_obs: bool = True
    const_passthrough: bool = True
    final_updates: int = 4  # the "final return" averages completed episodes of the last n updates

    def validate(self) -> None:
        check_int(self, "num_envs", "num_steps", "num_updates", "update_epochs", "hidden")
        check_int(self, "final_updates", lo=1, hi=self.num_updates)
        check_float(self, "lr", "clip_eps", "max_grad_norm", lo=0.0, lo_open=True)
        check_float(self, "gamma", "gae_lambda", lo=0.0, hi=1.0)
        check_float(self, "ent_coef", "vf_coef", lo=0.0)


class VictimNet(nn.Module):
    """Shared 2 x ``hidden`` tanh trunk, categorical actor head and value head (flax default init)."""

    num_actions: int
    hidden: int = 32

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        h = nn.tanh(nn.Dense(self.hidden)(obs))
        h = nn.tanh(nn.Dense(self.hidden)(h))
        return nn.Dense(self.num_actions)(h), nn.Dense(1)(h)[..., 0]


class Transition(NamedTuple):
    obs: jax.Array  # [N, D], normalised, what the victim saw
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array


class Runner(NamedTuple):
    train_state: TrainState
    env_state: Any
    obs: jax.Array  # [N, D] normalised observation
    norm: NormState
    ep_return: jax.Array  # [N] running return of the current episode
    key: jax.Array


class UpdateStats(NamedTuple):
    return_sum: jax.Array  # sum of returns of the episodes completed in this update
    episodes: jax.Array  # how many completed
    loss: jax.Array


class VictimOut(NamedTuple):
    params: Any  # the trained VictimNet params
    norm: NormState  # the frozen normaliser
    stats: UpdateStats  # every leaf [num_updates]


def make_net(env: CheapTalkEnv, cfg: VictimConfig) -> VictimNet:
    n = env.env.action_space(env.default_env_params).n
    return VictimNet(int(n), cfg.hidden)


def observe(cfg: VictimConfig, norm: NormState, raw: jax.Array) -> tuple[NormState, jax.Array]:
    """Update the running moments with the batch ``raw`` [N, D], then normalise it."""
    if not cfg.normalize_obs:
        return norm, raw
    norm = norm_update(norm, raw)
    return norm, norm_apply(norm, raw, cfg.const_passthrough)


def env_step(cfg, env, net, params, carry, _):
    """One vectorised step: sample actions, step every env, track completed-episode returns."""
    r: Runner = carry
    key, k_act, k_env = jax.random.split(r.key, 3)
    logits, value = net.apply(r.train_state.params, r.obs)
    action = jax.random.categorical(k_act, logits)
    keys = jax.random.split(k_env, cfg.num_envs)
    raw, env_state, reward, done, _ = jax.vmap(env.step, (0, 0, 0, None))(
        keys, r.env_state, action, params
    )
    norm, obs = observe(cfg, r.norm, raw)
    ep_return = r.ep_return + reward
    t = Transition(r.obs, action, categorical_logp(logits, action), value, reward, done)
    completed = jnp.where(done, ep_return, 0.0)
    r = Runner(r.train_state, env_state, obs, norm, jnp.where(done, 0.0, ep_return), key)
    return r, (t, completed)


def victim_loss(cfg: VictimConfig, net: VictimNet, params, batch):
    """PPO loss on the whole rollout; advantages standardised at every epoch (the reference)."""
    t, adv, targets = batch
    logits, value = net.apply(params, t.obs)
    logp = categorical_logp(logits, t.action)
    pg, stats = clipped_policy_loss(logp, t.logp, normalise(adv), cfg.clip_eps)
    vf = clipped_value_loss(value, t.value, targets, cfg.clip_eps)
    ent = categorical_entropy(logits).mean()
    return pg + cfg.vf_coef * vf - cfg.ent_coef * ent, stats


def ppo_update(cfg, env, net, params, runner: Runner, _):
    """Roll out ``num_steps`` x ``num_envs``, then ``update_epochs`` full-batch gradient steps."""
    step = lambda c, x: env_step(cfg, env, net, params, c, x)
    runner, (traj, completed) = jax.lax.scan(step, runner, None, cfg.num_steps)
    _, last_value = net.apply(runner.train_state.params, runner.obs)
    adv, targets = gae(traj.reward, traj.value, traj.done, last_value, cfg.gamma, cfg.gae_lambda)
    flat = jax.tree_util.tree_map(lambda x: x.reshape(-1, *x.shape[2:]), (traj, adv, targets))
    key, k_upd = jax.random.split(runner.key)
    loss_fn = lambda p, b: victim_loss(cfg, net, p, b)
    ts, stats = run_epochs(k_upd, runner.train_state, flat, loss_fn, cfg.update_epochs, 1)
    runner = runner._replace(train_state=ts, key=key)
    episodes = (traj.done > 0).sum()
    return runner, UpdateStats(completed.sum(), episodes, stats["loss"].mean())


def victim_train(
    cfg: VictimConfig, env: CheapTalkEnv, key: jax.Array, params: CheapTalkParams
) -> VictimOut:
    """Train one fresh victim for ``num_updates`` PPO updates with the messages of ``params``."""
    net = make_net(env, cfg)
    k_init, k_reset, k_run = jax.random.split(key, 3)
    net_params = net.init(k_init, jnp.zeros((1, env.obs_dim)))
    tx = make_optimizer(cfg.lr, cfg.max_grad_norm)
    ts = TrainState.create(apply_fn=net.apply, params=net_params, tx=tx)
    raw, env_state = jax.vmap(env.reset, (0, None))(jax.random.split(k_reset, cfg.num_envs), params)
    norm, obs = observe(cfg, norm_init(env.obs_dim), raw)
    runner = Runner(ts, env_state, obs, norm, jnp.zeros(cfg.num_envs), k_run)
    update = lambda r, x: ppo_update(cfg, env, net, params, r, x)
    runner, stats = jax.lax.scan(update, runner, None, cfg.num_updates)
    return VictimOut(runner.train_state.params, runner.norm, stats)


def population_train(cfg: VictimConfig, env: CheapTalkEnv, key: jax.Array, params):
    """Fresh victims for a population of adversaries (``params.phi`` leaves [P, ...]), same key."""
    return jax.vmap(lambda k, p: victim_train(cfg, env, k, p), in_axes=(None, POP_AXES))(
        key, params
    )


def train_victims(cfg: VictimConfig, env: CheapTalkEnv, keys: jax.Array, params):
    """One fresh victim per (key, phi): ``keys`` [P], ``params.phi`` leaves [P, ...]."""
    return jax.vmap(lambda k, p: victim_train(cfg, env, k, p), in_axes=(0, POP_AXES))(keys, params)


def final_return(stats: UpdateStats, n: int) -> jax.Array:
    """Mean return of the episodes completed in the last ``n`` updates (0 if none: never NaN)."""
    s = stats.return_sum[..., -n:].sum(-1)
    c = stats.episodes[..., -n:].sum(-1)
    return s / jnp.maximum(c, 1)


def update_returns(stats: UpdateStats) -> jax.Array:
    """Per-update mean completed-episode return [..., num_updates] (0 where none completed)."""
    return stats.return_sum / jnp.maximum(stats.episodes, 1)


def mean_return(stats: UpdateStats) -> jax.Array:
    """Area under the training curve: the mean of the per-update returns over updates that
    completed at least one episode."""
    has = stats.episodes > 0
    return (update_returns(stats) * has).sum(-1) / jnp.maximum(has.sum(-1), 1)


def act_greedy(cfg: VictimConfig, net: VictimNet, out: VictimOut, raw_obs: jax.Array):
    """The trained victim's mode action for raw observations [..., D] (frozen normaliser)."""
    obs = norm_apply(out.norm, raw_obs, cfg.const_passthrough) if cfg.normalize_obs else raw_obs
    logits, _ = net.apply(out.params, obs)
    return jnp.argmax(logits, -1)
