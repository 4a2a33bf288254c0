"""What every ``make_train(config)(key)`` returns: a named pytree of final parameters and per-update metrics.

It is a ``flax.struct.dataclass`` (so ``jax.jit(jax.vmap(train))`` stacks it over seeds); ``out.params`` and
``out.metrics`` are the fields, and ``out["params"]`` also works for code written against the older dicts.
"""

from __future__ import annotations

from typing import Any

from flax import struct


@struct.dataclass
class TrainOutput:
    params: Any
    metrics: dict

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)
