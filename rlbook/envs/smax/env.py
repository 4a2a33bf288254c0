"""SMAX: a jitted StarCraft-like micromanagement battle with JaxMARL's ``MultiAgentEnv`` API.

``SMAX`` lets both teams be agents; ``HeuristicEnemySMAX`` drives the enemies with the scripted policy of
``heuristic.py`` and exposes only the allies. Dynamics, observations, rewards and the random-key schedule
follow jaxmarl 0.2.0 so that a differential test can demand equality; the code is organised for speed:

* one (N, N) distance matrix per observation, shared by all observers (and, inside one jit, by the action
  masks, which XLA deduplicates);
* the auto-reset selects between the stepped and the fresh *state*, then computes observations once (jaxmarl
  computes observations of both and selects), and the SMACv2 spawn generators are traced only for maps that
  use them;
* actions are decoded by table lookup, observation blocks by a static gather table.

Deliberate differences from jaxmarl (semantics otherwise identical; the spaces are gymnax's ``Discrete`` / ``Box``):
* ``infos["won"]`` (allies won) is explicit; jaxmarl's log wrapper infers a win from a reward >= 1, which
  misfires on draws and under reward scaling.
* the heuristic enemy uses uniform (instead of 0/0 NaN) probabilities when it sees nobody (draw unused).
* ``compat=False`` fixes jaxmarl's SMACv2 bug that leaves the extra enemies of an E > A map as marines.
* per-type stat arrays may be shorter than the six types (as in jaxmarl), but a unit type in use without
  an entry is a ValueError (jaxmarl silently clamps the index to the last entry).
Both of jaxmarl's observation types (``"unit_list"``, ``"conic"``: ``observations.conic_observations``) and
action types (``"discrete"``, ``"continuous"``: ``physics.decode_continuous``) are implemented with its
sizes, layouts, semantics and key schedule; ``compat=False`` also fixes the conic view's blind spot for
unit 0 and hides dead units in it.
Kept on purpose (documented traps): the 101-decision time limit (``step >= max_steps`` is checked before
the increment), weapon cooldowns that keep decreasing below zero, unnormalised ``world_state``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments.spaces import Box, Discrete

from rlbook.envs.smax import observations as O
from rlbook.envs.smax.heuristic import (
    HeuristicPolicyState,
    initial_policy_state,
    make_heuristic_policy,
)
from rlbook.envs.smax.physics import (
    CONTINUOUS_ACTION_DIMS,
    NUM_MOVE_ACTIONS,
    attack_targets,
    decode_actions,
    decode_continuous,
    movement_table,
    pairwise_distance,
    push_apart,
    tick,
)
from rlbook.envs.smax.scenarios import Scenario, make_scenario
from rlbook.envs.smax.spawn import fixed_positions, smacv2_positions, smacv2_unit_types
from rlbook.envs.smax.units import (
    DEFAULT_STATS,
    NUM_UNIT_TYPES,
    UNIT_NAMES,
    UNIT_SHORTHANDS,
    as_f32,
    check_stats_cover,
)

STAT_NAMES = tuple(DEFAULT_STATS)


@struct.dataclass
class State:
    """Same field names, shapes and dtypes as jaxmarl's SMAX ``State`` (units: allies first)."""

    unit_positions: jax.Array  # (N, 2) f32
    unit_alive: jax.Array  # (N,) bool
    unit_teams: jax.Array  # (N,) f32, 0 ally / 1 enemy
    unit_health: jax.Array  # (N,) f32
    unit_types: jax.Array  # (N,) uint8
    unit_weapon_cooldowns: jax.Array  # (N,) f32 seconds
    prev_movement_actions: jax.Array  # (N, 2) f32
    prev_attack_actions: jax.Array  # (N,) int32
    step: jax.Array  # () int32
    done: jax.Array  # () bool


@struct.dataclass
class HeuristicState:
    """State of ``HeuristicEnemySMAX`` (jaxmarl's field names)."""

    state: State
    enemy_policy_state: HeuristicPolicyState


OBSERVATION_TYPES = ("unit_list", "conic")
ACTION_TYPES = ("discrete", "continuous")


def _check_args(observation_type, action_type, world_steps, max_steps, map_width, map_height):
    if observation_type not in OBSERVATION_TYPES:
        raise ValueError(
            f"observation_type must be one of {OBSERVATION_TYPES}, got {observation_type!r}"
        )
    if action_type not in ACTION_TYPES:
        raise ValueError(f"action_type must be one of {ACTION_TYPES}, got {action_type!r}")
    if int(world_steps) < 1:
        raise ValueError(f"world_steps_per_env_step must be >= 1, got {world_steps}")
    if int(max_steps) < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if map_width <= 0 or map_height <= 0:
        raise ValueError(f"map_width and map_height must be > 0, got {map_width}, {map_height}")


def _resolve_scenario(scenario, num_allies, num_enemies):
    if scenario is None:
        return Scenario((0,) * (num_allies + num_enemies), num_allies, num_enemies)
    if isinstance(scenario, str):
        return make_scenario(scenario)
    if isinstance(scenario, Scenario):
        return scenario
    # a jaxmarl Scenario (or anything shaped like one)
    try:
        return Scenario(
            tuple(int(t) for t in np.asarray(scenario.unit_types)),
            int(scenario.num_allies),
            int(scenario.num_enemies),
            bool(scenario.smacv2_position_generation),
            bool(scenario.smacv2_unit_type_generation),
        )
    except AttributeError as err:
        raise ValueError(f"scenario must be a name, a Scenario or None, got {scenario!r}") from err


class SMAX:
    """Both teams are agents: ``agents = [ally_0.., enemy_0..]``."""

    def __init__(
        self,
        num_allies: int = 5,
        num_enemies: int = 5,
        map_width: int = 32,
        map_height: int = 32,
        world_steps_per_env_step: int = 8,
        time_per_step: float = 1.0 / 16,
        scenario=None,
        unit_type_velocities=DEFAULT_STATS["unit_type_velocities"],
        unit_type_attacks=DEFAULT_STATS["unit_type_attacks"],
        unit_type_attack_ranges=DEFAULT_STATS["unit_type_attack_ranges"],
        unit_type_sight_ranges=DEFAULT_STATS["unit_type_sight_ranges"],
        unit_type_radiuses=DEFAULT_STATS["unit_type_radiuses"],
        unit_type_health=DEFAULT_STATS["unit_type_health"],
        unit_type_weapon_cooldowns=DEFAULT_STATS["unit_type_weapon_cooldowns"],
        use_self_play_reward: bool = False,
        see_enemy_actions: bool = True,
        won_battle_bonus: float = 1.0,
        walls_cause_death: bool = True,
        max_steps: int = 100,
        observation_type: str = "unit_list",
        action_type: str = "discrete",
        compat: bool = True,
    ):
        _check_args(
            observation_type,
            action_type,
            world_steps_per_env_step,
            max_steps,
            map_width,
            map_height,
        )
        sc = _resolve_scenario(scenario, num_allies, num_enemies)
        self.scenario = sc
        self.num_allies, self.num_enemies = sc.num_allies, sc.num_enemies
        self.num_units = sc.num_units
        self.num_agents = self.num_units
        self.map_width, self.map_height = map_width, map_height
        self.world_steps_per_env_step = int(world_steps_per_env_step)
        self.time_per_step = time_per_step
        given = (unit_type_velocities, unit_type_attacks, unit_type_attack_ranges,
                 unit_type_sight_ranges, unit_type_radiuses, unit_type_health,
                 unit_type_weapon_cooldowns)  # fmt: skip
        stats = {k: as_f32(v, k) for k, v in zip(STAT_NAMES, given, strict=True)}
        # SMACv2 type generation may draw any of the six types
        in_use = range(NUM_UNIT_TYPES) if sc.smacv2_unit_type_generation else set(sc.unit_types)
        check_stats_cover(stats, sorted(in_use))
        for k, v in stats.items():
            setattr(self, k, jnp.asarray(v))
        self.observation_type, self.action_type = observation_type, action_type
        self.unit_type_names, self.unit_type_shorthands = UNIT_NAMES, UNIT_SHORTHANDS
        self.unit_type_bits = NUM_UNIT_TYPES
        self.use_self_play_reward = use_self_play_reward
        self.see_enemy_actions = see_enemy_actions
        self.won_battle_bonus = won_battle_bonus
        self.walls_cause_death = walls_cause_death
        self.max_steps = int(max_steps)
        self.compat = compat
        self._build_tables(sc)

    def _build_tables(self, sc: Scenario) -> None:
        """Action counts, observation sizes and names, agents, spaces and the static lookup tables."""
        self.num_movement_actions = NUM_MOVE_ACTIONS
        self.num_ally_actions = NUM_MOVE_ACTIONS + self.num_enemies
        self.num_enemy_actions = NUM_MOVE_ACTIONS + self.num_allies
        self.num_sections, self.max_units_per_section = O.NUM_SECTIONS, O.UNITS_PER_SECTION
        self.continuous_action_dims = list(CONTINUOUS_ACTION_DIMS)
        seen = self.num_units - 1 if self.observation_type == "unit_list" else 64
        self.obs_size = O.NUM_UNIT_FEATURES * seen + O.NUM_OWN_FEATURES
        self.state_size = (O.NUM_OWN_FEATURES + 2) * self.num_units
        self.unit_features = [
            "health", "position_x", "position_y", "last_movement_x", "last_movement_y",
            "last_targeted", "weapon_cooldown",
        ] + [f"unit_type_bits_{i}" for i in range(NUM_UNIT_TYPES)]  # fmt: skip
        self.own_features = ["health", "position_x", "position_y", "weapon_cooldown"] + [
            f"unit_type_bit_{i}" for i in range(NUM_UNIT_TYPES)
        ]
        self.all_agents = [f"ally_{i}" for i in range(self.num_allies)] + [
            f"enemy_{i}" for i in range(self.num_enemies)
        ]
        self.agents = list(self.all_agents)
        self.agent_ids = {a: i for i, a in enumerate(self.all_agents)}
        self.observation_spaces = {a: Box(-1.0, 1.0, (self.obs_size,)) for a in self.all_agents}
        if self.action_type == "continuous":
            self.action_spaces = {a: Box(0.0, 1.0, (4,)) for a in self.all_agents}
        else:
            self.action_spaces = {
                a: Discrete(
                    self.num_ally_actions if i < self.num_allies else self.num_enemy_actions
                )
                for i, a in enumerate(self.all_agents)
            }
        # static tables
        self._move_table = movement_table()
        self._block_order = O.block_order(self.num_allies, self.num_enemies)
        teams = np.arange(self.num_units) >= self.num_allies
        self._same_team = (teams[:, None] == teams[self._block_order]).astype(np.float32)
        self._unit_types = jnp.asarray(np.asarray(sc.unit_types, dtype=np.uint8))

    # ----------------------------------------------------------------- spaces
    def observation_space(self, agent: str):
        return self.observation_spaces[agent]

    def action_space(self, agent: str):
        return self.action_spaces[agent]

    @property
    def name(self) -> str:
        return "SMAX"

    # ----------------------------------------------------------------- reset
    def reset_state(self, key) -> State:
        """A fresh state (jaxmarl's key schedule: (k, k_allies, k_enemies), then k_pos, then k_type)."""
        na, ne, w, h = self.num_allies, self.num_enemies, self.map_width, self.map_height
        key, k_a, k_e = jax.random.split(key, 3)
        pos = fixed_positions(k_a, k_e, na, ne, w, h)
        key, k_pos = jax.random.split(key)
        if self.scenario.smacv2_position_generation:
            pos = smacv2_positions(k_pos, na, ne, w, h)
        key, k_type = jax.random.split(key)
        types = self._unit_types
        if self.scenario.smacv2_unit_type_generation:
            types = smacv2_unit_types(k_type, na, ne, NUM_UNIT_TYPES, self.compat)
        n = self.num_units
        state = State(
            unit_positions=pos,
            unit_alive=jnp.ones((n,), dtype=jnp.bool_),
            unit_teams=(jnp.arange(n) >= na).astype(jnp.float32),
            unit_health=self.unit_type_health[types],
            unit_types=types,
            unit_weapon_cooldowns=jnp.zeros((n,)),
            prev_movement_actions=jnp.zeros((n, 2)),
            prev_attack_actions=jnp.zeros((n,), dtype=jnp.int32),
            step=jnp.array(0, dtype=jnp.int32),
            done=jnp.array(False),
        )
        return state.replace(
            unit_positions=push_apart(pos, state.unit_alive, self.unit_type_radiuses[types])
        )

    @partial(jax.jit, static_argnums=(0,))
    def reset(self, key):
        state = self.reset_state(key)
        return self.get_obs(state), state

    # ----------------------------------------------------------------- observations
    def agent_obs(self, state: State, rows=None) -> jax.Array:
        """(R, obs_size) observations of the units ``rows`` (static; default all) in this env's type."""
        if self.observation_type == "conic":
            return O.conic_observations(self, state, rows)
        return O.observations(self, state, pairwise_distance(state.unit_positions), rows)

    def get_obs(self, state: State) -> dict:
        """Observations of ``self.agents`` plus ``"world_state"``."""
        rows = np.array([self.agent_ids[a] for a in self.agents])
        obs = self.agent_obs(state, rows)
        out = {a: obs[k] for k, a in enumerate(self.agents)}
        out["world_state"] = self.get_world_state(state)
        return out

    def get_world_state(self, state: State) -> jax.Array:
        return O.world_state(self, state)

    def get_avail_actions(self, state: State) -> dict:
        ally, enemy = O.avail_actions(self, state, pairwise_distance(state.unit_positions))
        out = {}
        for a in self.agents:
            i = self.agent_ids[a]
            out[a] = ally[i] if i < self.num_allies else enemy[i - self.num_allies]
        return out

    # ----------------------------------------------------------------- dynamics
    def is_terminal(self, state: State) -> jax.Array:
        a = self.num_allies
        return (
            jnp.all(~state.unit_alive[:a])
            | jnp.all(~state.unit_alive[a:])
            | (state.step >= self.max_steps)
        )

    def compute_reward(self, state, health_before, health_after):
        """(ally reward, enemy reward): normalised damage dealt to the other team + win bonus."""
        frac = (health_after - health_before) / self.unit_type_health[state.unit_types]
        a = self.num_allies
        allies_dead = jnp.all(~state.unit_alive[:a])
        enemies_dead = jnp.all(~state.unit_alive[a:])

        def team(dealt, opp_size, won, lost):
            r = jnp.abs(jnp.sum(dealt)) / opp_size
            if self.use_self_play_reward:
                r = 0.0 * r - jnp.where(lost & ~won, self.won_battle_bonus, 0.0)
            return r + jnp.where(won & ~lost, self.won_battle_bonus, 0.0)

        r_ally = team(frac[a:], self.num_enemies, enemies_dead, allies_dead)
        r_enemy = team(frac[:a], self.num_allies, allies_dead, enemies_dead)
        return r_ally, r_enemy

    def decode(self, key, state: State, actions_arr: jax.Array):
        """(movement vectors (N, 2), raw attack indices (N,)) of an (N,) discrete or (N, 4) continuous
        action array; ``key`` is only used by continuous actions."""
        if self.action_type == "continuous":
            pos, prev = state.unit_positions, state.prev_attack_actions
            return decode_continuous(key, pos, prev, actions_arr, self.num_allies)
        return decode_actions(self._move_table, actions_arr)

    def step_physics(self, key, state: State, actions_arr: jax.Array, return_ticks: bool = False):
        """The ticks of one env step for an (N,) array of discrete actions (no reset, no obs).

        Returns (new state, ally reward, enemy reward) and, with ``return_ticks``, the tick states [T, ...].
        """
        moves, attacks = decode_actions(self._move_table, actions_arr)
        return self.step_decoded(key, state, moves, attacks, return_ticks)

    def step_decoded(self, key, state: State, moves, attacks, return_ticks: bool = False):
        """``step_physics`` for decoded actions: movement vectors (N, 2) and raw attack indices (N,)."""
        targets = attack_targets(attacks, self.num_allies, self.num_units)
        health_before = state.unit_health

        def body(carry, _):
            s, k = carry
            k, k_tick = jax.random.split(k)
            s = tick(self, k_tick, s, moves, attacks, targets)
            return (s, k), (s if return_ticks else None)

        (state, _), ticks = jax.lax.scan(
            body, (state, key), None, length=self.world_steps_per_env_step
        )
        r_ally, r_enemy = self.compute_reward(state, health_before, state.unit_health)
        state = state.replace(
            done=self.is_terminal(state),
            prev_movement_actions=moves,
            prev_attack_actions=attacks,
            step=state.step + 1,
        )
        if return_ticks:
            return state, r_ally, r_enemy, ticks
        return state, r_ally, r_enemy

    def _rewards_dones(self, state, r_ally, r_enemy):
        rewards, dones = {}, {}
        for a in self.agents:
            i = self.agent_ids[a]
            rewards[a] = r_ally if i < self.num_allies else r_enemy
            dones[a] = ~state.unit_alive[i]
        dones["__all__"] = state.done
        return rewards, dones

    def _infos(self, state):
        a = self.num_allies
        won = jnp.all(~state.unit_alive[a:]) & ~jnp.all(~state.unit_alive[:a])
        return {"won": won & state.done}

    def _step_both(self, key, state: State, actions: dict):
        """Decode (jaxmarl's key split: the first half decodes) and run the ticks."""
        key, k_dec = jax.random.split(key)
        moves, attacks = self.decode(k_dec, state, jnp.array([actions[a] for a in self.all_agents]))
        return self.step_decoded(key, state, moves, attacks)

    def step_env(self, key, state: State, actions: dict):
        """One env step without auto-reset: (obs, state, rewards, dones, infos)."""
        state, r_a, r_e = self._step_both(key, state, actions)
        rewards, dones = self._rewards_dones(state, r_a, r_e)
        return self.get_obs(state), state, rewards, dones, self._infos(state)

    @partial(jax.jit, static_argnums=(0,))
    def step(self, key, state: State, actions: dict, reset_state: State | None = None):
        """Step with auto-reset: on ``dones["__all__"]`` the returned obs/state are a fresh episode's;
        rewards, dones and infos are the terminal step's."""
        key, key_reset = jax.random.split(key)
        st, r_a, r_e = self._step_both(key, state, actions)
        rewards, dones = self._rewards_dones(st, r_a, r_e)
        infos = self._infos(st)
        fresh = self.reset_state(key_reset) if reset_state is None else reset_state
        new = jax.tree.map(lambda x, y: jax.lax.select(st.done, x, y), fresh, st)
        return self.get_obs(new), new, rewards, dones, infos


class HeuristicEnemySMAX(SMAX):
    """Allies are the agents; enemies follow the scripted policy (``agents`` = ``ally_i`` only)."""

    def __init__(self, enemy_shoots: bool = True, attack_mode: str = "closest", **smax_kwargs):
        super().__init__(**smax_kwargs)
        self.enemy_shoots = enemy_shoots
        self.attack_mode = attack_mode
        self.agents = [f"ally_{i}" for i in range(self.num_allies)]
        self.enemy_agents = [f"enemy_{i}" for i in range(self.num_enemies)]
        self.num_agents = self.num_allies
        self.observation_spaces = {a: self.observation_spaces[a] for a in self.agents}
        self.action_spaces = {a: self.action_spaces[a] for a in self.agents}
        self.heuristic_policy = make_heuristic_policy(self, 1, enemy_shoots, attack_mode)
        self._enemy_rows = np.arange(self.num_allies, self.num_units)

    @property
    def name(self) -> str:
        return "HeuristicEnemySMAX"

    def reset_state(self, key) -> HeuristicState:
        _, k = jax.random.split(key)
        return HeuristicState(
            state=SMAX.reset_state(self, k),
            enemy_policy_state=initial_policy_state(self.num_enemies),
        )

    @partial(jax.jit, static_argnums=(0,))
    def reset(self, key):
        state = self.reset_state(key)
        return self.get_obs(state), state

    def _inner(self, state):
        return state.state if isinstance(state, HeuristicState) else state

    def get_obs(self, state) -> dict:
        return SMAX.get_obs(self, self._inner(state))

    def get_world_state(self, state) -> jax.Array:
        return O.world_state(self, self._inner(state))

    def get_avail_actions(self, state) -> dict:
        return SMAX.get_avail_actions(self, self._inner(state))

    def get_all_unit_obs(self, state) -> jax.Array:
        """(N, obs_size) observations of every unit, enemies included."""
        return self.agent_obs(self._inner(state))

    def is_terminal(self, state) -> jax.Array:
        return SMAX.is_terminal(self, self._inner(state))

    def enemy_actions(self, key, state: HeuristicState):
        """Scripted enemy actions (E,) from the pre-step state, and the new policy state."""
        s = state.state
        enemy_obs = O.observations(self, s, pairwise_distance(s.unit_positions), self._enemy_rows)
        keys = jax.random.split(key, self.num_enemies)
        return self.heuristic_policy(keys, state.enemy_policy_state, enemy_obs)

    def step_physics_h(self, key, state: HeuristicState, actions: dict, return_ticks=False):
        key, k_act = jax.random.split(key)
        enemy, policy_state = self.enemy_actions(k_act, state)
        ally = jnp.array([actions[a] for a in self.agents])
        e_moves, e_attacks = decode_actions(self._move_table, enemy.astype(jnp.int32))
        if self.action_type == "continuous":
            # jaxmarl decodes a full (N, 4) array with zero rows for the enemies (same random draws)
            key, k_dec = jax.random.split(key)
            full = jnp.zeros((self.num_units, 4)).at[: self.num_allies].set(ally)
            a_moves, a_attacks = self.decode(k_dec, state.state, full)
            a_moves, a_attacks = a_moves[: self.num_allies], a_attacks[: self.num_allies]
        else:
            a_moves, a_attacks = decode_actions(self._move_table, ally.astype(jnp.int32))
        moves = jnp.concatenate([a_moves, e_moves])
        attacks = jnp.concatenate([a_attacks, e_attacks.astype(jnp.int32)])
        out = SMAX.step_decoded(self, key, state.state, moves, attacks, return_ticks)
        new = HeuristicState(state=out[0], enemy_policy_state=policy_state)
        return (new, *out[1:])

    def step_env(self, key, state: HeuristicState, actions: dict):
        out = self.step_physics_h(key, state, actions)
        st, r_a, r_e = out
        rewards, dones = self._rewards_dones(st.state, r_a, r_e)
        return self.get_obs(st), st, rewards, dones, self._infos(st.state)

    @partial(jax.jit, static_argnums=(0,))
    def step(self, key, state: HeuristicState, actions: dict, reset_state=None):
        key, key_reset = jax.random.split(key)
        st, r_a, r_e = self.step_physics_h(key, state, actions)
        rewards, dones = self._rewards_dones(st.state, r_a, r_e)
        infos = self._infos(st.state)
        fresh = self.reset_state(key_reset) if reset_state is None else reset_state
        new = jax.tree.map(lambda x, y: jax.lax.select(st.state.done, x, y), fresh, st)
        return self.get_obs(new), new, rewards, dones, infos
