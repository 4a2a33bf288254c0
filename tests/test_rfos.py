"""R-FOS: R-max's constants, its model and planner, the meta-MDP, and the learned meta-policy."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.shaping import rfos
from rlbook.shaping.rfos import RFOSConfig


@pytest.mark.parametrize(
    "h, eps, m, sweeps, episodes",
    [
        (1, 0.5, 644, 11, 20_608),
        (2, 0.5, 2_575, 11, 329_600),
        (2, 0.2, 16_094, 16, 2_060_032),
        (3, 0.2, 64_378, 16, 32_961_536),
        (4, 0.2, 257_510, 16, 527_380_480),
    ],
)
def test_constants_match_the_reference_table(h, eps, m, sweeps, episodes):
    c = RFOSConfig(h=h, epsilon=eps, delta=0.2, gamma=0.8)
    assert c.num_states == 4**h
    assert c.m == m  # the reference table's numbers, written out by hand
    assert c.sweeps == sweeps
    assert c.episodes == episodes == 8 * m * 4**h


def test_bound_and_theorem_m_against_hand_computed_values():
    # |S|^2 |A| ln(1/delta) / (eps^3 (1-gamma)^6) = 32 * 1.6094379 / (0.125 * 6.4e-5)
    assert rfos.pac_bound(4, 2, 0.5, 0.2, 0.8) == pytest.approx(6_437_751.7, rel=1e-6)
    # (|S| + ln(|S||A|/delta)) / (eps^2 (1-gamma)^4) = (4 + ln 40) / (0.25 * 0.0016)
    assert rfos.theorem_m(4, 2, 0.5, 0.2, 0.8) == pytest.approx(19_222.2, rel=1e-5)
    # at the book's constants the code's m is far below even the constant-free theorem's m
    for h in (1, 2, 3):
        c = RFOSConfig(h=h, epsilon=0.5)
        assert c.m < rfos.theorem_m(c.num_states, 2, 0.5, 0.2, 0.8) / 5


def test_bound_grows_like_states_squared():
    b1 = rfos.pac_bound(4, 2, 0.5, 0.2, 0.8)
    b2 = rfos.pac_bound(16, 2, 0.5, 0.2, 0.8)
    assert b2 / b1 == pytest.approx(16.0)
    assert rfos.pac_bound(4, 2, 0.25, 0.2, 0.8) / b1 == pytest.approx(8.0)
    assert rfos.meta_state_count(2, 1, 2, 5) == 5.0**4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"game": "chess"}, "game"),
        ({"h": 0}, "h"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": 1.0}, "epsilon"),
        ({"delta": 1.5}, "delta"),
        ({"gamma": 1.0}, "gamma"),
        ({"gamma": -0.1}, "gamma"),
        ({"meta_state": "policy"}, "meta_state"),
        ({"radius": 0.0}, "radius"),
        ({"num_envs": 0}, "num_envs"),
        ({"opp_greedy": 1.5}, "opp_greedy"),
    ],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RFOSConfig(**kwargs)


def test_bad_constants_raise():
    with pytest.raises(ValueError, match="epsilon"):
        rfos.known_threshold(4, 0.0, 0.2, 0.8)
    with pytest.raises(ValueError, match="gamma"):
        rfos.pac_bound(4, 2, 0.5, 0.2, 1.0)
    with pytest.raises(ValueError, match="preset"):
        RFOSConfig.preset("huge")


def _loop_observe(counts, rsum, trans, s, a, r, s2, m):
    counts, rsum, trans = counts.copy(), rsum.copy(), trans.copy()
    for si, ai, ri, s2i in zip(s, a, r, s2, strict=True):
        if counts[si, ai] < m:
            counts[si, ai] += 1
            rsum[si, ai] += ri
            trans[si, ai, s2i] += 1
    return counts, rsum, trans


def test_vectorised_observe_equals_a_loop():
    rng = np.random.default_rng(0)
    S, A, m = 5, 2, 7
    model = rfos.rmax_init(S, A, 1.0, 0.8)
    ref = (np.zeros((S, A)), np.zeros((S, A)), np.zeros((S, A, S)))
    for _ in range(4):  # several batches: pairs cross m inside a batch and stay frozen afterwards
        n = 30
        s, a, s2 = rng.integers(0, S, n), rng.integers(0, A, n), rng.integers(0, S, n)
        r = rng.random(n).astype(np.float32)
        model = rfos.rmax_observe(model, jnp.array(s), jnp.array(a), jnp.array(r), jnp.array(s2), m)
        ref = _loop_observe(*ref, s, a, r, s2, m)
    np.testing.assert_allclose(model.counts, ref[0])
    np.testing.assert_allclose(model.reward_sum, ref[1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.trans, ref[2])
    assert model.counts.max() == m


def _toy_model(m=1):
    """Deterministic 2-state MDP: in state 0, action 1 moves to state 1 (reward 0); in state 1 action 0
    pays 1 and stays; everything else pays 0 and goes to state 0. Optimal: (1, 0)."""
    S, A = 2, 2
    nxt = np.array([[0, 1], [1, 0]])
    rew = np.array([[0.0, 0.0], [1.0, 0.0]])
    return S, A, nxt, rew


def test_plan_on_a_fully_known_model_equals_value_iteration():
    S, A, nxt, rew = _toy_model()
    gamma, m = 0.8, 3
    model = rfos.rmax_init(S, A, 1.0, gamma)
    s = np.repeat(np.arange(S), A * m)
    a = np.tile(np.repeat(np.arange(A), m), S)
    model = rfos.rmax_observe(
        model,
        jnp.array(s),
        jnp.array(a),
        jnp.array(rew[s, a], jnp.float32),
        jnp.array(nxt[s, a]),
        m,
    )
    planned = rfos.rmax_plan(model, m, 1.0, gamma, sweeps=200)
    q = np.full((S, A), 1.0 / (1 - gamma))  # plain VI from the same start
    for _ in range(200):
        q = rew + gamma * q.max(1)[nxt]
    np.testing.assert_allclose(planned.q, q, rtol=1e-4)
    assert list(np.argmax(planned.q, 1)) == [1, 0]
    assert planned.q[1, 0] == pytest.approx(1 / (1 - gamma), rel=1e-4)


def test_unknown_pairs_keep_the_optimistic_value():
    model = rfos.rmax_init(3, 2, 1.0, 0.9)
    model = rfos.rmax_observe(
        model, jnp.array([0, 0]), jnp.array([1, 1]), jnp.array([0.2, 0.2]), jnp.array([1, 1]), 2
    )
    planned = rfos.rmax_plan(model, 2, 1.0, 0.9, sweeps=50)
    q0 = 1.0 / (1 - 0.9)
    assert planned.q[0, 1] < q0  # known: 0.2 + 0.9 * V(1), V(1) = Q0
    np.testing.assert_allclose(np.delete(np.asarray(planned.q).reshape(-1), 1), q0)
    np.testing.assert_allclose(planned.q[0, 1], 0.2 + 0.9 * q0, rtol=1e-5)
    masked = rfos.rmax_plan(model, 2, 1.0, 0.9, sweeps=50, mask_unknown_next=True)
    np.testing.assert_allclose(masked.q[0, 1], 0.2, rtol=1e-5)  # the reference's masked backup


def _observe_pairs(model, pairs, m):
    """Observe each (s, a, r, s2) in ``pairs`` m times."""
    s, a, r, s2 = (np.repeat(np.array(col), m) for col in zip(*pairs, strict=True))
    return rfos.rmax_observe(
        model, jnp.array(s), jnp.array(a), jnp.array(r, jnp.float32), jnp.array(s2), m
    )


def test_masked_backup_takes_the_max_over_known_actions_as_the_reference():
    """Two states, gamma 0.8, Q0 = 5. Known: (0, 0) pays 0.5 and goes to 1; (1, 0) pays 0.2 and stays
    in 1. Unknown: (0, 1) and (1, 1). By hand:
    - standard R-max: V(1) = Q0 = 5, so Q(1, 0) = 0.2 + 0.8 * 5 = 4.2 and Q(0, 0) = 0.5 + 4 = 4.5;
    - the reference's mask: V(1) = max over known actions = Q(1, 0) = 0.2 + 0.8 Q(1, 0), so
      Q(1, 0) = 1 and Q(0, 0) = 0.5 + 0.8 * 1 = 1.3 (setting V(1) = 0 instead would give 0.5 and 0.2)."""
    gamma, m = 0.8, 3
    model = _observe_pairs(rfos.rmax_init(2, 2, 1.0, gamma), [(0, 0, 0.5, 1), (1, 0, 0.2, 1)], m)
    standard = rfos.rmax_plan(model, m, 1.0, gamma, sweeps=200)
    np.testing.assert_allclose(standard.q, [[4.5, 5.0], [4.2, 5.0]], rtol=1e-5)
    masked = rfos.rmax_plan(model, m, 1.0, gamma, sweeps=200, mask_unknown_next=True)
    np.testing.assert_allclose(masked.q, [[1.3, 5.0], [1.0, 5.0]], rtol=1e-5)


def test_rmax_with_m1_solves_the_deterministic_toy_mdp():
    """Interact with the toy MDP through R-max (m = 1): it explores and then acts optimally."""
    S, A, nxt, rew = _toy_model()
    gamma = 0.8
    model = rfos.rmax_init(S, A, 1.0, gamma)
    s, key, total = 0, jax.random.key(0), []
    for _ in range(40):
        key, k = jax.random.split(key)
        a = int(rfos.select_action(k, model.q[s], 0.0))
        s2, r = int(nxt[s, a]), float(rew[s, a])
        model = rfos.rmax_observe(
            model, jnp.array([s]), jnp.array([a]), jnp.array([r]), jnp.array([s2]), 1
        )
        model = rfos.rmax_plan(model, 1, 1.0, gamma, sweeps=60)
        total.append(r)
        s = s2
    assert bool(jnp.all(model.counts >= 1))
    assert list(np.argmax(model.q, 1)) == [1, 0]
    assert sum(total[-10:]) == 10.0


def test_env_step_rules():
    c = RFOSConfig(h=2, opp_greedy=1.0)
    state = rfos.EnvState(jnp.array([3, 0]), jnp.array([0.9, 0.1]), jnp.array(0))
    # greedy opponent plays 0; the matcher plays 0: reward 1, opponent's Q(0) <- 0.25 * 0.9 + 0.75 * 0
    env, params = rfos.MetaMDP(), rfos.mdp_params(c)
    _, nxt, r, _, _, _ = env.step_env(jax.random.key(0), state, jnp.array(0), params)
    assert float(r) == 1.0
    np.testing.assert_allclose(nxt.opp_q, [0.225, 0.1], rtol=1e-6)
    assert list(np.asarray(nxt.hist)) == [0, 3] and int(nxt.t) == 1
    assert int(rfos.meta_state(nxt, c)) == 0 + 4 * 3
    _, nxt, r, _, _, _ = env.step_env(jax.random.key(0), state, jnp.array(1), params)
    assert float(r) == 0.0 and list(np.asarray(nxt.hist)) == [2, 3]
    np.testing.assert_allclose(nxt.opp_q, [0.25 * 0.9 + 0.75, 0.1], rtol=1e-6)
    # a meta-episode is episode_len inner rounds: truncated on the last one only, never terminated
    flags = []
    for t in range(c.episode_len):
        _, state, _, term, trunc, _ = env.step_env(jax.random.key(t), state, jnp.array(0), params)
        flags.append((bool(term), bool(trunc)))
    assert flags == [(False, False)] * (c.episode_len - 1) + [(False, True)]


def test_qtable_meta_state_is_the_rounded_grid_cell():
    c = RFOSConfig(meta_state="qtable", radius=0.25)
    assert c.num_states == 25
    state = rfos.EnvState(jnp.array([0]), jnp.array([0.76, 0.1]), jnp.array(0))
    assert int(rfos.meta_state(state, c)) == 3 * 5 + 0


def test_rewards_stay_in_bounds():
    c = RFOSConfig(num_envs=64, eval_envs=64)
    opp_q = jnp.full((64, 2), 0.5)
    (s, a, r, s2), _ = rfos.rollout(jax.random.key(1), jnp.zeros((4, 2)), opp_q, c)
    assert r.shape == (c.episode_len, 64)
    assert float(r.min()) >= 0.0 and float(r.max()) <= 1.0
    assert int(s.max()) < c.num_states and int(s2.max()) < c.num_states
    # a random memoryless policy earns 0.5 per step in expectation
    rnd = rfos.memoryless_reward(jax.random.key(2), dataclasses.replace(c, eval_envs=4096), 0.5)
    assert abs(float(rnd) - 0.5) < 0.02


@pytest.fixture(scope="module")
def h1_run():
    c = RFOSConfig.preset("book", h=1)
    return c, jax.jit(rfos.make_train(c))(jax.random.key(0))


def test_rfos_beats_every_memoryless_policy(h1_run):
    c, out = h1_run
    best, _ = rfos.best_memoryless_reward(jax.random.key(1), c)
    assert best < 0.53
    assert float(out.final_reward) > best + 0.15
    assert float(out.final_reward) < 0.95 + 0.01  # nothing beats 0.95 in expectation
    assert int(out.metrics.known[-1]) == c.num_states * c.num_actions


def test_training_is_deterministic(h1_run):
    c, out = h1_run
    again = jax.jit(rfos.make_train(c))(jax.random.key(0))
    np.testing.assert_array_equal(out.model.q, again.model.q)
    np.testing.assert_array_equal(out.metrics.reward, again.metrics.reward)


@pytest.mark.parametrize(
    "policy, value",
    [
        # round 1 pays 0.5 (the opponent's tie); after it, the WSLS-like opponent plays the opposite
        # of the agent's last action w.p. 0.95 whatever happened, so
        (None, (0.5 + 0.95) / 2),  # full information: match it
        ([1, 1, 0, 0], (0.5 + 0.95) / 2),  # "play the opposite of your last action" does
        ([0, 0, 1, 1], (0.5 + 0.05) / 2),  # "repeat your last action" is matched by the opponent
    ],
)
def test_exact_values_on_a_two_round_episode_by_hand(policy, value):
    c = RFOSConfig(h=1, episode_len=2)
    got = rfos.full_information_value(c) if policy is None else rfos.history_policy_value(policy, c)
    assert got == pytest.approx(value, abs=1e-12)


def test_exact_policy_value_matches_monte_carlo_and_the_bounds():
    c = RFOSConfig(h=2, eval_envs=8192)
    policy = np.array([1, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0])
    exact = rfos.history_policy_value(policy, c)
    q = jnp.where(jax.nn.one_hot(policy, 2) > 0, 1.0, 0.0)  # greedy in q plays ``policy``
    (_, _, r, _), _ = rfos.rollout(jax.random.key(3), q, jnp.full((8192, 2), 0.5), c)
    se = float(r.mean(0).std()) / np.sqrt(8192)
    assert abs(float(r.mean()) - exact) < 4 * se
    best_h1, pol = rfos.best_history_policy(RFOSConfig(h=1))
    lifted = rfos.history_policy_value(np.tile(pol, 4), c)  # h = 2 can express any h = 1 policy
    assert lifted == pytest.approx(best_h1, abs=1e-12)
    assert 0.5 < best_h1 < rfos.full_information_value(c) < 0.95
    with pytest.raises(ValueError, match="h=1"):
        rfos.best_history_policy(c)


def test_suboptimal_steps_counts_the_rounds_of_bad_batches():
    m = rfos.TrainMetrics(
        reward=jnp.array([0.5, 0.7, 0.79, 0.8]),
        known=jnp.zeros(4),
        episodes=jnp.array([10, 20, 30, 40]),
    )
    assert rfos.suboptimal_steps(m, reference=0.8, threshold=0.05, episode_len=10) == (200, 400)
    assert rfos.suboptimal_steps(m, reference=0.8, threshold=0.5, episode_len=10) == (0, 400)


def test_episodes_to_known_reads_the_first_full_batch():
    m = rfos.TrainMetrics(
        reward=jnp.zeros(4), known=jnp.array([2, 5, 8, 8]), episodes=jnp.array([10, 20, 30, 40])
    )
    assert rfos.episodes_to_known(m, 8) == 30
    assert rfos.episodes_to_known(m, 9) == -1


@pytest.mark.parametrize(
    "overrides",
    [
        {"meta_state": "qtable", "radius": 0.25},
        {"game": "pd", "h": 1},
        {"persist_opp_q": True, "mask_unknown_next": True, "boltzmann_temp": 0.25},
    ],
)
def test_other_meta_states_games_and_reference_flags_train(overrides):
    c = RFOSConfig(num_envs=128, num_episodes=1024, eval_envs=64, **overrides)
    out = jax.jit(rfos.make_train(c))(jax.random.key(0))
    known = np.asarray(out.metrics.known)
    assert np.all(np.diff(known) >= 0) and known[-1] <= c.num_states * c.num_actions
    reward = np.asarray(out.metrics.reward)
    assert np.all((reward >= 0.0) & (reward <= 1.0))
    assert 0.0 <= float(out.final_reward) <= 1.0
    assert out.policy.shape == (c.num_states,)
    assert int(np.asarray(out.model.counts).max()) <= c.m
