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
Shared PPO pieces (``gae``, ``clipped_policy_loss``, ``clipped_value_loss``, ``run_epochs``) come from
``rlbook.learners.ppo``.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training.train_state import TrainState

from rlbook.learners.ppo import clipped_policy_loss, clipped_value_loss, gae, run_epochs


@dataclasses.dataclass(frozen=True)
class MAPPOConfig:
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
        from rlbook.envs.smax import SCENARIOS

        if self.algo not in ("ippo", "mappo"):
            raise ValueError(f"algo must be 'ippo' or 'mappo', got {self.algo!r}")
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {sorted(SCENARIOS)}, got {self.scenario!r}")
        if self.rnn_reset not in ("agent_or_episode", "agent"):
            raise ValueError(
                f"rnn_reset must be 'agent_or_episode' or 'agent', got {self.rnn_reset!r}"
            )
        for f in ("num_envs", "num_steps", "update_epochs", "num_minibatches", "fc_dim", "gru_dim"):
            if getattr(self, f) < 1:
                raise ValueError(f"{f} must be >= 1, got {getattr(self, f)}")
        if not 0 < self.lr:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not (0 <= self.gamma <= 1 and 0 <= self.gae_lambda <= 1):
            raise ValueError("gamma and gae_lambda must be in [0, 1]")

    @classmethod
    def preset(cls, name: str, algo: str = "ippo", **kw) -> MAPPOConfig:
        """``book``: 3m, 0.3M steps, 64-unit networks (a couple of CPU minutes); ``medium``: 1M steps, the
        run stored in data/; ``paper``: JaxMARL's yaml sizes (128 envs x 128 steps, 128 units, 1e7 steps)."""
        base = {
            "ippo": dict(lr=0.004, clip_eps=0.05, ent_coef=0.01),
            "mappo": dict(lr=0.002, clip_eps=0.2, ent_coef=0.0),
        }[algo]
        sizes = {
            "book": dict(
                num_envs=64, num_steps=128, total_timesteps=300_000, fc_dim=64, gru_dim=64
            ),
            "medium": dict(
                num_envs=64, num_steps=128, total_timesteps=1_000_000, fc_dim=64, gru_dim=64
            ),
            "paper": dict(num_envs=128, num_steps=128, total_timesteps=10_000_000),
        }
        if name not in sizes:
            raise ValueError(f"preset must be one of {sorted(sizes)}, got {name!r}")
        cfg = cls(algo=algo, **{**base, **sizes[name], **kw})
        cfg.validate()
        return cfg


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


def make_env(cfg: MAPPOConfig):
    from rlbook.envs.smax import HeuristicEnemySMAX

    return HeuristicEnemySMAX(scenario=cfg.scenario, attack_mode=cfg.attack_mode)


def normalise_world_state(ws, num_units):
    """Positions / 32 and cooldowns clipped to [-1, 2] in jaxmarl's raw world_state (12 N)."""
    u = ws[..., : 10 * num_units].reshape(*ws.shape[:-1], num_units, 10)
    u = u.at[..., 1:3].divide(32.0).at[..., 3].set(jnp.clip(u[..., 3], -1.0, 2.0))
    return jnp.concatenate([u.reshape(*ws.shape[:-1], -1), ws[..., 10 * num_units :]], axis=-1)


def make_train(cfg: MAPPOConfig, env=None):
    """Returns ``train(key) -> dict`` with per-update metrics, final params and a greedy-eval win rate."""
    cfg.validate()
    env = make_env(cfg) if env is None else env
    agents = env.agents
    na, ne = len(agents), cfg.num_envs
    n_actors = na * ne
    n_act = env.action_space(agents[0]).n
    obs_dim = env.observation_space(agents[0]).shape[0]
    ws_dim = 12 * env.num_units + na
    mappo = cfg.algo == "mappo"
    actor = RecurrentActorCritic(n_act, cfg.fc_dim, cfg.gru_dim, with_value=not mappo)
    critic = RecurrentCritic(cfg.fc_dim, cfg.gru_dim)
    agent_ids = jnp.repeat(jnp.eye(na), ne, axis=0)  # agent-major

    def stack(d):  # dict of [E, ...] -> [A*E, ...]
        return jnp.concatenate([d[a] for a in agents], axis=0)

    def critic_input(obs):
        ws = normalise_world_state(obs["world_state"], env.num_units)
        return jnp.concatenate([jnp.tile(ws, (na, 1)), agent_ids], axis=-1)

    def lr_schedule(count):
        frac = 1.0 - (count // (cfg.num_minibatches * cfg.update_epochs)) / cfg.num_updates
        return cfg.lr * frac

    tx = optax.chain(
        optax.clip_by_global_norm(cfg.max_grad_norm),
        optax.adam(lr_schedule if cfg.anneal_lr else cfg.lr, eps=1e-5),
    )

    def apply(params, h, obs, resets, avail, cin):
        ha, hc = h
        ha, logits, value = actor.apply(params["actor"], ha, obs, resets, avail)
        if mappo:
            hc, value = critic.apply(params["critic"], hc, cin, resets)
        return (ha, hc), logits, value

    def init_params(key):
        ka, kc = jax.random.split(key)
        h0 = jnp.zeros((1, cfg.gru_dim))
        params = {
            "actor": actor.init(
                ka, h0, jnp.zeros((1, 1, obs_dim)), jnp.zeros((1, 1), bool), jnp.ones((1, 1, n_act))
            )
        }
        if mappo:
            params["critic"] = critic.init(
                kc, h0, jnp.zeros((1, 1, ws_dim)), jnp.zeros((1, 1), bool)
            )
        return params

    vreset = jax.vmap(env.reset)
    vstep = jax.vmap(env.step)
    vavail = jax.vmap(env.get_avail_actions)

    def train(key):
        key, k_init, k_env = jax.random.split(key, 3)
        ts = TrainState.create(apply_fn=None, params=init_params(k_init), tx=tx)
        obs, state = vreset(jax.random.split(k_env, ne))
        h = (jnp.zeros((n_actors, cfg.gru_dim)), jnp.zeros((n_actors, cfg.gru_dim)))
        resets = jnp.ones((n_actors,), bool)
        ep_ret = jnp.zeros((ne,))

        def env_step(carry, _):
            ts, state, obs, h, resets, ep_ret, key = carry
            key, k_act, k_step = jax.random.split(key, 3)
            avail = stack(vavail(state))
            o = stack(obs)
            cin = critic_input(obs)
            h2, logits, value = apply(ts.params, h, o[None], resets[None], avail[None], cin[None])
            logits, value = logits[0], value[0]
            action = jax.random.categorical(k_act, logits)
            logp = jax.nn.log_softmax(logits)[jnp.arange(n_actors), action]
            acts = {a: action[i * ne : (i + 1) * ne] for i, a in enumerate(agents)}
            obs2, state2, rew, dones, infos = vstep(jax.random.split(k_step, ne), state, acts)
            done_all = dones["__all__"]
            r = stack(rew)
            agent_done = stack({a: dones[a] for a in agents})
            glob = jnp.tile(done_all, na)
            new_resets = glob | agent_done if cfg.rnn_reset == "agent_or_episode" else agent_done
            ep_ret = ep_ret + rew[agents[0]]
            tr = dict(
                obs=o, cin=cin, avail=avail, resets=resets, action=action, logp=logp, value=value,
                reward=r, done=glob.astype(jnp.float32),
                ep_done=done_all, ep_won=infos["won"], ep_ret=jnp.where(done_all, ep_ret, 0.0),
            )  # fmt: skip
            ep_ret = jnp.where(done_all, 0.0, ep_ret)
            return (ts, state2, obs2, h2, new_resets, ep_ret, key), tr

        def update(carry, _):
            ts, state, obs, h, resets, ep_ret, key = carry
            h_start = h
            carry, traj = jax.lax.scan(env_step, carry, None, length=cfg.num_steps)
            ts, state, obs, h, resets, ep_ret, key = carry
            _, _, last_v = apply(
                ts.params, h, stack(obs)[None], resets[None],
                stack(vavail(state))[None], critic_input(obs)[None],
            )  # fmt: skip
            adv, targets = gae(
                traj["reward"], traj["value"], traj["done"], last_v[0], cfg.gamma, cfg.gae_lambda
            )
            batch = dict(
                h0=h_start, obs=traj["obs"], cin=traj["cin"], avail=traj["avail"],
                resets=traj["resets"], action=traj["action"], logp=traj["logp"],
                value=traj["value"], adv=adv, targets=targets,
            )  # fmt: skip
            # actors on the leading axis (run_epochs shuffles it), time second
            batch = {k: (v if k == "h0" else jnp.swapaxes(v, 0, 1)) for k, v in batch.items()}
            batch["h0"] = jnp.stack(h_start, axis=1)  # [actors, 2, H]

            def loss_fn(params, mb):
                tm = {k: jnp.swapaxes(v, 0, 1) for k, v in mb.items() if k != "h0"}
                h0 = (mb["h0"][:, 0], mb["h0"][:, 1])
                _, logits, value = apply(
                    params, h0, tm["obs"], tm["resets"], tm["avail"], tm["cin"]
                )
                logp_all = jax.nn.log_softmax(logits)
                logp = jnp.take_along_axis(logp_all, tm["action"][..., None], -1)[..., 0]
                a = tm["adv"]
                a = (a - a.mean()) / (a.std() + 1e-8)
                pl, st = clipped_policy_loss(logp, tm["logp"], a, cfg.clip_eps)
                vl = clipped_value_loss(value, tm["value"], tm["targets"], cfg.clip_eps)
                p = jnp.exp(logp_all)
                ent = -jnp.sum(jnp.where(tm["avail"] > 0, p * logp_all, 0.0), -1).mean()
                loss = pl + cfg.vf_coef * vl - cfg.ent_coef * ent
                return loss, dict(st, value_loss=vl, entropy=ent)

            key, k_ep = jax.random.split(key)
            ts, stats = run_epochs(k_ep, ts, batch, loss_fn, cfg.update_epochs, cfg.num_minibatches)
            n_ep = traj["ep_done"].sum()
            metrics = dict(
                win_rate=jnp.where(n_ep > 0, traj["ep_won"].sum() / jnp.maximum(n_ep, 1), jnp.nan),
                episode_return=jnp.where(
                    n_ep > 0, traj["ep_ret"].sum() / jnp.maximum(n_ep, 1), jnp.nan
                ),
                episodes=n_ep,
                entropy=stats["entropy"].mean(),
                value_loss=stats["value_loss"].mean(),
            )
            return (ts, state, obs, h, resets, ep_ret, key), metrics

        carry = (ts, state, obs, h, resets, ep_ret, key)
        carry, metrics = jax.lax.scan(update, carry, None, length=cfg.num_updates)
        ts = carry[0]
        key = carry[-1]
        ev = evaluate(ts.params, jax.random.fold_in(key, 1))
        metrics["env_steps"] = (jnp.arange(cfg.num_updates) + 1) * cfg.num_envs * cfg.num_steps
        return dict(params=ts.params, metrics=metrics, **ev)

    def evaluate(params, key, greedy=True):
        """Greedy episodes on ``eval_envs`` fresh envs: win rate and return of each env's first episode."""
        m = cfg.eval_envs
        obs, state = jax.vmap(env.reset)(jax.random.split(key, m))
        h = jnp.zeros((na * m, cfg.gru_dim))

        def body(carry, k):
            obs, state, h, resets, finished, won, ret = carry
            avail = jnp.concatenate([v for v in (vavail(state)[a] for a in agents)], 0)
            o = jnp.concatenate([obs[a] for a in agents], 0)
            h, logits, _ = actor.apply(params["actor"], h, o[None], resets[None], avail[None])
            act = jnp.argmax(logits[0], -1) if greedy else jax.random.categorical(k, logits[0])
            acts = {a: act[i * m : (i + 1) * m] for i, a in enumerate(agents)}
            obs, state, rew, dones, infos = vstep(jax.random.split(k, m), state, acts)
            live = ~finished
            ret = ret + jnp.where(live, rew[agents[0]], 0.0)
            won = won | (live & infos["won"])
            finished = finished | dones["__all__"]
            resets = jnp.tile(dones["__all__"], na) | jnp.concatenate([dones[a] for a in agents])
            return (obs, state, h, resets, finished, won, ret), None

        init = (obs, state, h, jnp.ones((na * m,), bool), jnp.zeros(m, bool), jnp.zeros(m, bool),
                jnp.zeros(m))  # fmt: skip
        (_, _, _, _, finished, won, ret), _ = jax.lax.scan(
            body, init, jax.random.split(key, env.max_steps + 2)
        )
        return dict(eval_win_rate=won.mean(), eval_return=ret.mean(), eval_finished=finished.mean())

    train.evaluate = evaluate
    train.init_params = init_params
    return train


def encode_actor(params) -> str:
    """The actor's parameters as base64 of flax's msgpack bytes (float32, ~200 KB at 64 units): enough to
    replay the trained team, small enough for a data/ JSON file (MAPPO's critic is left out)."""
    import base64

    from flax import serialization

    actor = jax.device_get({"actor": params["actor"]})
    return base64.b64encode(serialization.to_bytes(actor)).decode("ascii")


def decode_actor(cfg: MAPPOConfig, text: str, env=None):
    """Inverse of ``encode_actor`` for a run made with ``cfg``: ``{"actor": ...}`` (tree from a fresh init)."""
    import base64

    from flax import serialization

    template = {"actor": make_train(cfg, env).init_params(jax.random.key(0))["actor"]}
    return serialization.from_bytes(template, base64.b64decode(text))


class GreedyPolicy:
    """The trained actor as an ally policy for ``rlbook.envs.smax.render.record_episode``: greedy actions,
    one GRU state per ally carried between steps (``initial_carry`` / ``__call__(key, obs, avail, h)``)."""

    def __init__(self, cfg: MAPPOConfig, params, env):
        self.agents = env.agents
        self.gru_dim = cfg.gru_dim
        n_act = env.action_space(self.agents[0]).n
        self.actor = RecurrentActorCritic(
            n_act, cfg.fc_dim, cfg.gru_dim, with_value=cfg.algo != "mappo"
        )
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
