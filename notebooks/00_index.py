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
# # rlbook: opponent shaping, multi-agent RL and mixtures of experts in JAX
#
# An interactive textbook of research papers by Timon Willi and co-authors, plus M-FOS, on which several
# of them build. Every chapter is a notebook that runs top to bottom on a laptop CPU: the idea, the
# maths, the real code from the `rlbook` package, a live experiment, figures, widgets to play with, a
# table of what the paper says next to what rlbook measures, and exercises. Every chapter is also a
# regression test: `make test` executes it with nbval and compares its outputs and its `assert`ed claims.

# %% [markdown]
# ## Contents
#
# | | chapter | paper | status |
# |---|---|---|---|
# | 1 | [Learning in matrix games: naive learners and LOLA](01_learning_in_games.ipynb) | background: LOLA (Foerster et al., 2018) | ready |
# | 2 | [Model-free opponent shaping (M-FOS)](02_mfos.ipynb) | M-FOS (Lu, Willi, de Witt, Foerster, 2022) | ready |
# | 3 | [Shaper: opponent shaping with one memory](03_shaper.ipynb) | Shaper (Khan, Willi et al., 2024) | ready |
# | 4 | [The sample complexity of opponent shaping (R-FOS)](04_rfos.ipynb) | R-FOS (Fung, Willi et al., 2024) | ready |
# | 5 | [Welfare equilibria in non-coincidental games (WelFuSe)](05_welfuse.ipynb) | WelFuSe (Levi, Lu, Willi et al., 2024) | ready |
# | 6 | [Opponent shaping with N players](06_nplayer.ipynb) | Leading the Pack (Souly, Willi et al., 2023) | ready |
# | 7 | [Adversarial cheap talk (ACT)](07_act.ipynb) | ACT (Lu, Willi et al., 2023) | ready |
# | 8 | [SMAX: a StarCraft-like battle written in JAX (JaxMARL)](08_smax.ipynb) | JaxMARL (Rutherford et al., 2024) | ready |
# | 9 | [Mixtures of experts and parameter scaling in deep RL](09_moe_scaling.ipynb) | Obando-Ceron, Sokar, Willi et al., 2024 | ready |
# | 10 | [Mixtures of experts across RL settings: many games at once, and one after another](10_moe_settings.ipynb) | Willi, Obando-Ceron et al., 2024 | ready |
# | 11 | [Recurrent neural processes: slow latent change](11_rnp.ipynb) | RNP (Willi, Masci, Schmidhuber, Osendorfer, 2019) | ready |
# | 12 | [Making RL fast in JAX](12_performance.ipynb) | performance: benchmarks against jaxmarl, gymnax and Python loops | ready |
# | A | [Primers: PPO with GAE, and evolution strategies](90_primers.ipynb) | background: GAE, PPO, OpenES | ready |
#

# %% [markdown]
# ## One thread: learning when the world moves
#
# Every chapter is about **non-stationarity**: a learner whose data come from something that changes
# while it learns. The book follows where the change comes from.
#
# * **The other learner** (Chapters 1-6). A co-player who learns makes the game non-stationary. Naive
#   learners ignore it; LOLA differentiates through one step of it (1); M-FOS (2), Shaper (3) and R-FOS
#   (4) learn, across many episodes, to *shape* it; WelFuSe (5) asks which outcome shaping should aim
#   at; N-player shaping (6) asks what one shaper can do among many learners.
# * **An adversary's influence on learning** (7). A third party who only talks, and never acts, can
#   steer what a victim learns.
# * **Many learners** (8). Teams of independent learners (IPPO) or learners with a shared critic
#   (MAPPO) face each other's changing policies: Chapter 1's naive learners at scale.
# * **One's own shifting targets and tasks** (9, 10). A value network chases targets that move as it
#   learns; multi-task and continual training add tasks that change under it. Mixtures of experts
#   keep more of the network alive through it.
# * **Slow latent change in time** (11). A recurrent neural process separates a slowly drifting
#   latent state from fast observations.
# * **Speed** (12) makes all of this runnable on a laptop.
#
# **Reading order.** 1 first (memory-one games, exact values, LOLA); then 2; 3, 4, 5 and 6 each build
# on 1-2 and can be read in any order; 7 needs 2's meta-learning and Appendix A's ES; 8 needs
# Appendix A's PPO; 9 needs Appendix A's PPO; 10 builds on 9; 11 stands alone; 12 uses examples from
# every chapter. Appendix A derives PPO with GAE and evolution strategies once, for every chapter
# that trains with them.
#
# ## Notation used in every chapter
#
# | symbol | meaning |
# |---|---|
# | $	heta_i$ | player (or learner) $i$'s policy parameters; in memory-one games 5 logits, one per state |
# | $\phi$ | a meta-learner's (shaper's) parameters |
# | $V_i(	heta_1, 	heta_2)$ | player $i$'s exact average per-step reward of a memory-one policy pair |
# | $R$ | a one-shot game's payoff matrices ($R_i[a_1, a_2]$) |
# | $P_	heta$ | the Markov chain's transition matrix over joint-action states under policies $	heta$ |
# | $\gamma$ | discount; $\eta$ a learning rate (LOLA's look-ahead step has its own $\eta$, named where used) |
# | $s_t, a_t, r_t, d_t$ | state, action, reward and episode-end flag at step $t$ |
# | $A_t$, $\lambda$ | advantage and GAE's $\lambda$ (Appendix A) |
# | $\mu, \sigma, N$ | an evolution strategy's mean, noise scale and population size (Appendix A) |
# | $m$ | R-max's visit count to call a state-action pair known (Chapter 4) |
# | $E$ / $K$ | parallel environments / experts (MoE chapters) |
#
# Where a chapter needs a symbol only locally it says so where it is introduced.

# %% [markdown]
# ## How to use the book
#
# * **Run it.** `make lab` (from the repository root) creates `.venv`, installs the pinned versions and
#   opens this page in JupyterLab; on a machine without a screen it prints the URL with its token.
#   Run a chapter with *Run ▸ Run All Cells*. Each chapter runs in a few minutes at most on 2 CPU cores.
# * **Read the code.** Chapters import everything from `rlbook` and show the real source with
#   `show_source(...)`: what you read is what runs. Open the module in Lab to go further.
# * **Play.** Widgets (sliders, dropdowns) rerun a jitted core and redraw; the first move of a slider
#   may take a second to compile, later ones are fast. The cell after each widget checks the widget's
#   function at its default values, so the book's tests cover what you play with.
# * **Test.** `make test` runs the unit tests, the notebook hygiene checks and every chapter under nbval.
#
# ## The scale switch: `book`, `medium` and `paper`
#
# Every experiment is built from a frozen config with named presets. The first code cell of each
# chapter says `PRESET = "book"`: sizes that run on a laptop CPU and still show the paper's qualitative
# result. `paper` uses the paper's own sizes (for a GPU: `pip install -c constraints.txt "jax[cuda12]"`);
# `medium` is a longer CPU run whose results the chapters plot from `data/`. Change the literal in
# the chapter, or run the experiment from the command line:
#
# ```
# python -m rlbook.experiments --list
# python -m rlbook.experiments mfos --preset paper --seed 0 --out data/mfos_paper.json
# ```
#
# A chapter run with another preset no longer matches its stored outputs, so nbval will report
# differences: that is expected, and `make outputs NB=...` regenerates them.

# %%
from importlib.metadata import version

import jax

from rlbook.book.nb import nb_setup

SEED = 0
key = jax.random.key(SEED)
rng = nb_setup(SEED, style=False)

# The book's outputs were produced with exactly these versions (constraints.txt); other versions change
# random streams and printed numbers.
PINNED = {
    "jax": "0.10.2",
    "flax": "0.12.8",
    "optax": "0.2.8",
    "matplotlib": "3.11.2",
    "ipywidgets": "8.1.9",
}
for pkg, want in PINNED.items():
    assert version(pkg) == want, (
        f"{pkg} {version(pkg)} is installed; the book pins {want}: run make venv"
    )
print("pinned versions OK:", ", ".join(f"{k} {v}" for k, v in PINNED.items()))

# %% [markdown]
# ## The experiments behind the chapters
#
# Every chapter's headline experiment is also a command (`python -m rlbook.experiments NAME`). It prints
# progress on stderr and a one-line JSON summary of the numbers the chapter asserts; with `--out` it
# writes results and provenance (config, seed, git commit, device, jax version, wall time) to `data/`.

# %%
from rlbook.experiments import registry

for name, exp in sorted(registry().items()):
    print(f"{name:20s} chapter {exp.chapter or '-':22s} presets {','.join(exp.presets)}")

# %% [markdown]
# ## The reproduction ledger
#
# Every chapter ends with a table of what its paper says next to what rlbook measures, with a verdict:
# **reproduced**, **partly**, **not at this scale** (the book's or the stored run's scale does not show
# it; the chapter says what does), **contradicted**, or **untested** (no data to check it). The ledger
# below is read from the chapters' executed outputs by `rlbook.book.ledger`, so each claim is written
# once, in its chapter. Chapters without a verdict column yet are not counted.

# %%
from rlbook.book import ledger
from rlbook.book.nb import table

rows = ledger.ledger(".")
per_chapter = ledger.counts(rows)
print(table([{"chapter": ch, **n} for ch, n in per_chapter.items()]))
assert per_chapter["total"]["reproduced"] > 0

# %%
print(table([{k: r[k][:60] for k in ("chapter", "claim", "verdict")} for r in rows]))
