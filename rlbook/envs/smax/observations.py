"""Observations (``unit_list``), the centralised ``world_state`` and the available-action masks.

All three are computed from one (N, N) distance matrix. The per-observer block order is a static
(N, N-1) table built once in numpy, so an observation is one dense gather instead of jaxmarl's
per-(observer, slot) ``lax.cond`` chain.

Block order (jaxmarl): ally i sees the other units in increasing index order; enemy i sees every other unit
in *decreasing* order (enemies E-1..0, then allies A-1..0). Either way the own team comes first and the k-th
opposing block is the target of attack 5+k.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rlbook.envs.smax.physics import NUM_MOVE_ACTIONS

NUM_UNIT_FEATURES = 13  # hp, dx, dy, last move (2), last attack, cooldown, one-hot type (6)
NUM_OWN_FEATURES = 10  # hp, x, y, cooldown, one-hot type (6)


def block_order(num_allies: int, num_enemies: int) -> np.ndarray:
    """(N, N-1) table: unit index shown in block s of unit i's observation."""
    n = num_allies + num_enemies
    table = np.zeros((n, n - 1), dtype=np.int32)
    for i in range(n):
        if i < num_allies:
            table[i] = [j for j in range(n) if j != i]
        else:
            table[i] = [j for j in reversed(range(n)) if j != i]
    return table


def unit_features(env, state):
    """Per-unit features that do not depend on the observer: (N, 13) with dx, dy left at 0."""
    types = state.unit_types
    n = types.shape[0]
    hp = state.unit_health / env.unit_type_health[types]
    max_action = jnp.where(
        jnp.arange(n) < env.num_allies,
        float(env.num_ally_actions - 1),
        float(env.num_enemy_actions - 1),
    )
    last_attack = state.prev_attack_actions.astype(jnp.float32) / max_action
    cd = jnp.clip(state.unit_weapon_cooldowns / env.unit_type_weapon_cooldowns[types], 0.0, 1.0)
    onehot = (types[:, None] == jnp.arange(6)).astype(jnp.float32)
    zeros = jnp.zeros((n, 2))
    return jnp.concatenate(
        [
            hp[:, None],
            zeros,
            state.prev_movement_actions,
            last_attack[:, None],
            cd[:, None],
            onehot,
        ],
        axis=-1,
    )


def own_features(env, state):
    """(N, 10): hp fraction, x/W, y/H, cooldown fraction, one-hot type; zero for dead units."""
    types = state.unit_types
    hp = state.unit_health / env.unit_type_health[types]
    xy = state.unit_positions / jnp.array([env.map_width, env.map_height])
    cd = jnp.clip(state.unit_weapon_cooldowns / env.unit_type_weapon_cooldowns[types], 0.0, 1.0)
    onehot = (types[:, None] == jnp.arange(6)).astype(jnp.float32)
    f = jnp.concatenate([hp[:, None], xy, cd[:, None], onehot], axis=-1)
    return jnp.where(state.unit_alive[:, None], f, 0.0)


def observations(env, state, dist, rows=None):
    """(R, obs_size) observations of the units ``rows`` (a static index array; default all units),
    given the (N, N) distance matrix ``dist`` of the state's positions."""
    n = state.unit_positions.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows)
    order = env._block_order[rows]  # (R, N-1) static
    feats = unit_features(env, state)[order]  # (R, N-1, 13)
    pos = state.unit_positions
    sight = env.unit_type_sight_ranges[state.unit_types[rows]]  # observer's sight
    rel = (pos[order] - pos[rows][:, None, :]) / sight[:, None, None]
    feats = feats.at[:, :, 1:3].set(rel)
    if not env.see_enemy_actions:
        feats = feats.at[:, :, 3:6].multiply(env._same_team[rows][:, :, None])
    d = jnp.take_along_axis(dist[rows], jnp.asarray(order), axis=1)
    alive = state.unit_alive
    visible = (d < sight[:, None]) & alive[rows][:, None] & alive[order]
    feats = jnp.where(visible[:, :, None], feats, 0.0)
    own = own_features(env, state)[rows]
    return jnp.concatenate([feats.reshape(len(rows), -1), own], axis=-1)


NUM_SECTIONS = 32  # conic observation: sectors of 2 pi / 32 around the observer
UNITS_PER_SECTION = 2


def conic_observations(env, state, rows=None):
    """(R, 13 * 32 * 2 + 10) conic observations (jaxmarl 0.2's ``observation_type="conic"``).

    The observer's sight disc is cut into 32 equal sectors starting at angle -pi; each sector shows the
    features of at most two units (the two lowest unit indices inside it, friend or foe alike: there is
    no team feature), zeros for empty slots, then the observer's own features. A unit exactly on a sector
    boundary is in no sector. Differences from the unit-list view, kept from jaxmarl under ``compat=True``:
    units are seen when ``|relative position| / sight < 1`` (the same test written differently, so a unit
    right at the edge can flip), dead units inside the disc are shown, and unit 0 is never shown to anyone
    (jaxmarl selects units with ``nonzero(mask * index)``, which drops index 0). ``compat=False`` shows
    unit 0 and hides dead units.
    """
    n = state.unit_positions.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows)
    pos, alive = state.unit_positions, state.unit_alive
    sight = env.unit_type_sight_ranges[state.unit_types[rows]]
    rel = (pos[None, :, :] - pos[rows][:, None, :]) / sight[:, None, None]  # (R, N, 2)
    seen = jnp.linalg.norm(rel, axis=-1) < 1
    seen = seen & jnp.asarray(rows[:, None] != np.arange(n)[None, :])
    seen = seen & (jnp.asarray(np.arange(n) != 0) if env.compat else alive[None, :])
    # angle in (-pi, pi], written as jaxmarl does (arctan plus a half-turn when x < 0)
    x, y = rel[..., 0], rel[..., 1]
    angle = jnp.arctan(y / (x + 1e-8)) + (x < 0) * (2 * (y > 0) - 1) * np.pi
    j = jnp.arange(NUM_SECTIONS)
    lo = (2 * np.pi) * (j / NUM_SECTIONS) - np.pi
    hi = (2 * np.pi) * ((j + 1) / NUM_SECTIONS) - np.pi
    a = angle[:, None, :]  # (R, 1, N)
    member = (a > lo[None, :, None]) & (a < hi[None, :, None]) & seen[:, None, :]  # (R, S, N)
    rank = jnp.cumsum(member, axis=-1)
    slots = jnp.stack([member & (rank == k + 1) for k in range(UNITS_PER_SECTION)], axis=2)
    filled = jnp.any(slots, axis=-1) & alive[rows][:, None, None]  # (R, S, 2)
    who = jnp.argmax(slots, axis=-1).reshape(len(rows), -1)  # (R, 2 S) unit index per slot
    feats = jnp.broadcast_to(unit_features(env, state)[None], (len(rows), n, NUM_UNIT_FEATURES))
    feats = feats.at[:, :, 1:3].set(rel)
    if not env.see_enemy_actions:
        team = np.arange(n) >= env.num_allies
        same = (team[rows][:, None] == team[None, :]).astype(np.float32)
        feats = feats.at[:, :, 3:6].multiply(same[:, :, None])
    shown = jnp.take_along_axis(feats, who[:, :, None], axis=1)  # (R, 2 S, 13)
    shown = jnp.where(filled.reshape(len(rows), -1)[:, :, None], shown, 0.0)
    own = own_features(env, state)[rows]
    return jnp.concatenate([shown.reshape(len(rows), -1), own], axis=-1)


def world_state(env, state):
    """(12 N,): per unit [hp fraction, raw x, raw y, raw cooldown, one-hot type] (zero if dead),
    then every unit's team and type as floats. Positions and cooldowns are *not* normalised (jaxmarl)."""
    types = state.unit_types
    hp = state.unit_health / env.unit_type_health[types]
    onehot = (types[:, None] == jnp.arange(6)).astype(jnp.float32)
    f = jnp.concatenate(
        [hp[:, None], state.unit_positions, state.unit_weapon_cooldowns[:, None], onehot], axis=-1
    )
    f = jnp.where(state.unit_alive[:, None], f, 0.0)
    return jnp.concatenate(
        [f.reshape(-1), state.unit_teams.astype(jnp.float32), types.astype(jnp.float32)]
    )


def avail_actions(env, state, dist):
    """(ally masks (A, 5+E), enemy masks (E, 5+A)) as uint8.

    Stop is always available; moves iff alive; attack k iff self and target alive and the target is
    strictly within the attacker's range (the weapon cooldown is not checked).
    """
    a, n = env.num_allies, env.num_units
    alive = state.unit_alive
    rng = env.unit_type_attack_ranges[state.unit_types]
    shoot = (dist < rng[:, None]) & alive[None, :] & alive[:, None]
    ally_shoot = shoot[:a, a:]  # (A, E): targets A..N-1
    enemy_shoot = shoot[a:, :a][:, ::-1]  # (E, A): targets A-1..0
    moves = jnp.broadcast_to(alive[:, None], (n, NUM_MOVE_ACTIONS - 1))
    stop = jnp.ones((n, 1), dtype=bool)
    ally = jnp.concatenate([moves[:a], stop[:a], ally_shoot], axis=-1).astype(jnp.uint8)
    enemy = jnp.concatenate([moves[a:], stop[a:], enemy_shoot], axis=-1).astype(jnp.uint8)
    return ally, enemy
