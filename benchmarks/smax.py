"""Env steps per second: rlbook's SMAX vs jaxmarl 0.2.0 in the same run, and the same for IPPO training.

Env section: HeuristicEnemySMAX, random legal actions, ``jit(scan(vmap(step)))`` with auto-reset, for each
scenario and number of parallel envs N. IPPO section: rlbook's recurrent IPPO (``rlbook.learners.mappo``,
``--ippo-preset`` sizes; ``paper`` = JaxMARL's yaml: 128 envs x 128 steps, 128-unit networks) compiled once
against each env and run for ``--ippo-updates`` updates (rollout + GAE + 4 epochs x 4 minibatches, one
greedy evaluation episode); jaxmarl's env only gets the two attributes the learner reads (``num_units`` and
``infos["won"]``, inferred as jaxmarl's log wrapper does).

Compile time is measured separately. On a shared machine the timed runs **alternate** (rlbook, jaxmarl,
rlbook, jaxmarl, ...) after one warm-up each, so that load from other jobs hits both sides alike; the table
uses the best (fastest) of ``--repeats`` runs per side and the JSON also keeps the medians.
``os.getloadavg()`` is recorded at the start and end of the run and around every row.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/smax.py [--steps 100] [--n 1 64 1024 4096]
        [--maps 3m 2s3z 5m_vs_6m] [--repeats 3] [--ippo-maps 3m] [--ippo-preset paper] [--ippo-updates 3]
        [--out data/smax_benchmark.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time

import jax
import jax.numpy as jnp
from timing import alternate_times


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


class JaxmarlForLearner:
    """jaxmarl's HeuristicEnemySMAX plus what rlbook's learner reads: ``num_units`` and ``infos["won"]``
    (a terminal ally reward >= 1, jaxmarl's SMAXLogWrapper rule). Everything else is jaxmarl's own."""

    def __init__(self, env):
        self._env = env
        self.agents = env.agents
        self.num_units = env._env.num_agents  # allies + enemies
        self.max_steps = env.max_steps

    def __getattr__(self, name):
        return getattr(self._env, name)

    def step(self, key, state, actions):
        obs, state, rew, dones, infos = self._env.step(key, state, actions)
        won = dones["__all__"] & (rew[self.agents[0]] >= 1.0)
        return obs, state, rew, dones, {**infos, "won": won}


def compile_fn(fn, key):
    t0 = time.perf_counter()
    c = fn.lower(key).compile()
    return c, time.perf_counter() - t0


def alternate(fns, repeats):
    """One warm-up call each, then ``repeats`` timed calls per function, interleaved f0, f1, f0, f1, ..."""
    for f in fns:
        jax.block_until_ready(f(jax.random.key(1)))
    named = {i: (lambda f=f: f(jax.random.key(2))) for i, f in enumerate(fns)}
    return list(alternate_times(named, repeats).values())


def load():
    return [round(x, 2) for x in os.getloadavg()]


def pair_row(work, times_r, times_j, compile_r, compile_j, load0):
    so, sj = work / min(times_r), work / min(times_j)
    mo, mj = work / statistics.median(times_r), work / statistics.median(times_j)
    return dict(
        rlbook_sps=so, jaxmarl_sps=sj, ratio=so / sj,
        rlbook_sps_median=mo, jaxmarl_sps_median=mj, ratio_median=mo / mj,
        compile_rlbook_s=compile_r, compile_jaxmarl_s=compile_j,
        times_rlbook_s=[round(t, 4) for t in times_r], times_jaxmarl_s=[round(t, 4) for t in times_j],
        loadavg_before=load0, loadavg_after=load(),
    )  # fmt: skip


HEADER = f"{'map':<10}{'N':>6}{'rlbook sps':>13}{'jaxmarl sps':>13}{'ratio':>7}{'(median)':>9}{'compile r/j s':>16}{'load 1m':>9}"


def print_row(name, n, row):
    print(
        f"{name:<10}{n:>6}{row['rlbook_sps']:>13,.0f}{row['jaxmarl_sps']:>13,.0f}{row['ratio']:>7.2f}"
        f"{row['ratio_median']:>9.2f}{row['compile_rlbook_s']:>8.1f}/{row['compile_jaxmarl_s']:<7.1f}"
        f"{row['loadavg_after'][0]:>9.2f}",
        flush=True,
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--n", type=int, nargs="+", default=[1, 64, 1024, 4096])
    p.add_argument("--maps", nargs="+", default=["3m", "2s3z", "5m_vs_6m"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--ippo-maps", nargs="*", default=["3m"])
    p.add_argument("--ippo-preset", default="paper")
    p.add_argument("--ippo-updates", type=int, default=3)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    from jaxmarl.environments.smax import HeuristicEnemySMAX as JH
    from jaxmarl.environments.smax import map_name_to_scenario

    from rlbook.envs.smax import HeuristicEnemySMAX
    from rlbook.learners.mappo import MAPPOConfig, make_train

    load_start, t_start = load(), time.perf_counter()
    print(f"load average at start: {load_start}")
    rows = []
    print("env steps/s (random legal actions, auto-reset)")
    print(HEADER)
    for name in args.maps:
        for n in args.n:
            load0 = load()
            ours = HeuristicEnemySMAX(scenario=name, attack_mode="closest")
            ref = JH(scenario=map_name_to_scenario(name), attack_mode="closest")
            fo, co = compile_fn(make_runner(ours, n, args.steps), jax.random.key(0))
            fj, cj = compile_fn(make_runner(ref, n, args.steps), jax.random.key(0))
            to, tj = alternate([fo, fj], args.repeats)
            row = dict(
                map=name, n=n, steps=args.steps, **pair_row(n * args.steps, to, tj, co, cj, load0)
            )
            rows.append(row)
            print_row(name, n, row)

    ippo = []
    if args.ippo_maps:
        print(
            f"IPPO training env steps/s ({args.ippo_updates} updates, {args.ippo_preset} preset sizes)"
        )
        print(HEADER)
    for name in args.ippo_maps:
        load0 = load()
        size = MAPPOConfig.preset(args.ippo_preset, algo="ippo")
        cfg = MAPPOConfig.preset(
            args.ippo_preset, algo="ippo", scenario=name, eval_envs=1,
            total_timesteps=args.ippo_updates * size.num_envs * size.num_steps,
        )  # fmt: skip
        ours = HeuristicEnemySMAX(scenario=name, attack_mode=cfg.attack_mode)
        ref = JaxmarlForLearner(
            JH(scenario=map_name_to_scenario(name), attack_mode=cfg.attack_mode)
        )
        fo, co = compile_fn(jax.jit(make_train(cfg, env=ours)), jax.random.key(0))
        fj, cj = compile_fn(jax.jit(make_train(cfg, env=ref)), jax.random.key(0))
        to, tj = alternate([fo, fj], args.repeats)
        work = cfg.num_updates * cfg.num_envs * cfg.num_steps
        row = dict(map=name, n=cfg.num_envs, num_steps=cfg.num_steps, updates=cfg.num_updates,
                   hidden=cfg.gru_dim, preset=args.ippo_preset, env_steps=work,
                   **pair_row(work, to, tj, co, cj, load0))  # fmt: skip
        ippo.append(row)
        print_row(name, cfg.num_envs, row)

    load_end = load()
    print(f"load average at end: {load_end}; {time.perf_counter() - t_start:.0f} s")
    if args.out:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        prov = dict(
            script="benchmarks/smax.py", args=vars(args), commit=commit.strip(),
            jax=jax.__version__, machine=platform.machine(), cpus=os.cpu_count(),
            date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            loadavg_start=load_start, loadavg_end=load_end,
            wall_s=round(time.perf_counter() - t_start, 1),
            timing="alternating rlbook/jaxmarl repeats after one warm-up each; sps from the best repeat, "
            "medians kept; compile excluded",
        )  # fmt: skip
        with open(args.out, "w") as f:
            json.dump({"provenance": prov, "rows": rows, "ippo": ippo}, f, indent=1)


if __name__ == "__main__":
    main()
