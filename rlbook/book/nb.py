"""Helpers every chapter uses: one set-up call, number formatting, timing, showing real source."""

from __future__ import annotations

import contextlib
import inspect
import time
import warnings

import numpy as np


def nb_setup(seed: int = 0, style: bool = True) -> np.random.Generator:
    """Make a chapter's output reproducible and readable; returns a numpy Generator seeded by ``seed``.

    Prints nothing (nbval compares stdout): sets numpy print options (which ``jax.Array`` uses too),
    silences warnings whose text carries machine-specific paths, selects the inline backend and the
    book's seaborn style.
    """
    np.set_printoptions(precision=4, suppress=True)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    with contextlib.suppress(Exception):  # not inside IPython (plain python, pytest)
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None:
            ip.run_line_magic("matplotlib", "inline")
    if style:
        import matplotlib as mpl
        import seaborn as sns

        sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
        mpl.rcParams.update({"figure.figsize": (6.4, 3.8), "figure.dpi": 80, "axes.titlesize": 11})
    return np.random.default_rng(seed)


def fmt(x, digits: int = 4) -> str:
    """Format a number or array with at most ``digits`` significant digits (stable across machines)."""
    arr = np.asarray(x)
    if arr.ndim == 0:
        v = float(arr)
        if v == 0.0:
            return "0"
        return f"{v:.{digits}g}"
    return np.array2string(
        arr,
        formatter={"float_kind": lambda v: f"{v:.{digits}g}"},
        separator=", ",
        max_line_width=100,
    )


@contextlib.contextmanager
def timed(label: str = ""):
    """Context manager printing ``[label] elapsed 1.23 s`` (the sanitizer masks the number).

    Put it in a cell marked ``# NBVAL_IGNORE_OUTPUT`` or rely on the sanitizer; keep results in the next cell.
    """
    t0 = time.perf_counter()
    box = {}
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - t0
        prefix = f"{label}: " if label else ""
        print(f"{prefix}elapsed {box['seconds']:.2f} s")


def block(tree):
    """Block until every array in ``tree`` is computed (for honest timings); returns ``tree``."""
    import jax

    return jax.block_until_ready(tree)


def show_source(obj) -> None:
    """Show the real source of an rlbook function or class (one copy of the code, never a second)."""
    src = inspect.getsource(obj)
    try:
        from IPython.display import Markdown, display

        display(Markdown(f"```python\n{src}```"))
    except ImportError:  # pragma: no cover
        print(src)


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Render rows of dicts as a fixed-width text table (printed, so nbval compares it exactly)."""
    if not rows:
        return ""
    columns = columns or list(rows[0])
    cells = [[str(c) for c in columns]] + [
        [v if isinstance(v, str) else fmt(v) for v in (r.get(c, "") for c in columns)] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
