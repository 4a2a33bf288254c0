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
        assert cfg["meta_book"]["env"] == "ipd_meta"
    assert set(e.config("long")) == {"shaper", "num_seeds"}
    assert e.config("paper")["shaper"]["popsize"] == 1000
    assert e.config("book")["num_seeds"] >= 5


def test_stored_book_run_has_required_keys():
    book = json.loads(DATA.read_text())
    s = book["summary"]
    for k in ("ipd_shaper_reward", "ipd_coplayer_reward", "wall_s", "ipd_carry_vs_reset_p"):
        assert k in s
    for k in ("ipd_shaper_carry_reward", "ipd_shaper_reset_reward", "carry_vs_reset_p"):
        assert k in s  # the exact meta-game, where memory matters
    per_seed = book["results"]["shaper"]["agent_per_seed"]
    assert len(per_seed) == s["num_seeds"] >= 5
    assert abs(sum(per_seed) / len(per_seed) - s["ipd_shaper_reward"]) < 1e-3
    meta = book["results"]["meta_shaper"]["agent_per_seed"]
    assert abs(sum(meta) / len(meta) - s["ipd_shaper_carry_reward"]) < 1e-3


def test_paired_p_is_a_paired_test():
    """Paired: a constant shift over seeds is detected even with a large seed spread."""
    a = [-1.0, -1.5, -0.5, -2.0, -1.2]
    b = [x - 0.05 + 0.001 * i for i, x in enumerate(a)]
    assert exp.paired_p(a, b) < 0.01
    assert exp.paired_p(a, a[::-1]) > 0.5
