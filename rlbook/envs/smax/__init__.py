"""rlbook's SMAX: a jitted StarCraft-like multi-agent environment with JaxMARL's API (see ``env.py``)."""

from rlbook.envs.smax.env import SMAX, Box, Discrete, HeuristicEnemySMAX, HeuristicState, State
from rlbook.envs.smax.heuristic import HeuristicPolicyState, make_heuristic_policy
from rlbook.envs.smax.scenarios import (
    JAXMARL_SCENARIOS,
    SCENARIOS,
    Scenario,
    custom_scenario,
    make_scenario,
    map_name_to_scenario,
    register_scenario,
)
from rlbook.envs.smax.units import UNIT_NAMES, UNIT_SHORTHANDS

__all__ = [
    "SMAX",
    "Box",
    "Discrete",
    "HeuristicEnemySMAX",
    "HeuristicPolicyState",
    "HeuristicState",
    "JAXMARL_SCENARIOS",
    "SCENARIOS",
    "Scenario",
    "State",
    "UNIT_NAMES",
    "UNIT_SHORTHANDS",
    "custom_scenario",
    "make_heuristic_policy",
    "make_scenario",
    "map_name_to_scenario",
    "register_scenario",
]
