"""The `welfuse` experiment is registered, its presets build valid configs, and its summary is consistent."""

from rlbook.experiments import get_experiment
from rlbook.experiments import welfuse as exp
from rlbook.shaping.welfuse import WelFuSeConfig


def test_registered_and_configs_valid():
    e = get_experiment("welfuse")
    assert e.chapter == "05_welfuse"
    for preset in e.presets:
        WelFuSeConfig(**e.config(preset))
    assert e.config("paper")["n_runs"] == 100  # the reference's batch


def test_classification_lists_chicken_as_noncoincidental():
    verdicts = exp.classify_games()
    assert verdicts["chicken"] is False
    assert verdicts["prisoners_dilemma"] is True
