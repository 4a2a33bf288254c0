"""Differential tests: the refactored PPO and IPPO/MAPPO give the numbers the pre-refactor code gave.

``tests/data/learners_922f2f9.npz`` was written by ``tests/data/record_learner_reference.py`` run on commit
922f2f9 (the learners before they were split into top-level pieces on ``rlbook.rl``). Each case here builds
the same config with today's field names, trains on the same key, and compares every metric and a summary of
every parameter leaf. On the machine that recorded them the refactored code gives the same bits; the
tolerance leaves room for another CPU's vector code to move the last bits. The file also holds two DQN
cases, recorded before DQN was removed from rlbook.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax
import numpy as np
import pytest

from rlbook.learners import mappo, ppo
from rlbook.rl.networks import NetConfig

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location(
    "record_learner_reference", DATA / "record_learner_reference.py"
)
REF = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(REF)
RECORDED = np.load(DATA / "learners_922f2f9.npz")
QUICK = {"ppo_dense", "ippo"}  # the rest are marked slow


def _nets(kw: dict) -> dict:
    return {k: NetConfig(**v) if k in ("actor", "critic", "net") else v for k, v in kw.items()}


def _cases(table: dict):
    return [
        pytest.param(name, kw, id=name, marks=() if name in QUICK else pytest.mark.slow)
        for name, kw in table.items()
    ]


def _compare(name: str, out, extra: tuple[str, ...] = ()) -> None:
    got = {
        **REF.flat(f"{name}/metrics", out.metrics),
        **REF.flat_params(f"{name}/params", out.params),
    }
    for k in extra:
        got[f"{name}/{k}"] = np.asarray(getattr(out, k))
    want = {k: RECORDED[k] for k in RECORDED.files if k.startswith(f"{name}/")}
    assert sorted(got) == sorted(want)
    for k, v in want.items():  # NaN where no episode ended compares equal
        np.testing.assert_allclose(got[k], v, rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("name,kw", _cases(REF.PPO_CASES))
def test_ppo_matches_pre_refactor(name, kw):
    cfg = ppo.PPOConfig(**_nets(kw))
    env, params = REF.short_cartpole(cfg.env_name)
    out = jax.jit(ppo.make_train(cfg, env, params))(jax.random.key(0))
    _compare(name, out)


@pytest.mark.parametrize("name,kw", _cases(REF.MAPPO_CASES))
def test_mappo_matches_pre_refactor(name, kw):
    out = jax.jit(mappo.make_train(mappo.MAPPOConfig(**kw)))(jax.random.key(0))
    _compare(name, out, ("eval_win_rate", "eval_return", "eval_finished"))
