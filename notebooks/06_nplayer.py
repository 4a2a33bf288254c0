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
# # 6. Opponent shaping with N players
#
# **Where this stands.** Chapters 1-3 followed one non-stationarity: *the other learner*. A naive
# learner treats its co-player as part of the environment; LOLA, M-FOS and Shaper exploit the fact
# that the co-player learns. This chapter moves to *many learners*: what happens to shaping when a
# shaper faces two, three or four naive learners at once, and when several shapers share a table?
#
# **Prerequisites.** Chapter 1 (memory-one policies, the exact discounted value, NL and LOLA),
# Chapter 2 (M-FOS as evolution strategies over a meta-policy), Chapter 3 (Shaper).
#
# **The paper.** *Leading the Pack: N-player Opponent Shaping* (Souly, Willi, Khan, Kirk, Lu,
# Grefenstette, Rocktäschel, 2023) extends opponent shaping to 3-5 players on four games and claims:
# (1) shaping reaches better global welfare than naive learning; (2) the advantage shrinks as the
# number of players grows; (3) with several shapers, games that need a majority of cooperators end in
# poor welfare.

# %%
import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from rlbook.book.nb import fmt, nb_setup, show_source, table, timed
from rlbook.games import matrix as mx
from rlbook.games import nplayer as npl
from rlbook.learners import nplayer as nplearn
from rlbook.shaping import npos
from rlbook.viz import widgets_nplayer as wn

SEED = 0
PRESET = "book"
key = jax.random.key(SEED)
rng = nb_setup(SEED)
DATA = Path("../data")

# %% [markdown]
# ## Four N-player games
#
# All four games are *symmetric*: a player's payoff depends only on its own action and on how many
# players defect. So a game is a table with $N + 1$ rows (number of defectors $d$, **including
# oneself**) and two columns (own action, 0 = cooperate). Two cells can never happen (a cooperator
# among $N$ defectors, a defector among none); rlbook stores them as NaN so that a bug which reads
# them shows up. With $k$ cooperating *others* and $n_C$ cooperators in total:
#
# | game | cooperate | defect |
# |---|---|---|
# | N-player prisoner's dilemma (N-IPD) | $2k$ | $2k + 1$ |
# | snowdrift ($b = N$, $c = N - 1$) | $b - c / n_C$ | $b$ if $n_C \ge 1$, else 0 |
# | stag hunt (needs $n_C \ge \max(2, \lceil N/2 \rceil)$) | $6 n_C / N - 3$, else $-3$ | $6 n_C / N$, else 0 |
# | tragedy of the commons (survives while $d \le \lfloor (N-1)/2 \rfloor$) | 2, else $-3$ | 5, else 0 |
#
# These rules reproduce the reference code's tables for $N = 3, 4, 5$ (tested in
# `tests/test_nplayer.py`).

# %%
for game in npl.GAME_NAMES:
    t = npl.payoff_table(game, 4)
    rows = [
        {
            "defectors": d,
            "cooperate": "-" if np.isnan(c) else fmt(c),
            "defect": "-" if np.isnan(x) else fmt(x),
        }
        for d, (c, x) in enumerate(t)
    ]
    g4 = npl.make_game(game, 4)
    print(f"{npl.GAME_LABELS[game]}, N = 4 (dominant action: {npl.dominant_action(g4)})")
    print(table(rows))
    print()

# %% [markdown]
# The welfare of a profile is the mean per-round reward over all players. All-C beats all-D in
# every game, yet only the N-IPD has a strictly dominant action (defect). In the reference's N = 4
# stag hunt, defecting is *weakly* dominant too (a lone defector among cooperators earns 4.5 > 3):
# its "stag hunt" rewards the hare hunter when the stag is caught anyway. In the commons the best
# profile is not all-C: a minority of over-users gains while the commons still stands.

# %%
welfare_rows = []
for game in npl.GAME_NAMES:
    for n in (3, 4, 5):
        s = wn.table_summary(game, n)
        welfare_rows.append(
            {
                "game": game,
                "N": n,
                "all-C": s["welfare_all_c"],
                "all-D": s["welfare_all_d"],
                "best #defectors": s["best_defectors"],
                "dominant": s["dominant"],
            }
        )
        assert s["welfare_all_c"] > s["welfare_all_d"]
print(table(welfare_rows))
assert all(r["dominant"] == "D" for r in welfare_rows if r["game"] == "ipd")

# %%
fig, axes = plt.subplots(2, 4, figsize=(13, 5.6))
for j, game in enumerate(npl.GAME_NAMES):
    wn.plot_table(wn.table_summary(game, 4), ax=axes[:, j])
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Widget: a game and N
#
# *Predict first:* in the tragedy of the commons with N = 7, how many over-users maximise welfare, and
# does all-D pay anything? Move the sliders and check. (The figure above is the same picture at
# N = 4.)

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state and its callback's figure are rebuilt by the front end
display(wn.make_table_explorer())

# %%
s7 = wn.table_summary("commons", 7)
print("commons, N = 7: welfare by defectors", fmt(np.array(s7["welfare_by_defectors"])))
assert s7["best_defectors"] == 3 and s7["welfare_all_d"] == 0.0

# %% [markdown]
# ## From two to N players: state, observation, value
#
# With $N$ players the previous joint action is one of $2^N$ states. Each player needs to see it
# *from its own seat*: player $i$ reads the actions rotated to start at itself,
# $(a_i, a_{i+1}, \dots, a_{N-1}, a_0, \dots, a_{i-1})$, as a binary number with its own action as the
# most significant bit. A memory-one policy is then $\theta_i \in \mathbb{R}^{2^N + 1}$: index 0 for
# the first round, index $1 + o$ for rotated observation $o$. At $N = 2$ this is exactly Chapter 1's
# layout: the second player's CD and DC are swapped.
#
# The joint transition is a product of the players' cooperation probabilities,
# $P[s, s'] = \prod_j \pi_j(a'_j \mid o_j(s))$, and the exact value is Chapter 1's formula on the
# $2^N$-state chain: $M = d_0^\top (I - \gamma P)^{-1}$ with $\sum_s M_s = 1/(1-\gamma)$, and
# $V_i = M \cdot r_i$.

# %%
show_source(npl.visitation_probs)

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
n = 3
g3 = npl.make_game("ipd", n)
th = jax.random.normal(key, (n, 2**n + 1))
v = npl.exact_value(th, g3)
m = npl.visitation(th)
# the visitation sums to 1 / (1 - gamma) = 25
assert abs(float(m.sum()) - 25.0) < 1e-3
# moving everyone one seat to the left moves the values one seat to the left
np.testing.assert_allclose(
    npl.exact_value(jnp.roll(th, -1, axis=0), g3), jnp.roll(v, -1), rtol=1e-4
)
# at N = 2 the N-IPD is Chapter 1's IPD shifted by +3
th2 = jax.random.normal(jax.random.fold_in(key, 2), (2, 5))
v2 = npl.exact_value(th2, npl.make_game("ipd", 2))
np.testing.assert_allclose(
    v2, jnp.stack(mx.exact_value(th2[0], th2[1], mx.get_game("ipd"))) + 3, rtol=1e-4
)
# and the exact value is the Monte-Carlo discounted return of the sampled game
returns, rewards = npl.rollout_memory1(
    jax.random.fold_in(key, 3), th, g3, num_steps=250, num_envs=2048
)
mc = np.asarray(returns.mean(0)) * 0.04
se = np.asarray(returns.std(0)) / np.sqrt(2048) * 0.04
assert np.all(np.abs(mc - np.asarray(v)) < 4 * se)
print("exact per-step values", fmt(v))
print("Monte Carlo (2048 games)", fmt(mc), "+-", fmt(se))

# %% [markdown]
# ## Learners: NL, exact N-player LOLA and ES shapers
#
# A **naive learner** ascends its own value, $\theta_i \leftarrow \theta_i + \alpha \nabla_i V_i$.
# **Exact N-player LOLA** looks one step ahead through *every* co-player: each $j \ne i$ takes its naive
# step as a function of $\theta_i$, and player $i$ ascends
# $V_i(\theta_i, \{\theta_j + \eta \nabla_j V_j(\theta)\}_{j \ne i})$.

# %%
show_source(nplearn.lola_grad)

# %% [markdown]
# An **ES shaper** (M-FOS-style, Chapter 2) is a meta-policy: at every learning step it sees every
# seat's current policy (rotated to start at its own seat) and outputs its next memory-one policy;
# the naive learners then update. OpenES trains it on its own mean reward over a whole learning run
# of fresh co-players. With two shapers each has its own ES and its own fitness.

# %%
show_source(npos.rollout)

# %% [markdown]
# ### Live: one LOLA among naive learners, N = 3
#
# Three players of the N-IPD learn for 100 steps from random policies, either all naive or with one
# exact-LOLA player in seat 0. (The ES shapers take minutes to train on a CPU; their runs are stored
# below.)

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
with timed("NL-only and one LOLA, 64 runs x 100 steps"):
    runs = {
        mix: nplearn.simulate(key, g3, wn.mix_kinds(mix, 3), n_runs=64, n_steps=100)
        for mix in ("nl", "lola")
    }
    jax.block_until_ready(runs)

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
live = {mix: np.asarray(r.value[:, 1:]) for mix, r in runs.items()}
for mix, val in live.items():
    print(
        f"{mix:5s} welfare {fmt(val.mean())}  seat 0 {fmt(val[..., 0].mean())}  others {fmt(val[..., 1:].mean())}"
    )
# all-D pays 1 per round, all-C pays 4: naive learners end near all-D, one LOLA lifts everybody
assert live["nl"].mean() < 1.6
assert live["lola"].mean() > live["nl"].mean() + 0.5

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.4))
for mix, val in live.items():
    ax.plot(
        np.arange(1, 101),
        val.mean(axis=(0, 2)),
        label={"nl": "NL only", "lola": "1 LOLA + 2 NL"}[mix],
    )
ax.axhline(4, ls=":", c="C2", label="all-C")
ax.axhline(1, ls=":", c="C3", label="all-D")
ax.set(xlabel="learning step", ylabel="welfare per round", title="N-IPD, N = 3 (64 runs)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Stored runs: NL, LOLA and ES shapers for N = 3, 4, 5
#
# `python -m rlbook.experiments nplayer --preset book --seed 0 --out data/nplayer_book.json` runs, for
# each cell, 2 seeds (vmapped) of one shaper (OpenES, population 32, 4 co-player draws per member,
# 24 generations, 50 learning steps per run, MLP with 16 hidden units), and evaluates every mix on
# 64 held-out co-player draws shared by all mixes of a seed. Welfare is averaged over players and the
# 50 learning steps.

# %%
book = json.loads((DATA / f"nplayer_{PRESET}.json").read_text())
S, R = book["summary"], book["results"]
rows = []
for key_, res in R.items():  # keys "{game}_n{N}_{mix}"
    game, n_, mix = re.fullmatch(r"(.+)_n(\d+)_(.+)", key_).groups()
    n_ = int(n_)
    rows.append(
        {
            "game": game,
            "N": n_,
            "mix": mix,
            "welfare (seeds)": " ".join(fmt(w, 3) for w in res["welfare"]),
            "mean": float(np.mean(res["welfare"])),
            "leader": float(np.mean(res["leader"])) if mix != "nl" else "-",
            "naive": float(np.mean(res["naive"])),
        }
    )
print(table(rows))

# %%
ipd = {mix: wn.stored_welfare(R, "ipd", mix) for mix in ("nl", "lola", "shaper")}
ns = np.array(ipd["nl"]["ns"])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for k, (mix, label) in enumerate(
    (("nl", "NL only"), ("lola", "1 LOLA"), ("shaper", "1 ES shaper"))
):
    axes[0].bar(ns + (k - 1) * 0.27, ipd[mix]["welfare"], width=0.27, label=label)
    for x, seeds in zip(ns, ipd[mix]["per_seed"], strict=True):
        axes[0].plot([x + (k - 1) * 0.27] * len(seeds), seeds, "k.", ms=4)
allc = [2 * (n_ - 1) for n_ in ns]
axes[0].plot(ns, allc, "^--", c="C2", label="all-C")
axes[0].axhline(1, ls=":", c="C3", label="all-D")
axes[0].set(
    xlabel="number of players N", ylabel="welfare per round", xticks=ns, title="N-IPD (dots: seeds)"
)
axes[0].legend(fontsize=8)
for mix, label in (("lola", "1 LOLA"), ("shaper", "1 ES shaper")):
    gap = np.array(ipd[mix]["welfare"]) - np.array(ipd["nl"]["welfare"])
    share = gap / (np.array(allc) - np.array(ipd["nl"]["welfare"]))
    axes[1].plot(ns, share, "o-", label=label)
axes[1].set(
    xlabel="number of players N",
    ylabel="welfare gain / room to all-C",
    xticks=ns,
    title="advantage over NL-only, normalised",
)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %%
gain = {n_: S[f"nipd_welfare_shaper_n{n_}"] - S[f"nipd_welfare_nl_n{n_}"] for n_ in (3, 4, 5)}
gain_lola = {n_: S[f"nipd_welfare_lola_n{n_}"] - S[f"nipd_welfare_nl_n{n_}"] for n_ in (3, 4, 5)}
print("N-IPD welfare gain of one shaper over NL-only:", {n_: fmt(g, 3) for n_, g in gain.items()})
print(
    "N-IPD welfare gain of one LOLA over NL-only:  ", {n_: fmt(g, 3) for n_, g in gain_lola.items()}
)
# the book-scale target: one shaper raises N-IPD welfare above NL-only at N = 3, in every seed
assert S["nipd_welfare_shaper_n3"] > S["nipd_welfare_nl_n3"]
assert min(R["ipd_n3_shaper"]["welfare"]) > max(R["ipd_n3_nl"]["welfare"])

# %% [markdown]
# ### Two shapers in a majority game
#
# The stag hunt at N = 5 needs three cooperators. With two ES shapers among three naive learners,
# each shaper optimises its own reward (the book preset runs NL-only and two shapers here):

# %%
sh = {
    mix: R[f"stag_hunt_n5_{mix}"]
    for mix in ("nl", "shaper", "two_shapers")
    if f"stag_hunt_n5_{mix}" in R
}
print(
    table(
        [
            {
                "mix": mix,
                "welfare (seeds)": " ".join(fmt(w, 3) for w in r["welfare"]),
                "leaders": float(np.mean(r["leader"])) if mix != "nl" else "-",
                "naive": float(np.mean(r["naive"])),
            }
            for mix, r in sh.items()
        ]
    )
)
print("all-C welfare", fmt(npl.constant_welfare(npl.make_game("stag_hunt", 5), 0)), "all-D", 0)
# with two shapers the welfare stays far below all-C (3) ...
assert S["stag_hunt_welfare_two_shapers_n5"] < 0.5 * 3.0

# %% [markdown]
# Two shapers end near all-hare, as the paper says; but so does the NL-only population here, so
# at this scale the two shapers neither help nor visibly hurt: nobody escapes the all-hare basin
# within 50 learning steps.
#
# ### Widget: welfare against N for a learner mix
#
# *Predict first:* in the snowdrift game, does one LOLA among naive learners raise welfare as much as
# in the N-IPD? The widget runs NL-only, one LOLA or all-LOLA populations live on the exact game
# (N = 2, 3, 4; 16 runs of 50 steps); the figure above is the stored N-IPD answer, shapers included.

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state and its callback's figure are rebuilt by the front end
display(wn.make_welfare_explorer())

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
wv = wn.welfare_vs_n("ipd", "nl", ns=(2, 3), n_runs=16, n_steps=50)
print("NL-only N-IPD welfare at N = 2, 3:", fmt(np.array(wv["welfare"])))
assert all(
    d <= w < 0.5 * (c + d) for w, c, d in zip(wv["welfare"], wv["all_c"], wv["all_d"], strict=True)
)

# %% [markdown]
# ## Paper says / rlbook measures
#
# The paper's figures could not be checked here (only its abstract and the reference code were
# read), so the "paper" column quotes the abstract's claims. rlbook uses exact-gradient naive
# learners and exact values, not the paper's sampled PPO learners.

# %%
two = S["stag_hunt_welfare_two_shapers_n5"]
nl5 = S["stag_hunt_welfare_nl_n5"]
shrinks = gain[3] > gain[4] > gain[5]
print(
    table(
        [
            {
                "claim": "shaping beats NL-only welfare (N-IPD)",
                "paper": "abstract: better global welfare, 3-5 players",
                "rlbook (book)": f"shaper {fmt(S['nipd_welfare_shaper_n3'], 3)} vs NL {fmt(S['nipd_welfare_nl_n3'], 3)} at N=3",
                "verdict": "reproduced" if gain[3] > 0 else "contradicted",
            },
            {
                "claim": "advantage shrinks as N grows",
                "paper": "abstract",
                "rlbook (book)": "gain "
                + ", ".join(f"N={n_}: {fmt(g, 3)}" for n_, g in gain.items()),
                "verdict": "reproduced" if shrinks else "not at this scale",
            },
            {
                "claim": "several shapers in a majority game -> poor welfare",
                "paper": "abstract",
                "rlbook (book)": f"stag hunt N=5: 2 shapers {fmt(two, 3)}, NL-only {fmt(nl5, 3)} (all-C 3)",
                "verdict": "reproduced" if two < 0.5 * 3 else "not at this scale",
            },
        ]
    )
)

# %% [markdown]
# **Why.** In the N-IPD the absolute gain of one shaper is similar at N = 3 and 4 and smaller at
# N = 5, while the share of the room to all-C that it captures falls steadily (right panel above).
# One LOLA's absolute gain does not shrink (it grows slightly with N), but its share of the room
# to all-C falls too. The exact game removes sampling noise, so NL-only populations reliably slide towards
# all-D in the N-IPD and a shaper's advantage is visible with 2 seeds; but 24 generations of
# a population of 32 with 4 co-player draws is a few thousandths of the reference's ES budget
# (population 50, 10 co-players, 2000 generations), so the shapers are far from
# converged and the N-trend rests on 2 seeds. Both LOLA and the shaper are measured against the
# same held-out co-players.
#
# ## Implementation note
#
# * Naive learners need every player's *own* gradient $\nabla_i V_i$ at every step.
#   `rlbook.games.nplayer.value_and_own_grads` computes them in closed form from two linear solves
#   ($M = d_0^\top A^{-1}$ and $W = A^{-1} R$ with $A = I - \gamma P$):
#   $\partial V_i = \partial d_0 \cdot W_i + \gamma\, M\, \partial P\, W_i$, where $P$ depends on
#   $\theta_i$ only through player $i$'s factor of each joint-action probability. It equals autodiff
#   (tested) and is about ten times faster than one backward pass per player at N = 5.
# * The rotations are permutation matrices applied as matmuls, not gathers, and the linear solves
#   are rlbook's own Gauss-Jordan elimination without pivoting (`npl.solve_dd`; $I - \gamma P$ is
#   diagonally dominant, so no pivoting is needed). On the loaded 2-core machine this chapter was
#   built on, vmapped scans with batched scatters (a gather's gradient) or batched LAPACK solves
#   stopped with every XLA thread waiting; plain matmuls and elimination loops did not.
# * The reference puts the start state last (index $2^N$) and uses $\pm 1000$ in impossible cells;
#   rlbook puts it first (index 0, as in Chapter 1) and uses NaN.
# * The reference trains PPO-with-memory learners on the sampled game; rlbook's co-players are
#   exact-gradient naive learners (the `paper` preset keeps the reference's ES sizes but still on the
#   exact game).
#
# ## Key takeaways
#
# * A symmetric N-player game is a table over the number of defectors; a memory-one policy needs
#   $2^N + 1$ numbers, seen from the player's own seat (rotated observation).
# * The exact value is Chapter 1's linear solve on a $2^N$-state chain; it reduces to Chapter 1 at
#   N = 2 and is exact enough to test sampled games against.
# * One shaper (LOLA or an ES shaper) lifts the welfare of a naive population in the N-IPD, because
#   to serve its own reward it has to make the naive learners cooperate.
#
# ## Exercises
#
# 1. Compute by hand the all-C and all-D welfare of the snowdrift game for N = 6 and check with
#    `wn.table_summary`.

# %% [markdown]
# <details><summary>Solution</summary>
#
# All-C: every player clears, $b - c/N = 6 - 5/6 \approx 5.167$. All-D: nobody clears, 0.
#
# </details>

# %%
s6 = wn.table_summary("snowdrift", 6)
assert abs(s6["welfare_all_c"] - (6 - 5 / 6)) < 1e-5 and s6["welfare_all_d"] == 0.0

# %% [markdown]
# 2. Show that reading the co-players in the wrong order (counter-clockwise) changes the exact
#    value: permute one player's policy entries by another player's rotation and compare.

# %% [markdown]
# <details><summary>Solution</summary>
#
# `th.at[1, 1:].set(th[1, 1 + npl.observation_index(3)[2]])` gives player 1 the policy it would
# have with player 2's view; `npl.exact_value` changes (see
# `tests/test_nplayer.py::test_a_wrong_rotation_would_be_caught`).
#
# </details>

# %% [markdown]
# 3. Run `wn.welfare_vs_n("commons", "lola")` and `wn.welfare_vs_n("commons", "all_lola")`. Does a
#    population of LOLA learners keep the commons alive at N = 4?

# %% [markdown]
# <details><summary>Solution</summary>
#
# Compare the bars with the all-C line (2) and with 0 (collapse); the answer depends on the
# look-ahead $\eta$ and is measured, not derived.
#
# </details>

# %% [markdown]
# ## References
#
# * Souly, Willi, Khan, Kirk, Lu, Grefenstette, Rocktäschel (2023). *Leading the Pack: N-player
#   Opponent Shaping.* Reference code: `ucl-dark/pax` (N-player configs on branch `alex_learning`).
# * Foerster et al. (2018). *Learning with Opponent-Learning Awareness.*
# * Lu, Willi, de Witt, Foerster (2022). *Model-Free Opponent Shaping.*
# * Khan, Willi et al. (2024). *Scaling Opponent Shaping to High Dimensional Games.*
