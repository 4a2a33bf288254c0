"""Progress bars driven from inside jitted loops: one tick per update, with or without vmap, no bar open."""

import jax
import jax.numpy as jnp

from rlbook.rl.progress import progress, tick


def _train(key):
    def update(c, _):
        tick()
        return c + jnp.tanh(c), None

    c, _ = jax.lax.scan(update, jax.random.normal(key, (4,)), None, 7)
    return c


def test_one_tick_per_update_even_under_vmap():
    f = jax.jit(jax.vmap(_train))
    keys = jax.random.split(jax.random.key(0), 3)
    with progress(7, "test") as bar:
        out = f(keys)
        jax.block_until_ready(out)
        jax.effects_barrier()
        assert bar.n == 7
    # no bar open: the callback is a no-op and the numbers are the same
    assert jnp.array_equal(f(keys), out)


def test_bars_nest_and_close():
    f = jax.jit(_train)
    with progress(7, "outer") as outer:
        with progress(7, "inner") as inner:
            jax.block_until_ready(f(jax.random.key(1)))
            jax.effects_barrier()
        assert inner.n == 7 and outer.n == 0
