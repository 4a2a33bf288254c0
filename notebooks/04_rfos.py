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
# # 4. The sample complexity of opponent shaping (R-FOS)
#
# M-FOS (Chapter 2) shapes a learning opponent by solving a *meta*-MDP with model-free RL, and it works;
# but how many samples does it need, and how does that number grow with the game? Fung, Zhang, Lu, Wan,
# Willi and Foerster (2024) answer with **R-FOS**: make the meta-MDP tabular by discretising it, learn
# it with **R-max**, and inherit R-max's PAC guarantee. The price is in the bound: the number of
# discretised meta-states is exponential in the size of the inner game and in the number of agents.
#
# This chapter builds R-FOS in `rlbook.shaping.rfos`, runs it against a Q-learning opponent in matching
# pennies, and puts the measured sample counts next to the theory.

# %%
import json
from pathlib import Path

import jax
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from rlbook.book.nb import fmt, nb_setup, show_source, table, timed
from rlbook.shaping import rfos
from rlbook.shaping.rfos import RFOSConfig
from rlbook.viz import widgets_rfos

SEED = 0
PRESET = "book"
key = jax.random.key(SEED)
rng = nb_setup(SEED)
DATA = Path("../data")

# %% [markdown]
# ## PAC-MDP learning and R-max in a page
#
# An RL algorithm is **PAC-MDP** if, with probability at least $1-\delta$, the number of time steps on
# which its policy is more than $\epsilon$ worse than optimal is bounded by a polynomial in $|S|$,
# $|A|$, $1/\epsilon$, $1/\delta$ and $1/(1-\gamma)$. R-max (Brafman & Tennenholtz, 2002) achieves this
# with one idea, *optimism under uncertainty*:
#
# * a pair $(s,a)$ is **known** once it has been tried $m$ times; its empirical reward $\hat R(s,a)$ and
#   transition $\hat P(\cdot\mid s,a)$ are then trusted;
# * an unknown pair is assumed to pay the maximum forever: $Q(s,a) = Q_0 = R_{\max}/(1-\gamma)$;
# * the agent acts greedily in the optimistic model, re-planning whenever a pair becomes known.
#
# Either the greedy policy is near-optimal, or it leads to unknown pairs quickly, which get explored.
# For a count $m$ large enough that every known pair's model is $\epsilon$-accurate, the number of
# non-$\epsilon$-optimal steps is, up to constants and log factors (Strehl, Li & Littman, 2009),
#
# $$ \tilde O\!\left(\frac{|S|^2\,|A|}{\epsilon^3 (1-\gamma)^6}\,\ln\tfrac1\delta\right). $$
#
# The R-FOS code sets $m = |S|\ln(1/\delta)/(\epsilon(1-\gamma))^2$ and plans with
# $\lfloor \ln(1/(\epsilon(1-\gamma)))/(1-\gamma) \rfloor$ value-iteration sweeps:

# %%
show_source(rfos.known_threshold)
show_source(rfos.vi_sweeps)

# %% [markdown]
# ## The meta-MDP, made tabular
#
# **Inner game.** One round of matching pennies: R-FOS (the *matcher*) earns 1 when the two actions are
# equal, 0 otherwise; the opponent earns $1-r$. A meta-episode is 10 such rounds.
#
# **Opponent.** A bandit Q-learner: after playing $b$ with reward $r_2$ it sets
# $Q(b) \leftarrow 0.25\,Q(b) + 0.75\,r_2$; it plays $\arg\max Q$ with probability 0.9 (random
# tie-break) and a uniformly random action otherwise. Its Q-table is its *policy parameters*: this is the
# learner R-FOS shapes.
#
# **Meta-state.** M-FOS's meta-state is continuous (both policies). R-FOS discretises it, in one of two
# ways (both are in `rfos.meta_state`):
#
# * *Case I*, the opponent's Q-table rounded to a grid of radius $r$: $|S| = (1/r + 1)^2$ here, and
#   $\text{bins}^{\,n|S_{\text{inner}}||A|}$ in general: exponential in the inner game and in the number of agents;
# * *Case II*, the last $h$ joint actions: $|S| = 4^h$. This is what the paper's experiments use, and ours.
#
# **Meta-action** = R-FOS's next inner action; **meta-reward** = its inner reward.

# %%
show_source(rfos.MetaMDP.step_env)

# %% [markdown]
# R-max itself is three pure functions. `rmax_observe` adds a batch of transitions to the shared count
# model, keeping for each pair exactly its first $m$ samples (a cumulative sum of one-hots gives each
# sample's rank within its pair, so the batch is processed at once, and a test checks it against a plain
# loop); `rmax_plan` runs value iteration over the known part:

# %%
show_source(rfos.rmax_observe)
show_source(rfos.rmax_plan)

# %% [markdown]
# `make_train(config)` plays `num_envs` meta-episodes in parallel with the current greedy policy, feeds
# their transitions to the model, re-plans, and repeats: the whole run is one `lax.scan`, one compiled
# program. The budget is the reference's $8\,m\,|S|$ meta-episodes.
#
# **Where we differ from the reference code**, on purpose (each one a config flag that restores it):
# the opponent's Q-table is reset at every meta-episode, since R-max assumes a stationary meta-MDP (the
# reference never resets it: `persist_opp_q=True`); next states whose value is still optimistic take
# part in the backup as in textbook R-max (the reference masks them: `mask_unknown_next=True`); actions are
# greedy with a random tie-break (the reference samples a Boltzmann distribution over $Q/0.25$:
# `boltzmann_temp=0.25`); and counts are updated once per batch of meta-episodes instead of per
# transition, which changes *when* a pair becomes known by at most one batch. Finally, we round $m$ to
# the nearest integer where the reference truncates it (`int(...)`): 644 instead of 643 for $h=1$,
# $\epsilon=0.5$, and 64,378 instead of 64,377 for $h=3$, $\epsilon=0.2$.

# %% [markdown]
# ## The experiment: h = 1 and h = 2, live
#
# The book runs the reference's constants ($\gamma = 0.8$, $\delta = 0.2$, $R_{\max} = 1$) with a looser
# $\epsilon = 0.5$ (the paper: 0.2), which divides $m$ by 6.25.

# %%
cfgs = {h: RFOSConfig.preset(PRESET, h=h) for h in (1, 2)}
rows = [
    {"h": h, "|S|": c.num_states, "m": c.m, "VI sweeps": c.sweeps, "meta-episodes": c.episodes}
    for h, c in cfgs.items()
]
print(table(rows))

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
runs = {}
with timed("R-FOS h=1 and h=2 (compile included)"):
    for h, c in cfgs.items():
        runs[h] = jax.block_until_ready(jax.jit(rfos.make_train(c))(jax.random.key(SEED)))

# %% [markdown]
# Two baselines frame the numbers. A uniformly random player earns 0.5 per round. And no policy
# without memory can do better: against any fixed mix, the Q-learner drifts to the best response. We
# check that on a grid of mixes. At the other end, nothing can beat 0.95, since even a perfectly
# predicted greedy opponent explores 10% of the time.

# %%
best_memoryless, best_p = rfos.best_memoryless_reward(jax.random.key(SEED + 1), cfgs[1])
summary = {}
for h, out in runs.items():
    pairs = cfgs[h].num_states * cfgs[h].num_actions
    summary[h] = {
        "final": float(out.final_reward),
        "to_known": rfos.episodes_to_known(out.metrics, pairs),
        "known": int(out.metrics.known[-1]),
        "pairs": pairs,
    }
print(f"best memoryless policy: P(action 0) = {best_p:.2f}, reward {best_memoryless:.3f} per round")
for h, s in summary.items():
    print(
        f"h={h}: final greedy reward {s['final']:.3f} per round; all {s['pairs']} pairs known "
        f"after {s['to_known']} meta-episodes"
    )

# R-FOS beats every memoryless policy, and needs more samples with a longer history.
assert best_memoryless < 0.53
for s in summary.values():
    assert s["known"] == s["pairs"]
    assert best_memoryless + 0.15 < s["final"] < 0.96
assert summary[2]["to_known"] > 10 * summary[1]["to_known"]

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for h, out in runs.items():
    eps = np.asarray(out.metrics.episodes)
    axes[0].plot(eps, np.asarray(out.metrics.reward), label=f"h={h} (|S|={cfgs[h].num_states})")
    axes[1].plot(np.asarray(out.metrics.known), np.asarray(out.metrics.reward), label=f"h={h}")
for ax in axes:
    ax.axhline(best_memoryless, color="grey", ls="--", lw=1, label="best memoryless")
    ax.set_ylabel("reward per round (training batch)")
axes[0].set_xscale("log")
axes[0].set_xlabel("meta-episodes played (log scale)")
axes[1].set_xlabel("known (s, a) pairs")
axes[0].set_title("R-FOS learning curves")
axes[1].set_title("reward vs known pairs")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# While pairs are unknown, optimism sends R-FOS to them, and the reward stays near 0.5. As pairs become
# known, the plan switches to exploitation. What did it learn? With $h=1$ the policy table is small
# enough to read:

# %%
policy = np.asarray(runs[1].policy)
for s, a in enumerate(policy):
    print(f"after {widgets_rfos.JOINT[s]} (R-FOS, opponent) -> play {a}")
# the learned rule: play the opposite of your own last action
assert policy.tolist() == [1, 1, 0, 0]

# %% [markdown]
# R-FOS plays *the opposite of its own last action*. Why does that work? With learning rate 0.75 the
# Q-learner is close to **win-stay, lose-shift**: after winning with $b$, $Q(b) \ge 0.75$ and it
# repeats $b$; after losing, $Q(b)$ drops to at most $0.25$ and it switches. Since the opponent wins by
# mismatching, its next action is, in all four cases, the opposite of R-FOS's last action. R-FOS has
# learned a model of the opponent's *learning rule* from rewards alone: opponent shaping in miniature.

# %% [markdown]
# ## Sample complexity as |S| grows
#
# The longer run `python -m rlbook.experiments rfos --preset medium --out data/rfos_medium.json` adds
# $h=3$ ($|S| = 64$, about a minute on 2 CPU cores). Below, the meta-episodes until every pair was
# known, measured, next to the reference's budget $8m|S|$ and the bound's shape
# $|S|^2|A|\ln(1/\delta)/(\epsilon^3(1-\gamma)^6)$, on a log scale.

# %%
medium = json.loads((DATA / "rfos_medium.json").read_text())
hs = [1, 2, 3]
measured = [medium["results"][f"h{h}"]["episodes_to_known"] for h in hs]
consts = [widgets_rfos.rfos_constants(h, 0.5, 0.2, 0.8) for h in hs]
print(
    table(
        [
            {
                "h": h,
                "|S|": c["num_states"],
                "m": c["m"],
                "episodes to all known (measured)": meas,
                "budget 8m|S|": c["meta_episodes"],
                "final reward": medium["results"][f"h{h}"]["final_reward"],
            }
            for h, c, meas in zip(hs, consts, measured, strict=True)
        ]
    )
)
growth = np.diff(np.log(measured)) / np.log(4)
print("measured growth exponent per 4x states:", fmt(growth))
assert all(b > a for a, b in zip(measured, measured[1:], strict=False))
assert medium["provenance"]["preset"] == "medium"

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.8))
S = np.array([c["num_states"] for c in consts])
ax.loglog(S, measured, "o-", label="measured: episodes until all pairs known")
ax.loglog(S, [c["meta_episodes"] for c in consts], "s--", label="reference budget 8 m |S|")
bound = np.array([c["bound"] for c in consts])
ax.loglog(S, bound * measured[0] / bound[0], "^:", label="bound shape ∝ |S|² (scaled to h=1)")
ax.set_xlabel("meta-states |S| = 4^h")
ax.set_ylabel("meta-episodes (log scale)")
ax.set_title("Samples R-FOS needs as the meta-MDP grows (ε = 0.5)")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# At the paper's $\epsilon = 0.2$ ($m$ 6.25 times larger), the paper preset
# (`python -m rlbook.experiments rfos --preset paper --out data/rfos_paper.json`, about 4.5 minutes on
# 2 shared CPU cores) ran $h = 2, 3$ with the reference's full budget of $8m|S|$ meta-episodes:

# %%
paper = json.loads((DATA / "rfos_paper.json").read_text())
paper_known = [paper["results"][f"h{h}"]["episodes_to_known"] for h in (2, 3)]
for h, meas in zip((2, 3), paper_known, strict=True):
    r = paper["results"][f"h{h}"]
    print(
        f"epsilon 0.2, h={h}: |S|={r['num_states']}, m={r['m']}, all pairs known after {meas} "
        f"of {r['episodes']} meta-episodes, final greedy reward {r['final_reward']:.3f}"
    )
print(f"growth h=2 -> h=3: {paper_known[1] / paper_known[0]:.1f}x")
assert paper["provenance"]["preset"] == "paper"
assert paper_known[1] > 4 * paper_known[0]
assert all(paper["results"][f"h{h}"]["final_reward"] > best_memoryless + 0.15 for h in (2, 3))

# %% [markdown]
# The measured count grows about 10-fold from $h=1$ to $h=2$ (the medium run's batches of 4096
# meta-episodes blur $h=1$, which was done after its first batch) and 26-fold from $h=2$ to $h=3$: an
# exponent near 2 in $|S|$. That is what the analysis predicts: $m$ grows like $|S|$ and there are
# $|S|\,|A|$ pairs to make known, so the samples grow like $|S|^2$, the bound's $|S|^2$.
# And $|S|$ is itself exponential: $4^h$ here, $\text{bins}^{\,n|S_{\text{inner}}||A|}$ for Q-table
# meta-states with $n$ agents. Three players with memory-one Q-tables on a 5-point grid already give
# $5^{3\cdot 5\cdot 2} \approx 10^{21}$ meta-states:

# %%
for n in (2, 3):
    print(
        f"n={n} agents, memory-one Q-tables (5 inner states x 2 actions), 5 bins: "
        f"|S| = {rfos.meta_state_count(n, 5, 2, 5):.3g}"
    )

# %% [markdown]
# That is the paper's point: opponent shaping *can* come with a guarantee, but the guarantee itself
# says that tabular shaping does not scale, which is why practical methods (M-FOS, Shaper) use function
# approximation and give up the guarantee.

# %% [markdown]
# ## Widgets
#
# The first explorer recomputes R-max's constants and the bound's shape for any $h$, $\epsilon$,
# $\delta$, $\gamma$. The second trains R-FOS (cached) and shows its learned Q-values as a heat map: a
# star marks the greedy action after each recent history.

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
explorer = widgets_rfos.make_constants_explorer()
display(explorer)

# %%
c = widgets_rfos.rfos_constants(2, 0.2, 0.2, 0.8)
print({k: (round(v, 1) if isinstance(v, float) else v) for k, v in c.items()})
assert (c["num_states"], c["m"], c["meta_episodes"]) == (16, 16094, 2060032)  # the paper's h=2 row

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
policy_explorer = widgets_rfos.make_policy_explorer()
display(policy_explorer)

# %%
tbl = widgets_rfos.meta_policy_table(2, SEED)
print("h=2 greedy meta-policy:", tbl["policy"].tolist(), f"reward {tbl['final_reward']:.3f}")
fig = widgets_rfos.plot_meta_policy(tbl)
plt.show()
assert tbl["final_reward"] == summary[2]["final"]

# %% [markdown]
# With $h=2$ and a loose $\epsilon$, a few states (the ones where the older action disagrees with the
# pattern above) get a different greedy action: their models rest on $m$ noisy samples, and the final
# reward ends a little *below* $h=1$'s, although $h=2$ sees strictly more. More history means more
# states to learn, each with less data per sample budget: the sample-complexity trade-off in one picture.

# %% [markdown]
# ## Paper vs rlbook

# %%
paper_rows = [
    {
        "claim": "bound exponential in |S|, |A|, n",
        "paper": "theorem",
        "rlbook": "|S|=4^h; samples grow ~|S|^2 (table above)",
    },
    {
        "claim": "more history -> more samples",
        "paper": "figure (h=2,3,4)",
        "rlbook": f"all known after {measured[0]} / {measured[1]} / {measured[2]} episodes (h=1/2/3)",
    },
    {
        "claim": "R-FOS shapes the Q-learner",
        "paper": "reward above baseline",
        "rlbook": f"{summary[1]['final']:.3f} (h=1), {summary[2]['final']:.3f} (h=2) vs best memoryless {best_memoryless:.3f}",
    },
    {
        "claim": "epsilon 0.2, h=2 -> 3",
        "paper": "same figure, epsilon 0.2",
        "rlbook": f"all known after {paper_known[0]} -> {paper_known[1]} episodes (paper preset, data/)",
    },
    {"claim": "epsilon", "paper": "0.2", "rlbook": "0.5 live; 0.2 = paper preset (CLI)"},
]
print(table(paper_rows, ["claim", "paper", "rlbook"]))

# %% [markdown]
# The paper's plots use $\epsilon = 0.2$ and $h = 2, 3, 4$; `python -m rlbook.experiments rfos --preset
# paper` runs $h = 2, 3$ at $\epsilon = 0.2$ (3.3e7 meta-episodes for $h=3$, minutes on a CPU thanks to
# the batched scan; the reference's Python loops would take days). $h=4$ needs 5.3e8 meta-episodes.
#
# ## Exercises
#
# 1. Set `persist_opp_q=True`, `mask_unknown_next=True` and `boltzmann_temp=0.25` (the reference's
#    choices). Which of them changes the final reward, and why does a never-reset opponent break R-max's
#    stationarity assumption?
# 2. Use the Q-table meta-state (`meta_state="qtable"`) with radius 0.25 and 0.5. How many meta-states
#    are reachable? Does R-FOS learn faster or slower than with $h=1$?
# 3. Replace matching pennies with the prisoner's dilemma (`game="pd"`). What does R-FOS learn?
# 4. Derive why the opponent with learning rate 0.75 behaves as win-stay, lose-shift, and find a
#    learning rate for which the $h=1$ policy above stops working.
# 5. Our batched R-max updates counts once per batch. Bound how much later a pair becomes known than in
#    the one-transition-at-a-time version, as a function of `num_envs`.
#
# ## References
#
# * Fung, Zhang, Lu, Wan, Willi, Foerster. *Analysing the Sample Complexity of Opponent Shaping.* AAMAS 2024.
# * Brafman, Tennenholtz. *R-max: a general polynomial time algorithm for near-optimal RL.* JMLR 2002.
# * Strehl, Li, Littman. *Reinforcement learning in finite MDPs: PAC analysis.* JMLR 2009.
# * Lu, Willi, de Witt, Foerster. *Model-Free Opponent Shaping.* ICML 2022 (Chapter 2).
