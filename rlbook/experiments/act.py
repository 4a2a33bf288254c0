"""Chapter 7 experiment: Adversarial Cheap Talk on CartPole-200.

Train-time ACT for ``harm`` and ``help`` (OpenES over the adversary's phi, each candidate's fitness a
complete PPO training of a fresh victim), then 8 *fresh* victims (keys never used by the ES) under:
no messages (phi = 0), random adversaries (flax init), the harm adversary and the help adversary.
Then zero-shot test-time ACT (``hijack``): the trained (phi, exploiter) steers fresh victims trained
with f_phi's messages, and the same exploiter steers fresh no-message victims (the baseline).

Summary: ``none_return``, ``random_return``, ``harm_return``, ``help_return`` (mean final
completed-episode return of 8 fresh victims each; ``*_auc`` the mean over training),
``hijack_return``, ``hijack_baseline_return`` (manipulation return, at most ~200), ``wall_s``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from rlbook.act.adversary import (
    ACTConfig,
    check_popsize,
    init_genome,
    make_env,
    make_es,
    make_generation,
    make_hijacker,
    message_grid,
)
from rlbook.act.hijack import hijack_episode, hijack_return, sample_goals
from rlbook.act.victim import final_return, mean_return, train_victims, update_returns
from rlbook.config import Config, check_int
from rlbook.experiments import Experiment

DESCRIPTION = (
    "Adversarial Cheap Talk on CartPole: harm/help adversaries (ES over full victim "
    "trainings) vs no/random messages over fresh victims, and the zero-shot test-time hijack"
)


@dataclasses.dataclass(frozen=True)
class ACTExperimentConfig(Config):
    PRESETS: ClassVar[dict] = {
        "tiny": dict(  # smoke test
            popsize=4,
            generations=2,  # the first generation's time is compile, not counted
            hijack_popsize=4,
            hijack_generations=1,
            eval_victims=2,
            eval_goals=4,
            snapshot_every=1,
        ),
        "book": dict(popsize=32, generations=20, hijack_generations=16),
        "medium": dict(popsize=64, generations=64, hijack_generations=64),
        "paper": dict(
            popsize=1024,
            generations=1024,
            hijack_popsize=128,
            hijack_generations=1024,
            hijack_victim_seeds=4,
            hijack_eval_envs=64,
        ),
    }
    popsize: int = 32
    generations: int = 20  # harm and help
    hijack_popsize: int = 32
    hijack_generations: int = 16
    hijack_victim_seeds: int = 1
    hijack_eval_envs: int = 16  # goals per victim inside the ES
    eval_victims: int = 8  # fresh victims per adversary in the final comparison
    eval_goals: int = 64  # goals per fresh victim in the final hijack comparison
    snapshot_every: int = 4  # keep the ES mean's message grid every n generations

    def validate(self) -> None:
        check_popsize(self.popsize)
        check_popsize(self.hijack_popsize)
        check_int(self, "generations", "hijack_generations", "hijack_victim_seeds")
        check_int(self, "hijack_eval_envs", "eval_victims", "eval_goals", "snapshot_every")

    def act_config(self, goal: str) -> ACTConfig:
        if goal == "hijack":
            return ACTConfig(
                goal="hijack",
                popsize=self.hijack_popsize,
                generations=self.hijack_generations,
                victim_seeds=self.hijack_victim_seeds,
                eval_envs=self.hijack_eval_envs,
                scale=math.pi,
            )
        return ACTConfig(goal=goal, popsize=self.popsize, generations=self.generations)


def config(preset: str) -> dict:
    return ACTExperimentConfig.preset(preset).to_dict()


def run_es(cfg: ACTConfig, key, snapshot_every: int, log):
    """Train-time ACT with progress: returns (final ES mean pytree, curves dict)."""
    env = make_env(cfg)
    k_init, k_gen = jax.random.split(key)
    genome = init_genome(cfg, env, k_init)
    es = make_es(cfg, genome)
    generation = make_generation(cfg, env, es)
    state = es.init(genome)
    logs, snaps, times = [], {}, []
    for g, k in enumerate(jax.random.split(k_gen, cfg.generations)):
        if g % snapshot_every == 0:
            snaps[g] = snapshot(cfg, env, es.mean(state))
        t0 = time.perf_counter()
        state, gl = jax.block_until_ready(generation(state, k))
        times.append(time.perf_counter() - t0)
        logs.append({k2: float(v) for k2, v in gl._asdict().items()})
        log(
            f"{cfg.goal} gen {g}: fitness mean {logs[-1]['fitness_mean']:.4g} max "
            f"{logs[-1]['fitness_max']:.4g}, victims' final return {logs[-1]['final_return']:.4g} "
            f"({times[-1]:.1f} s)"
        )
    snaps[cfg.generations] = snapshot(cfg, env, es.mean(state))
    curves = {k2: [lg[k2] for lg in logs] for k2 in logs[0]}
    curves["seconds"] = times
    curves["snapshots"] = {str(g): s for g, s in snaps.items()}
    return es.mean(state), curves


def snapshot(cfg: ACTConfig, env, genome):
    phi = genome["phi"] if cfg.goal == "hijack" else genome
    _, _, m = message_grid(env, phi, cfg.scale, 21)
    return np.asarray(m).round(4).tolist()


def stack(trees):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)


def victims_stats(victims, env, keys, phis, scale):
    """Final return, AUC and per-update curves of fresh victims (one per key/phi)."""
    out = victims(keys, env.params(phis, scale))
    return out, {
        "final": np.asarray(final_return(out.stats, 4)).tolist(),
        "auc": np.asarray(mean_return(out.stats)).tolist(),
        "curves": np.asarray(update_returns(out.stats)).round(3).tolist(),
    }


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    xc = ACTExperimentConfig.preset(preset)
    t_start = time.perf_counter()
    key = jax.random.key(seed)
    k_es, k_eval, k_rand, k_goal = jax.random.split(key, 4)
    results, summary = {}, {}
    adversaries = {}
    for i, goal in enumerate(("harm", "help")):
        cfg = xc.act_config(goal)
        adversaries[goal], results[f"{goal}_es"] = run_es(
            cfg, jax.random.fold_in(k_es, i), xc.snapshot_every, log
        )
    cfg = xc.act_config("harm")
    env = make_env(cfg)
    vcfg = cfg.victim
    victims = jax.jit(lambda keys, params: train_victims(vcfg, env, keys, params))
    n = xc.eval_victims
    keys = jax.random.split(k_eval, n)
    phis = {
        "none": stack([env.zero_phi()] * n),
        "random": jax.vmap(env.init_phi)(jax.random.split(k_rand, n)),
        "harm": stack([adversaries["harm"]] * n),
        "help": stack([adversaries["help"]] * n),
    }
    for name, p in phis.items():
        _, results[name] = victims_stats(victims, env, keys, p, cfg.scale)
        summary[f"{name}_return"] = float(np.mean(results[name]["final"]))
        summary[f"{name}_auc"] = float(np.mean(results[name]["auc"]))
        log(f"{name}: final {summary[f'{name}_return']:.4g}, auc {summary[f'{name}_auc']:.4g}")
    summary["harm_drop"] = 1.0 - summary["harm_return"] / summary["none_return"]
    hcfg = xc.act_config("hijack")
    genome, results["hijack_es"] = run_es(hcfg, jax.random.fold_in(k_es, 2), xc.snapshot_every, log)
    results["hijack"] = evaluate_hijack(hcfg, env, victims, keys, genome, k_goal, xc.eval_goals)
    summary["hijack_return"] = float(np.mean(results["hijack"]["act"]))
    summary["hijack_baseline_return"] = float(np.mean(results["hijack"]["no_message"]))
    log(
        f"hijack {summary['hijack_return']:.4g} vs baseline {summary['hijack_baseline_return']:.4g}"
    )
    results["adversaries"] = {
        g: np.asarray(ravel_pytree(p)[0]).tolist() for g, p in adversaries.items()
    }
    results["adversaries"]["hijack"] = np.asarray(ravel_pytree(genome)[0]).tolist()
    es_time = sum(sum(results[f"{g}_es"]["seconds"][1:]) for g in ("harm", "help"))
    es_gens = sum(len(results[f"{g}_es"]["seconds"]) - 1 for g in ("harm", "help"))
    summary["seconds_per_generation"] = es_time / max(es_gens, 1)
    summary["victims_per_s"] = xc.popsize / summary["seconds_per_generation"]
    summary.update(popsize=xc.popsize, generations=xc.generations)
    summary["wall_s"] = time.perf_counter() - t_start
    return summary, results


def evaluate_hijack(hcfg: ACTConfig, env, victims, keys, genome, k_goal, n_goals: int):
    """Manipulation return of fresh victims trained under phi (ACT) and under no messages, each
    steered by the trained exploiter towards the same ``n_goals`` goals; plus example traces."""
    n = keys.shape[0]
    h = make_hijacker(hcfg, env)
    goals = sample_goals(k_goal, n_goals)
    k_ep = jax.random.fold_in(k_goal, 1)
    score = jax.jit(jax.vmap(lambda o: hijack_return(h, o, genome["exploiter"], k_ep, goals)))
    out = {}
    for name, phi in (("act", genome["phi"]), ("no_message", env.zero_phi())):
        vo = victims(keys, env.params(stack([phi] * n), hcfg.scale))
        out[name] = np.asarray(score(vo)).tolist()
        first = jax.tree_util.tree_map(lambda x: x[0], vo)
        show = jnp.array([-1.5, 0.0, 1.5])
        tr = jax.vmap(
            lambda g, first=first: hijack_episode(h, first, genome["exploiter"], k_ep, g)
        )(show)
        out[f"{name}_traces"] = {
            "goals": show.tolist(),
            "x": np.asarray(tr.x).round(4).tolist(),
            "m": np.asarray(tr.m).round(4).tolist(),
            "alive": np.asarray(tr.alive).tolist(),
        }
    return out


EXPERIMENT = Experiment("act", DESCRIPTION, run, config, chapter="07_act")
