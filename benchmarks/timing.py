"""Timing helpers shared by the benchmark scripts (not a test: timings are never asserted).

On a shared machine a burst of load can hit one implementation's repeats and not the other's. The
scripts therefore alternate the implementations (a, b, a, b, ...) and keep the best time of each, and
print the load average so that a reader can judge the numbers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import jax


def alternate_times(
    fns: dict[str, Callable[[], object]],
    repeats: int = 3,
    on_run: Callable[[int, str, float], None] | None = None,
) -> dict[str, list[float]]:
    """Wall times in seconds of each zero-argument function, called in turn (a, b, a, b, ...) ``repeats``
    times; ``on_run(repeat, name, seconds)`` is called after each run (e.g. to log the load).

    Each function's result is blocked on, so asynchronous dispatch is timed to completion. Call every
    function once before (compile), or the first repeat includes compilation.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - t0)
            if on_run is not None:
                on_run(r, name, times[name][-1])
    return times


def alternate_best(fns: dict[str, Callable[[], object]], repeats: int = 3) -> dict[str, float]:
    """Best wall time in seconds of each function under :func:`alternate_times`."""
    return {name: min(t) for name, t in alternate_times(fns, repeats).items()}


def timed_first(fn: Callable[[], object]) -> tuple[object, float]:
    """(result, seconds) of the first call: compile plus one run."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - t0


def load_average() -> str:
    """The 1/5/15-minute load averages and the core count, for the printed header."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"
