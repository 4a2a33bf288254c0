"""The registered experiment `learning_in_games` at book scale (called in-process)."""

import json

import pytest

from rlbook.experiments import get_experiment
from rlbook.experiments.learning_in_games import Config


@pytest.fixture(scope="module")
def book_run():
    exp = get_experiment("learning_in_games")
    logs = []
    summary, results = exp.run("book", 0, logs.append)
    return summary, results, logs


def test_summary_has_the_required_keys_and_is_json(book_run):
    summary, results, logs = book_run
    for k in ("ipd_nl_nl_reward", "ipd_nl_nl_p_cooperate", "ipd_lola_lola_reward", "wall_s"):
        assert k in summary
    json.dumps(summary)
    json.dumps(results)
    assert len(logs) == 6


def test_book_numbers_match_the_claims(book_run):
    s, _, _ = book_run
    assert s["ipd_nl_nl_reward"] < -1.95
    assert s["ipd_nl_nl_p_cooperate"] < 0.05
    assert s["ipd_nl_nl_frac_p_cooperate_below_0.1"] > 0.9
    assert s["ipd_lola_lola_reward"] > -1.2
    assert s["ipd_lola_lola_frac_reward_above_-1.3"] > 0.8
    assert s["ipd_lola_lola_reward"] > s["ipd_nl_nl_reward"]
    assert s["ipd_lola_nl_reward"] > s["ipd_lola_nl_opponent_reward"]
    assert abs(s["imp_nl_nl_run_mean_reward"]) < 0.05
    for pair in ("nl_nl", "lola_lola", "lola_nl"):
        assert 0.0 <= s[f"imp_{pair}_frac_near_nash"] <= 1.0
        assert 0.0 <= s[f"imp_{pair}_median_dist_to_nash"] <= 2**-0.5


def test_distance_to_mixed_nash_is_per_run():
    import numpy as np

    from rlbook.experiments.learning_in_games import distance_to_mixed_nash

    # two runs at opposite corners average to (1/2, 1/2) but are both far from it
    pc = np.array([[[0.5, 0.5], [1.0, 0.0]], [[0.5, 0.5], [0.0, 1.0]]])
    assert pc[:, -1].mean(0).tolist() == [0.5, 0.5]
    np.testing.assert_allclose(distance_to_mixed_nash(pc), [2**-0.5, 2**-0.5])


def test_same_seed_same_numbers(book_run):
    s, _, _ = book_run
    s2, _ = get_experiment("learning_in_games").run("book", 0, lambda m: None)
    for k, v in s.items():
        if k != "wall_s":
            assert s2[k] == v, k


def test_presets_and_validation():
    assert Config.preset("paper").n_runs > Config.preset("book").n_runs
    with pytest.raises(ValueError, match="preset"):
        Config.preset("huge")
    with pytest.raises(ValueError, match="gamma"):
        Config(gamma=1.0)
