"""Mixtures of experts for deep RL (Chapter 9): layers, tokenisers, metrics."""

from rlbook.moe.layers import ExpertChoiceMoE, PatchConv3x3, SoftMoE, TopKMoE, capacity, soft_slots
from rlbook.moe.metrics import dormant_fraction, soft_utilisation, srank, top1_utilisation
from rlbook.moe.tokenize import token_shape, tokenize

__all__ = [
    "ExpertChoiceMoE",
    "PatchConv3x3",
    "SoftMoE",
    "TopKMoE",
    "capacity",
    "dormant_fraction",
    "soft_slots",
    "soft_utilisation",
    "srank",
    "token_shape",
    "tokenize",
    "top1_utilisation",
]
