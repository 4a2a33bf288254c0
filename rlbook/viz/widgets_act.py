"""Chapter 7 widgets and figures: what the adversary says, what it does to learning, the hijack.

* ``message_heatmap`` / ``make_heatmap_explorer``: the ES mean's message over (theta, theta_dot)
  at a saved generation of a stored run.
* ``retrain`` / ``make_retrain_explorer``: fresh victims trained under a chosen adversary and scale.
* ``hijack_trace`` / ``make_hijack_explorer``: one episode of a frozen victim steered to a goal g.

The heavy parts go through one cached ``Lab`` per victim config: a jitted ``victims(keys [n],
params)`` (one fresh victim per key and phi) and a jitted hijack episode, so the chapter and the
widgets compile each once.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from rlbook.act.adversary import ACTConfig, make_env, make_hijacker, unflatten
from rlbook.act.hijack import Exploiter, hijack_episode
from rlbook.act.victim import VictimConfig, final_return, mean_return, train_victims, update_returns

THETA = np.linspace(-0.21, 0.21, 21)  # the grid of rlbook.act.adversary.message_grid
THETA_DOT = np.linspace(-2.0, 2.0, 21)
SCALES = (0.0, math.pi, 2 * math.pi)


@dataclasses.dataclass(frozen=True, eq=False)
class Lab:
    """A victim config with its env and jitted workers (built once per config by ``lab``)."""

    vcfg: VictimConfig
    n: int  # victims per call

    def __post_init__(self):
        cfg = ACTConfig(victim=self.vcfg)
        env = make_env(cfg)
        object.__setattr__(self, "env", env)
        object.__setattr__(
            self, "victims", jax.jit(lambda keys, p: train_victims(self.vcfg, env, keys, p))
        )
        hcfg = ACTConfig(goal="hijack", scale=math.pi, victim=self.vcfg)
        h = make_hijacker(hcfg, env)
        object.__setattr__(self, "hijacker", h)
        object.__setattr__(
            self,
            "episode",
            jax.jit(lambda victim, ex, key, g: hijack_episode(h, victim, ex, key, g)),
        )

    def genome_template(self) -> dict:
        ex = Exploiter(self.env.num_messages, 32).init(jax.random.key(0), jnp.zeros(5))
        return {"phi": self.env.zero_phi(), "exploiter": ex}


@functools.lru_cache(maxsize=4)
def lab(vcfg: VictimConfig = VictimConfig(), n: int = 8) -> Lab:
    return Lab(vcfg, n)


def message_heatmap(snapshots: dict, generation: int) -> np.ndarray:
    """The stored message grid [21, 21, k] at the saved generation nearest to ``generation``."""
    gens = sorted(int(g) for g in snapshots)
    g = min(gens, key=lambda x: abs(x - int(generation)))
    return np.asarray(snapshots[str(g)]), g


def plot_message_heatmap(m: np.ndarray, scale: float, title: str = ""):
    fig, axes = plt.subplots(1, m.shape[-1], figsize=(3.3 * m.shape[-1], 3.0), squeeze=False)
    for c, ax in enumerate(axes[0]):
        im = ax.imshow(
            m[..., c],
            origin="lower",
            aspect="auto",
            cmap="RdBu_r",
            vmin=-scale,
            vmax=scale,
            extent=(THETA[0], THETA[-1], THETA_DOT[0], THETA_DOT[-1]),
        )
        ax.set_xlabel("pole angle θ (rad)")
        ax.set_ylabel("angular velocity θ' (rad/s)")
        ax.set_title(f"{title} message m[{c}]", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def make_heatmap_explorer(runs: dict, scale: float) -> widgets.interactive:
    """``runs``: goal -> snapshots dict (generation -> grid), as stored in data/act_book.json."""

    def show(goal=next(iter(runs)), generation=0):
        m, g = message_heatmap(runs[goal], generation)
        plot_message_heatmap(m, scale, f"{goal}, generation {g}:")
        plt.show()
        return {"goal": goal, "generation": g, "max_abs": float(np.abs(m).max())}

    last = max(int(g) for g in next(iter(runs.values())))
    return widgets.interactive(
        show,
        goal=widgets.Dropdown(options=list(runs), description="adversary"),
        generation=widgets.IntSlider(value=0, min=0, max=last, step=1, description="generation"),
    )


def retrain(phi: Any, scale: float, seed: int = 0, vcfg: VictimConfig = VictimConfig(), n=8):
    """``n`` fresh victims trained under adversary ``phi`` with message scale ``scale`` (0 = no
    messages). Returns per-update mean curve [U] (over victims), final returns [n], AUC [n]."""
    lb = lab(vcfg, n)
    if scale == 0:
        phi, scale = lb.env.zero_phi(), 1.0  # m = 0 exactly
    phis = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (n, *x.shape)), phi)
    keys = jax.random.split(jax.random.key(seed), n)
    out = lb.victims(keys, lb.env.params(phis, float(scale)))
    return {
        "curve": np.asarray(update_returns(out.stats)).mean(0),
        "final": np.asarray(final_return(out.stats, vcfg.final_updates)),
        "auc": np.asarray(mean_return(out.stats)),
        "out": out,
    }


def make_retrain_explorer(adversaries: dict, vcfg: VictimConfig = VictimConfig(), n: int = 8):
    """Pick an adversary (name -> phi) and a scale; ``n`` fresh victims retrain, the curve redraws."""

    def show(adversary=next(iter(adversaries)), scale=2 * math.pi, seed=0):
        r = retrain(adversaries[adversary], scale, seed, vcfg, n)
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        ax.plot(
            np.arange(1, len(r["curve"]) + 1), r["curve"], label=f"{adversary}, scale {scale:.3g}"
        )
        ax.set_xlabel("PPO update")
        ax.set_ylabel("mean episode return")
        ax.set_ylim(0, 205)
        ax.legend(fontsize=8)
        plt.show()
        return {"final": float(r["final"].mean()), "auc": float(r["auc"].mean())}

    return widgets.interactive(
        show,
        adversary=widgets.Dropdown(options=list(adversaries), description="adversary"),
        scale=widgets.Dropdown(
            options=[("0", 0.0), ("π", math.pi), ("2π", 2 * math.pi)],
            value=2 * math.pi,
            description="scale",
        ),
        seed=widgets.IntSlider(value=0, min=0, max=9, description="seed"),
    )


@functools.lru_cache(maxsize=8)
def _hijack_victim(genome_key: bytes, which: str, seed: int, vcfg: VictimConfig, n: int):
    lb = lab(vcfg, n)
    genome = unflatten(lb.genome_template(), np.frombuffer(genome_key, np.float32))
    phi = genome["phi"] if which == "act" else lb.env.zero_phi()
    phis = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (n, *x.shape)), phi)
    keys = jax.random.split(jax.random.key(seed), n)
    out = lb.victims(keys, lb.env.params(phis, math.pi))
    return genome, jax.tree_util.tree_map(lambda x: x[0], out)


def hijack_trace(
    genome_flat, goal: float, which: str = "act", seed: int = 0, vcfg=VictimConfig(), n=8
):
    """One episode of a fresh victim (trained under the genome's phi, or with no messages when
    ``which='no_message'``) steered by the genome's exploiter towards ``goal``.
    Returns x(t), m(t), alive(t) and the manipulation return."""
    if which not in ("act", "no_message"):
        raise ValueError(f"which={which!r}; valid: 'act', 'no_message'")
    if not -2.4 <= goal <= 2.4:
        raise ValueError(f"goal={goal} must lie in [-2.4, 2.4]")
    flat = np.asarray(genome_flat, np.float32)
    genome, victim = _hijack_victim(flat.tobytes(), which, seed, vcfg, n)
    tr = lab(vcfg, n).episode(victim, genome["exploiter"], jax.random.key(seed), jnp.float32(goal))
    return {
        "x": np.asarray(tr.x),
        "m": np.asarray(tr.m),
        "alive": np.asarray(tr.alive),
        "return": float(np.asarray(tr.reward).sum()),
    }


def plot_hijack(tr: dict, goal: float, ax=None, label: str = "", goal_line: bool = True):
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.2))
    t = np.arange(len(tr["x"]))
    alive = tr["alive"] > 0
    ax.plot(t[alive], tr["x"][alive], label=label or f"cart x (return {tr['return']:.3g})")
    if goal_line:
        ax.axhline(goal, color="k", ls="--", lw=1, label=f"secret goal g = {goal:.2g}")
    ax.set_xlabel("time step")
    ax.set_ylabel("cart position x (m)")
    ax.set_ylim(-2.5, 2.5)
    ax.legend(fontsize=8)
    return ax


def make_hijack_explorer(genome_flat, vcfg: VictimConfig = VictimConfig(), n: int = 8):
    def show(goal=1.0, victim="act"):
        tr = hijack_trace(genome_flat, goal, victim, 0, vcfg, n)
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        plot_hijack(tr, goal, axes[0])
        alive = tr["alive"] > 0
        axes[1].plot(tr["m"][alive])
        axes[1].set_xlabel("time step")
        axes[1].set_ylabel("exploiter's message m(t)")
        fig.tight_layout()
        plt.show()
        return {"return": tr["return"], "final_x": float(tr["x"][alive][-1])}

    return widgets.interactive(
        show,
        goal=widgets.FloatSlider(
            value=1.0, min=-2.4, max=2.4, step=0.1, continuous_update=False, description="goal g"
        ),
        victim=widgets.Dropdown(
            options=[("ACT victim", "act"), ("no-message victim", "no_message")],
            description="victim",
        ),
    )
