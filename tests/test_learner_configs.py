"""Bad input to the learners' configs, the SMAX env and scenarios, and the MoE layers: each raises a
``ValueError`` naming the parameter, before anything is traced."""

import jax
import jax.numpy as jnp
import pytest

from rlbook.envs.smax import SMAX, HeuristicEnemySMAX, Scenario
from rlbook.experiments import moe_scaling
from rlbook.learners.mappo import MAPPOConfig
from rlbook.learners.ppo import NetConfig, PPOConfig
from rlbook.moe import ExpertChoiceMoE, SoftMoE, TopKMoE, dormant_fraction, tokenize

X = jnp.zeros((2, 4, 8))

BAD = [
    ("lr", lambda: PPOConfig(lr=-1.0)),
    ("gamma", lambda: PPOConfig(gamma=1.5)),
    ("num_envs", lambda: PPOConfig(num_envs=0)),
    ("env_name", lambda: PPOConfig(env_name="NoSuchEnv-v0")),
    ("total_timesteps", lambda: PPOConfig(total_timesteps=10)),
    ("num_minibatches", lambda: PPOConfig(num_minibatches=3)),
    ("clip_eps", lambda: PPOConfig(clip_eps=0.0)),
    ("ent_coef", lambda: PPOConfig(ent_coef=-0.1)),
    ("switch_coef", lambda: PPOConfig(switch_coef=float("nan"))),
    ("preset", lambda: PPOConfig.preset("huge")),
    ("bogus", lambda: PPOConfig.preset("book", bogus=1)),
    ("kind", lambda: NetConfig(kind="nope")),
    ("width", lambda: NetConfig(width=0)),
    ("capacity_factor", lambda: NetConfig(capacity_factor=0.0)),
    ("tokens", lambda: NetConfig(tokens="perpixel")),
    ("encoder", lambda: NetConfig(kind="softmoe", encoder="mlp")),
    ("num_experts", lambda: NetConfig(kind="softmoe", num_experts=0)),
    ("slots_per_expert", lambda: NetConfig(slots_per_expert=0)),
    ("algo", lambda: MAPPOConfig.preset("book", algo="bad")),
    ("algo", lambda: MAPPOConfig(algo="vdn")),
    ("scenario", lambda: MAPPOConfig(scenario="99z")),
    ("rnn_reset", lambda: MAPPOConfig(rnn_reset="never")),
    ("gru_dim", lambda: MAPPOConfig(gru_dim=0)),
    ("gae_lambda", lambda: MAPPOConfig(gae_lambda=2.0)),
    ("num_minibatches", lambda: MAPPOConfig(num_envs=4, num_minibatches=5)),
    ("attack_mode", lambda: MAPPOConfig(attack_mode="furthest")),
    ("preset", lambda: MAPPOConfig.preset("huge")),
    ("scenario", lambda: HeuristicEnemySMAX(scenario="99z")),
    ("max_steps", lambda: SMAX(max_steps=0)),
    ("map_width", lambda: SMAX(map_width=-1)),
    ("unit_types", lambda: Scenario((0, 9), 1, 1)),
    ("num_allies", lambda: Scenario((0,), 0, 1)),
    ("num_experts", lambda: SoftMoE(0, 8).init(jax.random.key(0), X)),
    ("slots_per_expert", lambda: SoftMoE(2, 8, slots_per_expert=0).init(jax.random.key(0), X)),
    ("capacity_factor", lambda: TopKMoE(4, 8, capacity_factor=0.0).init(jax.random.key(0), X)),
    ("noise_std", lambda: TopKMoE(4, 8, noise_std=-1.0).init(jax.random.key(0), X)),
    ("expert_hidden", lambda: ExpertChoiceMoE(2, 0).init(jax.random.key(0), X)),
    ("tokens", lambda: tokenize(jnp.zeros((1, 3, 3, 2)), "perpixel")),
    ("tau", lambda: dormant_fraction(jnp.ones((4, 3)), tau=-1.0)),
    ("preset", lambda: moe_scaling.arms("huge")),
]


@pytest.mark.parametrize("param,make", BAD, ids=[f"{i}-{p}" for i, (p, _) in enumerate(BAD)])
def test_bad_input_raises_value_error_naming_the_parameter(param, make):
    with pytest.raises(ValueError, match=param):
        make()


def test_nested_net_config_errors_name_the_torso():
    net = NetConfig()
    object.__setattr__(net, "width", 0)  # bypass construction-time validation
    with pytest.raises(ValueError, match="critic.width"):
        PPOConfig(critic=net)


def test_presets_are_valid_and_algo_sets_the_hyperparameters():
    for name in PPOConfig.PRESETS:
        assert PPOConfig.preset(name).num_updates >= 1
    for name in MAPPOConfig.PRESETS:
        ippo, mappo = MAPPOConfig.preset(name), MAPPOConfig.preset(name, algo="mappo")
        assert (ippo.clip_eps, mappo.clip_eps) == (0.05, 0.2)
        assert ippo.num_envs == mappo.num_envs
    assert MAPPOConfig.preset("book", algo="mappo", lr=1e-3).lr == 1e-3  # overrides win
