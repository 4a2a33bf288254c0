"""The tested set of versions is one: pyproject, constraints.txt and environment.yml agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for ln in (ROOT / "constraints.txt").read_text().splitlines():
        ln = ln.strip()
        if ln and not ln.startswith("#"):
            name, _, ver = ln.partition("==")
            assert ver, f"constraints.txt line not an exact pin: {ln!r}"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = ver
    return pins


def _deps() -> list[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        deps += extra
    return [re.split(r"[<>=!~\[; ]", d)[0] for d in deps]


def test_every_dependency_is_pinned():
    pins = _pins()
    missing = [d for d in _deps() if re.sub(r"[-_.]+", "-", d).lower() not in pins]
    assert not missing, f"add exact pins to constraints.txt for: {missing}"


def test_environment_yml_installs_the_same_thing():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-c constraints.txt" in pip, "environment.yml must install with the same constraints"
    assert "-e .[dev]" in pip


def test_makefile_installs_with_constraints():
    mk = (ROOT / "Makefile").read_text()
    assert '-c constraints.txt -e ".[dev]"' in mk


def test_installed_versions_match_pins():
    from importlib.metadata import version

    pins = _pins()
    for pkg in (
        "jax",
        "jaxlib",
        "flax",
        "optax",
        "numpy",
        "matplotlib",
        "seaborn",
        "ipywidgets",
        "nbval",
    ):
        assert version(pkg) == pins[pkg], f"{pkg} {version(pkg)} != pinned {pins[pkg]}"


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and "make test" in ci
