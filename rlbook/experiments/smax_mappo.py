"""Chapter 8 experiment: recurrent MAPPO (centralised world-state critic) on SMAX 3m. See ``smax_ippo``."""

from __future__ import annotations

import functools

from rlbook.experiments import Experiment
from rlbook.experiments.smax_ippo import config as _config
from rlbook.experiments.smax_ippo import run_algo
from rlbook.learners.mappo import MAPPOConfig

DESCRIPTION = "Recurrent MAPPO on SMAX 3m vs the heuristic enemy (greedy-eval win rate, SPS)"


def run(preset: str = "book", seed: int = 0, log=lambda m: None):
    return run_algo("mappo", preset, seed, log)


EXPERIMENT = Experiment(
    "smax_mappo",
    DESCRIPTION,
    run,
    functools.partial(_config, algo="mappo"),
    presets=tuple(MAPPOConfig.PRESETS),
    chapter="08_smax",
)
