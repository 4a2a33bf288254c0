"""Exact Gaussian-process regression in float64 (numpy/scipy): the oracle next to the neural processes.

Cost O(n^3) in the number of context points n (a Cholesky factor), against a neural process's O(n + m).
Kernels take times in the data's own units; hyperparameters are plain floats.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, optimize

LOG_2PI = np.log(2.0 * np.pi)


def rbf(x1, x2, length: float, scale: float) -> np.ndarray:
    """``scale^2 exp(-(x1 - x2)^2 / (2 length^2))``, float64, ``[N], [M] -> [N, M]``."""
    d = np.subtract.outer(np.asarray(x1, np.float64), np.asarray(x2, np.float64))
    return scale**2 * np.exp(-0.5 * (d / length) ** 2)


def periodic_rbf(x1, x2, params: dict) -> np.ndarray:
    """Slow RBF trend plus a locally periodic term: the kernel fitted to the real series.

    ``params``: ``trend_len, trend_scale, period, per_len, per_scale, decay_len`` (times in steps)."""
    d = np.subtract.outer(np.asarray(x1, np.float64), np.asarray(x2, np.float64))
    p = params
    trend = p["trend_scale"] ** 2 * np.exp(-0.5 * (d / p["trend_len"]) ** 2)
    per = np.exp(-2.0 * np.sin(np.pi * d / p["period"]) ** 2 / p["per_len"] ** 2)
    decay = np.exp(-0.5 * (d / p["decay_len"]) ** 2)
    return trend + p["per_scale"] ** 2 * per * decay


def _check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 1 or y.shape != x.shape:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    return x, y


def log_marginal(x, y, kernel, noise: float) -> float:
    """``log N(y; 0, K(x, x) + noise^2 I)`` via a Cholesky factor (float64)."""
    x, y = _check_xy(x, y)
    k = kernel(x, x) + noise**2 * np.eye(x.shape[0])
    c = linalg.cho_factor(k, lower=True)
    alpha = linalg.cho_solve(c, y)
    logdet = 2.0 * np.log(np.diag(c[0])).sum()
    return float(-0.5 * (y @ alpha + logdet + x.shape[0] * LOG_2PI))


def posterior(xc, yc, xt, kernel, noise: float, full_cov: bool = False):
    """Predictive mean and variance (of a noisy observation) at ``xt`` given contexts ``(xc, yc)``.

    With no context the prior is returned. ``full_cov=True`` returns the full predictive covariance."""
    xt = np.asarray(xt, np.float64)
    ktt = kernel(xt, xt) + noise**2 * np.eye(xt.shape[0])
    if np.asarray(xc).size == 0:
        mean, cov = np.zeros(xt.shape[0]), ktt
    else:
        xc, yc = _check_xy(xc, yc)
        c = linalg.cho_factor(kernel(xc, xc) + noise**2 * np.eye(xc.shape[0]), lower=True)
        kct = kernel(xc, xt)
        mean = kct.T @ linalg.cho_solve(c, yc)
        cov = ktt - kct.T @ linalg.cho_solve(c, kct)
    if full_cov:
        return mean, cov
    return mean, np.maximum(np.diag(cov), 1e-12)


def target_scores(xc, yc, xt, yt, kernel, noise: float) -> dict:
    """Per-point marginal and joint predictive log-likelihood of targets, squared errors and the
    predictive CDF at each target (for interval coverage)."""
    from scipy.stats import norm

    mean, cov = posterior(xc, yc, xt, kernel, noise, full_cov=True)
    var = np.maximum(np.diag(cov), 1e-12)
    yt = np.asarray(yt, np.float64)
    marg = -0.5 * (LOG_2PI + np.log(var) + (yt - mean) ** 2 / var)
    c = linalg.cho_factor(cov + 1e-9 * np.eye(cov.shape[0]), lower=True)
    r = yt - mean
    joint = -0.5 * (r @ linalg.cho_solve(c, r) + 2 * np.log(np.diag(c[0])).sum() + r.size * LOG_2PI)
    return {
        "marginal_ll": marg,
        "joint_ll": float(joint),
        "sq_err": r**2,
        "cdf": norm.cdf(r / np.sqrt(var)),
        "mean": mean,
        "sd": np.sqrt(var),
    }


FIT_KEYS = ("trend_len", "trend_scale", "period", "per_len", "per_scale", "decay_len", "noise")


def fit_periodic(windows: list[tuple[np.ndarray, np.ndarray]], init: dict) -> dict:
    """Maximise the summed log marginal likelihood of ``windows`` (pairs x, y) over the kernel's
    log-hyperparameters (L-BFGS, numerical gradients); ``init`` gives every key of ``FIT_KEYS``."""

    def unpack(theta):
        return dict(zip(FIT_KEYS, np.exp(theta), strict=True))

    def nll(theta):
        p = unpack(theta)
        try:
            return -sum(
                log_marginal(x, y, lambda a, b: periodic_rbf(a, b, p), p["noise"])
                for x, y in windows
            )
        except (linalg.LinAlgError, ValueError):
            return 1e10

    theta0 = np.log([init[k] for k in FIT_KEYS])
    res = optimize.minimize(nll, theta0, method="L-BFGS-B", options={"maxiter": 25})
    return unpack(res.x)
