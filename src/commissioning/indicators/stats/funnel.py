"""Funnel plot control limits and the classification of units against them.

A funnel plot compares units (practices, providers, areas) of different sizes with one
target: each unit's indicator is plotted against its denominator (or expected count) with
control limits that narrow as the denominator grows. Three statistics are supported:

* ``"proportion"``: numerator / denominator, binomial;
* ``"ratio"``: observed / expected (e.g. an SMR), Poisson with mean ``target × E``;
* ``"rate"``: events / population, Poisson with mean ``target × population``.

Targets and values are on the natural scale (a proportion in [0, 1], a rate per person,
a ratio with 1 as the reference); ``multiplier`` only scales what is returned.

References: Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat
Med 2005;24:1185-1202 (exact limits with interpolation, Appendix A; over-dispersion by an
additive random-effects model with winsorised z-scores, section 6). Spiegelhalter DJ.
Handling over-dispersion of performance indicators. Qual Saf Health Care 2005;14:347-51.
PHEindicatormethods ``phe_funnels``/``calculate_funnel_limits``.
See ``docs/methods/funnel-plots.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from commissioning.indicators.stats.intervals import FloatArray, check_confidence, z_value

Statistic = Literal["proportion", "ratio", "rate"]
Method = Literal["exact", "wilson"]

#: The two conventional funnel levels: about 2 and 3 standard deviations.
FUNNEL_LEVELS = (0.95, 0.998)


def _interpolated_quantile(
    cdf_at: FloatArray, cdf_below: FloatArray, r_p: FloatArray, probability: float
) -> FloatArray:
    # Spiegelhalter (2005) Appendix A.1: y_p = r_p - alpha, where
    # alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)), to smooth the discrete quantile.
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = (cdf_at - probability) / (cdf_at - cdf_below)
    return np.asarray(r_p - np.nan_to_num(alpha, nan=0.0))


def exact_poisson_limit(mean: npt.ArrayLike, probability: float) -> FloatArray:
    """Interpolated ``probability`` quantile of a Poisson count with the given mean.

    Spiegelhalter (2005), Appendix A.1: the smallest r with F(r) ≥ p, less the
    interpolation term; never below zero.
    """
    mu = np.asarray(mean, dtype=np.float64)
    r_p = stats.poisson.ppf(probability, mu)
    limit = _interpolated_quantile(
        stats.poisson.cdf(r_p, mu), stats.poisson.cdf(r_p - 1, mu), r_p, probability
    )
    return np.maximum(limit, 0.0)


def exact_binomial_limit(
    denominator: npt.ArrayLike, target: float, probability: float
) -> FloatArray:
    """Interpolated ``probability`` quantile of Binomial(n, target), divided by n.

    Spiegelhalter (2005), Appendix A.1; returns a proportion in [0, 1]. Denominators must
    be whole numbers; zero gives NaN.
    """
    n = np.asarray(denominator, dtype=np.float64)
    safe_n = np.where(n > 0, n, 1.0)
    r_p = stats.binom.ppf(probability, safe_n, target)
    count = _interpolated_quantile(
        stats.binom.cdf(r_p, safe_n, target),
        stats.binom.cdf(r_p - 1, safe_n, target),
        r_p,
        probability,
    )
    return np.where(n > 0, np.clip(count, 0.0, safe_n) / safe_n, np.nan)


def _variance_unit(statistic: Statistic, target: float) -> float:
    # Variance of one unit's value times its denominator, under the target.
    if statistic == "proportion":
        return target * (1.0 - target)
    return target


def funnel_limits(
    denominator: npt.ArrayLike,
    *,
    statistic: Statistic,
    target: float,
    confidence: float = 0.95,
    method: Method = "exact",
    tau2: float = 0.0,
    multiplier: float = 1.0,
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper funnel limits at ``confidence`` for each denominator.

    ``denominator`` is the number of cases (proportions), the expected count (ratios) or
    the population (rates). Without over-dispersion (``tau2 == 0``) the limits are exact:
    interpolated binomial or Poisson quantiles (Spiegelhalter 2005, Appendix A). For
    proportions ``method="wilson"`` gives the Wilson-score inversion used by PHE
    Fingertips (``target ± z·sqrt(target(1 - target)/n)``). With ``tau2 > 0`` the limits
    are ``target ± z·sqrt(s² + tau2)``, with ``s² = V(target)/denominator``
    (Spiegelhalter 2005, section 6.3).
    """
    level = check_confidence(confidence)
    if statistic not in ("proportion", "ratio", "rate"):
        raise ValueError(f"statistic must be 'proportion', 'ratio' or 'rate', got {statistic!r}")
    n = np.asarray(denominator, dtype=np.float64)
    upper_p = 1.0 - (1.0 - level) / 2.0
    lower_p = 1.0 - upper_p
    z = z_value(level)
    if tau2 > 0 or (statistic == "proportion" and method == "wilson"):
        with np.errstate(invalid="ignore", divide="ignore"):
            s2 = np.where(n > 0, _variance_unit(statistic, target) / n, np.nan)
        half = z * np.sqrt(s2 + max(tau2, 0.0))
        lower, upper = target - half, target + half
        if statistic == "proportion":
            lower, upper = np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
        else:
            lower = np.maximum(lower, 0.0)
    elif statistic == "proportion":
        lower = exact_binomial_limit(n, target, lower_p)
        upper = exact_binomial_limit(n, target, upper_p)
    else:
        safe_n = np.where(n > 0, n, np.nan)
        mean = target * safe_n
        lower = exact_poisson_limit(mean, lower_p) / safe_n
        upper = exact_poisson_limit(mean, upper_p) / safe_n
    return np.asarray(lower) * multiplier, np.asarray(upper) * multiplier


@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's over-dispersion estimates.

    ``phi`` is the mean squared winsorised z-score (1 when there is no over-dispersion);
    ``tau2`` the between-unit variance on the natural scale (0 when ``n·phi ≤ n - 1``);
    ``z_scores`` the unwinsorised z-scores ``(y - target)/s`` per unit.
    """

    phi: float
    tau2: float
    z_scores: FloatArray


def estimate_overdispersion(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    *,
    statistic: Statistic,
    target: float,
    winsorise: tuple[float, float] = (0.1, 0.9),
) -> Overdispersion:
    """Estimate phi and tau² by Spiegelhalter's additive random-effects method.

    ``zᵢ = (yᵢ - target)/sᵢ`` with ``sᵢ² = V(target)/denominatorᵢ``; the z-scores are
    winsorised at the ``winsorise`` quantiles (10% and 90% by default: values beyond are
    set to those quantiles), ``phi = Σ zᵢ²/I`` and
    ``tau² = (I·phi - (I - 1)) / (Σ wᵢ - Σ wᵢ²/Σ wᵢ)`` with ``wᵢ = 1/sᵢ²``, or 0 when
    ``I·phi ≤ I - 1`` (Spiegelhalter 2005, Stat Med section 6; QSHC 2005). Units with a
    missing value or zero denominator are left out.
    """
    x = np.asarray(numerator, dtype=np.float64)
    n = np.asarray(denominator, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = x / n
        s2 = _variance_unit(statistic, target) / n
        z = (y - target) / np.sqrt(s2)
    keep = np.isfinite(z) & (n > 0)
    count = int(keep.sum())
    if count < 2:
        return Overdispersion(phi=float("nan"), tau2=0.0, z_scores=z)
    low_q, high_q = np.quantile(z[keep], winsorise)
    z_w = np.clip(z[keep], low_q, high_q)
    phi = float(np.mean(z_w**2))
    w = 1.0 / s2[keep]
    excess = count * phi - (count - 1)
    tau2 = float(excess / (w.sum() - (w**2).sum() / w.sum())) if excess > 0 else 0.0
    return Overdispersion(phi=phi, tau2=tau2, z_scores=z)


@dataclass(frozen=True)
class FunnelPlot:
    """Per-unit funnel plot data and the summary used to draw it.

    ``points`` has one row per unit with columns ``numerator``, ``denominator``,
    ``value``, ``z_score``, ``lower_95``, ``upper_95``, ``lower_99_8``, ``upper_99_8``
    (all values and limits on the ``multiplier`` scale) and ``classification``: one of
    ``"within"``, ``"above 95%"``, ``"below 95%"``, ``"above 99.8%"``, ``"below 99.8%"``
    or ``"missing"``.
    """

    points: pd.DataFrame
    target: float
    phi: float
    tau2: float
    overdispersion_adjusted: bool


def classify(
    value: npt.ArrayLike,
    lower_95: npt.ArrayLike,
    upper_95: npt.ArrayLike,
    lower_99_8: npt.ArrayLike,
    upper_99_8: npt.ArrayLike,
) -> npt.NDArray[np.str_]:
    """Label each value against 95% and 99.8% limits ("within", "above 99.8%", ...)."""
    v = np.asarray(value, dtype=np.float64)
    return np.select(
        [
            np.isnan(v),
            v > np.asarray(upper_99_8),
            v < np.asarray(lower_99_8),
            v > np.asarray(upper_95),
            v < np.asarray(lower_95),
        ],
        ["missing", "above 99.8%", "below 99.8%", "above 95%", "below 95%"],
        default="within",
    )


def funnel_plot(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    *,
    statistic: Statistic,
    target: float | None = None,
    overdispersion: bool = False,
    winsorise: tuple[float, float] = (0.1, 0.9),
    method: Method = "exact",
    multiplier: float = 1.0,
) -> FunnelPlot:
    """Values, limits at 95% and 99.8%, and a classification for every unit.

    ``target`` defaults to the pooled value ``Σ numerator / Σ denominator`` for
    proportions and rates and to 1 for ratios. With ``overdispersion=True`` the limits
    are widened by Spiegelhalter's tau² when it is positive; when the data show no
    over-dispersion the exact limits are kept.
    """
    x = np.asarray(numerator, dtype=np.float64)
    n = np.asarray(denominator, dtype=np.float64)
    if x.shape != n.shape:
        raise ValueError(f"numerator shape {x.shape} and denominator shape {n.shape} must match")
    if np.any(x[~np.isnan(x)] < 0) or np.any(n[~np.isnan(n)] < 0):
        raise ValueError("numerator and denominator must be zero or more")
    if target is None:
        if statistic == "ratio":
            target = 1.0
        else:
            ok = ~(np.isnan(x) | np.isnan(n))
            target = float(x[ok].sum() / n[ok].sum()) if n[ok].sum() > 0 else float("nan")
    od = estimate_overdispersion(x, n, statistic=statistic, target=target, winsorise=winsorise)
    tau2 = od.tau2 if overdispersion else 0.0
    limits = {
        level: funnel_limits(
            n,
            statistic=statistic,
            target=target,
            confidence=level,
            method=method,
            tau2=tau2,
            multiplier=multiplier,
        )
        for level in FUNNEL_LEVELS
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(n > 0, x / n, np.nan) * multiplier
    points = pd.DataFrame(
        {
            "numerator": x,
            "denominator": n,
            "value": value,
            "z_score": od.z_scores,
            "lower_95": limits[0.95][0],
            "upper_95": limits[0.95][1],
            "lower_99_8": limits[0.998][0],
            "upper_99_8": limits[0.998][1],
        }
    )
    points["classification"] = classify(
        value, limits[0.95][0], limits[0.95][1], limits[0.998][0], limits[0.998][1]
    )
    return FunnelPlot(
        points=points,
        target=target,
        phi=od.phi,
        tau2=tau2,
        overdispersion_adjusted=overdispersion and tau2 > 0,
    )
