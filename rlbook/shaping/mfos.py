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
Gaussian policy over the 5 logits (``make_train_ppo``). Meta-self-play (``opponent="self"``) plays a
copy of the agent in seat 2, mixed with fresh naive learners with probability
lambda = max(0, 1 - anneal_rate * iteration), as the reference's ``main_mfos_self.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.training.train_state import TrainState

from rlbook.games.matrix import GAMES, MatrixGame, exact_value, get_game, swap_game
from rlbook.learners.es import OpenES
from rlbook.learners.naive import lola_update, naive_update
from rlbook.learners.ppo import clipped_policy_loss, run_epochs

OPPONENTS = ("nl", "lola", "self")
METHODS = ("es", "ppo")


@dataclasses.dataclass(frozen=True)
class MFOSConfig:
    """Meta-game and meta-learner settings; presets ``book`` (CPU, about a minute) and ``paper``."""

    game: str = "ipd"
    opponent: str = "nl"
    opp_lr: float = 1.0
    opp_eta: float = 1.0  # LOLA co-player's look-ahead
    gamma: float = 0.96
    meta_steps: int = 100
    method: str = "es"
    hidden: int = 32
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
    ppo_epochs: int = 4
    clip_eps: float = 0.2
    gamma_meta: float = 0.99
    entropy_coef: float = 0.01
    vf_coef: float = 0.5
    # self-play: probability of a fresh naive co-player, annealed to 0
    anneal_rate: float = 0.0015
    eval_opps: int = 256

    def __post_init__(self):
        validate(self)

    @classmethod
    def preset(cls, name: str, **overrides) -> MFOSConfig:
        presets = {
            # 64 x 8 trials x 100 meta-steps a generation; deterministic MLP 10 -> 32 -> 5
            "book": {"method": "es", "hidden": 32, "generations": 100},
            "medium": {"method": "es", "hidden": 32, "generations": 300, "popsize": 128},
            # the reference's PPO: batch 4096 x 1024 iterations, MLP 256
            "paper": {"method": "ppo", "hidden": 256, "batch": 4096, "iterations": 1024},
        }
        if name not in presets:
            raise ValueError(f"unknown preset {name!r}; valid: {', '.join(presets)}")
        return cls(**{**presets[name], **overrides})


def validate(c: MFOSConfig) -> None:
    if c.game not in GAMES:
        raise ValueError(f"game must be one of {sorted(GAMES)}, got {c.game!r}")
    if c.opponent not in OPPONENTS:
        raise ValueError(f"opponent must be one of {OPPONENTS}, got {c.opponent!r}")
    if c.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {c.method!r}")
    if not 0.0 < c.gamma < 1.0:
        raise ValueError(f"gamma must lie in (0, 1), got {c.gamma}")
    if not 0.0 < c.gamma_meta <= 1.0:
        raise ValueError(f"gamma_meta must lie in (0, 1], got {c.gamma_meta}")
    if not 0.0 < c.opp_lr <= 100.0:
        raise ValueError(f"opp_lr must lie in (0, 100], got {c.opp_lr}")
    if c.opp_eta < 0:
        raise ValueError(f"opp_eta must be >= 0, got {c.opp_eta}")
    for name in (
        "meta_steps",
        "hidden",
        "num_opps",
        "generations",
        "batch",
        "iterations",
        "ppo_epochs",
        "eval_opps",
    ):
        if getattr(c, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(c, name)}")
    if c.popsize < 2 or c.popsize % 2:
        raise ValueError(f"popsize must be an even integer >= 2, got {c.popsize}")
    for name in ("sigma", "es_lr", "ppo_lr"):
        if getattr(c, name) <= 0:
            raise ValueError(f"{name} must be > 0, got {getattr(c, name)}")
    if not 0.0 < c.clip_eps < 1.0:
        raise ValueError(f"clip_eps must lie in (0, 1), got {c.clip_eps}")
    if c.anneal_rate < 0:
        raise ValueError(f"anneal_rate must be >= 0, got {c.anneal_rate}")


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


def co_player_update(theta, phi, params: MetaParams):
    """The co-player's learning step, from seat 2: seat-1 update on the swapped game."""
    game2 = swap_game(params.game)
    if params.opponent == "lola":
        return lola_update(theta, phi, game2, params.gamma, params.opp_lr, params.opp_eta)
    return naive_update(theta, phi, game2, params.gamma, params.opp_lr)


class MetaGame:
    """The M-FOS meta-MDP for one meta-episode against a naive or LOLA co-player."""

    obs_dim = 10
    action_dim = 5

    def __init__(self, config: MFOSConfig):
        if config.opponent == "self":
            raise ValueError("MetaGame plays a learning co-player; self-play is in make_train_*")
        self.config = config

    def default_params(self) -> MetaParams:
        c = self.config
        return MetaParams(get_game(c.game), c.opp_lr, c.opp_eta, c.gamma, c.opponent, c.meta_steps)

    def reset(self, key, params: MetaParams):
        k_opp, k_phi = jax.random.split(key)
        theta = jax.random.normal(k_opp, (5,))
        phi = jax.random.normal(k_phi, (5,))
        obs = jax.nn.sigmoid(jnp.concatenate([phi, theta]))
        theta = co_player_update(theta, phi, params)  # warm-up: its reward is dropped
        return obs, MetaState(theta=theta, t=jnp.zeros((), jnp.int32))

    def step(self, key, state: MetaState, phi, params: MetaParams):
        """Returns (obs, state, reward, terminated, truncated, info); info["opp_reward"] is the co-player's."""
        del key  # exact values: the meta-game is deterministic given phi
        r_self, r_opp = exact_value(phi, state.theta, params.game, params.gamma)
        obs = jax.nn.sigmoid(jnp.concatenate([phi, state.theta]))
        theta = co_player_update(state.theta, phi, params)
        t = state.t + 1
        truncated = t >= params.meta_steps
        info = {"opp_reward": r_opp, "opp_theta": state.theta}
        return obs, MetaState(theta=theta, t=t), r_self, jnp.zeros((), bool), truncated, info


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
    """One meta-episode with ``policy_fn(obs) -> phi`` against the learning co-player in ``params``."""
    env = MetaGame.__new__(MetaGame)  # stateless: methods only read params
    obs, state = env.reset(key, params)

    def step(carry, _):
        obs, state = carry
        phi = policy_fn(obs)
        obs, state, r, _, _, info = env.step(None, state, phi, params)
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


def make_train_es(c: MFOSConfig):
    """``train(key) -> ESOutput``: OpenES over the meta-policy; fitness = mean per-step reward over
    ``num_opps`` meta-episodes, with the same co-players for every member (common random numbers)."""
    validate(c)
    net, es = make_es(c)
    game = get_game(c.game)
    learner = "nl" if c.opponent == "self" else c.opponent
    params = MetaParams(game, c.opp_lr, c.opp_eta, c.gamma, learner, c.meta_steps)

    def fitness(p, keys, use_nl):
        pol = lambda o: net.apply(p, o)

        def one(k, nl):
            if c.opponent != "self":
                return rollout(pol, k, params).reward.mean()
            vs_nl = rollout(pol, k, params).reward.mean()
            vs_self = self_play_rollout(pol, pol, k, game, c.gamma, c.meta_steps).reward.mean()
            return jnp.where(nl, vs_nl, vs_self)

        return jax.vmap(one)(keys, use_nl).mean()

    def generation(state, xs):
        k, g = xs
        k_ask, k_opp, k_mix = jax.random.split(k, 3)
        pop, state = es.ask(k_ask, state)
        keys = jax.random.split(k_opp, c.num_opps)
        lam = anneal_lambda(g, c.anneal_rate)
        use_nl = jax.random.uniform(k_mix, (c.num_opps,)) < lam
        f = jax.vmap(fitness, in_axes=(0, None, None))(pop, keys, use_nl)
        mean_f = fitness(es.mean(state), keys, use_nl)
        state = es.tell(state, pop, f)
        return state, (f.mean(), mean_f)

    def train(key):
        state = es.init()
        xs = (jax.random.split(key, c.generations), jnp.arange(c.generations))
        state, (f, mf) = jax.lax.scan(generation, state, xs)
        return ESOutput(es.mean(state), f, mf)

    return train


def evaluate(net, policy_params, c: MFOSConfig, key, opponent: str | None = None) -> Trial:
    """Held-out meta-episodes [eval_opps, T] of the deterministic policy against fresh co-players
    (``opponent="self"``: against a copy of itself)."""
    opponent = opponent or c.opponent
    game = get_game(c.game)
    pol = lambda o: net.apply(policy_params, o)
    keys = jax.random.split(key, c.eval_opps)
    if opponent == "self":
        return jax.vmap(lambda k: self_play_rollout(pol, pol, k, game, c.gamma, c.meta_steps))(keys)
    params = MetaParams(game, c.opp_lr, c.opp_eta, c.gamma, opponent, c.meta_steps)
    return jax.vmap(lambda k: rollout(pol, k, params))(keys)


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


def discounted_returns(rewards, gamma):
    """rewards [T, B] -> Monte-Carlo returns G_t = sum_k gamma^k r_{t+k}, [T, B]."""

    def back(g, r):
        g = r + gamma * g
        return g, g

    _, g = jax.lax.scan(back, jnp.zeros_like(rewards[0]), rewards, reverse=True)
    return g


def ppo_loss(net, c: MFOSConfig):
    def loss_fn(p, b: PPOBatch):
        mean, var, v = net.apply(p, b.obs)
        logp = gaussian_logp(b.action, mean, var)
        adv = b.target - jax.lax.stop_gradient(v)  # the reference: advantage = return - V
        pg, stats = clipped_policy_loss(logp, b.logp, adv, c.clip_eps)
        vf = 0.5 * jnp.mean((v - b.target) ** 2)
        ent = gaussian_entropy(var).mean()
        stats = dict(stats, ratio_mean=jnp.exp(logp - b.logp).mean(), entropy=ent)
        return pg + c.vf_coef * vf - c.entropy_coef * ent, stats

    return loss_fn


def make_train_ppo(c: MFOSConfig):
    """``train(key) -> PPOOutput``: the reference's PPO meta-learner (batch x 100-step meta-episodes,
    K full-batch epochs per iteration, MC returns normalised over the batch)."""
    validate(c)
    if c.opponent == "self":
        raise ValueError(
            "PPO meta-self-play is not implemented; use method='es' for opponent='self'"
        )
    net = MFOSActorCritic(c.hidden)
    params = MetaParams(get_game(c.game), c.opp_lr, c.opp_eta, c.gamma, c.opponent, c.meta_steps)
    env = MetaGame(c)
    loss_fn = ppo_loss(net, c)

    def collect(p, key):
        k_reset, k_act = jax.random.split(key)
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_reset, c.batch), params
        )

        def step(carry, k):
            obs, state = carry
            mean, var, _ = net.apply(p, obs)
            phi = mean + jnp.sqrt(var) * jax.random.normal(k, mean.shape)
            logp = gaussian_logp(phi, mean, var)
            obs2, state, r, _, _, info = jax.vmap(env.step, in_axes=(None, 0, 0, None))(
                None, state, phi, params
            )
            return (obs2, state), (obs, phi, logp, r, info["opp_reward"])

        _, traj = jax.lax.scan(step, (obs, state), jax.random.split(k_act, c.meta_steps))
        return traj

    def iteration(ts, key):
        k_roll, k_upd = jax.random.split(key)
        obs, phi, logp, r, r_opp = collect(ts.params, k_roll)
        g = discounted_returns(r, c.gamma_meta)
        g = (g - g.mean()) / (g.std() + 1e-8)
        flat = lambda x: x.reshape((-1,) + x.shape[2:])
        batch = PPOBatch(flat(obs), flat(phi), flat(logp), flat(g))
        ts, stats = run_epochs(k_upd, ts, batch, loss_fn, c.ppo_epochs, 1)
        return ts, (r.mean(), r_opp.mean(), jax.tree.map(lambda s: s[:, 0], stats))

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


def train_eval_es(c: MFOSConfig, seed: int = 0, num_seeds: int = 3):
    """Train ``num_seeds`` ES meta-learners at once (vmap over seeds) and evaluate each mean policy on
    ``eval_opps`` held-out co-players. Returns (ESOutput with a leading seed axis, Trial [seeds, opps, T])."""
    if num_seeds < 1:
        raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
    validate(c)
    net, _ = make_es(c)
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    out = jax.jit(jax.vmap(make_train_es(c)))(keys)
    eval_keys = jax.vmap(lambda k: jax.random.fold_in(k, 10**6))(keys)  # held out: never trained on
    trials = jax.jit(jax.vmap(lambda p, k: evaluate(net, p, c, k)))(out.params, eval_keys)
    return out, trials
