"""Chapter 2: the paper's PPO meta-learner (registered separately: it is the slow one)."""

from __future__ import annotations

from rlbook.experiments import Experiment
from rlbook.experiments.mfos import PPO_PRESETS, ppo_config, run_ppo

DESCRIPTION = "M-FOS with the paper's PPO meta-learner vs NL and vs LOLA in the IPD"

EXPERIMENT = Experiment(
    "mfos_ppo",
    DESCRIPTION,
    run_ppo,
    lambda preset: {opp: ppo_config(preset, opp).to_dict() for opp in ("nl", "lola")},
    presets=tuple(PPO_PRESETS),
    chapter="02_mfos",
)
