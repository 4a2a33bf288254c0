"""N-player opponent shaping (Leading the Pack, Souly et al., 2023) on the exact N-player memory-one game.

A **learner mix** fills the n seats: the first ``num_leaders`` seats hold the mix's leaders, every other
seat a naive learner (NL). Mixes:

* ``nl``: nobody leads (NL-only population);
* ``lola``: the leaders are exact N-player LOLA learners (``rlbook.learners.nplayer``);
* ``shaper``: the leaders are M-FOS-style shapers trained by evolution strategies. At each meta-step a
  shaper sees ``sigmoid`` of every seat's current memory-one logits, rotated to start at its own seat
  (its own previous inner policy first, as the observation rotation of the inner game), and outputs its
  next inner policy; the naive learners then take one gradient step on the joint policy. Each shaper
  has its own ES whose fitness is its own mean per-step reward (the reference's ``multishaper_evo``:
  several shapers never share a fitness); members of the shapers' populations are paired by index.

One meta-episode ("trial") = ``meta_steps`` learning steps of the naive co-players from fresh
``N(0, I)`` logits. Welfare = mean per-step reward over all players and meta-steps.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.games.nplayer import GAME_NAMES, NPlayerGame, make_game
from rlbook.learners.es import OpenES
from rlbook.learners.nplayer import learner_step

MIXES = ("nl", "lola", "shaper")


@dataclasses.dataclass(frozen=True)
class NPOSConfig(Config):
    """One game, one n, one learner mix. Presets: ``book`` (CPU), ``medium`` (longer CPU run to
    ``data/``) and ``paper`` (the reference's ES sizes: pop 50, 10 co-players, 2000 generations,
    sigma 0.04 x 0.999 down to 0.01, Adam 0.1; still on the exact game)."""

    PRESETS: ClassVar[dict] = {
        "tiny": dict(popsize=4, num_opps=2, generations=2, meta_steps=5, hidden=4),  # smoke test
        "book": dict(popsize=32, num_opps=4, generations=24, meta_steps=50, hidden=16),
        "medium": dict(popsize=64, num_opps=8, generations=200, meta_steps=100, hidden=32),
        "paper": dict(
            popsize=50,
            num_opps=10,
            generations=2000,
            meta_steps=100,
            hidden=32,
            sigma=0.04,
            sigma_decay=0.999,
            sigma_limit=0.01,
            es_lr=0.1,
        ),
    }

    game: str = "ipd"
    n: int = 3
    mix: str = "shaper"
    num_leaders: int = 1
    gamma: float = 0.96
    lr: float = 1.0  # naive (and LOLA) step size on the un-normalised value
    eta: float = 1.0  # LOLA look-ahead step
    meta_steps: int = 50
    hidden: int = 16
    popsize: int = 32
    num_opps: int = 4
    generations: int = 24
    sigma: float = 0.05
    sigma_decay: float = 1.0
    sigma_limit: float = 0.0
    es_lr: float = 0.03
    eval_opps: int = 64
    init_std: float = 1.0

    def validate(self):
        check_choice("game", self.game, GAME_NAMES)
        check_choice("mix", self.mix, MIXES)
        check_int(self, "n", lo=2, hi=7)
        check_int(self, "num_leaders", lo=0, hi=self.n)
        if (self.mix == "nl") != (self.num_leaders == 0):
            raise ValueError(
                f"num_leaders={self.num_leaders} must be 0 exactly when mix='nl' (mix={self.mix!r})"
            )
        check_float(self, "gamma", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        check_float(self, "lr", lo=0.0, hi=100.0, lo_open=True)
        check_float(self, "eta", lo=0.0, hi=100.0)
        check_int(self, "meta_steps", "hidden", "num_opps", "generations", "eval_opps", lo=1)
        check_int(self, "popsize", lo=2)
        if self.popsize % 2:
            raise ValueError(f"popsize={self.popsize} must be even (antithetic pairs)")
        check_float(self, "sigma", "es_lr", "init_std", lo=0.0, lo_open=True)
        check_float(self, "sigma_decay", lo=0.0, hi=1.0, lo_open=True)
        check_float(self, "sigma_limit", lo=0.0)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The learner in every seat: leaders first, then naive learners."""
        lead = {"nl": "nl", "lola": "lola", "shaper": "shaper"}[self.mix]
        return (lead,) * self.num_leaders + ("nl",) * (self.n - self.num_leaders)


class ShaperPolicy(nn.Module):
    """Deterministic meta-policy: sigmoid of all seats' logits [n * D] -> next inner logits [D]."""

    dim: int
    hidden: int = 16

    @nn.compact
    def __call__(self, obs):
        return nn.Dense(self.dim)(nn.tanh(nn.Dense(self.hidden)(obs)))


def shaper_obs(thetas, i: int) -> jax.Array:
    """Seat i's meta-observation: sigmoid of every seat's logits, rotated to start at seat i."""
    return jax.nn.sigmoid(jnp.roll(thetas, -i, axis=0)).ravel()


class Trial(NamedTuple):
    value: jax.Array  # [T, n] every seat's per-step reward at each meta-step (before the update)
    thetas: jax.Array  # [T, n, D] the joint policy played at each meta-step


def rollout(key, c: NPOSConfig, game: NPlayerGame, policy=None) -> Trial:
    """One meta-episode: fresh co-players, ``c.meta_steps`` simultaneous learning steps.

    ``policy(obs [k, n * D]) -> [k, D]`` gives the k shapers' inner policies (mix 'shaper' only)."""
    kinds, k = c.kinds, c.num_leaders
    dim = 2**c.n + 1
    th0 = c.init_std * jax.random.normal(key, (c.n, dim))

    def step(th, _):
        if c.mix == "shaper":
            obs = jnp.stack([shaper_obs(th, i) for i in range(k)])
            th = th.at[:k].set(policy(obs))
        th_next, v = learner_step(th, kinds, game, c.gamma, c.lr, c.eta)
        return th_next, Trial((1 - c.gamma) * v, th)

    _, trial = jax.lax.scan(step, th0, None, length=c.meta_steps)
    return trial


class NPOSOutput(NamedTuple):
    params: Any  # shapers' mean parameters, leaves [k, ...] (None unless mix == 'shaper')
    fitness: jax.Array  # [generations, k] mean population fitness of each shaper (zeros otherwise)
    eval: Trial  # held-out meta-episodes, leaves [eval_opps, T, ...]


def make_es(c: NPOSConfig):
    net = ShaperPolicy(dim=2**c.n + 1, hidden=c.hidden)
    template = net.init(jax.random.key(0), jnp.zeros(c.n * (2**c.n + 1)))
    es = OpenES(
        template,
        popsize=c.popsize,
        sigma=c.sigma,
        lr=c.es_lr,
        sigma_decay=c.sigma_decay,
        sigma_limit=c.sigma_limit,
    )
    return net, es


def _stacked_policy(net, params):
    """params: leaves [k, ...] -> policy(obs [k, n * D]) -> [k, D]."""
    return lambda obs: jax.vmap(net.apply)(params, obs)


def evaluate(key, c: NPOSConfig, params=None) -> Trial:
    """Held-out meta-episodes [eval_opps, T, ...] of the mix (shapers: their mean parameters)."""
    game = make_game(c.game, c.n)
    policy = None
    if c.mix == "shaper":
        net, _ = make_es(c)
        policy = _stacked_policy(net, params)
    return jax.vmap(lambda k: rollout(k, c, game, policy))(jax.random.split(key, c.eval_opps))


def eval_key(key):
    """The held-out co-players' key: the same for every mix of a seed (common random numbers)."""
    return jax.random.fold_in(key, 10**6)


def make_train(c: NPOSConfig):
    """``train(key) -> NPOSOutput``; ``jax.jit(jax.vmap(train))(keys)`` runs several seeds at once.

    NL and LOLA mixes need no training: ``train`` only evaluates them on the held-out co-players."""
    c.validate()
    game = make_game(c.game, c.n)
    k = c.num_leaders
    if c.mix != "shaper":

        def train_fixed(key):
            trial = evaluate(eval_key(key), c)
            return NPOSOutput(None, jnp.zeros((c.generations, k)), trial)

        return train_fixed

    net, es = make_es(c)

    def fitness(params, keys):
        """Each shaper's mean per-step reward over the co-player draws ``keys``: [k]."""
        pol = _stacked_policy(net, params)
        values = jax.vmap(lambda kk: rollout(kk, c, game, pol).value)(keys)  # [O, T, n]
        return values[..., :k].mean(axis=(0, 1))

    def generation(states, key):
        k_ask, k_opp = jax.random.split(key)
        pops, states = jax.vmap(es.ask)(jax.random.split(k_ask, k), states)  # leaves [k, P, ...]
        members = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), pops)  # [P, k, ...]
        opp_keys = jax.random.split(k_opp, c.num_opps)  # common random numbers for every member
        f = jax.vmap(fitness, in_axes=(0, None))(members, opp_keys)  # [P, k]
        states = jax.vmap(es.tell)(states, pops, f.T)
        return states, f.mean(0)

    def train(key):
        k_init, k_train = jax.random.split(key)
        init = jax.vmap(lambda kk: net.init(kk, jnp.zeros(c.n * (2**c.n + 1))))(
            jax.random.split(k_init, k)
        )
        states = jax.vmap(es.init)(init)
        states, fit = jax.lax.scan(generation, states, jax.random.split(k_train, c.generations))
        params = jax.vmap(es.mean)(states)
        return NPOSOutput(params, fit, evaluate(eval_key(key), c, params))

    return train


def trial_welfare(trial: Trial) -> jax.Array:
    """Mean per-step reward over all players and meta-steps, per held-out meta-episode: [..., eval_opps]."""
    return trial.value.mean(axis=(-2, -1))
