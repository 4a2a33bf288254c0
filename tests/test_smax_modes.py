"""SMAX's conic observations, continuous actions and short stat arrays (no jaxmarl needed).

The first group restates the intent of jaxmarl 0.2's own SMAX unit tests on rlbook's env, in a small custom
battle with one-entry stat arrays (5 v 5 marines, speed 5, health 1, damage 0.02, cooldown 0.2 s, range 3,
sight 4, win bonus 5): moves, continuous decoding of moves and attack targets, the previous-target rule,
attacks in and out of range, both episode endings, the time limit, the conic view of a placed unit and the
two-units-per-sector cap. The numbers follow from the rules (8 ticks of 1/16 s per step), not from a run.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.envs.smax import SMAX, HeuristicEnemySMAX

TINY = dict(
    num_allies=5, num_enemies=5, unit_type_velocities=[5.0], unit_type_health=[1.0],
    unit_type_attacks=[0.02], unit_type_weapon_cooldowns=[0.2], unit_type_attack_ranges=[3.0],
    unit_type_sight_ranges=[4.0], unit_type_radiuses=[0.375], won_battle_bonus=5.0,
)  # fmt: skip
F = 13  # features per observed unit


def battle(**kw):
    env = SMAX(**TINY, **kw)
    _, state = env.reset(jax.random.key(0))
    return env, state


def random_actions(env, key):
    keys = jax.random.split(key, len(env.agents))
    return {a: env.action_space(a).sample(keys[i]) for i, a in enumerate(env.agents)}


def placed(state, where: dict, **fields):
    pos = state.unit_positions
    for i, xy in where.items():
        pos = pos.at[i].set(jnp.asarray(xy, jnp.float32))
    return state.replace(unit_positions=pos, **fields)


ENV_D, STATE_D = battle()
ENV_C, STATE_C = battle(action_type="continuous")
ENV_O, STATE_O = battle(observation_type="conic")
STEP_D = jax.jit(ENV_D.step)
DECODE_C = jax.jit(ENV_C.decode)


@pytest.mark.parametrize(
    "action,shift", [(0, (0, 2.5)), (1, (2.5, 0)), (2, (0, -2.5)), (3, (-2.5, 0))]
)
def test_move_actions(action, shift):
    """A move action moves 8 ticks x 5 x 1/16 = 2.5 map units along its axis."""
    state = placed(STATE_D, {0: (16.0, 16.0)})
    acts = random_actions(ENV_D, jax.random.key(1))
    acts["ally_0"] = action
    _, new, _, _, _ = STEP_D(jax.random.key(2), state, acts)
    np.testing.assert_allclose(new.unit_positions[0], np.array([16, 16]) + shift, atol=1e-5)


@pytest.mark.parametrize(
    "action,move",
    [
        ((0.0, 1.0, 0.5, 0.0), (0.5, 0.0)),  # always move; half speed; angle 0
        ((0.0, 1.0, 1.0, 0.125), (2**-0.5, 2**-0.5)),  # full speed at 45 degrees
        ((0.0, 0.0, 1.0, 0.125), (0.0, 0.0)),  # never move: the unit shoots instead
    ],
)
def test_continuous_move_decoding(action, move):
    state = placed(STATE_C, {0: (16.0, 16.0)})
    acts = random_actions(ENV_C, jax.random.key(1))
    acts["ally_0"] = jnp.array(action)
    moves, _ = DECODE_C(jax.random.key(3), state, jnp.stack([acts[a] for a in ENV_C.agents]))
    np.testing.assert_allclose(moves[0], move, atol=1e-6)


@pytest.mark.parametrize("enemy_xy,enemy_r", [((1.0, 2.0), 0.5), ((1.0, 8.0), 1.0)])
def test_continuous_attack_decoding(enemy_xy, enemy_r):
    """Ally 0 aims half a unit north, enemy 0 aims south: each picks the other (ally attack 5 + 0, enemy
    attack 5 + (A - 1 - 0) = 9), also out of range (the tick, not the decoder, checks the range)."""
    state = placed(STATE_C, {0: (1.0, 1.0), 5: enemy_xy})
    acts = random_actions(ENV_C, jax.random.key(1))
    acts["ally_0"] = jnp.array([1.0, 0.0, 0.5, 0.25])
    acts["enemy_0"] = jnp.array([1.0, 0.0, enemy_r, 0.75])
    _, attacks = DECODE_C(jax.random.key(3), state, jnp.stack([acts[a] for a in ENV_C.agents]))
    assert int(attacks[0]) == 5 and int(attacks[5]) == 9


@pytest.mark.parametrize("p_aim,expected", [(1.0, (5, 9)), (0.0, (6, 6))])
def test_attack_same_unit_rule(p_aim, expected):
    """With p_aim = 0 a shooting unit repeats its previous attack index (6) instead of aiming."""
    state = placed(STATE_C, {0: (1.0, 1.0), 5: (1.0, 2.0)})
    state = state.replace(prev_attack_actions=state.prev_attack_actions.at[0].set(6).at[5].set(6))
    acts = random_actions(ENV_C, jax.random.key(1))
    acts["ally_0"] = jnp.array([p_aim, 0.0, 0.5, 0.25])
    acts["enemy_0"] = jnp.array([p_aim, 0.0, 0.5, 0.75])
    _, attacks = DECODE_C(jax.random.key(3), state, jnp.stack([acts[a] for a in ENV_C.agents]))
    assert (int(attacks[0]), int(attacks[5])) == expected


@pytest.mark.parametrize(
    "enemy_xy,health,reward", [((1.0, 2.0), 0.96, 0.008), ((30.0, 30.0), 1.0, 0.0)]
)
def test_attack_actions(enemy_xy, health, reward):
    """In range, both fire twice in 0.5 s (cooldown 0.2 s +- a tick): 1 - 2 x 0.02 health each, reward
    0.04 / 5 enemies; out of range nothing happens."""
    state = placed(STATE_D, {0: (1.0, 1.0), 5: enemy_xy})
    acts = random_actions(ENV_D, jax.random.key(1))
    acts["ally_0"], acts["enemy_0"] = 5, 9  # each targets the other
    _, new, rew, _, _ = STEP_D(jax.random.key(2), state, acts)
    assert float(new.unit_health[0]) == pytest.approx(health)
    assert float(new.unit_health[5]) == pytest.approx(health)
    assert float(rew["ally_0"]) == pytest.approx(reward, abs=1e-6)
    assert float(rew["enemy_0"]) == pytest.approx(reward, abs=1e-6)


@pytest.mark.parametrize("ally_hp,enemy_hp,loser,winner", [(1.0, 0.04, "enemy_0", "ally_0"), (0.04, 1.0, "ally_0", "enemy_0")])  # fmt: skip
def test_episode_end(ally_hp, enemy_hp, loser, winner):
    """One unit a side; the weaker dies after two hits: the episode ends, the winner gets 5 + 0.04 / 5."""
    alive = jnp.zeros((10,), bool).at[0].set(True).at[5].set(True)
    hp = jnp.zeros((10,)).at[0].set(ally_hp).at[5].set(enemy_hp)
    state = placed(STATE_D, {0: (1.0, 1.0), 5: (1.0, 2.0)}, unit_alive=alive, unit_health=hp)
    acts = random_actions(ENV_D, jax.random.key(1))
    acts["ally_0"], acts["enemy_0"] = 5, 9
    _, _, rew, dones, _ = STEP_D(jax.random.key(2), state, acts)
    assert bool(dones[loser]) and bool(dones["__all__"])
    assert float(rew[winner]) == pytest.approx(5.0 + 0.04 / 5, abs=1e-6)


def test_time_limit():
    state = STATE_D.replace(step=jnp.array(ENV_D.max_steps, jnp.int32))
    _, _, _, dones, _ = STEP_D(jax.random.key(2), state, random_actions(ENV_D, jax.random.key(1)))
    assert bool(dones["__all__"])


SECTOR_19 = np.array([1.0, 0.1375, 0.125, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])


def conic_slots(env, state, agent="ally_0"):
    return np.asarray(env.get_obs(state)[agent][: F * 64]).reshape(32, 2, F)


def test_conic_observation_of_a_placed_unit():
    """Unit 1 at (+0.55, +0.5) from unit 0: relative (0.1375, 0.125) in sight units, angle 0.738 rad,
    i.e. sector floor((0.738 + pi) / (2 pi / 32)) = 19, first slot; everything else is out of sight."""
    slots = conic_slots(ENV_O, placed(STATE_O, {0: (1.0, 1.0), 1: (1.55, 1.5)}))
    np.testing.assert_allclose(slots[19, 0], SECTOR_19, atol=1e-6)
    assert np.count_nonzero(slots) == np.count_nonzero(SECTOR_19)


def test_conic_at_most_two_units_per_sector():
    """Three units at the same spot: the two lowest indices fill sector 19; the third is not shown."""
    slots = conic_slots(ENV_O, placed(STATE_O, {0: (1.0, 1.0), 1: (1.55, 1.5), 2: (1.55, 1.5), 3: (1.55, 1.5)}))  # fmt: skip
    np.testing.assert_allclose(slots[19, 0], SECTOR_19, atol=1e-6)
    np.testing.assert_allclose(slots[19, 1], SECTOR_19, atol=1e-6)
    assert np.count_nonzero(slots) == 2 * np.count_nonzero(SECTOR_19)


# ------------------------------------------------------------------ beyond jaxmarl's own tests


def test_conic_compat_blind_spot_and_dead_units():
    """jaxmarl's conic view never shows unit 0 and does show dead units; ``compat=False`` fixes both."""
    state = placed(STATE_O, {0: (1.55, 1.5), 1: (1.0, 1.0), 2: (1.3, 1.6)})  # sectors 19 and 21
    state = state.replace(
        unit_alive=state.unit_alive.at[2].set(False), unit_health=state.unit_health.at[2].set(0.0)
    )
    fixed = SMAX(**TINY, observation_type="conic", compat=False)
    seen_compat = conic_slots(ENV_O, state, "ally_1")[..., 0]  # health column
    seen_fixed = conic_slots(fixed, state, "ally_1")[..., 0]
    assert np.count_nonzero(seen_compat) == 0  # unit 0 hidden; unit 2 shown with health 0 ...
    assert (
        np.count_nonzero(conic_slots(ENV_O, state, "ally_1")) > 0
    )  # ... but its other features show
    assert np.count_nonzero(seen_fixed) == 1  # unit 0 shown, dead unit 2 hidden
    assert np.count_nonzero(conic_slots(fixed, state, "ally_1")[..., 7]) == 1


def test_sizes_and_spaces_of_the_modes():
    for kw, obs, act in [
        (dict(observation_type="conic"), 13 * 64 + 10, None),
        (dict(action_type="continuous"), 13 * 9 + 10, (4,)),
        (dict(observation_type="conic", action_type="continuous"), 842, (4,)),
    ]:
        env = HeuristicEnemySMAX(scenario="2s3z", **kw)
        a = env.agents[0]
        assert env.observation_space(a).shape == (obs,) and env.obs_size == obs
        if act:
            assert env.action_space(a).shape == act
        o, s = env.reset(jax.random.key(0))
        assert o[a].shape == (obs,) and env.get_all_unit_obs(s).shape == (10, obs)


def test_short_stat_arrays_and_missing_types():
    env, state = battle()
    assert np.allclose(state.unit_health, 1.0)
    with pytest.raises(ValueError, match=r"unit_type_health has 1 entries.*\[2, 3\].*stalker"):
        SMAX(scenario="2s3z", unit_type_health=[1.0])
    with pytest.raises(ValueError, match="unit_type_attacks"):
        SMAX(scenario="smacv2_5_units", unit_type_attacks=[1.0, 2.0, 3.0])  # draws all six types
    with pytest.raises(ValueError, match="unit_type_radiuses must be a 1-D"):
        SMAX(scenario="3m", unit_type_radiuses=[])
    with pytest.raises(ValueError, match="observation_type must be one of"):
        SMAX(scenario="3m", observation_type="grid")
    with pytest.raises(ValueError, match="action_type must be one of"):
        SMAX(scenario="3m", action_type="box")
