"""OpenES (Salimans et al., 2017) over any parameter pytree: antithetic sampling, fitness shaping and
an optax optimiser, in evosax's ask/tell style. Used by M-FOS, Shaper and Adversarial Cheap Talk.

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
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct
from jax.flatten_util import ravel_pytree

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
        if self.popsize < 2 or self.popsize % 2:
            raise ValueError(f"popsize must be an even integer >= 2, got {self.popsize}")
        if self.sigma <= 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if not 0 < self.sigma_decay <= 1:
            raise ValueError(f"sigma_decay must lie in (0, 1], got {self.sigma_decay}")
        if self.sigma_limit < 0:
            raise ValueError(f"sigma_limit must be >= 0, got {self.sigma_limit}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.fitness_shaping not in SHAPINGS:
            raise ValueError(
                f"fitness_shaping must be one of {SHAPINGS}, got {self.fitness_shaping!r}"
            )
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
        return jax.vmap(self._unravel)(self.ask_flat(key, state)), state

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
