"""Differential tests: the games and opponent-shaping cores give the numbers they gave before the
env-protocol / config refactor, on fixed keys. The references were produced by running
``tests/reference/record_922f2f9.py`` on commit 922f2f9 (see its docstring); nothing here is typed in."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.games import coin_game, ipditm, iterated

REF = np.load(Path(__file__).parent / "reference" / "shaping_922f2f9.npz")


def env_trajectory(reset, step, params, num_actions, steps, seed):
    """The recorder's random-action trajectory (same keys, same order)."""

    def body(carry, k):
        obs, state = carry
        ka, ks = jax.random.split(k)
        a = jax.random.randint(ka, (2,), 0, num_actions)
        obs, state, r, term, trunc, _ = step(ks, state, a, params)
        return (obs, state), (obs, r, trunc)

    k0, k1 = jax.random.split(jax.random.key(seed))
    obs, state = reset(k0, params)
    _, (o, r, tr) = jax.lax.scan(body, (obs, state), jax.random.split(k1, steps))
    return o, r, tr


@pytest.mark.parametrize(
    "name, module, params, num_actions, steps, seed",
    [
        ("iterated", iterated, lambda: iterated.default_params("ipd", 5), 2, 12, 0),
        ("coin", coin_game, lambda: coin_game.default_params(size=3, num_steps=7), 5, 30, 1),
        (
            "ipditm",
            ipditm,
            lambda: ipditm.default_params(size=5, view=3, num_coins=2, freeze_steps=2, num_steps=9),
            5,
            40,
            2,
        ),
    ],
)
def test_env_trajectories_unchanged(name, module, params, num_actions, steps, seed):
    o, r, tr = env_trajectory(module.reset, module.step, params(), num_actions, steps, seed)
    np.testing.assert_array_equal(np.asarray(o), REF[f"{name}_obs"])
    np.testing.assert_array_equal(np.asarray(r), REF[f"{name}_r"])
    np.testing.assert_array_equal(np.asarray(tr), REF[f"{name}_trunc"])
