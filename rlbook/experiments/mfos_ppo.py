"""Chapter 2: the paper's PPO meta-learner (registered separately: it is the slow one)."""

from __future__ import annotations

import dataclasses

from rlbook.experiments import Experiment
from rlbook.experiments.mfos import ppo_config, run_ppo

EXPERIMENT = Experiment(
    name="mfos_ppo",
    description="M-FOS with the paper's PPO meta-learner vs NL in the IPD",
    run=run_ppo,
    config=lambda preset: dataclasses.asdict(ppo_config(preset)),
    chapter="02_mfos",
)
