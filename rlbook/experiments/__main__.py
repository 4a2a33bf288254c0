"""``python -m rlbook.experiments --list`` / ``python -m rlbook.experiments NAME --preset P``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from rlbook.rl.shard import batch_mesh

from . import PRESETS, get_experiment, registry


def _jsonable(x):
    import numpy as np

    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(x).items()}
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if hasattr(x, "tolist"):
        return _jsonable(np.asarray(x).tolist())
    if isinstance(x, float | int | str | bool) or x is None:
        return x
    return str(x)


def provenance(exp, preset: str, seed: int, wall: float) -> dict:
    import jax

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "rlbook"], capture_output=True, text=True
            ).stdout
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", False
    return {
        "experiment": exp.name,
        "preset": preset,
        "seed": seed,
        "config": _jsonable(exp.config(preset)),
        "git_commit": commit,
        "git_dirty_rlbook": dirty,
        "device": str(jax.devices()[0].device_kind),
        "num_devices": jax.device_count(),
        "jax_version": jax.__version__,
        "python": platform.python_version(),
        "wall_s": round(wall, 2),
        "command": "python -m rlbook.experiments " + " ".join(sys.argv[1:]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rlbook.experiments", description=__doc__)
    p.add_argument("name", nargs="?", help="experiment name (see --list)")
    p.add_argument("--list", action="store_true", help="list the registered experiments")
    p.add_argument("--preset", default="book", help=f"one of {', '.join(PRESETS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write results + provenance JSON here")
    p.add_argument(
        "--devices",
        type=int,
        default=1,
        help="split the seed / population / environment axis over this many devices (default 1)",
    )
    p.add_argument(
        "--distributed",
        action="store_true",
        help="several hosts: call jax.distributed.initialize() first (then --devices counts all hosts)",
    )
    args = p.parse_args(argv)

    reg = registry()
    if args.list or not args.name:
        for name, exp in sorted(reg.items()):
            print(
                f"{name:24s} {exp.chapter:24s} presets={','.join(exp.presets)}  {exp.description}"
            )
        return 0 if args.list else 2
    if args.name not in reg:
        print(
            f"error: unknown experiment {args.name!r}; valid: {', '.join(sorted(reg))}",
            file=sys.stderr,
        )
        return 2
    exp = get_experiment(args.name)
    if args.preset not in exp.presets:
        print(
            f"error: unknown preset {args.preset!r} for {exp.name}; valid: {', '.join(exp.presets)}",
            file=sys.stderr,
        )
        return 2

    def log(msg: str) -> None:
        print(f"[{exp.name} {time.perf_counter() - t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    import jax

    if args.distributed:
        jax.distributed.initialize()  # cluster settings from the environment (SLURM, TPU, JAX_*)
    if not 1 <= args.devices <= jax.device_count():
        print(
            f"error: --devices={args.devices} must be in [1, {jax.device_count()}] (devices visible)",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    log(f"preset={args.preset} seed={args.seed} devices={args.devices}")
    if args.devices > 1:
        with jax.set_mesh(batch_mesh(args.devices)):
            summary, results = exp.run(args.preset, args.seed, log)
    else:
        summary, results = exp.run(args.preset, args.seed, log)
    wall = time.perf_counter() - t0
    summary = dict(summary)
    summary.setdefault("wall_s", round(wall, 2))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "summary": _jsonable(summary),
            "results": _jsonable(results),
            "provenance": provenance(exp, args.preset, args.seed, wall),
        }
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        log(f"wrote {args.out}")
    print(json.dumps(_jsonable(summary), sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
