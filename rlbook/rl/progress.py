"""Progress bars for long jitted runs, driven from inside the compiled loop.

A training loop is one ``lax.scan`` over updates, compiled once; a bar cannot be updated from Python
between its iterations. Instead each update calls ``tick()``, a host callback that advances the bar
opened around the call with ``progress(total, desc)``; with no bar open it does nothing. The callback
takes no batched argument, so under ``vmap`` (seeds, populations) it still runs once per update: a bar
over ``S`` seeds of ``U`` updates has ``total = U``::

    with progress(cfg.num_updates, "PPO"):
        out = train_seeds(make_train(cfg), seed, num_seeds)

In a notebook, ``progress(..., notebook=True)`` draws a ``tqdm.auto`` widget. The book's executor and
nbval set ``RLBOOK_PROGRESS=0``, which turns every bar off, so stored and compared outputs never hold one.

The callback costs tens of microseconds an update (``benchmarks/progress.py`` measures it); an
update of a book-scale learner takes milliseconds to seconds.
"""

from __future__ import annotations

import contextlib
import os
import sys

import jax

_BARS: list = []


def _advance() -> None:
    if _BARS:
        _BARS[-1].update(1)


def tick() -> None:
    """Advance the open progress bar by one (call once per update, inside jitted code)."""
    jax.debug.callback(_advance)


@contextlib.contextmanager
def progress(total: int, desc: str = "", notebook: bool = False):
    """Open a tqdm bar of ``total`` ticks on stderr (``notebook=True``: ``tqdm.auto``, a widget in
    Jupyter). Yields the bar (``None`` when ``RLBOOK_PROGRESS=0``); closes it on exit."""
    if os.environ.get("RLBOOK_PROGRESS", "1") == "0":
        yield None
        return
    if notebook:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    bar = tqdm(total=int(total), desc=desc, file=sys.stderr, mininterval=0.5, leave=False)
    _BARS.append(bar)
    try:
        yield bar
    finally:
        jax.effects_barrier()  # every callback of the run has landed before the bar closes
        _BARS.remove(bar)
        bar.close()
