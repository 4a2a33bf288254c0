"""Recording SMAX battles at every physics tick (the data the drawings in ``rlbook.viz.plots_smax`` show).

``record_episode`` runs one episode of ``HeuristicEnemySMAX`` (allies: heuristic / random / stop / a callable)
inside one jitted scan and keeps the 8 tick states of every step (jaxmarl re-simulates from stored keys
instead). Drawing (frames, strips, animations) lives in ``rlbook.viz.plots_smax``: this module has no
matplotlib.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rlbook.envs.smax.heuristic import initial_policy_state, make_heuristic_policy
from rlbook.envs.smax.observations import observations
from rlbook.envs.smax.physics import attack_targets, pairwise_distance

ALLY_POLICIES = ("heuristic", "random", "stop")


def ally_actor(env, policy):
    """``act(key, state, policy_state) -> (actions, policy_state)`` for one of ``ALLY_POLICIES``, a callable
    ``f(key, obs, avail)`` or a recurrent policy (``initial_carry()``, ``f(key, obs, avail, carry)``)."""
    if isinstance(policy, str) and policy not in ALLY_POLICIES:
        raise ValueError(f"policy must be one of {ALLY_POLICIES} or a callable, got {policy!r}")
    ally_h = make_heuristic_policy(env, team=0) if policy == "heuristic" else None
    rows = np.arange(env.num_allies)
    recurrent = hasattr(policy, "initial_carry")

    def act(key, state, ps):
        s = state.state
        avail = env.get_avail_actions(state)
        if policy == "heuristic":
            o = observations(env, s, pairwise_distance(s.unit_positions), rows)
            a, ps = ally_h(jax.random.split(key, env.num_allies), ps, o)
            return {ag: a[i] for i, ag in enumerate(env.agents)}, ps
        if policy == "stop":
            return {ag: jnp.int32(4) for ag in env.agents}, ps
        if policy == "random":
            ks = jax.random.split(key, env.num_allies)
            return {
                ag: jax.random.categorical(ks[i], jnp.log(avail[ag].astype(jnp.float32)))
                for i, ag in enumerate(env.agents)
            }, ps
        if recurrent:
            return policy(key, env.get_obs(state), avail, ps)
        return policy(key, env.get_obs(state), avail), ps

    return act


def _run_episode(env, key, policy, steps: int):
    """The jitted scan behind ``record_episode``: (initial state, per-step tick arrays)."""
    act = ally_actor(env, policy)
    recurrent = hasattr(policy, "initial_carry")

    def run(key):
        key, k0 = jax.random.split(key)
        _, state = env.reset(k0)
        ps = policy.initial_carry() if recurrent else initial_policy_state(env.num_allies)

        def body(carry, k):
            state, ps, done = carry
            k_act, k_step = jax.random.split(k)
            actions, ps = act(k_act, state, ps)
            new, r_a, _, ticks = env.step_physics_h(k_step, state, actions, return_ticks=True)
            targets = attack_targets(new.state.prev_attack_actions, env.num_allies, env.num_units)
            out = dict(
                pos=ticks.unit_positions, health=ticks.unit_health, alive=ticks.unit_alive,
                target=targets, reward=jnp.where(done, 0.0, r_a), valid=~done,
            )  # fmt: skip
            return (new, ps, done | new.state.done), out

        init = (state, ps, jnp.array(False))
        _, out = jax.lax.scan(body, init, jax.random.split(key, steps))
        return state.state, out

    s0, out = jax.jit(run)(key)
    return s0, jax.tree.map(np.asarray, out)


def record_episode(env, key, policy="heuristic", max_steps: int | None = None) -> dict:
    """One episode (no auto-reset) as numpy arrays over ticks: positions [K, N, 2], health, alive, and
    per tick the attack target of each unit (-1 if none); plus per step the ally reward. ``policy`` is one of
    ``ALLY_POLICIES``, ``f(key, obs_dict, avail_dict) -> actions_dict``, or a recurrent policy with
    ``initial_carry()`` and ``f(key, obs_dict, avail_dict, carry) -> (actions_dict, carry)`` (e.g.
    ``rlbook.learners.mappo.GreedyPolicy``)."""
    steps = env.max_steps + 1 if max_steps is None else int(max_steps)
    s0, out = _run_episode(env, key, policy, steps)
    t = int(out["valid"].sum())
    k = env.world_steps_per_env_step
    rec = {
        "types": np.asarray(s0.unit_types),
        "num_allies": env.num_allies,
        "radius": np.asarray(env.unit_type_radiuses)[np.asarray(s0.unit_types)],
        "max_health": np.asarray(env.unit_type_health)[np.asarray(s0.unit_types)],
        "start_pos": np.asarray(s0.unit_positions),
        "pos": out["pos"][:t].reshape(t * k, -1, 2),
        "health": out["health"][:t].reshape(t * k, -1),
        "alive": out["alive"][:t].reshape(t * k, -1),
        "target": np.repeat(out["target"][:t], k, axis=0),
        "reward": out["reward"][:t],
        "steps": t,
        "ticks_per_step": k,
        "map_size": (env.map_width, env.map_height),
    }
    rec["return"] = float(rec["reward"].sum())
    rec["won"] = bool(rec["alive"][-1, env.num_allies :].sum() == 0) and bool(
        rec["alive"][-1, : env.num_allies].any()
    )
    return rec
