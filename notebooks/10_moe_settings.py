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
# # 10. Mixtures of experts across RL settings: many games at once, and one after another
#
# **Where this stands.** The book's through-line is non-stationarity. Chapters 1-8 met it through other
# learners; Chapter 9 met it inside one agent: a value network chases targets that move as its own policy
# improves, and a large share of its units go **dormant**. This chapter turns that dial up on purpose.
# In **multi-task RL (MTRL)** one network plays several games at once, so every batch mixes data from
# different reward functions and dynamics; in **continual RL (CRL)** it plays one game for a long stretch,
# then the next, so the data distribution jumps at every phase boundary and what was learned can be
# *forgotten*. Prerequisites: Chapter 9 (Soft MoE, Top-1 MoE, dormant neurons, PPO on MinAtar).
#
# **What the paper asks.** Willi, Obando-Ceron, Foerster, Dziugaite and Castro, *Mixture of Experts in a
# Mixture of RL settings* (RLC 2024), ask whether the benefits of mixtures of experts (MoEs) seen in
# Chapter 9 come from coping with non-stationarity, by training under *amplified* non-stationarity
# (MTRL, CRL), and study where an MoE goes in an actor-critic network, which router to use, and what
# happens to dormant neurons. Only the paper's abstract could be checked here: everything below about its
# game set, architectures and findings is marked as secondary, and every construction is rlbook's own
# reading of it.
#
# Spoiler: at the scale a 2-core CPU can run live (23k frames per run), the networks barely learn; we
# measure dormancy, routing and forgetting honestly and assert only what is structural or holds over
# every seed we ran.

# %%
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from IPython.display import display

from rlbook.book.nb import fmt, nb_setup, show_source, table, timed
from rlbook.envs.multitask_minatar import GAMES, SHORT, MultiTaskMinAtar, task_of
from rlbook.experiments.moe_settings import EXPERIMENT
from rlbook.learners import moe_settings as ms
from rlbook.moe.settings_nets import ARCHS, ROUTERS, BigMoE, HardMoE, SettingsTorso
from rlbook.viz import widgets_moe_settings as wms

SEED = 0
PRESET = "book"
key = jax.random.key(SEED)
rng = nb_setup(SEED)

# %% [markdown]
# ## 1. Background: two ways to make the data move
#
# Write $\mathcal{T} = \{1, \dots, K\}$ for the games (tasks), $d_k$ for the state distribution of game $k$
# under the current policy and $\theta$ for the network's parameters. PPO minimises a loss
# $L(\theta) = \mathbb{E}_{s \sim d}[\ell(\theta; s)]$ over the distribution $d$ of the data it collects.
#
# * **MTRL**: $d = \frac{1}{K}\sum_k d_k$, every update sees every game. The targets still move (each
#   $d_k$ and each value target changes with the policy), and the gradients of different games can pull
#   the same units in different directions.
# * **CRL**: phase $p$ trains on $d_{o(p)}$ only, for a game order $o$. At a phase boundary the data
#   distribution jumps. With $R[p, g]$ the return on game $g$ after phase $p$, the **forgetting** of a
#   game trained in phase $p_g$ is $R[p_g, g] - R[P, g]$ (its drop by the end of training), averaged over
#   the games trained before the last phase.
#
# A mixture of experts $y(x) = \sum_{j=1}^n g_j(x)\, f_j(x)$ can give different games different experts,
# either learned (Soft MoE's combine weights, Top-1's gate) or **hard-coded**: $g_j(x) = 1[j = t(x)]$ for
# the task id $t(x)$. The hard-coded Big network is $K$ separate torsos behind one shared head: it cannot
# interfere across games in its torso, so it is the natural control for forgetting.
#
# ## 2. One network, several games: the multi-task MinAtar interface
#
# MinAtar's games differ in their observation channels (Breakout 4, SpaceInvaders 6, Asterix 4) and, by
# default, in their action sets. With the full action set every game takes the same 6 actions; each
# observation is zero-padded to 6 channels and **3 task planes** (a one-hot of the game, constant over the
# 10 x 10 grid) are appended: every observation is [10, 10, 9]. Environment classes cannot share one
# `vmap`, so every game is stepped with its own `vmap` and each env row keeps the outputs of the game it is
# *assigned* to. The assignment is an array, not structure: MTRL (16 envs per game), each CRL phase (all 48
# envs on one game) and evaluation run one compiled program.

# %%
show_source(MultiTaskMinAtar.step)

# %%
env = MultiTaskMinAtar(GAMES, 6)
assignment = env.split_assignment()
obs, states = env.reset(key, assignment)
print("observation batch:", obs.shape, "| game of each row:", np.asarray(task_of(obs, 3)))
print("channels per game:", dict(zip([SHORT[g] for g in GAMES], env.channels, strict=True)))
pad = float(jnp.abs(obs[assignment != 1][..., 4:6]).sum())
assert obs.shape == (6, 10, 10, 9) and pad == 0.0
np.testing.assert_array_equal(task_of(obs, 3), assignment)

# %% [markdown]
# ## 3. Where the experts go: five architectures, three routers
#
# Every torso starts with Chapter 9's encoder (a 3x3 convolution with 16 features, as `PatchConv3x3`)
# and ends with a linear head. The paper's architectures as rlbook builds them:
#
# | architecture | torso after the encoder | rlbook reading |
# |---|---|---|
# | Baseline | flatten -> Dense(128) + ReLU | Chapter 9's dense torso |
# | Middle | MoE over 16 PerFeat tokens of 64 -> flatten | the penultimate layer is the MoE (Chapter 9) |
# | Final | Dense(128) + ReLU -> MoE on that one 128-d token | an MoE right before the head |
# | All | MoE over tokens -> Dense(128) + ReLU -> MoE | every hidden layer after the encoder |
# | Big | $n$ whole torsos (encoder + Dense) mixed | experts are whole networks, shared head |
#
# Routers: **soft** (Soft MoE; for Big, Soft MoE with the whole observation as its single token, so
# dispatch is the identity and combine a softmax over experts), **top1** (each token to its arg-max
# expert, scaled by its gate), **hard** (every token of an observation of task $t$ to expert $t$, read
# off the task planes). Each architecture can sit in the actor, the critic or both.

# %%
show_source(HardMoE)

# %%
rows = [wms.arch_counts(a, r) for a in ARCHS for r in ROUTERS if a != "baseline" or r == "soft"]
for r in rows:
    r["vs_baseline"] = round(r["vs_baseline"], 3)
    if r["arch"] == "baseline":
        r["router"] = "-"
print(table(rows))
base = wms.arch_counts("baseline", "soft")["params"]
assert base == (9 * 9 * 16 + 16) + (1024 * 128 + 128) + (128 * 6 + 6)
assert wms.arch_counts("big", "hard")["params"] == 3 * (base - 774) + 774

# %% [markdown]
# The Middle MoE is *smaller* than the baseline: its experts act on 64-d tokens, while the baseline's
# dense layer maps all 1024 encoder features to 128 units (Chapter 9's head-input confound, in reverse).
# Big is three baselines behind one head.
#
# The torso that wires them together:

# %%
show_source(SettingsTorso.__call__)

# %%
show_source(BigMoE.__call__)

# %% [markdown]
# ## 4. The learner: one compiled phase, two settings
#
# The loop is Chapter 9's PPO (`rlbook.learners.ppo.loss` and `truncation_bonus`, the shared GAE and
# epoch loop of `rlbook.rl`) with three changes: the environment is the multi-task batch, returns are
# logged per game, and training is cut into **phases**. A phase is `phase_updates` PPO updates with env
# $i$ playing game `assignment[i]`, followed by an evaluation of every game (16 envs per game, each env's
# first episode, sampled actions). MTRL is three phases with every game on 16 envs (one learning-rate
# annealing over all three); CRL is three phases with all 48 envs on game `order[p]`, parameters and Adam's
# state carried (optionally reset) and the learning rate annealed within each phase.
#
# gymnax 1.0 returns `terminated` and `truncated` separately; the bootstrap is cut only on `terminated`,
# and on `truncated` the reward gains $\gamma V(s_{\text{final}})$, exactly as in Chapter 9, in both settings.

# %%
show_source(ms.make_phase)

# %%
show_source(ms.make_train)

# %% [markdown]
# Per update we log each game's mean episodic return, the dormant fraction of each torso (every hidden
# unit after the encoder; an MoE's units scored per expert, on the slots the router filled, at
# $\tau = 0$ and $0.025$) and each MoE torso's expert usage per game (Soft MoE: combine mass; Top-1: token
# share; hard: one-hot).

# %%
show_source(ms.probe_metrics)

# %% [markdown]
# ## 5. Live runs at `book` scale
#
# Four arms, seed 0: MTRL with the baseline vs a Middle Soft MoE critic (3 experts), and CRL (Breakout ->
# SpaceInvaders -> Asterix) with the baseline vs a Big task-hard-coded critic. Each run is 3 phases x 5
# updates x 1,536 frames = 23,040 frames, PureJaxRL's MinAtar hyperparameters otherwise (lr 5e-3, 4
# epochs x 8 minibatches). That is very short: the point is the representation, not the score.

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
with timed("four runs"):
    summary, results = EXPERIMENT.run(PRESET, SEED)

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
print(json.dumps(summary, indent=1))
arms = results["arms"]
names = [SHORT[g] for g in GAMES]
rows = []
for arm, seeds in arms.items():
    r = seeds[str(SEED)]
    rows.append(
        {
            "arm": arm,
            **dict(zip(names, r["final_task_returns"], strict=True)),
            "critic dormant": r["final_critic_dormant"],
            "actor dormant": r["final_actor_dormant"],
            "forgetting": r.get("forgetting", "-"),
        }
    )
print(table(rows))

# %% [markdown]
# Structural checks that hold on any machine: the hard-coded router routes every game to its own expert
# (usage is the identity), the phase x game matrix has one row per phase, every number is finite and the
# dormant fractions are fractions.

# %%
hard_usage = np.asarray(arms["crl_big_hardcoded"][str(SEED)]["critic_usage"])
np.testing.assert_array_equal(hard_usage, np.eye(3))
for seeds in arms.values():
    r = seeds[str(SEED)]
    assert np.asarray(r["returns_matrix"]).shape == (3, 3)
    assert np.isfinite(r["returns_matrix"]).all()
    assert 0.0 <= r["final_critic_dormant"] <= 1.0
print("hard-coded usage = identity; matrices 3 x 3, finite")

# %% [markdown]
# ### MTRL: per-task returns and dormancy over time

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for arm, ls in (("mtrl_dense", "-"), ("mtrl_softmoe", "--")):
    r = arms[arm][str(SEED)]
    tr = np.asarray(r["task_return"], float)
    for k, g in enumerate(names):
        axes[0].plot(tr[:, k], ls, color=f"C{k}", label=f"{g} ({arm[5:]})")
    axes[1].plot(r["critic_dormant"], ls, color="k", label=f"critic, {arm[5:]}")
    axes[1].plot(r["actor_dormant"], ls, color="C3", label=f"actor, {arm[5:]}")
axes[0].set_xlabel("PPO update (1,536 frames each)")
axes[0].set_ylabel("episodic return (training episodes)")
axes[0].legend(fontsize=7, ncol=2)
axes[1].set_xlabel("PPO update (1,536 frames each)")
axes[1].set_ylabel("dormant fraction (tau = 0)")
axes[1].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Expert usage per game
#
# Does the learned router give different games different experts? The Soft MoE critic's combine mass
# per expert, per game, at the last update, next to the hard-coded router's (the identity by construction;
# in CRL each game's row is taken at the end of its own phase, when the rollouts were that game's).

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
for ax, arm in zip(axes, ("mtrl_softmoe", "crl_big_hardcoded"), strict=True):
    u = np.asarray(arms[arm][str(SEED)]["critic_usage"])
    sns.heatmap(u, annot=True, fmt=".2f", vmin=0, vmax=1, cmap="mako", ax=ax,
                xticklabels=[f"expert {j}" for j in range(u.shape[1])], yticklabels=names,
                cbar_kws={"label": "usage"})  # fmt: skip
    ax.set_title(arm)
fig.tight_layout()
plt.show()
soft_usage = np.asarray(arms["mtrl_softmoe"][str(SEED)]["critic_usage"])
np.testing.assert_allclose(soft_usage.sum(1), 1.0, atol=1e-3)

# %% [markdown]
# ### CRL: the phase x game matrix and forgetting

# %%
for arm in ("crl_dense", "crl_big_hardcoded"):
    wms.plot_run(arms[arm][str(SEED)], f"{arm}:")
    plt.show()

# %% [markdown]
# ## 6. One more seed from `data/`
#
# `data/moe_settings_medium.json` holds the same four arms for seed 1 (`python -m rlbook.experiments
# moe_settings --preset medium --seed 0 --out data/moe_settings_medium.json`; on this loaded 2-core
# machine each run took several minutes, so the stored grid is the book's arms at the book's length with
# one more seed, not the paper's grid of architectures x routers x placements x orders). Together with the
# live seed 0 it tells us which orderings are seed-robust at this scale. The one the chapter asserts is
# the dormancy gap in MTRL (it held on both seeds); the forgetting ordering is reported, not asserted
# (two seeds of returns averaged over 16 episodes, in steps of 1/16).

# %%
data = json.loads(Path("../data/moe_settings_medium.json").read_text())
stored = data["results"]["arms"]
both = {arm: {**stored[arm], str(SEED): arms[arm][str(SEED)]} for arm in arms}
rows = []
for arm, seeds in both.items():
    for s, r in sorted(seeds.items()):
        rows.append(
            {
                "arm": arm,
                "seed": s,
                **dict(zip(names, r["final_task_returns"], strict=True)),
                "critic dormant": r["final_critic_dormant"],
                "forgetting": r.get("forgetting", "-"),
            }
        )

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code (seed 0 is the live run)
print(table(rows))


def holds(arm_a, arm_b, key_):
    """Seeds on which arm_a's key_ is below arm_b's, out of all seeds."""
    ok = [both[arm_a][s][key_] < both[arm_b][s][key_] for s in both[arm_a]]
    return sum(ok), len(ok)


dorm = holds("mtrl_softmoe", "mtrl_dense", "final_critic_dormant")
forg = holds("crl_big_hardcoded", "crl_dense", "forgetting")
print(f"MTRL Soft MoE critic less dormant than dense: {dorm[0]}/{dorm[1]} seeds")
print(f"CRL Big hard-coded forgets less than dense: {forg[0]}/{forg[1]} seeds")
# the target claim, asserted because it held on every seed run (seed 0 live, seed 1 stored)
assert dorm[0] == dorm[1] == 2, f"Soft MoE critic less dormant than dense on {dorm} seeds"

# %% [markdown]
# ## 7. Widgets
#
# **Predict first:** how many parameters does a Final MoE torso with 8 experts have, relative to the
# baseline? And which architecture is the cheapest? (The table in section 3 is the static version.)

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget display (ids vary; the kernel draws it)
display(wms.arch_widget())

# %%
c8 = wms.arch_counts("final", "soft", 8)
assert c8["params"] > wms.arch_counts("final", "soft", 3)["params"]
print(f"final, soft, 8 experts: {c8['params']:,} parameters ({c8['vs_baseline']:.3g} x baseline)")

# %% [markdown]
# **Predict first:** in which CRL run does a game's return drop most after its own phase, and does the
# dormant fraction jump at the phase boundaries? Pick an arm and a seed (live seed 0 and stored seed 1);
# the figures of section 5 are the static version for seed 0.

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget display (ids vary; the kernel draws it)
display(wms.runs_widget(both))

# %%
v = wms.run_view(stored["crl_dense"]["1"])
assert v["matrix"].shape == (3, 3) and set(v["drops"]) == {"Breakout", "SpaceInvaders"}
print("stored seed 1, crl_dense: drops", {k: fmt(x) for k, x in v["drops"].items()})

# %% [markdown]
# ## 8. Paper says / rlbook measures
#
# The paper's text could not be checked here beyond its abstract: the "paper" column quotes third-party
# summaries (secondary) and gives no figure numbers. "book" is the live seed 0 (23k frames per run),
# "medium" the stored seed 1 at the same length.

# %%
# NBVAL_IGNORE_OUTPUT
# why: the seed counts compare learning dynamics whose last digits depend on the CPU's vector code
spec = float(np.abs(soft_usage - 1.0 / soft_usage.shape[1]).max())
claims = [
    {
        "claim": "MoEs help under amplified non-stationarity (MTRL, CRL)",
        "paper": "abstract (verified)",
        "rlbook": "23k frames: see section 6",
        "verdict": "not at this scale",
        "why": "runs too short to separate returns",
    },
    {
        "claim": "Soft MoE keeps fewer dormant units (MTRL)",
        "paper": "secondary",
        "rlbook": f"{dorm[0]}/{dorm[1]} seeds",
        "verdict": "reproduced" if dorm[0] == dorm[1] else "not at this scale",
        "why": "critic, tau = 0, Middle Soft MoE-3 vs dense",
    },
    {
        "claim": "Big hard-coded experts forget less (CRL)",
        "paper": "secondary",
        "rlbook": f"{forg[0]}/{forg[1]} seeds",
        "verdict": "reproduced" if forg[0] == forg[1] else "not at this scale",
        "why": "critic only; the actor is shared",
    },
    {
        "claim": "experts specialise by task",
        "paper": "secondary",
        "rlbook": f"hard: identity; soft: max |u - 1/n| = {fmt(spec, 2)}",
        "verdict": "by construction (hard); measured (soft)",
        "why": "soft usage per game vs uniform, seed 0",
    },
    {
        "claim": "placement (actor vs critic), Final/All, Top-1",
        "paper": "secondary",
        "rlbook": "built and tested, not run",
        "verdict": "not at this scale",
        "why": "CPU time: one compile + run is minutes",
    },
]
print(table(claims))

# %% [markdown]
# ## 9. Key takeaways
#
# * Multi-task and continual training are two controlled ways to make the data distribution move; the
#   phase x game return matrix makes forgetting a number.
# * Where an MoE sits changes its size more than its expert count: a Middle MoE over 64-d tokens is
#   smaller than the dense baseline, a Big MoE is $n$ baselines.
# * A task-hard-coded router is a structural guarantee (usage is the identity), a learned router is a
#   measurement; only the second can tell us whether experts specialise.
# * One compiled program for every phase and setting (the game assignment is data) is what makes such
#   grids affordable; compiling three MinAtar games inside PPO's scans is the expensive part on a CPU.
# * At 23k frames per run the returns do not separate; the claims this chapter asserts are structural
#   or hold over every seed it ran, and the table says which.
#
# ## Implementation note
#
# gymnax 1.0's MinAtar environments are separate classes, so the multi-task batch steps every game on
# every env row and keeps each row's own game (three times a single game's env cost, small next to the
# network's). The learning rate is Adam's injected hyperparameter, set every update from a schedule that
# is part of the data, so MTRL's single annealing and CRL's per-phase annealing share one compiled phase.
#
# ## 10. Exercises
#
# 1. Reset Adam's state at every CRL phase (`reset_optimizer=True`) and compare the forgetting of the
#    baseline. Does a fresh optimizer forget more or less?
#
# <details><summary>Solution</summary>
#
# `ms.make_train(SettingsConfig.preset("book", setting="crl", reset_optimizer=True), jit_phase=True)`; the
# reset throws away Adam's second-moment estimates, so the first updates of a new game are larger (the
# bias correction restarts): expect more drift away from the previous game. Measure over seeds before
# concluding anything.
# </details>
#
# 2. How many parameters does an `all` torso with 8 Soft MoE experts have? Check with `param_count`.
#
# <details><summary>Solution</summary>
#
# conv 1,312 + Middle Soft MoE (Phi 64 x 8 x 2 + 1, experts 8 x 16,576) + Dense 1024 -> 128 (131,200) +
# Final Soft MoE (Phi 128 x 8 x 1 + 1, experts 8 x 33,024) + head 774.
# </details>

# %%
from rlbook.moe.settings_nets import SettingsNetConfig, param_count  # noqa: E402

n_all8 = 1312 + (64 * 8 * 2 + 1 + 8 * 16576) + 131200 + (128 * 8 + 1 + 8 * 33024) + 774
assert param_count(SettingsNetConfig(arch="all", router="soft", num_experts=8)) == n_all8
print(f"all, soft, 8 experts: {n_all8:,} parameters")

# %% [markdown]
# 3. Turn off the task planes (zero them in `MultiTaskMinAtar.pad`): which router can no longer work, and
#    why can Soft MoE still separate the games?
#
# <details><summary>Solution</summary>
#
# The hard-coded router reads the task id off the planes: without them every observation looks like task
# 0. Soft MoE routes on the tokens themselves; the games' frames differ (different objects in different
# channels), so its combine weights can still depend on the game.
# </details>
#
# ## References
#
# * T. Willi, J. Obando-Ceron, J. Foerster, K. Dziugaite, P. S. Castro. *Mixture of Experts in a Mixture
#   of RL settings*. RLC 2024, arXiv 2406.18420.
# * J. Obando-Ceron, G. Sokar, T. Willi et al. *Mixtures of Experts Unlock Parameter Scaling for Deep
#   RL*. ICML 2024, arXiv 2402.08609 (Chapter 9).
# * J. Puigcerver, C. Riquelme, B. Mustafa, N. Houlsby. *From Sparse to Soft Mixtures of Experts*. ICLR
#   2024, arXiv 2308.00951.
# * G. Sokar, R. Agarwal, P. S. Castro, U. Evci. *The Dormant Neuron Phenomenon in Deep RL*. ICML 2023.
# * K. Young, T. Tian. *MinAtar*. 2019; R. T. Lange. *gymnax*. 2022; C. Lu et al. *PureJaxRL*. 2022.
