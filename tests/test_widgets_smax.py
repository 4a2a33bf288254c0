"""Chapter 8 widget callbacks, without a frontend."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from rlbook.viz import widgets_smax as w


def test_scenario_sizes_match_the_spec_table():
    out = w.scenario_sizes({"marine": 5}, {"marine": 6})
    assert (out["obs_size"], out["ally_actions"], out["world_state_size"]) == (140, 11, 132)
    out = w.scenario_sizes({"stalker": 2, "zealot": 3}, {"stalker": 2, "zealot": 3})
    assert (out["obs_size"], out["ally_actions"]) == (127, 10)
    with pytest.raises(ValueError, match="unit names"):
        w.scenario_sizes({"tank": 1}, {"marine": 1})
    with pytest.raises(ValueError, match="num_enemies"):
        w.scenario_sizes({"marine": 1}, {"marine": 0})


def test_scenario_sizes_of_the_modes():
    conic = w.scenario_sizes({"marine": 5}, {"marine": 6}, "conic")
    assert (conic["obs_size"], conic["ally_actions"]) == (13 * 64 + 10, 11)
    cont = w.scenario_sizes({"marine": 5}, {"marine": 6}, "unit_list", "continuous")
    assert (cont["obs_size"], cont["ally_actions"], cont["world_state_size"]) == (
        140,
        "4 in [0, 1]",
        132,
    )
    with pytest.raises(ValueError, match="observation_type"):
        w.scenario_sizes({"marine": 1}, {"marine": 1}, "grid")
    with pytest.raises(ValueError, match="action_type"):
        w.scenario_sizes({"marine": 1}, {"marine": 1}, "unit_list", "box")


def test_builder_and_viewer_update():
    b = w.make_scenario_builder()
    assert b.result["obs_size"] == 13 * 5 + 10
    obs, act = b.children[1].children
    obs.value, act.value = "conic", "continuous"
    assert b.result["obs_size"] == 842 and b.result["ally_actions"] == "4 in [0, 1]"
    v = w.make_episode_viewer("3m", "stop")
    assert v.result["won"] is False and v.result["return"] == 0.0
    with pytest.raises(ValueError, match="policy"):
        w.episode_summary("3m", "nope")


class _StopPolicy:
    """A stand-in for a trained recurrent team (``GreedyPolicy`` interface): always stop."""

    def __init__(self, agents):
        self.agents = agents

    def initial_carry(self):
        return jnp.zeros(())

    def __call__(self, key, obs, avail, carry):
        return {a: jnp.int32(4) for a in self.agents}, carry


def test_viewer_trained_policy_switches_scenario():
    stop = _StopPolicy(w._env("3m").agents)
    v = w.make_episode_viewer("3m", "stop", trained={"team 3m": ("3m", stop)})
    sc, pol, _ = v.children[0].children
    assert "team 3m" in pol.options
    sc.value = "2s3z"
    pol.value = "team 3m"  # a 3m team: the scenario follows
    assert sc.value == "3m" and v.result["won"] is False and v.result["return"] == 0.0
    sc.value = "2s3z"  # another scenario: the allies fall back to the heuristic
    assert pol.value == "heuristic" and v.result == w.episode_summary("2s3z", "heuristic", 0)
