"""Early warning of outbreaks: CDC EARS C1-C3 and Farrington flexible, as R ``surveillance`` 1.20.3.

The R package is the reference, so its quirks are kept on purpose (each is marked "as in R"):
C3's bound ignores the current C2 statistic, the Farrington score of ``nbPlugin``/``muan``
compares a count with the linear predictor, and the standard error of the prediction uses the
unfloored dispersion while the threshold uses ``phi = max(dispersion, 1)``. Where R returns
``NA`` (a zero standard deviation in C3, a GLM that does not converge, fewer than five cases in
the last four weeks) the upper bound is ``nan`` and the time point does not alarm.

Time points are 1-based positions as in R (``t`` of the input is only relabelled); a range is
inclusive and given in ``t``.
"""

from __future__ import annotations

import builtins
import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from twonets.core.errors import Invalid

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
EarsMethod = Literal["C1", "C2", "C3"]
ThresholdMethod = Literal["delta", "nbPlugin", "muan"]

# glm.control() defaults of R: relative deviance change and iteration cap of the IRLS loop.
_GLM_EPSILON = 1e-8
_GLM_MAXIT = 25
_DOUBLE_EPS = float(np.finfo(np.float64).eps)
# surveillance's limit54: no alarm unless at least 5 cases in the last 4 time points.
_LIMIT_CASES, _LIMIT_PERIOD = 5, 4
_HUGE_MEAN = 1e15


@dataclass(frozen=True)
class Detection:
    """One time point of a detection run: its count, upper bound (nan if none) and alarm."""

    t: int
    observed: float
    upperbound: float
    alarm: bool


# ---------------------------------------------------------------------------------------------
# Input


def read_series_csv(text: str) -> tuple[IntArray, FloatArray]:
    """Parse a CSV with columns ``t,observed`` (``date`` and other columns ignored)."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise Invalid.field("input", "empty", "the file is empty; expected a header t,observed")
    header = [cell.strip() for cell in rows[0]]
    for column in ("t", "observed"):
        if column not in header:
            raise Invalid.field(
                "input", "missing-column", f"line 1: the header has no column {column!r}"
            )
    i_t, i_obs = header.index("t"), header.index("observed")
    ts: list[int] = []
    values: list[float] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise Invalid.field(
                "input",
                "field-count",
                f"line {line_no}: {len(row)} fields where the header has {len(header)}",
            )
        raw_t, raw_obs = row[i_t].strip(), row[i_obs].strip()
        try:
            t = int(raw_t)
        except ValueError:
            raise Invalid.field(
                "input", "t-integer", f"line {line_no}: t {raw_t!r} is not an integer"
            ) from None
        try:
            value = float(raw_obs)
        except ValueError:
            raise Invalid.field(
                "input", "observed-number", f"line {line_no}: observed {raw_obs!r} is not a number"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise Invalid.field(
                "input",
                "observed-count",
                f"line {line_no}: observed {raw_obs!r} is not a finite count >= 0",
            )
        if ts and t != ts[-1] + 1:
            raise Invalid.field(
                "input",
                "t-consecutive",
                f"line {line_no}: t {t} does not follow t {ts[-1]} (t must increase by 1)",
            )
        ts.append(t)
        values.append(value)
    if not ts:
        raise Invalid.field("input", "no-rows", "the file has a header but no data rows")
    return np.asarray(ts, dtype=np.int64), np.asarray(values, dtype=np.float64)


def _series(
    observed: Sequence[float] | FloatArray, t: Sequence[int] | IntArray | None
) -> tuple[FloatArray, IntArray]:
    """Check the counts (finite, >= 0) and their labels (consecutive integers)."""
    x = np.asarray(observed, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise Invalid.field("observed", "shape", "must be a non-empty one-dimensional series")
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise Invalid.field("observed", "count", "every count must be finite and >= 0")
    if t is None:
        labels = np.arange(1, x.size + 1, dtype=np.int64)
    else:
        labels = np.asarray(t, dtype=np.int64)
        if labels.shape != x.shape:
            raise Invalid.field("t", "shape", "must have one label per count")
        if labels.size > 1 and np.any(np.diff(labels) != 1):
            raise Invalid.field("t", "consecutive", "labels must increase by 1")
    return x, labels


def _positions(
    labels: IntArray, range_: tuple[int, int] | None, default_first: int, needed: int, why: str
) -> tuple[int, int]:
    """0-based first and last positions of ``range_`` (inclusive, in ``t``), checked."""
    n = labels.size
    if range_ is None:
        first, last = default_first, n - 1
        if first > last:
            raise Invalid.field(
                "observed",
                "too-short",
                f"{n} time points; {why} needs {needed} earlier ones before the first result",
            )
        return first, last
    start, stop = range_
    t0, t_end = int(labels[0]), int(labels[-1])
    if start > stop:
        raise Invalid.field("range", "order", f"{start}:{stop} starts after it ends")
    if start < t0 or stop > t_end:
        raise Invalid.field(
            "range", "outside", f"{start}:{stop} is outside the series' t {t0}..{t_end}"
        )
    first, last = start - t0, stop - t0
    if first < needed:
        raise Invalid.field(
            "range",
            "too-early",
            f"starts at t={start} but {why} needs {needed} earlier time points; "
            f"the earliest start is t={t0 + needed}",
        )
    return first, last


def _check_alpha(alpha: float) -> None:
    if not (0.0 < alpha < 1.0):
        raise Invalid.field("alpha", "open-unit", f"must be between 0 and 1 (got {alpha})")


# ---------------------------------------------------------------------------------------------
# EARS


def ears(
    observed: Sequence[float] | FloatArray,
    *,
    method: EarsMethod,
    alpha: float | None = None,
    baseline: int = 7,
    range: tuple[int, int] | None = None,
    t: Sequence[int] | IntArray | None = None,
) -> list[Detection]:
    """CDC EARS C1, C2 or C3 (``surveillance::earsC``); alpha defaults to 0.001, C3 0.025."""
    x, labels = _series(observed, t)
    if method not in ("C1", "C2", "C3"):
        raise Invalid.field("method", "choice", f"must be C1, C2 or C3 (got {method!r})")
    if baseline < 3:
        raise Invalid.field("baseline", "minimum", f"must be at least 3 (got {baseline})")
    if alpha is None:
        alpha = 0.025 if method == "C3" else 0.001
    _check_alpha(alpha)
    max_lag = {"C1": baseline, "C2": baseline + 2, "C3": baseline + 4}[method]
    first, last = _positions(
        labels, range, max_lag, max_lag, f"EARS {method} with baseline {baseline}"
    )
    z = float(stats.norm.ppf(1.0 - alpha))
    lag = 0 if method == "C1" else 2
    # Reference values of position k: the `baseline` values ending `lag` before k.
    ks = np.arange(first - (2 if method == "C3" else 0), last + 1)
    windows = np.stack([x[k - lag - baseline : k - lag] for k in ks])
    mean = windows.mean(axis=1)
    sd = windows.std(axis=1, ddof=1)
    # IEEE arithmetic as in R: a zero sd gives nan (no bound), an alpha near 0 an infinite z.
    with np.errstate(divide="ignore", invalid="ignore"):
        if method != "C3":
            upper = mean + z * sd
        else:
            c2 = (x[ks] - mean) / sd
            part = np.maximum(0.0, c2[:-2] - 1.0) + np.maximum(0.0, c2[1:-1] - 1.0)
            # As in R: the bound uses the two earlier C2 statistics, not the current one.
            upper = np.maximum(0.0, x[ks[2:]] + sd[2:] * (z - part))
    return _detections(labels, x, first, upper)


def _detections(labels: IntArray, x: FloatArray, first: int, upper: FloatArray) -> list[Detection]:
    out = []
    for i, bound in enumerate(upper.tolist()):
        k = first + i
        obs = float(x[k])
        out.append(Detection(int(labels[k]), obs, float(bound), bool(obs > bound)))
    return out


# ---------------------------------------------------------------------------------------------
# Farrington flexible: GLM


@dataclass(frozen=True)
class _Fit:
    """A converged quasi-Poisson fit, with what summary(), hatvalues() and predict() need."""

    coef: FloatArray
    mu: FloatArray
    hat: FloatArray
    cov_unscaled: FloatArray
    dispersion: float
    # What summary.glm() reports once fitGLM.flexible has overwritten model$weights with the
    # prior weights omega: sum(omega * ((y - mu) / mu)^2) / df. R uses it, not `dispersion`, for
    # the trend's t test and the standard error of the prediction.
    summary_dispersion: float
    df_residual: int


def _irls(x: FloatArray, y: FloatArray, prior: FloatArray) -> _Fit | None:
    """R's ``glm.fit`` for ``quasipoisson(link="log")``; ``None`` if it cannot converge."""
    n, p = x.shape
    if n <= p:
        return None
    mu = y + 0.1  # poisson()$initialize
    eta = np.log(mu)
    dev_old = _deviance(y, mu, prior)
    for _ in range(_GLM_MAXIT):
        mu_eta = np.maximum(np.exp(eta), _DOUBLE_EPS)
        z = eta + (y - mu) / mu_eta
        w = np.sqrt(prior * mu_eta**2 / mu)
        xw = x * w[:, None]
        coef, _, rank, _ = np.linalg.lstsq(xw, z * w, rcond=None)
        if rank < p or not np.all(np.isfinite(coef)):
            return None
        eta = x @ coef
        mu = np.maximum(np.exp(eta), _DOUBLE_EPS)
        dev = _deviance(y, mu, prior)
        if not math.isfinite(dev):
            return None
        if abs(dev - dev_old) / (abs(dev) + 0.1) < _GLM_EPSILON:
            break
        dev_old = dev
    else:
        return None
    # As in R: working weights and QR are those of the last iteration, residuals use final mu.
    try:
        cov = np.linalg.inv(xw.T @ xw)
    except np.linalg.LinAlgError:
        return None
    hat = np.einsum("ij,jk,ik->i", xw, cov, xw)
    mu_eta = np.maximum(np.exp(eta), _DOUBLE_EPS)
    residuals = (y - mu) / mu_eta
    work = w**2
    df = int(np.count_nonzero(prior > 0)) - p
    if df <= 0:
        return None
    dispersion = float(np.sum((work * residuals**2)[work > 0]) / df)
    summary_dispersion = float(np.sum((prior * residuals**2)[prior > 0]) / df)
    if not (math.isfinite(dispersion) and math.isfinite(summary_dispersion)):
        return None
    return _Fit(coef, mu, hat, cov, dispersion, summary_dispersion, df)


def _deviance(y: FloatArray, mu: FloatArray, prior: FloatArray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return float(np.sum(2.0 * prior * (ylogy - (y - mu))))


def _fit_flexible(
    x: FloatArray, y: FloatArray, weights_threshold: float
) -> tuple[_Fit, float] | None:
    """``algo.farrington.fitGLM.flexible`` with reweighting: the fit and its ``phi``."""
    first = _irls(x, y, np.ones_like(y))
    if first is None:
        return None
    phi = max(first.dispersion, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = 1.5 * (y ** (2 / 3) * first.mu ** (-1 / 6) - first.mu**0.5)
        s = s / np.sqrt(phi * (1.0 - first.hat))
        high = s > weights_threshold
        gamma = y.size / np.sum(np.where(high, s**-2.0, 1.0))
        omega = np.where(high, gamma * s**-2.0, gamma)
    if not np.all(np.isfinite(omega)) or np.any(omega <= 0):
        return None
    second = _irls(x, y, omega)
    if second is None:
        return None
    return second, max(second.dispersion, 1.0)


def _design(
    positions: IntArray, groups: IntArray, trend: bool, now: int, level: int
) -> tuple[FloatArray, FloatArray]:
    """Model matrix (intercept, wtime, treatment dummies) and the row to predict at ``now``."""
    levels = sorted(set(groups.tolist()))
    columns = [np.ones(positions.size)]
    row = [1.0]
    if trend:
        columns.append(positions.astype(np.float64))
        row.append(float(now))
    for lev in levels[1:]:
        columns.append((groups == lev).astype(np.float64))
        row.append(1.0 if lev == level else 0.0)
    return np.column_stack(columns), np.asarray(row)


@dataclass(frozen=True)
class _Prediction:
    fit: float  # response scale for "delta", link scale otherwise (as typePred in R)
    se_fit: float
    phi: float


def _predict(
    positions: IntArray,
    groups: IntArray,
    y: FloatArray,
    *,
    now: int,
    level: int,
    b: int,
    weights_threshold: float,
    p_threshold_trend: float,
    link_scale: bool,
) -> _Prediction | None:
    """``algo.farrington.glm``: fit with trend, keep it only if significant and sane, predict."""
    if level not in set(groups.tolist()):
        return None
    x, x0 = _design(positions, groups, True, now, level)
    fitted = _fit_flexible(x, y, weights_threshold)
    if fitted is None:
        x, x0 = _design(positions, groups, False, now, level)
        fitted = _fit_flexible(x, y, weights_threshold)
        if fitted is None:
            return None
    else:
        fit, _ = fitted
        eta = float(x0 @ fit.coef)
        se_t = math.sqrt(fit.summary_dispersion * fit.cov_unscaled[1, 1])
        p_value = (
            float(2.0 * stats.t.sf(abs(float(fit.coef[1]) / se_t), fit.df_residual))
            if se_t > 0
            else math.nan
        )
        significant = p_value < p_threshold_trend
        no_extrapolation = (math.exp(eta) if eta < 709.0 else math.inf) <= float(np.max(y))
        if not (b >= 3 and significant and no_extrapolation):
            x, x0 = _design(positions, groups, False, now, level)
            fitted = _fit_flexible(x, y, weights_threshold)
            if fitted is None:
                return None
    fit, phi = fitted
    eta = float(x0 @ fit.coef)
    # As in R: predict.glm's se.fit uses summary()'s dispersion, not phi.
    se_link = math.sqrt(max(float(x0 @ fit.cov_unscaled @ x0), 0.0) * fit.summary_dispersion)
    if link_scale:
        return _Prediction(eta, se_link, phi)
    mu = math.exp(eta) if eta < 709.0 else math.inf
    return _Prediction(mu, se_link * mu, phi)


# ---------------------------------------------------------------------------------------------
# Farrington flexible: thresholds


def _threshold_delta(pred: _Prediction, alpha: float) -> float:
    """``algo.farrington.threshold.farrington`` with the 2/3-power transformation."""
    mu0 = pred.fit
    with np.errstate(all="ignore"):
        tau = pred.phi + pred.se_fit**2 / np.float64(mu0)
        se = np.sqrt(4.0 / 9.0 * np.float64(mu0) ** (1.0 / 3.0) * tau)
        z = float(stats.norm.ppf(1.0 - alpha))
        bounds = np.power(np.float64(mu0) ** (2.0 / 3.0) + np.array([-z, z]) * se, 1.5)
    finite = [float(v) for v in bounds if not math.isnan(float(v))]
    return max(finite) if finite else math.nan


def _threshold_noufaily(pred: _Prediction, alpha: float, method: ThresholdMethod) -> float:
    """``algo.farrington.threshold.noufaily``: negative binomial (or Poisson) quantile."""
    if method == "nbPlugin":
        mu_q = math.exp(pred.fit) if pred.fit < 709.0 else math.inf
    else:
        q = pred.fit + float(stats.norm.ppf(1.0 - alpha)) * pred.se_fit  # qnorm(1-alpha, fit, se)
        mu_q = math.exp(q) if q < 709.0 else math.inf
    if not math.isfinite(mu_q):
        return math.nan
    if mu_q == 0.0:
        return 0.0  # qnbinom and qpois of a zero mean, as in R
    if mu_q > _HUGE_MEAN:
        # scipy's discrete quantile search never ends past ~4e15, where doubles no longer hold
        # every integer anyway: the normal approximation is exact to double precision there.
        z = float(stats.norm.ppf(1.0 - alpha))
        return math.ceil(mu_q + z * math.sqrt(mu_q * max(pred.phi, 1.0)))
    if pred.phi > 1:
        upper = stats.nbinom.ppf(1.0 - alpha, mu_q / (pred.phi - 1.0), 1.0 / pred.phi)
    else:
        upper = stats.poisson.ppf(1.0 - alpha, mu_q)
    return float(upper)


# ---------------------------------------------------------------------------------------------
# Farrington flexible


def farrington_flexible(
    observed: Sequence[float] | FloatArray,
    *,
    b: int = 5,
    w: int = 3,
    no_periods: int = 1,
    weights_threshold: float = 2.58,
    past_weeks_not_included: int | None = None,
    p_threshold_trend: float = 0.05,
    threshold_method: ThresholdMethod = "delta",
    alpha: float = 0.05,
    freq: int = 52,
    range: tuple[int, int] | None = None,
    t: Sequence[int] | IntArray | None = None,
) -> list[Detection]:
    """``surveillance::farringtonFlexible`` (Noufaily et al. 2013) with its defaults.

    ``past_weeks_not_included`` defaults to ``w`` as in R; no population offset.
    """
    x, labels = _series(observed, t)
    _check_farrington(b, w, no_periods, weights_threshold, p_threshold_trend, freq)
    _check_alpha(alpha)
    if threshold_method not in ("delta", "nbPlugin", "muan"):
        raise Invalid.field(
            "threshold_method",
            "choice",
            f"must be delta, nbPlugin or muan (got {threshold_method!r})",
        )
    pwni = w if past_weeks_not_included is None else past_weeks_not_included
    if pwni < 0:
        raise Invalid.field("past_weeks_not_included", "minimum", f"must be >= 0 (got {pwni})")
    needed = freq * b + w
    first, last = _positions(
        labels, range, needed, needed, f"Farrington with b={b}, w={w}, freq={freq}"
    )
    out = []
    for k in np.arange(first, last + 1).tolist():
        bound, score = _farrington_at(
            x,
            k,
            b=b,
            w=w,
            no_periods=no_periods,
            weights_threshold=weights_threshold,
            pwni=pwni,
            p_threshold_trend=p_threshold_trend,
            threshold_method=threshold_method,
            alpha=alpha,
            freq=freq,
        )
        obs = float(x[k])
        alarm = not math.isnan(score) and score > 1 and obs != 0
        out.append(Detection(int(labels[k]), obs, bound, alarm))
    return out


def _blocks(n: int, k: int, *, b: int, w: int, no_periods: int, freq: int) -> IntArray:
    """``blocks()``: the season group of each position (0 where unused), for time point ``k``."""
    groups = np.zeros(n, dtype=np.int64)
    p = no_periods
    groups[k - w : k + 1] = p
    for i in builtins.range(1, b + 1):
        ref = k - i * freq
        groups[ref - w : ref + w + 1] = p
        if p != 1:
            period = freq - 2 * w - 1
            lengths = np.full(p - 1, period // (p - 1))
            lengths[: period % (p - 1)] += 1
            edges = np.concatenate([[0], np.cumsum(lengths)]) + ref + w + 1
            for j in builtins.range(1, p):
                groups[edges[j - 1] : edges[j]] = j
    return groups


def _farrington_at(
    x: FloatArray,
    k: int,
    *,
    b: int,
    w: int,
    no_periods: int,
    weights_threshold: float,
    pwni: int,
    p_threshold_trend: float,
    threshold_method: ThresholdMethod,
    alpha: float,
    freq: int,
) -> tuple[float, float]:
    """Upper bound and score at 0-based position ``k`` (nan, nan where R gives NA)."""
    groups = _blocks(x.size, k, b=b, w=w, no_periods=no_periods, freq=freq)
    groups[max(0, k - pwni) : k + 1] = 0
    used = np.flatnonzero(groups)
    if used.size == 0:
        return math.nan, math.nan
    pred = _predict(
        (used + 1).astype(np.int64),
        groups[used],
        x[used],
        now=k + 1,
        level=no_periods,
        b=b,
        weights_threshold=weights_threshold,
        p_threshold_trend=p_threshold_trend,
        link_scale=threshold_method != "delta",
    )
    if pred is None:
        return math.nan, math.nan
    if threshold_method == "delta":
        upper = _threshold_delta(pred, alpha)
    else:
        upper = _threshold_noufaily(pred, alpha, threshold_method)
    if float(np.sum(x[max(0, k - _LIMIT_PERIOD + 1) : k + 1])) < _LIMIT_CASES:
        return math.nan, math.nan
    if math.isnan(upper):
        return math.nan, math.nan
    # As in R: for nbPlugin and muan the fit is on the link scale, so the score mixes scales.
    with np.errstate(all="ignore"):
        score = float(np.float64(x[k] - pred.fit) / np.float64(upper - pred.fit))
    return upper, score


def _check_farrington(
    b: int, w: int, no_periods: int, weights_threshold: float, p_threshold_trend: float, freq: int
) -> None:
    if b < 1:
        raise Invalid.field("b", "minimum", f"must be at least 1 year back (got {b})")
    if w < 0:
        raise Invalid.field("w", "minimum", f"must be >= 0 (got {w})")
    if freq < 1:
        raise Invalid.field("freq", "minimum", f"must be >= 1 (got {freq})")
    if 2 * w + 1 > freq:
        raise Invalid.field("w", "window", f"windows of 2w+1={2 * w + 1} exceed freq={freq}")
    if no_periods < 1:
        raise Invalid.field("no_periods", "minimum", f"must be >= 1 (got {no_periods})")
    if no_periods > 1 and no_periods > freq - 2 * w:
        raise Invalid.field(
            "no_periods",
            "too-many",
            f"{no_periods} periods do not fit between windows (at most freq-2w={freq - 2 * w})",
        )
    if not math.isfinite(weights_threshold) or weights_threshold <= 0:
        raise Invalid.field(
            "weights_threshold", "positive", f"must be > 0 (got {weights_threshold})"
        )
    if not (0.0 <= p_threshold_trend <= 1.0):
        raise Invalid.field(
            "p_threshold_trend", "unit", f"must be between 0 and 1 (got {p_threshold_trend})"
        )
