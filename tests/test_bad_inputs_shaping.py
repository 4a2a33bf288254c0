"""Bad input to the games / opponent-shaping constructors and functions: a ``ValueError`` that names
the parameter, raised before anything is traced."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from rlbook.experiments import learning_in_games
from rlbook.experiments import mfos as mfos_exp
from rlbook.games import coin_game, ipditm, iterated
from rlbook.games.matrix import exact_value, get_game, make_game
from rlbook.learners.es import OpenES
from rlbook.learners.naive import memoryless_trajectories, simulate
from rlbook.shaping import mfos, rfos, shaper

IPD = get_game("ipd")
TEMPLATE = {"w": jnp.zeros(3)}

CASES = {
    "shaper_env": (lambda: shaper.ShaperConfig(env="bad"), "env"),
    "shaper_update_epochs": (lambda: shaper.ShaperConfig(update_epochs=0), "update_epochs"),
    "shaper_coplayer_clip": (lambda: shaper.ShaperConfig(coplayer_clip=1.0), "coplayer_clip"),
    "shaper_num_seeds": (lambda: shaper.ShaperConfig(num_seeds=0), "num_seeds"),
    "shaper_grid_size": (lambda: shaper.ShaperConfig(grid_size=2), "grid_size"),
    "shaper_num_trials": (
        lambda: shaper.evaluate(shaper.ShaperConfig(), None, jax.random.key(0), 0),
        "num_trials",
    ),
    "mfos_ent_coef": (lambda: mfos.MFOSConfig(ent_coef=-0.1), "ent_coef"),
    "mfos_update_epochs": (lambda: mfos.MFOSConfig(update_epochs=0), "update_epochs"),
    "mfos_clip_eps": (lambda: mfos.MFOSConfig(clip_eps=0.0), "clip_eps"),
    "mfos_hidden_float": (lambda: mfos.MFOSConfig(hidden=2.5), "hidden"),
    "mfos_preset_override": (lambda: mfos.MFOSConfig.preset("book", generations=0), "generations"),
    "mfos_preset_unknown_field": (lambda: mfos.MFOSConfig.preset("book", bogus=1), "bogus"),
    "mfos_meta_params_opponent": (
        lambda: mfos.meta_params(mfos.MFOSConfig(), opponent="br"),
        "opponent",
    ),
    "mfos_experiment_paper": (lambda: mfos_exp.es_config("paper", "ipd", "nl", {}), "preset"),
    "mfos_ppo_preset": (lambda: mfos_exp.ppo_config("huge"), "preset"),
    "rfos_h": (lambda: rfos.RFOSConfig(h=7), "h"),
    "rfos_num_episodes": (lambda: rfos.RFOSConfig(num_episodes=0), "num_episodes"),
    "rfos_vi_iters": (lambda: rfos.RFOSConfig(vi_iters=0), "vi_iters"),
    "rfos_opp_lr": (lambda: rfos.RFOSConfig(opp_lr=1.5), "opp_lr"),
    "rfos_num_states": (lambda: rfos.known_threshold(0, 0.5, 0.2, 0.8), "num_states"),
    "lig_variant": (lambda: learning_in_games.Config(variant="x"), "variant"),
    "lig_n_runs": (lambda: learning_in_games.Config(n_runs=0), "n_runs"),
    "game_name": (lambda: get_game("go"), "game"),
    "exact_value_theta1_shape": (lambda: exact_value(jnp.zeros(4), jnp.zeros(5), IPD), "theta1"),
    "exact_value_gamma": (lambda: exact_value(jnp.zeros(5), jnp.zeros(5), IPD, 1.0), "gamma"),
    "make_game_r1_shape": (lambda: make_game([1, 2, 3], [1, 2, 3, 4]), "r1"),
    "open_es_popsize": (lambda: OpenES(TEMPLATE, popsize=0), "popsize"),
    "open_es_odd_popsize": (lambda: OpenES(TEMPLATE, popsize=5), "popsize"),
    "open_es_lr": (lambda: OpenES(TEMPLATE, lr=-1.0), "lr"),
    "open_es_sigma_decay": (lambda: OpenES(TEMPLATE, sigma_decay=0.0), "sigma_decay"),
    "iterated_num_steps": (lambda: iterated.default_params("ipd", 0), "num_steps"),
    "coin_size": (lambda: coin_game.default_params(size=1), "size"),
    "ipditm_view": (lambda: ipditm.default_params(view=4), "view"),
    "ipditm_num_coins": (lambda: ipditm.default_params(size=5, num_coins=20), "num_coins"),
    "ipditm_game": (lambda: ipditm.default_params(game="chicken"), "game"),
    "simulate_n_runs": (lambda: simulate(jax.random.key(0), IPD, n_runs=0), "n_runs"),
    "memoryless_learner2": (
        lambda: memoryless_trajectories([[0.5, 0.5]], IPD, "nl", "pg"),
        "learner2",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_naming_the_parameter(name):
    fn, param = CASES[name]
    with pytest.raises(ValueError, match=param):
        fn()


def test_bad_name_lists_the_valid_values():
    with pytest.raises(ValueError, match="env=.bad.*valid: 'ipd', 'imp', 'coin_game', 'ipditm'"):
        shaper.ShaperConfig(env="bad")


def test_tiny_presets_validate():
    for cls in (shaper.ShaperConfig, mfos.MFOSConfig, rfos.RFOSConfig, learning_in_games.Config):
        for name in cls.PRESETS:
            cls.preset(name)
