"""Notebook hygiene (no kernel): pairing, outputs, first cell, markers, presets, index links."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
TWINS = sorted(NB_DIR.glob("[0-9][0-9]_*.py"))
CHAPTERS = [p for p in NOTEBOOKS if p.name != "00_index.ipynb"]
ids = [p.name for p in NOTEBOOKS]


def _markers(cell) -> set[str]:
    return {ln.strip()[1:].strip() for ln in cell.source.splitlines() if ln.strip().startswith("#")}


def test_there_are_notebooks():
    assert (NB_DIR / "00_index.ipynb").is_file()
    assert NOTEBOOKS


@pytest.mark.parametrize("py", TWINS, ids=[p.name for p in TWINS])
def test_every_twin_has_a_notebook(py):
    assert py.with_suffix(".ipynb").is_file(), f"{py.name} has no paired .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_pair_in_sync(path):
    py = path.with_suffix(".py")
    assert py.is_file(), f"{path.name} has no paired .py (jupytext py:percent)"
    expected = jupytext.writes(jupytext.read(path), fmt="py:percent")
    assert py.read_text() == expected, f"{path.name} and {py.name} differ: run jupytext --sync"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_notebook_metadata(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert nb.metadata.get("jupytext", {}).get("cell_metadata_filter") == "-all"
    assert "widgets" not in nb.metadata, "widget state must be dropped (the executor does it)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_first_cell_is_a_title(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(r"# \S", first.source), (
        "first cell: '# Title'"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_executed_with_outputs_in_order(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "no code cells"
    run = [c for c in code if "NBVAL_SKIP" not in _markers(c)]
    counts = [c.execution_count for c in run]
    assert counts == list(range(1, len(run) + 1)), f"not executed top to bottom: {counts}"
    assert any(c.outputs for c in run), "no outputs: nbval would compare nothing"
    for c in code:
        assert c.source.strip(), "empty code cell"
        assert not c.source.rstrip().endswith(";"), (
            f"cell ends in ';' (nbval ignores it): {c.source[-60:]}"
        )
        assert "MPLBACKEND" not in c.source and "os.environ" not in c.source


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    src = first_code.source
    assert re.search(r'^PRESET = "book"$', src, re.M), 'first code cell must set PRESET = "book"'
    assert re.search(r"^SEED = \d+$", src, re.M)
    assert "nb_setup(" in src


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_chapter_asserts_its_claims(path):
    nb = nbformat.read(path, as_version=4)
    src = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert re.search(r"^\s*(assert |np\.testing\.assert_)", src, re.M), (
        "a chapter asserts its claims"
    )


def test_index_links_every_chapter_and_pins_versions():
    nb = nbformat.read(NB_DIR / "00_index.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    for chap in CHAPTERS:
        assert f"({chap.name})" in text, f"00_index does not link {chap.name}"
    setup = next(c for c in nb.cells if c.cell_type == "code").source
    pins = {
        ln.split("==")[0].lower(): ln.split("==")[1].strip()
        for ln in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in ln and not ln.startswith("#")
    }
    for pkg in ("jax", "flax", "optax", "matplotlib", "ipywidgets"):
        assert f'"{pkg}": "{pins[pkg]}"' in setup, (
            f"00_index setup cell must assert {pkg}=={pins[pkg]}"
        )


def test_index_lists_every_registered_experiment():
    from rlbook.experiments import registry

    nb = nbformat.read(NB_DIR / "00_index.ipynb", as_version=4)
    shown = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    for name in registry():
        assert f"{name} " in shown, (
            f"experiment {name} is registered but 00_index's stored outputs do not list it: "
            "run make outputs NB=notebooks/00_index.ipynb"
        )


def test_sanitizer_rules_are_narrow():
    cfg = (NB_DIR / "nbval_sanitize.cfg").read_text()
    for line in cfg.splitlines():
        if line.startswith("regex:"):
            assert line.strip() not in (r"regex: \d+", r"regex: \d+\.\d+"), (
                "rule would hide numbers"
            )


def test_no_stray_widget_state_in_outputs():
    for path in NOTEBOOKS:
        raw = json.loads(path.read_text())
        assert "widgets" not in raw.get("metadata", {}), path.name


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.name for p in CHAPTERS])
def test_index_links_a_chapter_by_its_own_title(path):
    title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
    title = re.sub(r"^# (Appendix )?[0-9A-Z]+\. ", "", title)
    index = "\n".join(
        c.source for c in nbformat.read(NB_DIR / "00_index.ipynb", as_version=4).cells
    )
    assert f"[{title}]({path.name})" in index, f"00_index must link {path.name} as [{title}]"
