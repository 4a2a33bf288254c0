"""IPPO/MAPPO on SMAX: the stored-actor round trip and the trained team as a recorded episode."""

import jax
import numpy as np
import pytest

from rlbook.envs.smax import HeuristicEnemySMAX
from rlbook.envs.smax.render import record_episode
from rlbook.learners import mappo


@pytest.mark.parametrize("algo", ["ippo", "mappo"])
def test_actor_round_trip_and_greedy_recording(algo):
    cfg = mappo.MAPPOConfig.preset(
        "book", algo=algo, num_envs=4, num_steps=8, total_timesteps=4 * 8 * 2,
        fc_dim=8, gru_dim=8, eval_envs=2,
    )  # fmt: skip
    out = jax.jit(mappo.make_train(cfg))(jax.random.key(0))
    text = mappo.encode_actor(out["params"])
    assert isinstance(text, str)
    back = mappo.decode_actor(cfg, text)
    same = jax.tree.map(
        lambda a, b: bool(np.array_equal(np.asarray(a), np.asarray(b))),
        back["actor"], out["params"]["actor"],
    )  # fmt: skip
    assert all(jax.tree.leaves(same))
    env = HeuristicEnemySMAX(scenario="3m")
    policy = mappo.GreedyPolicy(cfg, back, env)
    rec = record_episode(env, jax.random.key(1), policy)
    again = record_episode(env, jax.random.key(1), policy)
    assert rec["steps"] >= 1 and 0.0 <= rec["return"] <= 2.0
    np.testing.assert_array_equal(rec["pos"], again["pos"])  # greedy and seeded: reproducible
