"""Differential test: rlbook's SMAX against jaxmarl 0.2.0 (skipped when jaxmarl is not installed).

Teacher-forced: at every step jaxmarl's state is converted to ours and both packages take the same step
(same key, same random legal actions) inside one jitted ``scan(vmap(...))``; observations (and
``world_state``), avail masks, rewards, dones and the next states must agree (discrete fields exactly,
floats to 1e-5). Auto-resets happen inside the rollouts, so resets are compared too.

Coverage (scenario x envs x steps, per run): 3m SMAX (both teams random) 8x120, 2s3z heuristic enemy
8x100, 5m_vs_6m heuristic enemy 8x100, smacv2_5_units SMAX 4x40 (random positions and unit types):
3,520 teacher-forced steps. (A longer manual run, 300 steps x 6 maps x both envs, also matched exactly.)
Spawn statistics (pure reset distribution) are checked separately over 512 keys.

The other modes (``MODE_CASES``), same protocol; continuous actions are uniform in [0, 1]^4 with a tenth of
the entries snapped to 0 and a tenth to 1 (the draws' log(0) edge cases):
conic (discrete actions): 3m SMAX 4x60, 2s3z heuristic 4x60, smacv2_5_units SMAX 4x40;
continuous (unit-list obs): 3m SMAX 4x60, 5m_vs_6m heuristic 4x60;
conic + continuous: 2s3z SMAX 4x60, 3m heuristic 4x60, smacv2_5_units heuristic 4x40.
That is 1,760 teacher-forced steps over 8 (mode, scenario) pairs (the default run keeps conic 3m and
continuous 3m, 480 steps; the others are ``slow``: they are compile-bound). The conic view is also compared on
random crowded states (every unit inside a 6 x 6 square, random deaths; 3 maps x 128 states), where
sectors overflow and units die in sight.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

jaxmarl_smax = pytest.importorskip("jaxmarl.environments.smax")

from rlbook.envs.smax import (  # noqa: E402
    SMAX,
    HeuristicEnemySMAX,
    HeuristicPolicyState,
    HeuristicState,
    State,
)

CASES = [
    ("3m", False, 8, 120),
    ("2s3z", True, 8, 100),
    ("5m_vs_6m", True, 8, 100),
    ("smacv2_5_units", False, 4, 40),
]


def to_ours(js):
    if hasattr(js, "enemy_policy_state"):
        ps = js.enemy_policy_state
        return HeuristicState(
            state=to_ours(js.state),
            enemy_policy_state=HeuristicPolicyState(
                ps.default_target, jnp.asarray(ps.last_attacked_enemy, jnp.int32)
            ),
        )
    return State(**{k: getattr(js, k) for k in State.__dataclass_fields__})


SLOW = pytest.mark.slow  # compile-bound (jaxmarl's conic and continuous code compiles for a minute)
MODE_CASES = [
    ("conic", "discrete", "3m", False, 4, 60),
    pytest.param("conic", "discrete", "2s3z", True, 4, 60, marks=SLOW),
    pytest.param("conic", "discrete", "smacv2_5_units", False, 4, 40, marks=SLOW),
    ("unit_list", "continuous", "3m", False, 4, 60),
    pytest.param("unit_list", "continuous", "5m_vs_6m", True, 4, 60, marks=SLOW),
    pytest.param("conic", "continuous", "2s3z", False, 4, 60, marks=SLOW),
    pytest.param("conic", "continuous", "3m", True, 4, 60, marks=SLOW),
    pytest.param("conic", "continuous", "smacv2_5_units", True, 4, 40, marks=SLOW),
]


def make_pair(name, heuristic, **modes):
    sc = jaxmarl_smax.map_name_to_scenario(name)
    if heuristic:
        return (
            jaxmarl_smax.HeuristicEnemySMAX(scenario=sc, **modes),
            HeuristicEnemySMAX(scenario=name, **modes),
        )
    return jaxmarl_smax.SMAX(scenario=sc, **modes), SMAX(scenario=name, **modes)


def random_actions(env, key, avail):
    """Random legal discrete actions, or continuous ones with a fifth of the entries at exactly 0 or 1."""
    keys = jax.random.split(key, len(env.agents))
    if env.action_type == "continuous":
        out = {}
        for i, a in enumerate(env.agents):
            k1, k2 = jax.random.split(keys[i])
            u, snap = jax.random.uniform(k1, (4,)), jax.random.uniform(k2, (4,))
            out[a] = jnp.where(snap < 0.1, 0.0, jnp.where(snap > 0.9, 1.0, u))
        return out
    return {
        a: jax.random.categorical(keys[i], jnp.log(avail[a].astype(jnp.float32)))
        for i, a in enumerate(env.agents)
    }


def rollout(je, oe, key, num_envs, steps):

    def one_env(key):
        key, k0 = jax.random.split(key)
        jo, js = je.reset(k0)
        oo, os_ = oe.reset(k0)
        first = (jo, oo, to_ours(js), os_)

        def body(js, key):
            ka, ks = jax.random.split(key)
            jav = je.get_avail_actions(js)
            oav = oe.get_avail_actions(to_ours(js))
            acts = random_actions(oe, ka, jav)
            jo, js2, jr, jd, _ = je.step(ks, js, acts)
            oo, os2, orr, od, _ = oe.step(ks, to_ours(js), acts)
            out = dict(
                j_avail=jav, o_avail=oav, j_obs=jo, o_obs=oo, j_rew=jr, o_rew=orr,
                j_done=jd, o_done=od, j_state=to_ours(js2), o_state=os2,
            )  # fmt: skip
            return js2, out

        _, outs = jax.lax.scan(body, js, jax.random.split(key, steps))
        return first, outs

    return jax.jit(jax.vmap(one_env))(jax.random.split(key, num_envs))


def assert_tree_close(a, b, what):
    for (path, x), y in zip(
        jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves(b), strict=True
    ):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, (what, path)
        if np.issubdtype(x.dtype, np.floating):
            bad = ~np.isclose(x, y, rtol=1e-5, atol=1e-5)
            assert not bad.any(), f"{what}{jax.tree_util.keystr(path)}: {bad.sum()} mismatches"
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"{what}{jax.tree_util.keystr(path)}")


@pytest.mark.parametrize("name,heuristic,num_envs,steps", CASES)
def test_teacher_forced_equal(name, heuristic, num_envs, steps):
    je, oe = make_pair(name, heuristic)
    assert je.agents == oe.agents
    first, outs = rollout(je, oe, jax.random.key(7), num_envs, steps)
    jo, oo, js, os_ = first
    assert_tree_close(jo, oo, "reset obs")
    assert_tree_close(js, os_, "reset state")
    for k in ("avail", "obs", "rew", "done", "state"):
        assert_tree_close(outs[f"j_{k}"], outs[f"o_{k}"], k)
    # the rollouts did cross episode ends (auto-reset is exercised)
    if steps >= 100:
        assert int(np.asarray(outs["j_done"]["__all__"]).sum()) >= 1


def test_sizes_match_jaxmarl_every_scenario():
    for name in jaxmarl_smax.smax_env.MAP_NAME_TO_SCENARIO:
        if name not in (
            "3m", "8m", "25m", "5m_vs_6m", "10m_vs_11m", "27m_vs_30m", "2s3z", "3s5z",
            "3s5z_vs_3s6z", "3s_vs_5z", "6h_vs_8z", "smacv2_5_units", "smacv2_10_units",
            "smacv2_20_units",
        ):  # fmt: skip
            continue  # scenarios registered by other tests
        je, oe = make_pair(name, True)
        a = je.agents[0]
        assert oe.observation_space(a).shape == je.observation_space(a).shape
        assert oe.action_space(a).n == je.action_space(a).n
        assert oe.state_size == je.state_size == 12 * oe.num_units


def test_spawn_statistics_default_map():
    """Same reset distribution as jaxmarl on different keys (means and spreads of the start positions)."""
    je, oe = make_pair("3m", False)
    kj, ko = jax.random.split(jax.random.key(3))
    pj = jax.vmap(lambda k: je.reset(k)[1].unit_positions)(jax.random.split(kj, 512))
    po = jax.vmap(lambda k: oe.reset(k)[1].unit_positions)(jax.random.split(ko, 512))
    pj, po = np.asarray(pj), np.asarray(po)
    se = pj.std(axis=0) / np.sqrt(512)
    assert np.all(np.abs(pj.mean(0) - po.mean(0)) < 4 * np.sqrt(2) * se + 1e-6)
    assert np.allclose(pj.std(0), po.std(0), rtol=0.15)


@pytest.mark.parametrize("obs_type,act_type,name,heuristic,num_envs,steps", MODE_CASES)
def test_teacher_forced_equal_modes(obs_type, act_type, name, heuristic, num_envs, steps):
    je, oe = make_pair(name, heuristic, observation_type=obs_type, action_type=act_type)
    a = je.agents[0]
    assert oe.observation_space(a).shape == je.observation_space(a).shape
    assert oe.action_space(a).shape == je.action_space(a).shape
    first, outs = rollout(je, oe, jax.random.key(11), num_envs, steps)
    jo, oo, js, os_ = first
    assert_tree_close(jo, oo, "reset obs")
    assert_tree_close(js, os_, "reset state")
    for k in ("avail", "obs", "rew", "done", "state"):
        assert_tree_close(outs[f"j_{k}"], outs[f"o_{k}"], k)
    # the actions did something: units moved, attacks were decoded, health was lost
    st = outs["o_state"].state if heuristic else outs["o_state"]
    assert np.abs(np.diff(np.asarray(st.unit_positions), axis=1)).max() > 0.1
    assert (np.asarray(st.prev_attack_actions) >= 5).any()
    assert (
        np.asarray(st.unit_health)
        < np.asarray(js.unit_health if not heuristic else js.state.unit_health)[:, None]
    ).any()


@pytest.mark.parametrize(
    "name", ["3m", pytest.param("2s3z", marks=SLOW), pytest.param("5m_vs_6m", marks=SLOW)]
)
def test_conic_obs_on_crowded_states(name):
    """Every unit in a 6 x 6 square (sectors overflow, units on both sides), random deaths and actions."""
    je, oe = make_pair(name, False, observation_type="conic")
    _, s0 = oe.reset(jax.random.key(0))
    n = oe.num_units

    def one(key):
        kp, ka, kh, km, kt = jax.random.split(key, 5)
        alive = jax.random.uniform(ka, (n,)) > 0.2
        s = s0.replace(
            unit_positions=13.0 + 6.0 * jax.random.uniform(kp, (n, 2)),
            unit_alive=alive,
            unit_health=jnp.where(alive, s0.unit_health * jax.random.uniform(kh, (n,)), 0.0),
            prev_movement_actions=jax.random.normal(km, (n, 2)),
            prev_attack_actions=jax.random.randint(kt, (n,), 0, 5 + n // 2),
        )
        return je.get_obs(s), oe.get_obs(s)

    jo, oo = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(5), 128))
    assert_tree_close(jo, {a: oo[a] for a in jo}, "conic obs")
    filled = np.asarray(oo[oe.agents[1]][:, : 13 * 64]).reshape(128, 32, 2, 13)[..., 0] > 0
    assert filled[:, :, 1].any()  # some sectors hold two units
