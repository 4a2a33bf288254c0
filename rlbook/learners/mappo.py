"""Recurrent IPPO and MAPPO for SMAX-style multi-agent envs (PureJaxRL style: ``make_train(cfg)(key)``).

Both share one actor (parameters shared by all agents): Dense-ReLU -> GRU -> Dense-ReLU -> logits, with
unavailable actions masked to -1e10. IPPO's critic is a second head on the same trunk, fed the agent's own
observation; MAPPO's critic is a separate GRU network fed the (normalised) ``world_state`` plus a one-hot
agent id. Actors are the A x NUM_ENVS (agent, env) pairs, stacked agent-major. GAE is cut by the *global*
done; minibatches are whole actor sequences, replayed from the rollout-start hidden state.

Differences from JaxMARL's baselines (deliberate):
* the GRU is reset when the agent dies *or* the episode ends (jaxmarl resets only on the per-agent done,
  so surviving agents carry hidden state into the next episode); ``rnn_reset="agent"`` reproduces jaxmarl;
* a win is ``infos["won"]`` (jaxmarl infers it from a reward >= 1);
* MAPPO uses one Adam over {actor, critic} with a global gradient clip (jaxmarl: two optimisers); its critic
  sees positions / 32 and cooldowns clipped to [-1, 2] (``world_state`` itself is unnormalised).

Each piece (``env_step``, ``loss``, ``update``, ``evaluate``) is a top-level function of
``(config, nets, env)``; the shared PPO maths (GAE, clipped losses, categorical helpers, the epoch loop,
the lr schedule, episode statistics) is ``rlbook.rl``.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization, struct
from flax.training.train_state import TrainState

from rlbook import rl
from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.envs.smax import SCENARIOS, HeuristicEnemySMAX
from rlbook.envs.smax.heuristic import ATTACK_MODES

ALGOS = ("ippo", "mappo")
RNN_RESETS = ("agent_or_episode", "agent")
# per-algorithm hyperparameters of the presets (JaxMARL's SMAX yaml files)
ALGO_DEFAULTS = {
    "ippo": dict(lr=0.004, clip_eps=0.05, ent_coef=0.01),
    "mappo": dict(lr=0.002, clip_eps=0.2, ent_coef=0.0),
}


@dataclasses.dataclass(frozen=True)
class MAPPOConfig(Config):
    """``preset(name, algo=...)``: ``tiny`` (smoke tests, seconds); ``book``: 3m, 0.3M steps, 64-unit
    networks (a couple of CPU minutes); ``medium``: 1M steps, the run stored in data/; ``paper``: JaxMARL's
    yaml sizes (128 envs x 128 steps, 128 units, 1e7 steps). ``algo`` also picks lr / clip / entropy."""

    PRESETS: ClassVar[dict] = {
        "tiny": dict(num_envs=4, num_steps=8, total_timesteps=64, fc_dim=8, gru_dim=8, eval_envs=2),
        "book": dict(num_envs=64, num_steps=128, total_timesteps=300_000, fc_dim=64, gru_dim=64),
        "medium": dict(
            num_envs=64, num_steps=128, total_timesteps=1_000_000, fc_dim=64, gru_dim=64
        ),
        "paper": dict(num_envs=128, num_steps=128, total_timesteps=10_000_000),
    }

    scenario: str = "3m"
    algo: str = "ippo"  # "ippo" | "mappo"
    num_envs: int = 64
    num_steps: int = 128
    total_timesteps: int = 500_000
    lr: float = 0.004
    anneal_lr: bool = True
    update_epochs: int = 4
    num_minibatches: int = 4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.05
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.25
    fc_dim: int = 128
    gru_dim: int = 128
    rnn_reset: str = "agent_or_episode"  # or "agent" (jaxmarl)
    eval_envs: int = 64
    attack_mode: str = "closest"

    @property
    def num_updates(self) -> int:
        return max(1, self.total_timesteps // (self.num_envs * self.num_steps))

    def validate(self) -> None:
        check_choice("algo", self.algo, ALGOS)
        check_choice("scenario", self.scenario, sorted(SCENARIOS))
        check_choice("rnn_reset", self.rnn_reset, RNN_RESETS)
        check_choice("attack_mode", self.attack_mode, ATTACK_MODES)
        check_int(self, "num_envs", "num_steps", "total_timesteps", "update_epochs")
        check_int(self, "num_minibatches", "fc_dim", "gru_dim", "eval_envs")
        check_float(self, "lr", "clip_eps", "max_grad_norm", lo=0.0, lo_open=True)
        check_float(self, "gamma", "gae_lambda", lo=0.0, hi=1.0)
        check_float(self, "ent_coef", "vf_coef", lo=0.0)
        actors = SCENARIOS[self.scenario].num_allies * self.num_envs
        if actors % self.num_minibatches:
            raise ValueError(
                f"num_minibatches={self.num_minibatches} must divide the {actors} actors "
                f"(allies x num_envs)"
            )

    @classmethod
    def preset(cls, name: str, algo: str = "ippo", **overrides) -> MAPPOConfig:
        """The sizes of preset ``name`` with ``algo``'s hyperparameters, then ``overrides``."""
        check_choice("algo", algo, ALGOS)
        return super().preset(name, algo=algo, **{**ALGO_DEFAULTS[algo], **overrides})


class GRU(nn.Module):
    """A GRU scanned over time, reset to zeros where ``resets`` is 1 (before the step's input)."""

    dim: int

    @nn.compact
    def __call__(self, h, x, resets):
        cell = nn.GRUCell(features=self.dim)

        def step(cell, h, xs):
            xt, rt = xs
            h = jnp.where(rt[:, None], jnp.zeros_like(h), h)
            h, y = cell(h, xt)
            return h, y

        scan = nn.scan(step, variable_broadcast="params", split_rngs={"params": False})
        return scan(cell, h, (x, resets))


def _dense(n, scale):
    return nn.Dense(
        n, kernel_init=nn.initializers.orthogonal(scale), bias_init=nn.initializers.zeros
    )


class RecurrentActorCritic(nn.Module):
    """[T, B, obs] -> (logits [T, B, n_act], value [T, B] or None)."""

    n_actions: int
    fc: int
    gru: int
    with_value: bool = True

    @nn.compact
    def __call__(self, h, obs, resets, avail):
        x = nn.relu(_dense(self.fc, np.sqrt(2))(obs))
        h, x = GRU(self.gru)(h, x, resets)
        a = nn.relu(_dense(self.fc, 2.0)(x))
        logits = _dense(self.n_actions, 0.01)(a)
        logits = jnp.where(avail > 0, logits, -1e10)
        value = None
        if self.with_value:
            v = nn.relu(_dense(self.fc, 2.0)(x))
            value = _dense(1, 1.0)(v)[..., 0]
        return h, logits, value


class RecurrentCritic(nn.Module):
    fc: int
    gru: int

    @nn.compact
    def __call__(self, h, x, resets):
        x = nn.relu(_dense(self.fc, np.sqrt(2))(x))
        h, x = GRU(self.gru)(h, x, resets)
        v = nn.relu(_dense(self.fc, 2.0)(x))
        return h, _dense(1, 1.0)(v)[..., 0]


class Nets(NamedTuple):
    """The shared actor (with IPPO's value head) and MAPPO's centralised critic (unused by IPPO)."""

    actor: RecurrentActorCritic
    critic: RecurrentCritic


class Transition(NamedTuple):
    obs: jax.Array  # [A*E, obs] agent-major
    cin: jax.Array  # critic input (normalised world state + agent id)
    avail: jax.Array
    resets: jax.Array  # GRU resets before this step
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array  # global done, tiled over agents
    ep_done: jax.Array  # [E] episode ended at this step
    ep_won: jax.Array
    ep_ret: jax.Array  # return of the episode that ended, 0 elsewhere


class SequenceBatch(NamedTuple):
    """One update's data, actors on the leading axis (``run_epochs`` shuffles it), time second."""

    h0: jax.Array  # [actors, 2, H]: actor and critic GRU states at the rollout start
    obs: jax.Array
    cin: jax.Array
    avail: jax.Array
    resets: jax.Array
    action: jax.Array
    logp: jax.Array
    value: jax.Array
    adv: jax.Array
    targets: jax.Array


class RunnerState(NamedTuple):
    train_state: TrainState
    env_state: Any
    obs: dict
    h: tuple[jax.Array, jax.Array]  # (actor, critic) GRU states, [A*E, H] each
    resets: jax.Array
    episode_returns: jax.Array  # [E] running return of the team (agent 0's reward)
    key: jax.Array


class EvalCarry(NamedTuple):
    obs: dict
    env_state: Any
    h: jax.Array
    resets: jax.Array
    finished: jax.Array
    won: jax.Array
    ret: jax.Array


@struct.dataclass
class MAPPOOutput(rl.TrainOutput):
    """``TrainOutput`` plus the greedy evaluation after training (first episode of each eval env)."""

    eval_win_rate: Any = None
    eval_return: Any = None
    eval_finished: Any = None


def make_env(cfg: MAPPOConfig) -> HeuristicEnemySMAX:
    return HeuristicEnemySMAX(scenario=cfg.scenario, attack_mode=cfg.attack_mode)


def make_networks(cfg: MAPPOConfig, env) -> Nets:
    n_act = env.action_space(env.agents[0]).n
    actor = RecurrentActorCritic(n_act, cfg.fc_dim, cfg.gru_dim, with_value=cfg.algo != "mappo")
    return Nets(actor, RecurrentCritic(cfg.fc_dim, cfg.gru_dim))


def normalise_world_state(ws, num_units):
    """Positions / 32 and cooldowns clipped to [-1, 2] in jaxmarl's raw world_state (12 N)."""
    u = ws[..., : 10 * num_units].reshape(*ws.shape[:-1], num_units, 10)
    u = u.at[..., 1:3].divide(32.0).at[..., 3].set(jnp.clip(u[..., 3], -1.0, 2.0))
    return jnp.concatenate([u.reshape(*ws.shape[:-1], -1), ws[..., 10 * num_units :]], axis=-1)


def stack_agents(env, d: dict) -> jax.Array:
    """Dict of per-agent [E, ...] arrays -> [A*E, ...], agent-major."""
    return jnp.concatenate([d[a] for a in env.agents], axis=0)


def split_agents(env, x: jax.Array, num_envs: int) -> dict:
    """Inverse of ``stack_agents``."""
    return {a: x[i * num_envs : (i + 1) * num_envs] for i, a in enumerate(env.agents)}


def critic_input(env, obs: dict) -> jax.Array:
    """MAPPO's critic input per actor: the normalised world state and a one-hot agent id."""
    na = len(env.agents)
    ws = normalise_world_state(obs["world_state"], env.num_units)
    agent_ids = jnp.repeat(jnp.eye(na), ws.shape[0], axis=0)  # agent-major
    return jnp.concatenate([jnp.tile(ws, (na, 1)), agent_ids], axis=-1)


def apply(cfg: MAPPOConfig, nets: Nets, params, h, obs, resets, avail, cin):
    """Both networks on [T, B, ...] inputs: ((actor h, critic h), logits, value)."""
    ha, hc = h
    ha, logits, value = nets.actor.apply(params["actor"], ha, obs, resets, avail)
    if cfg.algo == "mappo":
        hc, value = nets.critic.apply(params["critic"], hc, cin, resets)
    return (ha, hc), logits, value


def init_params(key, cfg: MAPPOConfig, nets: Nets, env) -> dict:
    ka, kc = jax.random.split(key)
    n_act = env.action_space(env.agents[0]).n
    obs_dim = env.observation_space(env.agents[0]).shape[0]
    ws_dim = 12 * env.num_units + len(env.agents)
    h0 = jnp.zeros((1, cfg.gru_dim))
    no_reset = jnp.zeros((1, 1), bool)
    params = {
        "actor": nets.actor.init(
            ka, h0, jnp.zeros((1, 1, obs_dim)), no_reset, jnp.ones((1, 1, n_act))
        )
    }
    if cfg.algo == "mappo":
        params["critic"] = nets.critic.init(kc, h0, jnp.zeros((1, 1, ws_dim)), no_reset)
    return params


def init_runner(key, cfg: MAPPOConfig, nets: Nets, env) -> RunnerState:
    """Parameters, one Adam over them (annealed lr if ``anneal_lr``), reset envs, zero GRU states."""
    key, k_init, k_env = jax.random.split(key, 3)
    steps_per_update = cfg.num_minibatches * cfg.update_epochs
    lr = rl.linear_schedule(cfg.lr, cfg.num_updates, steps_per_update) if cfg.anneal_lr else cfg.lr
    tx = rl.make_optimizer(lr, cfg.max_grad_norm)
    ts = TrainState.create(apply_fn=None, params=init_params(k_init, cfg, nets, env), tx=tx)
    obs, state = jax.vmap(env.reset)(jax.random.split(k_env, cfg.num_envs))
    n_actors = len(env.agents) * cfg.num_envs
    h = (jnp.zeros((n_actors, cfg.gru_dim)), jnp.zeros((n_actors, cfg.gru_dim)))
    resets = jnp.ones((n_actors,), bool)
    return RunnerState(ts, state, obs, h, resets, jnp.zeros((cfg.num_envs,)), key)


def env_step(runner: RunnerState, _, cfg: MAPPOConfig, nets: Nets, env):
    """Every agent of every env acts once (sampled): (runner, Transition)."""
    ts, state, obs, h, resets, ep_ret, key = runner
    key, k_act, k_step = jax.random.split(key, 3)
    avail = stack_agents(env, jax.vmap(env.get_avail_actions)(state))
    o = stack_agents(env, obs)
    cin = critic_input(env, obs)
    h2, logits, value = apply(
        cfg, nets, ts.params, h, o[None], resets[None], avail[None], cin[None]
    )
    logits, value = logits[0], value[0]
    action = jax.random.categorical(k_act, logits)
    logp = rl.categorical_logp(logits, action)
    acts = split_agents(env, action, cfg.num_envs)
    step_keys = jax.random.split(k_step, cfg.num_envs)
    obs2, state2, rew, dones, infos = jax.vmap(env.step)(step_keys, state, acts)
    obs2, state2 = rl.on_batch_axis((obs2, state2))  # envs split over devices under a mesh
    done_all = dones["__all__"]
    agent_done = stack_agents(env, dones)
    glob = jnp.tile(done_all, len(env.agents))
    new_resets = glob | agent_done if cfg.rnn_reset == "agent_or_episode" else agent_done
    ep_ret, finished = rl.track_returns(ep_ret, rew[env.agents[0]], done_all)
    tr = Transition(
        o, cin, avail, resets, action, logp, value, stack_agents(env, rew),
        glob.astype(jnp.float32), done_all, infos["won"], finished,
    )  # fmt: skip
    return RunnerState(ts, state2, obs2, h2, new_resets, ep_ret, key), tr


def loss(params, mb: SequenceBatch, cfg: MAPPOConfig, nets: Nets) -> tuple[jax.Array, dict]:
    """PPO's loss on whole actor sequences replayed from their rollout-start GRU states."""
    h0 = (mb.h0[:, 0], mb.h0[:, 1])
    tm = jax.tree_util.tree_map(lambda v: jnp.swapaxes(v, 0, 1), mb._replace(h0=None))
    _, logits, value = apply(cfg, nets, params, h0, tm.obs, tm.resets, tm.avail, tm.cin)
    logp, ent = rl.categorical_logp_entropy(logits, tm.action, mask=tm.avail > 0)
    pl, st = rl.clipped_policy_loss(logp, tm.logp, rl.normalise(tm.adv), cfg.clip_eps)
    vl = rl.clipped_value_loss(value, tm.value, tm.targets, cfg.clip_eps)
    ent = ent.mean()
    total = pl + cfg.vf_coef * vl - cfg.ent_coef * ent
    return total, dict(st, value_loss=vl, entropy=ent)


def sequence_batch(h_start, traj: Transition, adv, targets) -> SequenceBatch:
    """The rollout as whole actor sequences: [actors, T, ...] plus the start GRU states."""
    fields = (traj.obs, traj.cin, traj.avail, traj.resets, traj.action, traj.logp, traj.value)
    seq = [jnp.swapaxes(v, 0, 1) for v in (*fields, adv, targets)]
    return SequenceBatch(jnp.stack(h_start, axis=1), *seq)


def rollout(runner: RunnerState, cfg: MAPPOConfig, nets: Nets, env):
    """``num_steps`` env steps, then GAE (cut by the global done): (runner, SequenceBatch, Transition)."""
    h_start = runner.h
    step = functools.partial(env_step, cfg=cfg, nets=nets, env=env)
    runner, traj = jax.lax.scan(step, runner, None, length=cfg.num_steps)
    ts, state, obs, h, resets, _, _ = runner
    avail = stack_agents(env, jax.vmap(env.get_avail_actions)(state))
    o, cin = stack_agents(env, obs)[None], critic_input(env, obs)[None]
    _, _, last_v = apply(cfg, nets, ts.params, h, o, resets[None], avail[None], cin)
    adv, targets = rl.gae(traj.reward, traj.value, traj.done, last_v[0], cfg.gamma, cfg.gae_lambda)
    return runner, sequence_batch(h_start, traj, adv, targets), traj


def update(runner: RunnerState, _, cfg: MAPPOConfig, nets: Nets, env):
    """A rollout, PPO epochs over whole actor sequences, metrics: one iteration of the outer scan."""
    runner, batch, traj = rollout(runner, cfg, nets, env)
    key, k_ep = jax.random.split(runner.key)
    loss_fn = functools.partial(loss, cfg=cfg, nets=nets)
    ts, stats = rl.run_epochs(
        k_ep, runner.train_state, batch, loss_fn, cfg.update_epochs, cfg.num_minibatches
    )
    metrics = dict(
        win_rate=rl.episode_mean(traj.ep_won, traj.ep_done),
        episode_return=rl.episode_mean(traj.ep_ret, traj.ep_done),
        episodes=rl.episode_count(traj.ep_done),
        entropy=stats["entropy"].mean(),
        value_loss=stats["value_loss"].mean(),
    )
    rl.progress.tick()  # advances a progress bar if one is open (experiments); else a no-op
    return runner._replace(train_state=ts, key=key), metrics


def eval_step(carry: EvalCarry, k, params, cfg: MAPPOConfig, nets: Nets, env, greedy: bool):
    """One step of the evaluation envs; only each env's first episode counts."""
    m = cfg.eval_envs
    avail = stack_agents(env, jax.vmap(env.get_avail_actions)(carry.env_state))
    o = stack_agents(env, carry.obs)
    h, logits, _ = nets.actor.apply(
        params["actor"], carry.h, o[None], carry.resets[None], avail[None]
    )
    act = jnp.argmax(logits[0], -1) if greedy else jax.random.categorical(k, logits[0])
    obs, state, rew, dones, infos = jax.vmap(env.step)(
        jax.random.split(k, m), carry.env_state, split_agents(env, act, m)
    )
    live = ~carry.finished
    ret = carry.ret + jnp.where(live, rew[env.agents[0]], 0.0)
    won = carry.won | (live & infos["won"])
    finished = carry.finished | dones["__all__"]
    resets = jnp.tile(dones["__all__"], len(env.agents)) | stack_agents(env, dones)
    return EvalCarry(obs, state, h, resets, finished, won, ret), None


def evaluate(params, key, cfg: MAPPOConfig, nets: Nets, env, greedy: bool = True) -> dict:
    """Greedy episodes on ``eval_envs`` fresh envs: win rate and return of each env's first episode."""
    m, n_actors = cfg.eval_envs, len(env.agents) * cfg.eval_envs
    obs, state = jax.vmap(env.reset)(jax.random.split(key, m))
    init = EvalCarry(
        obs, state, jnp.zeros((n_actors, cfg.gru_dim)), jnp.ones((n_actors,), bool),
        jnp.zeros(m, bool), jnp.zeros(m, bool), jnp.zeros(m),
    )  # fmt: skip
    body = functools.partial(eval_step, params=params, cfg=cfg, nets=nets, env=env, greedy=greedy)
    end, _ = jax.lax.scan(body, init, jax.random.split(key, env.max_steps + 2))
    return dict(
        eval_win_rate=end.won.mean(), eval_return=end.ret.mean(), eval_finished=end.finished.mean()
    )


def make_train(cfg: MAPPOConfig, env=None):
    """``train(key) -> MAPPOOutput``: final params, per-update metrics (training win rate and return, NaN
    when no episode ended, episodes, entropy, value loss, env_steps) and a greedy-eval win rate.
    ``train.evaluate(params, key)`` and ``train.init_params(key)`` are the pieces bound to this env."""
    env = make_env(cfg) if env is None else env
    nets = make_networks(cfg, env)
    step = functools.partial(update, cfg=cfg, nets=nets, env=env)
    ev = functools.partial(evaluate, cfg=cfg, nets=nets, env=env)

    def train(key):
        runner = init_runner(key, cfg, nets, env)
        runner, metrics = jax.lax.scan(step, runner, None, length=cfg.num_updates)
        params = runner.train_state.params
        metrics["env_steps"] = (jnp.arange(cfg.num_updates) + 1) * cfg.num_envs * cfg.num_steps
        return MAPPOOutput(params, metrics, **ev(params, jax.random.fold_in(runner.key, 1)))

    train.evaluate = ev
    train.init_params = functools.partial(init_params, cfg=cfg, nets=nets, env=env)
    return train


def encode_actor(params) -> str:
    """The actor's parameters as base64 of flax's msgpack bytes (float32, ~200 KB at 64 units): enough to
    replay the trained team, small enough for a data/ JSON file (MAPPO's critic is left out)."""
    actor = jax.device_get({"actor": params["actor"]})
    return base64.b64encode(serialization.to_bytes(actor)).decode("ascii")


def decode_actor(cfg: MAPPOConfig, text: str, env=None):
    """Inverse of ``encode_actor`` for a run made with ``cfg``: ``{"actor": ...}`` (tree from a fresh init)."""
    template = {"actor": make_train(cfg, env).init_params(jax.random.key(0))["actor"]}
    return serialization.from_bytes(template, base64.b64decode(text))


class GreedyPolicy:
    """The trained actor as an ally policy for ``rlbook.envs.smax.render.record_episode``: greedy actions,
    one GRU state per ally carried between steps (``initial_carry`` / ``__call__(key, obs, avail, h)``)."""

    def __init__(self, cfg: MAPPOConfig, params, env):
        self.agents = env.agents
        self.gru_dim = cfg.gru_dim
        self.actor = make_networks(cfg, env).actor
        self.params = params["actor"]

    def initial_carry(self):
        return jnp.zeros((len(self.agents), self.gru_dim))

    def __call__(self, key, obs, avail, h):
        o = jnp.stack([obs[a] for a in self.agents])[None]
        av = jnp.stack([avail[a] for a in self.agents])[None]
        resets = jnp.zeros((1, len(self.agents)), bool)
        h, logits, _ = self.actor.apply(self.params, h, o, resets, av)
        act = jnp.argmax(logits[0], -1)
        return {a: act[i] for i, a in enumerate(self.agents)}, h
