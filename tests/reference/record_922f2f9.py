"""Record the reference outputs of the games / opponent-shaping cores at commit 922f2f9 (before the
env-protocol and config refactor), for ``tests/test_core_shaping_diff.py``.

Run against a checkout of that commit, e.g.::

    git worktree add /tmp/old922 922f2f9
    PYTHONPATH=/tmp/old922 JAX_PLATFORMS=cpu python tests/reference/record_922f2f9.py

It writes ``tests/reference/shaping_922f2f9.npz`` next to this file. The calls use the *old* API (field
names such as ``ppo_epochs``); the test makes the same calls with the new names.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from rlbook.games import coin_game, ipditm, iterated
from rlbook.games.matrix import get_game
from rlbook.learners.naive import simulate
from rlbook.shaping import mfos, rfos, shaper
from rlbook.viz import plots_games

OUT = Path(__file__).with_name("shaping_922f2f9.npz")


def env_trajectory(reset, step, params, num_actions, steps, seed):
    """Random joint actions from a fixed key; returns stacked obs, rewards, truncated."""

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


def record() -> dict[str, np.ndarray]:
    ref: dict[str, np.ndarray] = {}
    # environments
    p = iterated.default_params("ipd", 5)
    ref["iterated_obs"], ref["iterated_r"], ref["iterated_trunc"] = env_trajectory(
        iterated.reset, iterated.step, p, 2, 12, 0
    )
    p = coin_game.default_params(size=3, num_steps=7)
    ref["coin_obs"], ref["coin_r"], ref["coin_trunc"] = env_trajectory(
        coin_game.reset, coin_game.step, p, 5, 30, 1
    )
    p = ipditm.default_params(size=5, view=3, num_coins=2, freeze_steps=2, num_steps=9)
    ref["ipditm_obs"], ref["ipditm_r"], ref["ipditm_trunc"] = env_trajectory(
        ipditm.reset, ipditm.step, p, 5, 40, 2
    )
    # learners
    res = simulate(jax.random.key(3), get_game("ipd"), "lola", "nl", n_runs=4, n_steps=5)
    ref["simulate_value"] = res.value
    ref["memoryless_traj"] = plots_games.memoryless_trajectories(
        np.array([[0.8, 0.6], [0.3, 0.2]]), get_game("ipd"), "lola", "nl", n_steps=20
    )
    ref["memoryless_field"] = jnp.stack(
        plots_games.memoryless_field(get_game("imp"), "nl", "lola", n_grid=4)
    )
    # M-FOS
    small = dict(meta_steps=10, popsize=4, num_opps=2, generations=3, hidden=8, eval_opps=3)
    for opp in ("nl", "lola", "self"):
        c = mfos.MFOSConfig(opponent=opp, **small)
        out, trials = mfos.train_eval_es(c, seed=4, num_seeds=2)
        ref[f"mfos_es_{opp}_fitness"] = out.fitness
        ref[f"mfos_es_{opp}_mean_fitness"] = out.mean_fitness
        ref[f"mfos_es_{opp}_eval"] = trials.reward
    c = mfos.MFOSConfig(method="ppo", meta_steps=10, batch=8, iterations=3, hidden=8, ppo_epochs=2)
    out = jax.jit(mfos.make_train_ppo(c))(jax.random.key(5))
    ref["mfos_ppo_reward"], ref["mfos_ppo_opp_reward"] = out.reward, out.opp_reward
    # Shaper
    base = dict(
        num_envs=2,
        num_episodes=3,
        num_steps=4,
        popsize=4,
        num_opps=2,
        generations=2,
        eval_trials=3,
        hidden=8,
    )
    runs = {
        "shaper_ipd": dict(),
        "shaper_ipd_avg_ppo": dict(att_type="avg", coplayer="ppo"),
        "mfos_imp": dict(env="imp", agent="mfos"),
        "gs_coin": dict(env="coin_game", agent="gs"),
        "reset_ipditm": dict(env="ipditm", memory="reset", grid_size=5, num_coins=2),
    }
    for name, kw in runs.items():
        c = shaper.ShaperConfig(**base, **kw)
        out = jax.jit(shaper.make_train(c))(jax.random.key(6))
        ref[f"shaper_{name}_fitness"] = out.fitness
        ref[f"shaper_{name}_eval"] = out.eval_reward
    c = shaper.ShaperConfig(**base, coplayer="ppo")
    ref["shaper_naive_baseline"] = shaper.naive_baseline(c, jax.random.key(7), num_trials=3)
    # R-FOS
    rruns = {
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
    for name, kw in rruns.items():
        c = rfos.RFOSConfig(**kw)
        out = jax.jit(rfos.make_train(c))(jax.random.key(8))
        ref[f"rfos_{name}_reward"] = out.metrics.reward
        ref[f"rfos_{name}_known"] = out.metrics.known
        ref[f"rfos_{name}_q"] = out.model.q
        ref[f"rfos_{name}_final"] = out.final_reward
    c = rfos.RFOSConfig(eval_envs=64)
    ref["rfos_memoryless"] = rfos.memoryless_reward(jax.random.key(9), c, 0.3)
    return {k: np.asarray(v) for k, v in ref.items()}


if __name__ == "__main__":
    np.savez_compressed(OUT, **record())
    print(f"wrote {OUT}")
