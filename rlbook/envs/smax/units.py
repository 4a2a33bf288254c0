"""Unit types of SMAX: six StarCraft-II-like units, their stats as plain arrays (index = unit type)."""

from __future__ import annotations

import numpy as np

UNIT_NAMES = ("marine", "marauder", "stalker", "zealot", "zergling", "hydralisk")
UNIT_SHORTHANDS = ("m", "M", "s", "Z", "z", "h")
NUM_UNIT_TYPES = len(UNIT_NAMES)

# Per type, in the order of UNIT_NAMES (jaxmarl 0.2.0 values; no shields, armour, bonus damage or splash).
DEFAULT_STATS = {
    "unit_type_velocities": (3.15, 2.25, 4.13, 3.15, 4.13, 3.15),  # map units per second
    "unit_type_attacks": (9.0, 10.0, 13.0, 8.0, 5.0, 12.0),  # damage per hit
    "unit_type_attack_ranges": (5.0, 6.0, 6.0, 2.0, 2.0, 5.0),  # centre-to-centre
    "unit_type_sight_ranges": (9.0, 10.0, 10.0, 9.0, 8.0, 9.0),
    "unit_type_radiuses": (0.375, 0.5625, 0.625, 0.5, 0.375, 0.625),
    "unit_type_health": (45.0, 125.0, 160.0, 150.0, 35.0, 80.0),
    "unit_type_weapon_cooldowns": (0.61, 1.07, 1.87, 0.86, 0.5, 0.59),  # seconds
}


def stats_table() -> str:
    """The unit table as aligned text (used by the chapter)."""
    cols = ["speed", "dmg", "range", "sight", "radius", "hp", "cooldown"]
    keys = list(DEFAULT_STATS)
    lines = ["type        " + " ".join(f"{c:>8}" for c in cols)]
    for t, name in enumerate(UNIT_NAMES):
        vals = [DEFAULT_STATS[k][t] for k in keys]
        lines.append(f"{name:<10}{UNIT_SHORTHANDS[t]:>2} " + " ".join(f"{v:>8.4g}" for v in vals))
    return "\n".join(lines)


def as_f32(values, name: str = "unit stats") -> np.ndarray:
    """A per-type stat as a float32 vector of any length >= 1 (entry t is unit type t).

    jaxmarl accepts arrays shorter than the six types (e.g. one entry for an all-marine battle) and
    silently clamps an out-of-range type index; :func:`check_stats_cover` turns that case into an error.
    """
    arr = np.asarray(values, dtype=np.float32)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(
            f"{name} must be a 1-D array with one entry per unit type, got {arr.shape}"
        )
    return arr


def check_stats_cover(stats: dict, types_in_use) -> None:
    """ValueError naming the stat and the unit type when a type in use has no entry in a stat array."""
    need = int(max(types_in_use)) if len(types_in_use) else 0
    for name, arr in stats.items():
        if arr.shape[0] <= need:
            missing = sorted({int(t) for t in types_in_use if int(t) >= arr.shape[0]})
            raise ValueError(
                f"{name} has {arr.shape[0]} entries (unit types 0..{arr.shape[0] - 1}) but the battle "
                f"uses unit types {missing} ({', '.join(UNIT_NAMES[t] for t in missing)}); "
                f"give at least {need + 1} entries"
            )
