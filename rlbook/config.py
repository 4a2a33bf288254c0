"""The config contract every experiment follows.

A config is a frozen dataclass that checks itself at construction (``__post_init__`` calls ``validate``),
so a bad value fails loudly before anything is traced or compiled, with a ``ValueError`` that names the
field and what it may be. Named sizes live in one class attribute, ``PRESETS``, and are built with
``Config.preset(name, **overrides)``::

    @dataclasses.dataclass(frozen=True)
    class MyConfig(Config):
        PRESETS: ClassVar[dict] = {"book": dict(num_envs=16), "paper": dict(num_envs=4096)}
        num_envs: int = 16
        lr: float = 3e-4

        def validate(self):
            check_int(self, "num_envs", lo=1)
            check_float(self, "lr", lo=0.0, lo_open=True)

    MyConfig.preset("book", lr=1e-3)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any, ClassVar


def _bounds(lo, hi, lo_open, hi_open) -> str:
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    return f"{left}{lo_s}, {hi_s}{right}"


def check_number(
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a finite number in the interval."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int | float) and not isinstance(value, bool)
    if integer:
        ok_type = isinstance(value, int) and not isinstance(value, bool)
    if not ok_type or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be {kind} in {_bounds(lo, hi, lo_open, hi_open)}")
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    too_high = hi is not None and (value >= hi if hi_open else value > hi)
    if too_low or too_high:
        raise ValueError(f"{name}={value!r} must lie in {_bounds(lo, hi, lo_open, hi_open)}")


def check_int(cfg: Any, *fields: str, lo: int | None = 1, hi: int | None = None) -> None:
    """Each named integer field of ``cfg`` lies in [lo, hi] (default: >= 1)."""
    for f in fields:
        check_number(f, getattr(cfg, f), lo, hi, integer=True)


def check_float(
    cfg: Any,
    *fields: str,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Each named numeric field of ``cfg`` is finite and lies in the interval."""
    for f in fields:
        check_number(f, getattr(cfg, f), lo, hi, lo_open=lo_open, hi_open=hi_open)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise ``ValueError`` naming ``name`` and listing the valid values unless ``value`` is one of them."""
    choices = tuple(choices)
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={value!r} is not valid; valid: {valid}")


@dataclasses.dataclass(frozen=True)
class Config:
    """Base of every frozen config: validated at construction, built from named presets."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:  # overridden by each config
        """Raise ``ValueError`` naming the first bad field."""

    @classmethod
    def preset(cls, name: str, **overrides: Any):
        """The config of preset ``name`` (e.g. 'book', 'medium', 'paper') with ``overrides`` applied."""
        check_choice("preset", name, cls.PRESETS)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ValueError(
                f"{cls.__name__} has no field {unknown[0]!r}; fields: {', '.join(sorted(fields))}"
            )
        return cls(**{**cls.PRESETS[name], **overrides})

    def replace(self, **changes: Any):
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
