"""Chapter 9 widgets: a Soft MoE router inspector (expert count / slots / tokeniser -> dispatch heat map and
parameter counts) and a browser of ``data/moe_scaling_*.json`` runs. The pure functions are tested without a
front end; ``*_widget`` wrap them in ipywidgets."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np

from rlbook.moe.layers import SoftMoE, soft_slots
from rlbook.moe.tokenize import token_shape, tokenize


def param_counts(
    h: int, w: int, c: int, tokens: str, num_experts: int, expert_hidden: int, slots=None
) -> dict:
    """Shapes and parameter counts of a Soft MoE penultimate layer on an [h, w, c] encoder output."""
    m, d = token_shape(h, w, c, tokens)
    p = slots or soft_slots(m, num_experts)
    experts = num_experts * (2 * d * expert_hidden + expert_hidden + d)
    return {
        "m": m,
        "d": d,
        "slots_per_expert": p,
        "slots": num_experts * p,
        "expert_params": experts,
        "phi_params": d * num_experts * p,
        "total": experts + d * num_experts * p + 1,
        "dense_equivalent": h * w * c * 128 + 128,
    }


def router_view(
    features: np.ndarray, tokens: str, num_experts: int, slots=None, seed: int = 0
) -> dict:
    """Dispatch / combine weights of a freshly initialised Soft MoE on a batch of encoder outputs [B, h, w, c]."""
    x = tokenize(jax.numpy.asarray(features), tokens)
    layer = SoftMoE(num_experts, 32, slots_per_expert=slots)
    params = layer.init(jax.random.key(seed), x)
    _, aux = layer.apply(params, x)
    b, m, n, p = aux["dispatch"].shape
    return {
        "dispatch": np.asarray(aux["dispatch"][0]).reshape(m, n * p),
        "combine": np.asarray(aux["combine"][0]).reshape(m, n * p),
        "params": sum(v.size for v in jax.tree_util.tree_leaves(params)),
    }


def plot_router(view: dict, ax=None):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    for a, k in zip(ax, ("dispatch", "combine"), strict=True):
        im = a.imshow(view[k], aspect="auto", cmap="viridis")
        a.set_xlabel("slot (expert-major)")
        a.set_ylabel("token")
        a.set_title(f"{k} weights")
        plt.colorbar(im, ax=a)
    return ax


def router_widget(features: np.ndarray):
    import ipywidgets as W
    import matplotlib.pyplot as plt

    def show(num_experts=4, slots=1, tokens="perfeat"):
        v = router_view(features, tokens, num_experts, slots)
        plot_router(v)
        plt.suptitle(f"{tokens}, {num_experts} experts x {slots} slots: {v['params']} parameters")
        plt.show()

    return W.interactive(
        show,
        num_experts=W.IntSlider(value=4, min=1, max=8),
        slots=W.IntSlider(value=1, min=1, max=16),
        tokens=W.Dropdown(options=["perconv", "perfeat", "persamp"], value="perfeat"),
    )


def load_runs(data_dir: str | Path = "data") -> dict:
    """{file name: {arm: {seed: result}}} for every data/moe_scaling_*.json."""
    out = {}
    for f in sorted(Path(data_dir).glob("moe_scaling_*.json")):
        d = json.loads(f.read_text())
        res = d.get("results", d)
        if "arms" in res:
            out[f.name] = res["arms"]
    return out


def run_table(arms: dict, metric: str = "final_return") -> list[dict]:
    """Mean and per-seed values of one metric per arm."""
    rows = []
    for name, seeds in arms.items():
        vals = [v[metric] for v in seeds.values()]
        rows.append({"arm": name, "mean": float(np.mean(vals)), "seeds": len(vals), "values": vals})
    return rows


def runs_widget(data_dir: str | Path = "data"):
    import ipywidgets as W
    import matplotlib.pyplot as plt

    runs = load_runs(data_dir)
    if not runs:
        return W.Label(f"no moe_scaling_*.json runs in {data_dir}")

    def show(file, metric="return"):
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for name, seeds in runs[file].items():
            curves = np.array([s[metric] for s in seeds.values()], float)
            ax.plot(np.nanmean(curves, 0), label=name)
        ax.set_xlabel("PPO update")
        ax.set_ylabel(metric)
        ax.legend(fontsize=7, ncol=2)
        plt.show()

    return W.interactive(
        show,
        file=W.Dropdown(options=list(runs)),
        metric=W.Dropdown(
            options=["return", "critic_dormant", "critic_dormant_025", "critic_srank"]
        ),
    )
