import json

import flax.linen as nn  # noqa: F401
import jax
import numpy as np

from rlbook.moe import SoftMoE, tokenize
from rlbook.viz import widgets_moe


def test_param_counts_match_flax():
    c = widgets_moe.param_counts(8, 8, 16, "perfeat", 4, 32)
    assert (c["m"], c["d"], c["slots_per_expert"]) == (16, 64, 4)
    x = tokenize(jax.numpy.zeros((1, 8, 8, 16)), "perfeat")
    p = SoftMoE(4, 32).init(jax.random.key(0), x)
    assert c["total"] == sum(v.size for v in jax.tree_util.tree_leaves(p))


def test_router_view_rows_and_columns():
    f = np.random.default_rng(0).random((2, 8, 8, 16)).astype(np.float32)
    v = widgets_moe.router_view(f, "perconv", 2, slots=3)
    assert v["dispatch"].shape == (64, 6)
    np.testing.assert_allclose(v["dispatch"].sum(0), 1.0, atol=1e-5)
    np.testing.assert_allclose(v["combine"].sum(1), 1.0, atol=1e-5)


def test_runs_browser(tmp_path):
    arms = {
        "dense_x1": {
            "0": {"final_return": 2.0, "return": [1, 2]},
            "1": {"final_return": 4.0, "return": [1, 3]},
        }
    }
    (tmp_path / "moe_scaling_x.json").write_text(json.dumps({"results": {"arms": arms}}))
    runs = widgets_moe.load_runs(tmp_path)
    rows = widgets_moe.run_table(runs["moe_scaling_x.json"])
    assert rows[0]["mean"] == 3.0 and rows[0]["seeds"] == 2
