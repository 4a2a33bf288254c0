"""The config contract: validation at construction, presets by name, errors that name the field."""

import dataclasses
from typing import ClassVar

import pytest

from rlbook.config import Config, check_choice, check_float, check_int, check_number


@dataclasses.dataclass(frozen=True)
class Toy(Config):
    PRESETS: ClassVar[dict] = {"book": dict(n=2), "paper": dict(n=64, lr=0.5)}
    n: int = 1
    lr: float = 0.1
    mode: str = "a"

    def validate(self):
        check_int(self, "n", lo=1)
        check_float(self, "lr", lo=0.0, lo_open=True, hi=1.0)
        check_choice("mode", self.mode, ("a", "b"))


def test_preset_and_overrides():
    assert Toy.preset("book") == Toy(n=2)
    assert Toy.preset("paper", mode="b") == Toy(n=64, lr=0.5, mode="b")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(n=0), "n"),
        (dict(n=1.5), "n"),
        (dict(n=True), "n"),
        (dict(lr=0.0), "lr"),
        (dict(lr=2.0), "lr"),
        (dict(lr=float("nan")), "lr"),
        (dict(mode="c"), "mode"),
    ],
)
def test_bad_fields_raise_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field}="):
        Toy(**kwargs)


def test_unknown_preset_and_unknown_override():
    with pytest.raises(ValueError, match="preset='huge'.*'book', 'paper'"):
        Toy.preset("huge")
    with pytest.raises(ValueError, match="no field 'lrr'"):
        Toy.preset("book", lrr=0.1)


def test_replace_validates_again():
    with pytest.raises(ValueError, match="^n="):
        Toy().replace(n=-1)


def test_check_number_interval_text():
    with pytest.raises(ValueError, match=r"gamma=1\.5 must lie in \[0, 1\)"):
        check_number("gamma", 1.5, 0.0, 1.0, hi_open=True)
