"""PPO, shared by every chapter that uses it (M-FOS's meta-learner, IPPO/MAPPO on SMAX, MinAtar agents).

Module-level pieces, each a pure function, so that variants differ in configuration, not in copies:
``gae`` (advantages and targets), ``clipped_policy_loss``, ``clipped_value_loss``, ``minibatch_indices``
and ``run_epochs`` (epochs x minibatches as one ``lax.scan``). Full ``make_train`` functions for single-agent
gymnax environments live further down this module; multi-agent ones in ``rlbook.learners.mappo``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp


def gae(
    rewards: jax.Array,
    values: jax.Array,
    dones: jax.Array,
    last_value: jax.Array,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation over a time-major rollout.

    rewards, values, dones: [T, ...]; last_value: [...] (value of the state after the last step).
    ``dones[t]`` is 1 when the episode ended at step t (no bootstrap from ``values[t + 1]``).
    Returns (advantages [T, ...], value targets [T, ...] = advantages + values).
    """

    def step(carry, xs):
        next_adv, next_value = carry
        r, v, d = xs
        nonterminal = 1.0 - d
        delta = r + gamma * next_value * nonterminal - v
        adv = delta + gamma * lam * nonterminal * next_adv
        return (adv, v), adv

    init = (jnp.zeros_like(last_value), last_value)
    _, adv = jax.lax.scan(step, init, (rewards, values, dones.astype(values.dtype)), reverse=True)
    return adv, adv + values


def clipped_policy_loss(
    logp_new: jax.Array, logp_old: jax.Array, advantages: jax.Array, clip_eps: float
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """PPO's clipped surrogate, to be minimised. Returns (loss, {approx_kl, clip_frac})."""
    ratio = jnp.exp(logp_new - logp_old)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -jnp.mean(jnp.minimum(unclipped, clipped))
    stats = {
        "approx_kl": jnp.mean((ratio - 1.0) - (logp_new - logp_old)),
        "clip_frac": jnp.mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32)),
    }
    return loss, stats


def clipped_value_loss(
    v_new: jax.Array, v_old: jax.Array, targets: jax.Array, clip_eps: float | None
) -> jax.Array:
    """0.5 * MSE to the targets; with ``clip_eps`` the PureJaxRL clipped variant (max of the two)."""
    if clip_eps is None:
        return 0.5 * jnp.mean((v_new - targets) ** 2)
    v_clipped = v_old + jnp.clip(v_new - v_old, -clip_eps, clip_eps)
    return 0.5 * jnp.mean(jnp.maximum((v_new - targets) ** 2, (v_clipped - targets) ** 2))


def normalise(x: jax.Array, eps: float = 1e-8) -> jax.Array:
    return (x - x.mean()) / (x.std() + eps)


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
