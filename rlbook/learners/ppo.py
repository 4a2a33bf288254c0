"""Single-agent PureJaxRL-style PPO on gymnax 1.0 environments (6-tuple ``step``), any torso from the config.

The shared pieces (GAE, clipped losses, the epoch/minibatch loop) live in ``rlbook.rl`` and are
re-exported here for old imports; multi-agent PPO is ``rlbook.learners.mappo``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training.train_state import TrainState

from rlbook.rl import (  # noqa: F401  (re-exported: the shared pieces live in rlbook.rl)
    clipped_policy_loss,
    clipped_value_loss,
    gae,
    minibatch_indices,
    normalise,
    run_epochs,
)

NET_KINDS = ("dense", "softmoe", "top1", "expertchoice")


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """One torso + head. ``encoder``: 'conv' (PatchConv3x3 then the penultimate layer on [8, 8, C]) or 'mlp'
    (vector observations). ``kind``: 'dense' (Dense(width * width_mult) + ReLU) or an MoE over tokens of the
    encoder output ('softmoe', 'top1', 'expertchoice'), flattened into the head."""

    kind: str = "dense"
    width: int = 128
    width_mult: int = 1
    encoder: str = "conv"
    conv_features: int = 16
    stride: int = 1
    mlp_layers: int = 1
    num_experts: int = 4
    expert_hidden: int = 128
    tokens: str = "perfeat"
    slots_per_expert: int | None = None
    capacity_factor: float = 1.0
    normalize: bool = True
    random_phi: bool = False

    def validate(self, name: str = "net") -> None:
        if self.kind not in NET_KINDS:
            raise ValueError(f"{name}.kind={self.kind!r}; valid: {', '.join(NET_KINDS)}")
        if self.encoder not in ("conv", "mlp"):
            raise ValueError(f"{name}.encoder={self.encoder!r}; valid: 'conv', 'mlp'")
        if self.kind != "dense" and self.encoder != "conv":
            raise ValueError(
                f"{name}: MoE kinds need encoder='conv' (tokens come from its feature maps)"
            )
        if self.kind != "dense" and self.num_experts < 1:
            raise ValueError(f"{name}.num_experts={self.num_experts} must be >= 1")
        if self.width < 1 or self.width_mult < 1:
            raise ValueError(f"{name}.width and width_mult must be >= 1")
        if self.capacity_factor <= 0:
            raise ValueError(f"{name}.capacity_factor={self.capacity_factor} must be > 0")


class Torso(nn.Module):
    """Encoder + penultimate layer + linear head with ``out`` outputs. Returns (out, features, hidden)."""

    cfg: NetConfig
    out: int

    @nn.compact
    def __call__(self, x):
        from rlbook.moe.layers import ExpertChoiceMoE, PatchConv3x3, SoftMoE, TopKMoE
        from rlbook.moe.tokenize import tokenize

        c = self.cfg
        aux = {}
        if c.encoder == "mlp":
            h = x.reshape(x.shape[0], -1)
            for _ in range(c.mlp_layers):
                h = nn.tanh(nn.Dense(c.width * c.width_mult)(h))
            hidden = h
            feats = h
        else:
            z = nn.relu(PatchConv3x3(c.conv_features, c.stride, name="conv")(x))
            if c.kind == "dense":
                hidden = nn.relu(
                    nn.Dense(c.width * c.width_mult, name="penultimate")(z.reshape(z.shape[0], -1))
                )
                feats = hidden
            else:
                t = tokenize(z, c.tokens)
                if c.kind == "softmoe":
                    layer = SoftMoE(
                        c.num_experts,
                        c.expert_hidden,
                        c.slots_per_expert,
                        c.capacity_factor,
                        c.normalize,
                        c.random_phi,
                        name="moe",
                    )
                elif c.kind == "top1":
                    layer = TopKMoE(
                        c.num_experts, c.expert_hidden, 1, c.capacity_factor, name="moe"
                    )
                else:
                    layer = ExpertChoiceMoE(
                        c.num_experts, c.expert_hidden, c.capacity_factor, name="moe"
                    )
                y, aux = layer(t)
                hidden = aux["hidden"]
                feats = y.reshape(y.shape[0], -1)
        return (
            nn.Dense(
                self.out,
                kernel_init=nn.initializers.orthogonal(0.01 if self.out > 1 else 1.0),
                name="head",
            )(feats),
            feats,
            hidden,
            aux,
        )


class ActorCritic(nn.Module):
    actor: NetConfig
    critic: NetConfig
    num_actions: int

    def setup(self):
        self.pi = Torso(self.actor, self.num_actions)
        self.v = Torso(self.critic, 1)

    def __call__(self, x):
        logits, *_ = self.pi(x)
        v, *_ = self.v(x)
        return logits, v[..., 0]

    def value(self, x):
        return self.v(x)[0][..., 0]

    def probe(self, x):
        return self.pi(x), self.v(x)


@dataclasses.dataclass(frozen=True)
class PPOConfig:
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
        for name in ("num_envs", "num_steps", "update_epochs", "num_minibatches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.num_updates < 1:
            raise ValueError(
                f"total_timesteps={self.total_timesteps} must be >= num_envs * num_steps "
                f"= {self.num_envs * self.num_steps}"
            )
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            raise ValueError(
                f"num_minibatches={self.num_minibatches} must divide num_envs*num_steps"
            )
        if not 0 <= self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError("gamma and gae_lambda must be in [0, 1]")
        self.actor.validate("actor")
        self.critic.validate("critic")


class Transition(NamedTuple):
    obs: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array


def _moe_hidden_dormant(hidden, aux, tau):
    from rlbook.moe.metrics import dormant_fraction

    mask = aux.get("slot_mask") if isinstance(aux, dict) else None
    return dormant_fraction(hidden, tau, mask=mask)


def make_env(env_name: str):
    import gymnax

    env, params = gymnax.make(env_name)
    return env, params


def make_train(config: PPOConfig) -> Callable[[jax.Array], dict]:
    """PureJaxRL-style PPO. ``train(key)`` returns {'params', 'metrics'}; metrics per update: 'return'
    (mean episodic return of episodes finished in the update, NaN if none), 'episodes', dormant fractions at
    tau 0 and 0.025 of the actor and critic penultimate units, critic and actor srank on a probe batch,
    losses. gymnax 1.0: ``step`` returns 6 values; the bootstrap is zeroed only on ``terminated``; on
    ``truncated`` the reward is augmented by gamma * V(final_observation) (exact for GAE)."""
    from rlbook.moe.metrics import srank

    config.validate()
    c = config
    env, env_params = make_env(c.env_name)
    num_actions = env.action_space(env_params).n
    net = ActorCritic(c.actor, c.critic, num_actions)
    n_up = c.num_updates
    batch = c.num_envs * c.num_steps

    def lr_schedule(count):
        frac = 1.0 - (count // (c.num_minibatches * c.update_epochs)) / n_up
        return c.lr * frac

    def train(key):
        key, k_init, k_reset = jax.random.split(key, 3)
        obs0, _ = env.reset(jax.random.key(0), env_params)
        params = net.init(k_init, obs0[None])
        tx = optax.chain(
            optax.clip_by_global_norm(c.max_grad_norm),
            optax.adam(lr_schedule if c.anneal_lr else c.lr, eps=1e-5),
        )
        ts = TrainState.create(apply_fn=net.apply, params=params, tx=tx)
        obs, env_state = jax.vmap(env.reset, (0, None))(
            jax.random.split(k_reset, c.num_envs), env_params
        )
        ep_ret = jnp.zeros(c.num_envs)

        def env_step(carry, _):
            ts, env_state, obs, ep_ret, key = carry
            key, k_a, k_s = jax.random.split(key, 3)
            logits, value = net.apply(ts.params, obs)
            action = jax.random.categorical(k_a, logits)
            logp = jax.nn.log_softmax(logits)[jnp.arange(c.num_envs), action]
            nobs, env_state, reward, term, trunc, info = jax.vmap(env.step, (0, 0, 0, None))(
                jax.random.split(k_s, c.num_envs), env_state, action, env_params
            )
            done = jnp.logical_or(term, trunc)
            r_aug = reward
            if c.bootstrap_truncated:
                only_trunc = jnp.logical_and(trunc, jnp.logical_not(term))
                v_final = jax.lax.cond(
                    jnp.any(only_trunc),
                    lambda: net.apply(
                        ts.params, info["final_observation"], method=ActorCritic.value
                    ),
                    lambda: jnp.zeros(c.num_envs),
                )
                r_aug = reward + c.gamma * v_final * only_trunc
            ep_ret = ep_ret + reward
            finished = (done, ep_ret)
            ep_ret = ep_ret * (1.0 - done)
            tr = Transition(obs, action, logp, value, r_aug, done)
            return (ts, env_state, nobs, ep_ret, key), (tr, finished)

        def loss_fn(params, mb):
            tr, adv, targets = mb
            logits, v = net.apply(params, tr.obs)
            logp_all = jax.nn.log_softmax(logits)
            logp = jnp.take_along_axis(logp_all, tr.action[:, None], -1)[:, 0]
            pl, st = clipped_policy_loss(logp, tr.logp, normalise(adv), c.clip_eps)
            vl = clipped_value_loss(v, tr.value, targets, c.clip_eps if c.clip_value else None)
            ent = -jnp.mean(jnp.sum(jnp.exp(logp_all) * logp_all, -1))
            loss = pl + c.vf_coef * vl - c.ent_coef * ent
            if c.switch_coef > 0:
                (_, _, _, aa), (_, _, _, ac) = net.apply(params, tr.obs, method=ActorCritic.probe)
                for a in (aa, ac):
                    if "switch_loss" in a:
                        loss = loss + c.switch_coef * a["switch_loss"]
            return loss, dict(st, policy_loss=pl, value_loss=vl, entropy=ent)

        def update(carry, _):
            ts, env_state, obs, ep_ret, key = carry
            (ts, env_state, obs, ep_ret, key), (traj, (dn, rets)) = jax.lax.scan(
                env_step, (ts, env_state, obs, ep_ret, key), None, c.num_steps
            )
            last_v = net.apply(ts.params, obs, method=ActorCritic.value)
            adv, targets = gae(traj.reward, traj.value, traj.done, last_v, c.gamma, c.gae_lambda)
            flat = jax.tree_util.tree_map(
                lambda x: x.reshape((batch,) + x.shape[2:]), (traj, adv, targets)
            )
            key, k_e = jax.random.split(key)
            ts, stats = run_epochs(k_e, ts, flat, loss_fn, c.update_epochs, c.num_minibatches)
            # representation metrics on a fixed-size probe of this rollout's observations
            probe = flat[0].obs[:: max(1, batch // c.probe_size)][: c.probe_size]
            (_, fa, ha, aa), (_, fc, hc, ac) = net.apply(ts.params, probe, method=ActorCritic.probe)
            n_ep = dn.sum()
            m = {
                "return": jnp.where(n_ep > 0, (rets * dn).sum() / jnp.maximum(n_ep, 1), jnp.nan),
                "episodes": n_ep,
                "actor_dormant": _moe_hidden_dormant(ha, aa, 0.0),
                "actor_dormant_025": _moe_hidden_dormant(ha, aa, 0.025),
                "critic_dormant": _moe_hidden_dormant(hc, ac, 0.0),
                "critic_dormant_025": _moe_hidden_dormant(hc, ac, 0.025),
                "actor_srank": srank(fa),
                "critic_srank": srank(fc),
                "value_loss": stats["value_loss"].mean(),
                "entropy": stats["entropy"].mean(),
            }
            if hc.ndim == 4:
                from rlbook.moe.metrics import dormant_fraction

                m["critic_dormant_pooled"] = dormant_fraction(
                    hc, 0.0, pool="pooled", mask=ac.get("slot_mask")
                )
            return (ts, env_state, obs, ep_ret, key), m

        carry = (ts, env_state, obs, ep_ret, key)
        (ts, *_), metrics = jax.lax.scan(update, carry, None, n_up)
        return {"params": ts.params, "metrics": metrics}

    return train


def final_return(metrics: dict, frac: float = 0.1) -> float:
    """Mean episodic return over the last ``frac`` of updates (episode-weighted; NaN-safe)."""
    r = np.asarray(metrics["return"])
    n = np.asarray(metrics["episodes"])
    k = max(1, int(round(len(r) * frac)))
    r, n = r[-k:], n[-k:]
    ok = n > 0
    return float(np.sum(r[ok] * n[ok]) / max(n[ok].sum(), 1))
