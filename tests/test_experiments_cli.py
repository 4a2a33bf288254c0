"""The experiment CLI: listing, unknown names/presets, JSON summary, provenance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlbook.experiments import PRESETS, Experiment, get_experiment, registry
from rlbook.experiments.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "rlbook.experiments", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_registry_entries_are_well_formed():
    for name, exp in registry().items():
        assert isinstance(exp, Experiment) and exp.name == name
        assert set(exp.presets) <= set(PRESETS) and {"tiny", "book"} <= set(exp.presets)
        assert exp.description


def test_list_exits_zero():
    r = _cli("--list")
    assert r.returncode == 0, r.stderr
    for name in registry():
        assert name in r.stdout


def test_unknown_experiment_lists_valid_ones():
    r = _cli("no_such_experiment")
    assert r.returncode != 0
    assert "unknown experiment" in r.stderr
    for name in registry():
        assert name in r.stderr
    with pytest.raises(ValueError, match="unknown experiment"):
        get_experiment("no_such_experiment")


def test_unknown_preset_is_refused(monkeypatch, capsys):
    fake = Experiment(
        name="fake",
        description="test double",
        run=lambda preset, seed, log: ({"x": 1.0}, {}),
        config=lambda preset: {"preset": preset},
        presets=("book",),
    )
    monkeypatch.setattr("rlbook.experiments.__main__.registry", lambda: {"fake": fake})
    monkeypatch.setattr("rlbook.experiments.__main__.get_experiment", lambda name: fake)
    assert main(["fake", "--preset", "huge"]) == 2
    assert "valid: book" in capsys.readouterr().err


def test_summary_is_last_stdout_line_and_out_has_provenance(monkeypatch, capsys, tmp_path):
    seen = {}

    def run(preset, seed, log):
        log("working")
        seen.update(preset=preset, seed=seed)
        return {"score": 0.5 + seed}, {"curve": [1, 2, 3]}

    fake = Experiment(name="fake", description="d", run=run, config=lambda p: {"n": 3})
    monkeypatch.setattr("rlbook.experiments.__main__.registry", lambda: {"fake": fake})
    monkeypatch.setattr("rlbook.experiments.__main__.get_experiment", lambda name: fake)
    out = tmp_path / "fake.json"
    assert main(["fake", "--preset", "book", "--seed", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["score"] == 2.5 and "wall_s" in summary
    assert "working" in captured.err
    record = json.loads(out.read_text())
    prov = record["provenance"]
    assert prov["seed"] == 2 and prov["preset"] == "book" and prov["config"] == {"n": 3}
    assert {"git_commit", "jax_version", "device", "wall_s"} <= set(prov)
    assert record["results"]["curve"] == [1, 2, 3]
    assert seen == {"preset": "book", "seed": 2}


def test_devices_beyond_the_visible_count_is_refused(capsys):
    assert main(["learning_in_games", "--preset", "tiny", "--devices", "0"]) == 2
    assert "--devices=0 must be in [1, " in capsys.readouterr().err
