"""Chapter 5 experiment: Stackelberg self-play, welfare equilibria and WelFuSe in sigmoid Chicken.

One seed of the welfare-equilibria paper's Fig. 4 (``compare_welfuse.py``): 100 runs x 3 episodes x 1000
simultaneous updates (lr 0.1, look-ahead eta 25) for greedy exact LOLA and WelFuSe, each in self-play and
against a naive learner, plus naive self-play. All five pairings run in one compiled program
(``run_pairings``). Rewards are per step, averaged over the runs:

* ``*_reward`` of a LOLA or naive pairing: the last 100 steps of the last episode ("final");
* ``*_reward`` of a WelFuSe pairing: the mean over the last episode (WelFuSe's unit of choice), with
  ``*_final_reward`` (last 100 steps) and per-episode means beside it.

Also the grid classification of every game in ``rlbook.shaping.welfuse.GAMES`` as coincidental or not.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import numpy as np

from rlbook.experiments import Experiment
from rlbook.shaping.welfuse import (
    GAMES,
    WelFuSeConfig,
    episode_means,
    final_reward,
    is_coincidental,
    run_pairings,
)

DESCRIPTION = (
    "Greedy LOLA vs WelFuSe in Chicken (self-play, vs naive) and the non-coincidental games"
)

PAIRINGS = (
    ("lola", "lola"),
    ("lola", "naive"),
    ("welfuse", "welfuse"),
    ("welfuse", "naive"),
    ("naive", "naive"),
)
TAGS = {
    ("lola", "lola"): "lola_selfplay",
    ("lola", "naive"): "lola_vs_nl",
    ("welfuse", "welfuse"): "welfuse_selfplay",
    ("welfuse", "naive"): "welfuse_vs_nl",
    ("naive", "naive"): "nl_selfplay",
}


def config(preset: str) -> dict:
    return dataclasses.asdict(WelFuSeConfig.preset(preset))


def classify_games() -> dict[str, bool]:
    """``{game: is_coincidental}`` for every registered game (grid of 2001 actions)."""
    return {name: is_coincidental(g) for name, g in sorted(GAMES.items())}


def summarise(outs: dict) -> tuple[dict, dict]:
    """Summary numbers and per-pairing curves from ``run_pairings`` outputs (one seed)."""
    s: dict = {}
    res: dict = {}
    for pairing, out in outs.items():
        tag = TAGS[pairing]
        fin = final_reward(out)[0]  # [2]
        ep = episode_means(out)[0]  # [E, 2]
        counts = np.asarray(out.episodes.counts)[0]  # [E, 2, K]
        last = ep[-1] if pairing[0] == "welfuse" else fin
        s[f"chicken_{tag}_reward"] = round(float(last[0]), 4)
        s[f"chicken_{tag}_opponent_reward"] = round(float(last[1]), 4)
        s[f"chicken_{tag}_final_reward"] = round(float(fin[0]), 4)
        if pairing[0] == "welfuse":
            s[f"chicken_{tag}_episode_means"] = [round(float(v), 4) for v in ep[:, 0]]
            s[f"chicken_{tag}_greedy_runs"] = [int(c) for c in counts[:, 0, 0]]
        r = np.asarray(out.episodes.rewards)[0]  # [E, T, B, 2]
        res[tag] = {
            "mean_reward_curve": r.mean(axis=2)[:, ::10].round(4).tolist(),  # every 10th step
            "episode_means": ep.round(4).tolist(),
            "welfare_counts": counts.tolist(),
            "welfare_names": list(out.welfare_names),
            "final_p_action0": np.asarray(out.episodes.actions)[0, -1, -1].round(4).tolist(),
        }
    s["chicken_nl_vs_welfuse_reward"] = s["chicken_welfuse_vs_nl_opponent_reward"]
    s["chicken_nl_vs_lola_reward"] = s["chicken_lola_vs_nl_opponent_reward"]
    return s, res


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    cfg = WelFuSeConfig.preset(preset)
    log(f"{len(PAIRINGS)} pairings x {cfg.n_runs} runs x {cfg.n_episodes} x {cfg.n_steps} steps")
    outs = run_pairings(cfg, jax.random.key(seed), PAIRINGS, n_seeds=1)
    summary, results = summarise(outs)
    for tag in TAGS.values():
        log(f"{tag}: {summary[f'chicken_{tag}_reward']:.4g}")
    verdicts = classify_games()
    summary["noncoincidental_games"] = sorted(g for g, c in verdicts.items() if not c)
    summary["coincidental_games"] = sorted(g for g, c in verdicts.items() if c)
    results["coincidental"] = verdicts
    summary["wall_s"] = round(time.perf_counter() - t0, 2)
    return summary, results


EXPERIMENT = Experiment(
    "welfuse", DESCRIPTION, run, config, presets=("tiny", "book", "paper"), chapter="05_welfuse"
)
