"""The `shaper` experiment is registered, its presets build valid configs, and its stored book run is consistent."""

import json
from pathlib import Path

from rlbook.experiments import get_experiment
from rlbook.experiments import shaper as exp

DATA = Path(__file__).resolve().parents[1] / "data" / "shaper_book.json"


def test_registered_and_configs_valid():
    e = get_experiment("shaper")
    assert e.chapter == "03_shaper"
    for preset in ("book", "medium", "paper"):
        cfg = e.config(preset)
        assert set(exp.METHODS) <= set(cfg)
    assert e.config("paper")["shaper"]["popsize"] == 1000
    assert e.config("book")["num_seeds"] >= 5


def test_stored_book_run_has_required_keys():
    book = json.loads(DATA.read_text())
    s = book["summary"]
    for k in ("ipd_shaper_reward", "ipd_shaper_reset_reward", "ipd_coplayer_reward", "wall_s"):
        assert k in s
    per_seed = book["results"]["shaper"]["agent_per_seed"]
    assert len(per_seed) == s["num_seeds"] >= 5
    assert abs(sum(per_seed) / len(per_seed) - s["ipd_shaper_reward"]) < 1e-3
