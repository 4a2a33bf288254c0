"""Several seeds of one experiment at once: ``jit(vmap(train))`` over keys split from one seed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from rlbook.config import check_number
from rlbook.rl.shard import BATCH, put_on_batch_axis


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
    """``num_seeds`` independent keys from the integer ``seed`` (the same split everywhere in the book)."""
    check_number("num_seeds", num_seeds, 1, None, integer=True)
    return jax.random.split(jax.random.key(seed), num_seeds)


def train_seeds(train: Callable[[jax.Array], Any], seed: int, num_seeds: int) -> Any:
    """Run ``train(key)`` for ``num_seeds`` seeds as one compiled, vmapped call.

    Every leaf of the result gains a leading [num_seeds] axis; seed ``i`` uses ``seed_keys(seed, n)[i]``.
    Under ``jax.set_mesh(batch_mesh())`` the seeds are split across the mesh's devices (same numbers).
    """
    keys = seed_keys(seed, num_seeds)
    mesh = jax.sharding.get_mesh()
    if not mesh.empty and BATCH in mesh.axis_names:
        keys = put_on_batch_axis(keys, mesh)
    return jax.jit(jax.vmap(train))(keys)
