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


def as_f32(values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float32)
    if arr.shape != (NUM_UNIT_TYPES,):
        raise ValueError(
            f"unit stats must have {NUM_UNIT_TYPES} entries (one per type), got {arr.shape}"
        )
    return arr
