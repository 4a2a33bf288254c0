"""Chapter 8 widgets: a scenario picker + episode viewer, and a scenario builder with obs/action sizes.

The pure functions (``episode_summary``, ``scenario_sizes``) carry the logic and are unit-tested; the
``make_*`` functions wrap them in ipywidgets.
"""

from __future__ import annotations

import functools

import ipywidgets as widgets
import jax
import matplotlib.pyplot as plt

from rlbook.envs.smax import SCENARIOS, UNIT_NAMES, HeuristicEnemySMAX, custom_scenario
from rlbook.envs.smax.env import ACTION_TYPES, OBSERVATION_TYPES
from rlbook.envs.smax.render import ALLY_POLICIES, record_episode
from rlbook.viz.plots_smax import draw_frame


@functools.lru_cache(maxsize=16)
def _env(scenario: str) -> HeuristicEnemySMAX:
    return HeuristicEnemySMAX(scenario=scenario)


@functools.lru_cache(maxsize=32)
def _record(scenario: str, policy, seed: int) -> dict:
    return record_episode(_env(scenario), jax.random.key(seed), policy)


def episode_summary(scenario: str = "3m", policy="heuristic", seed: int = 0) -> dict:
    """Outcome of one ally-``policy`` episode against the heuristic enemy on ``scenario``; ``policy`` is one
    of ``ALLY_POLICIES`` or a policy object for ``record_episode`` (e.g. a trained ``GreedyPolicy``)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {sorted(SCENARIOS)}, got {scenario!r}")
    if isinstance(policy, str) and policy not in ALLY_POLICIES:
        raise ValueError(
            f"policy must be one of {ALLY_POLICIES} or a policy object, got {policy!r}"
        )
    rec = _record(scenario, policy, int(seed))
    na = rec["num_allies"]
    return {
        "won": rec["won"],
        "return": round(rec["return"], 4),
        "steps": rec["steps"],
        "allies_alive": int(rec["alive"][-1, :na].sum()),
        "enemies_alive": int(rec["alive"][-1, na:].sum()),
    }


def scenario_sizes(
    allies: dict,
    enemies: dict,
    observation_type: str = "unit_list",
    action_type: str = "discrete",
) -> dict:
    """Observation / action / world-state sizes of a custom scenario ({unit name: count} per team) in
    one of SMAX's observation types ("unit_list": 13 features per other unit; "conic": 32 sectors x 2
    units x 13, whatever the battle size) and action types ("discrete": 5 moves + one attack per
    opponent; "continuous": 4 numbers in [0, 1])."""
    if observation_type not in OBSERVATION_TYPES:
        raise ValueError(
            f"observation_type must be one of {OBSERVATION_TYPES}, got {observation_type!r}"
        )
    if action_type not in ACTION_TYPES:
        raise ValueError(f"action_type must be one of {ACTION_TYPES}, got {action_type!r}")
    idx = {n: i for i, n in enumerate(UNIT_NAMES)}
    for team in (allies, enemies):
        for name in team:
            if name not in idx:
                raise ValueError(f"unit names must be in {UNIT_NAMES}, got {name!r}")
    sc = custom_scenario(
        {idx[k]: v for k, v in allies.items() if v}, {idx[k]: v for k, v in enemies.items() if v}
    )
    env = HeuristicEnemySMAX(
        scenario=sc, observation_type=observation_type, action_type=action_type
    )  # the sizes come from the env itself
    a = env.agents[0]
    cont = action_type == "continuous"
    return {
        "description": sc.describe(),
        "num_allies": sc.num_allies,
        "num_enemies": sc.num_enemies,
        "obs_size": env.observation_space(a).shape[0],
        "ally_actions": "4 in [0, 1]" if cont else env.num_ally_actions,
        "enemy_actions": "4 in [0, 1]" if cont else env.num_enemy_actions,
        "world_state_size": env.state_size,
    }


def make_episode_viewer(
    scenario: str = "3m", policy: str = "heuristic", trained: dict | None = None
):
    """Scenario + ally policy + seed dropdowns and a tick slider over the recorded episode. ``trained``
    adds policies ``{label: (scenario, policy_object)}``; a trained team only plays its own scenario (its
    observation size is fixed), so picking it switches the scenario, and picking another scenario
    switches the allies back to the heuristic."""
    trained = dict(trained or {})
    sc = widgets.Dropdown(options=sorted(SCENARIOS), value=scenario, description="scenario")
    pol = widgets.Dropdown(
        options=list(ALLY_POLICIES) + list(trained), value=policy, description="allies"
    )
    seed = widgets.IntSlider(0, 0, 9, description="seed")
    tick = widgets.IntSlider(0, 0, 1, description="tick")
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([sc, pol, seed]), tick, out])

    def resolve(change=None):
        """The policy to record, or None after redirecting a trained policy to its own scenario."""
        if pol.value not in trained:
            return pol.value
        own, obj = trained[pol.value]
        if sc.value == own:
            return obj
        if change is not None and change.get("owner") is sc:
            pol.value = "heuristic"  # observers redraw
        else:
            sc.value = own
        return None

    def redraw(change=None):
        policy = resolve(change)
        if policy is None:
            return
        rec = _record(sc.value, policy, seed.value)
        tick.max = len(rec["pos"]) - 1
        box.result = episode_summary(sc.value, policy, seed.value)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(4, 4), dpi=72)
            draw_frame(ax, rec, min(tick.value, tick.max))
            ax.set_xlabel(str(box.result))
            plt.show()

    for w in (sc, pol, seed, tick):
        w.observe(redraw, "value")
    redraw()
    return box


def make_scenario_builder():
    """Integer sliders for the units of each team and the two mode dropdowns; shows the resulting sizes."""
    sliders = {
        (team, name): widgets.IntSlider(
            3 if name == "marine" else 0, 0, 10, description=f"{team[0]}:{name}"
        )
        for team in ("allies", "enemies")
        for name in UNIT_NAMES
    }
    obs = widgets.Dropdown(options=OBSERVATION_TYPES, value="unit_list", description="obs")
    act = widgets.Dropdown(options=ACTION_TYPES, value="discrete", description="actions")
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([widgets.VBox([s for (t, _), s in sliders.items() if t == team])
                                      for team in ("allies", "enemies")]),
                        widgets.HBox([obs, act]), out])  # fmt: skip

    def redraw(*_):
        team = {t: {n: sliders[(t, n)].value for n in UNIT_NAMES} for t in ("allies", "enemies")}
        with out:
            out.clear_output(wait=True)
            try:
                box.result = scenario_sizes(team["allies"], team["enemies"], obs.value, act.value)
                print(box.result)
            except ValueError as err:
                box.result = None
                print(err)

    for s in (*sliders.values(), obs, act):
        s.observe(redraw, "value")
    redraw()
    return box
