"""Run by ``tests/test_shard.py`` in a subprocess with two simulated CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``): each case runs once on one device and once
under ``jax.set_mesh(batch_mesh())``, and prints one JSON line per case with the largest difference
between the two results and whether the sharded program really splits its batch axis."""

from __future__ import annotations

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np

from rlbook.learners import mappo, ppo
from rlbook.learners.es import OpenES, train_es
from rlbook.rl import batch_mesh, train_seeds
from rlbook.shaping import shaper


def max_diff(a, b) -> float:
    diffs = jax.tree.map(
        lambda x, y: float(np.max(np.abs(np.asarray(x) - np.asarray(y)), initial=0)), a, b
    )
    return max(jax.tree.leaves(diffs), default=0.0)


def split_in_program(fn, *args) -> bool:
    """True if the compiled program is partitioned over 2 devices."""
    return "num_partitions=2" in jax.jit(fn).lower(*args).compile().as_text()


def es_case():
    es = OpenES(jnp.zeros(6), popsize=8, sigma=0.1, lr=0.05)
    target = jnp.arange(6.0)

    def run(key):
        trials = lambda k, g: None  # noqa: E731 - no shared randomness needed
        fitness = lambda params, _: -jnp.sum((params - target) ** 2)  # noqa: E731
        state, curve = train_es(es, es.init(jnp.zeros(6)), key, 20, trials, fitness)
        return state.mean, curve

    return run, jax.random.key(0)


def ppo_case():
    run = ppo.make_train(ppo.PPOConfig.preset("tiny"))
    return (lambda key: run(key).params), jax.random.key(1)


def ippo_case():
    run = mappo.make_train(mappo.MAPPOConfig.preset("tiny", num_envs=4))
    return (lambda key: run(key).metrics), jax.random.key(2)


def shaper_case():
    c = shaper.ShaperConfig.preset("tiny")
    run = shaper.make_train(c)
    return (lambda key: run(key)), jax.random.key(3)


CASES = {"es": es_case, "ppo": ppo_case, "ippo": ippo_case, "shaper": shaper_case}


def main(names: list[str]) -> None:
    mesh = batch_mesh()
    assert len(mesh.devices.flat) == 2, "run with --xla_force_host_platform_device_count=2"
    for name in names:
        fn, key = CASES[name]()
        single = jax.jit(fn)(key)
        with jax.set_mesh(mesh):
            sharded = jax.jit(fn)(key)
            split = split_in_program(fn, key)
        print(json.dumps({"case": name, "max_diff": max_diff(single, sharded), "split": split}))
    # seeds: train_seeds places the keys on the mesh; results come back split over both devices
    fn, _ = es_case()
    single = train_seeds(fn, 0, 4)
    with jax.set_mesh(mesh):
        sharded = train_seeds(fn, 0, 4)
    devices = len(jax.tree.leaves(sharded)[0].sharding.device_set)
    print(
        json.dumps({"case": "seeds", "max_diff": max_diff(single, sharded), "split": devices == 2})
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:] or list(CASES))
