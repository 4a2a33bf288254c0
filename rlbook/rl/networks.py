"""The networks every value/policy learner on images or vectors uses: one torso config, the torso, and the
actor-critic pair (PPO) built from two torsos. DQN's Q-network is a ``Torso`` with one output per action.

``NetConfig.kind`` picks the penultimate layer: a dense layer or a mixture of experts (``rlbook.moe``) over
tokens of the encoder's output, so dense, wider-dense, Soft MoE and Top-1 networks differ only in the config.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import flax.linen as nn
import jax

from rlbook.config import Config, check_choice, check_number
from rlbook.moe.layers import ExpertChoiceMoE, PatchConv3x3, SoftMoE, TopKMoE
from rlbook.moe.tokenize import TOKENISERS, tokenize

NET_KINDS = ("dense", "softmoe", "top1", "expertchoice")
ENCODERS = ("conv", "mlp")


@dataclasses.dataclass(frozen=True)
class NetConfig(Config):
    """One torso + head. ``encoder``: 'conv' (PatchConv3x3 then the penultimate layer on [8, 8, C]) or 'mlp'
    (vector observations, ``mlp_layers`` tanh layers). ``kind``: 'dense' (Dense(width * width_mult) + ReLU)
    or an MoE over tokens of the encoder output ('softmoe', 'top1', 'expertchoice'), flattened into the
    head. Presets name the book's critics: ``dense``, ``softmoe`` (4 experts, PerFeat tokens), ``mlp``."""

    PRESETS: ClassVar[dict] = {
        "dense": dict(kind="dense"),
        "softmoe": dict(kind="softmoe", num_experts=4, tokens="perfeat"),
        "mlp": dict(encoder="mlp", width=64, mlp_layers=2),
    }

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

    def validate(self, name: str = "") -> None:
        """Raise ``ValueError`` naming the bad field (prefixed ``name.`` inside a learner's config)."""
        p = f"{name}." if name else ""
        check_choice(f"{p}kind", self.kind, NET_KINDS)
        check_choice(f"{p}encoder", self.encoder, ENCODERS)
        check_choice(f"{p}tokens", self.tokens, TOKENISERS)
        for f in ("width", "width_mult", "conv_features", "stride", "mlp_layers"):
            check_number(f"{p}{f}", getattr(self, f), 1, None, integer=True)
        for f in ("num_experts", "expert_hidden"):
            check_number(f"{p}{f}", getattr(self, f), 1, None, integer=True)
        if self.slots_per_expert is not None:
            check_number(f"{p}slots_per_expert", self.slots_per_expert, 1, None, integer=True)
        check_number(f"{p}capacity_factor", self.capacity_factor, 0.0, None, lo_open=True)
        if self.kind != "dense" and self.encoder != "conv":
            raise ValueError(
                f"{p}kind={self.kind!r} needs {p}encoder='conv' (tokens come from its feature maps)"
            )


def moe_layer(c: NetConfig) -> nn.Module:
    """The MoE penultimate layer of an MoE ``NetConfig`` (named 'moe' inside the torso)."""
    if c.kind == "softmoe":
        return SoftMoE(
            c.num_experts,
            c.expert_hidden,
            c.slots_per_expert,
            c.capacity_factor,
            c.normalize,
            c.random_phi,
            name="moe",
        )
    if c.kind == "top1":
        return TopKMoE(c.num_experts, c.expert_hidden, c.capacity_factor, name="moe")
    return ExpertChoiceMoE(c.num_experts, c.expert_hidden, c.capacity_factor, name="moe")


class Torso(nn.Module):
    """Encoder + penultimate layer + linear head with ``out`` outputs.

    Returns four values: ``(out [B, out], features [B, F], hidden, aux)``. ``features`` feed the head (the
    flattened MoE output for an MoE); ``hidden`` are the penultimate units the dormant-neuron metric scores
    ([B, H] dense, [B, n, p, H] MoE experts); ``aux`` is the MoE layer's routing dict ({} for dense).
    """

    cfg: NetConfig
    out: int

    @nn.compact
    def __call__(self, x):
        c = self.cfg
        aux = {}
        if c.encoder == "mlp":
            h = x.reshape(x.shape[0], -1)
            for _ in range(c.mlp_layers):
                h = nn.tanh(nn.Dense(c.width * c.width_mult)(h))
            hidden = feats = h
        else:
            z = nn.relu(PatchConv3x3(c.conv_features, c.stride, name="conv")(x))
            if c.kind == "dense":
                flat = z.reshape(z.shape[0], -1)
                hidden = nn.relu(nn.Dense(c.width * c.width_mult, name="penultimate")(flat))
                feats = hidden
            else:
                y, aux = moe_layer(c)(tokenize(z, c.tokens))
                hidden = aux["hidden"]
                feats = y.reshape(y.shape[0], -1)
        init = nn.initializers.orthogonal(0.01 if self.out > 1 else 1.0)
        return nn.Dense(self.out, kernel_init=init, name="head")(feats), feats, hidden, aux


class ActorCritic(nn.Module):
    """Separate actor (``num_actions`` logits) and critic (one value) torsos on the same observation."""

    actor: NetConfig
    critic: NetConfig
    num_actions: int

    def setup(self):
        self.pi = Torso(self.actor, self.num_actions)
        self.v = Torso(self.critic, 1)

    def __call__(self, x) -> tuple[jax.Array, jax.Array]:
        logits, *_ = self.pi(x)
        v, *_ = self.v(x)
        return logits, v[..., 0]

    def value(self, x) -> jax.Array:
        return self.v(x)[0][..., 0]

    def probe(self, x):
        """Both torsos' four outputs (for representation metrics and MoE auxiliary losses)."""
        return self.pi(x), self.v(x)
