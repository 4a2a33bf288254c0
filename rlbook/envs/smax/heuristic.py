"""The scripted SMAX enemy (jaxmarl's ``create_heuristic_policy``), vectorised over the enemy team.

Each enemy: if an opponent is shootable, attack it (the closest, or a random one), sticking with the last
target while it stays shootable; otherwise walk towards a random visible opponent, or, seeing none,
towards its own start position reflected through the map centre. Inputs are read from the unit's
``unit_list`` observation so that positions carry the same rounding as jaxmarl's (``(dx / sight) * sight``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from rlbook.envs.smax.observations import NUM_OWN_FEATURES, NUM_UNIT_FEATURES
from rlbook.envs.smax.physics import NUM_MOVE_ACTIONS

ATTACK_MODES = ("closest", "random")
_DIRECTIONS = jnp.array([[0, 1], [1, 0], [0, -1], [-1, 0]])  # N, E, S, W


@struct.dataclass
class HeuristicPolicyState:
    default_target: jax.Array  # (2,) where to walk when nothing is visible
    last_attacked_enemy: jax.Array  # () int, -1 for none


def initial_policy_state(num_units: int) -> HeuristicPolicyState:
    return HeuristicPolicyState(
        default_target=jnp.zeros((num_units, 2)),
        last_attacked_enemy=jnp.full((num_units,), -1, dtype=jnp.int32),
    )


def _safe_probs(mask):
    """mask / sum(mask); uniform when the mask is empty (jaxmarl forms 0/0 there; the draw is unused)."""
    m = mask.astype(jnp.float32)
    s = jnp.sum(m)
    return jnp.where(s > 0, m / jnp.where(s > 0, s, 1.0), 1.0 / m.shape[0])


def make_heuristic_policy(env, team: int = 1, shoot: bool = True, attack_mode: str = "closest"):
    """Returns ``act(keys (K,), policy_state (K,), obs (K, obs_size)) -> (actions (K,), policy_state)``."""
    if attack_mode not in ATTACK_MODES:
        raise ValueError(f"attack_mode must be one of {ATTACK_MODES}, got {attack_mode!r}")
    if team not in (0, 1):
        raise ValueError(f"team must be 0 or 1, got {team!r}")
    team_size = env.num_allies if team == 0 else env.num_enemies
    other_size = env.num_enemies if team == 0 else env.num_allies
    n = env.num_units
    f = NUM_UNIT_FEATURES
    first = (team_size - 1) * f
    own = (n - 1) * f
    w, h = env.map_width, env.map_height
    centre = jnp.array([w / 2, h / 2])
    diag = jnp.linalg.norm(jnp.array([w, h], dtype=jnp.float32))

    def act_one(key, ps, obs):
        onehot = obs[own + 4 : own + 4 + NUM_OWN_FEATURES - 4]
        # first set type bit; 0 for a dead unit (all-zero own features), as jnp.nonzero's fill gives
        utype = jnp.argmax(onehot != 0)
        is_initial = jnp.all(ps.default_target == 0.0) & (ps.last_attacked_enemy == -1)
        rng = env.unit_type_attack_ranges[utype]
        sight = env.unit_type_sight_ranges[utype]
        own_pos = obs[own + 1 : own + 3] * jnp.array([w, h])
        blocks = obs[first:own].reshape(other_size, f)
        rel = blocks[:, 1:3] * jnp.array([sight, sight])
        visible = blocks[:, 0] > 0
        dist = jnp.linalg.norm(rel, axis=-1)
        shootable = (dist < rng) & visible
        can_shoot = jnp.any(shootable)
        key, k_att = jax.random.split(key)
        if attack_mode == "random":
            new_attack = jax.random.choice(
                k_att,
                jnp.arange(NUM_MOVE_ACTIONS, other_size + NUM_MOVE_ACTIONS),
                p=_safe_probs(shootable),
            )
        else:
            new_attack = jnp.argmin(jnp.where(shootable, dist, diag)) + NUM_MOVE_ACTIONS
        last = ps.last_attacked_enemy
        keep = (last != -1) & shootable[last]
        attack = jnp.where(keep, last + NUM_MOVE_ACTIONS, new_attack)
        attacked = attack - NUM_MOVE_ACTIONS
        last = jnp.where(shootable[attacked], attacked, -1)
        chase = jax.random.choice(key, rel + own_pos, p=_safe_probs(visible))
        default = jnp.where(is_initial, -(own_pos - centre) + centre, ps.default_target)
        target = jnp.where(jnp.any(visible), chase, default)
        move = jnp.argmax(_DIRECTIONS @ (target - own_pos))
        action = jnp.where(can_shoot & shoot, attack, move)
        return action, HeuristicPolicyState(default_target=default, last_attacked_enemy=last)

    return jax.vmap(act_one)
