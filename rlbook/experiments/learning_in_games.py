"""Chapter 1 experiment: naive learners and LOLA in the iterated prisoner's dilemma and matching pennies.

Every pairing runs ``n_runs`` independent learning runs (one random initialisation each, the "seeds")
for ``n_steps`` simultaneous updates on the exact value (``rlbook.learners.naive.simulate``). The summary
reports player 1's *final* average per-step reward and its discounted frequency of cooperation
(P(cooperate)), each a mean over runs, plus the fraction of runs that meet the chapter's claims. In
matching pennies, convergence to the mixed equilibrium is judged *per run*: the distance of the final
pair (P1(C), P2(C)) from (1/2, 1/2) (a run-averaged P(C) near 1/2 says nothing: runs that oscillate
or end at opposite corners average to 1/2 too).
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import jax
import numpy as np

from rlbook.config import Config as BaseConfig
from rlbook.config import check_choice, check_float, check_int
from rlbook.experiments import Experiment
from rlbook.games.matrix import get_game
from rlbook.learners.naive import LOLA_VARIANTS, simulate

DESCRIPTION = "NL and LOLA (exact values) in IPD and IMP: final rewards and P(cooperate) over seeds"

PAIRINGS = (("nl", "nl"), ("lola", "lola"), ("lola", "nl"))
GAMES_RUN = ("ipd", "imp")
NEAR_NASH = 0.1  # a run "ends near the mixed equilibrium" if its final (P1(C), P2(C)) is this close


def distance_to_mixed_nash(p_coop) -> np.ndarray:
    """Per run: Euclidean distance of the final (P1(C), P2(C)) from (1/2, 1/2); ``p_coop`` [B, T + 1, 2]."""
    return np.linalg.norm(np.asarray(p_coop)[:, -1] - 0.5, axis=-1)


@dataclasses.dataclass(frozen=True)
class Config(BaseConfig):
    """Sizes and learning rates of the chapter's pairings; presets tiny / book / medium / paper."""

    PRESETS: ClassVar[dict] = {
        "tiny": dict(n_runs=8, n_steps=10),
        "book": dict(n_runs=256),
        "medium": dict(n_runs=1024),
        "paper": dict(n_runs=4096),
    }

    n_runs: int = 256
    n_steps: int = 100
    gamma: float = 0.96
    lr: float = 1.0  # alpha, both players (M-FOS / pax value)
    eta: float = 1.0  # LOLA look-ahead step
    variant: str = "taylor_full"
    init_std: float = 1.0

    def validate(self) -> None:
        check_int(self, "n_runs", "n_steps")
        check_float(self, "gamma", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        check_float(self, "lr", "eta", "init_std", lo=0.0)
        check_choice("variant", self.variant, LOLA_VARIANTS)


def config(preset: str) -> dict:
    return Config.preset(preset).to_dict()


def run_pairing(cfg: Config, key, game_name: str, learner1: str, learner2: str):
    """One pairing: the ``SimResult`` of ``cfg.n_runs`` runs."""
    return simulate(
        key,
        get_game(game_name),
        learner1,
        learner2,
        n_runs=cfg.n_runs,
        n_steps=cfg.n_steps,
        gamma=cfg.gamma,
        lr1=cfg.lr,
        lr2=cfg.lr,
        eta1=cfg.eta,
        eta2=cfg.eta,
        variant=cfg.variant,
        init_std=cfg.init_std,
    )


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    cfg = Config.preset(preset)
    t0 = time.perf_counter()
    key = jax.random.key(seed)
    summary: dict[str, float] = {}
    results: dict[str, dict] = {}
    for gi, game_name in enumerate(GAMES_RUN):
        for l1, l2 in PAIRINGS:
            tag = f"{game_name}_{l1}_{l2}"
            # the same initialisations for every pairing of a game (common random numbers)
            res = run_pairing(cfg, jax.random.fold_in(key, gi), game_name, l1, l2)
            value = np.asarray(res.value)  # [B, T + 1, 2]
            pc = np.asarray(res.p_coop)
            final = value[:, -1]
            summary[f"{tag}_reward"] = float(final[:, 0].mean())
            summary[f"{tag}_opponent_reward"] = float(final[:, 1].mean())
            summary[f"{tag}_run_mean_reward"] = float(value[:, 1:, 0].mean())
            summary[f"{tag}_p_cooperate"] = float(pc[:, -1, 0].mean())
            results[tag] = {
                "mean_value_curve": value.mean(0).tolist(),
                "mean_p_coop_curve": pc.mean(0).tolist(),
                "final_value": final.tolist(),
                "final_p_coop": pc[:, -1].tolist(),
            }
            if game_name == "imp":
                dist = distance_to_mixed_nash(pc)
                summary[f"{tag}_median_dist_to_nash"] = float(np.median(dist))
                summary[f"{tag}_frac_near_nash"] = float(np.mean(dist < NEAR_NASH))
                results[tag]["final_dist_to_nash"] = dist.tolist()
            if game_name == "ipd":
                summary[f"{tag}_frac_p_cooperate_below_0.1"] = float(np.mean(pc[:, -1, 0] < 0.1))
                summary[f"{tag}_frac_reward_above_-1.3"] = float(np.mean(final[:, 0] > -1.3))
            log(f"{tag}: player-1 final reward {summary[f'{tag}_reward']:.4g}")
    summary["wall_s"] = time.perf_counter() - t0
    return summary, results


EXPERIMENT = Experiment(
    "learning_in_games",
    DESCRIPTION,
    run,
    config,
    presets=("tiny", "book", "medium", "paper"),
    chapter="01_learning_in_games",
)
