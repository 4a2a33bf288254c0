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
# # 1. Learning in matrix games: naive learners and LOLA
#
# Two agents who each follow the gradient of their own return are a poor model of learning when the
# other agent is learning too: each treats the other as part of a fixed environment, although the
# other's policy will move next step, and moves *because of* what the first agent does. *Learning with
# Opponent-Learning Awareness* (LOLA; Foerster, Chen, Al-Shedivat, Whiteson, Abbeel and Mordatch,
# AAMAS 2018) asks a simple question: what if a learner differentiates through its opponent's next
# learning step? In the iterated prisoner's dilemma (IPD), two naive gradient learners end in mutual
# defection, while two LOLA learners find tit-for-tat-like reciprocity and cooperate.
#
# This chapter builds the substrate that every opponent-shaping chapter of the book uses
# (M-FOS, Shaper, R-FOS, WelFuSe, Leading the Pack):
#
# 1. two-player 2x2 games and their Nash equilibria;
# 2. memory-one policies and the **exact** discounted value of two of them, in closed form;
# 3. a sampled iterated game, to check the closed form by Monte Carlo;
# 4. naive learners (NL) and LOLA, run over hundreds of random starts at once with `jit(vmap(scan))`;
# 5. what happens: NL-NL defects in the IPD and circles in matching pennies; LOLA-LOLA reciprocates;
#    LOLA shapes a naive learner; a phase portrait of the learning dynamics;
# 6. widgets to change the game, the learners and the payoffs; a "LOLA paper vs rlbook" table.

# %%
import dataclasses

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from rlbook.book.nb import fmt, nb_setup, show_source, table, timed
from rlbook.experiments.learning_in_games import (
    EXPERIMENT,
    NEAR_NASH,
    Config,
    distance_to_mixed_nash,
    run_pairing,
)
from rlbook.games.iterated import IteratedMatrixGame, rollout_memory1
from rlbook.games.matrix import (
    GAMES,
    STRATEGIES,
    exact_value,
    exact_value_probs,
    exact_value_unnormalised,
    get_game,
    memory1_visitation_probs,
    nash_equilibria_2x2,
    swap_game,
)
from rlbook.learners.naive import (
    lola_direction,
    lola_gradient,
    memoryless_trajectories,
    naive_update,
    simulate,
)
from rlbook.rl.env import Environment
from rlbook.viz import plots_games as pg
from rlbook.viz import widgets_games as wg

SEED = 0
PRESET = "book"
key = jax.random.key(SEED)
rng = nb_setup(SEED)
cfg = Config.preset(PRESET)
print(f"preset {PRESET}: {cfg.n_runs} runs x {cfg.n_steps} learning steps per pairing")

# %% [markdown]
# ## 1. Games and their Nash equilibria
#
# A 2x2 game gives each player a payoff for each **joint state** $s = (a_1, a_2)$ with action 0 =
# cooperate (C) and 1 = defect (D). rlbook lists payoffs over $[CC, CD, DC, DD]$, player 1's action
# first, as vectors $r_1, r_2 \in \mathbb{R}^4$. The IPD uses the LOLA/M-FOS values (negated years in
# prison); matching pennies (IMP) is zero-sum and player 1 wins by *mismatching*; chicken uses the
# M-FOS values (crashing costs 100); stag hunt and battle of the sexes (BoS) are coordination games.
#
# A (mixed) Nash equilibrium is a pair of cooperation probabilities from which neither player gains
# by deviating alone. In the one-shot prisoner's dilemma D strictly dominates C, so DD is the only
# equilibrium, although CC is better for both. Matching pennies has only a mixed equilibrium at
# (1/2, 1/2); stag hunt, chicken and BoS have two pure equilibria and one mixed.

# %%
fig, axes = plt.subplots(1, 5, figsize=(14, 2.9))
for ax, name in zip(axes, ["ipd", "imp", "chicken", "stag_hunt", "bos"], strict=True):
    pg.plot_payoff_table(ax, get_game(name), title=name)
fig.suptitle("payoffs (player 1, player 2); rows: player 1's action, columns: player 2's")
fig.tight_layout()
plt.show()

# %%
rows = []
for name in sorted(GAMES):
    eqs = nash_equilibria_2x2(get_game(name))
    rows.append(
        {
            "game": name,
            "Nash equilibria (P1(C), P2(C))": "; ".join(f"({p:.3g}, {q:.3g})" for p, q in eqs),
        }
    )
print(table(rows))
assert nash_equilibria_2x2(get_game("ipd")) == [(0.0, 0.0)]  # mutual defection only
assert np.allclose(nash_equilibria_2x2(get_game("imp")), [(0.5, 0.5)])

# %% [markdown]
# ## 2. Memory-one policies and the exact value
#
# In the iterated game the same one-shot game is played again and again, discounted by
# $\gamma = 0.96$ (an expected 25 rounds). A **memory-one** policy conditions on the previous joint
# state only. rlbook stores it as five logits $\theta \in \mathbb{R}^5$ of P(C):
# index 0 is the first move, indices 1-4 the previous state **from the player's own perspective**
# (own action first). Player 2's "CD" is player 1's "DC", so the code swaps those two entries of
# player 2's policy before using it. With $p = \sigma(\theta_1)$ and $q$ = player 2's
# probabilities in player 1's order, the first round and the transitions are
#
# $$d_0 = [p_0 q_0,\ p_0(1-q_0),\ (1-p_0)q_0,\ (1-p_0)(1-q_0)],\qquad
#   P_{s,\cdot} = [p_s q_s,\ p_s(1-q_s),\ (1-p_s)q_s,\ (1-p_s)(1-q_s)].$$
#
# The discounted state visitation is $M = d_0^\top (I - \gamma P)^{-1}$, with $\sum_s M_s = 1/(1-\gamma)
# = 25$, and player $i$'s discounted return is $V_i = M\, r_i$. The book reports the **average
# per-step** reward $(1-\gamma)V_i$ (a number on the payoff scale); learners climb the gradient of
# $V_i$ itself. Everything is a few lines of `jax.numpy`: a linear solve, differentiable and vmappable.

# %%
show_source(memory1_visitation_probs)

# %%
show_source(exact_value)

# %% [markdown]
# Deterministic strategies have probabilities 0 or 1 (infinite logits), so the closed form also takes
# probabilities. Four classics, as P(C) over [start, CC, CD, DC, DD]: AllC, AllD, tit-for-tat (TFT:
# cooperate first, then copy the opponent's last move) and win-stay-lose-shift (WSLS: repeat after a
# good outcome, CC or DC, switch after a bad one).

# %%
ipd = get_game("ipd")
rows = []
for a in ["allc", "alld", "tft", "wsls"]:
    row = {"player 1 \\ player 2": a}
    for b in ["allc", "alld", "tft", "wsls"]:
        v1, v2 = exact_value_probs(STRATEGIES[a], STRATEGIES[b], ipd)
        row[b] = f"{float(v1):.3g}, {float(v2):.3g}"
    rows.append(row)
print("IPD, average reward per round (player 1, player 2):")
print(table(rows))
v = np.array(exact_value_probs(STRATEGIES["tft"], STRATEGIES["alld"], ipd))
# TFT is exploited once (-3), then both defect (-2): (1 - g)(-3) + g(-2) = -2.04
np.testing.assert_allclose(v, [-2.04, -1.92], atol=1e-5)
np.testing.assert_allclose(
    exact_value_probs(STRATEGIES["tft"], STRATEGIES["tft"], ipd), [-1, -1], atol=1e-5
)
m = memory1_visitation_probs(STRATEGIES["wsls"], STRATEGIES["alld"], 0.96)
print("WSLS vs AllD visitation over [CC, CD, DC, DD]:", fmt(m), " sum", fmt(m.sum()))
assert abs(float(m.sum()) - 25.0) < 1e-3

# %% [markdown]
# **The perspective identity.** Seen from player 2's seat, a game is `swap_game(game)`: payoffs
# exchanged and CD/DC swapped. Playing $(\theta_a, \theta_b)$ in a game must give the same two values,
# in the other order, as $(\theta_b, \theta_a)$ in the swapped game. A missing or doubled CD/DC swap
# passes every symmetric test but fails this one for asymmetric policies.

# %%
ka, kb = jax.random.split(jax.random.fold_in(key, 1))
ta, tb = jax.random.normal(ka, (5,)), jax.random.normal(kb, (5,))
for name in ["ipd", "bos"]:
    g = get_game(name)
    va = np.array(exact_value(ta, tb, g))
    vb = np.array(exact_value(tb, ta, swap_game(g)))[::-1]
    print(f"{name}: V(a, b; G) = {fmt(va)}   V(b, a; swap G) reversed = {fmt(vb)}")
    np.testing.assert_allclose(va, vb, atol=1e-5)

# %% [markdown]
# ## 3. The sampled iterated game: checking the closed form by Monte Carlo
#
# `rlbook.games.iterated` is the same game played by sampling: a gymnax-style `reset` / `step`
# (returning `obs, state, reward, terminated, truncated, info`) with each player's observation a
# one-hot over [start, CC, CD, DC, DD] from its own perspective, so a tabular policy over it *is* a
# memory-one policy. Like every environment in the book it writes only the transition (`step_env`);
# `step` adds the auto-reset at the end of an episode, written once in `rlbook.rl.env.Environment`.
# Later chapters train sampled-return learners on it. Here we play two random
# memory-one policies for 300 rounds in 4096 games and compare the mean discounted return with the
# exact $V$ (the tail beyond 300 rounds weighs $0.96^{300} \approx 5\cdot 10^{-6}$).

# %%
show_source(IteratedMatrixGame.step_env)
show_source(Environment.step)

# %%
# NBVAL_IGNORE_OUTPUT
# why: the last digits depend on the CPU (XLA:CPU emits different vector code on different
# machines, and learning dynamics amplify it); the claims are asserted with tolerances
kmc = jax.random.fold_in(key, 2)
returns, _ = rollout_memory1(kmc, ta, tb, ipd, num_steps=300, num_envs=4096)
exact = np.array(exact_value_unnormalised(ta, tb, ipd))
mc = np.array(returns.mean(0))
se = np.array(returns.std(0)) / np.sqrt(returns.shape[0])
print(table([
    {"player": p + 1, "exact V": exact[p], "Monte Carlo": mc[p], "s.e.": se[p], "|diff| / s.e.": abs(mc[p] - exact[p]) / se[p]}
    for p in range(2)
]))  # fmt: skip
assert np.all(np.abs(mc - exact) < 3 * se), "exact value and Monte Carlo disagree beyond 3 s.e."

# %% [markdown]
# ## 4. Naive learners and LOLA
#
# A **naive learner** (NL) ascends its own value, treating the opponent as fixed:
# $\theta_1 \leftarrow \theta_1 + \alpha \nabla_1 V_1(\theta_1, \theta_2)$. Both players update at
# once, from the same pair of policies. `jax.grad` through the closed form gives the exact gradient
# (the unit tests compare it with central finite differences in float64).
#
# **LOLA** assumes the opponent is a naive learner with step $\eta$ and asks how its own value changes
# *after* that step: $V_1(\theta_1, \theta_2 + \eta \nabla_2 V_2(\theta_1, \theta_2))$. Differentiating
# the first-order Taylor expansion in $\eta$ with respect to $\theta_1$ gives
#
# $$\nabla_1 V_1 + \eta\, \nabla_1\!\left(\nabla_2 V_1^\top \nabla_2 V_2\right).$$
#
# The paper keeps only the *shaping* term $(\nabla_2 V_1)^\top \nabla_1\nabla_2 V_2$ (`taylor_paper`);
# M-FOS's code differentiates the whole dot product (`taylor_full`, the book's default, $\alpha =
# \eta = 1$); `exact` differentiates through the look-ahead step itself. With $\eta = 0$ all three are
# NL (a unit test). One function serves all: it takes any two value functions.

# %%
show_source(lola_direction)

# %%
show_source(naive_update)

# %% [markdown]
# Player 2 uses the same code from its own seat: `update(theta2, theta1, swap_game(game))`.
# `simulate` runs a batch of independent learning runs, each from its own random start
# $\theta_i \sim \mathcal N(0, I)$, as `jit(vmap(lax.scan))`.
#
# ## 5. The experiment: NL and LOLA in the IPD and in matching pennies
#
# The registered experiment `learning_in_games` (also `python -m rlbook.experiments learning_in_games
# --preset book`) runs NL-NL, LOLA-LOLA and LOLA-NL for 100 learning steps from the same random
# starts, in the IPD and in IMP. Its summary reports player 1's **final** average reward per round
# and its P(cooperate), here the discounted frequency with which player 1 cooperates under the joint
# policy, $(1-\gamma)(M_{CC} + M_{CD})$, both averaged over runs.

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
with timed("learning_in_games, book preset"):
    summary, results = EXPERIMENT.run(PRESET, SEED, lambda msg: None)

# %%
# NBVAL_IGNORE_OUTPUT
# why: the last digits depend on the CPU (XLA:CPU emits different vector code on different
# machines, and learning dynamics amplify it); the claims are asserted with tolerances
s = summary
rows = []
for game_name in ["ipd", "imp"]:
    for pair in ["nl_nl", "lola_lola", "lola_nl"]:
        tag = f"{game_name}_{pair}"
        rows.append({
            "game": game_name, "player 1 - player 2": pair.replace("_", " vs ").upper(),
            "final reward p1": s[f"{tag}_reward"], "final reward p2": s[f"{tag}_opponent_reward"],
            "run-mean reward p1": s[f"{tag}_run_mean_reward"], "P(C) p1": s[f"{tag}_p_cooperate"],
        })  # fmt: skip
print(table(rows))
print()
print(
    f"IPD NL-NL: fraction of runs with P(C) < 0.1 at the end: {fmt(s['ipd_nl_nl_frac_p_cooperate_below_0.1'])}"
)
print(
    f"IPD LOLA-LOLA: fraction of runs with final reward > -1.3: {fmt(s['ipd_lola_lola_frac_reward_above_-1.3'])}"
)
# the chapter's claims
assert s["ipd_nl_nl_frac_p_cooperate_below_0.1"] > 0.9  # NL-NL: P(C) near 0 in most runs
assert s["ipd_nl_nl_reward"] < -1.95
assert s["ipd_lola_lola_frac_reward_above_-1.3"] > 0.8  # LOLA-LOLA: > -1.3 in most runs
assert -1.3 < s["ipd_lola_lola_reward"] and s["ipd_lola_lola_reward"] > s["ipd_nl_nl_reward"]
assert s["ipd_lola_nl_reward"] > s["ipd_lola_nl_opponent_reward"]  # LOLA gets more than the NL
assert s["ipd_lola_nl_opponent_reward"] > s["ipd_nl_nl_reward"]  # ... and the NL more than vs NL
assert abs(s["imp_nl_nl_run_mean_reward"]) < 0.05

# %% [markdown]
# **Judging convergence in matching pennies per run.** A P(cooperate) near 1/2 *averaged over runs*
# cannot tell convergence from oscillation: runs that circle the equilibrium, or end at opposite
# corners, average to 1/2 as well. The experiment therefore measures, for each run, the distance of
# the final pair (P1(C), P2(C)) from the mixed equilibrium (1/2, 1/2), and counts a run as ending
# *near* it when that distance is below 0.1.

# %%
# NBVAL_IGNORE_OUTPUT
# why: the last digits depend on the CPU (XLA:CPU emits different vector code on different
# machines, and learning dynamics amplify it); the claims are asserted with tolerances
imp_rows = [
    {
        "IMP pairing": pair.replace("_", " vs ").upper(),
        "run-averaged final P(C) p1": s[f"imp_{pair}_p_cooperate"],
        "median distance to (1/2, 1/2)": s[f"imp_{pair}_median_dist_to_nash"],
        "runs within 0.1": s[f"imp_{pair}_frac_near_nash"],
    }
    for pair in ["nl_nl", "lola_lola", "lola_nl"]
]
print(table(imp_rows))
# Run-averaged P(C) is near 1/2 for NL-NL and LOLA-LOLA alike: it cannot separate them ...
assert (
    abs(s["imp_nl_nl_p_cooperate"] - 0.5) < 0.05
    and abs(s["imp_lola_lola_p_cooperate"] - 0.5) < 0.05
)
# ... and per run, most memory-one LOLA-LOLA runs do *not* end near the mixed equilibrium
assert s["imp_lola_lola_frac_near_nash"] < 0.5

# %% [markdown]
# So with memory-one policies and $\alpha = \eta = 1$, LOLA-LOLA does **not** end near the mixed
# equilibrium in most runs: its median run ends further from it than NL-NL's (the table), with
# policies pushed to the edge of the simplex. The claim holds in the memoryless, small-step setting
# of the next section, not at this step size.
# %% [markdown]
# The same runs again, as trajectories (the experiment's `run_pairing` with the same key, so the
# curves below are the runs summarised above; the cell checks it).

# %%
sims = {
    (gname, l1, l2): run_pairing(cfg, jax.random.fold_in(key, gi), gname, l1, l2)
    for gi, gname in enumerate(["ipd", "imp"])
    for l1, l2 in [("nl", "nl"), ("lola", "lola"), ("lola", "nl")]
}
for (gname, l1, l2), res in sims.items():
    np.testing.assert_allclose(
        np.asarray(res.value)[:, -1, 0].mean(), s[f"{gname}_{l1}_{l2}_reward"], rtol=1e-6
    )

fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharey=True)
for ax, (l1, l2) in zip(axes, [("nl", "nl"), ("lola", "lola"), ("lola", "nl")], strict=True):
    res = sims[("ipd", l1, l2)]
    pg.plot_p_cooperate(ax, res, 0, n_show=30, color="C0", label=f"player 1 ({l1.upper()})")
    pg.plot_p_cooperate(ax, res, 1, n_show=0, color="C1", label=f"player 2 ({l2.upper()}), mean")
    ax.set_title(f"IPD: {l1.upper()} vs {l2.upper()}")
    ax.legend(loc="center right", fontsize=8)
fig.suptitle("P(cooperate) of 30 runs (thin) and the mean over all runs (thick)")
fig.tight_layout()
plt.show()

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for k, (l1, l2) in enumerate([("nl", "nl"), ("lola", "lola"), ("lola", "nl")]):
    pg.plot_reward_curves(
        axes[0], sims[("ipd", l1, l2)], f"{l1.upper()} vs {l2.upper()}", 0, color=f"C{k}"
    )
axes[0].axhline(-1, ls=":", c="gray")
axes[0].axhline(-2, ls=":", c="gray")
axes[0].set_title("IPD: player 1's reward (mean, 10-90 % band)")
axes[0].legend(loc="lower right", fontsize=8)
res = sims[("imp", "nl", "nl")]
for r in range(3):
    axes[1].plot(np.asarray(res.p_coop[r, :, 0]), color=f"C{r}", label=f"run {r}, player 1")
    axes[1].plot(np.asarray(res.p_coop[r, :, 1]), color=f"C{r}", ls="--")
axes[1].set_xlabel("learning step")
axes[1].set_ylabel("P(cooperate)")
axes[1].set_title("IMP, NL vs NL: player 1 (solid) and 2 (dashed)")
axes[1].legend(loc="best", fontsize=8)
fig.tight_layout()
plt.show()

# %%
# How much does player 1's P(cooperate) still move after step 20? (std over steps 20-100, mean over runs)
move = {
    g: float(np.asarray(sims[(g, "nl", "nl")].p_coop[:, 20:, 0]).std(1).mean())
    for g in ["ipd", "imp"]
}
print(f"NL vs NL, std of P(C) over steps 20-100: IPD {move['ipd']:.3f}, IMP {move['imp']:.3f}")
assert move["ipd"] < 0.01 and move["imp"] > 0.1  # IPD settles; IMP keeps oscillating

# %% [markdown]
# **What we see.** Two naive learners slide into mutual defection: the average reward settles at
# -2, the one-shot Nash equilibrium, in nearly every run. Two LOLA learners end near -1 per round,
# the value of mutual cooperation, because each one's update accounts for how the other will react:
# defecting now makes the opponent less cooperative next step. Against a naive learner LOLA gets
# more than its victim, and *both* do better than two naive learners: LOLA shapes the NL towards
# cooperation it can partly exploit. In matching pennies naive learners chase each other: P(C)
# oscillates and nobody wins on average.
#
# ## 6. A phase portrait of learning in matching pennies
#
# To draw the dynamics in two dimensions, restrict both players to **memoryless** policies (all five
# logits equal): a policy is a single probability P(C) and the iterated value is 25 times the
# one-shot value. The arrows show the direction of one learning step (un-normalised $V$, $\alpha =
# 0.01$, $\eta = 1$); the curves are 300 steps from two starts (circle = start, square = end).
# Simultaneous gradient ascent rotates around the mixed equilibrium and slowly spirals *outwards*.
# The outward drift comes from the **finite step size**: with infinitesimal steps, gradient play in
# matching pennies cycles on closed orbits around the equilibrium, neither converging nor diverging
# (Singh, Kearns and Mansour, 2000). A finite step moves along the tangent of the orbit and so lands
# slightly outside it, every step; the next cell checks that the drift shrinks as the step does.
# LOLA's look-ahead adds a component towards the equilibrium, and the spiral converges.

# %%
imp = get_game("imp")
fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
traj_nl = pg.plot_phase_portrait(axes[0], imp, "nl", "nl", n_steps=300)
traj_lola = pg.plot_phase_portrait(axes[1], imp, "lola", "lola", n_steps=300)
for ax in axes:
    ax.plot(0.5, 0.5, "k*", ms=12, label="mixed Nash equilibrium")
    ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()
plt.show()

# %%
d = lambda tr: np.linalg.norm(tr[:, -1] - 0.5, axis=-1)
d0 = np.linalg.norm(traj_nl[:, 0] - 0.5, axis=-1)
print("distance to (1/2, 1/2) at the start:", np.round(d0, 3))
print("after 300 NL-NL steps:              ", np.round(d(traj_nl), 3))
print("after 300 LOLA-LOLA steps:          ", np.round(d(traj_lola), 3))
assert np.all(d(traj_nl) > d0)  # NL spirals away
assert np.all(d(traj_lola) < 0.01)  # LOLA converges to the mixed equilibrium

# %%
# the same learning "time" (lr x steps = 3) with smaller and smaller steps
starts = np.array([(0.8, 0.6), (0.3, 0.2)])
drift = {}
for lr, n in [(0.04, 75), (0.01, 300), (0.0025, 1200)]:
    tr = np.asarray(memoryless_trajectories(starts, imp, "nl", "nl", n_steps=n, lr=lr))
    drift[lr] = np.linalg.norm(tr[:, -1] - 0.5, axis=-1) - np.linalg.norm(tr[:, 0] - 0.5, axis=-1)
    print(
        f"NL-NL, step {lr:<6} x {n:>4} steps: outward drift of the distance to (1/2, 1/2) {fmt(drift[lr])}"
    )
# the drift is outward and shrinks with the step (2-3x for each 4x smaller step): the spiral is a
# finite-step effect, and the continuous-time dynamics cycle
assert np.all(drift[0.04] > drift[0.01]) and np.all(drift[0.01] > drift[0.0025])
assert np.all(drift[0.0025] > 0) and np.all(drift[0.0025] < 0.5 * drift[0.01])
# %% [markdown]
# In the memory-one IMP runs of section 5 the picture is different: with $\alpha = \eta = 1$ on
# $V$ (25 times the per-round scale) the Taylor-LOLA step overshoots, most LOLA-LOLA runs end far
# from the equilibrium, and LOLA playing a naive learner in IMP even *loses* on average (table
# above): a first-order look-ahead is only as good as its step size.
#
# ### Exact LOLA vs its Taylor expansions
#
# Is the first-order expansion to blame? The three variants of `lola_direction` differ only in how
# they look ahead: `taylor_full` (M-FOS's code, the default above) differentiates the whole dot
# product $\nabla_2 V_1^\top \nabla_2 V_2$, `taylor_paper` (the LOLA paper) keeps only the shaping
# term, and `exact` differentiates through the opponent's actual naive step. Same starts, same
# $\alpha = \eta = 1$, 100 steps, LOLA vs LOLA:

# %%
# NBVAL_IGNORE_OUTPUT
# why: the last digits depend on the CPU (XLA:CPU emits different vector code on different
# machines, and learning dynamics amplify it); the claims are asserted with tolerances
variant_rows, variant_stats = [], {}
for variant in ["taylor_full", "taylor_paper", "exact"]:
    vcfg = dataclasses.replace(cfg, variant=variant)
    for gi, gname in enumerate(["ipd", "imp"]):
        res = run_pairing(vcfg, jax.random.fold_in(key, gi), gname, "lola", "lola")
        final = np.asarray(res.value)[:, -1]
        dist = distance_to_mixed_nash(res.p_coop)
        variant_stats[(variant, gname)] = (final[:, 0].mean(), np.mean(dist < NEAR_NASH))
        variant_rows.append(
            {"variant": variant, "game": gname, "final reward p1 (mean)": final[:, 0].mean(),
             "runs with reward > -1.3": np.mean(final[:, 0] > -1.3) if gname == "ipd" else "",
             "IMP runs within 0.1 of (1/2, 1/2)": np.mean(dist < NEAR_NASH) if gname == "imp" else ""}
        )  # fmt: skip
print(table(variant_rows))
# every variant makes LOLA-LOLA cooperate in the IPD (far above NL-NL's -2) ...
assert all(variant_stats[(v, "ipd")][0] > -1.5 for v in ["taylor_full", "taylor_paper", "exact"])
# ... and none brings most memory-one IMP runs near the mixed equilibrium at this step size
assert all(variant_stats[(v, "imp")][1] < 0.5 for v in ["taylor_full", "taylor_paper", "exact"])

# %% [markdown]
# All three variants cooperate in the IPD, and none of them, not even the exact look-ahead, brings
# most memory-one IMP runs to the mixed equilibrium at $\alpha = \eta = 1$: the expansion is not the
# culprit; the step size is. This instability is one motivation for the later methods of the book
# (M-FOS, chapter 2).
#
# ## 7. Widgets
#
# **Learning-dynamics explorer.** Choose the game, both learners, learning rates, discount and seed;
# the figure shows both players' P(cooperate) over 32 runs and their rewards. Try LOLA vs NL in the
# IPD, or NL in stag hunt (which equilibrium wins depends on where you start).

# %%
# NBVAL_IGNORE_OUTPUT
# why: interactive widget (its state and figure are not stored)
explorer = wg.make_dynamics_explorer()
display(explorer)

# %%
# NBVAL_IGNORE_OUTPUT
# why: the last digits depend on the CPU (XLA:CPU emits different vector code on different
# machines, and learning dynamics amplify it); the claims are asserted with tolerances
w_summary, _ = wg.dynamics_summary("ipd", "nl", "nl", 1.0, 1.0, 0.96, 0)
print({k: (fmt(v) if isinstance(v, float) else v) for k, v in w_summary.items()})
assert w_summary == explorer.result  # the widget shows exactly the pure function's numbers
assert w_summary["p_cooperate1"] < 0.1
w_lola, _ = wg.dynamics_summary("ipd", "lola", "lola", 1.0, 1.0, 0.96, 0)
print("LOLA-LOLA:", fmt(w_lola["reward1"]))
assert w_lola["reward1"] > -1.3

# %% [markdown]
# **Payoff-matrix editor.** Edit the eight payoffs (player 1's action first) and the dynamics rerun;
# "load game" fills in a registered game. Making CC pay 5 to both turns the IPD into a game where
# cooperation dominates, and naive learners find it.

# %%
# NBVAL_IGNORE_OUTPUT
# why: interactive widget
editor = wg.make_payoff_editor("ipd")
display(editor)

# %%
coop, _ = wg.payoff_summary([5, -3, 0, -2], [5, 0, -3, -2], "nl", "nl")
print("IPD with CC = 5 for both, NL vs NL: P(C) of player 1 =", fmt(coop["p_cooperate1"]))
assert coop["p_cooperate1"] > 0.9
assert abs(editor.result["reward1"] - w_summary["reward1"]) < 1e-5  # defaults = the IPD

# %% [markdown]
# **Memory-one explorer.** Set both strategies' five probabilities (or pick a preset) and read the
# exact values and the discounted visitation. Which strategy does best against WSLS? Can you find a
# strategy that gets more than TFT does against itself?

# %%
# NBVAL_IGNORE_OUTPUT
# why: interactive widget
m1 = wg.make_memory1_explorer()
display(m1)

# %%
out = wg.memory1_summary(STRATEGIES["tft"], STRATEGIES["alld"])
print(
    "TFT vs AllD:",
    fmt(out["value1"]),
    fmt(out["value2"]),
    " visitation",
    fmt(np.array(out["visitation"])),
)
assert out == m1.result
np.testing.assert_allclose([out["value1"], out["value2"]], [-2.04, -1.92], atol=1e-5)

# %% [markdown]
# ## 8. LOLA paper vs rlbook
#
# The paper's numbers come from its figures and text (marked *verify* where the book's notes have not
# yet checked them against the paper). rlbook's are this chapter's `book` run: exact values,
# `taylor_full` LOLA with $\alpha = \eta = 1$, 256 random starts, 100 learning steps, the final
# average reward of player 1 (mean over runs). The paper used its own learning rates and, for the
# IPD, its own variant of the update, so expect agreement in kind, not to the last digit.

# %%
# NBVAL_IGNORE_OUTPUT
# why: the last digits depend on the CPU (XLA:CPU emits different vector code on different
# machines, and learning dynamics amplify it); the claims are asserted with tolerances
paper_rows = [
    {"claim": "IPD, NL vs NL: reward per round", "LOLA paper": "about -1.99 (verify)", "rlbook": fmt(s["ipd_nl_nl_reward"]), "verdict": "reproduced", "why": "naive gradients defect"},
    {"claim": "IPD, LOLA vs LOLA: reward per round", "LOLA paper": "about -1.06 (verify)", "rlbook": fmt(s["ipd_lola_lola_reward"]), "verdict": "reproduced", "why": "look-ahead rewards reciprocity"},
    {"claim": "IPD, LOLA vs LOLA: P(cooperate)", "LOLA paper": "high, TFT-like (verify)", "rlbook": fmt(s["ipd_lola_lola_p_cooperate"]), "verdict": "reproduced", "why": ""},
    {"claim": "IPD, LOLA vs NL: reward LOLA / NL", "LOLA paper": "LOLA ahead (verify)", "rlbook": f"{fmt(s['ipd_lola_nl_reward'])} / {fmt(s['ipd_lola_nl_opponent_reward'])}", "verdict": "reproduced", "why": "LOLA shapes the NL"},
    {"claim": "IMP, NL vs NL", "LOLA paper": "no convergence (verify)", "rlbook": f"oscillates; {fmt(s['imp_nl_nl_frac_near_nash'])} of runs end within 0.1 of (1/2, 1/2)", "verdict": "reproduced", "why": "finite steps spiral outwards"},
    {"claim": "IMP, LOLA vs LOLA near the mixed Nash", "LOLA paper": "near the mixed Nash (verify)", "rlbook": f"memory-one, lr 1: {fmt(s['imp_lola_lola_frac_near_nash'])} of runs within 0.1; memoryless, lr 0.01: converges", "verdict": "not at this step size (memory-one); reproduced (memoryless)", "why": "lr 1 on V overshoots, for every LOLA variant"},
]  # fmt: skip
print(table(paper_rows))

# %% [markdown]
# ## Exercises
#
# 1. **Closed forms.** Derive by hand the value of WSLS against AllD and check it with
#    `exact_value_probs`. Why does WSLS lose more than TFT against AllD?
# 2. **The swap.** Remove the CD/DC swap of player 2 in a copy of `memory1_visitation_probs`. Which
#    tests of this chapter still pass, and which one catches the bug?
# 3. **Normalised gradients.** Run NL-NL with the gradient of $(1-\gamma)V$ instead of $V$ at the same
#    learning rate. How many more steps does defection take? (Notes, trap 2: 25 times slower.)
# 4. **Step sizes in IMP.** Section 6 compared the LOLA variants at $\alpha = \eta = 1$. Lower
#    $\alpha$ (try 0.1 and 0.01, with more steps) in memory-one IMP: at which step size does most of
#    LOLA-LOLA's runs end within 0.1 of the mixed equilibrium, and does the variant matter there?
# 5. **Stag hunt.** With the payoff editor, find payoffs for which naive learners from random starts
#    end at the payoff-dominant equilibrium (stag) in most runs, and payoffs where they end at the
#    risk-dominant one (hare).
# 6. **Chicken.** Run LOLA vs LOLA in chicken with the explorer. What happens to both players, and
#    why does a look-ahead that assumes a naive opponent go wrong when the opponent looks ahead too?
#    (Chapter 5, WelFuSe, returns to this.)
# 7. **Phase portraits.** Draw `pg.plot_phase_portrait` for LOLA vs NL in IMP. Who wins, and why does
#    the answer depend on $\eta$?
#
# ## References
#
# * J. Foerster, R. Y. Chen, M. Al-Shedivat, S. Whiteson, P. Abbeel, I. Mordatch. *Learning with
#   Opponent-Learning Awareness.* AAMAS 2018.
# * C. Lu, T. Willi, C. Schroeder de Witt, J. Foerster. *Model-Free Opponent Shaping.* ICML 2022
#   (the payoffs, conventions and Taylor-LOLA used here follow its code).
# * A. Letcher, J. Foerster, D. Balduzzi, T. Rocktäschel, S. Whiteson. *Stable Opponent Shaping in
#   Differentiable Games.* ICLR 2019.
# * S. Singh, M. Kearns, Y. Mansour. *Nash Convergence of Gradient Dynamics in General-Sum Games.*
#   UAI 2000.
# * M. Nowak, K. Sigmund. *A strategy of win-stay, lose-shift that outperforms tit-for-tat in the
#   Prisoner's Dilemma game.* Nature 364, 1993.
# * R. Axelrod. *The Evolution of Cooperation.* Basic Books, 1984.
