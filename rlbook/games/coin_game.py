"""CoinGame (Lerer & Peysakhovich 2017; the M-FOS, pax and jaxmarl rules) as a jitted two-player env.

Two agents (red = player 1, blue = player 2) and one red and one blue coin live on a ``size x size``
torus (3 x 3 in M-FOS, pax and jaxmarl). Both move at once (actions: 0 right, 1 left, 2 up, 3 down,
4 stay, jaxmarl's ``MOVES``). An agent standing on a coin after the move picks it up:

* any coin picked up pays its picker ``+1`` (``payoff[i][0]`` own colour, ``payoff[i][1]`` the other's),
* a coin of *your* colour picked up by the *other* agent costs you ``payoff[i][2] = -2``,

so "take every coin" is the defecting strategy and the IPD-like dilemma appears (both greedy: 0 per
coin on average; both polite: +1 each). A picked coin respawns uniformly on the grid (it may appear under
an agent, as in jaxmarl; it is then picked up on the next step only if that agent moves onto it again).

API as ``rlbook.games.iterated`` (gymnax 1.0 style, single environment, vmap for many):
``reset(key, params) -> (obs, state)`` and
``step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)``;
``obs`` is f32[2, size*size*4]: each player's **egocentric** view (itself at the centre, channels
[me, other, my coin, other's coin], jaxmarl's ``egocentric=True`` layout) so both seats share a policy.
An episode lasts ``num_steps``; the last step returns ``truncated`` and auto-resets (``info["final_observation"]``).

Differences from jaxmarl: jaxmarl drops the reward of the step that ends an inner episode (it returns
0 there); we return it. Otherwise a step from the same state with the same key is identical (tested).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from rlbook.config import check_number
from rlbook.games.render import fill_cell, grid_image
from rlbook.rl.env import Environment, spaces

MOVES = jnp.array([[0, 1], [0, -1], [1, 0], [-1, 0], [0, 0]], jnp.int32)
ACTION_NAMES = ("right", "left", "up", "down", "stay")
NUM_ACTIONS = 5
DEFAULT_PAYOFF = ((1.0, 1.0, -2.0), (1.0, 1.0, -2.0))


@struct.dataclass
class CoinGameParams:
    payoff: jax.Array  # f32[2, 3]: [own coin, other's coin, own coin taken by other] per player
    size: int = struct.field(pytree_node=False, default=3)
    num_steps: int = struct.field(pytree_node=False, default=16)


@struct.dataclass
class CoinGameState:
    red_pos: jax.Array  # int32[2]
    blue_pos: jax.Array  # int32[2]
    red_coin: jax.Array  # int32[2]
    blue_coin: jax.Array  # int32[2]
    t: jax.Array  # int32


def default_params(size: int = 3, num_steps: int = 16, payoff=DEFAULT_PAYOFF) -> CoinGameParams:
    check_number("size", size, 2, None, integer=True)
    check_number("num_steps", num_steps, 1, None, integer=True)
    p = np.asarray(payoff, np.float64)
    if p.shape != (2, 3) or not np.all(np.isfinite(p)):
        raise ValueError(f"payoff must be a finite (2, 3) array, got shape {p.shape}")
    return CoinGameParams(
        payoff=jnp.asarray(p, jnp.float32), size=int(size), num_steps=int(num_steps)
    )


def check_action(action) -> None:
    """Raise ``ValueError`` for concrete actions outside {0..4} (call before jit)."""
    a = np.asarray(action)
    if a.shape[-1:] != (2,):
        raise ValueError(f"action must have a trailing axis of 2 (one per player), got {a.shape}")
    if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= NUM_ACTIONS:
        raise ValueError(f"action must be integers in [0, {NUM_ACTIONS - 1}], got {a.tolist()}")


def _ego(me, other, my_coin, other_coin, size):
    c = size // 2
    off = jnp.array([c, c]) - me
    obs = jnp.zeros((size, size, 4), jnp.float32)
    obs = obs.at[c, c, 0].set(1.0)
    for ch, pos in ((1, other), (2, my_coin), (3, other_coin)):
        p = (pos + off) % size
        obs = obs.at[p[0], p[1], ch].set(1.0)
    return obs.reshape(-1)


def observation(state: CoinGameState, params: CoinGameParams) -> jax.Array:
    """f32[2, size*size*4]: egocentric views; player 2 sees itself as 'me' and the blue coin as 'mine'."""
    s = params.size
    o1 = _ego(state.red_pos, state.blue_pos, state.red_coin, state.blue_coin, s)
    o2 = _ego(state.blue_pos, state.red_pos, state.blue_coin, state.red_coin, s)
    return jnp.stack([o1, o2])


class CoinGame(Environment):
    """CoinGame on the book's env protocol (``rlbook.rl.env.Environment``): ``step`` is ``step_env``
    plus the auto-reset. Both players act at once; ``action_space`` is one player's."""

    num_agents = 2
    num_actions = NUM_ACTIONS

    def __init__(self, size: int = 3, num_steps: int = 16, payoff=DEFAULT_PAYOFF):
        self.params = default_params(size, num_steps, payoff)

    @property
    def default_params(self) -> CoinGameParams:
        return self.params

    def split_key(self, key):
        key_reset, key_coin = jax.random.split(key)  # the streams of the first version, kept
        return key_coin, key_reset

    def reset_env(self, key, params: CoinGameParams):
        pos = jax.random.randint(key, (4, 2), 0, params.size)
        state = CoinGameState(pos[0], pos[1], pos[2], pos[3], jnp.int32(0))
        return observation(state, params), state

    def step_env(self, key, state: CoinGameState, action, params: CoinGameParams):
        """Both agents move, pick up coins and get paid; ``key`` places the respawned coins."""
        action = jnp.asarray(action, jnp.int32)
        red = (state.red_pos + MOVES[action[0]]) % params.size
        blue = (state.blue_pos + MOVES[action[1]]) % params.size
        rr = jnp.all(red == state.red_coin)
        rb = jnp.all(red == state.blue_coin)
        br = jnp.all(blue == state.red_coin)
        bb = jnp.all(blue == state.blue_coin)
        p = params.payoff
        r_red = rr * p[0, 0] + rb * p[0, 1] + br * p[0, 2]
        r_blue = bb * p[1, 1] + br * p[1, 0] + rb * p[1, 2]
        fresh = jax.random.randint(key, (2, 2), 0, params.size)
        red_coin = jnp.where(rr | br, fresh[0], state.red_coin)
        blue_coin = jnp.where(rb | bb, fresh[1], state.blue_coin)
        nxt = CoinGameState(red, blue, red_coin, blue_coin, state.t + 1)
        reward = jnp.stack([r_red, r_blue]).astype(jnp.float32)
        # pick-up events [red own, red other's, blue own, blue other's]: "cooperation" is taking your own
        info = {"pickups": jnp.stack([rr, rb, bb, br]).astype(jnp.int32)}
        truncated = nxt.t >= params.num_steps
        return observation(nxt, params), nxt, reward, jnp.bool_(False), truncated, info

    def observation_space(self, params=None) -> spaces.Box:
        p = self.default_params if params is None else params
        return spaces.Box(0.0, 1.0, (2, p.size * p.size * 4), jnp.float32)


_GAME = CoinGame()

# gymnax-style functions of ``params`` (the methods of a default instance, which read only their arguments)
reset = _GAME.reset
step = _GAME.step


COLOURS = {
    "bg": (245, 245, 245),
    "red": (214, 39, 40),
    "blue": (31, 119, 180),
    "red_coin": (255, 152, 150),
    "blue_coin": (174, 199, 232),
}


def render(state: CoinGameState, params: CoinGameParams, cell: int = 16) -> np.ndarray:
    """uint8[H, W, 3] RGB frame: agents as full cells, coins as smaller inner squares."""
    img = grid_image(params.size, cell, COLOURS["bg"], 200)

    def fill(pos, colour, margin):
        fill_cell(img, pos, cell, colour, margin)

    fill(state.red_pos, COLOURS["red"], 1)
    fill(
        state.blue_pos, COLOURS["blue"], 1 if np.any(state.red_pos != state.blue_pos) else cell // 3
    )
    fill(state.red_coin, COLOURS["red_coin"], cell // 3)
    fill(state.blue_coin, COLOURS["blue_coin"], cell // 3)
    return img
