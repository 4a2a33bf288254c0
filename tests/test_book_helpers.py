"""rlbook.book: formatting, timing, executor marker handling."""

from __future__ import annotations

import nbformat
import numpy as np

from rlbook.book import execute as ex
from rlbook.book.nb import fmt, table, timed


def test_fmt_significant_digits():
    assert fmt(1.23456789) == "1.235"
    assert fmt(0.0) == "0"
    assert fmt(-1234567.0) == "-1.235e+06"
    assert fmt(np.array([0.5, 1 / 3])) == "[0.5, 0.3333]"


def test_timed_prints_sanitizable_line(capsys):
    with timed("x") as t:
        pass
    out = capsys.readouterr().out
    assert out.startswith("x: elapsed ") and out.endswith(" s\n")
    assert t["seconds"] >= 0


def test_table_aligns_columns():
    txt = table([{"a": "row", "b": 1.23456}, {"a": "longer row", "b": 2.0}])
    lines = txt.splitlines()
    assert lines[0].startswith("a") and set(lines[1]) <= {"-", " "}
    assert "1.235" in lines[2] and lines[3].startswith("longer row")


def test_executor_markers_and_skip(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# T"),
        nbformat.v4.new_code_cell("x = 1\nprint(x + 1)"),
        nbformat.v4.new_code_cell("# NBVAL_SKIP\nraise RuntimeError('never run')"),
        nbformat.v4.new_code_cell("# NBVAL_RAISES_EXCEPTION\nraise ValueError('shown')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    p = tmp_path / "t.ipynb"
    nbformat.write(nb, p)
    assert ex.main([str(p)]) == 0
    out = nbformat.read(p, as_version=4)
    assert out.cells[1].outputs[0]["text"] == "2\n"
    assert out.cells[2].execution_count is None and out.cells[2].outputs == []
    assert out.cells[3].outputs[0]["ename"] == "ValueError"
    assert all("tags" not in c.metadata for c in out.cells)
    assert ex.main([str(tmp_path / "missing.ipynb")]) == 2
