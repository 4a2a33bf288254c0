"""Linear probes: how much of a trained victim's value or greedy action a message carries."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rlbook.act.cheap_talk import CheapTalkEnv, norm_apply
from rlbook.act.victim import VictimConfig, VictimOut, make_net

# a box of CartPole states inside the termination limits (x, x_dot, theta, theta_dot)
STATE_LOW = np.array([-1.0, -1.0, -0.2, -1.5], np.float32)
STATE_HIGH = -STATE_LOW


def sample_states(key: jax.Array, n: int) -> jax.Array:
    return jax.random.uniform(key, (n, 4), minval=STATE_LOW, maxval=STATE_HIGH)


def victim_targets(cfg: VictimConfig, env: CheapTalkEnv, out: VictimOut, states: jax.Array):
    """A no-message victim's value and greedy action at raw ``states`` [n, 4] (m = 0)."""
    obs = jnp.concatenate([states, jnp.zeros((states.shape[0], env.num_messages))], -1)
    logits, value = make_net(env, cfg).apply(
        out.params, norm_apply(out.norm, obs, cfg.const_passthrough)
    )
    return np.asarray(value), np.asarray(jnp.argmax(logits, -1))


def linear_probe(x_train, y_train, x_test, y_test) -> float:
    """Held-out R^2 of least squares from features x [n, f] (plus a bias) to y [n]."""
    a = np.c_[x_train, np.ones(len(x_train))]
    w, *_ = np.linalg.lstsq(a, y_train, rcond=None)
    pred = np.c_[x_test, np.ones(len(x_test))] @ w
    return float(1.0 - np.mean((y_test - pred) ** 2) / np.var(y_test))


def probe_accuracy(x_train, a_train, x_test, a_test) -> float:
    """Held-out accuracy of a linear probe (least squares on +-1 labels) for the greedy action."""
    a = np.c_[x_train, np.ones(len(x_train))]
    w, *_ = np.linalg.lstsq(a, 2.0 * a_train - 1.0, rcond=None)
    pred = (np.c_[x_test, np.ones(len(x_test))] @ w) > 0
    return float(np.mean(pred == (a_test > 0)))
