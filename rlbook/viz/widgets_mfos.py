"""Chapter 2 widgets and figures: replay a trained M-FOS against a co-player of your choice.

``replay_summary`` is the pure function (tested without a frontend): it plays the trained meta-policy
for ``meta_steps`` against a fresh naive or LOLA co-player with learning rate ``opp_lr`` and returns the
co-player's policy trajectory and both rewards. ``make_replay_explorer`` wires it to widgets.
"""

from __future__ import annotations

import ipywidgets as widgets
import jax
import matplotlib.pyplot as plt
import numpy as np

from rlbook.games.matrix import OBS_NAMES
from rlbook.shaping.mfos import MFOSConfig, MFOSPolicy, meta_params, rollout


def replay_summary(
    policy_params,
    hidden: int = 32,
    game: str = "ipd",
    opponent: str = "nl",
    opp_lr: float = 1.0,
    meta_steps: int = 100,
    seed: int = 0,
    num_opps: int = 32,
) -> dict:
    """Trained M-FOS vs ``num_opps`` fresh co-players; ValueError on unknown game/opponent or bad sizes."""
    c = MFOSConfig(game=game, opponent=opponent, opp_lr=float(opp_lr), meta_steps=int(meta_steps))
    if opponent == "self":
        raise ValueError("opponent must be 'nl' or 'lola' for a replay")
    params = meta_params(c)
    net = MFOSPolicy(hidden)
    pol = lambda o: net.apply(policy_params, o)
    keys = jax.random.split(jax.random.key(int(seed)), num_opps)
    trial = jax.jit(jax.vmap(lambda k: rollout(pol, k, params)))(keys)
    return {
        "mfos_reward": float(trial.reward.mean()),
        "opp_reward": float(trial.opp_reward.mean()),
        "reward_by_step": np.asarray(trial.reward.mean(0)),
        "opp_reward_by_step": np.asarray(trial.opp_reward.mean(0)),
        "opp_p_coop": np.asarray(jax.nn.sigmoid(trial.theta).mean(0)),  # [T, 5]
        "mfos_p_coop": np.asarray(jax.nn.sigmoid(trial.phi).mean(0)),  # [T, 5]
    }


def plot_replay(summary: dict, title: str = ""):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    t = np.arange(1, len(summary["reward_by_step"]) + 1)
    axes[0].plot(t, summary["reward_by_step"], label="M-FOS")
    axes[0].plot(t, summary["opp_reward_by_step"], label="co-player")
    axes[0].set_xlabel("meta-step (co-player updates)")
    axes[0].set_ylabel("average reward per inner step")
    axes[0].legend(fontsize=8)
    for i, name in enumerate(OBS_NAMES):
        axes[1].plot(t, summary["opp_p_coop"][:, i], label=f"after {name}")
    axes[1].set_xlabel("meta-step (co-player updates)")
    axes[1].set_ylabel("co-player's P(action 0 | state)")
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def make_replay_explorer(trained: dict, hidden: int = 32) -> widgets.interactive:
    """``trained``: {game name: M-FOS parameters trained in that game}."""

    def show(game="ipd", opponent="nl", opp_lr=1.0, meta_steps=100, seed=0):
        s = replay_summary(trained[game], hidden, game, opponent, opp_lr, meta_steps, seed)
        plot_replay(
            s, f"M-FOS (trained vs NL, lr 1) replayed vs {opponent}, lr {opp_lr:g} in {game}"
        )
        plt.show()
        print(f"M-FOS {s['mfos_reward']:.3f}, co-player {s['opp_reward']:.3f} per step")
        return {k: v for k, v in s.items() if not isinstance(v, np.ndarray)}

    return widgets.interactive(
        show,
        game=widgets.Dropdown(
            options=sorted(trained), value=sorted(trained)[0], description="game"
        ),
        opponent=widgets.Dropdown(options=["nl", "lola"], value="nl", description="co-player"),
        opp_lr=widgets.FloatLogSlider(
            value=1.0, base=10, min=-1, max=1, description="its lr", continuous_update=False
        ),
        meta_steps=widgets.IntSlider(
            value=100, min=10, max=200, step=10, description="meta-steps", continuous_update=False
        ),
        seed=widgets.IntSlider(value=0, min=0, max=9, description="seed", continuous_update=False),
    )
