"""IPD-in-the-Matrix (Vezhnevets et al. 2021's "Running with scissors" family; the pax / jaxmarl
``InTheGrid_2p`` rules) as a jitted two-player env with egocentric views.

Two agents walk on a ``size x size`` grid bounded by walls, facing one of 4 directions (0 up, 1 right,
2 down, 3 left). Actions: 0 turn left, 1 turn right, 2 forward, 3 interact, 4 stay. Each step:

1. a frozen agent (``freeze > 0``) stays;
2. turns and forward moves; walls stop a move; if both agents would end on the same cell, an agent that
   moved into a standing one goes back, and if both moved a fair coin (from the step key) decides who;
3. an agent standing on a live coin picks it up into its inventory ``inv_i = [#red, #blue]``
   (red coins = cooperate, blue coins = defect for *both* players);
4. an agent that interacts with the other in its zap zone (the cell ahead, two ahead, and the cells to
   the left and right of the cell ahead), when **both** inventories are non-empty, ends the encounter:
   ``r_i = u1^T A_i u2`` with ``u_j = inv_j / sum(inv_j)`` (the matrix game's mixed-strategy payoff;
   IPD: ``A_1 = [[3, 0], [5, 1]]``, ``A_2 = A_1^T``), and both agents freeze for ``freeze_steps`` steps;
5. when the freeze runs out the round restarts: inventories empty, every coin back in its place, agents
   respawned on random free cells.

``freeze == -1`` means "no encounter pending" (jaxmarl's convention). Observation per player: a dict-free
f32 vector = egocentric ``view x view`` window (agent at the bottom centre, facing up; channels
[me, other, red coin, blue coin, wall]) flattened, then 6 inventory features
[my red, my blue, I can interact, other can interact, other's red, other's blue] (the other's inventory
is visible only during a freeze, as in jaxmarl). API as ``rlbook.games.iterated``.

Differences from jaxmarl's ``storm_2p`` (documented, by design): coins are placed uniformly (jaxmarl uses
fixed spawn lists and a fixed 8 x 8 grid); the window geometry is ours; the reward of the step that ends
an inner episode is returned (jaxmarl returns 0 there). Payoff and freeze timing follow jaxmarl and are
tested against its ``_get_reward`` formula and its freeze counter.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlbook.config import check_choice, check_number
from rlbook.games.render import fill_cell, grid_image
from rlbook.rl.env import Environment, spaces

ACTION_NAMES = ("left", "right", "forward", "interact", "stay")
NUM_ACTIONS = 5
LEFT, RIGHT, FORWARD, INTERACT, STAY = range(5)
DIRS = jnp.array([[-1, 0], [0, 1], [1, 0], [0, -1]], jnp.int32)  # up, right, down, left (row, col)
IPD_PAYOFF = (((3.0, 0.0), (5.0, 1.0)), ((3.0, 5.0), (0.0, 1.0)))
IMP_PAYOFF = (((1.0, -1.0), (-1.0, 1.0)), ((-1.0, 1.0), (1.0, -1.0)))
NUM_CHANNELS = 5


@struct.dataclass
class IPDitMParams:
    payoff: jax.Array  # f32[2, 2, 2]: A_1, A_2 over (player-1 coin type, player-2 coin type)
    size: int = struct.field(pytree_node=False, default=8)
    view: int = struct.field(pytree_node=False, default=5)
    num_coins: int = struct.field(pytree_node=False, default=6)
    freeze_steps: int = struct.field(pytree_node=False, default=5)
    num_steps: int = struct.field(pytree_node=False, default=152)

    @property
    def obs_dim(self) -> int:
        return self.view * self.view * NUM_CHANNELS + 6


@struct.dataclass
class IPDitMState:
    pos: jax.Array  # int32[2, 2] (row, col) per agent
    dir: jax.Array  # int32[2]
    coins: jax.Array  # int32[2, num_coins, 2]: red (0) and blue (1) coin cells
    alive: jax.Array  # bool[2, num_coins]
    inv: jax.Array  # f32[2, 2]: inventories [#red, #blue]
    freeze: jax.Array  # int32: -1 none, >0 frozen steps left
    t: jax.Array  # int32


def default_params(
    game: str = "ipd",
    size: int = 8,
    view: int = 5,
    num_coins: int = 6,
    freeze_steps: int = 5,
    num_steps: int = 152,
) -> IPDitMParams:
    payoffs = {"ipd": IPD_PAYOFF, "imp": IMP_PAYOFF}
    check_choice("game", game, payoffs)
    check_number("size", size, 3, None, integer=True)
    check_number("view", view, 1, None, integer=True)
    if view % 2 == 0:
        raise ValueError(f"view must be an odd integer >= 1, got {view}")
    check_number("num_coins", num_coins, 1, (size**2 - 2) // 2, integer=True)
    check_number("freeze_steps", freeze_steps, 1, None, integer=True)
    check_number("num_steps", num_steps, 1, None, integer=True)
    return IPDitMParams(
        payoff=jnp.asarray(payoffs[game], jnp.float32),
        size=int(size),
        view=int(view),
        num_coins=int(num_coins),
        freeze_steps=int(freeze_steps),
        num_steps=int(num_steps),
    )


def check_action(action) -> None:
    """Raise ``ValueError`` for concrete actions outside {0..4} (call before jit)."""
    a = np.asarray(action)
    if a.shape[-1:] != (2,):
        raise ValueError(f"action must have a trailing axis of 2 (one per player), got {a.shape}")
    if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= NUM_ACTIONS:
        raise ValueError(f"action must be integers in [0, {NUM_ACTIONS - 1}], got {a.tolist()}")


def interaction_payoff(inv, payoff) -> jax.Array:
    """f32[2]: ``r_i = u1^T A_i u2`` on normalised inventories (jaxmarl ``_get_reward``)."""
    u1 = inv[0] / inv[0].sum()
    u2 = inv[1] / inv[1].sum()
    return jnp.stack([u1 @ payoff[0] @ u2, u1 @ payoff[1] @ u2])


def _layers(state: IPDitMState, params: IPDitMParams) -> jax.Array:
    """f32[size, size, 4]: [red agent, blue agent, red coin, blue coin] occupancy."""
    g = jnp.zeros((params.size, params.size, 4), jnp.float32)
    g = g.at[state.pos[0, 0], state.pos[0, 1], 0].set(1.0)
    g = g.at[state.pos[1, 0], state.pos[1, 1], 1].set(1.0)
    for k in range(2):
        c = state.coins[k]
        g = g.at[c[:, 0], c[:, 1], 2 + k].max(state.alive[k].astype(jnp.float32))
    return g


def _view(layers, pos, d, me, params: IPDitMParams):
    v = params.view
    ahead = (v - 1 - jnp.arange(v))[:, None]
    side = (jnp.arange(v) - v // 2)[None, :]
    f, rt = DIRS[d], DIRS[(d + 1) % 4]
    rows = pos[0] + ahead * f[0] + side * rt[0]
    cols = pos[1] + ahead * f[1] + side * rt[1]
    inside = (rows >= 0) & (rows < params.size) & (cols >= 0) & (cols < params.size)
    cells = layers[jnp.clip(rows, 0, params.size - 1), jnp.clip(cols, 0, params.size - 1)]
    cells = cells * inside[..., None]
    agents = jnp.where(me == 0, cells[..., :2], cells[..., ::-1][..., 2:])  # [me, other]
    out = jnp.concatenate([agents, cells[..., 2:], (~inside)[..., None].astype(jnp.float32)], -1)
    return out.reshape(-1)


def observation(state: IPDitMState, params: IPDitMParams) -> jax.Array:
    """f32[2, view*view*5 + 6]: each player's egocentric window and inventory features."""
    layers = _layers(state, params)
    can = (state.inv.sum(-1) > 0).astype(jnp.float32)
    shown = jnp.where(state.freeze >= 0, state.inv, 0.0)
    out = []
    for i in range(2):
        j = 1 - i
        inv = jnp.stack(
            [state.inv[i, 0], state.inv[i, 1], can[i], can[j], shown[j, 0], shown[j, 1]]
        )
        out.append(jnp.concatenate([_view(layers, state.pos[i], state.dir[i], i, params), inv]))
    return jnp.stack(out)


def _spawn_agents(key, coins, params: IPDitMParams):
    """Two distinct random cells free of coins, random directions."""
    n = params.size * params.size
    k1, k2 = jax.random.split(key)
    score = jax.random.uniform(k1, (n,))
    flat = (coins[..., 0] * params.size + coins[..., 1]).reshape(-1)
    score = score.at[flat].set(-1.0)
    cells = jax.lax.top_k(score, 2)[1]
    pos = jnp.stack([cells // params.size, cells % params.size], -1).astype(jnp.int32)
    return pos, jax.random.randint(k2, (2,), 0, 4)


def _in_zap(pos_i, d_i, pos_j, size):
    f, rt = DIRS[d_i], DIRS[(d_i + 1) % 4]
    zone = jnp.stack([pos_i + f, pos_i + 2 * f, pos_i + f + rt, pos_i + f - rt])
    return jnp.any(jnp.all(zone == pos_j, -1))


def _reset_state(key, params: IPDitMParams) -> IPDitMState:
    k1, k2 = jax.random.split(key)
    n = params.size * params.size
    cells = jax.random.permutation(k1, n)[: 2 * params.num_coins]
    coins = jnp.stack([cells // params.size, cells % params.size], -1).astype(jnp.int32)
    coins = coins.reshape(2, params.num_coins, 2)
    pos, d = _spawn_agents(k2, coins, params)
    return IPDitMState(
        pos=pos,
        dir=d,
        coins=coins,
        alive=jnp.ones((2, params.num_coins), bool),
        inv=jnp.zeros((2, 2), jnp.float32),
        freeze=jnp.int32(-1),
        t=jnp.int32(0),
    )


def _move(key, state: IPDitMState, action, params: IPDitMParams):
    """Turns and forward moves (walls stop a move; a clash sends the mover, or a coin-flip loser, back)."""
    d = (state.dir + jnp.where(action == LEFT, -1, 0) + jnp.where(action == RIGHT, 1, 0)) % 4
    target = state.pos + DIRS[state.dir] * (action == FORWARD)[:, None]
    target = jnp.clip(target, 0, params.size - 1)
    moved = jnp.any(target != state.pos, -1)
    clash = jnp.all(target[0] == target[1])
    red_first = jax.random.bernoulli(key)
    back0 = clash & moved[0] & (~moved[1] | ~red_first)
    back1 = clash & moved[1] & (~moved[0] | red_first)
    pos = jnp.stack(
        [jnp.where(back0, state.pos[0], target[0]), jnp.where(back1, state.pos[1], target[1])]
    )
    return pos, d


class IPDitM(Environment):
    """IPD-in-the-Matrix on the book's env protocol (``rlbook.rl.env.Environment``): ``step`` is
    ``step_env`` plus the auto-reset. Both players act at once; ``action_space`` is one player's."""

    num_agents = 2
    num_actions = NUM_ACTIONS

    def __init__(self, **kwargs):
        self.params = default_params(**kwargs)

    @property
    def default_params(self) -> IPDitMParams:
        return self.params

    def split_key(self, key):
        return key, jax.random.split(key, 3)[2]  # the streams of the first version, kept

    def reset_env(self, key, params: IPDitMParams):
        state = _reset_state(key, params)
        return observation(state, params), state

    def step_env(self, key, state: IPDitMState, action, params: IPDitMParams):
        """Steps 1-5 of the module docstring (no episode reset: ``step`` adds it)."""
        k_coll, k_soft, _ = jax.random.split(key, 3)
        frozen = state.freeze > 0
        action = jnp.where(frozen, STAY, jnp.asarray(action, jnp.int32))
        pos, d = _move(k_coll, state, action, params)
        # 3. coins [agent, type, n]
        on = jnp.all(state.coins[None] == pos[:, None, None, :], -1) & state.alive[None]
        inv = state.inv + on.sum(-1).astype(jnp.float32)
        alive = state.alive & ~jnp.any(on, 0)
        # 4. interaction
        can = jnp.all(inv.sum(-1) > 0)
        zap0 = (action[0] == INTERACT) & _in_zap(pos[0], d[0], pos[1], params.size)
        zap1 = (action[1] == INTERACT) & _in_zap(pos[1], d[1], pos[0], params.size)
        interact = (zap0 | zap1) & can
        reward = jnp.where(
            interact, interaction_payoff(jnp.where(can, inv, 1.0), params.payoff), 0.0
        )
        # 5. freeze and soft reset
        freeze = jnp.where(frozen, state.freeze - 1, state.freeze)
        restart = frozen & (freeze == 0)
        spawn_pos, spawn_dir = _spawn_agents(k_soft, state.coins, params)
        nxt = IPDitMState(
            pos=jnp.where(restart, spawn_pos, pos),
            dir=jnp.where(restart, spawn_dir, d),
            coins=state.coins,
            alive=alive | restart,
            inv=jnp.where(restart, 0.0, inv),
            freeze=jnp.where(interact, params.freeze_steps, jnp.where(restart, -1, freeze)),
            t=state.t + 1,
        )
        truncated = nxt.t >= params.num_steps
        info = {"interact": interact, "inv": nxt.inv}
        return (
            observation(nxt, params),
            nxt,
            reward.astype(jnp.float32),
            jnp.bool_(False),
            truncated,
            info,
        )

    def observation_space(self, params=None) -> spaces.Box:
        p = self.default_params if params is None else params
        return spaces.Box(0.0, float(max(p.num_coins, 1)), (2, p.obs_dim), jnp.float32)


_GAME = IPDitM()

# gymnax-style functions of ``params`` (the methods of a default instance, which read only their arguments)
reset = _GAME.reset
step = _GAME.step


COLOURS = {
    "bg": (245, 245, 245),
    "p1": (44, 160, 44),
    "p2": (148, 103, 189),
    "red_coin": (214, 39, 40),
    "blue_coin": (31, 119, 180),
    "frozen": (150, 150, 150),
}


def render(state: IPDitMState, params: IPDitMParams, cell: int = 12) -> np.ndarray:
    """uint8[H, W, 3] RGB frame: coins as small squares, agents as cells with a mark on their facing
    side (greyed while frozen)."""
    img = grid_image(params.size, cell, COLOURS["bg"], 210)
    coins = np.asarray(state.coins)
    alive = np.asarray(state.alive)
    for k, name in enumerate(("red_coin", "blue_coin")):
        for pos, a in zip(coins[k], alive[k], strict=True):
            if a:
                fill_cell(img, pos, cell, COLOURS[name], cell // 3)
    frozen = int(state.freeze) > 0
    for i, name in enumerate(("p1", "p2")):
        r, c = (int(x) for x in np.asarray(state.pos[i]))
        col = COLOURS["frozen"] if frozen else COLOURS[name]
        img[r * cell + 1 : (r + 1) * cell, c * cell + 1 : (c + 1) * cell] = col
        dr, dc = (int(x) for x in np.asarray(DIRS[int(state.dir[i])]))
        cr, cc = r * cell + cell // 2 + dr * (cell // 3), c * cell + cell // 2 + dc * (cell // 3)
        img[cr - 1 : cr + 2, cc - 1 : cc + 2] = 0
    return img
