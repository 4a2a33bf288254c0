"""Scale out: the same program on one device or on many, by sharding one batch axis.

Every experiment in the book has an axis whose entries never talk to each other until a final mean:
the seeds of ``train_seeds``, the population of an evolution strategy, the parallel environments of a
PPO rollout. Splitting that axis across devices changes no arithmetic inside an entry, so a sharded
run gives the numbers of the single-device run (up to the summation order of the few reductions over
the axis, e.g. ES's gradient estimate).

The recipe is JAX's ``jax.sharding`` with a one-axis ``Mesh`` named ``"batch"``:

    mesh = batch_mesh()                      # every visible device, e.g. 8 GPUs
    with jax.set_mesh(mesh):
        out = train_seeds(make_train(cfg), seed=0, num_seeds=8)

Inside jitted code, ``on_batch_axis(tree)`` asks XLA to keep a leading batch axis split over the mesh
(``with_sharding_constraint``); without a mesh it is the identity, so the learners call it
unconditionally and single-device runs are untouched. Leaves whose batch axis does not divide by the
device count stay replicated rather than failing.

Several hosts: call ``jax.distributed.initialize()`` first on every host (same program, same
arguments); ``jax.devices()`` then lists every host's devices and ``batch_mesh()`` spans them all.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rlbook.config import check_number

BATCH = "batch"


def batch_mesh(num_devices: int | None = None) -> Mesh:
    """A one-axis mesh named ``"batch"`` over the first ``num_devices`` devices (default: all)."""
    devices = jax.devices()
    n = len(devices) if num_devices is None else num_devices
    check_number("num_devices", n, 1, len(devices), integer=True)
    return Mesh(np.array(devices[:n]), (BATCH,))


def batch_size_on_mesh() -> int:
    """How many devices the active mesh's ``"batch"`` axis spans (1 without a mesh)."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or BATCH not in mesh.axis_names:
        return 1
    return int(mesh.shape[BATCH])


def on_batch_axis(tree: Any, axis: int = 0) -> Any:
    """Constrain every leaf's ``axis`` to be split over the active mesh's ``"batch"`` axis.

    The identity when no mesh is active (or it has one device) and for leaves whose ``axis`` is missing
    or does not divide by the device count.
    """
    n = batch_size_on_mesh()
    if n == 1:
        return tree
    spec = P(*([None] * axis + [BATCH]))

    def one(leaf):
        if not hasattr(leaf, "shape") or leaf.ndim <= axis or leaf.shape[axis] % n:
            return leaf
        return jax.lax.with_sharding_constraint(leaf, spec)

    return jax.tree.map(one, tree)


def put_on_batch_axis(tree: Any, mesh: Mesh) -> Any:
    """Place concrete arrays (e.g. seed keys) with their leading axis split over ``mesh``."""
    n = mesh.shape[BATCH]

    def one(leaf):
        if leaf.ndim == 0 or leaf.shape[0] % n:
            return jax.device_put(leaf, NamedSharding(mesh, P()))
        return jax.device_put(leaf, NamedSharding(mesh, P(BATCH)))

    return jax.tree.map(one, tree)
