"""Several seeds of one experiment at once: ``jit(vmap(train))`` over keys split from one seed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from rlbook.config import check_number


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
    """``num_seeds`` independent keys from the integer ``seed`` (the same split everywhere in the book)."""
    check_number("num_seeds", num_seeds, 1, None, integer=True)
    return jax.random.split(jax.random.key(seed), num_seeds)


def train_seeds(train: Callable[[jax.Array], Any], seed: int, num_seeds: int) -> Any:
    """Run ``train(key)`` for ``num_seeds`` seeds as one compiled, vmapped call.

    Every leaf of the result gains a leading [num_seeds] axis; seed ``i`` uses ``seed_keys(seed, n)[i]``.
    """
    return jax.jit(jax.vmap(train))(seed_keys(seed, num_seeds))
