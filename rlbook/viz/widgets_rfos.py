"""Chapter 4 widgets and figures: R-max's constants and the bound, and the learned meta-policy.

* ``rfos_constants`` / ``make_constants_explorer``: history length, epsilon, delta, gamma -> |S|, the
  code's m next to the theorem's (constant 1), the VI sweeps, the reference's meta-episode budget and
  the bound's shape, on a log scale over h.
* ``meta_policy_table`` / ``make_policy_explorer``: a trained R-FOS run's Q-values per meta-state as a
  heat map (what R-FOS does after each recent history), cached per (h, seed).
"""

from __future__ import annotations

import functools

import ipywidgets as widgets
import jax
import matplotlib.pyplot as plt
import numpy as np

from rlbook.shaping.rfos import RFOSConfig, make_train, pac_bound, theorem_m

JOINT = ("mm", "mo", "om", "oo")  # agent/opponent actions: m = action 0, o = action 1
ACTIONS = ("play 0", "play 1")


def rfos_constants(
    h: int = 1, epsilon: float = 0.5, delta: float = 0.2, gamma: float = 0.8
) -> dict:
    """R-max's numbers for the history meta-state with ``h`` joint actions (ValueError when out of range)."""
    c = RFOSConfig(h=int(h), epsilon=float(epsilon), delta=float(delta), gamma=float(gamma))
    return {
        "h": c.h,
        "num_states": c.num_states,
        "m": c.m,
        "theorem_m": theorem_m(c.num_states, c.num_actions, c.epsilon, c.delta, c.gamma),
        "vi_sweeps": c.sweeps,
        "meta_episodes": c.episodes,
        "inner_steps": c.episodes * c.episode_len,
        "bound": pac_bound(c.num_states, c.num_actions, c.epsilon, c.delta, c.gamma),
    }


def plot_constants(current: dict, epsilon: float, delta: float, gamma: float, h_max: int = 6):
    hs = np.arange(1, h_max + 1)
    rows = [rfos_constants(int(h), epsilon, delta, gamma) for h in hs]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.semilogy(hs, [r["m"] for r in rows], "o-", label="code's m (visits per pair)")
    ax.semilogy(hs, [r["theorem_m"] for r in rows], "o:", label="theorem's m, constant 1")
    ax.semilogy(
        hs, [r["inner_steps"] for r in rows], "s-", label="budget 8 m |S| x 10 (inner steps)"
    )
    ax.semilogy(hs, [r["bound"] for r in rows], "^--", label="bound shape |S|²|A|/(ε³(1-γ)⁶)")
    ax.axvline(current["h"], color="grey", lw=1, ls=":")
    ax.set_xlabel("history length h (|S| = 4^h meta-states)")
    ax.set_ylabel("count (log scale)")
    ax.set_title(f"R-max's sample requirements, ε={epsilon:g}, δ={delta:g}, γ={gamma:g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def make_constants_explorer() -> widgets.interactive:
    def show(h=1, epsilon=0.5, delta=0.2, gamma=0.8):
        out = rfos_constants(h, epsilon, delta, gamma)
        print(
            f"|S| = {out['num_states']}, m = {out['m']} (theorem: {out['theorem_m']:.3g} x C), VI sweeps = {out['vi_sweeps']}, "
            f"budget = {out['meta_episodes']:.3g} meta-episodes, bound shape = {out['bound']:.3g}"
        )
        plot_constants(out, epsilon, delta, gamma)
        plt.show()
        return out

    return widgets.interactive(
        show,
        h=widgets.IntSlider(value=1, min=1, max=6, description="h"),
        epsilon=widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="ε"),
        delta=widgets.FloatSlider(value=0.2, min=0.05, max=0.95, step=0.05, description="δ"),
        gamma=widgets.FloatSlider(value=0.8, min=0.0, max=0.95, step=0.05, description="γ"),
    )


@functools.lru_cache(maxsize=8)
def meta_policy_table(h: int = 1, seed: int = 0) -> dict:
    """Train R-FOS (book constants) and return its Q-table, greedy policy and final reward."""
    c = RFOSConfig.preset("book", h=int(h))
    out = jax.jit(make_train(c))(jax.random.key(int(seed)))
    labels = [",".join(JOINT[(s // 4**i) % 4] for i in range(c.h)) for s in range(c.num_states)]
    return {
        "h": c.h,
        "q": np.asarray(out.model.q),
        "policy": np.asarray(out.policy),
        "labels": labels,
        "final_reward": float(out.final_reward),
    }


def plot_meta_policy(table: dict):
    q, labels = table["q"], table["labels"]
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.28 * len(labels)))
    im = ax.imshow(q, aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xticks(range(2), ACTIONS)
    ax.set_ylabel("last joint actions (newest first)")
    ax.set_xlabel("R-FOS's next inner action")
    for s, a in enumerate(table["policy"]):
        ax.text(a, s, "★", ha="center", va="center", color="white", fontsize=8)
    fig.colorbar(im, ax=ax, label="Q(s, a) (discounted return)")
    ax.set_title(f"learned meta-policy, h={table['h']}, reward {table['final_reward']:.3f}/step")
    fig.tight_layout()
    return fig


def make_policy_explorer() -> widgets.interactive:
    def show(h=1, seed=0):
        table = meta_policy_table(h, seed)
        plot_meta_policy(table)
        plt.show()
        return {
            "h": table["h"],
            "policy": table["policy"].tolist(),
            "reward": table["final_reward"],
        }

    return widgets.interactive(
        show,
        h=widgets.Dropdown(options=[1, 2], value=1, description="h"),
        seed=widgets.IntSlider(value=0, min=0, max=4, description="seed", continuous_update=False),
    )
