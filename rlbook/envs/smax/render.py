"""Recording and drawing SMAX battles: every physics tick, units as circles with health bars, shots as lines.

``record_episode`` runs one episode of ``HeuristicEnemySMAX`` (allies: heuristic / random / stop / a callable)
inside one jitted scan and keeps the 8 tick states of every step (jaxmarl re-simulates from stored keys
instead). ``animate_episode`` returns a matplotlib ``FuncAnimation`` (``.to_jshtml()`` shows it inline;
``save_animation`` writes a GIF only when asked); ``frame_strip`` draws a static row of frames.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rlbook.envs.smax.heuristic import initial_policy_state, make_heuristic_policy
from rlbook.envs.smax.observations import observations
from rlbook.envs.smax.physics import attack_targets, pairwise_distance

ALLY_POLICIES = ("heuristic", "random", "stop")


def record_episode(env, key, policy="heuristic", max_steps: int | None = None) -> dict:
    """One episode (no auto-reset) as numpy arrays over ticks: positions [K, N, 2], health, alive, and
    per tick the attack target of each unit (-1 if none); plus per step the ally reward. ``policy`` is one of
    ``ALLY_POLICIES``, ``f(key, obs_dict, avail_dict) -> actions_dict``, or a recurrent policy with
    ``initial_carry()`` and ``f(key, obs_dict, avail_dict, carry) -> (actions_dict, carry)`` (e.g.
    ``rlbook.learners.mappo.GreedyPolicy``)."""
    if isinstance(policy, str) and policy not in ALLY_POLICIES:
        raise ValueError(f"policy must be one of {ALLY_POLICIES} or a callable, got {policy!r}")
    steps = env.max_steps + 1 if max_steps is None else int(max_steps)
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
    out = jax.tree.map(np.asarray, out)
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


def draw_frame(ax, rec, i: int, title: bool = True, zoom: bool = True):
    """Draw tick ``i`` of a recording on ``ax`` (``zoom``: crop to the units of the whole episode)."""
    from matplotlib.patches import Circle, Rectangle

    from rlbook.envs.smax.units import UNIT_SHORTHANDS

    ax.clear()
    w, h = rec["map_size"]
    if zoom:
        lo, hi = rec["pos"].min(axis=(0, 1)) - 2.0, rec["pos"].max(axis=(0, 1)) + 2.0
        c, half = (lo + hi) / 2, max(hi - lo) / 2
        ax.set_xlim(max(0, c[0] - half), min(w, c[0] + half))
        ax.set_ylim(max(0, c[1] - half), min(h, c[1] + half))
    else:
        ax.set_xlim(0, w)
        ax.set_ylim(0, h)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    pos, hp, alive = rec["pos"][i], rec["health"][i], rec["alive"][i]
    prev_hp = rec["health"][i - 1] if i > 0 else rec["max_health"]
    na = rec["num_allies"]
    for u in range(len(pos)):
        if not alive[u]:
            continue
        t = rec["target"][i][u]
        if t != u and prev_hp[t] > hp[t]:  # the target lost health this tick: draw the shot
            ax.plot(
                [pos[u][0], pos[t][0]],
                [pos[u][1], pos[t][1]],
                color="tab:blue" if u < na else "tab:red",
                lw=0.8,
            )
    for u in range(len(pos)):
        if not alive[u]:
            continue
        r = rec["radius"][u]
        ax.add_patch(Circle(pos[u], r, color="tab:blue" if u < na else "tab:red", alpha=0.85))
        ax.text(*pos[u], UNIT_SHORTHANDS[rec["types"][u]], ha="center", va="center", fontsize=6,
                color="white")  # fmt: skip
        frac = hp[u] / rec["max_health"][u]
        ax.add_patch(Rectangle((pos[u][0] - 0.6, pos[u][1] + r + 0.2), 1.2, 0.25, color="0.8"))
        ax.add_patch(Rectangle((pos[u][0] - 0.6, pos[u][1] + r + 0.2), 1.2 * frac, 0.25,
                               color="tab:green"))  # fmt: skip
    if title:
        k = rec["ticks_per_step"]
        ret = rec["reward"][: i // k + 1].sum()
        ax.set_title(f"step {i // k} tick {i % k}  return {ret:.2f}", fontsize=8)


def animate_episode(rec, every: int = 2, max_steps: int = 40, size: float = 4.0, dpi: int = 72):
    """A ``FuncAnimation`` of the recording (every ``every``-th tick, at most ``max_steps`` env steps)."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    n = min(len(rec["pos"]), max_steps * rec["ticks_per_step"])
    frames = list(range(0, n, every))
    fig, ax = plt.subplots(figsize=(size, size), dpi=dpi)
    anim = FuncAnimation(fig, lambda i: draw_frame(ax, rec, i), frames=frames, interval=60)
    plt.close(fig)
    return anim


def frame_strip(rec, num_frames: int = 6, size: float = 2.2):
    """A static row of ``num_frames`` evenly spaced frames (the figure a test can compare)."""
    import matplotlib.pyplot as plt

    idx = np.linspace(0, len(rec["pos"]) - 1, num_frames).astype(int)
    fig, axes = plt.subplots(1, num_frames, figsize=(size * num_frames, size))
    for ax, i in zip(axes, idx, strict=True):
        draw_frame(ax, rec, int(i))
    fig.tight_layout()
    return fig


def save_animation(anim, path: str, fps: int = 15) -> None:
    """Write a GIF (pillow) or MP4 (ffmpeg) - only when asked; the book shows ``to_jshtml`` inline."""
    writer = "pillow" if str(path).endswith(".gif") else "ffmpeg"
    anim.save(path, writer=writer, fps=fps)
