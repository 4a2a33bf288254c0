"""Differential tests: the games and opponent-shaping cores give the numbers they gave before the
env-protocol / config refactor, on fixed keys. The references were produced by running
``tests/reference/record_922f2f9.py`` on commit 922f2f9 (see its docstring); nothing here is typed in."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rlbook.games import coin_game, ipditm, iterated

REF = np.load(Path(__file__).parent / "reference" / "shaping_922f2f9.npz")
# compile-heavy cases are marked slow (deselect with -m "not slow"); one case per core stays quick
slow = pytest.mark.slow


def env_trajectory(reset, step, params, num_actions, steps, seed):
    """The recorder's random-action trajectory (same keys, same order)."""

    def body(carry, k):
        obs, state = carry
        ka, ks = jax.random.split(k)
        a = jax.random.randint(ka, (2,), 0, num_actions)
        obs, state, r, term, trunc, _ = step(ks, state, a, params)
        return (obs, state), (obs, r, trunc)

    k0, k1 = jax.random.split(jax.random.key(seed))
    obs, state = reset(k0, params)
    _, (o, r, tr) = jax.lax.scan(body, (obs, state), jax.random.split(k1, steps))
    return o, r, tr


@pytest.mark.parametrize(
    "name, module, params, num_actions, steps, seed",
    [
        ("iterated", iterated, lambda: iterated.default_params("ipd", 5), 2, 12, 0),
        ("coin", coin_game, lambda: coin_game.default_params(size=3, num_steps=7), 5, 30, 1),
        (
            "ipditm",
            ipditm,
            lambda: ipditm.default_params(size=5, view=3, num_coins=2, freeze_steps=2, num_steps=9),
            5,
            40,
            2,
        ),
    ],
)
def test_env_trajectories_unchanged(name, module, params, num_actions, steps, seed):
    o, r, tr = env_trajectory(module.reset, module.step, params(), num_actions, steps, seed)
    np.testing.assert_array_equal(np.asarray(o), REF[f"{name}_obs"])
    np.testing.assert_array_equal(np.asarray(r), REF[f"{name}_r"])
    np.testing.assert_array_equal(np.asarray(tr), REF[f"{name}_trunc"])


def test_learners_unchanged():
    from rlbook.games.matrix import get_game
    from rlbook.learners.naive import memoryless_field, memoryless_trajectories, simulate

    res = simulate(jax.random.key(3), get_game("ipd"), "lola", "nl", n_runs=4, n_steps=5)
    np.testing.assert_array_equal(np.asarray(res.value), REF["simulate_value"])
    traj = memoryless_trajectories(
        np.array([[0.8, 0.6], [0.3, 0.2]]), get_game("ipd"), "lola", "nl", n_steps=20
    )
    np.testing.assert_array_equal(np.asarray(traj), REF["memoryless_traj"])
    field = jnp.stack(memoryless_field(get_game("imp"), "nl", "lola", n_grid=4))
    np.testing.assert_array_equal(np.asarray(field), REF["memoryless_field"])


@pytest.mark.parametrize(
    "opp", ["nl", pytest.param("lola", marks=slow), pytest.param("self", marks=slow)]
)
def test_mfos_es_unchanged(opp):
    from rlbook.shaping import mfos

    small = dict(meta_steps=10, popsize=4, num_opps=2, generations=3, hidden=8, eval_opps=3)
    out, trials = mfos.train_eval_es(mfos.MFOSConfig(opponent=opp, **small), seed=4, num_seeds=2)
    np.testing.assert_array_equal(np.asarray(out.fitness), REF[f"mfos_es_{opp}_fitness"])
    np.testing.assert_array_equal(np.asarray(out.mean_fitness), REF[f"mfos_es_{opp}_mean_fitness"])
    np.testing.assert_array_equal(np.asarray(trials.reward), REF[f"mfos_es_{opp}_eval"])


@slow
def test_mfos_ppo_unchanged():
    from rlbook.shaping import mfos

    c = mfos.MFOSConfig(
        method="ppo", meta_steps=10, batch=8, iterations=3, hidden=8, update_epochs=2
    )
    out = jax.jit(mfos.make_train_ppo(c))(jax.random.key(5))
    np.testing.assert_array_equal(np.asarray(out.reward), REF["mfos_ppo_reward"])
    np.testing.assert_array_equal(np.asarray(out.opp_reward), REF["mfos_ppo_opp_reward"])


SHAPER_BASE = dict(
    num_envs=2,
    num_episodes=3,
    num_steps=4,
    popsize=4,
    num_opps=2,
    generations=2,
    eval_trials=3,
    hidden=8,
)
SHAPER_RUNS = {
    "shaper_ipd": dict(),
    "shaper_ipd_avg_ppo": dict(att_type="avg", coplayer="ppo"),
    # no "mfos" agent case: the M-FOS (ES) baseline was rebuilt to pax's ActorCriticMFOS shape (separate
    # meta/actor/critic GRUs, th gating), a deliberate change; tests/test_shaper.py pins the new net
    "gs_coin": dict(env="coin_game", agent="gs"),
    "reset_ipditm": dict(env="ipditm", memory="reset", grid_size=5, num_coins=2),
}


@pytest.mark.parametrize(
    "name",
    [n if n == "shaper_ipd_avg_ppo" else pytest.param(n, marks=slow) for n in SHAPER_RUNS],
)
def test_shaper_unchanged(name):
    from rlbook.shaping import shaper

    c = shaper.ShaperConfig(**SHAPER_BASE, **SHAPER_RUNS[name])
    out = jax.jit(shaper.make_train(c))(jax.random.key(6))
    # the PPO co-player's surrogate is now rl.clipped_policy_loss (a mean over steps and envs
    # instead of a sum over steps / L): the same gradient up to float rounding
    tol = dict(rtol=1e-5, atol=1e-6) if "ppo" in name else dict(rtol=0, atol=0)
    np.testing.assert_allclose(np.asarray(out.fitness), REF[f"shaper_{name}_fitness"], **tol)
    np.testing.assert_allclose(np.asarray(out.eval_reward), REF[f"shaper_{name}_eval"], **tol)


@slow
def test_shaper_naive_baseline_unchanged():
    from rlbook.shaping import shaper

    c = shaper.ShaperConfig(**SHAPER_BASE, coplayer="ppo")
    nl = shaper.naive_baseline(c, jax.random.key(7), num_trials=3)
    np.testing.assert_allclose(np.asarray(nl), REF["shaper_naive_baseline"], rtol=1e-5, atol=1e-6)


RFOS_RUNS = {
    "h1": dict(h=1, num_envs=32, num_episodes=128, eval_envs=64),
    "h2_persist": dict(h=2, num_envs=32, num_episodes=96, eval_envs=64, persist_opp_q=True),
    "qtable_boltz": dict(
        meta_state="qtable",
        num_envs=16,
        num_episodes=64,
        eval_envs=32,
        boltzmann_temp=0.25,
        mask_unknown_next=True,
        game="pd",
    ),
}


@pytest.mark.parametrize(
    "name", [n if n == "h1" else pytest.param(n, marks=slow) for n in RFOS_RUNS]
)
def test_rfos_unchanged(name):
    from rlbook.shaping import rfos

    out = jax.jit(rfos.make_train(rfos.RFOSConfig(**RFOS_RUNS[name])))(jax.random.key(8))
    np.testing.assert_array_equal(np.asarray(out.metrics.reward), REF[f"rfos_{name}_reward"])
    np.testing.assert_array_equal(np.asarray(out.metrics.known), REF[f"rfos_{name}_known"])
    np.testing.assert_array_equal(np.asarray(out.model.q), REF[f"rfos_{name}_q"])
    np.testing.assert_array_equal(np.asarray(out.final_reward), REF[f"rfos_{name}_final"])


def test_rfos_memoryless_unchanged():
    from rlbook.shaping import rfos

    r = rfos.memoryless_reward(jax.random.key(9), rfos.RFOSConfig(eval_envs=64), 0.3)
    np.testing.assert_array_equal(np.asarray(r), REF["rfos_memoryless"])
