"""Every file in data/ was made by our own code and says how: a provenance block with the command (an
experiment) or the script (a benchmark), and a line in data/README.md that names the chapter using it."""

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = sorted(DATA.glob("*.json"))


def test_there_is_data():
    assert FILES


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_data_file_has_provenance(path):
    d = json.loads(path.read_text())
    prov = d.get("provenance")
    assert isinstance(prov, dict), f"{path.name} has no provenance block"
    how = prov.get("command") or prov.get("script")
    assert how, f"{path.name}: provenance must give the command or script that wrote it"
    if "command" in prov:
        assert prov["command"].startswith("python -m rlbook.experiments "), prov["command"]
        assert f"--out data/{path.name}" in prov["command"], "the command must write this very file"
    else:
        assert (DATA.parent / prov["script"]).is_file(), f"{prov['script']} does not exist"
    assert prov.get("commit") or prov.get("git_commit"), (
        f"{path.name}: provenance needs a git commit"
    )


def _is_dirty(prov: dict) -> bool:
    """A provenance block says the tree was dirty: ``git_dirty_rlbook`` true (experiments) or a
    non-empty ``dirty_files`` (benchmarks)."""
    return bool(prov.get("git_dirty_rlbook")) or bool(prov.get("dirty_files"))


def test_is_dirty_reads_both_provenance_styles():
    assert _is_dirty({"git_dirty_rlbook": True}) and _is_dirty({"dirty_files": ["rlbook/x.py"]})
    assert not _is_dirty({"git_dirty_rlbook": False, "dirty_files": []}) and not _is_dirty({})


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_data_file_comes_from_a_clean_tree(path):
    prov = json.loads(path.read_text()).get("provenance", {})
    assert not _is_dirty(prov), (
        f"{path.name} was written from a dirty tree: commit, then regenerate it with its command"
    )


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_data_file_is_listed_in_the_readme(path):
    readme = (DATA / "README.md").read_text()
    assert f"`{path.name}`" in readme, f"data/README.md does not list {path.name}"
