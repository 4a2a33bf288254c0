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
# On the book's through-line this chapter stays with **the other learner**: a co-player whose policy
# moves because it learns from playing us. Chapter 1 (LOLA) and Chapter 2 (M-FOS) are the
# prerequisites: the memory-one IPD, its exact value, naive learners, and the M-FOS meta-game trained
# with evolution strategies.
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
# parallel environments can help; CoinGame is too weak a benchmark to tell methods apart. The live
# runs here are small; the 5-seed runs behind the tables are stored in `data/` and produced by
# `python -m rlbook.experiments shaper --preset book`.

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
# M-FOS keeps the two apart. In pax's `ActorCriticMFOS` three GRUs (meta, actor, critic) restart
# every episode; the meta GRU emits $th = \sigma(\mathrm{Linear}(h_{meta}))$ per environment, and the
# $th$ of the previous episode's last step *multiplies* the actor's and critic's GRU features
# ($th$ starts at ones). So the only thing that crosses an episode boundary is $th$, a separate,
# gating meta-state.
# Shaper merges them: $h$ is carried from the last step of episode $k$ into the first step of
# episode $k+1$, so the GRU itself decides what to keep. The **reset** ablation zeroes $h$ at every
# episode start: the same network, but history only.
#
# **Batch averaging.** A trial runs $E$ parallel environments against the *same* co-player, which
# updates on all of them. Each copy of the agent sees only its own environment, but the co-player's
# update depends on all $E$. Shaper's `att_type="avg"` mixes
# $h \leftarrow (1-\beta)\,h + \beta\,\overline{h}$ with $\overline{h}$ the mean over environments before
# every GRU step ($\beta=0.5$ in pax). Averaging pools the $E$ copies' evidence about the one
# co-player into a shared context; with $E = 4$ environments (pax uses 50-100) there is little evidence
# to pool, so little benefit is to be expected at book scale.

# %%
show_source(shaper.batch_average)
show_source(shaper.Agent)
show_source(shaper.MFOSNet)

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
# ## Where memory has to carry the context: the exact meta-game
#
# In the sampled IPD below, an inner episode is 32 steps against a co-player whose policy is a
# memory-one table. Within a few steps the joint actions reveal that table, so an agent whose memory
# is reset at every episode start can re-identify its co-player *inside* each episode: history alone is
# enough, and carried memory has little to add. To see what carried memory is for, take away the
# within-episode evidence: the **exact meta-game of Chapter 2** (`rlbook.shaping.mfos.MetaGame`). A
# fresh co-player starts from random logits $\theta \sim N(0, I)$ and takes one exact naive-learning
# step (learning rate 1) per meta-step; at every meta-step the agent chooses its own memory-one policy
# $\phi$ (5 logits), and both receive their exact per-step value. Unlike M-FOS in Chapter 2 the agent
# never sees $\theta$: its input is only **its own previous policy and its own reward**. Whatever it
# knows about the co-player must come from earlier meta-steps, i.e. from carried memory. With
# `memory="reset"` the GRU starts from zero at every meta-step, so the policy is a function of the last
# own policy and reward only.

# %%
show_source(shaper.meta_episode)

# %% [markdown]
# Live: Shaper with carried memory on the exact meta-game (GRU 16, 50 meta-steps per trial, ES
# population 64 with 8 co-players, 60 generations), three seeds, vmapped.

# %%
# NBVAL_IGNORE_OUTPUT
# why: wall-clock timing
META = ShaperConfig.preset("meta_book", generations=60, num_seeds=3)
with timed("exact meta-game, Shaper (carried memory), 3 seeds x 60 generations"):
    meta_live = jax.block_until_ready(shaper.train_many(META, SEED))

# %% [markdown]
# **The play-time reset diagnostic.** Take the trained weights and play them against the same fresh
# co-players twice: once as trained, with memory carried, and once with the memory zeroed at every
# meta-step. Both plays share the co-players, so the comparison is paired trial by trial. If the agent
# shapes *with its memory*, zeroing it must cost reward. A memoryless agent (Good Shepherd) plays
# identically both ways, so this check cannot pass for it.

# %%
# NBVAL_IGNORE_OUTPUT
# why: the last digits depend on the CPU's vector code (learning dynamics amplify them); the claims
# are asserted with tolerances
carried, reset_play = (
    np.asarray(x) for x in shaper.playtime_reset(META, meta_live.params, jax.random.key(SEED + 2))
)
a, b = carried[..., 0].mean(-1), reset_play[..., 0].mean(-1)  # [seeds, co-players]
t_play = stats.ttest_rel(a.ravel(), b.ravel())
print(
    table(
        [
            {
                "seed": i,
                "agent, memory carried": a[i].mean(),
                "agent, memory reset at play": b[i].mean(),
                "co-player, carried": carried[i, ..., 1].mean(),
                "co-player, reset": reset_play[i, ..., 1].mean(),
            }
            for i in range(len(a))
        ]
    )
)
print(f"carried - reset: {(a - b).mean():+.3f} per step, paired t-test p = {t_play.pvalue:.2g}")
# it shapes with its memory: zeroing the memory costs reward (identical play for a memoryless agent)
assert (a - b).mean() > 0 and t_play.pvalue < 0.05

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
k = np.arange(1, META.num_episodes + 1)
for data, label, style in ((carried, "memory carried", "-"), (reset_play, "reset at play", "--")):
    axes[0].plot(k, data[..., 0].mean((0, 1)), style, label=label)
    axes[1].plot(k, data[..., 1].mean((0, 1)), style, label=label)
for ax, title in zip(axes, ("Shaper (same trained weights)", "its naive co-player"), strict=True):
    ax.axhline(-1.0, color="grey", lw=0.8, ls=":")
    ax.set_title(title)
    ax.set_xlabel("meta-step (co-player update)")
axes[0].set_ylabel("exact IPD reward per step")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The dotted line is mutual cooperation ($-1$). With its memory the trained agent ends well above
# it while its co-player ends below it; with the memory zeroed the same weights lose that edge.
#
# **Carried vs reset, each trained (5 seeds, stored).** The diagnostic above asks whether a
# carry-trained agent *uses* its memory. A different question is whether an agent *trained* with reset
# memory does worse. The stored book run trains both from the same five seed keys and evaluates them on
# the same co-players, so seeds are paired.

# %%
book = json.loads((DATA / "shaper_book.json").read_text())
s, R = book["summary"], book["results"]
mc, mr, pt = R["meta_shaper"], R["meta_shaper_reset"], R["meta_shaper"]["playtime"]
print(
    table(
        [
            {
                "seed": i,
                "trained carried": mc["agent_per_seed"][i],
                "trained reset": mr["agent_per_seed"][i],
                "carried: co-player": mc["coplayer_per_seed"][i],
                "carried, reset at play": pt["reset_per_seed"][i],
            }
            for i in range(s["num_seeds"])
        ]
    )
)
print(
    f"trained carried {s['ipd_shaper_carry_reward']} vs trained reset {s['ipd_shaper_reset_reward']}:"
    f" paired p = {s['carry_vs_reset_p']}"
)
print(
    f"play-time reset of the carry-trained agents: {s['meta_playtime_reset_reward']},"
    f" paired p = {s['meta_playtime_reset_p']}"
)
assert book["provenance"]["preset"] == "book" and s["num_seeds"] >= 5
assert not book["provenance"]["git_dirty_rlbook"]
# the target: better than mutual cooperation while the co-player is below -1.5
assert s["ipd_shaper_carry_reward"] > -1.0 and s["ipd_shaper_carry_coplayer_reward"] < -1.5
assert (
    s["meta_playtime_reset_reward"] < s["ipd_shaper_carry_reward"]
    and s["meta_playtime_reset_p"] < 0.05
)

# %% [markdown]
# The stored run answers in two parts. First, the target holds in this regime: the carry-trained
# agents earn more than mutual cooperation per step while their naive co-players end below $-1.5$
# (asserted above). Second, the carried memory is **used** (zeroing it at play time costs reward, with a
# small paired p-value) but it is **not needed**: agents *trained* with reset memory reach about the same
# reward (the paired p-value over seeds is large). The reason is the game. Against a naive learner an
# extortionate memory-one policy pays whatever the learner's starting point, and a reset agent still
# sees its own last policy and reward, enough to steer towards such a policy. The carry-trained agent
# has learned to lean on its memory, so taking the memory away hurts it; an agent trained without
# memory found another way to the same reward.

# %%
assert s["carry_vs_reset_p"] > 0.05  # trained carried vs trained reset: no evidence of a gap

# %% [markdown]
# ### Implementation note
#
# The meta-game is `rlbook.shaping.mfos.MetaGame`, imported, not copied: `reset` draws the co-player
# and the agent's first policy and makes the reference's warm-up update; each meta-step is
# `exact_value` and `co_player_update`. The agent is the same `Agent` module as in the sampled games;
# only its input (6 numbers: the sigmoid of its last 5 logits and its last reward) and output (5 logits
# instead of 2 action logits) differ. One "episode" is one exact co-player update, so `num_envs = 1`
# and batch averaging is the identity here.

# %%
show_source(shaper.playtime_reset)

# %% [markdown]
# ## The sampled IPD: Shaper vs memory reset vs M-FOS (ES) vs Good Shepherd (stored, 5 seeds)
#
# The book-scale sampled IPD: GRU 16, trials of 4 envs x 16 episodes x 32 steps against a tabular
# REINFORCE co-player (lr 2), ES population 64 with 4 co-players each, 60 generations, five seeds per
# method (vmapped). Baselines in the same harness: **M-FOS (ES)** with pax's three-GRU shape and
# **Good Shepherd** (memoryless MLP [16, 16]: no history, no context). The reference point without
# shaping is two co-players learning against each other (NL-NL).

# %%
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
                "agent per seed": fmt(np.array(R[m]["agent_per_seed"]), 3),
                "co-player per seed": fmt(np.array(R[m]["coplayer_per_seed"]), 3),
            }
            for m, label in names.items()
        ]
    )
)
print(
    "NL-NL agent:", s["ipd_nl_nl_reward"], "| carry vs reset, paired p:", s["ipd_carry_vs_reset_p"]
)
print(
    "play-time reset of the carry-trained Shaper:",
    s["ipd_shaper_playtime_reset_reward"],
    "vs carried",
    s["ipd_shaper_reward"],
    "| paired p:",
    s["ipd_playtime_reset_p"],
)
for m in names:  # every trained agent beats mutual learning
    assert s[f"ipd_{m}_reward"] > s["ipd_nl_nl_reward"], m
assert s["ipd_shaper_reward"] < -1.0  # below mutual cooperation: no exploitation at this scale

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
k = np.arange(1, 17)
for m, label in names.items():
    curve = np.array(R[m]["episode_curve"])
    axes[0].plot(k, curve[:, 0], "o-", ms=3, label=label)
    axes[1].plot(k, curve[:, 1], "o-", ms=3, label=label)
nl_curve = np.array(R["nl_nl_episode_curve"])
for i, ax in enumerate(axes):
    ax.plot(k, nl_curve[:, i], "k--", label="NL-NL")
    ax.axhline(-1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("inner episode (co-player update)")
axes[0].set_title("agent")
axes[1].set_title("its learning co-player")
axes[0].set_ylabel("IPD reward per step")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Every trained agent beats mutual learning (NL-NL drifts towards mutual defection), and every
# co-player ends below its agent: the *relative* advantage is real. But Shaper, its ablations and Good
# Shepherd score **below mutual cooperation** ($-1$) on average: they have not learned to exploit the
# naive learner, they defect enough not to be exploited while the learner drifts towards defection.
# The one exception is M-FOS (ES) with pax's gated three-GRU network, whose mean is just above $-1$
# with its co-player below $-1.5$: at this scale the baseline does at least as well as Shaper (paired
# test below). The play-time reset
# diagnostic shows why the sampled IPD cannot show what memory is for: the carry-trained Shaper scores
# about the same with its memory zeroed at every episode start, because 32 steps against a memory-one
# co-player are enough to re-identify it inside each episode. The per-seed columns show how uneven ES
# is at this scale; the cell below counts the seeds that stall (below $-1.3$ per step) and the seeds
# that extort (above $-1$ with the co-player below $-1.5$).

# %%
stalled = {names[m]: int(np.sum(np.array(R[m]["agent_per_seed"]) < -1.3)) for m in names}
extort = {
    names[m]: int(
        np.sum(
            (np.array(R[m]["agent_per_seed"]) > -1.0) & (np.array(R[m]["coplayer_per_seed"]) < -1.5)
        )
    )
    for m in names
}
t_mfos = stats.ttest_rel(R["mfos"]["agent_per_seed"], R["shaper"]["agent_per_seed"])
print(
    f"M-FOS (ES) - Shaper: {s['ipd_mfos_reward'] - s['ipd_shaper_reward']:+.3f}, paired p = {t_mfos.pvalue:.3f}"
)
assert s["ipd_mfos_reward"] > s["ipd_shaper_reward"]  # the baseline is not beaten here
print("seeds below -1.3:", stalled)
print("seeds above -1 with the co-player below -1.5:", extort)
#
# **Scale.** One ES generation evaluates population x co-players x envs x episodes x steps
# environment steps:

# %%
book_cfg = ShaperConfig.preset("book")
paper_cfg = ShaperConfig.preset("paper")


def steps_per_generation(c):
    return c.popsize * c.num_opps * c.num_envs * c.num_episodes * c.num_steps


print(f"book:  {steps_per_generation(book_cfg):.2g} steps per generation x {book_cfg.generations}")
print(
    f"paper: {steps_per_generation(paper_cfg):.2g} steps per generation x {paper_cfg.generations}"
)
ratio = steps_per_generation(paper_cfg) / steps_per_generation(book_cfg)
print(f"ratio: {ratio:.3g}")
assert ratio > 100

# %% [markdown]
# The `paper` preset uses the sizes of pax's `ipd/shaper_v_tabular.yaml` (population 1000, 10
# co-players, 2 environments, 100 episodes of 100 steps): $2\cdot 10^8$ steps per generation for up
# to 5000 generations on GPUs; the book run evaluates $5.2\cdot 10^5$ for 60 generations on two CPU
# cores, about 400 times fewer per generation.
#
# So the target (agent above $-1$, co-player below $-1.5$) is met at book scale in the exact
# meta-game, where the co-player's learning step is exact, and not in the sampled IPD, where each
# co-player update is a REINFORCE step on $4 \times 32$ sampled steps and each ES fitness is an average
# over four such noisy learning processes. We have not measured how many more generations the sampled
# IPD needs; `python -m rlbook.experiments shaper --preset long` trains Shaper alone for 300
# generations (3 seeds) to find out.
#
# ## Batch averaging on and off (stored)

# %%
avg = np.array(R["shaper_avg"]["agent_per_seed"])
no_avg = np.array(R["shaper"]["agent_per_seed"])
t_avg = stats.ttest_rel(avg, no_avg)  # same seed keys: paired
print("agent per seed, no averaging:", fmt(no_avg, 3))
print("agent per seed, averaging:   ", fmt(avg, 3))
print(f"difference {avg.mean() - no_avg.mean():+.3f}, paired p = {t_avg.pvalue:.3f}")
assert not (avg.mean() > no_avg.mean() and t_avg.pvalue < 0.05)  # no evidence that averaging helps

# %% [markdown]
# Averaging did not help here. It pools the $E$ copies' evidence about the one co-player into a
# shared context; with $E = 4$ environments there is little to pool (pax uses 50-100), and the extra
# coupling makes the averaged runs the most uneven over seeds (see the seed counts above). The paper
# reports a benefit in some environments for some methods; we do not reproduce it at this scale.
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
# The stored book run trains Shaper (carried and reset memory) against a CoinGame co-player (linear
# softmax policy on its 36-d egocentric view, REINFORCE after every 16-step episode): trials of 4 envs
# x 16 episodes, ES population 32 with 2 co-players, 60 generations, one seed each.

# %%
print(
    table(
        [
            {
                "memory": m,
                "Shaper": s[f"coin_game_{k}_reward"],
                "co-player": s[f"coin_game_{k}_coplayer_reward"],
                "wall s": s[f"coin_game_{k}_wall_s"],
            }
            for m, k in (("carried", "shaper"), ("reset", "shaper_reset"))
        ]
    )
)

# %% [markdown]
# At this size ES moves slowly; with one seed per memory mode no ordering is claimed. That is in line
# with the paper's remark that CoinGame does not separate methods, but one seed at 3x3 is not evidence
# for it either.
#
# A replay of the stored CoinGame Shaper against a fresh co-player: the first inner episode (before the
# co-player has learned anything) and the last one (after 15 updates).

# %%
cg_cfg = ShaperConfig.preset("coin_book")
cg_params = shaper.params_from_lists(cg_cfg, R["coin_game_shaper"]["params"])
rep = widgets_shaper.record_replay(cg_params, cg_cfg, seed=SEED + 7)
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
# **Co-player learning rate and memory.** *Predict first:* the stored carry-trained agent of the exact
# meta-game (seed 0) was trained against co-players with learning rate 1. Against a co-player that
# learns four times faster, does carried memory still pay, and does the co-player still end below
# mutual cooperation? Left: rewards per meta-step; right: the co-player's P(C | s) after each update.
# The static figure below the widget shows lr 1 with memory carried and reset.

# %%
meta_params0 = shaper.params_from_lists(META, mc["params"])

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
display(widgets_shaper.make_coplayer_explorer(meta_params0, META, lr=1.0))

# %%
resp = {
    m: widgets_shaper.coplayer_response(meta_params0, META, lr=1.0, memory=m)
    for m in ("carry", "reset")
}
for m, r in resp.items():
    print(f"memory {m}: agent {r['agent'].mean():.3f}, co-player {r['coplayer'].mean():.3f}")
np.testing.assert_allclose(resp["carry"]["agent"][0], resp["reset"]["agent"][0])  # same first step
assert resp["carry"]["agent"].mean() > resp["reset"]["agent"].mean()
for m in ("carry", "reset"):
    widgets_shaper.plot_response(resp[m])
    plt.show()

# %% [markdown]
# **Replay viewer.** *Predict first:* in the CoinGame replay, does the co-player pick up Shaper's coins
# more often in the first or in the last episode? Browse the trial by co-player update and step.

# %%
# NBVAL_IGNORE_OUTPUT
# why: widget state is rebuilt by the frontend
display(widgets_shaper.make_replay_viewer(rep))

# %%
frame = widgets_shaper.replay_frame(rep, cg_cfg.num_episodes - 1, 0)
print("frame", frame.shape, frame.dtype)
assert frame.shape == (48, 48, 3)
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for ax, (e, t) in zip(axes, ((0, 0), (0, 8), (15, 0), (15, 8)), strict=True):
    ax.imshow(widgets_shaper.replay_frame(rep, e, t))
    ax.set_title(f"update {e}, step {t}", fontsize=9)
    ax.set_axis_off()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Shaper paper vs rlbook
#
# The paper's figure values could not be checked here: the paper column quotes its abstract and its
# released configs (pax), not figure readings.

# %%
print(
    table(
        [
            {
                "claim": "Shaper shapes a learning co-player (IPD)",
                "paper": "abstract; pax shaper_v_tabular (pop 1000, 5000 gens)",
                "rlbook": f"exact meta-game: {s['ipd_shaper_carry_reward']} vs co-player "
                f"{s['ipd_shaper_carry_coplayer_reward']}; sampled: {s['ipd_shaper_reward']} vs "
                f"{s['ipd_coplayer_reward']} (book, 5 seeds)",
                "verdict": "reproduced (exact meta-game); not at this scale (sampled)",
                "why": "sampled: below mutual cooperation after 60 generations of noisy fitness",
            },
            {
                "claim": "the carried memory is used",
                "paper": "abstract: history and context in one memory",
                "rlbook": f"play-time reset: meta {s['meta_playtime_reset_reward']} "
                f"(p={s['meta_playtime_reset_p']}); sampled {s['ipd_shaper_playtime_reset_reward']} "
                f"(p={s['ipd_playtime_reset_p']})",
                "verdict": "reproduced (exact meta-game); not at this scale (sampled)",
                "why": "32-step sampled episodes re-identify the co-player without memory",
            },
            {
                "claim": "training with carried memory beats reset",
                "paper": "ablation (abstract)",
                "rlbook": f"meta {s['ipd_shaper_carry_reward']} vs {s['ipd_shaper_reset_reward']}"
                f" (p={s['carry_vs_reset_p']}); sampled {s['ipd_shaper_reward']} vs "
                f"{s['ipd_shaper_reset_reward']} (p={s['ipd_carry_vs_reset_p']})",
                "verdict": "not at this scale",
                "why": "extorting a naive learner needs little context; 5 seeds",
            },
            {
                "claim": "Shaper > M-FOS, Good Shepherd",
                "paper": "abstract; notably IPDitM / IMPitM",
                "rlbook": f"sampled IPD: M-FOS {s['ipd_mfos_reward']}, GS {s['ipd_gs_reward']}",
                "verdict": "contradicted at this scale (sampled IPD)",
                "why": "M-FOS (ES) scores higher here; grid games not run at scale",
            },
            {
                "claim": "batch averaging helps",
                "paper": "abstract: in some envs / methods",
                "rlbook": f"sampled IPD: {s['ipd_shaper_avg_reward']} vs {s['ipd_shaper_reward']}",
                "verdict": "not at this scale",
                "why": "E = 4 envs pool little evidence (pax: 50-100)",
            },
            {
                "claim": "CoinGame does not separate methods",
                "paper": "abstract",
                "rlbook": f"3x3, pop 32, 60 gens: {s['coin_game_shaper_reward']} vs reset "
                f"{s['coin_game_shaper_reset_reward']} (1 seed)",
                "verdict": "not at this scale",
                "why": "one seed per method cannot order them",
            },
        ]
    )
)

# %% [markdown]
# ## Key takeaways
#
# * Shaper is one recurrent agent whose memory crosses the co-player's learning episodes: history and
#   context in one state, trained by ES on the return over the co-player's whole learning process.
# * Whether memory *matters* depends on the regime. In 32-step sampled IPD episodes a reset agent
#   re-identifies its co-player inside each episode, and the play-time reset diagnostic shows the
#   trained Shaper does not rely on carried memory. In the exact meta-game, with only its own policy and
#   reward to go on, the carry-trained agent does rely on it.
# * Relying on memory is not the same as needing it: an agent trained with reset memory reached the
#   same reward in the exact meta-game, because extortion of a naive learner needs little context.
# * At book scale the sampled-IPD Shaper beats mutual learning but not mutual cooperation, and the
#   M-FOS (ES) baseline does better; the exact meta-game reaches the exploitation the paper reports. Carry vs reset comparisons share keys, so
#   they are paired tests; single seeds order nothing.
#
# ## Exercises
#
# 1. With the widget's `coplayer_response`, play the stored meta-game agent against co-players with
#    learning rate 0.5 and 2. Does the gap between carried and reset memory grow with the co-player's
#    learning rate?
#
# <details><summary>Solution</summary>
#
# `widgets_shaper.coplayer_response(meta_params0, META, lr=lr, memory=m)` for both memories; compare
# `r["agent"].mean()`. The agent was trained against lr 1; away from it the learned context is
# miscalibrated, so expect both the gap and the co-player's losses to shrink, most at lr 0.5 where the
# co-player moves little per step. The cell below checks that the gap is still computed on the same
# first meta-step.
#
# </details>
#
# 2. How many seeds would you need to detect a 0.05 difference between trained carry and trained
#    reset in the sampled IPD, given the seed standard deviations of the stored run?
#
# <details><summary>Solution</summary>
#
# For a paired test at 5% with 80% power, $n \approx ((z_{0.975} + z_{0.8})\,\sigma_d / \delta)^2$ with
# $\sigma_d$ the standard deviation of the per-seed differences. The cell below computes it from the
# stored per-seed numbers.
#
# </details>
#
# 3. Why can batch averaging not help Good Shepherd? Check by reading `Agent` and `trial_episode`.
#
# <details><summary>Solution</summary>
#
# Good Shepherd's `Agent` branch never reads `h`: it returns the memory unchanged and acts on the
# current observation only, so averaging a state it never uses changes nothing (and `memory_width`
# gives it a state that stays at zero).
#
# </details>

# %%
ex1 = widgets_shaper.coplayer_response(meta_params0, META, lr=2.0, memory="carry", trials=8)
ex1r = widgets_shaper.coplayer_response(meta_params0, META, lr=2.0, memory="reset", trials=8)
np.testing.assert_allclose(ex1["agent"][0], ex1r["agent"][0])
d = np.array(R["shaper"]["agent_per_seed"]) - np.array(R["shaper_reset"]["agent_per_seed"])
n_needed = ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * d.std(ddof=1) / 0.05) ** 2
print(f"seeds needed for a 0.05 gap (paired): {int(np.ceil(n_needed))}")
assert n_needed > 0

# %% [markdown]
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
