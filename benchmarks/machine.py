"""This machine's measured limits: float32 matmul GFLOP/s (square and skinny), memory bandwidth GB/s, and
the XLA:CPU transposed-batched-dot effect, each the median of ``--repeats`` timed runs after one warm-up.

The other benchmarks say "rlbook is 1.2x jaxmarl"; this one says what the hardware allows, so that a
chapter can put each result next to a ceiling (e.g. an M-FOS iteration's GFLOP over the matmul peak).

    python benchmarks/machine.py [--size 4096] [--repeats 7] [--out data/machine.json]

Not a test: timings are never asserted (``tests/test_machine_benchmark.py`` checks the pure helpers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

BYTES_F32 = 4


def matmul_flops(m: int, k: int, n: int, batch: int = 1) -> int:
    """FLOPs of ``batch`` products [m, k] x [k, n]: one multiply and one add per term."""
    for name, v in (("m", m), ("k", k), ("n", n), ("batch", batch)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    return 2 * batch * m * k * n


def bytes_moved(num_elements: int, reads: int, writes: int, itemsize: int = BYTES_F32) -> int:
    """Bytes an elementwise op moves: each of ``reads`` inputs read once, each of ``writes`` outputs written."""
    if num_elements < 1 or reads < 0 or writes < 0 or reads + writes < 1:
        raise ValueError(
            f"need num_elements >= 1 and reads + writes >= 1, got {num_elements}, {reads}, {writes}"
        )
    return num_elements * (reads + writes) * itemsize


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """(median, all) wall seconds of ``fn()`` over ``repeats`` runs after one warm-up call (compile)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def _entry(kind: str, shape: str, work: int, seconds: float, times: list[float]) -> dict:
    unit = 1e9
    rate = work / seconds / unit
    return {
        "kind": kind,
        "shape": shape,
        "work": work,
        "seconds_median": round(seconds, 6),
        "times_s": [round(t, 6) for t in times],
        "gflops" if kind != "bandwidth" else "gbps": round(rate, 3),
    }


def measure_matmuls(size: int, skinny_rows: int, width: int, repeats: int) -> dict:
    key = jax.random.key(0)
    a = jax.random.normal(key, (size, size), jnp.float32)
    x = jax.random.normal(key, (skinny_rows, width), jnp.float32)
    w = jax.random.normal(key, (width, width), jnp.float32)
    square = jax.jit(lambda a: a @ a)
    skinny = jax.jit(lambda x, w: x @ w)
    out = {}
    t, ts = median_seconds(lambda: square(a), repeats)
    out["square"] = _entry(
        "matmul", f"[{size},{size}]x[{size},{size}]", matmul_flops(size, size, size), t, ts
    )
    t, ts = median_seconds(lambda: skinny(x, w), repeats)
    out["skinny"] = _entry(
        "matmul",
        f"[{skinny_rows},{width}]x[{width},{width}]",
        matmul_flops(skinny_rows, width, width),
        t,
        ts,
    )
    return out


def measure_bandwidth(num_elements: int, repeats: int) -> dict:
    x = jnp.ones((num_elements,), jnp.float32)
    y = jnp.ones((num_elements,), jnp.float32)
    copy = jax.jit(lambda x: x * 1.0001)  # read one, write one (a pure copy could be elided)
    add = jax.jit(lambda x, y: x + y)  # read two, write one
    out = {}
    t, ts = median_seconds(lambda: copy(x), repeats)
    out["copy"] = _entry("bandwidth", f"[{num_elements}]", bytes_moved(num_elements, 1, 1), t, ts)
    t, ts = median_seconds(lambda: add(x, y), repeats)
    out["add"] = _entry("bandwidth", f"[{num_elements}]", bytes_moved(num_elements, 2, 1), t, ts)
    return out


def batched_dot_pair(batch: int, rows: int, d: int):
    """Two jitted functions computing the same batched product [B, i, j] x [B, j, k] -> [B, i, k]:
    ``right`` contracts the left operand's last axis ("bij,bjk->bik"), ``wrong`` gets the left operand
    stored transposed and contracts its first axis ("bji,bjk->bik"), the form autodiff emits for the
    gradient of the right operand (Soft MoE's ``_bmm`` in ``rlbook/moe/layers.py`` avoids it)."""
    right = jax.jit(lambda a, b: jnp.einsum("bij,bjk->bik", a, b))
    wrong = jax.jit(lambda a_t, b: jnp.einsum("bji,bjk->bik", a_t, b))
    return right, wrong


def measure_batched_dot(batch: int, rows: int, d: int, repeats: int) -> dict:
    """[batch, rows, rows] x [batch, rows, d]: contraction on the last vs the first axis of the left
    operand; and the batch axis leading vs in the middle of the left operand."""
    key = jax.random.key(1)
    a = jax.random.normal(key, (batch, rows, rows), jnp.float32)
    a_t = jnp.swapaxes(a, 1, 2)
    b = jax.random.normal(key, (batch, rows, d), jnp.float32)
    right, wrong = batched_dot_pair(batch, rows, d)
    flops = matmul_flops(rows, rows, d, batch)
    out = {}
    t, ts = median_seconds(lambda: right(a, b), repeats)
    out["contract_last"] = _entry(
        "matmul", f"bij,bjk->bik b={batch} i=j={rows} k={d}", flops, t, ts
    )
    t, ts = median_seconds(lambda: wrong(a_t, b), repeats)
    out["contract_first"] = _entry(
        "matmul", f"bji,bjk->bik b={batch} i=j={rows} k={d}", flops, t, ts
    )
    out["slowdown"] = round(
        out["contract_first"]["seconds_median"] / out["contract_last"]["seconds_median"], 3
    )
    a_mid = jnp.swapaxes(a, 0, 1)  # [rows, batch, rows]
    mid = jax.jit(lambda a_mid, b: jnp.einsum("ibj,bjk->bik", a_mid, b))
    t, ts = median_seconds(lambda: mid(a_mid, b), repeats)
    out["batch_middle"] = _entry("matmul", f"ibj,bjk->bik b={batch} i=j={rows} k={d}", flops, t, ts)
    out["slowdown_batch_middle"] = round(
        out["batch_middle"]["seconds_median"] / out["contract_last"]["seconds_median"], 3
    )
    return out


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, check=False
    ).stdout.strip()


def provenance(args: dict, wall_s: float, load_start: list[float]) -> dict:
    return {
        "script": "benchmarks/machine.py",
        "args": {**args, "argv": sys.argv[1:]},
        "commit": _git("rev-parse", "HEAD"),
        "dirty_files": [line[3:] for line in _git("status", "--porcelain").splitlines() if line],
        "jax": jax.__version__,
        "platform": jax.default_backend(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": load_start,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(wall_s, 1),
        "timing": "median of the timed runs after one warm-up (compile) call each",
    }


REQUIRED = {"provenance", "matmul", "bandwidth", "batched_dot"}


def check_schema(d: dict) -> None:
    """Raise ValueError if ``d`` is not a machine.json: the sections, each entry's rate field."""
    missing = REQUIRED - set(d)
    if missing:
        raise ValueError(f"machine.json misses {sorted(missing)}")
    for name in ("square", "skinny"):
        if "gflops" not in d["matmul"].get(name, {}):
            raise ValueError(f"matmul.{name} needs gflops")
    for name in ("copy", "add"):
        if "gbps" not in d["bandwidth"].get(name, {}):
            raise ValueError(f"bandwidth.{name} needs gbps")
    for name in ("slowdown", "contract_last", "contract_first"):
        if name not in d["batched_dot"]:
            raise ValueError(f"batched_dot needs {name}")


def run(
    size=4096,
    skinny_rows=65536,
    width=64,
    elements=64 * 2**20,
    batch=4096,
    rows=16,
    repeats=7,
    log=print,
):
    t0 = time.perf_counter()
    load_start = [round(x, 2) for x in os.getloadavg()]
    out = {
        "matmul": measure_matmuls(size, skinny_rows, width, repeats),
        "bandwidth": measure_bandwidth(elements, repeats),
        "batched_dot": measure_batched_dot(batch, rows, width, repeats),
    }
    args = dict(
        size=size,
        skinny_rows=skinny_rows,
        width=width,
        elements=elements,
        batch=batch,
        rows=rows,
        repeats=repeats,
    )
    out = {"provenance": provenance(args, time.perf_counter() - t0, load_start), **out}
    check_schema(out)
    for sec in ("matmul", "bandwidth"):
        for name, e in out[sec].items():
            rate = e.get("gflops", e.get("gbps"))
            log(
                f"{sec:10s} {name:8s} {e['shape']:32s} {rate:9.2f} {'GFLOP/s' if 'gflops' in e else 'GB/s'}"
            )
    bd = out["batched_dot"]
    log(
        f"batched dot [{batch},{rows},{rows}]x[{batch},{rows},{width}]: contracting the last axis "
        f"{bd['contract_last']['gflops']:.2f} GFLOP/s, the first axis {bd['contract_first']['gflops']:.2f} "
        f"GFLOP/s (slowdown {bd['slowdown']:.2f}x), batch axis in the middle "
        f"{bd['batch_middle']['gflops']:.2f} GFLOP/s (slowdown {bd['slowdown_batch_middle']:.2f}x)"
    )
    log(f"load average {out['provenance']['loadavg_start']} -> {out['provenance']['loadavg_end']}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--out", type=str, default=None)
    a = p.parse_args()
    if a.repeats < 5:
        raise ValueError(f"--repeats must be >= 5, got {a.repeats}")
    out = run(size=a.size, repeats=a.repeats)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
