"""M-FOS: model-free opponent shaping (Lu, Willi, de Witt, Foerster, ICML 2022) over exact matrix games.

The co-player's whole learning process is a **meta-game**. One meta-step is one inner episode, i.e. one
co-player update; the meta-state is both players' current memory-one policies; the meta-action is
M-FOS's next inner policy phi (5 logits); the meta-reward is M-FOS's average per-step reward in that
inner game, computed exactly (``rlbook.games.matrix.exact_value``).

``MetaGame`` is that environment, gymnax-style and for one meta-episode (vmap it over many):

    reset: theta ~ N(0, I) (co-player), phi ~ N(0, I); play(phi, theta), drop its reward;
           obs = sigmoid([phi; theta]); theta <- update(theta, phi)          (the reference's warm-up)
    step(phi): r = (1 - gamma) V_mfos(phi, theta); obs = sigmoid([phi; theta]) (theta *before* its
           update); theta <- update(theta, phi)

The co-player sits in seat 2 and learns from its own perspective: its update is the seat-1 update
on ``swap_game(game)`` with the arguments swapped (``rlbook.learners.naive``), so a missing or doubled
CD/DC swap would break the perspective test.

Two meta-learners share the environment: evolution strategies over a deterministic MLP
(``make_train_es``; the book's default, "M-FOS (ES)" in the Shaper paper) and the paper's PPO with a
Gaussian policy over the 5 logits (``make_train_ppo``).

Meta-self-play, as in the paper, is ``opponent="independent"``: two meta-learners (two ES populations,
seat 1 and seat 2), each maximising its *own* return against the other's current mean policy, mixed with
fresh naive learners with probability lambda = max(0, 1 - anneal_rate * iteration), as the reference's
``main_mfos_self.py``. ``opponent="self"`` puts one parameter set in both seats: ES then maximises the
return of a symmetric profile, whose optimum is mutual cooperation by construction (a "welfare optimum"
contrast, not self-play between learners).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.training.train_state import TrainState

from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.games.matrix import GAMES, MatrixGame, exact_value, get_game, swap_game
from rlbook.learners.es import OpenES, check_popsize, train_es
from rlbook.learners.naive import lola_update, naive_update
from rlbook.rl import (
    clipped_policy_loss,
    discounted_returns,
    normalise,
    progress,
    run_epochs,
    seed_keys,
    train_seeds,
)
from rlbook.rl.env import Environment, spaces

OPPONENTS = ("nl", "lola", "self", "independent")
SELF_PLAY = ("self", "independent")  # meta-self-play; their naive warm-up co-players are NL
LEARNERS = ("nl", "lola")
METHODS = ("es", "ppo")

__all__ = ["discounted_returns"]  # re-exported from rlbook.rl (no second copy)


@dataclasses.dataclass(frozen=True)
class MFOSConfig(Config):
    """Meta-game and meta-learner settings. Presets: ``tiny`` (seconds, for smoke tests), ``book``
    (CPU, about a minute), ``medium`` (2x the generations, for ``data/``), ``paper`` (the reference's PPO:
    batch 4096 x 1024 iterations, MLP 256), ``ppo_tiny`` / ``ppo_book`` / ``ppo_medium`` (that PPO
    at CPU sizes)."""

    PRESETS: ClassVar[dict] = {
        "tiny": dict(
            hidden=8, popsize=4, num_opps=2, generations=3, meta_steps=10, eval_opps=4, num_seeds=1
        ),
        # 64 x 8 trials x 100 meta-steps a generation; deterministic MLP 10 -> 32 -> 5
        "book": dict(method="es", hidden=32, generations=100, num_seeds=3),
        # M-FOS vs LOLA, twice as long (the experiment runs only that at medium: ~25 min loaded)
        "medium": dict(method="es", hidden=32, generations=200, num_seeds=3),
        "paper": dict(method="ppo", hidden=256, batch=4096, iterations=1024),
        "ppo_tiny": dict(method="ppo", hidden=16, batch=8, iterations=3, meta_steps=10),
        # one seed per co-player: about 6 min each on a loaded 2-core CPU
        "ppo_book": dict(method="ppo", hidden=256, batch=256, iterations=300, num_seeds=1),
        "ppo_medium": dict(method="ppo", hidden=256, batch=1024, iterations=500),
    }

    game: str = "ipd"
    opponent: str = "nl"
    opp_lr: float = 1.0
    opp_eta: float = 1.0  # LOLA co-player's look-ahead
    gamma: float = 0.96
    meta_steps: int = 100
    method: str = "es"
    hidden: int = 32
    num_seeds: int = 3  # seeds trained at once (vmap) by train_eval_es and the experiments
    # ES
    popsize: int = 64
    sigma: float = 0.05
    es_lr: float = 0.03
    num_opps: int = 8
    generations: int = 100
    # PPO (the reference's main_mfos_ppo.py)
    batch: int = 4096
    iterations: int = 1024
    ppo_lr: float = 2e-3
    update_epochs: int = 4
    clip_eps: float = 0.2
    gamma_meta: float = 0.99
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    # self-play: probability of a fresh naive co-player, annealed to 0
    anneal_rate: float = 0.0015
    eval_opps: int = 256

    def validate(self) -> None:
        check_choice("game", self.game, sorted(GAMES))
        check_choice("opponent", self.opponent, OPPONENTS)
        check_choice("method", self.method, METHODS)
        check_float(self, "gamma", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        check_float(self, "gamma_meta", lo=0.0, hi=1.0, lo_open=True)
        check_float(self, "opp_lr", lo=0.0, hi=100.0, lo_open=True)
        check_float(self, "opp_eta", "anneal_rate", "vf_coef", "ent_coef", lo=0.0)
        check_int(self, "meta_steps", "hidden", "num_seeds", "num_opps", "generations")
        check_int(self, "batch", "iterations", "update_epochs", "eval_opps")
        check_popsize(self.popsize)
        check_float(self, "sigma", "es_lr", "ppo_lr", lo=0.0, lo_open=True)
        check_float(self, "clip_eps", lo=0.0, hi=1.0, lo_open=True, hi_open=True)


def validate(c: MFOSConfig) -> None:
    """Kept for callers of the first version: a config validates itself at construction."""
    c.validate()


# --------------------------------------------------------------------------------------------------
# The meta-game
# --------------------------------------------------------------------------------------------------


@struct.dataclass
class MetaState:
    theta: jax.Array  # f32[5] the co-player's logits (its own perspective)
    t: jax.Array  # int32[] meta-steps taken


@struct.dataclass
class MetaParams:
    game: MatrixGame
    opp_lr: float = 1.0
    opp_eta: float = 1.0
    gamma: float = 0.96
    opponent: str = struct.field(pytree_node=False, default="nl")
    meta_steps: int = struct.field(pytree_node=False, default=100)


def meta_params(c: MFOSConfig, opponent: str | None = None) -> MetaParams:
    """The meta-game's params for config ``c`` (the one place they are built). ``opponent`` defaults
    to ``c.opponent``; meta-self-play's mixed-in learning co-players are naive learners."""
    opponent = c.opponent if opponent is None else opponent
    check_choice("opponent", opponent, OPPONENTS)
    learner = "nl" if opponent in SELF_PLAY else opponent
    return MetaParams(get_game(c.game), c.opp_lr, c.opp_eta, c.gamma, learner, c.meta_steps)


def co_player_update(theta, phi, params: MetaParams):
    """The co-player's learning step, from seat 2: seat-1 update on the swapped game."""
    game2 = swap_game(params.game)
    if params.opponent == "lola":
        return lola_update(theta, phi, game2, params.gamma, params.opp_lr, params.opp_eta)
    return naive_update(theta, phi, game2, params.gamma, params.opp_lr)


class MetaGame(Environment):
    """The M-FOS meta-MDP against a naive or LOLA co-player, on the book's env protocol. Stateless:
    every method reads only its arguments (``params`` from ``meta_params(config)``)."""

    obs_dim = 10
    action_dim = 5

    @property
    def default_params(self) -> MetaParams:
        return meta_params(MFOSConfig())

    def reset_env(self, key, params: MetaParams):
        k_opp, k_phi = jax.random.split(key)
        theta = jax.random.normal(k_opp, (5,))
        phi = jax.random.normal(k_phi, (5,))
        obs = jax.nn.sigmoid(jnp.concatenate([phi, theta]))
        theta = co_player_update(theta, phi, params)  # warm-up: its reward is dropped
        return obs, MetaState(theta=theta, t=jnp.zeros((), jnp.int32))

    def step_env(self, key, state: MetaState, phi, params: MetaParams):
        """Returns (obs, state, reward, terminated, truncated, info); info["opp_reward"] is the co-player's."""
        del key  # exact values: the meta-game is deterministic given phi
        r_self, r_opp = exact_value(phi, state.theta, params.game, params.gamma)
        obs = jax.nn.sigmoid(jnp.concatenate([phi, state.theta]))
        theta = co_player_update(state.theta, phi, params)
        t = state.t + 1
        truncated = t >= params.meta_steps
        info = {"opp_reward": r_opp, "opp_theta": state.theta}
        return obs, MetaState(theta=theta, t=t), r_self, jnp.zeros((), bool), truncated, info

    def action_space(self, params=None) -> spaces.Box:
        return spaces.Box(-jnp.inf, jnp.inf, (self.action_dim,), jnp.float32)

    def observation_space(self, params=None) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (self.obs_dim,), jnp.float32)


META_GAME = MetaGame()


# --------------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------------


class MFOSPolicy(nn.Module):
    """Deterministic meta-policy for ES: obs [..., 10] -> next inner logits phi [..., 5]."""

    hidden: int = 32

    @nn.compact
    def __call__(self, obs):
        x = nn.tanh(nn.Dense(self.hidden)(obs))
        return nn.Dense(5)(x)


class MFOSActorCritic(nn.Module):
    """The reference's PPO networks: actor 10 -> 256 tanh -> (mean, variance = softplus), critic 10 -> 256 -> 1."""

    hidden: int = 256

    @nn.compact
    def __call__(self, obs):
        a = nn.tanh(nn.Dense(self.hidden)(obs))
        out = nn.Dense(10)(a)
        mean, var = out[..., :5], nn.softplus(out[..., 5:]) + 1e-6  # softplus gives the *variance*
        v = nn.tanh(nn.Dense(self.hidden)(obs))
        return mean, var, nn.Dense(1)(v)[..., 0]


def gaussian_logp(x, mean, var):
    return jnp.sum(-0.5 * ((x - mean) ** 2 / var + jnp.log(2 * jnp.pi * var)), axis=-1)


def gaussian_entropy(var):
    return jnp.sum(0.5 * jnp.log(2 * jnp.pi * jnp.e * var), axis=-1)


# --------------------------------------------------------------------------------------------------
# Trials: one meta-episode of a policy against a co-player
# --------------------------------------------------------------------------------------------------


class Trial(NamedTuple):
    reward: jax.Array  # [T] M-FOS per-step reward at each meta-step
    opp_reward: jax.Array  # [T]
    phi: jax.Array  # [T, 5] M-FOS's inner policies
    theta: jax.Array  # [T, 5] the co-player's policies (before each update)


def rollout(policy_fn, key, params: MetaParams) -> Trial:
    """One meta-episode with ``policy_fn(obs) -> phi`` against the learning co-player in ``params``.

    Exactly ``params.meta_steps`` steps of ``step_env``: the episode never continues, so the
    auto-reset of ``step`` would be computed and thrown away."""
    obs, state = META_GAME.reset(key, params)

    def step(carry, _):
        obs, state = carry
        phi = policy_fn(obs)
        obs, state, r, _, _, info = META_GAME.step_env(None, state, phi, params)
        return (obs, state), Trial(r, info["opp_reward"], phi, info["opp_theta"])

    _, trial = jax.lax.scan(step, (obs, state), None, length=params.meta_steps)
    return trial


def self_play_rollout(policy_a, policy_b, key, game: MatrixGame, gamma: float, steps: int) -> Trial:
    """Two meta-agents: each sees sigmoid([own; other]) and picks its next inner policy."""
    k1, k2 = jax.random.split(key)
    phi_a, phi_b = jax.random.normal(k1, (5,)), jax.random.normal(k2, (5,))

    def step(carry, _):
        pa, pb = carry
        na = policy_a(jax.nn.sigmoid(jnp.concatenate([pa, pb])))
        nb = policy_b(jax.nn.sigmoid(jnp.concatenate([pb, pa])))
        ra, rb = exact_value(na, nb, game, gamma)
        return (na, nb), Trial(ra, rb, na, nb)

    _, trial = jax.lax.scan(step, (phi_a, phi_b), None, length=steps)
    return trial


def anneal_lambda(iteration, rate: float):
    """Probability of a fresh naive co-player in meta-self-play: max(0, 1 - rate * iteration)."""
    return jnp.maximum(0.0, 1.0 - rate * iteration)


# --------------------------------------------------------------------------------------------------
# ES meta-training
# --------------------------------------------------------------------------------------------------


class ESOutput(NamedTuple):
    params: Any  # the final mean policy
    fitness: jax.Array  # [generations] mean population fitness
    mean_fitness: jax.Array  # [generations] the mean policy's fitness on the generation's trials


def make_es(c: MFOSConfig) -> tuple[MFOSPolicy, OpenES]:
    net = MFOSPolicy(c.hidden)
    template = net.init(jax.random.key(0), jnp.zeros(10))
    return net, OpenES(template, popsize=c.popsize, sigma=c.sigma, lr=c.es_lr)


class ESTrials(NamedTuple):
    """One generation's co-players, shared by every member (common random numbers)."""

    keys: jax.Array  # [num_opps] meta-episode keys
    use_nl: jax.Array  # bool[num_opps]: self-play only, a fresh naive co-player instead of a copy


def es_trials(keys, generation, c: MFOSConfig) -> ESTrials:
    """``keys``: the generation's two trial keys (co-players, self-play mixing)."""
    lam = anneal_lambda(generation, c.anneal_rate)
    use_nl = jax.random.uniform(keys[1], (c.num_opps,)) < lam
    return ESTrials(jax.random.split(keys[0], c.num_opps), use_nl)


def es_fitness(p, trials: ESTrials, net: MFOSPolicy, c: MFOSConfig, params: MetaParams):
    """Mean per-step M-FOS reward of policy params ``p`` over the generation's meta-episodes."""
    pol = lambda o: net.apply(p, o)

    def one(k, nl):
        vs_nl = rollout(pol, k, params).reward.mean()
        if c.opponent != "self":
            return vs_nl
        vs_self = self_play_rollout(pol, pol, k, params.game, c.gamma, c.meta_steps).reward.mean()
        return jnp.where(nl, vs_nl, vs_self)

    return jax.vmap(one)(trials.keys, trials.use_nl).mean()


def make_train_es(c: MFOSConfig):
    """``train(key) -> ESOutput``: OpenES over the meta-policy; fitness = mean per-step reward over
    ``num_opps`` meta-episodes, with the same co-players for every member (common random numbers).
    ``opponent="independent"``: two populations (``make_train_es_independent``)."""
    if c.opponent == "independent":
        return make_train_es_independent(c)
    net, es = make_es(c)
    trials = partial(es_trials, c=c)
    fitness = partial(es_fitness, net=net, c=c, params=meta_params(c))

    def train(key):
        state, curve = train_es(
            es, es.init(), key, c.generations, trials, fitness, num_keys=3, track_mean=True
        )
        return ESOutput(es.mean(state), curve.fitness, curve.mean_fitness)

    return train


def evaluate(net, policy_params, c: MFOSConfig, key, opponent: str | None = None) -> Trial:
    """Held-out meta-episodes [eval_opps, T] of the deterministic policy against fresh co-players
    (``opponent="self"``: against a copy of itself; ``"independent"``: ``policy_params`` holds the two
    learners stacked on a leading [2] axis, seat 1 first; ``reward`` is seat 1's, ``opp_reward`` seat 2's,
    from fresh random initial inner policies)."""
    opponent = opponent or c.opponent
    params = meta_params(c, opponent)
    keys = jax.random.split(key, c.eval_opps)
    if opponent == "independent":
        pa, pb = (jax.tree.map(lambda x, i=i: x[i], policy_params) for i in (0, 1))
        pol_a, pol_b = (lambda o: net.apply(pa, o)), (lambda o: net.apply(pb, o))
        return jax.vmap(
            lambda k: self_play_rollout(pol_a, pol_b, k, params.game, c.gamma, c.meta_steps)
        )(keys)
    pol = lambda o: net.apply(policy_params, o)
    if opponent == "self":
        return jax.vmap(
            lambda k: self_play_rollout(pol, pol, k, params.game, c.gamma, c.meta_steps)
        )(keys)
    return jax.vmap(lambda k: rollout(pol, k, params))(keys)


# --------------------------------------------------------------------------------------------------
# Meta-self-play between two independent meta-learners
# --------------------------------------------------------------------------------------------------


class PairState(NamedTuple):
    """The two ES searches of independent meta-self-play (seat 1, seat 2)."""

    a: Any  # ESState of the seat-1 learner
    b: Any  # ESState of the seat-2 learner


def independent_fitness(p, other, seat: int, trials: ESTrials, net, c: MFOSConfig, params):
    """Mean per-step reward of policy ``p`` sitting in ``seat`` (0 or 1) against the other learner's
    policy ``other``; a trial with ``use_nl`` meets a fresh naive learner instead (annealed mix)."""
    pol, oth = (lambda o: net.apply(p, o)), (lambda o: net.apply(other, o))
    a, b = (pol, oth) if seat == 0 else (oth, pol)

    def one(k, nl):
        vs_nl = rollout(pol, k, params).reward.mean()
        tr = self_play_rollout(a, b, k, params.game, c.gamma, c.meta_steps)
        own = (tr.reward if seat == 0 else tr.opp_reward).mean()
        return jnp.where(nl, vs_nl, own)

    return jax.vmap(one)(trials.keys, trials.use_nl).mean()


def independent_generation(states: PairState, xs, es: OpenES, net, c: MFOSConfig, params):
    """One generation of both searches on the same trials: each population's members meet the other
    learner's current mean and are ranked by their *own* return (neither sees the other's reward)."""
    key, g = xs
    progress.tick()
    k_a, k_b, k_t = jax.random.split(key, 3)
    trials = es_trials(jax.random.split(k_t), g, c)
    means = (es.mean(states.a), es.mean(states.b))
    new, fit, mean_fit = [], [], []
    for seat, (st, k) in enumerate(((states.a, k_a), (states.b, k_b))):
        f_of = partial(independent_fitness, seat=seat, trials=trials, net=net, c=c, params=params)
        pop, st = es.ask(k, st)
        f = jax.vmap(f_of, in_axes=(0, None))(pop, means[1 - seat])
        new.append(es.tell(st, pop, f))
        fit.append(f.mean())
        mean_fit.append(f_of(means[seat], means[1 - seat]))
    return PairState(*new), (jnp.stack(fit), jnp.stack(mean_fit))


def make_train_es_independent(c: MFOSConfig):
    """``train(key) -> ESOutput`` for meta-self-play between two independent ES meta-learners. Its
    ``params`` leaves gain a leading [2] axis (seat 1, seat 2); ``fitness`` and ``mean_fitness`` are
    [generations, 2]. Each learner starts from its own random initialisation."""
    net, es = make_es(c)
    gen = partial(independent_generation, es=es, net=net, c=c, params=meta_params(c))

    def train(key):
        k_a, k_b, k_gen = jax.random.split(key, 3)
        init = PairState(*(es.init(net.init(k, jnp.zeros(10))) for k in (k_a, k_b)))
        xs = (jax.random.split(k_gen, c.generations), jnp.arange(c.generations))
        states, (fit, mean_fit) = jax.lax.scan(gen, init, xs)
        params = jax.tree.map(lambda x, y: jnp.stack([x, y]), *map(es.mean, states))
        return ESOutput(params, fit, mean_fit)

    return train


# --------------------------------------------------------------------------------------------------
# PPO meta-training (the paper's method)
# --------------------------------------------------------------------------------------------------


class PPOBatch(NamedTuple):
    obs: jax.Array  # [N, 10]
    action: jax.Array  # [N, 5]
    logp: jax.Array  # [N]
    target: jax.Array  # [N] normalised Monte-Carlo return


class PPOOutput(NamedTuple):
    train_state: TrainState
    reward: jax.Array  # [iterations] mean per-step M-FOS reward of the iteration's batch
    opp_reward: jax.Array  # [iterations]
    stats: dict


class Transition(NamedTuple):
    """One meta-step of ``batch`` meta-episodes (leaves [batch, ...]; stacked [T, batch, ...])."""

    obs: jax.Array
    phi: jax.Array
    logp: jax.Array
    reward: jax.Array
    opp_reward: jax.Array


def ppo_loss(p, b: PPOBatch, net: MFOSActorCritic, c: MFOSConfig):
    """The reference's loss: clipped surrogate on advantage = return - V, value MSE, Gaussian entropy."""
    mean, var, v = net.apply(p, b.obs)
    logp = gaussian_logp(b.action, mean, var)
    adv = b.target - jax.lax.stop_gradient(v)
    pg, stats = clipped_policy_loss(logp, b.logp, adv, c.clip_eps)
    vf = 0.5 * jnp.mean((v - b.target) ** 2)
    ent = gaussian_entropy(var).mean()
    stats = dict(stats, ratio_mean=jnp.exp(logp - b.logp).mean(), entropy=ent)
    return pg + c.vf_coef * vf - c.ent_coef * ent, stats


def ppo_collect(p, key, net: MFOSActorCritic, c: MFOSConfig, params: MetaParams) -> Transition:
    """``c.batch`` meta-episodes of the Gaussian meta-policy, [meta_steps, batch, ...]."""
    k_reset, k_act = jax.random.split(key)
    obs, state = jax.vmap(META_GAME.reset, in_axes=(0, None))(
        jax.random.split(k_reset, c.batch), params
    )

    def step(carry, k):
        obs, state = carry
        mean, var, _ = net.apply(p, obs)
        phi = mean + jnp.sqrt(var) * jax.random.normal(k, mean.shape)
        logp = gaussian_logp(phi, mean, var)
        obs2, state, r, _, _, info = jax.vmap(META_GAME.step_env, in_axes=(None, 0, 0, None))(
            None, state, phi, params
        )
        return (obs2, state), Transition(obs, phi, logp, r, info["opp_reward"])

    _, traj = jax.lax.scan(step, (obs, state), jax.random.split(k_act, c.meta_steps))
    return traj


def ppo_iteration(ts, key, net: MFOSActorCritic, c: MFOSConfig, params: MetaParams):
    """Collect a batch, normalise its Monte-Carlo returns, ``update_epochs`` full-batch epochs."""
    k_roll, k_upd = jax.random.split(key)
    tr = ppo_collect(ts.params, k_roll, net, c, params)
    g = normalise(discounted_returns(tr.reward, c.gamma_meta))
    flat = lambda x: x.reshape((-1,) + x.shape[2:])
    batch = PPOBatch(flat(tr.obs), flat(tr.phi), flat(tr.logp), flat(g))
    loss_fn = partial(ppo_loss, net=net, c=c)
    ts, stats = run_epochs(k_upd, ts, batch, loss_fn, c.update_epochs, 1)
    return ts, (tr.reward.mean(), tr.opp_reward.mean(), jax.tree.map(lambda s: s[:, 0], stats))


def make_train_ppo(c: MFOSConfig):
    """``train(key) -> PPOOutput``: the reference's PPO meta-learner (batch x 100-step meta-episodes,
    K full-batch epochs per iteration, MC returns normalised over the batch)."""
    if c.opponent in SELF_PLAY:
        raise ValueError(
            f"opponent={c.opponent!r}: PPO meta-self-play is not implemented; use method='es' for it"
        )
    net = MFOSActorCritic(c.hidden)
    iteration = partial(ppo_iteration, net=net, c=c, params=meta_params(c))

    def train(key):
        k_init, k_train = jax.random.split(key)
        p = net.init(k_init, jnp.zeros(10))
        ts = TrainState.create(apply_fn=net.apply, params=p, tx=optax.adam(c.ppo_lr))
        ts, (r, r_opp, stats) = jax.lax.scan(iteration, ts, jax.random.split(k_train, c.iterations))
        return PPOOutput(ts, r, r_opp, stats)

    return train


# --------------------------------------------------------------------------------------------------
# Reading a learned inner policy: zero-determinant strategies
# --------------------------------------------------------------------------------------------------


def zd_fit(p, game: MatrixGame):
    """Fit a memory-one strategy p = P(C | CC, CD, DC, DD) (own perspective) to the zero-determinant form
    p~ = (p_CC - 1, p_CD - 1, p_DC, p_DD) = alpha * R_self + beta * R_other + c * 1 (Press & Dyson, 2012).

    An exact ZD strategy (residual 0) enforces alpha * s_self + beta * s_other + c = 0 between the two
    players' long-run payoffs, i.e. s_self = chi * s_other + const with slope chi = -beta / alpha; an
    extortionate one has chi > 1 and passes through the mutual-defection point.
    Returns ((alpha, beta, c), residual norm, chi)."""
    p = jnp.asarray(p)
    pt = p - jnp.array([1.0, 1.0, 0.0, 0.0])
    a = jnp.stack([game.r1, game.r2, jnp.ones(4)], axis=1)
    coef, *_ = jnp.linalg.lstsq(a, pt)
    resid = jnp.linalg.norm(a @ coef - pt)
    return coef, resid, -coef[1] / coef[0]


class ZDFits(NamedTuple):
    """``zd_fit`` applied to many memory-one strategies at once (leaves: the batch shape)."""

    chi: jax.Array  # slope -beta / alpha
    residual: jax.Array  # distance of p~ from span(R_self, R_other, 1)
    p: jax.Array  # [..., 4] the fitted P(C | CC, CD, DC, DD)


def zd_fit_batch(phi, game: MatrixGame) -> ZDFits:
    """Fit every inner policy in ``phi`` [..., 5] (logits over [start, CC, CD, DC, DD]) separately: a
    mixture of ZD strategies with different chi is not ZD, so averaging first hides what each is."""
    p = jax.nn.sigmoid(jnp.asarray(phi))[..., 1:]
    flat = p.reshape(-1, 4)
    _, resid, chi = jax.vmap(lambda q: zd_fit(q, game))(flat)
    return ZDFits(chi.reshape(p.shape[:-1]), resid.reshape(p.shape[:-1]), p)


def train_eval_es(c: MFOSConfig, seed: int = 0, num_seeds: int | None = None):
    """Train ``num_seeds`` (default ``c.num_seeds``) ES meta-learners at once (vmap over seeds) and
    evaluate each mean policy on ``eval_opps`` held-out co-players. Returns (ESOutput with a leading
    seed axis, Trial [seeds, opps, T])."""
    n = c.num_seeds if num_seeds is None else num_seeds
    net, _ = make_es(c)
    out = train_seeds(make_train_es(c), seed, n)
    keys = seed_keys(seed, n)
    eval_keys = jax.vmap(lambda k: jax.random.fold_in(k, 10**6))(keys)  # held out: never trained on
    trials = jax.jit(jax.vmap(lambda p, k: evaluate(net, p, c, k)))(out.params, eval_keys)
    return out, trials
