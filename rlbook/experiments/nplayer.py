"""Chapter 6 experiment: welfare of N-player learner mixes on the exact N-player memory-one games.

For every (game, n, mix) cell it trains ``num_seeds`` seeds at once (``jax.jit(jax.vmap(train))``) and
evaluates each on ``eval_opps`` held-out naive co-player draws (the same draws for every mix of a seed).
Welfare = mean per-step reward over all players and all learning steps. Summary keys:
``{game}_welfare_{mix}_n{n}`` (mean over seeds; game ``ipd`` is written ``nipd``), the leader's own reward
``{game}_leader_{mix}_n{n}`` and ``wall_s``; per-seed numbers are in ``results``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import jax
import numpy as np

from rlbook.config import Config, check_int
from rlbook.experiments import Experiment
from rlbook.shaping.npos import NPOSConfig, make_train, trial_welfare

DESCRIPTION = (
    "N-player opponent shaping: welfare of NL-only, one LOLA, one or two ES shapers among "
    "naive learners on the exact N-player games (N = 3-5), several seeds"
)

# mix name -> (NPOSConfig.mix, num_leaders)
MIXES = {
    "nl": ("nl", 0),
    "lola": ("lola", 1),
    "shaper": ("shaper", 1),
    "two_shapers": ("shaper", 2),
}


@dataclasses.dataclass(frozen=True)
class NPlayerExperiment(Config):
    """Which cells to run: ``cells`` = (game, n, mix) triples; sizes from ``NPOSConfig.preset``."""

    PRESETS: ClassVar[dict] = {
        "book": dict(
            num_seeds=2,
            cells=tuple(
                [(g, n, m) for g in ("ipd",) for n in (3, 4, 5) for m in ("nl", "lola", "shaper")]
                + [("stag_hunt", 5, m) for m in ("nl", "two_shapers")]
            ),
        ),
        "tiny": dict(num_seeds=1),  # the book's cells at NPOSConfig's tiny sizes (smoke test)
        "medium": dict(
            num_seeds=5,
            cells=tuple(
                [
                    (g, n, m)
                    for g in ("ipd", "snowdrift", "stag_hunt", "commons")
                    for n in (3, 4, 5)
                    for m in ("nl", "lola", "shaper")
                ]
                + [(g, 5, "two_shapers") for g in ("stag_hunt", "commons")]
            ),
        ),
        "paper": dict(
            num_seeds=10,
            cells=tuple(
                [
                    (g, n, m)
                    for g in ("ipd", "snowdrift", "stag_hunt", "commons")
                    for n in (3, 4, 5)
                    for m in ("nl", "lola", "shaper", "two_shapers")
                ]
            ),
        ),
    }
    preset_name: str = "book"
    num_seeds: int = 3
    cells: tuple = ()

    def __post_init__(self):
        if not self.cells:  # default: the book's cells
            object.__setattr__(self, "cells", self.PRESETS["book"]["cells"])
        super().__post_init__()

    def validate(self):
        check_int(self, "num_seeds", lo=1)
        for cell in self.cells:
            if len(cell) != 3 or cell[2] not in MIXES:
                raise ValueError(
                    f"cells must be (game, n, mix) with mix in {sorted(MIXES)}, got {cell}"
                )


def cell_config(preset: str, game: str, n: int, mix: str) -> NPOSConfig:
    kind, k = MIXES[mix]
    return NPOSConfig.preset(preset, game=game, n=n, mix=kind, num_leaders=k)


def run_cell(c: NPOSConfig, seed: int, num_seeds: int) -> dict:
    """Per-seed welfare, leader reward, the welfare curve over learning steps and ES fitness."""
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    out = jax.jit(jax.vmap(make_train(c)))(keys)
    value = np.asarray(out.eval.value)  # [seeds, eval_opps, T, n]
    if not np.all(np.isfinite(value)):
        raise FloatingPointError(f"non-finite values in {c.game} n={c.n} {c.mix}")
    w = np.asarray(trial_welfare(out.eval)).mean(-1)  # [seeds]
    return {
        "welfare": w.tolist(),
        "leader": value[..., 0].mean(axis=(1, 2)).tolist(),
        "naive": value[..., c.num_leaders :].mean(axis=(1, 2, 3)).tolist(),
        "welfare_curve": value.mean(axis=(0, 1, 3)).tolist(),
        "fitness": np.asarray(out.fitness).mean(0).tolist(),
    }


def key_name(game: str, kind: str, mix: str, n: int) -> str:
    return f"{'nipd' if game == 'ipd' else game}_{kind}_{mix}_n{n}"


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    cfg = NPlayerExperiment.preset(preset, preset_name=preset)
    t0 = time.perf_counter()
    summary: dict[str, float] = {}
    results: dict[str, dict] = {}
    for game, n, mix in cfg.cells:
        t1 = time.perf_counter()
        res = run_cell(cell_config(preset, game, n, mix), seed, cfg.num_seeds)
        res["wall_s"] = time.perf_counter() - t1
        results[f"{game}_n{n}_{mix}"] = res
        summary[key_name(game, "welfare", mix, n)] = float(np.mean(res["welfare"]))
        if mix != "nl":
            summary[key_name(game, "leader", mix, n)] = float(np.mean(res["leader"]))
        log(
            f"{game} n={n} {mix}: welfare per seed {np.round(res['welfare'], 3).tolist()} "
            f"({res['wall_s']:.0f} s)"
        )
    summary["wall_s"] = time.perf_counter() - t0
    return summary, results


def config(preset: str) -> dict:
    cfg = NPlayerExperiment.preset(preset, preset_name=preset)
    d = cfg.to_dict()
    d["cells"] = [list(c) for c in cfg.cells]
    d["npos"] = cell_config(preset, "ipd", 3, "shaper").to_dict()
    return d


EXPERIMENT = Experiment("nplayer", DESCRIPTION, run, config, chapter="06_nplayer")
