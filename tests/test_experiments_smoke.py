"""Every registered experiment runs end to end at its ``tiny`` preset and returns the summary contract."""

import json
import math

import pytest

from rlbook.experiments import registry

EXPERIMENTS = sorted(registry())


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_tiny_run_returns_a_flat_finite_summary(name):
    exp = registry()[name]
    assert "tiny" in exp.presets, f"{name} has no tiny preset"
    lines = []
    summary, results = exp.run("tiny", 0, lines.append)
    assert summary, f"{name}: empty summary"
    assert "wall_s" in summary
    for k, v in summary.items():
        # None: not measured in so short a run (e.g. no episode finished); never a silent NaN
        assert v is None or isinstance(v, int | float | str | bool | list), (
            f"{name}.{k} is {type(v)}"
        )
        if isinstance(v, float):
            assert math.isfinite(v), f"{name}.{k} = {v}"
    json.dumps(results, default=lambda x: getattr(x, "tolist", lambda: str(x))())
