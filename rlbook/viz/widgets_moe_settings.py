"""Chapter 10 widgets: an architecture picker with parameter counts, and a run viewer (arm, seed -> phase x
game return matrix with forgetting, dormant fraction over updates, per-task expert usage). The pure functions
are tested without a front end; ``*_widget`` wrap them in ipywidgets."""

from __future__ import annotations

import numpy as np

from rlbook.envs.multitask_minatar import GAMES, SHORT
from rlbook.moe.settings_nets import SettingsNetConfig, param_count


def arch_counts(arch: str, router: str, num_experts: int = 3) -> dict:
    """Parameters of one torso + 6-action head, and relative to the baseline's."""
    n = param_count(SettingsNetConfig(arch=arch, router=router, num_experts=num_experts))
    base = param_count(SettingsNetConfig())
    return {
        "arch": arch,
        "router": router,
        "experts": num_experts,
        "params": n,
        "vs_baseline": n / base,
    }


def run_view(result: dict) -> dict:
    """The matrix R[phase, game], per-game drop from the end of its own phase to the end (CRL), and the
    final critic dormant fraction of one run (an entry of ``results["arms"][arm][seed]``)."""
    r = np.asarray(result["returns_matrix"], float)
    order = list(result["order"])
    drops = {}
    if order[0] >= 0:  # CRL: phase p trained game order[p]
        drops = {SHORT[GAMES[g]]: float(r[p, g] - r[-1, g]) for p, g in enumerate(order[:-1])}
    return {
        "matrix": r,
        "drops": drops,
        "forgetting": float(np.mean(list(drops.values()))) if drops else float("nan"),
        "final_critic_dormant": float(result["final_critic_dormant"]),
    }


def plot_run(result: dict, title: str = ""):
    import matplotlib.pyplot as plt
    import seaborn as sns

    v = run_view(result)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    names = [SHORT[g] for g in GAMES]
    order = list(result["order"])
    rows = [f"after {SHORT[GAMES[g]]}" if g >= 0 else f"phase {i + 1}" for i, g in enumerate(order)]
    sns.heatmap(v["matrix"], annot=True, fmt=".3g", xticklabels=names, yticklabels=rows, ax=axes[0],
                cmap="viridis", cbar_kws={"label": "eval return"})  # fmt: skip
    axes[0].set_title(f"{title} forgetting {v['forgetting']:.3g}")
    axes[1].plot(result["critic_dormant"], label="critic")
    axes[1].plot(result["actor_dormant"], label="actor")
    axes[1].set_xlabel("PPO update")
    axes[1].set_ylabel("dormant fraction (tau = 0)")
    axes[1].legend()
    fig.tight_layout()
    return fig


def arch_widget():
    import ipywidgets as W

    def show(arch="middle", router="soft", num_experts=3):
        try:
            c = arch_counts(arch, router, num_experts)
            print(f"{c['params']:,} parameters per torso ({c['vs_baseline']:.2f} x baseline)")
        except ValueError as e:
            print(e)

    return W.interactive(
        show,
        arch=W.Dropdown(options=["baseline", "middle", "final", "all", "big"], value="middle"),
        router=W.Dropdown(options=["soft", "top1", "hard"], value="soft"),
        num_experts=W.IntSlider(value=3, min=1, max=8),
    )


def runs_widget(arms: dict):
    """``arms``: {name: {seed: result}} from one or more runs of the ``moe_settings`` experiment."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    def show(arm=next(iter(arms)), seed=0):
        seeds = arms[arm]
        s = str(seed) if str(seed) in seeds else next(iter(seeds))
        plot_run(seeds[s], f"{arm} seed {s}:")
        plt.show()

    seeds = sorted({int(s) for v in arms.values() for s in v})
    return W.interactive(
        show, arm=W.Dropdown(options=list(arms)), seed=W.Dropdown(options=seeds, value=seeds[0])
    )
