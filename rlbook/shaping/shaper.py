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
* ``"mfos"``: M-FOS (ES) with the shape of pax's ``ActorCriticMFOS`` (``MFOSNet``): separate meta,
  actor and critic GRUs; the meta GRU emits ``th = sigmoid(Linear(h_meta))`` per environment, and the
  ``th`` of an episode's last step multiplies the actor's (and critic's) GRU features during the next
  episode (``th`` starts at ones). All three GRUs restart at zero every episode: the only context carried
  across episodes is ``th`` (a separate meta-state, where Shaper has one memory). ES has no use for the
  critic; it is kept so the parameter count matches;
* ``"gs"``: Good Shepherd, a memoryless MLP [16, 16] on the current observation (no history, no context).

The environment is any two-player gymnax-style env of ``rlbook.games`` (``iterated`` IPD, ``coin_game``,
``ipditm``); the co-player is a linear softmax policy on its own observation (on the IPD's one-hot
observation this is the tabular memory-one learner). ES is ``rlbook.learners.es.OpenES`` with common
random numbers (every population member meets the same co-players).

``env="ipd_meta"`` is the **exact meta-game** of Chapter 2 (``rlbook.shaping.mfos.MetaGame``): one
"episode" is one exact co-player update (a naive learner on the exact IPD value), the agent's action is
its next memory-one policy (5 logits) and its input is only its own previous policy and reward, never
the co-player's parameters. With no within-episode history to re-identify the co-player from, whatever
the agent knows about it must come from earlier episodes: the regime where carried memory matters.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from rlbook.config import Config, check_choice, check_float, check_int, check_number
from rlbook.games import coin_game, ipditm, iterated
from rlbook.games.matrix import exact_value, get_game
from rlbook.learners.es import OpenES, check_popsize, train_es
from rlbook.rl import categorical_logp, clipped_policy_loss, discounted_returns, train_seeds
from rlbook.shaping import mfos as mfos_lib

AGENTS = ("shaper", "mfos", "gs")
MEMORIES = ("carry", "reset")
ATT_TYPES = ("nothing", "avg")
COPLAYERS = ("reinforce", "ppo")
ENVS = ("ipd", "imp", "coin_game", "ipditm", "ipd_meta")

_TINY = dict(num_envs=2, num_episodes=3, num_steps=4, popsize=4, num_opps=2, generations=2)
_TINY.update(eval_trials=4, hidden=8, num_seeds=2)
_GRID = dict(num_envs=4, coplayer_lr=0.5, coplayer_init_std=0.1, popsize=32, num_opps=2)
_COIN = dict(_GRID, env="coin_game", num_episodes=16, num_steps=16, num_seeds=1)
_IPDITM = dict(_GRID, env="ipditm", grid_size=5, num_coins=2, num_episodes=12, num_steps=48)
# the exact meta-game (Chapter 2's, naive co-player at lr 1): one env, one "step" per co-player update
_META = dict(env="ipd_meta", num_envs=1, num_steps=1, coplayer_lr=1.0, num_episodes=50)


@dataclasses.dataclass(frozen=True)
class ShaperConfig(Config):
    """Shaper's trial and ES settings. Presets: ``tiny`` (seconds); ``book``: the sampled IPD at
    laptop scale (opponent-shaping notes §2.2); ``medium``: 150 generations, 8 seeds;
    ``long``: 300 generations, 3 seeds; ``paper``: pax's
    ``ipd/shaper_v_tabular.yaml``; ``coin_*`` / ``ipditm_*``: reduced grid games (``*_paper``: 3000
    generations); ``meta_*``: the exact meta-game of Chapter 2 (``env="ipd_meta"``)."""

    PRESETS: ClassVar[dict] = {
        "tiny": _TINY,
        "book": dict(num_seeds=5),
        "medium": dict(generations=150, num_seeds=8),
        "long": dict(generations=300, num_seeds=3),
        "paper": dict(num_envs=2, num_episodes=100, num_steps=100, popsize=1000, num_opps=10)
        | dict(sigma=0.04, lr=0.1, generations=5000, num_seeds=5),
        "coin_tiny": dict(_TINY, env="coin_game", num_episodes=2, eval_trials=2, num_seeds=1),
        "coin_book": dict(_COIN, generations=60),
        "coin_paper": dict(_COIN, generations=3000),
        "ipditm_book": dict(_IPDITM, generations=40, num_seeds=1),
        "ipditm_paper": dict(_IPDITM, generations=3000, num_seeds=1),
        "meta_tiny": dict(_TINY, **_META | dict(num_episodes=6)),
        "meta_book": dict(_META, popsize=64, num_opps=8, generations=200, num_seeds=5),
    }

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
    update_epochs: int = 2  # the co-player's clipped-ratio epochs per episode (ppo only)
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
    num_seeds: int = 5  # seeds trained at once (vmap) by the experiment

    def validate(self) -> None:
        """Raise ``ValueError`` naming the parameter and its allowed values (before jit)."""
        check_choice("env", self.env, ENVS)
        check_choice("agent", self.agent, AGENTS)
        check_choice("memory", self.memory, MEMORIES)
        check_choice("att_type", self.att_type, ATT_TYPES)
        check_choice("coplayer", self.coplayer, COPLAYERS)
        check_int(self, "hidden", "num_envs", "num_episodes", "num_steps", "update_epochs")
        check_int(self, "num_opps", "generations", "eval_trials", "num_coins", "num_seeds")
        check_int(self, "grid_size", lo=3)
        check_popsize(self.popsize)
        check_float(self, "beta", "gamma", lo=0.0, hi=1.0)
        check_float(self, "coplayer_lr", "sigma", "lr", lo=0.0, lo_open=True)
        check_float(self, "coplayer_init_std", lo=0.0)
        check_float(self, "coplayer_clip", lo=0.0, hi=1.0, lo_open=True, hi_open=True)


def validate(c: ShaperConfig) -> None:
    """Kept for callers of the first version: a config validates itself at construction."""
    c.validate()


# ----------------------------------------------------------------------------- environments


class EnvSpec(NamedTuple):
    reset: Any  # reset(key, params) -> (obs, state) of an ``rlbook.rl.env.Environment``
    step: Any  # step(key, state, action, params), with auto-reset
    params: Any
    obs_dim: int
    num_actions: int


def make_env(c: ShaperConfig) -> EnvSpec:
    """The env's functions and sizes; ``ipd_meta``: input [sigmoid(own phi), own reward], action = 5 logits."""
    if c.env == "ipd_meta":
        return EnvSpec(None, None, meta_params(c), 6, 5)
    if c.env in ("ipd", "imp"):
        env = iterated.IteratedMatrixGame(c.env, c.num_steps)
        return EnvSpec(env.reset, env.step, env.default_params, 5, 2)
    if c.env == "coin_game":
        env = coin_game.CoinGame(size=c.grid_size, num_steps=c.num_steps)
        return EnvSpec(env.reset, env.step, env.default_params, c.grid_size**2 * 4, 5)
    env = ipditm.IPDitM(size=c.grid_size, view=3, num_coins=c.num_coins, num_steps=c.num_steps)
    p = env.default_params
    return EnvSpec(env.reset, env.step, p, p.obs_dim, 5)


# ----------------------------------------------------------------------------- agents


def batch_average(h: jax.Array, beta: float) -> jax.Array:
    """Shaper's batched hidden-state averaging: ``(1 - beta) h + beta mean_E(h)`` over the env axis 0."""
    return (1.0 - beta) * h + beta * h.mean(0, keepdims=True)


class MFOSNet(nn.Module):
    """pax's ``ActorCriticMFOS`` shape: ``h = [h_meta, h_actor, h_critic, th_now]`` ([..., 4H]); each GRU
    has its own input layer; the actor's and critic's GRU features are multiplied by the context ``th``
    (the previous episode's last ``th_now``); ``th_now = sigmoid(Linear(meta GRU))``. Returns
    (new h, logits); the critic's value is computed as in pax but unused by ES."""

    hidden: int
    num_actions: int

    @nn.compact
    def __call__(self, h, obs, th):
        H = self.hidden
        h_t, h_a, h_v = h[..., :H], h[..., H : 2 * H], h[..., 2 * H : 3 * H]
        h_a, y_a = nn.GRUCell(H, name="actor")(h_a, nn.Dense(H, name="actor_in")(obs))
        logits = nn.Dense(self.num_actions, use_bias=False, name="logits")(th * y_a)
        h_v, y_v = nn.GRUCell(H, name="critic")(h_v, nn.Dense(H, name="critic_in")(obs))
        _value = nn.Dense(1, use_bias=False, name="value")(th * y_v)
        h_t, y_t = nn.GRUCell(H, name="meta")(h_t, nn.Dense(H, name="meta_in")(obs))
        th_now = jax.nn.sigmoid(nn.Dense(H, name="meta_out")(y_t))
        return jnp.concatenate([h_t, h_a, h_v, th_now], -1), logits


class Agent(nn.Module):
    """``kind="gru"``: GRU -> logits (Shaper); ``"mfos"``: ``MFOSNet``; ``"gs"``: MLP (no memory)."""

    kind: str
    hidden: int
    num_actions: int

    @nn.compact
    def __call__(self, h, obs, ctx):
        if self.kind == "gs":
            x = nn.tanh(nn.Dense(16)(obs))
            x = nn.tanh(nn.Dense(16)(x))
            return h, nn.Dense(self.num_actions)(x)
        if self.kind == "mfos":
            return MFOSNet(self.hidden, self.num_actions)(h, obs, ctx)
        h, y = nn.GRUCell(self.hidden)(h, obs)
        return h, nn.Dense(self.num_actions)(y)


def make_agent(c: ShaperConfig, spec: EnvSpec) -> Agent:
    kind = {"shaper": "gru", "mfos": "mfos", "gs": "gs"}[c.agent]
    return Agent(kind=kind, hidden=c.hidden, num_actions=spec.num_actions)


def memory_width(c: ShaperConfig) -> int:
    """Width of the agent's carried state ``h``: ``4 * hidden`` for M-FOS (meta, actor, critic, th)."""
    return 4 * c.hidden if c.agent == "mfos" else c.hidden


def initial_context(c: ShaperConfig, num_envs: int) -> jax.Array:
    """M-FOS's ``th`` before the first episode: ones, as pax (unused by the other agents)."""
    return jnp.ones((num_envs, c.hidden))


def init_params(c: ShaperConfig, key) -> Any:
    spec = make_env(c)
    net = make_agent(c, spec)
    h = jnp.zeros((1, memory_width(c)))
    return net.init(key, h, jnp.zeros((1, spec.obs_dim)), initial_context(c, 1))


# ----------------------------------------------------------------------------- co-player


def coplayer_logp(w, obs, actions):
    """log pi(a | obs) for the linear softmax co-player ``w = (W[obs_dim, A], b[A])``."""
    return categorical_logp(obs @ w[0] + w[1], actions)


def coplayer_update(w, obs, actions, rewards, c: ShaperConfig):
    """One learning step on one episode (``obs`` [L, E, D], ``actions`` [L, E], its own ``rewards``
    [L, E]): discounted returns-to-go, batch-mean baseline per step, then REINFORCE ascent or
    ``update_epochs`` steps on PPO's clipped surrogate (``rlbook.rl.clipped_policy_loss``)."""
    g = discounted_returns(rewards, c.gamma)
    adv = g - g.mean(1, keepdims=True)
    if c.coplayer == "reinforce":

        def objective(w):
            return (coplayer_logp(w, obs, actions) * adv).sum(0).mean()

        grad = jax.grad(objective)(w)
        return jax.tree_util.tree_map(lambda p, d: p + c.coplayer_lr * d / obs.shape[0], w, grad)
    old = coplayer_logp(w, obs, actions)

    def surrogate_loss(w):  # mean over (L, E): the sum over steps / L of the first version
        return clipped_policy_loss(coplayer_logp(w, obs, actions), old, adv, c.coplayer_clip)[0]

    def epoch(w, _):
        d = jax.grad(surrogate_loss)(w)
        return jax.tree_util.tree_map(lambda p, g_: p - c.coplayer_lr * g_, w, d), None

    return jax.lax.scan(epoch, w, None, length=c.update_epochs)[0]


def coplayer_init(key, c: ShaperConfig, spec: EnvSpec):
    w = c.coplayer_init_std * jax.random.normal(key, (spec.obs_dim, spec.num_actions))
    return (w, jnp.zeros(spec.num_actions))


def coplayer_logits(w, obs):
    return obs @ w[0] + w[1]


# ----------------------------------------------------------------------------- trial


class TrialOut(NamedTuple):
    reward: jax.Array  # f32[K, 2]: per-step mean reward per episode (agent, co-player)
    h_start: jax.Array  # f32[K, E, H]: hidden state entering each episode
    h_end: jax.Array  # f32[K, E, H]: hidden state leaving each episode
    coplayer: Any  # co-player parameters after each update, leaves [K, ...]


class StepCarry(NamedTuple):
    h: jax.Array  # f32[E, H] the agent's memory
    obs: jax.Array  # f32[E, 2, D]
    state: Any  # env states, leaves [E, ...]


class StepOut(NamedTuple):
    obs: jax.Array  # f32[E, 2, D] the observation acted on
    a1: jax.Array  # int[E] seat 1's action
    a2: jax.Array  # int[E] the co-player's action
    reward: jax.Array  # f32[E, 2]
    state: Any  # env states (only when recording, else None)


class EpisodeCarry(NamedTuple):
    w: Any  # the co-player's parameters
    h: jax.Array  # f32[E, H] the agent's memory
    ctx: jax.Array  # f32[E, H] M-FOS (ES)'s meta-state th of the previous episode (ones at first)


def play_episode(key, spec: EnvSpec, c: ShaperConfig, act1, w2, h, record: bool = False):
    """One inner episode in ``c.num_envs`` envs: seat 1 plays ``act1(h, obs1) -> (h, logits)``, seat 2
    the linear co-player ``w2``. Returns (final memory, StepOut with leaves [L, ...])."""
    E = c.num_envs
    k_reset, k_steps = jax.random.split(key)
    obs, state = jax.vmap(spec.reset, (0, None))(jax.random.split(k_reset, E), spec.params)

    def inner(carry: StepCarry, kt):
        h, logits = act1(carry.h, carry.obs[:, 0])
        ka, kb, ks = jax.random.split(kt, 3)
        a1 = jax.random.categorical(ka, logits)
        a2 = jax.random.categorical(kb, coplayer_logits(w2, carry.obs[:, 1]))
        action = jnp.stack([a1, a2], -1).astype(jnp.int32)
        obs2, state2, r, _, _, _ = jax.vmap(spec.step, (0, 0, 0, None))(
            jax.random.split(ks, E), carry.state, action, spec.params
        )
        out = StepOut(carry.obs, a1, a2, r, carry.state if record else None)
        return StepCarry(h, obs2, state2), out

    carry, out = jax.lax.scan(
        inner, StepCarry(h, obs, state), jax.random.split(k_steps, c.num_steps)
    )
    return carry.h, out


def agent_act(params, h, obs1, ctx, net: nn.Module, c: ShaperConfig):
    """The agent's move: batch-average the memory (``att_type="avg"``), then the network."""
    if c.att_type == "avg":
        h = batch_average(h, c.beta)
    return net.apply(params, h, obs1, ctx)


def trial_episode(carry: EpisodeCarry, key, params, net, spec, c: ShaperConfig, record: bool):
    """One episode of a trial and the co-player's update after it."""
    carry_memory = c.agent == "shaper" and c.memory == "carry"
    h_start = carry.h if carry_memory else jnp.zeros_like(carry.h)
    act1 = partial(agent_act, params, ctx=carry.ctx, net=net, c=c)
    h, out = play_episode(key, spec, c, act1, carry.w, h_start, record)
    w_new = coplayer_update(carry.w, out.obs[:, :, 1], out.a2, out.reward[..., 1], c)
    ctx_new = h[:, 3 * c.hidden :] if c.agent == "mfos" else carry.ctx  # pax: th of the last step
    ys = TrialOut(out.reward.mean((0, 1)), h_start, h, w_new)
    return EpisodeCarry(w_new, h, ctx_new), (ys, out.state)


def run_trial(params, key, c: ShaperConfig, spec: EnvSpec, net: nn.Module, record: bool = False):
    """One trial: a fresh co-player, ``num_episodes`` episodes. Returns (TrialOut, recorded states)."""
    k_init, k_run = jax.random.split(key)
    zeros = jnp.zeros((c.num_envs, memory_width(c)))
    carry = EpisodeCarry(coplayer_init(k_init, c, spec), zeros, initial_context(c, c.num_envs))
    episode = partial(trial_episode, params=params, net=net, spec=spec, c=c, record=record)
    _, (res, states) = jax.lax.scan(episode, carry, jax.random.split(k_run, c.num_episodes))
    return res, states


# ----------------------------------------------------------------------------- the exact meta-game


def meta_params(c: ShaperConfig) -> mfos_lib.MetaParams:
    """Chapter 2's meta-game for ``env="ipd_meta"``: exact IPD, a naive co-player at ``coplayer_lr``."""
    return mfos_lib.MetaParams(get_game("ipd"), c.coplayer_lr, 1.0, c.gamma, "nl", c.num_episodes)


class MetaCarry(NamedTuple):
    theta: jax.Array  # f32[5] the co-player's logits (hidden from the agent)
    h: jax.Array  # f32[1, W] the agent's memory
    ctx: jax.Array  # f32[1, H] M-FOS (ES)'s th
    x: jax.Array  # f32[1, 6] the agent's input: sigmoid(its last policy), its last reward


def meta_episode(carry: MetaCarry, _, params, net, c: ShaperConfig, mp: mfos_lib.MetaParams):
    """One meta-step: the agent picks its memory-one policy phi from its own last policy and reward;
    both get their exact per-step value; the co-player takes its exact naive-learning step."""
    carry_memory = c.agent == "shaper" and c.memory == "carry"
    h_start = carry.h if carry_memory else jnp.zeros_like(carry.h)
    h, phi = agent_act(params, h_start, carry.x, carry.ctx, net, c)
    r1, r2 = exact_value(phi[0], carry.theta, mp.game, mp.gamma)
    theta = mfos_lib.co_player_update(carry.theta, phi[0], mp)
    ctx = h[:, 3 * c.hidden :] if c.agent == "mfos" else carry.ctx
    x = jnp.concatenate([jax.nn.sigmoid(phi), r1.reshape(1, 1)], -1)
    return MetaCarry(theta, h, ctx, x), TrialOut(jnp.stack([r1, r2]), h_start, h, theta)


def run_meta_trial(params, key, c: ShaperConfig, spec: EnvSpec, net: nn.Module):
    """One meta-episode of the exact meta-game (``mfos.MetaGame.reset``: random co-player and first
    policy, the warm-up update). Returns (TrialOut with leaves [K, ...], None)."""
    obs, state = mfos_lib.META_GAME.reset(key, spec.params)
    x0 = jnp.concatenate([obs[:5], jnp.zeros(1)])[None]
    carry = MetaCarry(state.theta, jnp.zeros((1, memory_width(c))), initial_context(c, 1), x0)
    step = partial(meta_episode, params=params, net=net, c=c, mp=spec.params)
    _, res = jax.lax.scan(step, carry, None, length=c.num_episodes)
    return res, None


def make_trial(c: ShaperConfig, record: bool = False):
    """``trial(params, key) -> TrialOut`` for config ``c`` (pure; jit and vmap it).

    With ``record=True`` it also returns the env states of every step (leaves [K, L, E, ...]) for replays.
    """
    spec = make_env(c)
    net = make_agent(c, spec)

    def trial(params, key):
        if c.env == "ipd_meta":
            return run_meta_trial(params, key, c, spec, net)[0]
        res, states = run_trial(params, key, c, spec, net, record)
        return (res, states) if record else res

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


def opponent_keys(keys, generation, c: ShaperConfig):
    """The generation's co-players: ``num_opps`` trial keys shared by every member (common random numbers)."""
    del generation
    return jax.random.split(keys[0], c.num_opps)


def make_train(c: ShaperConfig):
    """``train(key) -> TrainOut``: ES on the trial fitness (common random numbers), then evaluation of
    the mean parameters on ``eval_trials`` held-out co-players. Pure: jit it, vmap it over seeds."""
    fitness = make_fitness(c)
    trial = make_trial(c)

    def train(key):
        k_init, k_gen, k_eval = jax.random.split(key, 3)
        es, template = make_es(c, k_init)
        trials = partial(opponent_keys, c=c)
        state, curve = train_es(es, es.init(template), k_gen, c.generations, trials, fitness)
        params = es.mean(state)
        ev = jax.vmap(lambda k: trial(params, k).reward)(jax.random.split(k_eval, c.eval_trials))
        return TrainOut(params, curve.fitness, ev)

    return train


def train_many(c: ShaperConfig, seed: int, num_seeds: int | None = None) -> TrainOut:
    """``make_train(c)`` for ``num_seeds`` (default ``c.num_seeds``) seeds as one vmapped call."""
    return train_seeds(make_train(c), seed, c.num_seeds if num_seeds is None else num_seeds)


def evaluate(c: ShaperConfig, params, key, num_trials: int | None = None) -> jax.Array:
    """f32[num_trials, K, 2]: per-episode rewards of ``params`` against fresh co-players."""
    trial = make_trial(c)
    n = c.eval_trials if num_trials is None else num_trials
    check_number("num_trials", n, 1, None, integer=True)
    return jax.jit(jax.vmap(lambda k: trial(params, k).reward))(jax.random.split(key, n))


def playtime_reset(c: ShaperConfig, params, key, num_trials: int | None = None):
    """The play-time reset diagnostic: the same trained weights (leaves [seeds, ...]) against the same
    co-players (one key for every seed), memory carried vs zeroed at every episode start.
    Returns (carried, reset), each f32[seeds, num_trials, K, 2], paired trial by trial."""
    n = c.eval_trials if num_trials is None else num_trials
    check_number("num_trials", n, 1, None, integer=True)
    keys = jax.random.split(key, n)

    def play(cfg):
        trial = make_trial(cfg)
        per_seed = lambda p: jax.vmap(lambda k: trial(p, k).reward)(keys)
        return jax.jit(jax.vmap(per_seed))(params)

    return play(dataclasses.replace(c, memory="carry")), play(
        dataclasses.replace(c, memory="reset")
    )


def params_from_lists(c: ShaperConfig, stored) -> Any:
    """Parameters stored as nested lists (a ``data/`` file) back into ``init_params(c)``'s pytree."""
    template = init_params(c, jax.random.key(0))
    return jax.tree_util.tree_map(lambda t, v: jnp.asarray(v, t.dtype), template, stored)


def naive_episode(carry, key, spec: EnvSpec, c: ShaperConfig):
    """Both seats are linear co-players; each updates on its own reward after the episode."""
    w1, w2 = carry
    act1 = lambda h, obs1: (h, coplayer_logits(w1, obs1))
    _, out = play_episode(key, spec, c, act1, w2, jnp.zeros((c.num_envs, 1)))
    w1 = coplayer_update(w1, out.obs[:, :, 0], out.a1, out.reward[..., 0], c)
    w2 = coplayer_update(w2, out.obs[:, :, 1], out.a2, out.reward[..., 1], c)
    return (w1, w2), out.reward.mean((0, 1))


def naive_baseline(c: ShaperConfig, key, num_trials: int = 64) -> jax.Array:
    """f32[num_trials, K, 2]: two co-players of the same kind learning against each other (NL-NL),
    the 'no shaping' reference: the agent seat is a learner too."""
    check_number("num_trials", num_trials, 1, None, integer=True)
    if c.env == "ipd_meta":
        raise ValueError("env must be a sampled game for naive_baseline, got 'ipd_meta'")
    spec = make_env(c)
    episode = partial(naive_episode, spec=spec, c=c)

    def trial(key):
        k1, k2, k_run = jax.random.split(key, 3)
        w = (coplayer_init(k1, c, spec), coplayer_init(k2, c, spec))
        return jax.lax.scan(episode, w, jax.random.split(k_run, c.num_episodes))[1]

    return jax.jit(jax.vmap(trial))(jax.random.split(key, num_trials))


def coplayer_p_cooperate(w) -> jax.Array:
    """IPD only: the co-player's P(C | s) over [start, CC, CD, DC, DD] from its weights (leaves [..])."""
    return jax.nn.softmax(w[0] + w[1][..., None, :], -1)[..., 0]
