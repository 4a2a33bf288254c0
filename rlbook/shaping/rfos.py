"""R-FOS: opponent shaping as a tabular meta-MDP, learned with R-max (Fung, Zhang, Lu, Wan, Willi, Foerster).

M-FOS's meta-MDP has continuous states (both players' policies). R-FOS makes it tabular so that R-max
can be run on it: the meta-state is either a window of the last ``h`` joint actions (|S| = 4^h, "Case
II") or the opponent's Q-table rounded to a grid ("Case I"); the meta-action is the agent's next inner
action; the meta-learner is R-max, which treats every (s, a) pair seen fewer than ``m`` times as
maximally rewarding, so that planning drives exploration. Neither meta-state is Markov (a window
forgets older actions, a grid cell lumps different Q-tables), so R-max's PAC guarantee, which is proved
for an MDP, does not carry over as such; ``history_policy_value``, ``full_information_value`` and
``suboptimal_steps`` measure what the learner actually reaches.

The inner game is one-round matching pennies (the agent is the *matcher*: reward 1 if the actions are
equal, else 0; the opponent gets 1 - r) played ``episode_len`` times per meta-episode against a bandit
Q-learner: ``Q(b) <- (1 - lr) Q(b) + lr r2``, greedy with probability ``opp_greedy`` (random tie-break),
uniform otherwise, ``Q`` initialised to 0.5.

Everything is batched: ``num_envs`` meta-episodes run in parallel with the current R-max policy, then
their transitions update one shared count model (in a fixed order, so that each pair keeps exactly its
first ``m`` samples), then R-max re-plans. ``make_train(config) -> train(key)`` runs the whole loop as one
``lax.scan``.

Deviations from the reference code (rmaxmfos), each a flag that restores the reference behaviour:
- the opponent's Q-table is reset at every meta-episode (R-max assumes a stationary meta-MDP); the
  reference keeps it as a class attribute that is never reset (``persist_opp_q=True``);
- next states whose value is still the optimistic Q0 take part in the backup as in standard R-max; the
  reference masks them out (``mask_unknown_next=True``);
- actions are greedy in Q with a random tie-break, as R-max prescribes; the reference samples from a
  Boltzmann distribution over Q / 0.25 (``boltzmann_temp=0.25``);
- the reference updates counts one transition at a time; we collect ``num_envs`` meta-episodes with a
  fixed policy, then update (a batched R-max, the same model once all pairs are known);
- m is rounded to the nearest integer; the reference truncates it (one lower at two table settings).
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.rl.env import Environment, spaces

# Inner games over joint states [(0,0), (0,1), (1,0), (1,1)] = 2 * agent + opponent; rewards in [0, 1].
INNER_GAMES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # matching pennies, the agent matches (the R-FOS paper and code)
    "mp": ((1.0, 0.0, 0.0, 1.0), (0.0, 1.0, 1.0, 0.0)),
    # prisoner's dilemma (0 = C): the book's IPD payoffs shifted and scaled into [0, 1]
    "pd": ((2 / 3, 0.0, 1.0, 1 / 3), (2 / 3, 1.0, 0.0, 1 / 3)),
}
META_STATES = ("history", "qtable")


@dataclasses.dataclass(frozen=True)
class RFOSConfig(Config):
    """R-FOS settings. ``epsilon``, ``delta``, ``gamma`` and ``r_max`` fix R-max's constants (``m``, Q0 and
    the number of value-iteration sweeps) as in the reference; ``num_episodes=None`` uses its budget of
    ``8 * m * |S|`` meta-episodes. Presets: ``tiny`` (seconds), ``book`` (epsilon 0.5, CPU seconds),
    ``medium`` (more envs), ``paper`` (the reference's epsilon 0.2, many more envs)."""

    PRESETS: ClassVar[dict] = {
        "tiny": {"epsilon": 0.5, "num_envs": 64, "num_episodes": 256, "eval_envs": 256},
        "book": {"epsilon": 0.5, "num_envs": 512},
        "medium": {"epsilon": 0.5, "num_envs": 4096},
        "paper": {"epsilon": 0.2, "num_envs": 8192},
    }

    game: str = "mp"
    meta_state: str = "history"
    h: int = 1
    radius: float = 0.25
    epsilon: float = 0.5
    delta: float = 0.2
    gamma: float = 0.8
    r_max: float = 1.0
    episode_len: int = 10
    num_envs: int = 512
    num_episodes: int | None = None
    opp_lr: float = 0.75
    opp_greedy: float = 0.9
    opp_q_init: float = 0.5
    persist_opp_q: bool = False
    mask_unknown_next: bool = False
    boltzmann_temp: float = 0.0
    vi_iters: int | None = None
    eval_envs: int = 4096

    def validate(self) -> None:
        """Raise ``ValueError`` naming the parameter and its allowed range (called outside jit)."""
        check_choice("game", self.game, sorted(INNER_GAMES))
        check_choice("meta_state", self.meta_state, META_STATES)
        check_int(self, "h", hi=6 if self.meta_state == "history" else None)
        check_float(self, "radius", lo=0.0, hi=1.0, lo_open=True)
        check_float(self, "epsilon", "delta", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        check_float(self, "gamma", lo=0.0, hi=1.0, hi_open=True)
        check_float(self, "r_max", "opp_lr", lo=0.0, lo_open=True)
        check_float(self, "opp_lr", hi=1.0)
        check_float(self, "opp_greedy", "opp_q_init", lo=0.0, hi=1.0)
        check_float(self, "boltzmann_temp", lo=0.0)
        check_int(self, "episode_len", "num_envs", "eval_envs")
        for name in ("num_episodes", "vi_iters"):  # None: the reference's budget / sweeps
            if getattr(self, name) is not None:
                check_int(self, name)

    @property
    def num_states(self) -> int:
        if self.meta_state == "history":
            return 4**self.h
        return num_bins(self.radius) ** 2

    @property
    def num_actions(self) -> int:
        return 2

    @property
    def m(self) -> int:
        return known_threshold(self.num_states, self.epsilon, self.delta, self.gamma)

    @property
    def sweeps(self) -> int:
        return self.vi_iters if self.vi_iters is not None else vi_sweeps(self.epsilon, self.gamma)

    @property
    def episodes(self) -> int:
        if self.num_episodes is not None:
            return self.num_episodes
        return 8 * self.m * self.num_states

    @property
    def num_batches(self) -> int:
        return -(-self.episodes // self.num_envs)


def validate(c: RFOSConfig) -> None:
    """Kept for callers of the first version: a config validates itself at construction."""
    c.validate()


# --------------------------------------------------------------------------------------------------
# R-max's constants and the PAC bound
# --------------------------------------------------------------------------------------------------


def _check_constants(epsilon: float, delta: float, gamma: float) -> None:
    if not 0.0 < epsilon < 1.0:
        raise ValueError(f"epsilon must lie in (0, 1), got {epsilon}")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"gamma must lie in [0, 1), got {gamma}")


def known_threshold(num_states: int, epsilon: float, delta: float, gamma: float) -> int:
    """Visits after which a pair is *known*: m = |S| ln(1/delta) / (epsilon (1 - gamma))^2, rounded to the
    nearest integer (644 for |S| = 4, 2575 for 16 at epsilon 0.5, gamma 0.8). The reference code truncates
    with ``int(...)``, which is one lower where the fraction is >= 0.5 (643 and 64377 at h = 1, eps 0.5
    and h = 3, eps 0.2); a conservative reading of the theorem would round up."""
    _check_constants(epsilon, delta, gamma)
    if num_states < 1:
        raise ValueError(f"num_states must be >= 1, got {num_states}")
    return max(1, round(num_states * math.log(1.0 / delta) / (epsilon * (1.0 - gamma)) ** 2))


def vi_sweeps(epsilon: float, gamma: float) -> int:
    """Value-iteration sweeps for an epsilon-accurate plan: floor(ln(1 / (epsilon (1 - gamma))) / (1 - gamma))."""
    _check_constants(epsilon, 0.5, gamma)
    return max(1, math.floor(math.log(1.0 / (epsilon * (1.0 - gamma))) / (1.0 - gamma)))


def pac_bound(
    num_states: int, num_actions: int, epsilon: float, delta: float, gamma: float
) -> float:
    """Number of non-epsilon-optimal steps R-max may take with probability >= 1 - delta, up to constants
    and log factors: |S|^2 |A| ln(1/delta) / (epsilon^3 (1 - gamma)^6) (Strehl, Li & Littman, 2009).

    R-FOS's theorem has this shape with |S| the number of discretised meta-states, which is itself
    exponential in the inner game's size and the number of agents; only ratios of this function are
    meaningful (the constant is not given). It counts steps of an algorithm run with the theorem's m
    (``theorem_m``) on a Markov model, neither of which holds at the book's constants."""
    _check_constants(epsilon, delta, gamma)
    return num_states**2 * num_actions * math.log(1.0 / delta) / (epsilon**3 * (1.0 - gamma) ** 6)


def theorem_m(
    num_states: int, num_actions: int, epsilon: float, delta: float, gamma: float
) -> float:
    """The visits per pair that Strehl, Li & Littman's (2009) R-max analysis needs, without its constant:
    (|S| + ln(|S||A| / delta)) / (epsilon^2 (1 - gamma)^4). This is *not* the code's ``known_threshold``
    (|S| ln(1/delta) / (epsilon (1 - gamma))^2: a square instead of a fourth power of 1/(1 - gamma), and
    ln(1/delta) multiplying |S| instead of adding to it); the guarantee holds only for m of this order
    times a constant, and only on a Markov model."""
    _check_constants(epsilon, delta, gamma)
    return (num_states + math.log(num_states * num_actions / delta)) / (
        epsilon**2 * (1.0 - gamma) ** 4
    )


def num_bins(radius: float) -> int:
    """Grid points of a Q-value in [0, 1] rounded to multiples of ``radius``."""
    return int(round(1.0 / radius)) + 1


def meta_state_count(n_agents: int, inner_states: int, inner_actions: int, bins: int) -> float:
    """|S| of the discretised meta-MDP when every agent's Q-table (inner states x actions) is rounded to
    ``bins`` values: bins^(n |S| |A|), the source of the bound's exponential dependence."""
    return float(bins) ** (n_agents * inner_states * inner_actions)


# --------------------------------------------------------------------------------------------------
# The inner game and the meta-MDP
# --------------------------------------------------------------------------------------------------


class EnvState(NamedTuple):
    hist: jax.Array  # int32[h]: last h joint states, most recent first
    opp_q: jax.Array  # f32[2]: the opponent's Q-values
    t: jax.Array  # int32[]: inner episodes played in this meta-episode


@struct.dataclass
class MetaMDPParams:
    """The meta-MDP's rules, from an ``RFOSConfig`` (``mdp_params``); all static."""

    game: str = struct.field(pytree_node=False, default="mp")
    meta_state: str = struct.field(pytree_node=False, default="history")
    h: int = struct.field(pytree_node=False, default=1)
    radius: float = struct.field(pytree_node=False, default=0.25)
    episode_len: int = struct.field(pytree_node=False, default=10)
    opp_lr: float = struct.field(pytree_node=False, default=0.75)
    opp_greedy: float = struct.field(pytree_node=False, default=0.9)
    opp_q_init: float = struct.field(pytree_node=False, default=0.5)


def mdp_params(c: RFOSConfig) -> MetaMDPParams:
    names = [f.name for f in dataclasses.fields(MetaMDPParams)]
    return MetaMDPParams(**{n: getattr(c, n) for n in names})


def meta_state(state: EnvState, c: RFOSConfig | MetaMDPParams) -> jax.Array:
    """Index of the tabular meta-state: base-4 history code, or the rounded Q-table's grid cell."""
    if c.meta_state == "history":
        return jnp.sum(state.hist * (4 ** jnp.arange(c.h))).astype(jnp.int32)
    bins = num_bins(c.radius)
    cell = jnp.clip(jnp.round(state.opp_q / c.radius), 0, bins - 1).astype(jnp.int32)
    return cell[0] * bins + cell[1]


def opponent_action(key: jax.Array, opp_q: jax.Array, greedy_prob: float) -> jax.Array:
    """Epsilon-greedy bandit learner: argmax Q with a random tie-break w.p. ``greedy_prob``, else uniform."""
    k_explore, k_tie, k_uniform = jax.random.split(key, 3)
    best = opp_q == opp_q.max()
    greedy = jax.random.categorical(k_tie, jnp.where(best, 0.0, -jnp.inf))
    uniform = jax.random.randint(k_uniform, (), 0, 2)
    return jnp.where(jax.random.uniform(k_explore) < greedy_prob, greedy, uniform)


class MetaMDP(Environment):
    """R-FOS's tabular meta-MDP on the book's env protocol: observation = meta-state index, action =
    the agent's next inner action, reward = its inner reward; ``episode_len`` inner episodes."""

    @property
    def default_params(self) -> MetaMDPParams:
        return mdp_params(RFOSConfig())

    def reset_env(self, key: jax.Array, params: MetaMDPParams):
        """A new meta-episode: random history (as the reference), a fresh opponent."""
        hist = jax.random.randint(key, (params.h,), 0, 4)
        opp_q = jnp.full((2,), params.opp_q_init, jnp.float32)
        state = EnvState(hist=hist, opp_q=opp_q, t=jnp.zeros((), jnp.int32))
        return meta_state(state, params), state

    def step_env(self, key: jax.Array, state: EnvState, action: jax.Array, params: MetaMDPParams):
        """One inner episode (one round); ``info["opp_reward"]`` is the opponent's reward."""
        r1_table, r2_table = (jnp.asarray(r, jnp.float32) for r in INNER_GAMES[params.game])
        b = opponent_action(key, state.opp_q, params.opp_greedy)
        joint = 2 * action + b
        r1, r2 = r1_table[joint], r2_table[joint]
        q_b = (1.0 - params.opp_lr) * state.opp_q[b] + params.opp_lr * r2
        hist = jnp.concatenate([joint[None], state.hist[:-1]]).astype(jnp.int32)
        nxt = EnvState(hist=hist, opp_q=state.opp_q.at[b].set(q_b), t=state.t + 1)
        truncated = nxt.t >= params.episode_len
        return meta_state(nxt, params), nxt, r1, jnp.bool_(False), truncated, {"opp_reward": r2}

    def action_space(self, params=None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def observation_space(self, params=None) -> spaces.Discrete:
        p = self.default_params if params is None else params
        return spaces.Discrete(4**p.h if p.meta_state == "history" else num_bins(p.radius) ** 2)


META_MDP = MetaMDP()


# --------------------------------------------------------------------------------------------------
# R-max: a shared count model, batched observation, masked value iteration
# --------------------------------------------------------------------------------------------------


class RmaxModel(NamedTuple):
    counts: jax.Array  # f32[S, A]   samples kept per pair (frozen at m)
    reward_sum: jax.Array  # f32[S, A]
    trans: jax.Array  # f32[S, A, S] next-state counts
    q: jax.Array  # f32[S, A]   current optimistic action values


def rmax_init(num_states: int, num_actions: int, r_max: float, gamma: float) -> RmaxModel:
    q0 = r_max / (1.0 - gamma)
    return RmaxModel(
        counts=jnp.zeros((num_states, num_actions)),
        reward_sum=jnp.zeros((num_states, num_actions)),
        trans=jnp.zeros((num_states, num_actions, num_states)),
        q=jnp.full((num_states, num_actions), q0),
    )


def rmax_observe(
    model: RmaxModel, s: jax.Array, a: jax.Array, r: jax.Array, s2: jax.Array, m: int
) -> RmaxModel:
    """Add a batch of transitions (flat arrays, in order). A pair keeps exactly its first ``m`` samples.

    Vectorised: a sample's rank within its pair is a cumulative sum of one-hots over the batch, so the
    result equals a loop that visits the samples one by one (tested)."""
    num_states, num_actions = model.counts.shape
    pair = s * num_actions + a
    onehot = jax.nn.one_hot(pair, num_states * num_actions, dtype=jnp.int32)
    rank = jnp.take_along_axis(jnp.cumsum(onehot, axis=0), pair[:, None], axis=1)[:, 0]  # 1-based
    already = model.counts.reshape(-1)[pair]
    keep = (already + rank <= m).astype(jnp.float32)
    counts = model.counts + (onehot * keep[:, None]).sum(0).reshape(num_states, num_actions)
    reward_sum = (
        model.reward_sum.reshape(-1).at[pair].add(keep * r).reshape(num_states, num_actions)
    )
    trans = model.trans.at[s, a, s2].add(keep)
    return model._replace(counts=counts, reward_sum=reward_sum, trans=trans)


def rmax_plan(
    model: RmaxModel,
    m: int,
    r_max: float,
    gamma: float,
    sweeps: int,
    mask_unknown_next: bool = False,
) -> RmaxModel:
    """Value iteration on the empirical model of the *known* pairs; unknown pairs keep Q0 = r_max / (1 - gamma).

    Starts from Q0 everywhere, so the plan depends only on the known part of the model. The backup uses
    V(s') = max_a Q(s', a) as textbook R-max does (unknown actions count with Q0), or, with
    ``mask_unknown_next`` (the reference code), the max over the *known* actions of s' only, and 0 when
    s' has no known action. (The reference masks entries equal to Q0, which are the unknown ones once
    the known ones have been backed up.)"""
    q0 = r_max / (1.0 - gamma)
    known = model.counts >= m
    n = jnp.maximum(model.counts, 1.0)
    r_hat = model.reward_sum / n
    p_hat = model.trans / n[..., None]

    def sweep(q, _):
        if mask_unknown_next:  # the reference: max over the known actions of s', 0 if none is known
            v = jnp.where(known, q, -jnp.inf).max(axis=1)
            v = jnp.where(known.any(axis=1), v, 0.0)
        else:
            v = q.max(axis=1)
        return jnp.where(known, r_hat + gamma * p_hat @ v, q0), None

    q, _ = jax.lax.scan(sweep, jnp.full_like(model.q, q0), None, length=sweeps)
    return model._replace(q=q)


def select_action(key: jax.Array, q_row: jax.Array, temp: float) -> jax.Array:
    """Greedy in Q with a random tie-break (``temp == 0``), or Boltzmann over Q / temp."""
    if temp > 0:
        return jax.random.categorical(key, q_row / temp)
    return jax.random.categorical(key, jnp.where(q_row >= q_row.max() - 1e-6, 0.0, -jnp.inf))


# --------------------------------------------------------------------------------------------------
# Rollouts and training
# --------------------------------------------------------------------------------------------------


def rollout(key, q_table, opp_q, c: RFOSConfig, policy_fn=None):
    """``num`` parallel meta-episodes (``opp_q``: f32[num, 2]) with the tabular policy ``q_table``, or with
    ``policy_fn(key, s) -> action`` when given. Returns (s, a, r, s2) each [T, num] and the final opp Q.

    Exactly ``episode_len`` steps of ``step_env`` from a reset whose opponent is ``opp_q`` (the
    reference's persisting opponent), so no auto-reset is needed."""
    num = opp_q.shape[0]
    params = mdp_params(c)
    k_reset, k_run = jax.random.split(key)

    def start(k, q):
        return META_MDP.reset_env(k, params)[1]._replace(opp_q=q)

    states = jax.vmap(start)(jax.random.split(k_reset, num), opp_q)

    def one(state, k):
        k_act, k_env = jax.random.split(k)
        s = meta_state(state, params)
        if policy_fn is None:
            a = select_action(k_act, q_table[s], c.boltzmann_temp)
        else:
            a = policy_fn(k_act, s)
        s2, state2, r, _, _, _ = META_MDP.step_env(k_env, state, a, params)
        return state2, (s, a, r, s2)

    def step(states, k):
        return jax.vmap(one)(states, jax.random.split(k, num))

    final, (s, a, r, s2) = jax.lax.scan(step, states, jax.random.split(k_run, c.episode_len))
    return (s, a, r, s2), final.opp_q


class TrainMetrics(NamedTuple):
    reward: jax.Array  # [batches] mean per-step reward of the batch's meta-episodes
    known: jax.Array  # [batches] known (s, a) pairs after the batch
    episodes: jax.Array  # [batches] meta-episodes played so far


class TrainOutput(NamedTuple):
    model: RmaxModel
    metrics: TrainMetrics
    final_reward: jax.Array  # greedy evaluation of the final policy, per-step
    policy: jax.Array  # int32[S]: greedy meta-action per meta-state (ties -> 0)


class BatchCarry(NamedTuple):
    model: RmaxModel
    opp_q: jax.Array  # f32[num_envs, 2]: the opponents each batch starts from


def train_batch(carry: BatchCarry, xs, c: RFOSConfig) -> tuple[BatchCarry, TrainMetrics]:
    """One batch: ``num_envs`` meta-episodes with the current plan, then observe and re-plan."""
    k, i = xs
    model = carry.model
    (s, a, r, s2), opp_final = rollout(k, model.q, carry.opp_q, c)
    model = rmax_observe(model, s.reshape(-1), a.reshape(-1), r.reshape(-1), s2.reshape(-1), c.m)
    model = rmax_plan(model, c.m, c.r_max, c.gamma, c.sweeps, c.mask_unknown_next)
    opp_q = opp_final if c.persist_opp_q else carry.opp_q
    known = jnp.sum(model.counts >= c.m)
    return BatchCarry(model, opp_q), TrainMetrics(r.mean(), known, (i + 1) * c.num_envs)


def make_train(c: RFOSConfig):
    """Build ``train(key) -> TrainOutput`` for one R-FOS run (vmap it over keys for seeds)."""
    q_init = jnp.full((c.num_envs, 2), c.opp_q_init, jnp.float32)
    batch = partial(train_batch, c=c)

    def train(key):
        k_train, k_eval = jax.random.split(key)
        model = rmax_init(c.num_states, c.num_actions, c.r_max, c.gamma)
        keys = jax.random.split(k_train, c.num_batches)
        carry, metrics = jax.lax.scan(
            batch, BatchCarry(model, q_init), (keys, jnp.arange(c.num_batches))
        )
        model = carry.model
        greedy = c.replace(boltzmann_temp=0.0)
        eval_q = jnp.full((c.eval_envs, 2), c.opp_q_init, jnp.float32)
        (_, _, r, _), _ = rollout(k_eval, model.q, eval_q, greedy)
        return TrainOutput(model, metrics, r.mean(), jnp.argmax(model.q, axis=1))

    return train


def memoryless_reward(key: jax.Array, c: RFOSConfig, p_first: jax.Array) -> jax.Array:
    """Per-step reward of a memoryless policy that plays action 0 with probability ``p_first``."""
    opp_q = jnp.full((c.eval_envs, 2), c.opp_q_init, jnp.float32)

    def policy(k, s):
        return (jax.random.uniform(k) >= p_first).astype(jnp.int32)

    (_, _, r, _), _ = rollout(key, None, opp_q, c, policy_fn=policy)
    return r.mean()


def best_memoryless_reward(key: jax.Array, c: RFOSConfig, grid: int = 21) -> tuple[float, float]:
    """The best memoryless policy on a grid of P(action 0): (best reward, its probability)."""
    ps = jnp.linspace(0.0, 1.0, grid)
    rewards = jax.jit(jax.vmap(lambda p: memoryless_reward(key, c, p)))(ps)
    i = int(jnp.argmax(rewards))
    return float(rewards[i]), float(ps[i])


def episodes_to_known(metrics: TrainMetrics, num_pairs: int) -> int:
    """Meta-episodes played when every (s, a) pair had become known (-1 if never)."""
    known = np.asarray(metrics.known)
    hit = np.nonzero(known >= num_pairs)[0]
    return int(np.asarray(metrics.episodes)[hit[0]]) if hit.size else -1


# --------------------------------------------------------------------------------------------------
# Exact reference values (numpy, float64): what a policy earns, and the best any agent can earn
# --------------------------------------------------------------------------------------------------


def _opp_p0(opp_q: np.ndarray, greedy: float) -> np.ndarray:
    """P(opponent plays 0) for Q-tables ``opp_q`` [..., 2]: greedy w.p. ``greedy`` (ties split), else uniform."""
    best0 = (opp_q[..., 0] > opp_q[..., 1]) + 0.5 * (opp_q[..., 0] == opp_q[..., 1])
    return greedy * best0 + (1.0 - greedy) * 0.5


def _opp_update(opp_q: np.ndarray, b: np.ndarray, r2: np.ndarray, lr: float) -> np.ndarray:
    out = opp_q.copy()
    rows = np.arange(len(b))
    out[rows, b] = (1.0 - lr) * opp_q[rows, b] + lr * r2
    return out


def history_policy_value(policy, c: RFOSConfig) -> float:
    """Exact expected reward per round of a deterministic history policy ``policy`` (int[4^h]) over one
    meta-episode from a fresh opponent and a uniformly random initial history (as ``reset_env``).

    Enumerates every initial history and every sequence of opponent actions (4^h 2^T paths); the
    opponent's Q-values are dyadic fractions, so its ties are found exactly."""
    if c.meta_state != "history":
        raise ValueError(
            f"meta_state must be 'history' for history_policy_value, got {c.meta_state!r}"
        )
    policy = np.asarray(policy, dtype=np.int64)
    if policy.shape != (c.num_states,):
        raise ValueError(f"policy must have shape ({c.num_states},), got {policy.shape}")
    r1, r2 = (np.asarray(r, np.float64) for r in INNER_GAMES[c.game])
    T, h = c.episode_len, c.h
    starts = np.arange(4**h)
    hist = (starts[:, None] // 4 ** np.arange(h)) % 4  # [4^h, h], most recent first
    seqs = (np.arange(2**T)[:, None] >> np.arange(T)) & 1  # [2^T, T] opponent actions
    hist = np.repeat(hist, 2**T, axis=0)
    b_all = np.tile(seqs, (4**h, 1))
    n = len(hist)
    opp_q = np.full((n, 2), c.opp_q_init)
    prob = np.full(n, 1.0 / 4**h)
    total = np.zeros(n)
    for t in range(T):
        a = policy[(hist * 4 ** np.arange(h)).sum(1)]
        b = b_all[:, t]
        p0 = _opp_p0(opp_q, c.opp_greedy)
        prob = prob * np.where(b == 0, p0, 1.0 - p0)
        joint = 2 * a + b
        total += r1[joint]
        opp_q = _opp_update(opp_q, b, r2[joint], c.opp_lr)
        hist = np.concatenate([joint[:, None], hist[:, :-1]], axis=1)
    return float((prob * total).sum() / T)


def best_history_policy(c: RFOSConfig) -> tuple[float, np.ndarray]:
    """The best deterministic history policy by exhaustive search: (reward per round, policy).

    Only for |S| <= 4 (h = 1: 16 policies); h = 2 would have 65,536."""
    if c.meta_state != "history" or c.num_states > 4:
        raise ValueError(f"best_history_policy needs meta_state='history' and h=1, got h={c.h}")
    pols = (np.arange(2**c.num_states)[:, None] >> np.arange(c.num_states)) & 1
    values = np.array([history_policy_value(p, c) for p in pols])
    i = int(np.argmax(values))
    return float(values[i]), pols[i]


def full_information_value(c: RFOSConfig) -> float:
    """The best expected reward per round of *any* agent over one meta-episode from a fresh opponent,
    by backward induction over the full game tree (the agent sees the opponent's Q-table, which the whole
    history since the reset determines): the optimum of the Markov meta-MDP. No window policy can
    beat it; the gap to the best window policy is the price of the window's aliasing."""
    r1, r2 = (np.asarray(r, np.float64) for r in INNER_GAMES[c.game])
    T = c.episode_len
    levels = [
        np.full((1, 2), c.opp_q_init)
    ]  # opponent Q-tables at each depth, children = 4 i + 2a + b
    for _ in range(T - 1):
        q = np.repeat(levels[-1], 4, axis=0)
        joint = np.tile(np.arange(4), len(levels[-1]))
        levels.append(_opp_update(q, joint % 2, r2[joint], c.opp_lr))
    v_next = np.zeros(4**T)
    for q in reversed(levels):
        p0 = _opp_p0(q, c.opp_greedy)
        pb = np.stack([p0, 1.0 - p0], axis=1)[:, None, :]  # [n, 1, b]
        v = (pb * (r1.reshape(2, 2)[None] + v_next.reshape(-1, 2, 2))).sum(-1)  # [n, a]
        v_next = v.max(axis=1)
    return float(v_next[0] / T)


def suboptimal_steps(metrics: TrainMetrics, reference: float, threshold: float, episode_len: int):
    """Meta-steps (inner rounds) played while the policy in force earned more than ``threshold`` per
    round below ``reference``: the sample-complexity count of PAC-MDP analysis, with each batch's mean
    reward as the estimate of its policy's value. Returns (count, total meta-steps played)."""
    episodes = np.asarray(metrics.episodes)
    played = np.diff(np.concatenate([[0], episodes])) * episode_len
    bad = np.asarray(metrics.reward) < reference - threshold
    return int(played[bad].sum()), int(played.sum())
