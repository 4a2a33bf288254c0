"""Registry of the book's command-line experiments.

Each module ``rlbook/experiments/<name>.py`` defines ``EXPERIMENT = Experiment(...)``; the registry finds
them itself, so adding an experiment touches no shared file. Run one with
``python -m rlbook.experiments NAME --preset book|medium|paper [--seed N] [--out data/NAME.json]``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# "tiny" is the smoke-test size (seconds, checks only that run() works end to end); the rest are the
# book's scales: "book" (a chapter's live run), "medium" (a longer CPU run for data/), "long" (one arm
# run longer on a CPU, to see what scale a result needs), "paper" (a GPU).
PRESETS = ("tiny", "book", "medium", "long", "paper")
DEFAULT_PRESETS = ("tiny", "book", "medium", "paper")  # what an experiment offers unless it says


@dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    ``run(preset, seed, log)`` does the work and returns ``(summary, results)``: ``summary`` a flat dict of
    the numbers the chapter asserts (printed as one JSON line), ``results`` anything JSON-serialisable
    (curves, per-seed numbers) written with provenance by ``--out``. ``log(msg)`` reports progress on
    stderr. ``config(preset)`` returns the frozen config for provenance.
    """

    name: str
    description: str
    run: Callable[[str, int, Callable[[str], None]], tuple[dict[str, Any], dict[str, Any]]]
    config: Callable[[str], Any]
    presets: tuple[str, ...] = DEFAULT_PRESETS
    chapter: str = ""


def registry() -> dict[str, Experiment]:
    """All experiments, by name (discovered from this package's modules)."""
    found: dict[str, Experiment] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        exp = getattr(mod, "EXPERIMENT", None)
        if isinstance(exp, Experiment):
            if exp.name in found:
                raise ValueError(f"experiment name {exp.name!r} registered twice")
            found[exp.name] = exp
    return found


def get_experiment(name: str) -> Experiment:
    reg = registry()
    if name not in reg:
        raise ValueError(f"unknown experiment {name!r}; valid: {', '.join(sorted(reg))}")
    return reg[name]
