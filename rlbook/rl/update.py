"""The PPO update loop (epochs x minibatches as one ``lax.scan``) and the optimiser with its schedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax


def minibatch_indices(key: jax.Array, batch_size: int, num_minibatches: int) -> jax.Array:
    """A random permutation of ``batch_size`` indices split into [num_minibatches, batch/num_minibatches]."""
    if batch_size % num_minibatches:
        raise ValueError(
            f"num_minibatches={num_minibatches} must divide the batch size {batch_size}"
        )
    perm = jax.random.permutation(key, batch_size)
    return perm.reshape(num_minibatches, batch_size // num_minibatches)


def run_epochs(
    key: jax.Array,
    train_state: Any,
    batch: Any,
    loss_fn: Callable[[Any, Any], tuple[jax.Array, dict[str, jax.Array]]],
    update_epochs: int,
    num_minibatches: int,
) -> tuple[Any, dict[str, jax.Array]]:
    """``update_epochs`` passes of minibatch SGD over ``batch`` (a pytree with leading batch axis).

    ``train_state`` is a flax ``TrainState``; ``loss_fn(params, minibatch) -> (loss, stats)``.
    Returns the new state and the stats of every minibatch, [epochs, minibatches].
    """
    batch_size = jax.tree_util.tree_leaves(batch)[0].shape[0]
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def epoch(state, k):
        idx = minibatch_indices(k, batch_size, num_minibatches)

        def minibatch(state, ix):
            mb = jax.tree_util.tree_map(lambda x: x[ix], batch)
            (loss, stats), grads = grad_fn(state.params, mb)
            stats = dict(stats, loss=loss)
            return state.apply_gradients(grads=grads), stats

        return jax.lax.scan(minibatch, state, idx)

    return jax.lax.scan(epoch, train_state, jax.random.split(key, update_epochs))


def linear_schedule(lr: float, num_updates: int, steps_per_update: int) -> optax.Schedule:
    """Learning rate annealed linearly from ``lr`` to 0 over ``num_updates`` updates of
    ``steps_per_update`` optimiser steps each (PureJaxRL's ``frac = 1 - (count // steps) / num_updates``)."""

    def schedule(count):
        return lr * (1.0 - (count // steps_per_update) / num_updates)

    return schedule


def make_optimizer(lr: float | optax.Schedule, max_grad_norm: float, eps: float = 1e-5):
    """Adam behind global-norm clipping, the optimiser of every PPO in the book."""
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(lr, eps=eps))
