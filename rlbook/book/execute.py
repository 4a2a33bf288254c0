"""The one executor of notebook outputs: ``python -m rlbook.book.execute notebooks/NN_x.ipynb ...``.

Fresh kernel, top to bottom, no timestamps, widget state dropped, nbval markers honoured (so executor
and nbval run the same cells). Prints each notebook's wall time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARKER_TAGS = {"NBVAL_SKIP": "skip-execution", "NBVAL_RAISES_EXCEPTION": "raises-exception"}


def _markers(cell) -> set[str]:
    return {
        line.strip()[1:].strip()
        for line in cell.source.splitlines()
        if line.strip().startswith("#")
    }


def execute(path: str | Path, timeout: int = 600) -> float:
    """Execute one notebook in place; returns its wall time in seconds."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    added = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for marker, tag in MARKER_TAGS.items():
            if marker in _markers(cell):
                tags = cell.metadata.setdefault("tags", [])
                if tag not in tags:
                    tags.append(tag)
                    added.append((cell, tag))
    os.environ.pop("MPLBACKEND", None)
    os.environ["RLBOOK_PROGRESS"] = "0"  # progress bars are for live readers, not stored outputs
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    t0 = time.perf_counter()
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    client.execute()
    wall = time.perf_counter() - t0
    for cell, tag in added:
        cell.metadata["tags"].remove(tag)
        if not cell.metadata["tags"]:
            del cell.metadata["tags"]
    for cell in nb.cells:  # skipped cells keep no stale outputs or counts
        if cell.cell_type == "code" and "NBVAL_SKIP" in _markers(cell):
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return wall


def main(argv: list[str] | None = None) -> int:
    paths = argv if argv is not None else sys.argv[1:]
    if not paths:
        print("usage: python -m rlbook.book.execute notebooks/NN_x.ipynb [...]", file=sys.stderr)
        return 2
    for p in paths:
        if not Path(p).is_file() or not p.endswith(".ipynb"):
            print(f"not a notebook: {p}", file=sys.stderr)
            return 2
    for p in paths:
        wall = execute(p)
        print(f"{p}: executed in {wall:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
