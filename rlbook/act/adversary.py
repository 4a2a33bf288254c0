"""Train-time Adversarial Cheap Talk: OpenES over the adversary's phi, each candidate's fitness a
complete PPO training of a fresh victim; the whole population is one ``jit(vmap(victim_train))``.

Goals (fitness is maximised; evosax-style minimisers would see its negative):

* ``harm``: minus the victim's final return (completed episodes of the last updates, "end-only");
* ``help``: the victim's mean return over training (area under the curve: CartPole-200 victims end
  near the cap, so the final return cannot tell helpers apart);
* ``hijack``: the genome is (phi, exploiter); fitness is the manipulation return of the frozen
  victim steered by the exploiter (``rlbook.act.hijack``).

ES settings of the reference (evosax 0.0.4 defaults): antithetic OpenES, mean started at phi = 0
(generation 0 sends m = 0), z-scored fitness, Adam(b1 0.99) with LR 0.01 x 0.999 per generation down
to 0.001, sigma 0.04 x 0.999 down to 0.01. Every candidate of a generation trains its victims with the
same keys (common random numbers), so fitness differences come from phi.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from rlbook.act.cheap_talk import CheapTalkEnv, check_message_args, make_cartpole
from rlbook.act.hijack import Exploiter, Hijacker, hijack_return, sample_goals
from rlbook.act.victim import (
    VictimConfig,
    final_return,
    make_net,
    mean_return,
    population_train,
)
from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.learners.es import ESState, OpenES

GOALS = ("harm", "help", "hijack")


def check_popsize(popsize: int) -> None:
    if isinstance(popsize, bool) or not isinstance(popsize, int) or popsize < 2 or popsize % 2:
        raise ValueError(f"popsize={popsize!r} must be an even integer >= 2 (antithetic pairs)")


@dataclasses.dataclass(frozen=True)
class ACTConfig(Config):
    PRESETS: ClassVar[dict] = {
        "book": dict(popsize=32, generations=24),
        "paper": dict(popsize=1024, generations=1024),
    }
    goal: str = "harm"
    popsize: int = 32
    generations: int = 24
    victim_seeds: int = 1  # fresh victims per candidate (the reference: 1 at train time)
    num_messages: int = 2
    scale: float = 2 * math.pi
    adversary_hidden: int = 64
    sigma: float = 0.04
    sigma_decay: float = 0.999
    sigma_limit: float = 0.01
    lr: float = 0.01
    lr_decay: float = 0.999
    lr_limit: float = 0.001
    beta1: float = 0.99
    max_steps: int = 200
    eval_envs: int = 16  # hijack: goals (one episode each) per victim
    exploiter_hidden: int = 32
    victim: VictimConfig = VictimConfig()

    def validate(self) -> None:
        check_choice("goal", self.goal, GOALS)
        check_popsize(self.popsize)
        check_message_args(self.num_messages, self.scale)
        check_int(self, "generations", "victim_seeds", "adversary_hidden", "max_steps")
        check_int(self, "eval_envs", "exploiter_hidden")
        check_float(self, "sigma", "lr", "lr_limit", lo=0.0, lo_open=True)
        check_float(self, "sigma_limit", lo=0.0)
        check_float(self, "sigma_decay", "lr_decay", lo=0.0, hi=1.0, lo_open=True)
        check_float(self, "beta1", lo=0.0, hi=1.0, hi_open=True)


def make_env(cfg: ACTConfig) -> CheapTalkEnv:
    env, env_params = make_cartpole(cfg.max_steps)
    return CheapTalkEnv(env, env_params, cfg.num_messages, cfg.adversary_hidden)


def make_hijacker(cfg: ACTConfig, env: CheapTalkEnv) -> Hijacker:
    exploiter = Exploiter(cfg.num_messages, cfg.exploiter_hidden)
    return Hijacker(cfg.victim, env, make_net(env, cfg.victim), exploiter, cfg.scale, cfg.max_steps)


def init_genome(cfg: ACTConfig, env: CheapTalkEnv, key: jax.Array) -> Any:
    """The ES starting point: phi = 0 (generation 0 sends m = 0); for the hijack, the genome also
    holds the exploiter, started at a random flax init (all-zero hidden layers would make its output
    a product of three sigma-sized weights, too faint for the ES to read)."""
    if cfg.goal != "hijack":
        return env.zero_phi()
    exploiter = Exploiter(cfg.num_messages, cfg.exploiter_hidden)
    ex = exploiter.init(key, jnp.zeros(env.base_obs_dim + 1))
    return {"phi": env.zero_phi(), "exploiter": ex}


def make_es(cfg: ACTConfig, template: Any) -> OpenES:
    """rlbook's OpenES with the reference's schedules and z-scored fitness."""
    lr = optax.exponential_decay(cfg.lr, 1, cfg.lr_decay, end_value=cfg.lr_limit)
    return OpenES(
        template,
        popsize=cfg.popsize,
        sigma=cfg.sigma,
        lr=cfg.lr,
        sigma_decay=cfg.sigma_decay,
        sigma_limit=cfg.sigma_limit,
        fitness_shaping="z_score",
        optimizer=optax.adam(lr, b1=cfg.beta1),
    )


def goal_fitness(goal: str, stats, final_updates: int) -> jax.Array:
    """The statistic the adversary maximises, from a victim's per-update stats."""
    if goal == "harm":
        return -final_return(stats, final_updates)
    return mean_return(stats)


class GenLog(NamedTuple):
    fitness_mean: jax.Array  # mean fitness over the population
    fitness_max: jax.Array
    final_return: jax.Array  # mean final return of the population's victims
    mean_return: jax.Array  # mean area-under-curve of the population's victims
    sigma: jax.Array


def evaluate_population(cfg: ACTConfig, env: CheapTalkEnv, key: jax.Array, phis: Any):
    """Victims for a population ``phis`` (leaves [P, ...]): ``victim_seeds`` fresh victims each,
    the same keys for every candidate. Returns VictimOut with leaves [P, seeds, ...]."""
    params = env.params(phis, cfg.scale)
    keys = jax.random.split(key, cfg.victim_seeds)
    return jax.vmap(lambda k: population_train(cfg.victim, env, k, params), out_axes=1)(keys)


def hijack_fitness(cfg: ACTConfig, env: CheapTalkEnv, key: jax.Array, out, exploiters):
    """Manipulation return [P, seeds] of every candidate's victims; the same goals for all."""
    h = make_hijacker(cfg, env)
    k_goal, k_ep = jax.random.split(key)
    goals = sample_goals(k_goal, cfg.eval_envs)
    per_victim = lambda o, ex: hijack_return(h, o, ex, k_ep, goals)
    return jax.vmap(lambda o, ex: jax.vmap(lambda o1: per_victim(o1, ex))(o))(out, exploiters)


def candidate_fitness(cfg: ACTConfig, env: CheapTalkEnv, key: jax.Array, pop: Any):
    """(fitness [P], victims [P, seeds]) of a population of genomes."""
    k_victim, k_hijack = jax.random.split(key)
    phis = pop["phi"] if cfg.goal == "hijack" else pop
    out = evaluate_population(cfg, env, k_victim, phis)
    if cfg.goal == "hijack":
        fitness = hijack_fitness(cfg, env, k_hijack, out, pop["exploiter"])
    else:
        fitness = goal_fitness(cfg.goal, out.stats, cfg.victim.final_updates)
    return fitness.mean(-1), out


def es_generation(cfg: ACTConfig, env: CheapTalkEnv, es: OpenES, state: ESState, key):
    """One ES generation: ask, train every candidate's victims, tell."""
    k_ask, k_fit = jax.random.split(key)
    pop, state = es.ask(k_ask, state)
    fitness, out = candidate_fitness(cfg, env, k_fit, pop)
    log = GenLog(
        fitness.mean(),
        fitness.max(),
        final_return(out.stats, cfg.victim.final_updates).mean(),
        mean_return(out.stats).mean(),
        state.sigma,
    )
    return es.tell(state, pop, fitness), log


def make_generation(cfg: ACTConfig, env: CheapTalkEnv, es: OpenES):
    """``generation(state, key) -> (state, GenLog)``, jitted (for a Python loop that logs progress)."""
    return jax.jit(lambda state, key: es_generation(cfg, env, es, state, key))


def make_run_generations(cfg: ACTConfig, env: CheapTalkEnv, es: OpenES):
    """``run(state, keys [G]) -> (state, GenLog [G])``: G generations as one ``lax.scan`` (jitted)."""

    def run(state, keys):
        return jax.lax.scan(lambda s, k: es_generation(cfg, env, es, s, k), state, keys)

    return jax.jit(run)


class ACTOut(NamedTuple):
    state: ESState  # the final search distribution (its mean is the trained adversary)
    log: GenLog  # every leaf [generations]


def make_train(cfg: ACTConfig):
    """``train(key) -> ACTOut``: the whole of train-time ACT as one jittable function."""
    env = make_env(cfg)
    es = make_es(cfg, init_genome(cfg, env, jax.random.key(0)))
    run = make_run_generations(cfg, env, es)

    def train(key):
        k_init, k_gen = jax.random.split(key)
        state = es.init(init_genome(cfg, env, k_init))
        state, log = run(state, jax.random.split(k_gen, cfg.generations))
        return ACTOut(state, log)

    return train


def message_grid(env: CheapTalkEnv, phi: Any, scale: float, n: int = 21):
    """The adversary's messages over a (theta, theta_dot) grid at x = x_dot = 0.

    Returns (theta [n], theta_dot [n], m [n, n, k]) with m[i, j] at (theta_dot[i], theta[j]).
    """
    theta = jnp.linspace(-0.21, 0.21, n)
    theta_dot = jnp.linspace(-2.0, 2.0, n)
    tt, dd = jnp.meshgrid(theta, theta_dot)
    s = jnp.stack([jnp.zeros_like(tt), jnp.zeros_like(tt), tt, dd], -1)
    params = env.params(phi, scale)
    return theta, theta_dot, env.message(s, params)


def unflatten(template: Any, flat) -> Any:
    """A stored flat parameter vector (e.g. from ``data/``) back into ``template``'s pytree."""
    _, unravel = ravel_pytree(template)
    return unravel(jnp.asarray(flat, jnp.float32))


def es_loop(cfg: ACTConfig, env: CheapTalkEnv, es: OpenES, state: ESState, key, victims, n: int):
    """``n`` harm/help generations in a Python loop around a jitted ``victims(keys [P], params)``
    (the function that trains one fresh victim per key and phi): all candidates get the same key.
    Returns (state, [mean fitness per generation]). The jittable version is ``es_generation``."""
    if cfg.goal == "hijack":
        raise ValueError("goal='hijack' needs the exploiter: use make_train or make_generation")
    history = []
    for k in jax.random.split(key, n):
        k_ask, k_victim = jax.random.split(k)
        pop, state = es.ask(k_ask, state)
        keys = jnp.broadcast_to(k_victim, (cfg.popsize,))  # common random numbers
        out = victims(keys, env.params(pop, cfg.scale))
        fitness = goal_fitness(cfg.goal, out.stats, cfg.victim.final_updates)
        state = es.tell(state, pop, fitness)
        history.append(float(fitness.mean()))
    return state, history
