"""Shaper (Khan, Willi et al., AAMAS 2024): opponent shaping with one recurrent memory, trained with ES.

A **trial** is one fresh learning co-player and ``num_envs`` parallel games. The co-player plays
``num_episodes`` inner episodes of ``num_steps`` steps and updates its policy after every episode
(REINFORCE or a PPO-style clipped step on its own rewards only). The agent is a GRU whose hidden state
``h`` is **carried across the inner episodes** (``memory="carry"``): within an episode it holds the game's
history, across episodes the context of how the co-player has been learning. ES maximises the agent's
mean reward over the whole trial (so it is rewarded for *shaping* the learner, not for one episode).

    trial(params, key):                       # one fresh co-player, E envs
      learner <- init; h <- 0[E, H]
      for k in 1..K:  obs <- start;  (memory="reset": h <- 0)
        for t in 1..L:  h <- (1 - beta) h + beta mean_E(h)      (att_type="avg")
                        logits, h <- GRU(params, obs, h); play vs learner
        learner <- update(learner, episode k)
      return mean agent reward over (K, L, E)

Baselines in the same harness (``agent=``):

* ``"shaper"``: the GRU above (``memory="carry"``; ``memory="reset"`` is the ablation);
* ``"mfos"``: M-FOS (ES) as in pax's ``mfos`` agents: the GRU is reset every episode and the only thing
  carried is ``th = sigmoid(mean_E h_end)`` of the previous episode, fed as an extra input (a separate
  meta-state, where Shaper has one memory);
* ``"gs"``: Good Shepherd, a memoryless MLP [16, 16] on the current observation (no history, no context).

The environment is any two-player gymnax-style env of ``rlbook.games`` (``iterated`` IPD, ``coin_game``,
``ipditm``); the co-player is a linear softmax policy on its own observation (on the IPD's one-hot
observation this is the tabular memory-one learner). ES is ``rlbook.learners.es.OpenES`` with common
random numbers (every population member meets the same co-players).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from rlbook.games import coin_game, ipditm, iterated
from rlbook.learners.es import OpenES

AGENTS = ("shaper", "mfos", "gs")
MEMORIES = ("carry", "reset")
ATT_TYPES = ("nothing", "avg")
COPLAYERS = ("reinforce", "ppo")
ENVS = ("ipd", "imp", "coin_game", "ipditm")


@dataclasses.dataclass(frozen=True)
class ShaperConfig:
    env: str = "ipd"
    agent: str = "shaper"
    memory: str = "carry"
    att_type: str = "nothing"
    beta: float = 0.5  # averaging weight for att_type="avg" (pax: 0.5)
    hidden: int = 16
    num_envs: int = 4
    num_episodes: int = 16  # co-player updates per trial (pax: num_outer_steps)
    num_steps: int = 32  # steps per inner episode (pax: num_inner_steps)
    coplayer: str = "reinforce"
    coplayer_lr: float = 2.0
    coplayer_init_std: float = 1.0
    coplayer_epochs: int = 2  # ppo only
    coplayer_clip: float = 0.2  # ppo only
    gamma: float = 0.96  # co-player's return discount
    popsize: int = 64
    num_opps: int = 4
    sigma: float = 0.05
    lr: float = 0.03
    generations: int = 60
    eval_trials: int = 64
    grid_size: int = 3  # coin_game / ipditm
    num_coins: int = 2  # ipditm

    @classmethod
    def preset(cls, name: str, **overrides) -> ShaperConfig:
        """``book``: the sampled IPD at laptop scale (opponent-shaping notes §2.2); ``paper``: pax's
        ``ipd/shaper_v_tabular.yaml``; ``coin_book`` / ``ipditm_book``: reduced grid games."""
        presets = {
            "book": {},
            "paper": dict(
                num_envs=2,
                num_episodes=100,
                num_steps=100,
                popsize=1000,
                num_opps=10,
                sigma=0.04,
                lr=0.1,
                generations=5000,
            ),
            "coin_book": dict(
                env="coin_game",
                num_envs=4,
                num_episodes=16,
                num_steps=16,
                coplayer_lr=0.5,
                coplayer_init_std=0.1,
                generations=60,
                popsize=32,
                num_opps=2,
            ),
            "ipditm_book": dict(
                env="ipditm",
                grid_size=5,
                num_coins=2,
                num_envs=4,
                num_episodes=12,
                num_steps=48,
                coplayer_lr=0.5,
                coplayer_init_std=0.1,
                generations=40,
                popsize=32,
                num_opps=2,
            ),
        }
        if name not in presets:
            raise ValueError(f"preset must be one of {tuple(presets)}, got {name!r}")
        cfg = cls(**{**presets[name], **overrides})
        validate(cfg)
        return cfg


def validate(c: ShaperConfig) -> None:
    """Raise ``ValueError`` naming the parameter and its allowed values (call before jit)."""
    choices = {
        "env": ENVS,
        "agent": AGENTS,
        "memory": MEMORIES,
        "att_type": ATT_TYPES,
        "coplayer": COPLAYERS,
    }
    for name, allowed in choices.items():
        if getattr(c, name) not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {getattr(c, name)!r}")
    for name in ("hidden", "num_envs", "num_episodes", "num_steps", "num_opps", "generations"):
        if int(getattr(c, name)) < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {getattr(c, name)}")
    if c.eval_trials < 1:
        raise ValueError(f"eval_trials must be >= 1, got {c.eval_trials}")
    if not 0.0 <= c.beta <= 1.0:
        raise ValueError(f"beta must lie in [0, 1], got {c.beta}")
    if not 0.0 <= c.gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {c.gamma}")
    if c.coplayer_lr <= 0:
        raise ValueError(f"coplayer_lr must be > 0, got {c.coplayer_lr}")
    if c.coplayer_init_std < 0:
        raise ValueError(f"coplayer_init_std must be >= 0, got {c.coplayer_init_std}")
    if c.popsize < 2 or c.popsize % 2:
        raise ValueError(f"popsize must be an even integer >= 2, got {c.popsize}")
    if c.sigma <= 0 or c.lr <= 0:
        raise ValueError(f"sigma and lr must be > 0, got sigma={c.sigma}, lr={c.lr}")
    if c.env in ("coin_game", "ipditm") and c.grid_size < 3:
        raise ValueError(f"grid_size must be >= 3, got {c.grid_size}")


# ----------------------------------------------------------------------------- environments


class EnvSpec(NamedTuple):
    reset: Any
    step: Any
    params: Any
    obs_dim: int
    num_actions: int


def make_env(c: ShaperConfig) -> EnvSpec:
    if c.env in ("ipd", "imp"):
        p = iterated.default_params(c.env, c.num_steps)
        return EnvSpec(iterated.reset, iterated.step, p, 5, 2)
    if c.env == "coin_game":
        p = coin_game.default_params(size=c.grid_size, num_steps=c.num_steps)
        return EnvSpec(coin_game.reset, coin_game.step, p, c.grid_size**2 * 4, 5)
    p = ipditm.default_params(
        size=c.grid_size, view=3, num_coins=c.num_coins, num_steps=c.num_steps
    )
    return EnvSpec(ipditm.reset, ipditm.step, p, p.obs_dim, 5)


# ----------------------------------------------------------------------------- agents


def batch_average(h: jax.Array, beta: float) -> jax.Array:
    """Shaper's batched hidden-state averaging: ``(1 - beta) h + beta mean_E(h)`` over the env axis 0."""
    return (1.0 - beta) * h + beta * h.mean(0, keepdims=True)


class Agent(nn.Module):
    """``kind="gru"``: GRU -> logits (Shaper); ``"mfos"``: GRU on [obs, th] -> logits; ``"gs"``: MLP."""

    kind: str
    hidden: int
    num_actions: int

    @nn.compact
    def __call__(self, h, obs, ctx):
        if self.kind == "gs":
            x = nn.tanh(nn.Dense(16)(obs))
            x = nn.tanh(nn.Dense(16)(x))
            return h, nn.Dense(self.num_actions)(x)
        x = jnp.concatenate([obs, ctx], -1) if self.kind == "mfos" else obs
        h, y = nn.GRUCell(self.hidden)(h, x)
        return h, nn.Dense(self.num_actions)(y)


def make_agent(c: ShaperConfig, spec: EnvSpec) -> Agent:
    kind = {"shaper": "gru", "mfos": "mfos", "gs": "gs"}[c.agent]
    return Agent(kind=kind, hidden=c.hidden, num_actions=spec.num_actions)


def init_params(c: ShaperConfig, key) -> Any:
    spec = make_env(c)
    net = make_agent(c, spec)
    h = jnp.zeros((1, c.hidden))
    return net.init(key, h, jnp.zeros((1, spec.obs_dim)), jnp.zeros((1, c.hidden)))


# ----------------------------------------------------------------------------- co-player


def coplayer_logp(w, obs, actions):
    """log pi(a | obs) for the linear softmax co-player ``w = (W[obs_dim, A], b[A])``."""
    logits = obs @ w[0] + w[1]
    return jnp.take_along_axis(jax.nn.log_softmax(logits), actions[..., None], -1)[..., 0]


def coplayer_update(w, obs, actions, rewards, c: ShaperConfig):
    """One learning step on one episode (``obs`` [L, E, D], ``actions`` [L, E], its own ``rewards``
    [L, E]): discounted returns-to-go, batch-mean baseline per step, then REINFORCE ascent or
    ``coplayer_epochs`` clipped-ratio (PPO) steps."""

    def rtg(carry, r):
        g = r + c.gamma * carry
        return g, g

    _, g = jax.lax.scan(rtg, jnp.zeros_like(rewards[0]), rewards[::-1])
    g = g[::-1]
    adv = g - g.mean(1, keepdims=True)
    if c.coplayer == "reinforce":

        def objective(w):
            return (coplayer_logp(w, obs, actions) * adv).sum(0).mean()

        grad = jax.grad(objective)(w)
        return jax.tree_util.tree_map(lambda p, d: p + c.coplayer_lr * d / obs.shape[0], w, grad)
    old = coplayer_logp(w, obs, actions)

    def surrogate(w):
        ratio = jnp.exp(coplayer_logp(w, obs, actions) - old)
        clipped = jnp.clip(ratio, 1 - c.coplayer_clip, 1 + c.coplayer_clip)
        return jnp.minimum(ratio * adv, clipped * adv).sum(0).mean()

    def epoch(w, _):
        d = jax.grad(surrogate)(w)
        return jax.tree_util.tree_map(
            lambda p, g_: p + c.coplayer_lr * g_ / obs.shape[0], w, d
        ), None

    return jax.lax.scan(epoch, w, None, length=c.coplayer_epochs)[0]


def coplayer_init(key, c: ShaperConfig, spec: EnvSpec):
    w = c.coplayer_init_std * jax.random.normal(key, (spec.obs_dim, spec.num_actions))
    return (w, jnp.zeros(spec.num_actions))


# ----------------------------------------------------------------------------- trial


class TrialOut(NamedTuple):
    reward: jax.Array  # f32[K, 2]: per-step mean reward per episode (agent, co-player)
    h_start: jax.Array  # f32[K, E, H]: hidden state entering each episode
    h_end: jax.Array  # f32[K, E, H]: hidden state leaving each episode
    coplayer: Any  # co-player parameters after each update, leaves [K, ...]


def make_trial(c: ShaperConfig, record: bool = False):
    """``trial(params, key) -> TrialOut`` for config ``c`` (pure; jit and vmap it).

    With ``record=True`` it also returns the env states of every step (leaves [K, L, E, ...]) for replays.
    """
    validate(c)
    spec = make_env(c)
    net = make_agent(c, spec)
    E, H = c.num_envs, c.hidden
    carry_memory = c.agent == "shaper" and c.memory == "carry"

    def trial(params, key):
        k_init, k_run = jax.random.split(key)
        w = coplayer_init(k_init, c, spec)

        def episode(carry, kk):
            w, h, ctx = carry
            h = h if carry_memory else jnp.zeros_like(h)
            h_start = h
            k_reset, k_steps = jax.random.split(kk)
            obs, state = jax.vmap(spec.reset, (0, None))(jax.random.split(k_reset, E), spec.params)

            def inner(carry, kt):
                h, obs, state = carry
                if c.att_type == "avg":
                    h = batch_average(h, c.beta)
                h, logits = net.apply(params, h, obs[:, 0], ctx)
                ka, kb, ks = jax.random.split(kt, 3)
                a1 = jax.random.categorical(ka, logits)
                a2 = jax.random.categorical(kb, obs[:, 1] @ w[0] + w[1])
                action = jnp.stack([a1, a2], -1).astype(jnp.int32)
                obs2, state2, r, _, _, _ = jax.vmap(spec.step, (0, 0, 0, None))(
                    jax.random.split(ks, E), state, action, spec.params
                )
                out = (obs[:, 1], a2, r) + ((state,) if record else ())
                return (h, obs2, state2), out

            (h, _, _), out = jax.lax.scan(
                inner, (h, obs, state), jax.random.split(k_steps, c.num_steps)
            )
            o2, a2, r = out[:3]
            w_new = coplayer_update(w, o2, a2, r[..., 1], c)
            ctx_new = jnp.broadcast_to(jax.nn.sigmoid(h.mean(0, keepdims=True)), h.shape)
            ys = (r.mean((0, 1)), h_start, h, w_new) + ((out[3],) if record else ())
            return (w_new, h, ctx_new), ys

        zeros = jnp.zeros((E, H))
        _, ys = jax.lax.scan(episode, (w, zeros, zeros), jax.random.split(k_run, c.num_episodes))
        res = TrialOut(*ys[:4])
        return (res, ys[4]) if record else res

    return trial


def make_fitness(c: ShaperConfig):
    """``fitness(params, keys) -> f32[]``: the agent's mean reward over ``keys`` trials."""
    trial = make_trial(c)

    def fitness(params, keys):
        return jax.vmap(lambda k: trial(params, k).reward[:, 0].mean())(keys).mean()

    return fitness


# ----------------------------------------------------------------------------- ES training


class TrainOut(NamedTuple):
    params: Any  # the ES mean after training
    fitness: jax.Array  # f32[generations]: mean population fitness per generation
    eval_reward: jax.Array  # f32[eval_trials, K, 2]: the mean policy on held-out trials


def make_es(c: ShaperConfig, key) -> tuple[OpenES, Any]:
    template = init_params(c, key)
    return OpenES(template, popsize=c.popsize, sigma=c.sigma, lr=c.lr), template


def make_train(c: ShaperConfig):
    """``train(key) -> TrainOut``: ES on the trial fitness (common random numbers), then evaluation of
    the mean parameters on ``eval_trials`` held-out co-players. Pure: jit it, vmap it over seeds."""
    validate(c)
    fitness = make_fitness(c)
    trial = make_trial(c)

    def train(key):
        k_init, k_gen, k_eval = jax.random.split(key, 3)
        es, template = make_es(c, k_init)
        state = es.init(template)

        def gen(state, kg):
            k_ask, k_opp = jax.random.split(kg)
            pop, state = es.ask(k_ask, state)
            opp_keys = jax.random.split(k_opp, c.num_opps)  # common random numbers
            f = jax.vmap(lambda p: fitness(p, opp_keys))(pop)
            return es.tell(state, pop, f), f.mean()

        state, curve = jax.lax.scan(gen, state, jax.random.split(k_gen, c.generations))
        params = es.mean(state)
        ev = jax.vmap(lambda k: trial(params, k).reward)(jax.random.split(k_eval, c.eval_trials))
        return TrainOut(params, curve, ev)

    return train


def evaluate(c: ShaperConfig, params, key, num_trials: int | None = None) -> jax.Array:
    """f32[num_trials, K, 2]: per-episode rewards of ``params`` against fresh co-players."""
    trial = make_trial(c)
    n = c.eval_trials if num_trials is None else int(num_trials)
    if n < 1:
        raise ValueError(f"num_trials must be >= 1, got {num_trials}")
    return jax.jit(jax.vmap(lambda k: trial(params, k).reward))(jax.random.split(key, n))


def naive_baseline(c: ShaperConfig, key, num_trials: int = 64) -> jax.Array:
    """f32[num_trials, K, 2]: two co-players of the same kind learning against each other (NL-NL),
    the 'no shaping' reference: the agent seat is a learner too."""
    spec = make_env(c)
    E = c.num_envs

    def trial(key):
        k1, k2, k_run = jax.random.split(key, 3)
        w1, w2 = coplayer_init(k1, c, spec), coplayer_init(k2, c, spec)

        def episode(carry, kk):
            w1, w2 = carry
            k_reset, k_steps = jax.random.split(kk)
            obs, state = jax.vmap(spec.reset, (0, None))(jax.random.split(k_reset, E), spec.params)

            def inner(carry, kt):
                obs, state = carry
                ka, kb, ks = jax.random.split(kt, 3)
                a1 = jax.random.categorical(ka, obs[:, 0] @ w1[0] + w1[1])
                a2 = jax.random.categorical(kb, obs[:, 1] @ w2[0] + w2[1])
                action = jnp.stack([a1, a2], -1).astype(jnp.int32)
                obs2, state2, r, _, _, _ = jax.vmap(spec.step, (0, 0, 0, None))(
                    jax.random.split(ks, E), state, action, spec.params
                )
                return (obs2, state2), (obs, a1, a2, r)

            _, (o, a1, a2, r) = jax.lax.scan(
                inner, (obs, state), jax.random.split(k_steps, c.num_steps)
            )
            w1 = coplayer_update(w1, o[:, :, 0], a1, r[..., 0], c)
            w2 = coplayer_update(w2, o[:, :, 1], a2, r[..., 1], c)
            return (w1, w2), r.mean((0, 1))

        return jax.lax.scan(episode, (w1, w2), jax.random.split(k_run, c.num_episodes))[1]

    return jax.jit(jax.vmap(trial))(jax.random.split(key, num_trials))


def coplayer_p_cooperate(w) -> jax.Array:
    """IPD only: the co-player's P(C | s) over [start, CC, CD, DC, DD] from its weights (leaves [..])."""
    return jax.nn.softmax(w[0] + w[1][..., None, :], -1)[..., 0]
