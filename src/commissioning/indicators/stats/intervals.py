"""Confidence intervals for proportions, counts, rates and means.

Every function is vectorised: pass one value per area (or any array shape) and get the
same shape back. Missing values (NaN) propagate to NaN results; nothing is printed, read
or written.

The definitions follow the Public Health England (now OHID) "Technical Guide: Confidence
Intervals" and the PHEindicatormethods R package (``phe_proportion``, ``phe_rate``,
``phe_mean``): Wilson score intervals for proportions; exact Poisson intervals for fewer
than 10 events and Byar's approximation from 10 events; Student's t intervals for means.
See ``docs/methods/proportions-and-rates.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

#: Below this many events, count and rate intervals are exact Poisson; from it, Byar's.
EXACT_POISSON_BELOW = 10


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval, as arrays of one shape.

    ``value``, ``lower`` and ``upper`` are on the scale asked for (for example a rate per
    100,000 when ``multiplier=100_000``); ``confidence`` is the two-sided level used.
    """

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    confidence: float


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` if it is a two-sided level strictly between 0 and 1.

    Levels are fractions (0.95, 0.998), not percentages: ``confidence=95`` is rejected so
    that a percentage is never silently read as a fraction.
    """
    level = float(confidence)
    if not 0.0 < level < 1.0:
        raise ValueError(
            f"confidence must be a fraction between 0 and 1 (e.g. 0.95 or 0.998), "
            f"got {confidence!r}"
        )
    return level


def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal critical value: 1.95996 for 95%, 3.09023 for 99.8%."""
    level = check_confidence(confidence)
    return float(stats.norm.ppf(1.0 - (1.0 - level) / 2.0))


def _as_float(values: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if np.any(array[~np.isnan(array)] < 0):
        raise ValueError(f"{name} must be zero or more; remove or correct negative values")
    return array


def wilson_interval(
    numerator: ArrayLike, denominator: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion ``numerator / denominator``.

    Limits are ``(2x + z² ∓ z·sqrt(z² + 4x(1 - x/n))) / (2(n + z²))`` (Wilson 1927;
    Newcombe and Altman 2000, pp. 46-48), as in PHEindicatormethods ``wilson_lower`` and
    ``wilson_upper``. A zero denominator gives NaN.

    Raises ``ValueError`` if a numerator is negative or exceeds its denominator.
    """
    x = _as_float(numerator, "numerator")
    n = _as_float(denominator, "denominator")
    with np.errstate(invalid="ignore"):
        if np.any(x > n):
            raise ValueError("numerator must not exceed denominator for a proportion")
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = 2.0 * x + z**2
        spread = z * np.sqrt(z**2 + 4.0 * x * (1.0 - x / n))
        scale = 2.0 * (n + z**2)
        lower = (centre - spread) / scale
        upper = (centre + spread) / scale
    lower = np.where(n > 0, np.clip(lower, 0.0, 1.0), np.nan)
    upper = np.where(n > 0, np.clip(upper, 0.0, 1.0), np.nan)
    return lower, upper


def proportion_with_ci(
    numerator: ArrayLike,
    denominator: ArrayLike,
    confidence: float = 0.95,
    multiplier: float = 1.0,
) -> Estimate:
    """Proportion with a Wilson score interval, times ``multiplier`` (100 for a percentage).

    Reference: PHE Technical Guide: Confidence Intervals; PHEindicatormethods
    ``phe_proportion`` (Wilson 1927).
    """
    x = _as_float(numerator, "numerator")
    n = _as_float(denominator, "denominator")
    lower, upper = wilson_interval(x, n, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(n > 0, x / n, np.nan)
    return Estimate(value * multiplier, lower * multiplier, upper * multiplier, confidence)


def exact_poisson_interval(
    count: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Exact (Garwood) Poisson interval for an observed count, from the chi-square quantiles.

    ``lower = χ²(α/2; 2O) / 2`` (0 when O = 0) and ``upper = χ²(1 - α/2; 2O + 2) / 2``
    (Garwood 1936; Breslow and Day 1987), as PHEindicatormethods ``phe_rate`` uses below
    10 events.
    """
    observed = _as_float(count, "count")
    alpha = 1.0 - check_confidence(confidence)
    with np.errstate(invalid="ignore"):
        lower = np.where(
            observed > 0, stats.chi2.ppf(alpha / 2.0, 2.0 * np.maximum(observed, 1e-300)) / 2.0, 0.0
        )
        upper = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * observed + 2.0) / 2.0
    nan = np.isnan(observed)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def byar_interval(count: ArrayLike, confidence: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Byar's approximation to the exact Poisson interval for an observed count O.

    ``lower = O(1 - 1/(9O) - z/(3·sqrt(O)))³`` and
    ``upper = (O + 1)(1 - 1/(9(O + 1)) + z/(3·sqrt(O + 1)))³`` (Breslow and Day 1987,
    vol. II), as PHEindicatormethods ``byars_lower``/``byars_upper``. A negative lower
    limit (tiny counts, very high confidence) is set to 0.
    """
    observed = _as_float(count, "count")
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = observed * (1.0 - 1.0 / (9.0 * observed) - z / (3.0 * np.sqrt(observed))) ** 3
        nxt = observed + 1.0
        upper = nxt * (1.0 - 1.0 / (9.0 * nxt) + z / (3.0 * np.sqrt(nxt))) ** 3
    lower = np.where(observed == 0, 0.0, np.maximum(lower, 0.0))
    nan = np.isnan(observed)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def poisson_count_interval(
    count: ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Interval for a count: exact Poisson below 10 events, Byar's from 10 events.

    This is the switch the PHE Technical Guide and PHEindicatormethods ``phe_rate`` and
    ``calculate_ISRatio`` use.
    """
    observed = _as_float(count, "count")
    exact_lower, exact_upper = exact_poisson_interval(observed, confidence)
    byar_lower, byar_upper = byar_interval(observed, confidence)
    small = observed < EXACT_POISSON_BELOW
    return np.where(small, exact_lower, byar_lower), np.where(small, exact_upper, byar_upper)


def rate_with_ci(
    events: ArrayLike,
    denominator: ArrayLike,
    confidence: float = 0.95,
    multiplier: float = 100_000.0,
) -> Estimate:
    """Crude rate ``events / denominator × multiplier`` (per 100,000 by default).

    The interval is the count interval (exact Poisson below 10 events, Byar's above)
    divided by the denominator (PHEindicatormethods ``phe_rate``). A zero denominator
    gives NaN.
    """
    observed = _as_float(events, "events")
    population = _as_float(denominator, "denominator")
    lower_count, upper_count = poisson_count_interval(observed, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(population > 0, multiplier / population, np.nan)
    return Estimate(observed * scale, lower_count * scale, upper_count * scale, confidence)


def mean_with_ci(
    mean: ArrayLike,
    standard_deviation: ArrayLike,
    count: ArrayLike,
    confidence: float = 0.95,
) -> Estimate:
    """Mean with a Student's t interval: ``mean ± t(1 - α/2; n - 1) · sd / sqrt(n)``.

    Takes summaries per area (mean, sample standard deviation with divisor n - 1, number
    of values), as PHEindicatormethods ``phe_mean``. Fewer than two values give NaN
    limits.
    """
    centre = np.asarray(mean, dtype=np.float64)
    sd = _as_float(standard_deviation, "standard_deviation")
    n = _as_float(count, "count")
    alpha = 1.0 - check_confidence(confidence)
    enough = n >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(1.0 - alpha / 2.0, np.where(enough, n - 1.0, 1.0))
        half_width = np.where(enough, t * sd / np.sqrt(n), np.nan)
    return Estimate(centre + 0.0, centre - half_width, centre + half_width, confidence)
