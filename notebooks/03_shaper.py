# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (rlbook)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Shaper: opponent shaping with one memory
#
# M-FOS (Chapter 2) treats a learning co-player's whole learning process as a meta-game: its meta-state
# is both players' current policies, its meta-action the agent's next inner policy. That works when a
# policy is five numbers. In a grid world a policy is a neural network and an episode is a long
# trajectory of pixels; there is no small meta-state to hand to a meta-policy. Khan, Willi et al.
# (AAMAS 2024) ask whether opponent shaping can scale to such *temporally extended* games, and answer
# with **Shaper**: a single recurrent agent whose hidden state is **not reset between the co-player's
# learning episodes**. Within an episode the memory holds the game's *history*; across episodes it holds
# the *context*: how this co-player has been responding and learning. Shaper is trained with
# evolution strategies on the agent's return over the whole learning process of a fresh co-player.
#
# Claims we test at book scale: Shaper shapes learning co-players and beats earlier opponent-shaping
# methods (M-FOS, Good Shepherd); the carried memory matters; averaging hidden states over the batch of
# parallel environments can help; CoinGame is too weak a benchmark to tell methods apart.

# %%
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display
from scipy import stats

from rlbook.book.nb import fmt, nb_setup, show_source, table, timed
from rlbook.games import coin_game, ipditm
from rlbook.shaping import shaper
from rlbook.shaping.shaper import ShaperConfig
from rlbook.viz import widgets_shaper

SEED = 0
PRESET = "book"
key = jax.random.key(SEED)
rng = nb_setup(SEED)
DATA = Path("../data")

# %% [markdown]
# ## Why exact-value methods do not scale to grid worlds
#
# LOLA and the exact M-FOS of Chapters 1-2 differentiate or evaluate the **exact** discounted value
# $V = d_0^\top (I-\gamma P)^{-1} r$. That needs the Markov chain $P$ over the game's states under both
# policies. In the IPD with memory-one policies there are 4 states (plus a start state) and $P$ is
# $4\times 4$. In a grid game the state is the positions of agents and coins (and in
# IPD-in-the-Matrix also inventories, directions and a freeze clock), the policies are networks over
# egocentric views, and there is no closed form for $P$, let alone its inverse: we can only *sample*
# episodes. The counts below are of raw states only, before any history:

# %%
cg_states = (3 * 3) ** 4  # two agents and two coins on a 3x3 torus
itm_cells = 8 * 8
itm_states = (
    itm_cells * (itm_cells - 1) * 4**2 * 2**12 * 7**4
)  # positions, directions, coins alive, inventories (<= 6 each)
rows = [
    {"game": "IPD (memory-one)", "states": 5, "policy params": 5},
    {"game": "CoinGame 3x3", "states": cg_states, "policy params": 36 * 5},
    {
        "game": "IPD-in-the-Matrix 8x8",
        "states": float(itm_states),
        "policy params": (5 * 5 * 5 + 6) * 5,
    },
]
print(table(rows))
print(
    "egocentric observation sizes: CoinGame", 3 * 3 * 4, "| IPDitM", ipditm.default_params().obs_dim
)

# %% [markdown]
# So a method for grid worlds must (i) learn from sampled episodes, (ii) condition on histories
# rather than a tabulated state, and (iii) not require the co-player's parameters as input: in a
# grid game they are a network, not five logits. Shaper meets all three with a recurrent policy and a
# black-box optimiser (ES) that only needs the return of a whole trial.
#
# ## History vs context, and one memory for both
#
# In a trial the co-player plays $K$ inner episodes of $L$ steps and updates after each. Two kinds of
# information matter to the agent:
#
# * **history**: what happened earlier in *this* episode (the co-player just defected, it holds blue
#   coins): what any recurrent policy uses;
# * **context**: what happened in *earlier episodes*: how the co-player's policy has been moving in
#   response to the agent. This is what opponent shaping exploits.
#
# M-FOS keeps the two apart: an inner policy whose memory is reset every episode, plus a meta-state
# (`th` in pax, the batch-averaged last hidden state of the previous episode) fed to it as context.
# Shaper merges them: $h$ is carried from the last step of episode $k$ into the first step of
# episode $k+1$, so the GRU itself decides what to keep. The **reset** ablation zeroes $h$ at every
# episode start: the same network, but history only.
#
# **Batch averaging.** A trial runs $E$ parallel environments against the *same* co-player, which
# updates on all of them. Each copy of the agent sees only its own environment, but the co-player's
# update depends on all $E$. Shaper's `att_type="avg"` mixes
# $h \leftarrow (1-\beta)\,h + \beta\,\overline{h}$ with $\overline{h}$ the mean over environments before
# every GRU step ($\beta=0.5$ in pax), so every copy sees some of the batch's context.

# %%
show_source(shaper.batch_average)
show_source(shaper.Agent)

# %% [markdown]
# The co-player is a linear softmax policy on its own observation. On the IPD's one-hot observation
# (start, CC, CD, DC, DD from its own perspective) this is the tabular memory-one learner; it learns by
# REINFORCE (or a PPO-style clipped step) on its own rewards after every inner episode. The trial is a
# scan over inner episodes around a scan over steps; the memory switch is one line.

# %%
show_source(shaper.coplayer_update)
show_source(shaper.play_episode)
show_source(shaper.trial_episode)

# %% [markdown]
# ES (`rlbook.learners.es.OpenES`, shared with Chapter 2) maximises the agent's mean reward over a whole
# trial; every population member meets the same co-players (common random numbers).

# %%
show_source(shaper.make_train)

# %% [markdown]
# ## The sampled IPD: Shaper vs memory reset vs M-FOS (ES) vs Good Shepherd
#
# Live, at a reduced book scale (GRU 16, trials of 4 envs x 16 episodes x 32 steps, co-player REINFORCE
# lr 2, ES population 32 with 4 co-players each, 40 generations), three seeds per method, vmapped.
# Baselines in the same harness: **M-FOS (ES)** (memory reset each episode, the previous episode's
# batch-averaged hidden state as a separate context input) and **Good Shepherd** (memoryless MLP
# [16, 16]: no history, no context). The reference point without any shaping is two co-players
# learning against each other (NL-NL).

# %%
LIVE = dict(popsize=32, generations=40, eval_trials=64)
METHODS = {
    "Shaper (carry)": dict(agent="shaper", memory="carry"),
    "Shaper (reset)": dict(agent="shaper", memory="reset"),
    "M-FOS (ES)": dict(agent="mfos"),
    "Good Shepherd": dict(agent="gs"),
}
NUM_SEEDS = 3
seed_keys = jax.random.split(key, NUM_SEEDS)


def train_seeds(cfg):
    return jax.jit(jax.vmap(shaper.make_train(cfg)))(seed_keys)


# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
live = {}
with timed("IPD, 4 methods x 3 seeds"):
    for name, kw in METHODS.items():
        cfg = ShaperConfig.preset(PRESET, **LIVE, **kw)
        live[name] = jax.block_until_ready(train_seeds(cfg))
    nl = np.asarray(shaper.naive_baseline(ShaperConfig.preset(PRESET), jax.random.key(SEED + 1)))

# %%
# NBVAL_IGNORE_OUTPUT
# why: the last digits depend on the CPU (XLA:CPU emits different vector code on different
# machines, and learning dynamics amplify it); the claims are asserted with tolerances
res = {}
for name, out in live.items():
    ev = np.asarray(out.eval_reward)  # [seeds, trials, K, 2]
    res[name] = {
        "agent": ev[..., 0].mean((1, 2)),
        "co": ev[..., 1].mean((1, 2)),
        "curve": ev.mean((0, 1)),
    }
rows = [
    {
        "method": name,
        "agent mean": r["agent"].mean(),
        "agent sd (seeds)": r["agent"].std(ddof=1),
        "co-player mean": r["co"].mean(),
        "agent per seed": fmt(r["agent"], 3),
    }
    for name, r in res.items()
]
rows.append(
    {
        "method": "NL-NL (no shaping)",
        "agent mean": nl[..., 0].mean(),
        "co-player mean": nl[..., 1].mean(),
    }
)
print(table(rows))
t_live = stats.ttest_ind(
    res["Shaper (carry)"]["agent"], res["Shaper (reset)"]["agent"], equal_var=False
)
print(f"carry vs reset, Welch t-test over {NUM_SEEDS} seeds: p = {t_live.pvalue:.3f}")
for name, r in res.items():
    assert r["agent"].mean() > nl[..., 0].mean(), name  # every trained agent beats mutual learning
assert res["Shaper (carry)"]["co"].mean() < res["Shaper (carry)"]["agent"].mean() - 0.3  # it shapes

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
k = np.arange(1, 17)
for name, r in res.items():
    axes[0].plot(k, r["curve"][:, 0], "o-", ms=3, label=name)
    axes[1].plot(k, r["curve"][:, 1], "o-", ms=3, label=name)
axes[0].plot(k, nl.mean(0)[:, 0], "k--", label="NL-NL")
axes[1].plot(k, nl.mean(0)[:, 1], "k--", label="NL-NL")
axes[0].set_title("agent")
axes[1].set_title("its learning co-player")
for ax in axes:
    ax.set_xlabel("inner episode (co-player update)")
axes[0].set_ylabel("reward per step (IPD)")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Every trained agent beats mutual learning (NL-NL drifts towards mutual defection, about $-1.84$ per
# step for both), and its co-player ends well below it: the agents have learned to exploit a naive
# learner. None reaches the clean extortion that M-FOS finds with exact values in Chapter 2. At this
# reduced scale some seeds of some methods stall (the per-seed column), so the spread over seeds is
# as large as the gaps between methods; the Welch test above says whether this run gives evidence of
# a gap, and with three seeds it does not.
#
# ## Five seeds at the full book scale (stored)
#
# `python -m rlbook.experiments shaper --preset book --out data/shaper_book.json` trains every method
# from 5 seeds at the full book scale (population 64, 60 generations), adds batch averaging and a
# CoinGame run, and stores the numbers with provenance.

# %%
book = json.loads((DATA / "shaper_book.json").read_text())
s = book["summary"]
names = {
    "shaper": "Shaper (carry)",
    "shaper_reset": "Shaper (reset)",
    "shaper_avg": "Shaper (carry, avg)",
    "mfos": "M-FOS (ES)",
    "gs": "Good Shepherd",
}
print(
    table(
        [
            {
                "method": label,
                "agent": s[f"ipd_{m}_reward"],
                "sd over seeds": s[f"ipd_{m}_reward_std"],
                "co-player": s[f"ipd_{m}_coplayer_reward"],
                "wall s": book["results"][m]["wall_s"],
            }
            for m, label in names.items()
        ]
    )
)
print("NL-NL agent:", s["ipd_nl_nl_reward"], "| carry vs reset Welch p:", s["ipd_carry_vs_reset_p"])
assert book["provenance"]["preset"] == "book" and s["num_seeds"] >= 5
assert s["ipd_shaper_reward"] > s["ipd_nl_nl_reward"] and s["ipd_coplayer_reward"] < -1.5

# %% [markdown]
# ## Batch averaging on and off
#
# Live, same reduced scale: Shaper with carried memory, with and without averaging ($\beta=0.5$).

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
with timed("Shaper with batch averaging, 3 seeds"):
    avg_out = jax.block_until_ready(
        train_seeds(ShaperConfig.preset(PRESET, **LIVE, att_type="avg"))
    )

# %%
avg_agent = np.asarray(avg_out.eval_reward)[..., 0].mean((1, 2))
no_avg = res["Shaper (carry)"]["agent"]
t_avg = stats.ttest_ind(avg_agent, no_avg, equal_var=False)
print("agent per seed, no averaging:", fmt(no_avg, 3))
print("agent per seed, averaging:   ", fmt(avg_agent, 3))
print(f"difference {avg_agent.mean() - no_avg.mean():+.3f}, Welch p = {t_avg.pvalue:.3f}")
assert np.all(np.isfinite(avg_agent))

# %% [markdown]
# In our runs averaging did **not** help: live, the averaged agents did worse (see the difference and
# its p-value above), and in the stored 5-seed run the averaged mean is lower with a large spread (one
# seed stalls). In the IPD with a tabular co-player every environment faces the same co-player whose
# policy depends only on the last joint action, so there is little batch context to share; the paper
# reports a benefit in some environments for some methods, which we do not reproduce here.
#
# ## A grid game: CoinGame at reduced size
#
# Our CoinGame (`rlbook.games.coin_game`) follows the M-FOS / pax / jaxmarl rules and is tested step by
# step against jaxmarl's `CoinGame` from injected states; IPD-in-the-Matrix (`rlbook.games.ipditm`) has
# coin inventories, an interaction whose payoff is the matrix game on the normalised inventories, and
# freeze time, tested against jaxmarl's `storm_2p` payoff and freeze counter.

# %%
show_source(coin_game.CoinGame.step_env)
show_source(ipditm.interaction_payoff)

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
_, s_cg = coin_game.reset(jax.random.key(SEED), coin_game.default_params())
_, s_itm = ipditm.reset(jax.random.key(SEED), ipditm.default_params())
axes[0].imshow(coin_game.render(s_cg, coin_game.default_params()))
axes[0].set_title("CoinGame 3x3 (red/blue agents, coins)", fontsize=9)
axes[1].imshow(ipditm.render(s_itm, ipditm.default_params()))
axes[1].set_title("IPD-in-the-Matrix 8x8 (red = C, blue = D coins)", fontsize=9)
for ax in axes:
    ax.set_axis_off()
fig.tight_layout()
plt.show()

# %% [markdown]
# Live: Shaper (carried memory) vs a CoinGame co-player (linear softmax policy on its 36-d egocentric
# view, REINFORCE after every 16-step episode), trials of 4 envs x 16 episodes, ES population 32 with
# 2 co-players, 30 generations, one seed.

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
cg_cfg = ShaperConfig.preset("coin_book", generations=30)
with timed("CoinGame Shaper, 1 seed"):
    cg_out = jax.block_until_ready(jax.jit(shaper.make_train(cg_cfg))(key))

# %%
cg_ev = np.asarray(cg_out.eval_reward)
cg_fit = np.asarray(cg_out.fitness)
print(f"ES fitness: generation 1 {cg_fit[0]:.3f} -> last {cg_fit[-1]:.3f}")
print(
    f"held-out: Shaper {cg_ev[..., 0].mean():.3f}/step, co-player {cg_ev[..., 1].mean():.3f}/step"
)
print(
    "stored book run (60 generations, pop 32): Shaper",
    s["coin_game_shaper_reward"],
    "reset",
    s["coin_game_shaper_reset_reward"],
    "co-player",
    s["coin_game_shaper_coplayer_reward"],
)
assert np.all(np.isfinite(cg_ev))

# %% [markdown]
# At this size ES moves slowly and Shaper ends only slightly ahead of its co-player; in the stored
# run, carried and reset memory score about the same (one seed each, so no ordering is claimed).
# That is in line with the paper's remark that CoinGame does not separate methods, but one seed at
# 3x3 is not evidence for it either.
#
# A replay of the trained Shaper against a fresh co-player: the first inner episode (before the
# co-player has learned anything) and the last one (after 15 updates).

# %%
rep = widgets_shaper.record_replay(cg_out.params, cg_cfg, seed=SEED + 7)
anim = widgets_shaper.replay_animation(rep, episodes=(0, -1), interval=120)
print("per-episode rewards in this replay (Shaper, co-player):")
print(fmt(rep["reward"][[0, -1]], 3))

# %%
# NBVAL_IGNORE_OUTPUT
# why: the animation's HTML carries random element ids
HTML(anim.to_jshtml(default_mode="once"))

# %% [markdown]
# ## Widgets
#
# **Co-player learning rate and memory.** The Shaper trained above (seed 0, carried memory) against
# fresh co-players with another learning rate, with its memory carried or reset at play time. Left:
# rewards per inner episode; right: the co-player's P(C | s) after each update.

# %%
shaper_params = jax.tree_util.tree_map(lambda x: x[0], live["Shaper (carry)"].params)
ipd_cfg = ShaperConfig.preset(PRESET, **LIVE)

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
display(widgets_shaper.make_coplayer_explorer(shaper_params, ipd_cfg))

# %%
carry = widgets_shaper.coplayer_response(shaper_params, ipd_cfg, lr=2.0, memory="carry")
reset = widgets_shaper.coplayer_response(shaper_params, ipd_cfg, lr=2.0, memory="reset")
print(
    f"same trained weights, memory carried: agent {carry['agent'].mean():.3f}, co-player {carry['coplayer'].mean():.3f}"
)
print(
    f"same trained weights, memory reset:   agent {reset['agent'].mean():.3f}, co-player {reset['coplayer'].mean():.3f}"
)
np.testing.assert_allclose(carry["agent"][0], reset["agent"][0])  # identical until the first reset
fig = widgets_shaper.plot_response(carry)
plt.show()

# %% [markdown]
# **Replay viewer.** Browse the CoinGame trial above by co-player update and step.

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
display(widgets_shaper.make_replay_viewer(rep))

# %%
frame = widgets_shaper.replay_frame(rep, cg_cfg.num_episodes - 1, 0)
print("frame", frame.shape, frame.dtype)
assert frame.shape == (48, 48, 3)

# %% [markdown]
# ## Shaper paper vs rlbook

# %%
print(
    table(
        [
            {
                "claim": "Shaper shapes a learning co-player (IPD)",
                "paper": "yes (vs tabular, pop 1000, 5000 gens)",
                "rlbook": f"{s['ipd_shaper_reward']} vs co-player {s['ipd_coplayer_reward']} (5 seeds)",
            },
            {
                "claim": "carried memory beats reset",
                "paper": "ablation: yes",
                "rlbook": f"{s['ipd_shaper_reward']} vs {s['ipd_shaper_reset_reward']}, p={s['ipd_carry_vs_reset_p']}",
            },
            {
                "claim": "Shaper > M-FOS, Good Shepherd",
                "paper": "yes, notably IPDitM / IMPitM",
                "rlbook": f"IPD: M-FOS {s['ipd_mfos_reward']}, GS {s['ipd_gs_reward']}",
            },
            {
                "claim": "batch averaging helps",
                "paper": "some envs / methods",
                "rlbook": f"IPD: {s['ipd_shaper_avg_reward']} vs {s['ipd_shaper_reward']}",
            },
            {
                "claim": "grid game (CoinGame)",
                "paper": "pop 4000, 600 x 16 trials, 3000 gens",
                "rlbook": f"3x3, pop 32, 60 gens: {s['coin_game_shaper_reward']} ({s['coin_game_shaper_wall_s']} s)",
            },
        ]
    )
)

# %% [markdown]
# The summary is honest about scale: the paper's IPD runs evaluate $10^9$ environment steps per
# generation for 5000 generations on GPUs; ours evaluate $2\cdot 10^6$ for 60 generations on two CPU
# cores. At this scale every method learns to exploit the naive learner, and the gaps between methods
# are of the order of the seed-to-seed spread; where the Welch p-value is large the table does not
# support an ordering. The paper's headline differences are in IPD-/IMP-in-the-Matrix with CNN-GRU
# agents and PPO co-players: the `paper` and `medium` presets of the experiment are the place to try.
#
# ## Exercises
#
# 1. Train Shaper against co-players with learning rate 0.5 and evaluate against lr 4 with the
#    widget's function. Does carried memory help more when the co-player learns faster?
# 2. Replace REINFORCE with `coplayer="ppo"` and rerun the 3-seed comparison. Which method is most
#    robust to the co-player's learning rule?
# 3. Train on `ShaperConfig.preset("ipditm_book")` (IPD-in-the-Matrix, 5x5 grid) and use the replay
#    viewer to check whether the trained agent collects red (cooperative) or blue coins before it
#    interacts.
# 4. How many seeds would you need to detect a 0.05 difference between carry and reset, given the
#    seed standard deviation in the stored run? (Power analysis for a two-sample t-test.)
# 5. Why can batch averaging not help Good Shepherd? Check by reading `Agent` and `make_trial`.
#
# ## References
#
# * A. Khan, T. Willi, N. Kwan, A. Tacchetti, C. Lu, E. Grefenstette, T. Rocktäschel, J. Foerster.
#   *Scaling Opponent Shaping to High Dimensional Games*. AAMAS 2024. Code: `ucl-dark/pax`.
# * C. Lu, T. Willi, C. Schroeder de Witt, J. Foerster. *Model-Free Opponent Shaping*. ICML 2022.
# * D. Balaguer, R. Koster, C. Summerfield, A. Tacchetti. *The Good Shepherd: An Oracle Agent for
#   Mechanism Design*. 2022.
# * A. Lerer, A. Peysakhovich. *Maintaining cooperation in complex social dilemmas using deep
#   reinforcement learning* (CoinGame). 2017.
# * A. S. Vezhnevets et al. *Options as responses: grounding behavioural hierarchies in multi-agent RL*
#   (the *-in-the-Matrix games). ICML 2020. JaxMARL `storm_2p` implementation.
