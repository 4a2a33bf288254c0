"""PPO across RL settings: multi-task (MTRL, every game at once) and continual (CRL, one game after another).

Built from Chapter 9's PPO (``rlbook.learners.ppo``: ``Transition``, ``Batch``, ``loss``,
``truncation_bonus``) and the shared core (``rlbook.rl``); what differs is the environment (a
``MultiTaskMinAtar`` batch of per-game slices), per-task logging and the CRL phase structure:

* one program, ``make_phase(config) -> phase(train_state, key, assignment, lr_offset, lr_total)``:
  ``phase_updates`` PPO updates with env i playing game ``assignment[i]``, then an evaluation of every
  game. The assignment and the learning-rate schedule are data, so it compiles once per network;
* MTRL (``setting="mtrl"``): K phases with every game on N / K envs (the annealing runs over all of them);
* CRL (``setting="crl"``): phase p puts every env on game ``order[p]``; params and Adam's state are carried
  (``reset_optimizer`` re-initialises Adam at each new game), the learning rate anneals within each phase.
  The evaluations form the phase x game return matrix.

``make_train(config) -> train(key) -> SettingsOutput`` chains the phases; it is traceable as a whole
(``jax.jit(jax.vmap(train))``) or, with ``jit_phase=True``, calls the one compiled phase from Python.

Truncation (gymnax 1.0): the bootstrap is cut only on ``terminated``; on ``truncated`` the reward is
augmented by gamma * V(final observation) (``ppo.truncation_bonus``), in both loops.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.training.train_state import TrainState

from rlbook.config import Config, check_choice, check_float, check_int
from rlbook.envs.multitask_minatar import GAMES, NUM_ACTIONS, MultiTaskMinAtar, per_task_mean
from rlbook.learners.ppo import Batch, Transition, loss, truncation_bonus
from rlbook.moe.metrics import dormant_fraction
from rlbook.moe.settings_nets import ARCHS, ROUTERS, SettingsActorCritic, SettingsNetConfig
from rlbook.rl import (
    categorical_logp,
    gae,
    progress,
    run_epochs,
    track_returns,
)

PLACEMENTS = ("actor", "critic", "both")
SETTINGS = ("mtrl", "crl")


@dataclasses.dataclass(frozen=True)
class SettingsConfig(Config):
    """PureJaxRL MinAtar PPO hyperparameters on ``len(games)`` games, ``envs_per_game`` envs per game.

    ``setting``: 'mtrl' or 'crl'; both train ``len(games)`` phases of ``phase_timesteps`` frames (the same
    total) with the same batch (``num_envs`` = K * envs_per_game envs). ``arch`` / ``router`` /
    ``num_experts`` set the MoE torso, ``placement`` which torso(s) get it (the other is the baseline).
    ``order``: CRL's game order (indices into ``games``); ``reset_optimizer``: fresh Adam state per phase."""

    PRESETS: ClassVar[dict] = {
        "tiny": dict(phase_timesteps=3 * 4 * 8, envs_per_game=4, num_steps=8, update_epochs=1,
                     num_minibatches=2, eval_steps=16, probe_steps=2),
        "book": dict(phase_timesteps=7_680),
        "medium": dict(phase_timesteps=7_680),  # more seeds, the same length (CPU time)
        "paper": dict(phase_timesteps=10_000_000, envs_per_game=128, num_steps=128),
    }  # fmt: skip

    games: tuple = GAMES
    setting: str = "mtrl"
    arch: str = "baseline"
    router: str = "soft"
    placement: str = "critic"
    num_experts: int = 3
    order: tuple = (0, 1, 2)
    reset_optimizer: bool = False
    phase_timesteps: int = 7_680
    envs_per_game: int = 16
    num_steps: int = 32
    update_epochs: int = 4
    num_minibatches: int = 8
    lr: float = 5e-3
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    clip_value: bool = True
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    switch_coef: float = 0.0  # read by ppo.loss; Top-1 here runs without a balancing loss
    probe_steps: int = 4
    eval_steps: int = 200

    @property
    def num_tasks(self) -> int:
        return len(self.games)

    @property
    def num_envs(self) -> int:
        return self.envs_per_game * self.num_tasks

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def phase_updates(self) -> int:
        return self.phase_timesteps // self.batch_size

    @property
    def total_timesteps(self) -> int:
        return self.num_tasks * self.phase_updates * self.batch_size

    def net(self, torso: str) -> SettingsNetConfig:
        """The actor's or critic's torso config (the MoE where ``placement`` puts it, else baseline)."""
        moe = self.placement in (torso, "both")
        arch = self.arch if moe else "baseline"
        return SettingsNetConfig(arch, self.router, self.num_experts, self.num_tasks)

    def validate(self) -> None:
        MultiTaskMinAtar(self.games, 1)  # raises on unknown games
        check_choice("setting", self.setting, SETTINGS)
        check_choice("arch", self.arch, ARCHS)
        check_choice("router", self.router, ROUTERS)
        check_choice("placement", self.placement, PLACEMENTS)
        if sorted(self.order) != list(range(self.num_tasks)):
            raise ValueError(
                f"order={self.order!r} must be a permutation of 0..{self.num_tasks - 1}"
            )
        check_int(self, "num_experts", "phase_timesteps", "envs_per_game", "num_steps")
        check_int(self, "update_epochs", "num_minibatches", "probe_steps", "eval_steps")
        check_float(self, "lr", "clip_eps", "max_grad_norm", lo=0.0, lo_open=True)
        check_float(self, "gamma", "gae_lambda", lo=0.0, hi=1.0)
        check_float(self, "ent_coef", "vf_coef", "switch_coef", lo=0.0)
        if self.phase_updates < 1:
            raise ValueError(
                f"phase_timesteps={self.phase_timesteps} must be >= num_envs * num_steps = {self.batch_size}"
            )
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_minibatches={self.num_minibatches} must divide {self.batch_size}"
            )
        if self.probe_steps > self.num_steps:
            raise ValueError(
                f"probe_steps={self.probe_steps} must lie in [1, num_steps={self.num_steps}]"
            )
        self.net("actor").validate("actor")
        self.net("critic").validate("critic")


def make_network(config: SettingsConfig) -> SettingsActorCritic:
    return SettingsActorCritic(config.net("actor"), config.net("critic"), NUM_ACTIONS)


def make_env(config: SettingsConfig) -> MultiTaskMinAtar:
    return MultiTaskMinAtar(config.games, config.num_envs)


class Runner(NamedTuple):
    """The carry of the step and update scans."""

    train_state: TrainState
    env_state: Any
    obs: jax.Array
    episode_returns: jax.Array
    key: jax.Array
    assignment: jax.Array  # [N] game of each env
    lr_step: jax.Array  # updates done on the current schedule
    lr_total: jax.Array  # updates the schedule anneals over


def init_train_state(key, config: SettingsConfig, network) -> TrainState:
    """Parameters and Adam (behind grad-norm clipping) with its learning rate as state, set every update."""
    obs0 = jnp.zeros((1,) + make_env(config).obs_shape)
    adam = optax.inject_hyperparams(optax.adam)(learning_rate=config.lr, eps=1e-5)
    tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), adam)
    return TrainState.create(apply_fn=network.apply, params=network.init(key, obs0), tx=tx)


def set_lr(ts: TrainState, lr) -> TrainState:
    clip, adam = ts.opt_state
    adam = adam._replace(hyperparams={**adam.hyperparams, "learning_rate": jnp.asarray(lr)})
    return ts.replace(opt_state=(clip, adam))


def env_step(runner: Runner, _, config: SettingsConfig, network, env):
    """One step of every env (all games in one call): (runner, (Transition, finished, done))."""
    ts, key = runner.train_state, runner.key
    key, k_a, k_s = jax.random.split(key, 3)
    logits, value = network.apply(ts.params, runner.obs)
    action = jax.random.categorical(k_a, logits)
    nobs, env_state, reward, term, trunc, info = env.step(
        k_s, runner.env_state, action, runner.assignment
    )
    done = jnp.logical_or(term, trunc)
    r_aug = reward + truncation_bonus(ts.params, config, network, term, trunc, info)
    ep_ret, finished = track_returns(runner.episode_returns, reward, done)
    tr = Transition(runner.obs, action, categorical_logp(logits, action), value, r_aug, done)
    runner = runner._replace(env_state=env_state, obs=nobs, episode_returns=ep_ret, key=key)
    return runner, (tr, finished, done)


def layers_dormant(layers, tau: float) -> jax.Array:
    """Dormant fraction over every unit of every hidden layer (MoE units scored per expert)."""
    dead, total = 0.0, 0
    for h, mask in layers:
        units = h.shape[-1] if h.ndim == 2 else h.shape[1] * h.shape[-1]
        dead = dead + dormant_fraction(h, tau, pool="per_expert", mask=mask) * units
        total += units
    return dead / total


def probe_metrics(params, probe, config: SettingsConfig, network) -> dict:
    """Dormant fractions (tau 0, 0.025) of both torsos; per-task expert usage [K, n] of each MoE torso."""
    (_, _, la, ua), (_, _, lc, uc) = network.apply(params, probe, method=SettingsActorCritic.probe)
    task = jnp.argmax(probe[:, 0, 0, -config.num_tasks :], -1)
    m = {}
    for name, layers, usage in (("actor", la, ua), ("critic", lc, uc)):
        m[f"{name}_dormant"] = layers_dormant(layers, 0.0)
        m[f"{name}_dormant_025"] = layers_dormant(layers, 0.025)
        if usage is not None:
            onehot = jax.nn.one_hot(task, config.num_tasks)  # [B, K]
            m[f"{name}_usage"] = (onehot.T @ usage) / jnp.maximum(onehot.sum(0), 1.0)[:, None]
    return m


def update(runner: Runner, _, config: SettingsConfig, network, env):
    """Rollout, GAE, PPO epochs (``ppo.loss``), per-task returns and probe metrics."""
    c = config
    frac = 1.0 - runner.lr_step / runner.lr_total if c.anneal_lr else 1.0
    runner = runner._replace(train_state=set_lr(runner.train_state, c.lr * frac))
    step = functools.partial(env_step, config=c, network=network, env=env)
    runner, (traj, finished, done) = jax.lax.scan(step, runner, None, c.num_steps)
    ts, key = runner.train_state, runner.key
    last_v = network.apply(ts.params, runner.obs, method=SettingsActorCritic.value)
    adv, targets = gae(traj.reward, traj.value, traj.done, last_v, c.gamma, c.gae_lambda)
    flat = jax.tree_util.tree_map(
        lambda x: x.reshape((c.batch_size,) + x.shape[2:]), Batch(traj, adv, targets)
    )
    key, k_e = jax.random.split(key)
    loss_fn = functools.partial(loss, config=c, network=network)
    ts, stats = run_epochs(k_e, ts, flat, loss_fn, c.update_epochs, c.num_minibatches)
    probe = traj.obs[-c.probe_steps :].reshape((-1,) + traj.obs.shape[2:])  # every env, last steps
    task_return, episodes = per_task_mean(finished, done, runner.assignment, c.num_tasks)
    metrics = {
        "task_return": task_return,  # [K], NaN for a game not played or with no finished episode
        "task_episodes": episodes,
        **probe_metrics(ts.params, probe, c, network),
        "value_loss": stats["value_loss"].mean(),
        "entropy": stats["entropy"].mean(),
    }
    progress.tick()
    runner = runner._replace(train_state=ts, key=key, lr_step=runner.lr_step + 1)
    return runner, metrics


class EvalCarry(NamedTuple):
    env_state: Any
    obs: jax.Array
    running: jax.Array
    first: jax.Array  # return of each env's first finished episode (NaN until it finishes)
    key: jax.Array


def evaluate(params, key, config: SettingsConfig, network, env) -> jax.Array:
    """Mean return per game [K] of each env's first episode (N / K envs per game, sampled policy); an
    episode not finished within ``eval_steps`` counts with its return so far."""
    assignment = env.split_assignment()

    def step(carry: EvalCarry, _):
        key, k_a, k_s = jax.random.split(carry.key, 3)
        logits, _ = network.apply(params, carry.obs)
        action = jax.random.categorical(k_a, logits)
        obs, st, r, term, trunc, _ = env.step(k_s, carry.env_state, action, assignment)
        done = jnp.logical_or(term, trunc)
        running, finished = track_returns(carry.running, r, done)
        first = jnp.where(jnp.logical_and(jnp.isnan(carry.first), done), finished, carry.first)
        return EvalCarry(st, obs, running, first, key), None

    k_reset, k_run = jax.random.split(key)
    obs, st = env.reset(k_reset, assignment)
    n = env.num_envs
    init = EvalCarry(st, obs, jnp.zeros(n), jnp.full(n, jnp.nan), k_run)
    carry, _ = jax.lax.scan(step, init, None, config.eval_steps)
    ret = jnp.where(jnp.isnan(carry.first), carry.running, carry.first)
    mean, _ = per_task_mean(ret, jnp.ones_like(ret, bool), assignment, config.num_tasks)
    return mean


def make_phase(config: SettingsConfig):
    """``phase(train_state, key, assignment [N], lr_offset, lr_total) -> (train_state, metrics, returns)``:
    ``phase_updates`` PPO updates (learning rate ``lr * (1 - u / lr_total)`` at update u = lr_offset, ...),
    then ``evaluate`` on every game (returns [K]). One compiled program for every setting and phase."""
    network, env = make_network(config), make_env(config)
    step = functools.partial(update, config=config, network=network, env=env)

    def phase(ts: TrainState, key, assignment, lr_offset, lr_total):
        k_reset, k_run, k_eval = jax.random.split(key, 3)
        obs, env_state = env.reset(k_reset, assignment)
        zero = jnp.zeros(config.num_envs)
        u0, ut = jnp.asarray(lr_offset, jnp.float32), jnp.asarray(lr_total, jnp.float32)
        runner = Runner(ts, env_state, obs, zero, k_run, assignment, u0, ut)
        runner, metrics = jax.lax.scan(step, runner, None, config.phase_updates)
        returns = evaluate(runner.train_state.params, k_eval, config, network, env)
        return runner.train_state, metrics, returns

    return phase


@struct.dataclass
class SettingsOutput:
    params: Any
    metrics: dict  # per phase, stacked: [P, phase_updates, ...]
    returns: jax.Array  # [P, K]: every game's evaluation return after each phase
    order: jax.Array  # [P] the game of each phase (CRL; -1 for MTRL's mixed phases)


def phase_plan(config: SettingsConfig, env: MultiTaskMinAtar):
    """[(assignment, lr_offset, lr_total, game)] per phase for ``config.setting``."""
    p, k = config.phase_updates, config.num_tasks
    if config.setting == "mtrl":
        return [(env.split_assignment(), i * p, k * p, -1) for i in range(k)]
    return [(env.single_assignment(g), 0, p, g) for g in config.order]


def make_train(config: SettingsConfig, jit_phase: bool = False):
    """``train(key) -> SettingsOutput``; ``jit_phase=True``: call the compiled phase from Python (reused
    across settings, orders and seeds of the same network; don't wrap that ``train`` in ``jit``)."""
    network, env = make_network(config), make_env(config)
    phase = _cached_phase(_canonical(config)) if jit_phase else make_phase(config)

    def train(key):
        k_init, key = jax.random.split(key)
        ts = init_train_state(k_init, config, network)
        metrics, returns, games = [], [], []
        for i, (assignment, off, total, game) in enumerate(phase_plan(config, env)):
            if config.reset_optimizer and i > 0 and config.setting == "crl":
                ts = ts.replace(opt_state=ts.tx.init(ts.params))
            key, k_p = jax.random.split(key)
            ts, m, r = phase(ts, k_p, assignment, off, total)
            metrics.append(m)
            returns.append(r)
            games.append(game)
        stacked = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *metrics)
        return SettingsOutput(ts.params, stacked, jnp.stack(returns), jnp.asarray(games))

    return train


def _canonical(config: SettingsConfig) -> SettingsConfig:
    """The fields a phase does not depend on set to defaults (so one compile serves them all)."""
    return dataclasses.replace(
        config, setting="mtrl", order=tuple(range(config.num_tasks)), reset_optimizer=False
    )


@functools.lru_cache(maxsize=32)
def _cached_phase(config: SettingsConfig):
    return jax.jit(make_phase(config))


def forgetting(returns, order) -> float:
    """Mean drop of a game's return from the end of its own phase to the end of training, over every game
    trained before the last phase: mean_g R[p_g, g] - R[P-1, g]."""
    import numpy as np

    r, order = np.asarray(returns), list(np.asarray(order))
    drops = [r[p, g] - r[-1, g] for p, g in enumerate(order[:-1])]
    return float(np.mean(drops))
