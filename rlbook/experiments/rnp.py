"""Chapter 11 experiment: neural processes on GP curves, an RNP-style model on a drifting oscillator, two
real series and a simulated two-tank system.

Arms (every one trained by ``rlbook.np.train.make_train`` from the preset's sizes):

* GP curves with random kernels: CNP and latent NP, scored on 256 curves with 10 contexts and 40 targets
  next to the exact GP oracle (true kernel, float64);
* drifting oscillator (T = 400, L = 20): RNP vs NP (time as input), interpolation (held-out points of
  chunks with context) and forecasts 1 and 2 chunks ahead; a linear probe of the true log-frequency
  from the RNP's slow state;
* ``co2`` (weekly, L = 26) and ``sunspots`` (yearly, L = 11): RNP, NP, LSTM and a fitted GP (slow RBF +
  locally periodic kernel) on windows of the last 20-25% of each series, one forecast chunk;
* two-tank system identification: the RNP trained on a fixed pool of 1, 4 or 16 sequences.

The real-series and two-tank arms train for half the preset's steps; the ``tiny`` smoke preset keeps one
series and one pool so that it exercises every model and task in a fraction of the compile time. ``results`` keeps every score, the
training curves, runtime against n, and the trained parameters of the models the chapter's widgets use.
"""

from __future__ import annotations

import base64
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from rlbook.experiments import Experiment
from rlbook.np import data, gp
from rlbook.np.metrics import to_floats
from rlbook.np.train import NPConfig, eval_batch, evaluate, make_model, make_train, predict

DESCRIPTION = (
    "CNP/NP vs GP oracle on GP curves; RNP-style vs NP on a drifting oscillator; co2, sunspots, "
    "two-tank"
)

SERIES_SHAPE = {"co2": dict(chunk=26, n_chunks=8), "sunspots": dict(chunk=11, n_chunks=5)}
SERIES_KERNEL = {  # initial GP hyperparameters (times in steps), fitted on training windows
    "co2": dict(
        trend_len=100.0,
        trend_scale=1.0,
        period=52.18,
        per_len=1.0,
        per_scale=1.0,
        decay_len=300.0,
        noise=0.1,
    ),
    "sunspots": dict(
        trend_len=20.0,
        trend_scale=0.5,
        period=11.0,
        per_len=1.0,
        per_scale=1.0,
        decay_len=30.0,
        noise=0.3,
    ),
}
TANK_POOLS = (1, 4, 16)
KEEP_PARAMS = ("gp_cnp", "gp_np", "oscillator_rnp", "oscillator_np")
RUNTIME_NS = (10, 100, 300, 1000, 2000)


def series_names(preset: str) -> tuple[str, ...]:
    """The real series of a preset: ``tiny`` (the smoke test) runs one, every other preset both."""
    return ("sunspots",) if preset == "tiny" else tuple(SERIES_SHAPE)


def tank_pools(preset: str) -> tuple[int, ...]:
    """Two-tank training-pool sizes: ``tiny`` runs one, every other preset all of ``TANK_POOLS``."""
    return TANK_POOLS[:1] if preset == "tiny" else TANK_POOLS


def arms(preset: str) -> dict[str, NPConfig]:
    base = NPConfig.preset(preset)
    half = max(base.steps // 2, 1)
    out = {
        "gp_cnp": base.replace(model="cnp", task="gp"),
        "gp_np": base.replace(model="np", task="gp"),
        "oscillator_rnp": base.replace(model="rnp", task="oscillator"),
        "oscillator_np": base.replace(model="np", task="oscillator"),
    }
    for name in series_names(preset):
        for model in ("rnp", "np", "lstm"):
            out[f"{name}_{model}"] = base.replace(
                model=model, task=name, steps=half, **SERIES_SHAPE[name]
            )
    for n in tank_pools(preset):
        out[f"two_tank_rnp_{n}"] = base.replace(
            model="rnp", task="two_tank", n_chunks=10, steps=half, n_train_seq=n
        )
    return out


def config(preset: str) -> dict:
    return {name: cfg.to_dict() for name, cfg in arms(preset).items()}


def params_to_text(params) -> str:
    return base64.b64encode(serialization.to_bytes(params)).decode()


def params_from_text(cfg: NPConfig, text: str):
    """Parameters stored by ``params_to_text`` for a model of ``cfg``."""
    b = eval_batch(cfg, jax.random.key(0), 1)
    target = make_model(cfg).init(
        jax.random.key(0), b.x, b.y, b.mask_c, b.mask_t, jax.random.key(0)
    )
    return serialization.from_bytes(target, base64.b64decode(text))


def _aggregate(parts: list[dict]) -> dict:
    """Numpy version of ``rlbook.np.metrics.score`` for GP predictions (lists of per-sequence dicts)."""
    joint = [p["joint_ll"] / p["marginal_ll"].size for p in parts]
    marg = np.concatenate([p["marginal_ll"] for p in parts])
    sq = np.concatenate([p["sq_err"] for p in parts])
    dev = np.abs(np.concatenate([p["cdf"] for p in parts]) - 0.5)
    return {
        "joint_ll": float(np.mean(joint)),
        "marginal_ll": float(marg.mean()),
        "mse": float(sq.mean()),
        "rmse": float(np.sqrt(sq.mean())),
        "coverage68": float(np.mean(dev < 0.34)),
        "coverage95": float(np.mean(dev < 0.475)),
    }


def gp_scores(batch: data.Batch, kernels, noise, subsets: dict) -> dict:
    """Exact-GP scores of every subset mask (``name -> [B, N]``) given each sequence's contexts;
    ``kernels[i]`` and ``noise[i]`` are sequence i's kernel function and noise sd."""
    x = np.asarray(batch.x[..., 0], np.float64)
    y = np.asarray(batch.y[..., 0], np.float64)
    mc = np.asarray(batch.mask_c) > 0
    out = {}
    for name, mask in subsets.items():
        mask = np.asarray(mask) > 0
        parts = [
            gp.target_scores(
                x[i, mc[i]], y[i, mc[i]], x[i, mask[i]], y[i, mask[i]], kernels[i], noise[i]
            )
            for i in range(x.shape[0])
            if mask[i].any()
        ]
        out[name] = _aggregate(parts)
    return out


def _scores(cfg, params, batch, key) -> dict:
    return {k: to_floats(v) for k, v in evaluate(cfg, params, batch, key).items()}


def run_gp_curves(trained: dict, key, log) -> dict:
    batch, kparams = data.gp_curves(key, 256, 50, min_context=10, max_context=10)
    res = {m: _scores(trained[m][0], trained[m][1], batch, key) for m in ("gp_cnp", "gp_np")}
    kp = np.asarray(kparams, np.float64)
    kernels = [lambda a, b, l=l, s=s: gp.rbf(a, b, l, s) for l, s in kp]
    res["gp_oracle"] = gp_scores(batch, kernels, [data.JITTER] * 256, {"target": batch.mask_t})
    log(
        f"GP curves: NP {res['gp_np']['target']['joint_ll']:.3g}, oracle {res['gp_oracle']['target']['joint_ll']:.3g}"
    )
    return res


def slow_state_probe(cfg, params, key) -> dict:
    """R^2 (held-out half) of a ridge fit of the true mean log-frequency of chunk k from ``s_k``."""
    batch = eval_batch(cfg, key, 128)
    state = np.asarray(predict(cfg, params, batch, key, 1).state[0], np.float64)  # [B, K, ds]
    target = np.asarray(batch.aux, np.float64).reshape(128, cfg.n_chunks, cfg.chunk).mean(-1)
    s, t = state[:, 1:-1].reshape(-1, state.shape[-1]), target[:, 1:-1].reshape(-1)
    half = s.shape[0] // 2
    a = np.c_[s, np.ones(len(s))]
    w = np.linalg.solve(a[:half].T @ a[:half] + 1e-3 * np.eye(a.shape[1]), a[:half].T @ t[:half])
    resid = t[half:] - a[half:] @ w
    return {"r2": float(1 - resid.var() / t[half:].var()), "n_test": int(len(t) - half)}


def run_oscillator(trained: dict, key, log) -> dict:
    res = {}
    for h in (1, 2):
        batch = eval_batch(trained["oscillator_rnp"][0], jax.random.fold_in(key, h), 128, h)
        for m in ("oscillator_rnp", "oscillator_np"):
            res[f"{m}_h{h}"] = _scores(trained[m][0], trained[m][1], batch, key)
    res["probe"] = slow_state_probe(*trained["oscillator_rnp"], key)
    log(
        f"oscillator h1: RNP {res['oscillator_rnp_h1']['forecast']['joint_ll']:.3g}, NP {res['oscillator_np_h1']['forecast']['joint_ll']:.3g}"
    )
    return res


def run_series(name: str, trained: dict, key, log) -> dict:
    cfg = trained[f"{name}_rnp"][0]
    task = data.series_task(name, cfg.n_chunks, cfg.chunk)
    fit_batch = data.series_batch(task, jax.random.fold_in(key, 1), 6, test=False, n_forecast=0)
    windows = [
        (np.flatnonzero(o), np.asarray(y[o > 0, 0], np.float64))
        for o, y in zip(
            np.asarray(fit_batch.mask_c + fit_batch.mask_t), np.asarray(fit_batch.y), strict=True
        )
    ]
    params = gp.fit_periodic(windows, SERIES_KERNEL[name])
    batch = data.series_batch(task, key, 64, test=True, n_forecast=1)
    res = {
        m: _scores(trained[f"{name}_{m}"][0], trained[f"{name}_{m}"][1], batch, key)
        for m in ("rnp", "np", "lstm")
    }
    t_idx = batch.replace(
        x=jnp.broadcast_to(
            jnp.arange(batch.x.shape[1], dtype=jnp.float32)[None, :, None], batch.x.shape
        )
    )
    b, t = batch.mask_c.shape
    in_obs = np.repeat(
        np.asarray(batch.mask_c).reshape(b, -1, cfg.chunk).max(-1), cfg.chunk, axis=1
    )
    kern = lambda a, c: gp.periodic_rbf(a, c, params)  # noqa: E731
    res["gp"] = gp_scores(
        t_idx,
        [kern] * b,
        [params["noise"]] * b,
        {
            "interp": np.asarray(batch.mask_t) * in_obs,
            "forecast": np.asarray(batch.mask_t) * (1 - in_obs),
        },
    )
    res["gp_params"] = params
    log(
        f"{name}: forecast LL RNP {res['rnp']['forecast']['joint_ll']:.3g}, GP {res['gp']['forecast']['joint_ll']:.3g}"
    )
    return res


def runtime_vs_n(trained: dict, ns=RUNTIME_NS, repeats: int = 3) -> dict:
    """Seconds per prediction at n contexts and n targets: NP forward (jitted) vs exact GP (float64)."""
    cfg, params = trained["gp_np"]
    model = make_model(cfg)
    fwd = jax.jit(lambda b, k: model.apply(params, b.x, b.y, b.mask_c, b.mask_t, k, False).mu)
    out = {"n": list(ns), "np_s": [], "gp_s": []}
    kern = lambda a, b: gp.rbf(a, b, 0.3, 1.0)  # noqa: E731
    for n in ns:
        kx, ky = jax.random.split(jax.random.key(n))
        x = jax.random.uniform(kx, (1, 2 * n, 1), minval=-2.0, maxval=2.0)
        mc = (jnp.arange(2 * n) < n).astype(jnp.float32)[None]
        batch = data.Batch(x, jnp.sin(3 * x) + 0.1 * jax.random.normal(ky, x.shape), mc, 1 - mc, mc)
        jax.block_until_ready(fwd(batch, jax.random.key(0)))  # compile
        x, y = np.asarray(batch.x[0, :, 0], np.float64), np.asarray(batch.y[0, :, 0], np.float64)
        t_np, t_gp = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(fwd(batch, jax.random.key(0)))
            t_np.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            gp.posterior(x[:n], y[:n], x[n:], kern, data.JITTER)
            t_gp.append(time.perf_counter() - t0)
        out["np_s"].append(float(np.median(t_np)))
        out["gp_s"].append(float(np.median(t_gp)))
    return out


def train_all(preset: str, key, log) -> tuple[dict, dict]:
    trained, curves = {}, {}
    for i, (name, cfg) in enumerate(arms(preset).items()):
        t0 = time.perf_counter()
        out = jax.jit(make_train(cfg))(jax.random.fold_in(key, i))
        losses = np.asarray(out.losses)
        if not np.isfinite(losses).all():
            raise FloatingPointError(f"{name}: the training loss diverged (NaN/inf)")
        trained[name] = (cfg, out.params)
        curves[name] = losses[:: max(len(losses) // 200, 1)].tolist()
        log(
            f"trained {name}: loss {losses[:50].mean():.3g} -> {losses[-50:].mean():.3g} ({time.perf_counter() - t0:.0f} s)"
        )
    return trained, curves


def run(preset: str = "book", seed: int = 0, log=lambda msg: None):
    t0 = time.perf_counter()
    key = jax.random.key(seed)
    k_train, k_eval = jax.random.split(key)
    trained, curves = train_all(preset, k_train, log)
    res = {"gp_curves": run_gp_curves(trained, jax.random.fold_in(k_eval, 0), log)}
    res["oscillator"] = run_oscillator(trained, jax.random.fold_in(k_eval, 1), log)
    for j, name in enumerate(SERIES_SHAPE):
        if name in series_names(preset):
            res[name] = run_series(name, trained, jax.random.fold_in(k_eval, 2 + j), log)
    tank_batch = eval_batch(trained["two_tank_rnp_1"][0], jax.random.fold_in(k_eval, 9), 128, 1)
    res["two_tank"] = {
        n: _scores(*trained[f"two_tank_rnp_{n}"], tank_batch, k_eval) for n in tank_pools(preset)
    }
    res["runtime"] = runtime_vs_n(trained, RUNTIME_NS[:2] if preset == "tiny" else RUNTIME_NS)
    res["loss_curves"] = curves
    res["params"] = {name: params_to_text(trained[name][1]) for name in KEEP_PARAMS}
    summary = _summary(res)
    summary["wall_s"] = time.perf_counter() - t0
    return summary, res


def _summary(res: dict) -> dict:
    osc, gpc = res["oscillator"], res["gp_curves"]
    s = {
        "oscillator_rnp_forecast_ll": osc["oscillator_rnp_h1"]["forecast"]["joint_ll"],
        "oscillator_np_forecast_ll": osc["oscillator_np_h1"]["forecast"]["joint_ll"],
        "oscillator_rnp_interp_ll": osc["oscillator_rnp_h1"]["interp"]["joint_ll"],
        "oscillator_np_interp_ll": osc["oscillator_np_h1"]["interp"]["joint_ll"],
        "oscillator_rnp_coverage95": osc["oscillator_rnp_h1"]["forecast"]["coverage95"],
        "oscillator_rnp_interp_coverage95": osc["oscillator_rnp_h1"]["interp"]["coverage95"],
        "oscillator_rnp_forecast2_ll": osc["oscillator_rnp_h2"]["forecast"]["joint_ll"],
        "oscillator_np_forecast2_ll": osc["oscillator_np_h2"]["forecast"]["joint_ll"],
        "oscillator_probe_r2": osc["probe"]["r2"],
        "gp_np_target_ll": gpc["gp_np"]["target"]["joint_ll"],
        "gp_oracle_target_ll": gpc["gp_oracle"]["target"]["joint_ll"],
        "gp_cnp_target_marginal_ll": gpc["gp_cnp"]["target"]["marginal_ll"],
        "gp_oracle_target_marginal_ll": gpc["gp_oracle"]["target"]["marginal_ll"],
    }
    for name in (n for n in SERIES_SHAPE if n in res):
        for m in ("rnp", "np", "lstm", "gp"):
            s[f"{name}_{m}_forecast_ll"] = res[name][m]["forecast"]["joint_ll"]
            s[f"{name}_{m}_forecast_rmse"] = res[name][m]["forecast"]["rmse"]
    for n in res["two_tank"]:
        s[f"two_tank_{n}_forecast_ll"] = res["two_tank"][n]["forecast"]["joint_ll"]
    return s


EXPERIMENT = Experiment(
    "rnp", DESCRIPTION, run, config, presets=("tiny", "book", "paper"), chapter="11_rnp"
)
