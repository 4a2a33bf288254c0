"""The machine-limits benchmark's pure helpers on tiny shapes (timings themselves are never asserted)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import machine  # noqa: E402


def test_matmul_flops_counts_multiply_and_add():
    assert machine.matmul_flops(2, 3, 4) == 2 * 2 * 3 * 4
    assert machine.matmul_flops(2, 3, 4, batch=5) == 5 * machine.matmul_flops(2, 3, 4)


@pytest.mark.parametrize("bad", [0, -1, 2.0])
def test_matmul_flops_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="m must be"):
        machine.matmul_flops(bad, 3, 4)


def test_bytes_moved():
    assert machine.bytes_moved(10, 1, 1) == 80
    assert machine.bytes_moved(10, 2, 1, itemsize=2) == 60
    with pytest.raises(ValueError):
        machine.bytes_moved(10, 0, 0)


def test_median_seconds_counts_runs():
    calls = []
    med, times = machine.median_seconds(lambda: calls.append(1) or 0, repeats=5)
    assert len(calls) == 6 and len(times) == 5  # one warm-up plus the timed runs
    assert min(times) <= med <= max(times)
    with pytest.raises(ValueError, match="repeats"):
        machine.median_seconds(lambda: 0, repeats=0)


def test_batched_dot_pair_agree():
    import jax
    import jax.numpy as jnp
    import numpy as np

    x = jax.random.normal(jax.random.key(0), (3, 5, 5))
    w = jax.random.normal(jax.random.key(1), (3, 5, 4))
    right, wrong = machine.batched_dot_pair(3, 5, 4)
    np.testing.assert_allclose(right(x, w), wrong(jnp.swapaxes(x, 1, 2), w), rtol=1e-5, atol=1e-5)


def test_tiny_run_has_the_schema():
    out = machine.run(
        size=8,
        skinny_rows=16,
        width=4,
        elements=64,
        batch=2,
        rows=4,
        repeats=1,
        log=lambda *_: None,
    )
    machine.check_schema(out)
    assert out["matmul"]["square"]["work"] == machine.matmul_flops(8, 8, 8)
    assert out["provenance"]["script"] == "benchmarks/machine.py"
    with pytest.raises(ValueError, match="misses"):
        machine.check_schema({"provenance": {}})


def test_stored_machine_json_has_the_schema():
    path = ROOT / "data" / "machine.json"
    if not path.exists():
        pytest.skip("data/machine.json not written yet")
    machine.check_schema(json.loads(path.read_text()))
