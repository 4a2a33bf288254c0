"""Progress bars driven from inside jitted loops: one tick per update, with or without vmap, no bar open."""

import jax
import jax.numpy as jnp
import pytest

from rlbook.rl.progress import progress, tick


@pytest.fixture(autouse=True)
def bars_on(monkeypatch):
    """notebooks/conftest.py turns bars off for nbval's kernels; these tests need them on."""
    monkeypatch.delenv("RLBOOK_PROGRESS", raising=False)


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


def test_rlbook_progress_0_turns_bars_off(monkeypatch):
    monkeypatch.setenv("RLBOOK_PROGRESS", "0")
    with progress(7, "off") as bar:
        jax.block_until_ready(jax.jit(_train)(jax.random.key(0)))  # ticks with no bar: no-op
    assert bar is None
