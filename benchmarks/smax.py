"""Env steps per second: rlbook's SMAX vs jaxmarl 0.2.0 in the same run (HeuristicEnemySMAX, random legal
actions, ``jit(scan(vmap(step)))`` with auto-reset). Compile time is measured separately; the timing is
the best of ``--repeats`` runs. Prints a table with the ratio rlbook / jaxmarl and, with ``--out``, writes
it as JSON with provenance.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/smax.py [--steps 200] [--n 1 64 1024 4096]
        [--maps 3m 2s3z 5m_vs_6m] [--out data/smax_benchmark.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time

import jax
import jax.numpy as jnp


def make_runner(env, num_envs, steps):
    agents = env.agents

    def run(key):
        keys = jax.random.split(key, num_envs)
        _, state = jax.vmap(env.reset)(keys)

        def body(carry, _):
            state, key = carry
            key, k_act, k_step = jax.random.split(key, 3)
            avail = jax.vmap(env.get_avail_actions)(state)
            ka = jax.random.split(k_act, len(agents))
            acts = {
                a: jax.random.categorical(ka[i], jnp.log(avail[a].astype(jnp.float32)))
                for i, a in enumerate(agents)
            }
            _, state, rew, _, _ = jax.vmap(env.step)(
                jax.random.split(k_step, num_envs), state, acts
            )
            return (state, key), rew[agents[0]].sum()

        _, r = jax.lax.scan(body, (state, key), None, length=steps)
        return r.sum()

    return jax.jit(run)


def time_env(env, num_envs, steps, repeats):
    run = make_runner(env, num_envs, steps)
    t0 = time.perf_counter()
    run = run.lower(jax.random.key(0)).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(run(jax.random.key(1)))  # warm-up
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(run(jax.random.key(2 + r)))
        best = min(best, time.perf_counter() - t0)
    return num_envs * steps / best, compile_s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--n", type=int, nargs="+", default=[1, 64, 1024, 4096])
    p.add_argument("--maps", nargs="+", default=["3m", "2s3z", "5m_vs_6m"])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    from jaxmarl.environments.smax import HeuristicEnemySMAX as JH
    from jaxmarl.environments.smax import map_name_to_scenario

    from rlbook.envs.smax import HeuristicEnemySMAX

    rows = []
    print(
        f"{'map':<10}{'N':>6}{'rlbook sps':>13}{'jaxmarl sps':>13}{'ratio':>7}{'compile r/j s':>16}"
    )
    for name in args.maps:
        for n in args.n:
            ours = HeuristicEnemySMAX(scenario=name, attack_mode="closest")
            ref = JH(scenario=map_name_to_scenario(name), attack_mode="closest")
            sj, cj = time_env(ref, n, args.steps, args.repeats)
            so, co = time_env(ours, n, args.steps, args.repeats)
            row = dict(map=name, n=n, rlbook_sps=so, jaxmarl_sps=sj, ratio=so / sj,
                       compile_rlbook_s=co, compile_jaxmarl_s=cj)  # fmt: skip
            rows.append(row)
            print(
                f"{name:<10}{n:>6}{so:>13,.0f}{sj:>13,.0f}{so / sj:>7.2f}{co:>8.1f}/{cj:<7.1f}",
                flush=True,
            )
    if args.out:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        prov = dict(
            script="benchmarks/smax.py", args=vars(args), commit=commit.strip(),
            jax=jax.__version__, machine=platform.machine(), cpus=__import__("os").cpu_count(),
            date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            note="shared 2-core machine under load from other jobs: absolute numbers inflated, ratios meaningful",
        )  # fmt: skip
        with open(args.out, "w") as f:
            json.dump({"provenance": prov, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
