"""OpenES: quadratic, zero step on constant fitness, determinism, and evosax as a differential reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rlbook.learners.es import OpenES, centered_ranks

TEMPLATE = {"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)}
TARGET = {"w": jnp.arange(6.0).reshape(3, 2) / 6, "b": jnp.array([0.5, -0.5])}


def neg_dist(p):
    return -sum(jnp.sum((p[k] - TARGET[k]) ** 2) for k in p)


def _run(es, key, gens):
    state = es.init()

    def gen(state, k):
        pop, state = es.ask(k, state)
        return es.tell(state, pop, jax.vmap(neg_dist)(pop)), None

    state, _ = jax.lax.scan(gen, state, jax.random.split(key, gens))
    return state


def test_quadratic_converges():
    es = OpenES(TEMPLATE, popsize=32, sigma=0.05, lr=0.05)
    state = jax.jit(lambda k: _run(es, k, 300))(jax.random.key(0))
    assert float(neg_dist(es.mean(state))) > -1e-2
    assert float(neg_dist(TEMPLATE)) < -1.0


@pytest.mark.parametrize("shaping", ["centered_rank", "z_score"])
def test_constant_fitness_gives_zero_step(shaping):
    es = OpenES(TEMPLATE, popsize=8, fitness_shaping=shaping, optimizer=optax.sgd(1.0))
    state = es.init()
    pop, state = es.ask(jax.random.key(1), state)
    new = es.tell(state, pop, jnp.full(8, 3.0))
    np.testing.assert_allclose(new.mean, state.mean, atol=1e-6)


def test_deterministic_and_antithetic():
    es = OpenES(TEMPLATE, popsize=6)
    state = es.init()
    a = es.ask_flat(jax.random.key(3), state)
    b = es.ask_flat(jax.random.key(3), state)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        a[:3] + a[3:], jnp.broadcast_to(2 * state.mean, (3, es.num_dims)), atol=1e-6
    )
    s1 = _run(es, jax.random.key(4), 5)
    s2 = _run(es, jax.random.key(4), 5)
    np.testing.assert_array_equal(s1.mean, s2.mean)


def test_sigma_decays_to_its_floor():
    es = OpenES(TEMPLATE, popsize=4, sigma=0.04, sigma_decay=0.5, sigma_limit=0.01)
    state = _run(es, jax.random.key(0), 5)
    assert float(state.sigma) == pytest.approx(0.01)
    assert int(state.generation) == 5


def test_centered_ranks():
    np.testing.assert_allclose(centered_ranks(jnp.array([3.0, -1.0, 10.0])), [0.0, -0.5, 0.5])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"popsize": 3}, "popsize"),
        ({"sigma": 0.0}, "sigma"),
        ({"fitness_shaping": "x"}, "fitness_shaping"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OpenES(TEMPLATE, **kwargs)


def test_matches_evosax_open_es():
    """Same key -> same population; our tell on f == evosax's tell on -f (it minimises)."""
    from evosax.algorithms import Open_ES

    opt = optax.adam(0.03)
    ours = OpenES(TEMPLATE, popsize=16, sigma=0.1, optimizer=opt)
    ref = Open_ES(16, TEMPLATE, optimizer=opt, std_schedule=optax.constant_schedule(0.1))
    params = ref.default_params
    s_ref = ref.init(jax.random.key(0), TEMPLATE, params)
    s_ours = ours.init()
    key = jax.random.key(7)
    for _ in range(3):
        key, k_ask, k_tell = jax.random.split(key, 3)
        pop_ref, s_ref = ref.ask(k_ask, s_ref, params)
        pop_ours, s_ours = ours.ask(k_ask, s_ours)
        for leaf_a, leaf_b in zip(jax.tree.leaves(pop_ours), jax.tree.leaves(pop_ref), strict=True):
            np.testing.assert_allclose(leaf_a, leaf_b, rtol=1e-6, atol=1e-6)
        f = jax.vmap(neg_dist)(pop_ours)
        s_ours = ours.tell(s_ours, pop_ours, f)
        s_ref, _ = ref.tell(k_tell, pop_ref, -f, s_ref, params)
        np.testing.assert_allclose(s_ours.mean, s_ref.mean, rtol=1e-5, atol=1e-6)
