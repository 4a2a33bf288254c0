"""Unit tests of rlbook's SMAX mechanics and API (closed-form facts; no jaxmarl needed)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.envs.smax import SMAX, HeuristicEnemySMAX, Scenario, make_scenario
from rlbook.envs.smax.scenarios import JAXMARL_SCENARIOS

SIZES = {"3m": (75, 8, 72), "5m_vs_6m": (140, 11, 132), "27m_vs_30m": (738, 35, 684),
         "2s3z": (127, 10, 120), "3s5z_vs_3s6z": (218, 14, 204), "3s_vs_5z": (101, 10, 96),
         "6h_vs_8z": (179, 13, 168), "smacv2_5_units": (127, 10, 120)}  # fmt: skip

ENV = SMAX(scenario="3m")
PHYS = jax.jit(ENV.step_physics)
OBS = jax.jit(ENV.get_obs)
AVAIL = jax.jit(ENV.get_avail_actions)


def state_at(positions, **kw):
    _, s = ENV.reset(jax.random.key(0))
    s = s.replace(unit_positions=jnp.asarray(positions, jnp.float32))
    return s.replace(**{k: jnp.asarray(v, getattr(s, k).dtype) for k, v in kw.items()})


FAR = [[4, 16], [4, 20], [4, 24], [28, 16], [28, 20], [28, 24]]


def test_all_scenarios_and_sizes():
    assert len(JAXMARL_SCENARIOS) == 14
    for name in JAXMARL_SCENARIOS:
        env = HeuristicEnemySMAX(scenario=name)
        a = env.agents[0]
        obs, act = env.observation_space(a).shape[0], env.action_space(a).n
        assert obs == 13 * (env.num_units - 1) + 10 and act == 5 + env.num_enemies
        assert env.agents == [f"ally_{i}" for i in range(env.num_allies)]
        if name in SIZES:
            assert (obs, act, 12 * env.num_units) == SIZES[name]


def test_value_errors():
    with pytest.raises(ValueError, match="scenario must be one of"):
        make_scenario("8m_vs_9m")
    with pytest.raises(ValueError, match="unit_types"):
        Scenario((0, 0, 0), 2, 2)
    with pytest.raises(ValueError, match="unit_types must be in"):
        Scenario((0, 9), 1, 1)
    with pytest.raises(ValueError, match="num_allies"):
        Scenario((), 0, 0)
    with pytest.raises(ValueError, match="observation_type"):
        SMAX(scenario="3m", observation_type="conical")
    with pytest.raises(ValueError, match="action_type"):
        SMAX(scenario="3m", action_type="continous")
    with pytest.raises(ValueError, match="attack_mode"):
        HeuristicEnemySMAX(scenario="3m", attack_mode="weakest")


def test_move_stop_attack_displacement():
    s = state_at(FAR)
    new, _, _ = PHYS(jax.random.key(0), s, jnp.array([0, 1, 4, 5, 2, 3]))
    d = np.asarray(new.unit_positions - s.unit_positions)
    assert d[0] == pytest.approx([0, 1.575], abs=1e-5)  # north: 3.15 * 0.5 s
    assert d[1] == pytest.approx([1.575, 0], abs=1e-5)  # east
    assert np.allclose(d[2:4], 0)  # stop; attack (out of range) also means no movement
    assert d[4] == pytest.approx([0, -1.575], abs=1e-5) and d[5] == pytest.approx(
        [-1.575, 0], abs=1e-5
    )
    assert np.asarray(new.prev_attack_actions).tolist() == [0, 0, 0, 5, 0, 0]


def test_wall_death_pays_the_other_team():
    pos = [[0.5, 16], [4, 20], [4, 24], [28, 16], [28, 20], [28, 24]]
    new, r_ally, r_enemy = PHYS(jax.random.key(0), state_at(pos), jnp.array([3, 4, 4, 4, 4, 4]))
    assert not bool(new.unit_alive[0])
    assert float(r_enemy) == pytest.approx(1 / 3) and float(r_ally) == 0.0


def test_simultaneous_damage_and_draw():
    # two allies shoot enemy 0 (unit 3) in the same tick: 18 damage
    pos = [[10, 16], [10, 17], [4, 28], [13, 16], [28, 20], [28, 24]]
    s = state_at(pos)
    new, _, _ = PHYS(jax.random.key(0), s, jnp.array([5, 5, 4, 4, 4, 4]))
    hits = (45 - float(new.unit_health[3])) / 9
    assert (
        hits == int(hits) and hits >= 2 and int(hits) % 2 == 0
    )  # both shots land in the same ticks
    # mutual last-unit kill: a draw, no bonus for anyone
    alive = [True, False, False, True, False, False]
    health = [9, 0, 0, 9, 0, 0]
    s = state_at([[10, 16], [1, 1], [1, 2], [13, 16], [30, 30], [30, 31]], unit_alive=alive,
                 unit_health=health)  # fmt: skip
    new, r_a, r_e = PHYS(jax.random.key(0), s, jnp.array([5, 4, 4, 7, 4, 4]))
    assert not bool(new.unit_alive[0]) and not bool(new.unit_alive[3])
    assert float(r_a) == pytest.approx(1 / 15) and float(r_e) == pytest.approx(1 / 15)  # 9/45/3


def test_marine_hits_every_10_to_13_ticks():
    s = state_at([[10, 16], [4, 20], [4, 24], [13, 16], [28, 20], [28, 24]])
    s = s.replace(unit_health=s.unit_health.at[3].set(1e6))
    env1 = SMAX(scenario="3m", world_steps_per_env_step=1)
    step1 = jax.jit(env1.step_physics)
    hp, key = [], jax.random.key(1)
    for _ in range(80):
        key, k = jax.random.split(key)
        s, _, _ = step1(k, s, jnp.array([5, 4, 4, 4, 4, 4]))
        hp.append(float(s.unit_health[3]))
    hit_ticks = [t for t in range(1, 80) if hp[t] < hp[t - 1]]
    gaps = np.diff(hit_ticks)
    assert len(gaps) >= 4 and gaps.min() >= 10 and gaps.max() <= 13


def test_time_limit_gives_101_decisions_and_auto_reset():
    env = HeuristicEnemySMAX(scenario="3m", enemy_shoots=False)
    step = jax.jit(env.step)
    _, s = env.reset(jax.random.key(0))
    s = s.replace(state=s.state.replace(step=jnp.int32(99)))
    acts = {a: jnp.int32(4) for a in env.agents}
    s_pos = s
    _, s, _, d, info = step(jax.random.key(1), s, acts)
    assert not bool(d["__all__"]) and int(s.state.step) == 100
    obs, s, r, d, info = step(jax.random.key(2), s, acts)
    assert bool(d["__all__"]) and not bool(info["won"]) and int(s.state.step) == 0  # reset
    assert not np.allclose(s.state.unit_positions, s_pos.state.unit_positions)


def test_masks_and_observation_order():
    pos = [[10, 16], [10, 20], [4, 28], [13, 16], [28, 20], [14.5, 20]]
    s = state_at(pos, unit_alive=[True, True, True, True, False, True],
                 unit_health=[45, 45, 45, 45, 0, 45])  # fmt: skip
    m = AVAIL(s)
    assert np.asarray(m["ally_0"]).tolist() == [1, 1, 1, 1, 1, 1, 0, 0]  # enemy_0 at 3 < 5
    assert np.asarray(m["ally_1"]).tolist() == [1, 1, 1, 1, 1, 0, 0, 1]  # enemy_2 at 4.5
    # enemy_0 (unit 3): attack 5+k targets ally A-1-k -> ally_0 (dist 3) is action 7; ally_1 at 5 is not < 5
    assert np.asarray(m["enemy_0"]).tolist() == [1, 1, 1, 1, 1, 0, 0, 1]
    assert np.asarray(m["enemy_1"]).tolist() == [0, 0, 0, 0, 1, 0, 0, 0]  # dead: stop only
    o = OBS(s)
    a0 = np.asarray(o["ally_0"]).reshape(-1)
    blocks = a0[:65].reshape(5, 13)
    # ally_0 sees unit 1 (dy = 4/9), unit 2 out of sight (dist > 9), unit 3 (dx = 3/9), dead 4, unit 5
    assert blocks[0, 1:3] == pytest.approx([0, 4 / 9]) and np.all(blocks[1] == 0)
    assert blocks[2, 1:3] == pytest.approx([3 / 9, 0]) and np.all(blocks[3] == 0)
    e0 = np.asarray(o["enemy_0"])[:65].reshape(5, 13)  # order: units 5, 4, 2, 1, 0
    assert e0[0, 1:3] == pytest.approx([1.5 / 9, 4 / 9]) and np.all(e0[1] == 0)
    assert e0[4, 1:3] == pytest.approx([-3 / 9, 0])
    assert np.all(np.asarray(o["enemy_1"]) == 0)  # a dead observer sees nothing
    ws = np.asarray(o["world_state"]).reshape(-1)
    assert ws.shape == (72,) and ws[1:3].tolist() == [10, 16] and ws[4] == 1  # raw x, y, marine bit
    assert ws[60:66].tolist() == [0, 0, 0, 1, 1, 1] and np.all(ws[40:50] == 0)  # teams; dead unit 4


def test_determinism_vmap_and_bounds():
    env = HeuristicEnemySMAX(scenario="3m")

    def roll(key):
        _, s = env.reset(key)

        def body(s, k):
            acts = {a: jnp.int32(4) for a in env.agents}
            o, s, r, d, _ = env.step(k, s, acts)
            return s, (o["ally_0"], r["ally_0"])

        return jax.lax.scan(body, s, jax.random.split(key, 40))[1]

    f = jax.jit(jax.vmap(roll))
    keys = jax.random.split(jax.random.key(0), 3)
    a, b = f(keys), f(keys)
    one = jax.jit(roll)(keys[1])
    assert np.array_equal(a[0], b[0]) and np.allclose(a[0][1], one[0])
    assert np.all(np.abs(np.asarray(a[0])) <= 1) and np.all((a[1] >= 0) & (a[1] <= 2))
