"""Where a mixture of experts goes in an actor-critic torso, and how it routes (paper (b)'s architectures).

Every torso starts with the book's encoder (``PatchConv3x3`` 16 features + ReLU on the [10, 10, C + K]
multi-task observation -> [8, 8, 16]) and ends with a linear head. In between:

* ``baseline``: flatten -> Dense(width) + ReLU (Chapter 9's dense torso);
* ``middle``: the penultimate layer is an MoE over PerFeat tokens (16 tokens of 64), flattened into the head;
* ``final``: the baseline's Dense + ReLU, then an MoE on its output as one token, right before the head;
* ``all``: both of the above (MoE over tokens -> Dense + ReLU -> MoE), every hidden layer after the encoder;
* ``big``: ``num_experts`` whole torsos (encoder + Dense + ReLU) as experts, mixed before a shared head.

Routers: ``soft`` (Soft MoE, ``rlbook.moe.SoftMoE``), ``top1`` (``rlbook.moe.TopKMoE``) and ``hard``
(task-hard-coded: every token of an observation of task t goes to expert t). For ``big`` the soft router is
Soft MoE with the whole observation as its one token and one slot per expert (dispatch is then the identity
and combine a softmax over experts), top-1 picks the expert with the largest gate and scales by it.
The task id is read off the observation's task planes, so the network is a function of the observation only.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from rlbook.config import Config, check_choice, check_number
from rlbook.envs.multitask_minatar import task_of
from rlbook.moe.layers import Experts, PatchConv3x3, SoftMoE, TopKMoE, _l2n
from rlbook.moe.tokenize import TOKENISERS, tokenize
from rlbook.rl.networks import ActorCritic

ARCHS = ("baseline", "middle", "final", "all", "big")
ROUTERS = ("soft", "top1", "hard")


@dataclasses.dataclass(frozen=True)
class SettingsNetConfig(Config):
    """One torso of the multi-task network: ``arch`` (where the MoE is), ``router``, expert count and sizes.

    ``num_tasks`` is the number of task planes at the end of the observation (the hard router reads them)."""

    arch: str = "baseline"
    router: str = "soft"
    num_experts: int = 3
    num_tasks: int = 3
    width: int = 128
    expert_hidden: int = 128
    conv_features: int = 16
    tokens: str = "perfeat"

    def validate(self, name: str = "") -> None:
        p = f"{name}." if name else ""
        check_choice(f"{p}arch", self.arch, ARCHS)
        check_choice(f"{p}router", self.router, ROUTERS)
        check_choice(f"{p}tokens", self.tokens, TOKENISERS)
        for f in ("num_experts", "num_tasks", "width", "expert_hidden", "conv_features"):
            check_number(f"{p}{f}", getattr(self, f), 1, None, integer=True)
        if self.router == "hard" and self.arch != "baseline" and self.num_experts < self.num_tasks:
            raise ValueError(
                f"{p}num_experts={self.num_experts} must be >= num_tasks={self.num_tasks} for the "
                "task-hard-coded router (task t -> expert t)"
            )


class HardMoE(nn.Module):
    """Task-hard-coded MoE on tokens [B, m, d] with task ids [B]: every token of row b goes to expert
    ``task[b]``. All experts are computed and the others masked (n small). aux as Soft MoE / Top-1:
    hidden [B, n, m, H], slot_mask [B, n, m] (the chosen expert's slots), usage [B, n]."""

    num_experts: int
    expert_hidden: int

    @nn.compact
    def __call__(self, x, task):
        n = self.num_experts
        if x.ndim != 3:
            raise ValueError(f"x must be [batch, tokens, d], got shape {x.shape}")
        onehot = jax.nn.one_hot(task, n, dtype=x.dtype)  # [B, n]
        slots = jnp.broadcast_to(x[:, None], (x.shape[0], n) + x.shape[1:])  # [B, n, m, d]
        y_all, hid = Experts(n, self.expert_hidden, name="experts")(slots)
        y = jnp.einsum("bn,bnmd->bmd", onehot, y_all)
        mask = jnp.broadcast_to(onehot[:, :, None] > 0, hid.shape[:3])
        return y, {"hidden": hid, "slot_mask": mask, "usage": onehot}


def _usage(aux: dict, n: int) -> jax.Array:
    """Per-observation expert usage [B, n]: Soft MoE combine mass, Top-1 token fraction, hard one-hot."""
    if "usage" in aux:
        return aux["usage"]
    if "combine" in aux:
        c = aux["combine"]  # [B, m, n, p]
        return c.sum((1, 3)) / c.shape[1]
    return jax.nn.one_hot(aux["expert_index"], n).mean(1)


class TokenMoE(nn.Module):
    """The MoE layer of ``middle`` / ``final`` / ``all``: tokens [B, m, d] -> ([B, m, d], aux with usage)."""

    cfg: SettingsNetConfig

    @nn.compact
    def __call__(self, x, task):
        c = self.cfg
        if c.router == "hard":
            return HardMoE(c.num_experts, c.expert_hidden, name="moe")(x, task)
        if c.router == "soft":
            y, aux = SoftMoE(c.num_experts, c.expert_hidden, name="moe")(x)
        else:
            y, aux = TopKMoE(c.num_experts, c.expert_hidden, name="moe")(x)
        return y, dict(aux, usage=_usage(aux, c.num_experts))


class Body(nn.Module):
    """Encoder + Dense(width) + ReLU: the baseline torso without its head (one expert of ``big``)."""

    width: int
    conv_features: int

    @nn.compact
    def __call__(self, x):
        z = nn.relu(PatchConv3x3(self.conv_features, name="conv")(x))
        return nn.relu(nn.Dense(self.width, name="dense")(z.reshape(z.shape[0], -1)))


class BigMoE(nn.Module):
    """``num_experts`` whole ``Body`` torsos mixed by the router: x [B, ...] -> ([B, width], aux)."""

    cfg: SettingsNetConfig

    @nn.compact
    def __call__(self, x, task):
        c = self.cfg
        n = c.num_experts
        bodies = nn.vmap(
            Body,
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=1,
            axis_size=n,
        )
        h = bodies(c.width, c.conv_features, name="experts")(x)  # [B, n, width]
        flat = x.reshape(x.shape[0], -1)
        if c.router == "hard":
            gates = mask = jax.nn.one_hot(task, n)
        elif c.router == "soft":  # Soft MoE with one token and one slot per expert
            phi = self.param("phi", nn.initializers.lecun_normal(), (flat.shape[-1], n))
            scale = self.param("scale", nn.initializers.ones, ())
            gates = jax.nn.softmax(_l2n(flat, -1) @ (scale * _l2n(phi, 0)), axis=-1)
            mask = jnp.ones_like(gates)
        else:
            g = jax.nn.softmax(nn.Dense(n, use_bias=False, name="router")(flat), axis=-1)
            mask = jax.nn.one_hot(jnp.argmax(g, -1), n)
            gates = g * mask
        y = jnp.einsum("bn,bnw->bw", gates, h)
        aux = {"hidden": h[:, :, None, :], "slot_mask": mask[:, :, None] > 0, "usage": mask * 1.0}
        if c.router == "soft":
            aux["usage"] = gates
        return y, aux


class SettingsTorso(nn.Module):
    """Torso + linear head with ``out`` outputs: ``(out [B, out], features, layers, usage)``.

    ``layers`` lists every hidden layer after the encoder as ``(activations, slot mask or None)`` (dense
    [B, H]; MoE [B, n, p, H]) for the dormant-neuron metric; ``usage`` [B, n] is the first MoE layer's
    expert usage per observation (None for the baseline)."""

    cfg: SettingsNetConfig
    out: int

    @nn.compact
    def __call__(self, x):
        c = self.cfg
        task = task_of(x, c.num_tasks)
        layers, usage = [], None
        if c.arch == "big":
            feats, aux = BigMoE(c, name="big")(x, task)
            layers.append((aux["hidden"], aux["slot_mask"]))
            usage = aux["usage"]
        elif c.arch == "baseline":
            feats = Body(c.width, c.conv_features, name="body")(x)
            layers.append((feats, None))
        else:
            z = nn.relu(PatchConv3x3(c.conv_features, name="conv")(x))
            if c.arch in ("middle", "all"):
                y, aux = TokenMoE(c, name="middle")(tokenize(z, c.tokens), task)
                layers.append((aux["hidden"], aux.get("slot_mask")))
                usage = aux["usage"]
                feats = z = y.reshape(y.shape[0], -1)
            if c.arch in ("final", "all"):
                h = nn.relu(nn.Dense(c.width, name="dense")(z.reshape(z.shape[0], -1)))
                layers.append((h, None))
                y, aux = TokenMoE(c, name="final")(h[:, None, :], task)
                layers.append((aux["hidden"], aux.get("slot_mask")))
                usage = aux["usage"] if usage is None else usage
                feats = y[:, 0]
        init = nn.initializers.orthogonal(0.01 if self.out > 1 else 1.0)
        return nn.Dense(self.out, kernel_init=init, name="head")(feats), feats, layers, usage


class SettingsActorCritic(ActorCritic):
    """``ActorCritic`` (same ``__call__`` / ``value`` / ``probe``) with ``SettingsTorso`` actor and critic;
    ``actor`` / ``critic`` are ``SettingsNetConfig``s."""

    def setup(self):
        self.pi = SettingsTorso(self.actor, self.num_actions)
        self.v = SettingsTorso(self.critic, 1)


def param_count(cfg: SettingsNetConfig, out: int = 6, obs_shape=(10, 10, 9)) -> int:
    """Parameters of one torso + head (from flax's own init, shapes only)."""
    shapes = jax.eval_shape(
        SettingsTorso(cfg, out).init, jax.random.key(0), jnp.zeros((1,) + tuple(obs_shape))
    )
    return int(sum(x.size for x in jax.tree_util.tree_leaves(shapes)))
