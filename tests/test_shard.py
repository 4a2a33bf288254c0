"""Scale-out: a run split over two (simulated) devices gives the single-device numbers.

JAX fixes the device count at start-up, so the cases run in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=2`` (``tests/shard_cases.py``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from rlbook.rl import batch_mesh, on_batch_axis

HERE = Path(__file__).parent


def test_one_device_mesh_and_no_mesh_leave_programs_alone():
    x = jax.numpy.ones((4, 3))
    assert on_batch_axis(x) is x  # no mesh: identity
    with jax.set_mesh(batch_mesh(1)):
        assert on_batch_axis(x) is x  # one device: identity


def test_batch_mesh_rejects_more_devices_than_exist():
    with pytest.raises(ValueError, match="num_devices"):
        batch_mesh(len(jax.devices()) + 1)


@pytest.mark.slow
def test_sharded_runs_match_single_device_runs():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, str(HERE / "shard_cases.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {r["case"]: r for r in map(json.loads, out.stdout.strip().splitlines())}
    assert set(rows) == {"es", "ppo", "ippo", "shaper", "seeds"}
    for name, row in rows.items():
        assert row["split"], f"{name}: the program was not split over the 2 devices"
        # same arithmetic per entry; only reductions over the split axis change summation order
        assert row["max_diff"] < 1e-4, (
            f"{name}: sharded differs from single-device by {row['max_diff']}"
        )
