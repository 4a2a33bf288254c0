"""OpenES (Salimans et al., 2017) over any parameter pytree: antithetic sampling, fitness shaping and
an optax optimiser, in evosax's ask/tell style, and the generation loop (``train_es``) that the ES
meta-learners of M-FOS and Shaper share.

Why our own ~60 lines instead of evosax: the chapters show the whole algorithm with ``show_source``;
it maximises fitness (evosax minimises); it works on flax parameter pytrees directly; and it is immune
to the API changes that broke earlier opponent-shaping code (evosax removed ``ParameterReshaper``).
``tests/test_es.py`` checks it against evosax 0.3.2's ``Open_ES``: the same key gives the same
population, and our ``tell`` on f equals evosax's ``tell`` on -f.

    es = OpenES(template_params, popsize=64, sigma=0.05, lr=0.03)
    state = es.init(template_params)
    pop, state = es.ask(key, state)          # pytree, every leaf [popsize, ...]
    fitness = jax.vmap(evaluate)(pop)        # [popsize], higher is better
    state = es.tell(state, pop, fitness)
    params = es.mean(state)

or the whole loop with common random numbers: ``state, curve = train_es(es, state, key, G, trials,
fitness)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct
from jax.flatten_util import ravel_pytree

from rlbook.config import check_choice, check_number
from rlbook.rl import progress
from rlbook.rl.shard import on_batch_axis

SHAPINGS = ("centered_rank", "z_score", "raw")


@struct.dataclass
class ESState:
    mean: jax.Array  # f32[D]: the search distribution's centre (flat parameters)
    sigma: jax.Array  # f32[]: its standard deviation
    opt_state: Any
    generation: jax.Array  # int32[]


def centered_ranks(fitness: jax.Array) -> jax.Array:
    """Ranks mapped to [-0.5, 0.5] (highest fitness -> +0.5; ties share their average rank, so a
    constant fitness gives no step); robust to the fitness scale."""
    ranks = jax.scipy.stats.rankdata(fitness) - 1.0
    return ranks / (fitness.shape[0] - 1) - 0.5


def z_score(fitness: jax.Array) -> jax.Array:
    return (fitness - fitness.mean()) / (fitness.std() + 1e-8)


def check_popsize(popsize) -> None:
    """Antithetic sampling needs an even population of at least 2."""
    check_number("popsize", popsize, 2, None, integer=True)
    if popsize % 2:
        raise ValueError(f"popsize={popsize} must be an even integer >= 2")


@dataclasses.dataclass(frozen=True, eq=False)
class OpenES:
    """OpenES over the pytree ``template``; ``popsize`` must be even (antithetic pairs x +- sigma z).

    ``sigma_decay`` multiplies sigma after every generation, down to ``sigma_limit``.
    ``optimizer`` defaults to Adam(``lr``); the estimated gradient is *ascended*.
    """

    template: Any
    popsize: int = 64
    sigma: float = 0.05
    lr: float = 0.03
    sigma_decay: float = 1.0
    sigma_limit: float = 0.0
    fitness_shaping: str = "centered_rank"
    optimizer: optax.GradientTransformation | None = None

    def __post_init__(self):
        check_popsize(self.popsize)
        check_number("sigma", self.sigma, 0.0, None, lo_open=True)
        check_number("sigma_decay", self.sigma_decay, 0.0, 1.0, lo_open=True)
        check_number("sigma_limit", self.sigma_limit, 0.0, None)
        check_number("lr", self.lr, 0.0, None, lo_open=True)
        check_choice("fitness_shaping", self.fitness_shaping, SHAPINGS)
        flat, unravel = ravel_pytree(self.template)
        object.__setattr__(self, "_unravel", unravel)
        object.__setattr__(self, "num_dims", flat.size)
        if self.optimizer is None:
            object.__setattr__(self, "optimizer", optax.adam(self.lr))

    def init(self, params: Any | None = None) -> ESState:
        """Start the search at ``params`` (default: the template)."""
        flat, _ = ravel_pytree(self.template if params is None else params)
        return ESState(
            mean=flat,
            sigma=jnp.asarray(self.sigma, jnp.float32),
            opt_state=self.optimizer.init(flat),
            generation=jnp.zeros((), jnp.int32),
        )

    def ask_flat(self, key: jax.Array, state: ESState) -> jax.Array:
        """Flat population [popsize, D]: mean + sigma * [z; -z] (evosax's layout)."""
        z = jax.random.normal(key, (self.popsize // 2, self.num_dims))
        return state.mean + state.sigma * jnp.concatenate([z, -z])

    def ask(self, key: jax.Array, state: ESState) -> tuple[Any, ESState]:
        """A population as a pytree whose leaves have a leading [popsize] axis."""
        population = jax.vmap(self._unravel)(self.ask_flat(key, state))
        return on_batch_axis(population), state  # split over devices under a mesh (rlbook.rl.shard)

    def tell(self, state: ESState, population: Any, fitness: jax.Array) -> ESState:
        """Update the mean from ``fitness`` [popsize] (higher is better) of ``population``."""
        flat = jax.vmap(lambda p: ravel_pytree(p)[0])(population)
        if self.fitness_shaping == "centered_rank":
            f = centered_ranks(fitness)
        elif self.fitness_shaping == "z_score":
            f = z_score(fitness)
        else:
            f = fitness
        eps = (flat - state.mean) / state.sigma
        grad = f @ eps / (self.popsize * state.sigma)  # estimate of d E[fitness] / d mean
        updates, opt_state = self.optimizer.update(-grad, state.opt_state, state.mean)
        return ESState(
            mean=optax.apply_updates(state.mean, updates),
            sigma=jnp.maximum(state.sigma * self.sigma_decay, self.sigma_limit),
            opt_state=opt_state,
            generation=state.generation + 1,
        )

    def mean(self, state: ESState) -> Any:
        """The current mean as a parameter pytree (the policy to report on held-out trials)."""
        return self._unravel(state.mean)


class ESCurve(NamedTuple):
    """Per-generation output of ``train_es`` (leaves [generations])."""

    fitness: jax.Array  # mean fitness of the population
    mean_fitness: jax.Array  # the search mean's fitness on the same trials (NaN when not tracked)


def es_generation(
    es: OpenES,
    state: ESState,
    key: jax.Array,
    generation: jax.Array,
    trials: Callable[[jax.Array, jax.Array], Any],
    fitness: Callable[[Any, Any], jax.Array],
    num_keys: int = 2,
    track_mean: bool = False,
) -> tuple[ESState, ESCurve]:
    """One generation with common random numbers: ``key`` is split into ``num_keys`` keys, the first
    samples the population, the others go to ``trials(keys, generation)``, whose result every member
    (and, with ``track_mean``, the mean) is scored on with ``fitness(params, trials) -> f32[]``."""
    keys = jax.random.split(key, num_keys)
    pop, state = es.ask(keys[0], state)
    batch = trials(keys[1:], generation)
    f = jax.vmap(fitness, in_axes=(0, None))(pop, batch)
    mean_f = fitness(es.mean(state), batch) if track_mean else jnp.full((), jnp.nan)
    return es.tell(state, pop, f), ESCurve(f.mean(), mean_f)


def train_es(
    es: OpenES,
    state: ESState,
    key: jax.Array,
    num_generations: int,
    trials: Callable[[jax.Array, jax.Array], Any],
    fitness: Callable[[Any, Any], jax.Array],
    num_keys: int = 2,
    track_mean: bool = False,
) -> tuple[ESState, ESCurve]:
    """``num_generations`` of ``es_generation`` as one ``lax.scan`` (generation ``g`` uses
    ``split(key, num_generations)[g]``)."""

    def generation(state, xs):
        k, g = xs
        progress.tick()  # advances a progress bar if one is open; else a no-op
        return es_generation(es, state, k, g, trials, fitness, num_keys, track_mean)

    xs = (jax.random.split(key, num_generations), jnp.arange(num_generations))
    return jax.lax.scan(generation, state, xs)
