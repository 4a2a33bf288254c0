"""Scenarios (maps): which units fight on each side. ``make_scenario(name)`` covers jaxmarl 0.2's 14 maps."""

from __future__ import annotations

from dataclasses import dataclass

from rlbook.envs.smax.units import NUM_UNIT_TYPES, UNIT_SHORTHANDS

MARINE, MARAUDER, STALKER, ZEALOT, ZERGLING, HYDRALISK = range(6)


@dataclass(frozen=True)
class Scenario:
    """``unit_types`` lists allies first, then enemies (ints in 0..5, see ``units.UNIT_NAMES``).

    The two SMACv2 flags replace the fixed spawn (and the fixed types) by random ones at every reset.
    """

    unit_types: tuple[int, ...]
    num_allies: int
    num_enemies: int
    smacv2_position_generation: bool = False
    smacv2_unit_type_generation: bool = False

    def __post_init__(self):
        object.__setattr__(self, "unit_types", tuple(int(t) for t in self.unit_types))
        validate_scenario(self)

    @property
    def num_units(self) -> int:
        return self.num_allies + self.num_enemies

    def describe(self) -> str:
        def team(ts):
            out = {}
            for t in ts:
                out[UNIT_SHORTHANDS[t]] = out.get(UNIT_SHORTHANDS[t], 0) + 1
            return "".join(f"{n}{s}" for s, n in out.items())

        a = self.unit_types[: self.num_allies]
        e = self.unit_types[self.num_allies :]
        rnd = " (SMACv2 random)" if self.smacv2_unit_type_generation else ""
        return f"{team(a)} vs {team(e)}{rnd}"


def validate_scenario(s: Scenario) -> None:
    if not isinstance(s.num_allies, int) or s.num_allies < 1:
        raise ValueError(f"num_allies must be an int >= 1, got {s.num_allies!r}")
    if not isinstance(s.num_enemies, int) or s.num_enemies < 1:
        raise ValueError(f"num_enemies must be an int >= 1, got {s.num_enemies!r}")
    if len(s.unit_types) != s.num_allies + s.num_enemies:
        raise ValueError(
            f"unit_types has {len(s.unit_types)} entries but num_allies + num_enemies = "
            f"{s.num_allies + s.num_enemies}"
        )
    bad = [t for t in s.unit_types if not 0 <= t < NUM_UNIT_TYPES]
    if bad:
        raise ValueError(f"unit_types must be in 0..{NUM_UNIT_TYPES - 1}, got {bad}")


def _mirror(team: list[int]) -> tuple[int, ...]:
    return tuple(team + team)


def _vs(a: list[int], e: list[int]) -> Scenario:
    return Scenario(tuple(a + e), len(a), len(e))


SCENARIOS: dict[str, Scenario] = {
    "3m": _vs([MARINE] * 3, [MARINE] * 3),
    "8m": _vs([MARINE] * 8, [MARINE] * 8),
    "25m": _vs([MARINE] * 25, [MARINE] * 25),
    "5m_vs_6m": _vs([MARINE] * 5, [MARINE] * 6),
    "10m_vs_11m": _vs([MARINE] * 10, [MARINE] * 11),
    "27m_vs_30m": _vs([MARINE] * 27, [MARINE] * 30),
    "2s3z": _vs([STALKER] * 2 + [ZEALOT] * 3, [STALKER] * 2 + [ZEALOT] * 3),
    "3s5z": _vs([STALKER] * 3 + [ZEALOT] * 5, [STALKER] * 3 + [ZEALOT] * 5),
    "3s5z_vs_3s6z": _vs([STALKER] * 3 + [ZEALOT] * 5, [STALKER] * 3 + [ZEALOT] * 6),
    "3s_vs_5z": _vs([STALKER] * 3, [ZEALOT] * 5),
    "6h_vs_8z": _vs([HYDRALISK] * 6, [ZEALOT] * 8),
    "smacv2_5_units": Scenario((MARINE,) * 10, 5, 5, True, True),
    "smacv2_10_units": Scenario((MARINE,) * 20, 10, 10, True, True),
    "smacv2_20_units": Scenario((MARINE,) * 40, 20, 20, True, True),
}
JAXMARL_SCENARIOS = tuple(SCENARIOS)


def make_scenario(name: str) -> Scenario:
    """The scenario called ``name`` (jaxmarl's ``map_name_to_scenario``)."""
    if name not in SCENARIOS:
        raise ValueError(f"scenario must be one of {sorted(SCENARIOS)}, got {name!r}")
    return SCENARIOS[name]


map_name_to_scenario = make_scenario  # jaxmarl's name


def register_scenario(name: str, scenario: Scenario) -> None:
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    validate_scenario(scenario)
    SCENARIOS[name] = scenario


def custom_scenario(
    allies: dict[int, int] | list[int], enemies: dict[int, int] | list[int]
) -> Scenario:
    """A scenario from unit lists or {type: count} dicts (used by the scenario-builder widget)."""

    def expand(team):
        if isinstance(team, dict):
            return [t for t, n in sorted(team.items()) for _ in range(int(n))]
        return list(team)

    return _vs(expand(allies), expand(enemies))
