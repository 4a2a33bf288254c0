"""Time rlbook's CoinGame step against jaxmarl's ``CoinGame`` (egocentric), same batch, same actions.

Both run ``num_envs`` environments for ``num_steps`` random-action steps in one jit(scan(vmap(step)));
compile time is excluded. jaxmarl's step also updates its cooperation statistics, so it does a little
more work per step: the ratio is a like-for-like cost of running the game, not of the rules alone.

    .venv/bin/python benchmarks/grid_games.py
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from timing import alternate_best, load_average

from rlbook.games import coin_game as cg


def main(num_envs: int = 1024, num_steps: int = 100):
    from jaxmarl.environments.coin_game.coin_game import CoinGame

    params = cg.default_params(num_steps=num_steps + 1)
    env = CoinGame(num_inner_steps=num_steps + 1, num_outer_steps=1, egocentric=True)
    key = jax.random.key(0)
    actions = jax.random.randint(key, (num_steps, num_envs, 2), 0, 5)
    keys = jax.random.split(key, num_envs)

    @jax.jit
    def ours():
        _, s = jax.vmap(cg.reset, (0, None))(keys, params)

        def body(s, a):
            _, s, r, *_ = jax.vmap(cg.step, (0, 0, 0, None))(keys, s, a, params)
            return s, r.sum()

        return jax.lax.scan(body, s, actions)[1].sum()

    @jax.jit
    def theirs():
        _, s = jax.vmap(env.reset)(keys)

        def body(s, a):
            _, s, r, _, _ = jax.vmap(lambda k, s, a: env.step_env(k, s, {"0": a[0], "1": a[1]}))(
                keys, s, a
            )
            return s, r["0"].sum() + r["1"].sum()

        return jax.lax.scan(body, s, actions)[1].sum()

    jax.block_until_ready((ours(), theirs()))
    best = alternate_best({"rlbook": ours, "jaxmarl": theirs})
    t_ours, t_theirs = best["rlbook"], best["jaxmarl"]
    sps = num_envs * num_steps
    print(
        f"CoinGame, {num_envs} envs x {num_steps} steps, best of 3 alternating runs; {load_average()}"
    )
    print(f"rlbook  {t_ours * 1e3:8.2f} ms  ({sps / t_ours / 1e6:.2f} M steps/s)")
    print(f"jaxmarl {t_theirs * 1e3:8.2f} ms  ({sps / t_theirs / 1e6:.2f} M steps/s)")
    print(f"ratio jaxmarl / rlbook: {t_theirs / t_ours:.2f}")
    return jnp.asarray(t_theirs / t_ours)


if __name__ == "__main__":
    main()
