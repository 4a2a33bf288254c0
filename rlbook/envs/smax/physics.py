"""One SMAX physics tick (dt = 1/16 s) and the decoding of discrete actions.

Tick order (jaxmarl 0.2.0): move and attack in parallel from the tick-start snapshot; kill units touching a
wall; alive = health > 0; push overlapping alive units apart. Eight ticks make one env step.

Speed notes. An attack only needs the distance from each shooter to *its* target (an N-vector, not the
N x N matrix); the push-apart pass needs the full matrix of the moved positions. Arithmetic is written in
the same order as jaxmarl so that results agree bit for bit (e.g. cooldown ``cd + ((base + u) - cd)``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

NUM_MOVE_ACTIONS = 5  # north, east, south, west, stop


def movement_table() -> jnp.ndarray:
    """Unit direction vectors of actions 0..4 (north, east, south, west, stop) as jaxmarl builds them.

    jaxmarl encodes a diagonal and rotates it by 45 degrees, so the vectors have norm 0.99999994 in float32,
    not 1. We build them the same way (once, outside jit) and decode an action by table lookup.
    """
    s = 1.0 / jnp.sqrt(2.0)
    rot = jnp.array([[s, -s], [s, s]])
    rows = []
    for a in range(4):
        diag = jnp.array([(-1) ** (a // 2) * s, (-1) ** (a // 2 + a % 2) * s])
        rows.append(rot @ diag)
    rows.append(jnp.zeros((2,)))
    return jnp.asarray(np.asarray(jnp.stack(rows), dtype=np.float32))


def decode_actions(table, actions):
    """Discrete actions (N,) -> (movement vectors (N, 2), raw attack index (N,), 0 when not attacking)."""
    moves = table[jnp.minimum(actions, NUM_MOVE_ACTIONS - 1)]
    attacks = jnp.where(actions > NUM_MOVE_ACTIONS - 1, actions, jnp.zeros_like(actions))
    return moves, attacks


def attack_targets(attacks, num_allies, num_units):
    """Unit index attacked by each unit's raw attack index; the unit itself when it does not attack.

    Ally attack 5+k hits unit A+k; enemy attack 5+k hits ally A-1-k (the enemy observes allies reversed).
    """
    idx = jnp.arange(num_units)
    k = attacks - NUM_MOVE_ACTIONS
    target = jnp.where(idx < num_allies, k + num_allies, num_allies - 1 - k)
    return jnp.where(attacks < NUM_MOVE_ACTIONS, idx, target)


CONTINUOUS_ACTION_DIMS = ("shoot_last_enemy", "do_shoot", "coordinate_1", "coordinate_2")


def _two_way_draw(key, p):
    """0 with probability ``p``, else 1, per unit: jaxmarl's two-category draw over (2, N) logits
    (drawn the same way so that a teacher-forced test sees the same choices)."""
    return jax.random.categorical(key, jnp.log(jnp.stack([p, 1.0 - p])), axis=0)


def decode_continuous(key, pos, prev_attacks, actions, num_allies):
    """Continuous actions (N, 4) in [0, 1] -> (movement vectors (N, 2), raw attack index (N,)).

    The four numbers are (p_aim, p_move, r, theta) in jaxmarl 0.2's order ``CONTINUOUS_ACTION_DIMS``:
    with probability ``p_move`` the unit moves by the vector r (cos 2 pi theta, sin 2 pi theta) (|v| <= 1,
    so r is the fraction of full speed); otherwise it shoots at the opposing unit (alive or not) nearest
    to the point ``position + v`` or, with probability ``1 - p_aim``, repeats its previous attack index
    instead (which is 0, i.e. no attack, after a move). The names are jaxmarl's and read backwards
    ("do_shoot" is the probability of *moving*); we keep the semantics and say so.
    """
    n = pos.shape[0]
    a = jnp.clip(actions, 0.0, 1.0)
    k_mode, k_last = jax.random.split(key)
    shoots = _two_way_draw(k_mode, a[:, 1]) == 1
    keep_last = _two_way_draw(k_last, a[:, 0]) == 1
    angle = a[:, 3] * 2 * np.pi  # evaluated (theta * 2) * pi, as jaxmarl does
    vec = jnp.stack([a[:, 2] * jnp.cos(angle), a[:, 2] * jnp.sin(angle)], axis=-1)
    moves = jnp.where(shoots[:, None], 0.0, vec)
    aim = pos + vec
    team = np.arange(n) >= num_allies
    same = jnp.asarray((team[:, None] == team[None, :]).astype(np.float32))
    # distance from each unit's aim point to every unit; own team pushed out of reach by 1e8
    d = jnp.linalg.norm(pos[None, :, :] - aim[:, None, :], axis=-1) + same * 1e8
    nearest = jnp.argmin(d, axis=1)
    idx = jnp.arange(n)
    raw = jnp.where(idx < num_allies, nearest - num_allies, num_allies - 1 - nearest)
    raw = jnp.where(keep_last, prev_attacks, raw + NUM_MOVE_ACTIONS)
    valid = shoots & (same[idx, nearest] == 0.0)
    return moves, jnp.where(valid, raw, 0).astype(jnp.int32)


def pairwise_distance(pos):
    """(N, N) Euclidean distances (the same op jaxmarl uses, so thresholds flip identically)."""
    return jnp.linalg.norm(pos[:, None] - pos[None, :], axis=-1)


def push_apart(pos, alive, radius):
    """Every overlapping pair of alive units moves apart by half the overlap each; dead units stay."""
    n = pos.shape[0]
    delta = pos[:, None] - pos[None, :]
    dist = jnp.linalg.norm(delta, axis=-1) + jnp.identity(n) + 1e-6
    pair = alive[:, None] & alive[None, :]
    overlap = jnp.where(pair, jax.nn.relu((radius[:, None] + radius[None, :]) / dist - 1.0), 0.0)
    new = pos + 1.0 * jnp.sum(delta * overlap[:, :, None], axis=1) / 2
    return jnp.where(alive[:, None], new, pos)


def tick(env, key, state, moves, attacks, targets):
    """One physics tick. ``env`` supplies per-unit stats; returns the new state."""
    types = state.unit_types
    pos, alive, health, cd = (
        state.unit_positions,
        state.unit_alive,
        state.unit_health,
        state.unit_weapon_cooldowns,
    )
    n = pos.shape[0]
    bounds = jnp.array([env.map_width, env.map_height], dtype=jnp.float32)
    # 1. movement (dead units stay put); clipped onto the map edge
    new_pos = pos + moves * env.unit_type_velocities[types][:, None] * env.time_per_step
    new_pos = jnp.maximum(jnp.minimum(new_pos, bounds), jnp.zeros((2,)))
    new_pos = jnp.where(alive[:, None], new_pos, pos)
    # 1'. attacks, all from the tick-start snapshot, applied simultaneously
    d_target = jnp.linalg.norm(pos - pos[targets], axis=-1)
    hit = (
        (d_target < env.unit_type_attack_ranges[types])
        & alive
        & alive[targets]
        & (targets != jnp.arange(n))
        & (cd <= 0.0)
    )
    u = jax.vmap(
        lambda k: jax.random.uniform(k, minval=-env.time_per_step, maxval=2 * env.time_per_step)
    )(jax.random.split(key, n))
    new_cd = env.unit_type_weapon_cooldowns[types] + u
    cd = cd + jnp.where(hit, new_cd - cd, -env.time_per_step)
    damage = jnp.where(hit, -env.unit_type_attacks[types], 0.0)
    health = jnp.maximum(health.at[targets].add(damage), 0.0)
    # 2. walls: touching (or beyond) an edge kills
    if env.walls_cause_death:
        touching = jnp.any(new_pos <= 0.0, axis=-1) | jnp.any(new_pos >= bounds, axis=-1)
        health = jnp.where(touching, 0.0, health)
    # 3. alive, 4. push-apart of alive pairs (no clip afterwards: a pushed-out unit dies next tick)
    alive = health > 0
    new_pos = push_apart(new_pos, alive, env.unit_type_radiuses[types])
    return state.replace(
        unit_positions=new_pos,
        unit_alive=alive,
        unit_health=health,
        unit_weapon_cooldowns=cd,
        prev_movement_actions=moves,
        prev_attack_actions=attacks,
    )
