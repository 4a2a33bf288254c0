"""Chapter 3 widgets and figures: a trained Shaper against co-players of other learning rates, with its
memory carried or reset, and a replay viewer of grid-game episodes across the co-player's learning.

* ``coplayer_response`` / ``make_coplayer_explorer``: per-episode rewards and the co-player's P(C | s)
  as it learns against fixed agent parameters (IPD), for a chosen co-player learning rate and memory mode.
* ``record_replay`` / ``replay_frame`` / ``make_replay_viewer``: every step of one grid-game trial
  (CoinGame or IPD-in-the-Matrix), rendered as RGB frames, browsable by co-player update and step;
  ``replay_animation`` turns chosen episodes into a matplotlib animation.
"""

from __future__ import annotations

import dataclasses
import functools

import ipywidgets as widgets
import jax
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from rlbook.games import coin_game, ipditm
from rlbook.shaping.shaper import (
    ShaperConfig,
    coplayer_p_cooperate,
    make_env,
    make_trial,
    validate,
)

STATE_LABELS = ("start", "CC", "CD", "DC", "DD")


@functools.lru_cache(maxsize=16)
def trials_fn(c: ShaperConfig):
    """``jit(vmap(trial))`` over co-player keys for config ``c``, compiled once per config."""
    return jax.jit(jax.vmap(make_trial(c), (None, 0)))


def coplayer_response(
    params,
    cfg: ShaperConfig,
    lr: float = 2.0,
    memory: str = "carry",
    seed: int = 0,
    trials: int = 32,
) -> dict:
    """Play ``params`` (a Shaper trained on ``cfg``, IPD) against ``trials`` fresh co-players with
    learning rate ``lr``; memory ``"carry"`` or ``"reset"``. Returns per-episode mean rewards and the
    co-player's mean P(C | s) after each of its updates."""
    if cfg.env not in ("ipd", "imp", "ipd_meta"):
        raise ValueError(
            f"cfg.env must be 'ipd', 'imp' or 'ipd_meta' for coplayer_response, got {cfg.env!r}"
        )
    c = dataclasses.replace(cfg, coplayer_lr=float(lr), memory=memory)
    validate(c)
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    out = trials_fn(c)(params, jax.random.split(jax.random.key(int(seed)), int(trials)))
    # ipd_meta: the co-player's logits are P(C | s) logits; sampled games: a linear softmax policy
    meta = cfg.env == "ipd_meta"
    p_coop = jax.nn.sigmoid(out.coplayer) if meta else coplayer_p_cooperate(out.coplayer)
    return {
        "lr": float(lr),
        "memory": memory,
        "agent": np.asarray(out.reward[..., 0].mean(0)),
        "coplayer": np.asarray(out.reward[..., 1].mean(0)),
        "p_coop": np.asarray(p_coop.mean(0)),  # [K, 5]
    }


def plot_response(res: dict):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    k = np.arange(1, len(res["agent"]) + 1)
    axes[0].plot(k, res["agent"], "o-", label="Shaper")
    axes[0].plot(k, res["coplayer"], "s-", label="co-player")
    axes[0].set_xlabel("inner episode (co-player update)")
    axes[0].set_ylabel("IPD reward per step")
    axes[0].legend()
    for s in range(5):
        axes[1].plot(k, res["p_coop"][:, s], label=STATE_LABELS[s])
    axes[1].set_xlabel("co-player update")
    axes[1].set_ylabel("co-player P(C | s)")
    axes[1].set_ylim(0, 1)
    axes[1].legend(fontsize=7, ncol=2)
    fig.suptitle(f"co-player lr {res['lr']:g}, memory {res['memory']}")
    fig.tight_layout()
    return fig


def make_coplayer_explorer(params, cfg: ShaperConfig, lr: float = 2.0) -> widgets.interactive:
    """Sliders for the co-player's learning rate (starting at ``lr``) and the memory mode."""
    cache: dict = {}

    def show(lr=lr, memory="carry"):
        key = (round(lr, 3), memory)
        if key not in cache:
            cache[key] = coplayer_response(params, cfg, lr, memory)
        res = cache[key]
        plot_response(res)
        plt.show()
        return {"agent": float(res["agent"].mean()), "coplayer": float(res["coplayer"].mean())}

    return widgets.interactive(
        show,
        lr=widgets.FloatSlider(
            value=lr,
            min=0.5,
            max=4.0,
            step=0.5,
            description="co-player lr",
            continuous_update=False,
        ),
        memory=widgets.ToggleButtons(
            options=["carry", "reset"], value="carry", description="memory"
        ),
    )


def record_replay(params, cfg: ShaperConfig, seed: int = 0) -> dict:
    """One grid-game trial of ``params`` with every env state recorded (leaves [K, L, E, ...])."""
    if cfg.env not in ("coin_game", "ipditm"):
        raise ValueError(f"cfg.env must be 'coin_game' or 'ipditm', got {cfg.env!r}")
    out, states = jax.jit(make_trial(cfg, record=True))(params, jax.random.key(int(seed)))
    return {
        "cfg": cfg,
        "states": jax.tree_util.tree_map(np.asarray, states),
        "reward": np.asarray(out.reward),
    }


def replay_frame(rep: dict, episode: int, step: int, env: int = 0) -> np.ndarray:
    """uint8 RGB frame of ``step`` in inner ``episode`` of environment ``env``."""
    cfg = rep["cfg"]
    if not 0 <= episode < cfg.num_episodes:
        raise ValueError(f"episode must lie in [0, {cfg.num_episodes - 1}], got {episode}")
    if not 0 <= step < cfg.num_steps:
        raise ValueError(f"step must lie in [0, {cfg.num_steps - 1}], got {step}")
    if not 0 <= env < cfg.num_envs:
        raise ValueError(f"env must lie in [0, {cfg.num_envs - 1}], got {env}")
    s = jax.tree_util.tree_map(lambda x: x[episode, step, env], rep["states"])
    spec = make_env(cfg)
    mod = coin_game if cfg.env == "coin_game" else ipditm
    return mod.render(s, spec.params)


def make_replay_viewer(rep: dict) -> widgets.interactive:
    cfg = rep["cfg"]

    def show(episode=0, step=0):
        img = replay_frame(rep, episode, step)
        fig, ax = plt.subplots(figsize=(3.2, 3.2))
        ax.imshow(img)
        ax.set_axis_off()
        r = rep["reward"][episode]
        ax.set_title(f"update {episode}: Shaper {r[0]:.2f}, co-player {r[1]:.2f} /step", fontsize=9)
        plt.show()
        return {"episode": episode, "step": step, "shape": img.shape}

    return widgets.interactive(
        show,
        episode=widgets.IntSlider(0, 0, cfg.num_episodes - 1, description="co-player update"),
        step=widgets.IntSlider(0, 0, cfg.num_steps - 1, description="step"),
    )


def replay_animation(rep: dict, episodes=(0, -1), env: int = 0, interval: int = 150):
    """A matplotlib animation of whole inner episodes (e.g. the first and the last co-player update)."""
    cfg = rep["cfg"]
    eps = [e % cfg.num_episodes for e in episodes]
    frames = [(e, t) for e in eps for t in range(cfg.num_steps)]
    fig, ax = plt.subplots(figsize=(3.2, 3.4))
    im = ax.imshow(replay_frame(rep, *frames[0], env))
    ax.set_axis_off()
    title = ax.set_title("")

    def update(i):
        e, t = frames[i]
        im.set_data(replay_frame(rep, e, t, env))
        title.set_text(f"co-player update {e}, step {t}")
        return im, title

    anim = animation.FuncAnimation(fig, update, frames=len(frames), interval=interval, blit=False)
    plt.close(fig)
    return anim
