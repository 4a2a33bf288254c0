"""Env steps per second: rlbook's SMAX vs jaxmarl 0.2.0 in the same run, and the same for IPPO training.

Env section: HeuristicEnemySMAX, random actions (legal discrete ones; uniform in [0, 1]^4 for continuous
actions), ``jit(scan(vmap(step)))`` with auto-reset, for each scenario and number of parallel envs N, in the
default mode (unit-list observations, discrete actions) and, at ``--modes-n``, in the conic-observation,
continuous-action mode. The runner **consumes the observations** (their sum, and the world state's, is
carried through the scan), so XLA cannot drop their computation on either side.

Protocol. One compiled rollout is about 20k env steps (``steps_for``). Compile time is measured separately. One timed run is ``calls`` back-to-back calls of the compiled
rollout, with ``calls`` chosen from a warm-up so that a run lasts at least ``--min-run-s`` (0.5 s) on the
faster side; both sides do the same work. ``--repeats`` (>= 7) pairs of runs are timed, the order inside
each pair (rlbook first or jaxmarl first) drawn at random, so that load from other jobs hits both sides
alike. The table reports the **paired median ratio** rlbook/jaxmarl throughput (median over pairs of
t_jaxmarl / t_rlbook) with a 95% bootstrap confidence interval (pairs resampled), plus each side's median
steps/s. ``os.getloadavg()`` is recorded at the start and end of the run and around every row.
IPPO section: rlbook's recurrent IPPO (``rlbook.learners.mappo``, ``--ippo-preset`` sizes; ``paper`` =
JaxMARL's yaml: 128 envs x 128 steps, 128-unit networks) compiled once against each env and run for
``--ippo-updates`` updates; jaxmarl's env only gets the two attributes the learner reads (``num_units`` and
``infos["won"]``, inferred as jaxmarl's log wrapper does); same paired protocol with ``--ippo-repeats``.

    JAX_PLATFORMS=cpu .venv/bin/python benchmarks/smax.py [--quick] [--n 1 64 1024 4096]
        [--maps 3m 2s3z 5m_vs_6m] [--repeats 7] [--min-run-s 0.5] [--modes-n 1024]
        [--ippo-maps 3m] [--ippo-preset paper] [--ippo-updates 3] [--ippo-repeats 5]
        [--out data/smax_benchmark.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import time

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_MODE = ("unit_list", "discrete")
CONIC_CONTINUOUS = ("conic", "continuous")


def steps_for(n: int) -> int:
    """Scan length of one compiled rollout: about 20k env steps (1000 steps at N = 1, 312 at N = 64, 19 at
    N = 1024, 10 at N = 4096); a timed run repeats the call until it lasts ``--min-run-s``."""
    return int(min(1000, max(10, 20_000 // n)))


def random_actions(env, key, state):
    """Random legal discrete actions, or uniform continuous ones, for every agent of a batch of envs."""
    keys = jax.random.split(key, len(env.agents))
    if env.action_type == "continuous":
        batch = jax.tree.leaves(state)[0].shape[0]
        return {a: jax.random.uniform(keys[i], (batch, 4)) for i, a in enumerate(env.agents)}
    avail = jax.vmap(env.get_avail_actions)(state)
    return {
        a: jax.random.categorical(keys[i], jnp.log(avail[a].astype(jnp.float32)))
        for i, a in enumerate(env.agents)
    }


def make_runner(env, num_envs, steps):
    """jit(scan(vmap(step))) over ``steps`` steps; returns a scalar that depends on every observation."""

    def run(key):
        _, state = jax.vmap(env.reset)(jax.random.split(key, num_envs))

        def body(carry, _):
            state, key, acc = carry
            key, k_act, k_step = jax.random.split(key, 3)
            acts = random_actions(env, k_act, state)
            obs, state, rew, _, _ = jax.vmap(env.step)(
                jax.random.split(k_step, num_envs), state, acts
            )
            seen = sum(jnp.sum(o) for o in jax.tree.leaves(obs))  # consume every observation
            return (state, key, acc + seen + rew[env.agents[0]].sum()), None

        (_, _, acc), _ = jax.lax.scan(body, (state, key, jnp.float32(0.0)), None, length=steps)
        return acc

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


def load():
    return [round(x, 2) for x in os.getloadavg()]


def paired_runs(fns, repeats, min_run_s, seed=0):
    """Times of ``repeats`` pairs of runs of the two compiled functions, random order within each pair.

    A run is ``calls`` back-to-back calls (the same for both sides) so that it lasts >= ``min_run_s``.
    Returns (times (repeats, 2) in seconds, calls)."""
    key = jax.random.key(2)
    warm = []
    for f in fns:
        jax.block_until_ready(f(key))  # first call after compile
        t0 = time.perf_counter()
        jax.block_until_ready(f(key))
        warm.append(time.perf_counter() - t0)
    calls = max(1, math.ceil(min_run_s / max(min(warm), 1e-6)))
    order_rng = np.random.default_rng(seed)
    times = np.zeros((repeats, 2))
    for r in range(repeats):
        for side in order_rng.permutation(2):
            t0 = time.perf_counter()
            for _ in range(calls):
                out = fns[side](key)
            jax.block_until_ready(out)
            times[r, side] = time.perf_counter() - t0
    return times, calls


def paired_stats(times, work, boots=10_000, seed=0):
    """Paired median ratio rlbook/jaxmarl throughput (= t_jaxmarl / t_rlbook per pair), its 95% bootstrap
    interval (pairs resampled), and each side's median and best steps/s."""
    ratios = times[:, 1] / times[:, 0]
    rng = np.random.default_rng(seed)
    boot = np.median(ratios[rng.integers(0, len(ratios), (boots, len(ratios)))], axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    med_r, med_j = np.median(times[:, 0]), np.median(times[:, 1])
    return dict(
        ratio_paired_median=float(np.median(ratios)), ratio_ci95=[float(lo), float(hi)],
        rlbook_sps_median=work / med_r, jaxmarl_sps_median=work / med_j,
        rlbook_sps=work / times[:, 0].min(), jaxmarl_sps=work / times[:, 1].min(),
        ratio=float(times[:, 1].min() / times[:, 0].min()), ratio_median=float(med_j / med_r),
        pair_ratios=[round(float(x), 4) for x in ratios],
        times_rlbook_s=[round(float(t), 4) for t in times[:, 0]],
        times_jaxmarl_s=[round(float(t), 4) for t in times[:, 1]],
    )  # fmt: skip


HEADER = (
    f"{'map':<10}{'mode':<19}{'N':>6}{'rlbook sps':>13}{'jaxmarl sps':>13}{'ratio':>7}"
    f"{'95% CI':>14}{'compile r/j s':>16}{'load 1m':>9}"
)


def print_row(row):
    lo, hi = row["ratio_ci95"]
    print(
        f"{row['map']:<10}{row.get('mode', '-'):<19}{row['n']:>6}{row['rlbook_sps_median']:>13,.0f}"
        f"{row['jaxmarl_sps_median']:>13,.0f}{row['ratio_paired_median']:>7.2f}"
        f"{f'[{lo:.2f}, {hi:.2f}]':>14}{row['compile_rlbook_s']:>8.1f}/{row['compile_jaxmarl_s']:<7.1f}"
        f"{row['loadavg_after'][0]:>9.2f}",
        flush=True,
    )


def env_row(name, n, mode, args):
    """One table row: rlbook vs jaxmarl HeuristicEnemySMAX on ``name`` with N envs in ``mode``."""
    from jaxmarl.environments.smax import HeuristicEnemySMAX as JH
    from jaxmarl.environments.smax import map_name_to_scenario

    from rlbook.envs.smax import HeuristicEnemySMAX

    load0 = load()
    kw = dict(attack_mode="closest", observation_type=mode[0], action_type=mode[1])
    ours = HeuristicEnemySMAX(scenario=name, **kw)
    ref = JH(scenario=map_name_to_scenario(name), **kw)
    steps = steps_for(n)
    fo, co = compile_fn(make_runner(ours, n, steps), jax.random.key(0))
    fj, cj = compile_fn(make_runner(ref, n, steps), jax.random.key(0))
    times, calls = paired_runs([fo, fj], args.repeats, args.min_run_s)
    row = dict(map=name, mode="/".join(mode), n=n, steps=steps, calls_per_run=calls,
               compile_rlbook_s=co, compile_jaxmarl_s=cj,
               **paired_stats(times, n * steps * calls),
               loadavg_before=load0, loadavg_after=load())  # fmt: skip
    print_row(row)
    return row


def ippo_row(name, args):
    """IPPO training steps/s with the same learner on both envs (paired runs of whole training calls)."""
    from jaxmarl.environments.smax import HeuristicEnemySMAX as JH
    from jaxmarl.environments.smax import map_name_to_scenario

    from rlbook.envs.smax import HeuristicEnemySMAX
    from rlbook.learners.mappo import MAPPOConfig, make_train

    load0 = load()
    size = MAPPOConfig.preset(args.ippo_preset, algo="ippo")
    cfg = MAPPOConfig.preset(
        args.ippo_preset, algo="ippo", scenario=name, eval_envs=1,
        total_timesteps=args.ippo_updates * size.num_envs * size.num_steps,
    )  # fmt: skip
    ours = HeuristicEnemySMAX(scenario=name, attack_mode=cfg.attack_mode)
    ref = JaxmarlForLearner(JH(scenario=map_name_to_scenario(name), attack_mode=cfg.attack_mode))
    fo, co = compile_fn(jax.jit(make_train(cfg, env=ours)), jax.random.key(0))
    fj, cj = compile_fn(jax.jit(make_train(cfg, env=ref)), jax.random.key(0))
    times, calls = paired_runs([fo, fj], args.ippo_repeats, 0.0)
    work = cfg.num_updates * cfg.num_envs * cfg.num_steps
    row = dict(map=name, mode="unit_list/discrete", n=cfg.num_envs, num_steps=cfg.num_steps,
               updates=cfg.num_updates, hidden=cfg.gru_dim, preset=args.ippo_preset, env_steps=work,
               compile_rlbook_s=co, compile_jaxmarl_s=cj, **paired_stats(times, work),
               loadavg_before=load0, loadavg_after=load())  # fmt: skip
    print_row(row)
    return row


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument(
        "--quick", action="store_true", help="3m at N = 1, 64; 3 repeats of 0.1 s; no IPPO"
    )
    p.add_argument("--n", type=int, nargs="+", default=[1, 64, 1024, 4096])
    p.add_argument("--maps", nargs="+", default=["3m", "2s3z", "5m_vs_6m"])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--min-run-s", type=float, default=0.5)
    p.add_argument("--modes-n", type=int, nargs="*", default=[1024])
    p.add_argument("--ippo-maps", nargs="*", default=["3m"])
    p.add_argument("--ippo-preset", default="paper")
    p.add_argument("--ippo-updates", type=int, default=3)
    p.add_argument("--ippo-repeats", type=int, default=5)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.quick:
        args.n, args.maps, args.repeats, args.min_run_s = [1, 64], ["3m"], 3, 0.1
        args.modes_n, args.ippo_maps = [64], []
    if args.repeats < 1 or args.ippo_repeats < 1:
        p.error("--repeats and --ippo-repeats must be >= 1")
    return args


START_COMMIT = subprocess.run(
    ["git", "rev-parse", "HEAD"], capture_output=True, text=True
).stdout.strip()  # the code that ran (later commits during a long run do not change it)


def main():
    args = parse_args()
    load_start, t_start = load(), time.perf_counter()
    print(f"load average at start: {load_start}")
    print("env steps/s (median of paired runs; ratio = paired median rlbook/jaxmarl with 95% CI)")
    print(HEADER)
    rows, ippo = [], []
    cells = [(name, n, mode) for name in args.maps for n in args.n
             for mode in [DEFAULT_MODE] + ([CONIC_CONTINUOUS] if n in args.modes_n else [])]  # fmt: skip
    for name, n, mode in cells:
        rows.append(env_row(name, n, mode, args))
        write(args, rows, ippo, load_start, t_start, complete=False)
    if args.ippo_maps:
        print(f"IPPO training env steps/s ({args.ippo_updates} updates, {args.ippo_preset} sizes)")
        print(HEADER)
    for name in args.ippo_maps:
        ippo.append(ippo_row(name, args))
        write(args, rows, ippo, load_start, t_start, complete=False)
    write(args, rows, ippo, load_start, t_start, complete=True)
    print(f"load average at end: {load()}; {time.perf_counter() - t_start:.0f} s")


def write(args, rows, ippo, load_start, t_start, complete):
    """Write the table so far (after every row: a run stopped early keeps its finished rows)."""
    if args.out:
        load_end = load()
        prov = dict(
            script="benchmarks/smax.py", args=vars(args), commit=START_COMMIT,
            jax=jax.__version__, machine=platform.machine(), cpus=os.cpu_count(),
            date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            loadavg_start=load_start, loadavg_end=load_end,
            wall_s=round(time.perf_counter() - t_start, 1), complete=complete,
            timing="paired runs (random order within a pair) of >= min_run_s each after a warm-up; "
            "ratio_paired_median = median over pairs of t_jaxmarl / t_rlbook, 95% bootstrap CI over "
            "pairs; observations consumed; compile excluded",
        )  # fmt: skip
        with open(args.out, "w") as f:
            json.dump({"provenance": prov, "rows": rows, "ippo": ippo}, f, indent=1)


if __name__ == "__main__":
    main()
