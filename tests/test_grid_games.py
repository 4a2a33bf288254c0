"""Rules of CoinGame and IPD-in-the-Matrix, case by case, and differential tests against jaxmarl."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.games import coin_game as cg
from rlbook.games import ipditm as itm

# ----------------------------------------------------------------------------- CoinGame


def cg_state(red, blue, rc, bc, t=0):
    a = lambda x: jnp.asarray(x, jnp.int32)  # noqa: E731
    return cg.CoinGameState(a(red), a(blue), a(rc), a(bc), jnp.int32(t))


P = cg.default_params()


@pytest.mark.parametrize(
    "red,blue,rc,bc,action,expected",
    [
        ([0, 0], [2, 2], [0, 1], [1, 1], [0, 4], [1, 0]),  # red takes its own coin
        ([0, 0], [2, 2], [1, 1], [0, 1], [0, 4], [1, -2]),  # red takes blue's coin
        ([0, 0], [2, 2], [1, 1], [2, 0], [4, 0], [-0.0, 1]),  # blue takes its own (torus wrap)
        ([0, 0], [2, 2], [2, 0], [1, 1], [4, 0], [-2, 1]),  # blue takes red's coin (wrap)
        ([0, 0], [0, 2], [0, 1], [2, 2], [0, 1], [1, 1]),  # both step on red's coin: +1 -2 +1
    ],
)
def test_coin_game_payoffs(red, blue, rc, bc, action, expected):
    _, _, r, _, _, _ = cg.step(jax.random.key(0), cg_state(red, blue, rc, bc), jnp.array(action), P)
    if action == [0, 1]:  # both on the red coin: red +1 own, -2 taken; blue +1
        expected = [1 - 2, 1]
    np.testing.assert_allclose(r, expected)


def test_coin_game_moves_wrap_and_respawn():
    s = cg_state([0, 2], [1, 1], [2, 2], [2, 0])
    _, s2, r, _, _, _ = cg.step(jax.random.key(1), s, jnp.array([0, 3]), P)
    np.testing.assert_array_equal(s2.red_pos, [0, 0])  # right from col 2 wraps to 0
    np.testing.assert_array_equal(s2.blue_pos, [0, 1])  # down = row - 1
    np.testing.assert_array_equal(r, [0, 0])
    np.testing.assert_array_equal(s2.red_coin, [2, 2])  # untouched coins stay
    # a picked coin moves to the key's fresh position
    s = cg_state([0, 0], [2, 2], [0, 1], [1, 1])
    _, s3, _, _, _, info = cg.step(jax.random.key(2), s, jnp.array([0, 4]), P)
    fresh = jax.random.randint(jax.random.split(jax.random.key(2))[1], (2, 2), 0, 3)
    np.testing.assert_array_equal(s3.red_coin, fresh[0])
    np.testing.assert_array_equal(info["pickups"], [1, 0, 0, 0])


def test_coin_game_egocentric_symmetry():
    s = cg_state([0, 0], [2, 1], [1, 2], [0, 2])
    swapped = cg_state([2, 1], [0, 0], [0, 2], [1, 2])
    o = cg.observation(s, P)
    o_sw = cg.observation(swapped, P)
    np.testing.assert_array_equal(o[0], o_sw[1])
    np.testing.assert_array_equal(o[1], o_sw[0])
    grid = o[0].reshape(3, 3, 4)
    assert grid[1, 1, 0] == 1 and grid[..., 1].sum() == 1 and grid.sum() == 4


def test_coin_game_episode_truncates_and_resets():
    p = cg.default_params(num_steps=3)
    _, s = cg.reset(jax.random.key(0), p)
    for t in range(3):
        _, s, _, _, trunc, _ = cg.step(jax.random.key(t + 10), s, jnp.array([4, 4]), p)
    assert bool(trunc) and int(s.t) == 0


def test_coin_game_vmap_and_jit():
    keys = jax.random.split(jax.random.key(0), 8)
    obs, s = jax.vmap(cg.reset, (0, None))(keys, P)
    assert obs.shape == (8, 2, 36)
    f = jax.jit(jax.vmap(cg.step, (0, 0, 0, None)))
    obs2, _, r, _, _, _ = f(keys, s, jnp.zeros((8, 2), jnp.int32), P)
    assert obs2.shape == (8, 2, 36) and r.shape == (8, 2)


def test_coin_game_matches_jaxmarl():
    jm = pytest.importorskip("jaxmarl.environments.coin_game.coin_game")
    env = jm.CoinGame(num_inner_steps=50, num_outer_steps=2, egocentric=True)
    rng = np.random.default_rng(0)
    for trial in range(40):
        pos = rng.integers(0, 3, (4, 2))
        act = rng.integers(0, 5, 2)
        key = jax.random.key(trial)
        _, js = env.reset(jax.random.key(99))
        js = js.replace(
            red_pos=jnp.asarray(pos[0]),
            blue_pos=jnp.asarray(pos[1]),
            red_coin_pos=jnp.asarray(pos[2]),
            blue_coin_pos=jnp.asarray(pos[3]),
        )
        jobs, js2, jr, _, _ = env.step_env(key, js, {"0": act[0], "1": act[1]})
        obs, s2, r, _, _, _ = cg.step(key, cg_state(*pos), jnp.asarray(act), P)
        np.testing.assert_allclose(r, [jr["0"], jr["1"]])
        np.testing.assert_array_equal(obs[0], jobs["0"])
        np.testing.assert_array_equal(obs[1], jobs["1"])
        for a, b in [(s2.red_pos, js2.red_pos), (s2.red_coin, js2.red_coin_pos)]:
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(s2.blue_coin, js2.blue_coin_pos)


def test_coin_game_bad_input():
    with pytest.raises(ValueError, match="size"):
        cg.default_params(size=1)
    with pytest.raises(ValueError, match="num_steps"):
        cg.default_params(num_steps=0)
    with pytest.raises(ValueError, match="payoff"):
        cg.default_params(payoff=[[1, 1], [1, 1]])
    with pytest.raises(ValueError, match="action"):
        cg.check_action([0, 5])
    with pytest.raises(ValueError, match="action"):
        cg.check_action([0.5, 1.0])
    cg.check_action([4, 0])


def test_coin_game_render():
    _, s = cg.reset(jax.random.key(0), P)
    img = cg.render(s, P)
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8


# ----------------------------------------------------------------------------- IPD-in-the-Matrix

Q = itm.default_params(size=5, num_coins=2, num_steps=50)


def itm_state(pos, d, coins=None, alive=None, inv=((0, 0), (0, 0)), freeze=-1):
    if coins is None:
        coins = [[[4, 4], [4, 3]], [[0, 4], [0, 3]]]
    coins = jnp.asarray(coins, jnp.int32)
    if alive is None:
        alive = jnp.ones(coins.shape[:2], bool)
    return itm.IPDitMState(
        pos=jnp.asarray(pos, jnp.int32),
        dir=jnp.asarray(d, jnp.int32),
        coins=coins,
        alive=jnp.asarray(alive),
        inv=jnp.asarray(inv, jnp.float32),
        freeze=jnp.int32(freeze),
        t=jnp.int32(0),
    )


def step(s, a, key=0, params=Q):
    return itm.step(jax.random.key(key), s, jnp.asarray(a), params)


def test_itm_turns_moves_and_walls():
    s = itm_state([[2, 2], [0, 0]], [0, 3])
    _, s2, *_ = step(s, [itm.FORWARD, itm.FORWARD])
    np.testing.assert_array_equal(s2.pos, [[1, 2], [0, 0]])  # up; the other hits the wall
    _, s3, *_ = step(s, [itm.LEFT, itm.RIGHT])
    np.testing.assert_array_equal(s3.dir, [3, 0])
    np.testing.assert_array_equal(s3.pos, s.pos)


def test_itm_collision_rules():
    # player 1 walks into standing player 2: goes back
    s = itm_state([[2, 2], [1, 2]], [0, 0])
    _, s2, *_ = step(s, [itm.FORWARD, itm.STAY])
    np.testing.assert_array_equal(s2.pos, s.pos)
    # both walk into the same cell: exactly one gets it
    s = itm_state([[2, 1], [2, 3]], [1, 3])
    winners = set()
    for k in range(20):
        _, s2, *_ = step(s, [itm.FORWARD, itm.FORWARD], key=k)
        at = [tuple(np.asarray(p)) == (2, 2) for p in s2.pos]
        assert sum(at) == 1
        winners.add(at.index(True))
    assert winners == {0, 1}


def test_itm_coin_pickup():
    s = itm_state([[3, 4], [1, 3]], [2, 0])
    _, s2, r, *_ = step(s, [itm.FORWARD, itm.FORWARD])
    np.testing.assert_array_equal(s2.inv, [[1, 0], [0, 1]])
    np.testing.assert_array_equal(s2.alive, [[False, True], [True, False]])
    np.testing.assert_array_equal(r, [0, 0])


@pytest.mark.parametrize(
    "inv,expected",
    [
        (((1, 0), (1, 0)), (3, 3)),  # C vs C
        (((0, 1), (1, 0)), (5, 0)),  # D vs C
        (((1, 0), (0, 1)), (0, 5)),  # C vs D
        (((0, 2), (0, 1)), (1, 1)),  # D vs D
        (((1, 1), (3, 1)), None),  # mixed: checked against the formula
    ],
)
def test_itm_interaction_payoff_and_freeze(inv, expected):
    s = itm_state([[2, 2], [1, 2]], [0, 2], inv=inv)
    _, s2, r, _, _, info = step(s, [itm.INTERACT, itm.STAY])
    assert bool(info["interact"])
    u1 = np.asarray(inv[0], float) / np.sum(inv[0])
    u2 = np.asarray(inv[1], float) / np.sum(inv[1])
    A = np.asarray(itm.IPD_PAYOFF)
    ref = [u1 @ A[0] @ u2, u1 @ A[1] @ u2]
    np.testing.assert_allclose(r, ref, rtol=1e-6)
    if expected is not None:
        np.testing.assert_allclose(r, expected)
    assert int(s2.freeze) == Q.freeze_steps


def test_itm_no_interaction_without_coins_or_out_of_zone():
    s = itm_state([[2, 2], [1, 2]], [0, 2], inv=((1, 0), (0, 0)))
    _, _, r, _, _, info = step(s, [itm.INTERACT, itm.STAY])
    assert not bool(info["interact"]) and np.all(np.asarray(r) == 0)
    s = itm_state([[2, 2], [3, 2]], [0, 0], inv=((1, 0), (1, 0)))  # other is behind
    _, _, _, _, _, info = step(s, [itm.INTERACT, itm.STAY])
    assert not bool(info["interact"])
    for other in ([0, 2], [1, 1], [1, 3]):  # two ahead, ahead-left, ahead-right
        s = itm_state([[2, 2], other], [0, 0], inv=((1, 0), (1, 0)))
        _, _, _, _, _, info = step(s, [itm.INTERACT, itm.STAY])
        assert bool(info["interact"]), other


def test_itm_freeze_time_then_round_restart():
    s = itm_state(
        [[2, 2], [1, 2]], [0, 2], inv=((1, 0), (1, 0)), alive=[[False, True], [False, True]]
    )
    _, s, r, _, _, _ = step(s, [itm.INTERACT, itm.STAY])
    frozen_pos = np.asarray(s.pos)
    for k in range(Q.freeze_steps - 1):
        _, s, r, _, _, _ = step(s, [itm.FORWARD, itm.INTERACT], key=k + 1)
        np.testing.assert_array_equal(s.pos, frozen_pos)  # frozen agents ignore their actions
        np.testing.assert_array_equal(r, [0, 0])
        assert int(s.freeze) == Q.freeze_steps - 1 - k
    _, s, *_ = step(s, [itm.STAY, itm.STAY], key=50)
    assert int(s.freeze) == -1
    np.testing.assert_array_equal(s.inv, 0)
    assert bool(jnp.all(s.alive))  # every coin is back


def test_itm_freeze_matches_jaxmarl_counter():
    """jaxmarl's storm_2p: after an interaction the agents are frozen for ``freeze_penalty`` steps."""
    storm = pytest.importorskip("jaxmarl.environments.storm.storm_2p")
    env = storm.InTheGrid_2p(num_inner_steps=152, num_outer_steps=1)
    _, js = env.reset(jax.random.key(0))
    # place blue right ahead of red (red faces up = STEP[0] = +y) and give both a coin
    red = jnp.array([3, 3, 0], jnp.int8)
    blue = jnp.array([3, 4, 2], jnp.int8)
    grid = jnp.where(js.grid >= 1, jnp.where(js.grid <= 2, 0, js.grid), js.grid).astype(jnp.int8)
    grid = grid.at[3, 3].set(1).at[3, 4].set(2)
    js = js.replace(
        red_pos=red,
        blue_pos=blue,
        grid=grid,
        red_inventory=jnp.array([1.0, 0.0]),
        blue_inventory=jnp.array([0.0, 1.0]),
    )
    _, js, (jr, jb), _, _ = env.step_env(jax.random.key(1), js, (3, 4))
    np.testing.assert_allclose([jr, jb], [0.0, 5.0])  # C vs D, same as ours
    s = itm_state([[2, 2], [1, 2]], [0, 2], inv=((1, 0), (0, 1)))
    _, s, r, *_ = step(s, [itm.INTERACT, itm.STAY])
    np.testing.assert_allclose(r, [jr, jb])
    n_frozen_jm, n_frozen = 0, 0
    for k in range(8):
        n_frozen_jm += int(js.freeze > 0)
        n_frozen += int(s.freeze > 0)
        _, js, *_ = env.step_env(jax.random.key(10 + k), js, (2, 2))
        _, s, *_ = step(s, [itm.STAY, itm.STAY], key=10 + k)
    assert n_frozen == n_frozen_jm == 5


def test_itm_observation_egocentric():
    s = itm_state([[2, 2], [1, 2]], [0, 2])
    o = itm.observation(s, Q)
    assert o.shape == (2, Q.obs_dim)
    v = Q.view
    w1 = o[0, : v * v * 5].reshape(v, v, 5)
    w2 = o[1, : v * v * 5].reshape(v, v, 5)
    assert w1[v - 1, v // 2, 0] == 1 and w2[v - 1, v // 2, 0] == 1  # me at the bottom centre
    assert w1[v - 2, v // 2, 1] == 1 and w2[v - 2, v // 2, 1] == 1  # the other right ahead (facing)
    # walls: p1 at row 2 facing up sees 2 rows of grid ahead then wall at window row 0
    assert w1[0, :, 4].sum() == v


def test_itm_reset_vmap_jit_render():
    keys = jax.random.split(jax.random.key(0), 4)
    obs, s = jax.vmap(itm.reset, (0, None))(keys, Q)
    assert obs.shape == (4, 2, Q.obs_dim)
    occupied = [tuple(c) for c in np.asarray(s.coins[0]).reshape(-1, 2)]
    assert len(set(occupied)) == 2 * Q.num_coins
    assert tuple(np.asarray(s.pos[0, 0])) not in occupied
    f = jax.jit(jax.vmap(itm.step, (0, 0, 0, None)))
    f(keys, s, jnp.zeros((4, 2), jnp.int32), Q)
    _, s1 = itm.reset(jax.random.key(0), Q)
    img = itm.render(s1, Q)
    assert img.shape == (60, 60, 3) and img.dtype == np.uint8


def test_itm_bad_input():
    for kw, name in [
        ({"game": "chess"}, "game"),
        ({"size": 2}, "size"),
        ({"view": 4}, "view"),
        ({"num_coins": 40, "size": 5}, "num_coins"),
        ({"freeze_steps": 0}, "freeze_steps"),
        ({"num_steps": 0}, "num_steps"),
    ]:
        with pytest.raises(ValueError, match=name):
            itm.default_params(**kw)
    with pytest.raises(ValueError, match="action"):
        itm.check_action([0, 7])
