"""Env steps/s of dense vs Soft MoE-4 (PerFeat, critic) PPO on Breakout-MinAtar, in one run; prints the ratio.

Targets (issue 8): dense PPO >= 9k env steps/s; Soft MoE-4 no more than 2.5x slower than dense.

The two arms are exactly the configs of Chapter 9's live run and of ``moe_scaling``'s ``dense_x1`` and
``softmoe_4`` arms (PureJaxRL's MinAtar PPO: 64 envs x 128 steps, 4 epochs x 8 minibatches, per-update
metrics on a 256-observation probe: dormant fractions, srank, as the chapter logs them). Each arm is jitted
and called once (compile, reported separately), then the timed runs **alternate** (dense, MoE, dense, MoE,
...) so that load from other jobs on a shared machine hits both arms alike; steps/s come from each arm's
best (fastest) run, the medians are kept too. The load average is printed at the start and end.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/ppo_minatar.py [--frames 65536] [--repeats 3]
        [--out data/ppo_minatar_benchmark.json]

Measured (2-core CPU shared with other jobs, load average 1.3-2.2, --repeats 5, 65,536 frames per run):
before the Soft MoE layer was rearranged for XLA:CPU (commit b6f78fc) dense 15,242 and Soft MoE-4 5,198
env steps/s, ratio 2.93 (an earlier, less loaded, non-alternating run gave 16.7k / 4.82k = 3.46); after
(commit 5051ca4, stored in data/ppo_minatar_benchmark.json) dense 16,612 and Soft MoE-4 9,280, ratio 1.79
(medians 1.68). Per update (8,192 frames) the MoE arm's extra time was almost all in the 32 minibatch
gradient steps of the critic (1,164 -> 697 ms vs 407 ms dense); the per-step critic forward in the rollout
(~47 ms) and the per-update metrics (~12 ms, mostly the srank SVD) are small and were left as they are.
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

import jax
from timing import alternate_times, load_average, timed_first

from rlbook.learners.ppo import NetConfig, PPOConfig, make_train

ARMS = {
    "dense": lambda frames: PPOConfig(total_timesteps=frames, critic=NetConfig(kind="dense")),
    "softmoe_4": lambda frames: PPOConfig(
        total_timesteps=frames, critic=NetConfig(kind="softmoe", num_experts=4, tokens="perfeat")
    ),
}
TARGET_DENSE_SPS = 9_000
TARGET_RATIO = 2.5


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def run(frames: int = 65_536, repeats: int = 3, log=print) -> dict:
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    t_start = time.perf_counter()
    load_start = [round(x, 2) for x in os.getloadavg()]
    log(f"start: {load_average()}")
    cfgs = {name: make(frames) for name, make in ARMS.items()}
    trains, compile_s = {}, {}
    for name, cfg in cfgs.items():
        train = jax.jit(make_train(cfg))
        _, compile_s[name] = timed_first(lambda train=train: train(jax.random.key(0)))
        trains[name] = train
    times = alternate_times(
        {name: (lambda train=train: train(jax.random.key(1))) for name, train in trains.items()},
        repeats,
        on_run=lambda r, name, s: log(
            f"  repeat {r + 1}/{repeats} {name:10s} {s:6.2f} s  ({load_average()})"
        ),
    )
    env_steps = {name: cfg.num_updates * cfg.num_envs * cfg.num_steps for name, cfg in cfgs.items()}
    sps = {name: env_steps[name] / min(t) for name, t in times.items()}
    sps_median = {name: env_steps[name] / statistics.median(t) for name, t in times.items()}
    ratio = sps["dense"] / sps["softmoe_4"]
    load_end = [round(x, 2) for x in os.getloadavg()]
    log(f"end:   {load_average()}")
    return {
        "provenance": {
            "script": "benchmarks/ppo_minatar.py",
            "args": {"frames": frames, "repeats": repeats, "argv": sys.argv[1:]},
            "commit": _git("rev-parse", "HEAD"),
            "dirty_files": [
                line[3:]
                for line in _git("status", "--porcelain", "--untracked-files=no").splitlines()
                if line[3:].startswith(("rlbook/", "benchmarks/ppo_minatar.py"))
            ],
            "jax": jax.__version__,
            "platform": jax.default_backend(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "loadavg_start": load_start,
            "loadavg_end": load_end,
            "wall_s": round(time.perf_counter() - t_start, 1),
            "timing": "alternating dense/softmoe_4 runs after one compile call each; sps from the best "
            "run, medians kept; compile excluded",
        },
        "frames": env_steps,
        "repeats": repeats,
        "configs": {
            name: {
                "critic": cfg.critic.kind,
                "num_experts": cfg.critic.num_experts if cfg.critic.kind != "dense" else None,
                "tokens": cfg.critic.tokens if cfg.critic.kind != "dense" else None,
                "num_envs": cfg.num_envs,
                "num_steps": cfg.num_steps,
                "updates": cfg.num_updates,
            }
            for name, cfg in cfgs.items()
        },
        "compile_s": {k: round(v, 2) for k, v in compile_s.items()},
        "times_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "sps": {k: round(v) for k, v in sps.items()},
        "sps_median": {k: round(v) for k, v in sps_median.items()},
        "ratio": round(ratio, 3),
        "ratio_median": round(sps_median["dense"] / sps_median["softmoe_4"], 3),
        "targets": {"dense_sps": TARGET_DENSE_SPS, "ratio": TARGET_RATIO},
        "dense_target_met": bool(sps["dense"] >= TARGET_DENSE_SPS),
        "ratio_target_met": bool(ratio <= TARGET_RATIO),
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("frames_pos", nargs="?", type=int, help=argparse.SUPPRESS)  # old positional form
    p.add_argument("--frames", type=int, default=65_536)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None, help="write the results as JSON (e.g. data/...)")
    args = p.parse_args(argv)
    frames = args.frames_pos or args.frames
    res = run(frames, args.repeats)
    s = res["sps"]
    print(
        f"dense PPO      : {s['dense']:8.0f} env steps/s (target >= {TARGET_DENSE_SPS}; "
        f"compile {res['compile_s']['dense']:.1f} s)"
    )
    print(
        f"Soft MoE-4 PPO : {s['softmoe_4']:8.0f} env steps/s "
        f"(compile {res['compile_s']['softmoe_4']:.1f} s)"
    )
    print(
        f"ratio dense / Soft MoE-4 = {res['ratio']:.2f} (target <= {TARGET_RATIO}; medians: "
        f"{res['ratio_median']:.2f}); best of {res['repeats']} alternating runs, "
        f"{res['frames']['dense']} frames each"
    )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        print("wrote", args.out)
    return res


if __name__ == "__main__":
    main()
