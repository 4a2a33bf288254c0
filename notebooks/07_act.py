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
# # 7. Adversarial cheap talk (ACT)
#
# The book's through-line is non-stationarity caused by other learners. Chapters 1-4 had an opponent
# that *plays the game* with the learner and shapes it through payoffs. This chapter strips the
# adversary of almost every lever: it cannot act in the environment, change rewards or dynamics, hide
# the state, or even see what the learner does. All it can do is **append a message** to the learner's
# observation, a fixed function of the state. Lu, Willi, Letcher and Foerster (ICML 2023) show that this
# "cheap talk" is still enough to slow a reinforcement learner down, to speed it up, and to plant a
# backdoor that controls the trained learner at test time.
#
# Prerequisites: PPO (the learner here is the full-batch PPO of the reference code, built from
# `rlbook.rl`), and evolution strategies as used for M-FOS in Chapter 2 (`rlbook.learners.es.OpenES`).
#
# **What the paper asks.** Given an adversary that only controls a message channel, how much can it
# influence (i) the *learning dynamics* of a victim trained from scratch, and (ii) the trained victim's
# behaviour when the adversary later sends messages of its own choosing?

# %%
import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from rlbook.act import adversary, cheap_talk, hijack, probes, victim
from rlbook.act.adversary import ACTConfig
from rlbook.act.victim import VictimConfig
from rlbook.book.nb import fmt, nb_setup, show_source, table, timed
from rlbook.viz import widgets_act

SEED = 0
PRESET = "book"
key = jax.random.key(SEED)
rng = nb_setup(SEED)
DATA = Path("../data")

# %% [markdown]
# ## The cheap-talk MDP
#
# Take an MDP $(S, A, P, R, \gamma)$. The **adversary** owns parameters $\phi$ and a deterministic
# function $f_\phi: S \to [-c, c]^k$; the **victim** observes $o = (s, f_\phi(s))$ instead of $s$. Rewards
# and transitions are untouched: $P(s' \mid s, a)$ and $R(s, a)$ are those of the base MDP, and $\phi$ is
# fixed during the victim's training.
#
# **Why the optimal policies do not change.** The map $g(s) = (s, f_\phi(s))$ is injective (its first
# component is $s$), so the victim's observation process is the base MDP with its states relabelled:
# $P'(g(s') \mid g(s), a) = P(s' \mid s, a)$ and $R'(g(s), a) = R(s, a)$. The optimal value satisfies
# $V'^*(g(s)) = V^*(s)$, and a policy $\pi'(a \mid s, m)$ is optimal in the cheap-talk MDP exactly when
# $\pi'(\cdot \mid s, f_\phi(s))$ is optimal in the base MDP. Nothing the adversary says adds or removes
# information: $m$ is computable from $s$.
#
# So what is left? Two things, both outside the tabular theory:
#
# * **learning dynamics**: the victim is a neural network trained by gradient descent on $o$. The
#   message is an extra input feature that can be *useful* (a feature that correlates with the value or
#   the best action speeds learning) or *harmful* (a large, erratic input that interferes with the
#   function approximator);
# * **off-distribution behaviour**: during training the victim only ever sees pairs $(s, f_\phi(s))$.
#   Its reaction to $(s, m)$ with $m \neq f_\phi(s)$ is unconstrained by training, and the adversary can
#   shape it, then use it at test time, when nothing binds it to $m = f_\phi(s)$ any more.
#
# **ACT** finds $\phi$ by an evolution strategy whose fitness is a *complete training run* of a fresh
# victim. With $\phi$ perturbed antithetically, $\phi_i = \mu \pm \sigma \epsilon_i$, OpenES estimates
#
# $$\nabla_\mu \mathbb{E}_\epsilon[F(\mu + \sigma\epsilon)] \approx \frac{1}{P\sigma}\sum_{i=1}^P \tilde F_i\, \epsilon_i,$$
#
# with $\tilde F$ the z-scored fitness, and takes an Adam step. The fitness $F$ is the victim's final
# return (negated, to **harm**), its mean return over training (to **help**), or the return of the
# steered victim (to **hijack**).

# %% [markdown]
# ## The code
#
# The wrapper works over any gymnax environment. The adversary's parameters live in the env params,
# so a population of adversaries is a `vmap` over params:

# %%
show_source(cheap_talk.CheapTalkEnv)

# %% [markdown]
# Two checks that the wrapper cannot change the MDP (the tests in `tests/test_act.py` step base and
# wrapped envs side by side with the same keys and actions, and compare rewards, dones and states):
# a zero adversary sends nothing, and every message is bounded by the scale.

# %%
env = adversary.make_env(ACTConfig())
s_probe = jax.random.normal(key, (512, 4)) * 2.0
random_phi = env.init_phi(jax.random.key(SEED + 7))
m_zero = env.message(s_probe, env.params(env.zero_phi(), 2 * math.pi))
m_rand = env.message(s_probe, env.params(random_phi, 2 * math.pi))
print(f"adversary parameters: {jax.flatten_util.ravel_pytree(random_phi)[0].size}")
print(
    f"phi = 0: max |m| = {fmt(jnp.abs(m_zero).max())}; random phi: max |m| = {fmt(jnp.abs(m_rand).max())} <= 2 pi"
)
assert float(jnp.abs(m_zero).max()) == 0.0
assert float(jnp.abs(m_rand).max()) <= 2 * math.pi

# %% [markdown]
# The victim is the reference's PPO: 4 CartPole envs x 256 steps, 32 updates, 16 full-batch epochs per
# update, a shared 2 x 32 tanh trunk, and a running observation normaliser over the whole observation,
# messages included. `victim_train` takes the wrapper's params as an argument:

# %%
show_source(victim.ppo_update)
show_source(victim.victim_train)

# %% [markdown]
# One ES generation asks for a population, trains one fresh victim per candidate (every candidate with
# the **same** key: common random numbers, so fitness differences come from $\phi$), and tells:

# %%
show_source(adversary.candidate_fitness)
show_source(adversary.es_generation)

# %% [markdown]
# ### Implementation note: the normaliser's constant-dimension trap
#
# The reference normalises observations with a running mean and variance (prior: mean 0, variance 1,
# count $10^{-4}$) and divides by $\sqrt{\mathrm{var} + 10^{-4}}$. A message channel that is constant
# in training (the no-message victim) ends with variance $\approx 0$, so any value sent on it later is
# multiplied by $\approx 100$: a no-message victim would face enormous inputs at test time. rlbook
# centres but does not scale a dimension whose variance stayed below $10^{-4}$ (`norm_apply`'s
# `const_passthrough`); CartPole's own dimensions stay far above it. Two smaller deviations: the
# reference leaves the very first observation un-normalised (we normalise all), and it allows 201
# rewarded steps where gymnax's CartPole-200 allows 200.

# %%
show_source(cheap_talk.norm_apply)

# %% [markdown]
# ## The experiment
#
# `python -m rlbook.experiments act --preset book --out data/act_book.json` ran train-time ACT for
# both goals (population 32, antithetic, one fresh victim per candidate) and the zero-shot hijack, then
# trained 8 **fresh** victims (keys the ES never used) under four adversaries: no messages ($\phi = 0$),
# random adversaries (flax initialisation), the harm adversary and the help adversary. Its numbers:

# %%
book = json.loads((DATA / "act_book.json").read_text())
S, R = book["summary"], book["results"]
assert book["provenance"]["preset"] == "book"
print(f"population {S['popsize']}, {S['generations']} generations per goal")
print(
    table(
        [
            {"adversary": a, "final return": S[f"{a}_return"], "mean over training": S[f"{a}_auc"]}
            for a in ("none", "random", "harm", "help")
        ]
    )
)
print(f"harm vs none: {fmt(100 * S['harm_drop'])}% lower final return")
assert abs(S["harm_drop"] - (1 - S["harm_return"] / S["none_return"])) < 1e-9
assert S["none_return"] > 150  # the no-message victims learn CartPole
# at this scale the harm adversary does not reach the 25% drop, and help does not beat silence
assert S["harm_drop"] < 0.25 and S["help_auc"] < S["none_auc"]

# %% [markdown]
# At book scale the effects the paper reports do **not** appear: the harm adversary lowers the final
# return by a few percent, no more than random messages do, and the help adversary's victims learn no
# faster than silent ones. The ES curves below show why: the population's mean fitness has no trend
# over 20 generations. Each candidate is scored by one PPO run, and PPO's run-to-run spread on
# CartPole (final returns from ~120 to 200 between seeds, see the bands) is larger than anything a
# small change of $\phi$ does; common random numbers remove the spread between *keys*, not the chaos
# of a training run under slightly different inputs. Meanwhile the ES mean moves slowly: after 20
# generations the harm adversary's largest message on the grid below is 0.54, about 9% of the scale
# $2\pi$. (Note that the normaliser rescales every message channel to unit variance, so even small
# messages reach the victim's network at full size.)

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing of the stored run (machine and load dependent)
print(
    f"stored run: {S['seconds_per_generation']:.1f} s per generation of {S['popsize']} victims "
    f"({S['victims_per_s']:.2f} victims/s), {S['wall_s'] / 60:.1f} min in all"
)

# %%
es_runs = {g: R[f"{g}_es"] for g in ("harm", "help", "hijack")}
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for ax, (g, c) in zip(axes, es_runs.items(), strict=True):
    gens = np.arange(len(c["fitness_mean"]))
    ax.plot(gens, c["fitness_mean"], "o-", ms=3, label="population mean")
    ax.plot(gens, c["fitness_max"], "s--", ms=3, label="population best")
    ax.set_xlabel("ES generation")
    ax.set_title(f"{g}")
axes[0].set_ylabel("fitness (higher is better for the adversary)")
axes[0].legend(fontsize=8)
fig.suptitle("ES fitness per generation (stored book run; each generation draws new victim keys)")
fig.tight_layout()
plt.show()

# %%
fig, ax = plt.subplots(figsize=(7, 3.8))
for a in ("none", "random", "harm", "help"):
    curves = np.asarray(R[a]["curves"])
    u = np.arange(1, curves.shape[1] + 1)
    ax.plot(u, curves.mean(0), label=f"{a} (final {S[f'{a}_return']:.0f})")
    ax.fill_between(u, curves.min(0), curves.max(0), alpha=0.1)
ax.set_xlabel("PPO update (1,024 env steps each)")
ax.set_ylabel("mean episode return")
ax.set_title("8 fresh victims per adversary (stored book run; band = min-max)")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Live: fresh victims under the stored adversaries
#
# The same comparison with victim keys the stored run never used (seed 1): 8 fresh victims per
# adversary, trained in one `jit(vmap(victim_train))` call each.

# %%
lab = widgets_act.lab(VictimConfig(), 8)
template = env.zero_phi()
stored = {g: adversary.unflatten(template, R["adversaries"][g]) for g in ("harm", "help")}
live_keys = jax.random.split(jax.random.key(SEED + 1), 8)
rand_phis = jax.vmap(env.init_phi)(jax.random.split(jax.random.key(SEED + 2), 8))
live_phis = {
    "none": jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (8, *x.shape)), template),
    "random": rand_phis,
    **{
        g: jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (8, *x.shape)), p)
        for g, p in stored.items()
    },
}

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
live = {}
with timed("32 fresh victims (compile included)"):
    for a, p in live_phis.items():
        live[a] = jax.block_until_ready(lab.victims(live_keys, env.params(p, 2 * math.pi)))

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
live_final = {a: float(victim.final_return(o.stats, 4).mean()) for a, o in live.items()}
live_auc = {a: float(victim.mean_return(o.stats).mean()) for a, o in live.items()}
print(
    table(
        [{"adversary": a, "final": live_final[a], "mean over training": live_auc[a]} for a in live]
    )
)

# %%
# the live no-message victims learn CartPole too; no run returns NaN
assert all(np.isfinite(v) for v in live_final.values())
assert live_final["none"] > 150
print("live: no-message victims above 150, every adversary's victims finite")

# %% [markdown]
# With new victim keys the four adversaries can come out in a different order than in the stored run:
# the differences between them are of the size of the spread between 8 victims. That spread is what
# the ES has to see through with one victim per candidate.

# %% [markdown]
# ### Live: a few generations of ES
#
# A small train-time ACT run, live: population 8, three generations, harm goal. The population's
# victims come from the same jitted `victims` function (so nothing new is compiled). Three generations
# cannot do much; the point is the shape of the computation, and that generation 0 sends $m = 0$.

# %%
small = ACTConfig(goal="harm", popsize=8)
es_small = adversary.make_es(small, env.zero_phi())
state0 = es_small.init()
print(f"generation 0 mean: max |phi| = {fmt(jnp.abs(state0.mean).max())} -> m = 0")
assert float(jnp.abs(state0.mean).max()) == 0.0

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing and CPU-dependent last digits
with timed("3 generations x 8 victims"):
    state3, hist = adversary.es_loop(
        small, env, es_small, state0, jax.random.key(SEED + 3), lab.victims, 3
    )
print("mean fitness (minus final return) per generation:", fmt(np.array(hist)))

# %%
assert len(hist) == 3 and all(np.isfinite(hist)) and all(-200.5 <= h <= 0 for h in hist)
assert int(state3.generation) == 3 and float(state3.sigma) < 0.04

# %% [markdown]
# ## What do the messages encode?
#
# The adversary's message over the pole's angle and angular velocity (cart at rest in the middle),
# at the first and last ES generation, for both goals:

# %%
snaps_by_goal = {g: R[f"{g}_es"]["snapshots"] for g in ("harm", "help")}
last_gen = max(int(k) for k in snaps_by_goal["harm"])
final_msgs = {g: widgets_act.message_heatmap(sn, last_gen)[0] for g, sn in snaps_by_goal.items()}
vmax = max(float(np.abs(m).max()) for m in final_msgs.values())
fig, axes = plt.subplots(2, 4, figsize=(13, 6.2), sharex=True, sharey=True, constrained_layout=True)
for row, g in enumerate(("harm", "help")):
    for col, (gen, c) in enumerate([(0, 0), (0, 1), (last_gen, 0), (last_gen, 1)]):
        m, _ = widgets_act.message_heatmap(snaps_by_goal[g], gen)
        ax = axes[row, col]
        im = ax.imshow(
            m[..., c],
            origin="lower",
            aspect="auto",
            cmap="RdBu_r",
            vmin=-vmax,
            vmax=vmax,
            extent=(-0.21, 0.21, -2, 2),
        )
        ax.set_title(f"{g}, generation {gen}, m[{c}]", fontsize=9)
        ax.grid(False)
for ax in axes[-1]:
    ax.set_xlabel("pole angle θ (rad)")
for ax in axes[:, 0]:
    ax.set_ylabel("θ' (rad/s)")
fig.colorbar(im, ax=axes, fraction=0.02, label=f"message (colour range ±{vmax:.2f}, scale 2π)")
plt.show()

# %%
for g, m in final_msgs.items():
    flat_m = m.reshape(-1, m.shape[-1])
    print(
        f"{g}: mean message {fmt(flat_m.mean(0))}, spread over the grid (std) {fmt(flat_m.std(0))}"
    )
    assert np.all(flat_m.std(0) < np.abs(flat_m.mean(0)))  # mostly a constant offset

# %% [markdown]
# After 20 generations both adversaries send messages that are **mostly constant**: an offset of
# about 0.4-0.6 per channel that varies little with the pole's state. Starting from $\phi = 0$, the
# fastest direction for the ES is the output bias; state-dependent structure needs the hidden layers
# to grow first. A nearly constant channel is also where the normaliser matters most: its running
# variance sits close to the $10^{-4}$ at which rlbook stops rescaling it (implementation note
# above), so whether the victim sees these messages as noise-sized or unit-sized inputs depends on
# the states it visits.

# %% [markdown]
# **Linear probes.** Does the message carry task information? We fit a least-squares linear map from
# the message $m = f_\phi(s)$ to (a) the value a trained no-message victim assigns to $s$ and (b) its
# greedy action, on CartPole states visited by that victim, and report the $R^2$ (a) and the accuracy
# (b) on held-out states. A probe from the state $s$ itself is the reference point.

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code (the probed victim is trained live)
none_victim = jax.tree_util.tree_map(lambda x: x[0], live["none"])
states = probes.sample_states(jax.random.key(SEED + 4), 2000)
value, action = probes.victim_targets(VictimConfig(), env, none_victim, states)
tr, te = slice(0, 1500), slice(1500, None)
features = {"state s (reference)": np.asarray(states)}
for name, phi in (("random", random_phi), ("harm", stored["harm"]), ("help", stored["help"])):
    features[f"message of {name}"] = np.asarray(env.message(states, env.params(phi, 2 * math.pi)))
probe_rows = [
    {
        "probe input": name,
        "R^2 of value": probes.linear_probe(x[tr], value[tr], x[te], value[te]),
        "greedy-action accuracy": probes.probe_accuracy(x[tr], action[tr], x[te], action[te]),
    }
    for name, x in features.items()
]
print(table(probe_rows))
print(f"majority-action baseline: {fmt(max(action[te].mean(), 1 - action[te].mean()))}")

# %%
pr = {r["probe input"]: r["greedy-action accuracy"] for r in probe_rows}
# the trained victim's greedy action is close to linear in the state (CartPole's classic result) ...
assert pr["state s (reference)"] > 0.85
# ... and no adversary's two message numbers carry as much of it as the state's four
assert all(
    acc < pr["state s (reference)"] for name, acc in pr.items() if name.startswith("message")
)
print("the state predicts the greedy action best; the messages carry part of it")

# %% [markdown]
# A linear probe on the state predicts the trained victim's greedy action well (the classic
# observation that CartPole's balancing policies are nearly linear); its value is far from linear in
# the state, so no linear probe predicts it. From two message numbers the probes do better than
# guessing the majority action, for random messages too: any smooth function of the state carries
# *some* information about it. In the table above the help adversary's messages carry a little more
# than the random adversary's; with one probed victim and an adversary that moved little from
# $\phi = 0$, read that as a direction to test with more victims (exercise 5), not a result.

# %% [markdown]
# ## The test-time hijack
#
# Now the adversary plants a backdoor. One genome holds the message MLP $\phi$ (scale $\pi$) and an
# **exploiter**, a small network that sees the state and a secret goal $g \sim U[-2.4, 2.4]$ and emits
# a message. Fitness: train a fresh victim with $f_\phi$'s messages, freeze it, and let the exploiter
# drive it for one episode per goal; the reward is $e^{-(x-g)^2}$ per step, so a victim that balances
# on $x = g$ for 200 steps scores 200. The baseline is a victim trained **without** messages, steered
# by the same exploiter.

# %%
show_source(hijack.hijack_episode)

# %%
H = R["hijack"]
print(
    f"manipulation return over 8 fresh victims x {len(R['hijack']['act']) and 64} goals: "
    f"ACT victim {fmt(S['hijack_return'])}, no-message victim {fmt(S['hijack_baseline_return'])} "
    f"(max ~200)"
)
print("per ACT victim:       ", fmt(np.array(H["act"])))
print("per no-message victim:", fmt(np.array(H["no_message"])))
# a victim that balances at x = 0 for 200 steps scores 200 E_g[exp(-g^2)] on g ~ U[-2.4, 2.4]
centre = 200 * np.mean(np.exp(-(np.linspace(-2.4, 2.4, 100001) ** 2)))
print(f"reference: balancing at x = 0 for all 200 steps scores {fmt(centre)}")

# %%
# at this scale the hijack does not beat the no-message baseline
assert S["hijack_return"] < S["hijack_baseline_return"]
assert len(H["act"]) == len(H["no_message"]) == 8

# %% [markdown]
# The hijack is **not** reproduced at book scale: the exploiter steers victims trained under its
# partner $\phi$ no better than victims trained without messages, and the manipulation returns of
# both stay below what a victim balancing at the centre would score. The ES fitness curve above even
# falls over the 16 generations: as $\phi$ moves away from 0, the training messages start to vary,
# the normaliser starts to rescale the message channels, and the exploiter's test-time messages then
# reach the victim amplified, toppling the pole sooner. The traces below show one fresh victim of each
# kind for three goals.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4), sharey=True)
for ax, name in zip(axes, ("act", "no_message"), strict=True):
    trc = H[f"{name}_traces"]
    for i, g in enumerate(trc["goals"]):
        x, alive = np.asarray(trc["x"][i]), np.asarray(trc["alive"][i]) > 0
        line = ax.plot(np.arange(len(x))[alive], x[alive], label=f"goal {g:+.1f}")[0]
        ax.axhline(g, color=line.get_color(), ls="--", lw=1)
    ax.set_xlabel("time step")
    ax.set_title(f"{'ACT' if name == 'act' else 'no-message'} victim steered by the exploiter")
axes[0].set_ylabel("cart position x (m)")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Widgets
#
# **Predict first:** as the ES runs, do the messages grow from zero everywhere at once, or first
# where the pole is about to fall?

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
heat = widgets_act.make_heatmap_explorer(
    {g: R[f"{g}_es"]["snapshots"] for g in ("harm", "help")}, 2 * math.pi
)
display(heat)

# %%
m_h, g_h = widgets_act.message_heatmap(R["harm_es"]["snapshots"], 0)
print(f"generation {g_h}: max |m| = {fmt(np.abs(m_h).max())}")
assert g_h == 0 and np.abs(m_h).max() == 0.0  # the ES starts at phi = 0

# %% [markdown]
# **Predict first:** a victim trained under the harm adversary with the message scale turned down to
# $\pi$, or to 0: does it recover the no-message curve? The static figure shows the three scales.

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
retrain_ex = widgets_act.make_retrain_explorer(
    {"harm": stored["harm"], "help": stored["help"], "random": random_phi}
)
display(retrain_ex)

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
fig, ax = plt.subplots(figsize=(7, 3.6))
scale_runs = {}
for sc, lab_s in zip(widgets_act.SCALES, ("0", "π", "2π"), strict=True):
    scale_runs[lab_s] = widgets_act.retrain(stored["harm"], sc, SEED + 1)
    ax.plot(np.arange(1, 33), scale_runs[lab_s]["curve"], label=f"harm adversary, scale {lab_s}")
ax.set_xlabel("PPO update")
ax.set_ylabel("mean episode return (8 victims)")
ax.set_ylim(0, 205)
ax.legend(fontsize=8)
ax.set_title("Turning the harm adversary's volume down")
plt.show()
print(
    table(
        [
            {"scale": k, "final": v["final"].mean(), "mean over training": v["auc"].mean()}
            for k, v in scale_runs.items()
        ]
    )
)

# %%
# scale 0 is the no-message victim: the same keys give exactly the live "none" run
np.testing.assert_allclose(
    scale_runs["0"]["final"], victim.final_return(live["none"].stats, 4), rtol=1e-5
)
np.testing.assert_allclose(
    scale_runs["2π"]["final"], victim.final_return(live["harm"].stats, 4), rtol=1e-5
)
print("scale 0 reproduces the no-message victims; scale 2π the harm victims")

# %% [markdown]
# **Predict first:** move the secret goal. Does the ACT victim's cart follow it? Does the no-message
# victim's?

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
hijack_ex = widgets_act.make_hijack_explorer(R["adversaries"]["hijack"])
display(hijack_ex)

# %%
# NBVAL_IGNORE_OUTPUT
# why: last digits depend on the CPU's vector code
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True)
hj = {}
for ax, g in zip(axes, (-1.5, 0.0, 1.5), strict=True):
    for which in ("act", "no_message"):
        hj[(g, which)] = widgets_act.hijack_trace(R["adversaries"]["hijack"], g, which, SEED)
        widgets_act.plot_hijack(
            hj[(g, which)],
            g,
            ax,
            goal_line=which == "act",
            label=f"{which} (return {hj[(g, which)]['return']:.0f})",
        )
    ax.set_title(f"secret goal {g:+.1f}")
fig.tight_layout()
plt.show()

# %%
for (g, _which), trc in hj.items():
    alive = trc["alive"] > 0
    np.testing.assert_allclose(
        trc["return"], np.exp(-((trc["x"][alive] - g) ** 2)).sum(), rtol=1e-4
    )
    assert np.abs(trc["m"]).max() <= math.pi + 1e-5
print("every trace: return = sum of exp(-(x - g)^2) while alive, |m| <= π")

# %% [markdown]
# ## Paper says / rlbook measures

# %% [markdown]
# The paper's figures and tables could not be checked here: the "paper" column quotes its abstract
# (and the reference code's settings); "rlbook" is the stored `book` run (population 32, 20
# generations for harm and help, 16 for the hijack, 8 fresh victims per adversary).

# %%
harm_ok = S["harm_drop"] >= 0.25
order_ok = S["harm_return"] < S["random_return"] <= S["none_return"] < S["help_return"]
help_ok = S["help_auc"] > S["none_auc"]
hijack_ok = S["hijack_return"] > S["hijack_baseline_return"]
paper_rows = [
    {
        "claim": "m = f(s) leaves the optimal policies unchanged",
        "paper": "Cheap Talk MDP definition",
        "rlbook": "derived above; wrapper tests: rewards, dones, states identical",
        "verdict": "reproduced",
        "why": "the wrapper only appends f_phi(s)",
    },
    {
        "claim": "harm: slows the victim's learning",
        "paper": "abstract: 'interfering with function approximation'",
        "rlbook": f"final return {S['harm_return']:.0f} vs {S['none_return']:.0f} without messages ({100 * S['harm_drop']:.0f}% lower)",
        "verdict": "reproduced" if harm_ok else "not at this scale",
        "why": "ES from phi = 0, 20 generations x 32 (paper: ~1024 x 1024)",
    },
    {
        "claim": "help: speeds learning up",
        "paper": "abstract: 'outputting useful features'",
        "rlbook": f"mean return over training {S['help_auc']:.0f} vs {S['none_auc']:.0f}",
        "verdict": "reproduced" if help_ok else "not at this scale",
        "why": "one noisy victim per candidate; same budget as harm",
    },
    {
        "claim": "ordering harm < random <= none < help",
        "paper": "expected from the abstract",
        "rlbook": " / ".join(f"{S[f'{a}_return']:.0f}" for a in ("harm", "random", "none", "help")),
        "verdict": "reproduced" if order_ok else "not at this scale",
        "why": "final returns of 8 victims differ by ~+-30 between seeds",
    },
    {
        "claim": "hijack: control the trained victim",
        "paper": "abstract: 'arbitrarily control the Victim at test-time'",
        "rlbook": f"manipulation return {S['hijack_return']:.0f} vs {S['hijack_baseline_return']:.0f} (no-message victim, same exploiter)",
        "verdict": "reproduced" if hijack_ok else "not at this scale",
        "why": "16 generations; see the traces above",
    },
]
print(table(paper_rows, ["claim", "paper", "rlbook", "verdict", "why"]))

# %% [markdown]
# ## Key takeaways
#
# * A message that is a function of the state changes **no** optimal policy: the cheap-talk MDP is the
#   base MDP with relabelled states. Whatever the adversary achieves, it achieves through the victim's
#   *learning dynamics* and its *off-distribution* reactions.
# * ACT is an evolution strategy whose every fitness evaluation is a complete PPO training run. In JAX
#   the whole population is one `jit(vmap(victim_train))` call, with the adversary's parameters as an
#   ordinary argument of the environment.
# * At book scale (20 generations of 32 candidates, one victim per candidate) the ES signal is weak
#   next to the victim-to-victim noise of PPO: the stored run does not show the paper's effects (the
#   table says which). The paper's run is ~1000 times larger.
# * Details of the victim's pipeline matter: a running normaliser turns a silent message channel into a
#   x100 amplifier at test time unless constant dimensions are handled.
#
# ## Exercises
#
# 1. **A louder start.** The reference starts the ES at $\phi = 0$. Start it instead at a random
#    adversary (`es.init(env.init_phi(key))`) and run 20 generations of harm. Is the final return of 8
#    fresh victims lower than from $\phi = 0$?
#
# <details><summary>Solution</summary>
#
# From a random adversary the messages are large from the first generation (a random adversary is
# already the "random" baseline above), so the ES searches among adversaries that matter instead of
# first having to grow the messages out of $\sigma = 0.04$ perturbations. Compare the 8 fresh
# victims' final return with `S["harm_return"]` from the zero start, and with the random baseline:
# the ES has to beat the random adversary it started from, not only the silent one.
# </details>
#
# 2. **Where the centre lies.** A victim that balances at $x = 0$ for all 200 steps, with the goal
#    $g \sim U[-2.4, 2.4]$, scores $200\,\mathbb{E}[e^{-g^2}]$. Compute it in closed form with the error
#    function and check it against `centre`.
#
# <details><summary>Solution</summary>
#
# $\mathbb{E}[e^{-g^2}] = \frac{1}{4.8}\int_{-2.4}^{2.4} e^{-g^2}\,dg = \frac{\sqrt{\pi}\,\mathrm{erf}(2.4)}{4.8}$,
# so the score is $200 \sqrt{\pi}\,\mathrm{erf}(2.4)/4.8 \approx 73.8$. Any hijack above that moves the cart
# towards the goal rather than just keeping it alive.
# </details>

# %%
closed_form = 200 * math.sqrt(math.pi) * math.erf(2.4) / 4.8
assert abs(closed_form - centre) < 0.01
print(f"closed form {fmt(closed_form)}, numerical {fmt(centre)}")

# %% [markdown]
# 3. **The normaliser trap.** Train a no-message victim with `VictimConfig(const_passthrough=False)`
#    and steer it with the stored exploiter (`widgets_act.hijack_trace` takes a `vcfg`). What happens to
#    the cart, and why?
#
# <details><summary>Solution</summary>
#
# The message channels were constant (zero) in training, so their running variance is
# $\approx 10^{-4}/32768$. The reference formula divides any test-time message by
# $\sqrt{\mathrm{var} + 10^{-4}} \approx 0.01$: a message of size 1 reaches the victim's network as 100,
# where it saturates the tanh units of the first layer: the victim's actions then depend mostly on the
# message, far outside anything it was trained on. Compare the episode lengths (`alive.sum()`) with
# and without `const_passthrough`.
# </details>
#
# 4. **Random talk.** Replace $f_\phi(s)$ by noise $m \sim N(0, 1)$ drawn afresh at every step. Are the
#    optimal policies still those of the base MDP? Could a test-time hijack work?
#
# <details><summary>Solution</summary>
#
# Yes: $m$ is independent of everything, so an optimal policy ignores it. But training now covers the
# whole message space, so the victim learns to *ignore* messages (they carry no reward information),
# and there is no untrained region of $(s, m)$ left to exploit: a deterministic $f_\phi$ is what leaves
# the off-distribution messages free for the adversary.
# </details>
#
# 5. **Probe more victims.** Repeat the probe over the 8 live no-message victims (`live["none"]`)
#    and report the mean and spread of the greedy-action accuracy per message. Is the help adversary's
#    advantage over the random one larger than the spread?
#
# <details><summary>Solution</summary>
#
# Loop `probes.victim_targets` over `jax.tree_util.tree_map(lambda x: x[i], live["none"])` for
# `i in range(8)` and collect the accuracies. If the difference between the help and random rows is
# within one standard deviation across victims, the single-victim table above cannot tell them apart.
# </details>
#
# 6. **A recurrent adversary.** The reference's README runs its harm experiment with an LSTM
#    adversary (the message depends on the history, not only on $s$). Is the cheap-talk argument for
#    unchanged optimal policies still valid?
#
# <details><summary>Solution</summary>
#
# No longer directly: $m_t$ now depends on past states, so $(s_t, m_t)$ carries information about the
# history; CartPole is Markov in $s$, so history cannot improve the optimal policy, and the optimal
# policies are still those of the base MDP. But the victim's observation is no longer a relabelling of
# $s$ alone, so the "same MDP" argument becomes "a larger MDP whose extra state is irrelevant".
# </details>
#
# ## References
#
# * Lu, Willi, Letcher, Foerster. *Adversarial Cheap Talk.* ICML 2023 (arXiv 2211.11030).
# * Salimans, Ho, Chen, Sidor, Sutskever. *Evolution Strategies as a Scalable Alternative to Reinforcement Learning.* 2017.
# * Schulman, Wolski, Dhariwal, Radford, Klimov. *Proximal Policy Optimization Algorithms.* 2017.
# * Farrell, Rabin. *Cheap Talk.* Journal of Economic Perspectives, 1996.
# * Lu, Kuba, Letcher, Metz, de Witt, Foerster. *Discovered Policy Optimisation* (PureJaxRL-style training). NeurIPS 2022.
