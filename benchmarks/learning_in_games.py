"""Time rlbook's batched NL / LOLA (``simulate``: one jit(vmap(scan)) call) against a reference loop.

No matrix-game reference package installs (see the opponent-shaping notes), so the reference is the
loop structure of the M-FOS / pax baselines: a Python loop over learning steps, each step one jitted,
batched update of both players plus the evaluation of both values and P(cooperate) (the work
``simulate`` also does), results gathered on the host. Both compute the same trajectories (checked);
compile time is excluded and reported separately.

    .venv/bin/python benchmarks/learning_in_games.py
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from timing import alternate_best, load_average, timed_first

from rlbook.games.matrix import exact_value, get_game, p_cooperate
from rlbook.learners.naive import joint_step, simulate


def make_reference(game, learner1, learner2):
    def evaluate(a, b):
        return jnp.stack(exact_value(a, b, game)), jnp.stack(p_cooperate(a, b))

    step = jax.jit(jax.vmap(lambda a, b: joint_step(a, b, game, learner1, learner2)))
    ev = jax.jit(jax.vmap(evaluate))

    def run(theta1, theta2, n_steps):
        a, b = theta1, theta2
        traj, vals = [np.asarray(a)], [np.asarray(ev(a, b)[0])]
        for _ in range(n_steps):
            a, b = step(a, b)
            traj.append(np.asarray(a))
            vals.append(np.asarray(ev(a, b)[0]))
        return np.stack(traj, axis=1), np.stack(vals, axis=1)

    return run


def main(n_runs=256, n_steps=100):
    game = get_game("ipd")
    k1, k2 = jax.random.split(jax.random.key(0))
    th1 = jax.random.normal(k1, (n_runs, 5))
    th2 = jax.random.normal(k2, (n_runs, 5))
    rows = []
    for l1, l2 in [("nl", "nl"), ("lola", "lola")]:

        def ours(l1=l1, l2=l2):
            r = simulate(
                k1, game, l1, l2, n_runs=n_runs, n_steps=n_steps, theta1_init=th1, theta2_init=th2
            )
            return r.theta1, r.value

        ref_run = make_reference(game, l1, l2)

        def ref(ref_run=ref_run):
            return ref_run(th1, th2, n_steps)

        (o_theta, o_val), c_ours = timed_first(ours)
        (r_theta, r_val), c_ref = timed_first(ref)
        np.testing.assert_allclose(r_theta, np.asarray(o_theta), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(r_val, np.asarray(o_val), rtol=1e-3, atol=1e-3)
        best = alternate_best({"rlbook": ours, "ref": ref})
        rows.append((f"{l1}-{l2}", best["rlbook"], best["ref"], c_ours, c_ref))
    print(
        f"IPD, {n_runs} runs x {n_steps} learning steps, best of 3 alternating runs, compile excluded"
    )
    print(load_average())
    print(
        f"{'pairing':10s} {'rlbook s':>9s} {'ref loop s':>10s} {'ratio':>6s}   first call s (rlbook / ref)"
    )
    for name, a, b, ca, cb in rows:
        print(f"{name:10s} {a:9.3f} {b:10.3f} {a / b:6.2f}   {ca:.2f} / {cb:.2f}")


if __name__ == "__main__":
    main()
