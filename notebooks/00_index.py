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
# | 2 | [Model-free opponent shaping](02_mfos.ipynb) | M-FOS (Lu, Willi, de Witt, Foerster, 2022) | ready |
# | 3 | [Opponent shaping with memory, at scale](03_shaper.ipynb) | Shaper (Khan, Willi et al., 2024) | ready |
# | 4 | [The sample complexity of opponent shaping](04_rfos.ipynb) | R-FOS (Fung, Willi et al., 2024) | ready |
# | 5 | [Welfare equilibria in non-coincidental games](05_welfuse.ipynb) | WelFuSe (Levi, Lu, Willi et al., 2024) | ready |
# | 6 | [Opponent shaping with N players](06_nplayer.ipynb) | Leading the Pack (Souly, Willi et al., 2023) | ready |
# | 7 | [Adversarial cheap talk](07_act.ipynb) | ACT (Lu, Willi et al., 2023) | ready |
# | 8 | [Multi-agent RL at JAX speed: SMAX, IPPO, MAPPO](08_smax.ipynb) | JaxMARL (Rutherford et al., 2024) | ready |
# | 9 | [Mixtures of experts unlock parameter scaling](09_moe_scaling.ipynb) | Obando-Ceron, Sokar, Willi et al., 2024 | ready |
# | 10 | Mixtures of experts across RL settings | Willi, Obando-Ceron et al., 2024 | planned |
# | 11 | [Recurrent neural processes](11_rnp.ipynb) | RNP (Willi, Masci, Schmidhuber, Osendorfer, 2019) | ready |
#
# Chapters marked *planned* are not written yet.

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
