"""Directly and indirectly age-standardised rates and ratios.

Arrays are laid out with the standardisation category (age band) on the **last** axis, so
``events[i, j]`` is the count for area ``i`` in band ``j``; any leading shape is kept.
See ``docs/methods/standardisation.md``.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd

from commissioning.indicators.stats.intervals import (
    FloatArray,
    check_confidence,
    poisson_count_interval,
)

#: Directly standardised rates from fewer events than this are suppressed (PHE rule).
DSR_MIN_EVENTS = 10


@functools.cache
def _esp2013_rows() -> tuple[tuple[str, int, float], ...]:
    text = (
        resources.files("commissioning.indicators.stats")
        .joinpath("data/esp2013.csv")
        .read_text(encoding="utf-8")
    )
    reader = csv.DictReader(io.StringIO(text))
    return tuple((row["age_band"], int(row["start_age"]), float(row["weight"])) for row in reader)


def european_standard_population_2013() -> pd.Series:
    """The 2013 European Standard Population in 19 five-year bands (0-4, ..., 85-89, 90+).

    Returns a Series of weights (persons, summing to 100,000) indexed by band label, in
    ascending age order, with the band start age in ``Series.attrs["start_age"]``.

    Source: Eurostat, "Revision of the European Standard Population: report of Eurostat's
    task force", 2013 edition (Methodologies and Working papers); the weights
    are shipped in ``indicators/stats/data/esp2013.csv``.
    """
    rows = _esp2013_rows()
    series = pd.Series(
        [weight for _, _, weight in rows],
        index=pd.Index([band for band, _, _ in rows], name="age_band"),
        name="esp2013_weight",
    )
    series.attrs["start_age"] = [start for _, start, _ in rows]
    return series


@dataclass(frozen=True)
class StandardisedRate:
    """Directly standardised rates, one per area, on the ``multiplier`` scale.

    ``suppressed`` is True where the rate and limits were set to NaN: fewer than
    ``min_events`` events in total, or a band with no (or missing) population.
    """

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    total_events: FloatArray
    total_population: FloatArray
    suppressed: npt.NDArray[np.bool_]
    confidence: float
    multiplier: float


def directly_standardised_rate(
    events: npt.ArrayLike,
    population: npt.ArrayLike,
    standard_population: npt.ArrayLike | None = None,
    *,
    confidence: float = 0.95,
    multiplier: float = 100_000.0,
    min_events: int = DSR_MIN_EVENTS,
) -> StandardisedRate:
    """Directly standardised rate with Dobson et al. (1991) confidence limits.

    ``DSR = Σ wᵢ xᵢ/nᵢ / Σ wᵢ × multiplier`` with ``var(DSR) = Σ wᵢ² xᵢ/nᵢ² / (Σ wᵢ)²``;
    the limits are ``DSR + sqrt(var(DSR)/O) × (O_lim - O)`` where O is the total count and
    O_lim its Poisson limit (Byar's from 10 events, exact below). Areas with fewer than
    ``min_events`` events are returned as NaN with ``suppressed=True``.

    Missing event counts count as zero (PHEindicatormethods ``na.zero``). The standard
    population defaults to the 2013 European Standard Population (19 bands).

    References: Dobson AJ, Kuulasmaa K, Eberle E, Scherer J. Confidence intervals for
    weighted sums of Poisson parameters. Stat Med 1991;10:457-62. PHE Technical Guide:
    Confidence Intervals; PHEindicatormethods ``phe_dsr`` / ``calculate_dsr``.
    """
    check_confidence(confidence)
    x = np.nan_to_num(np.asarray(events, dtype=np.float64), nan=0.0)
    n = np.asarray(population, dtype=np.float64)
    if standard_population is None:
        w = european_standard_population_2013().to_numpy(dtype=np.float64)
    else:
        w = np.asarray(standard_population, dtype=np.float64)
    if x.shape != n.shape:
        raise ValueError(f"events shape {x.shape} and population shape {n.shape} must match")
    if x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        raise ValueError(
            f"the last axis of events must have one entry per standard population band "
            f"({w.shape[-1]}), got shape {x.shape}"
        )
    if np.any(x < 0):
        raise ValueError("events must be zero or more; remove or correct negative counts")

    bad_population = np.any(~(n > 0), axis=-1)
    safe_n = np.where(n > 0, n, 1.0)
    total_w = w.sum(axis=-1)
    total_events = x.sum(axis=-1)
    rate = (x * w / safe_n).sum(axis=-1) / total_w
    variance = (x * (w / safe_n) ** 2).sum(axis=-1) / total_w**2

    lower_count, upper_count = poisson_count_interval(total_events, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt(variance / total_events)
    lower = rate + scale * (lower_count - total_events)
    upper = rate + scale * (upper_count - total_events)

    suppressed = np.asarray((total_events < min_events) | bad_population)
    nan = np.float64(np.nan)
    return StandardisedRate(
        value=np.where(suppressed, nan, rate * multiplier),
        lower=np.where(suppressed, nan, lower * multiplier),
        upper=np.where(suppressed, nan, upper * multiplier),
        total_events=np.asarray(total_events),
        total_population=np.asarray(np.nansum(n, axis=-1)),
        suppressed=suppressed,
        confidence=confidence,
        multiplier=multiplier,
    )


@dataclass(frozen=True)
class StandardisedRatio:
    """Indirectly standardised ratios (observed / expected × multiplier) per area."""

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    observed: FloatArray
    expected: FloatArray
    confidence: float
    multiplier: float


def expected_events(
    population: npt.ArrayLike,
    reference_events: npt.ArrayLike,
    reference_population: npt.ArrayLike,
) -> FloatArray:
    """Expected events ``Σ nᵢ × (reference eventsᵢ / reference populationᵢ)`` per area.

    Bands are on the last axis of ``population``; missing populations or reference events
    count as zero (PHEindicatormethods ``calculate_ISRatio``).
    """
    n = np.nan_to_num(np.asarray(population, dtype=np.float64), nan=0.0)
    ref_x = np.nan_to_num(np.asarray(reference_events, dtype=np.float64), nan=0.0)
    ref_n = np.asarray(reference_population, dtype=np.float64)
    if np.any(~(ref_n > 0)):
        raise ValueError("reference_population must be greater than zero in every band")
    return np.asarray((n * (ref_x / ref_n)).sum(axis=-1))


def indirectly_standardised_ratio(
    observed: npt.ArrayLike,
    expected: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    multiplier: float = 1.0,
) -> StandardisedRatio:
    """Indirectly standardised ratio (e.g. SMR) ``O / E × multiplier`` with limits.

    The limits are the Poisson limits of O divided by E: exact (chi-square) below 10
    observed events, Byar's from 10 (PHE Technical Guide; PHEindicatormethods
    ``calculate_ISRatio``/``phe_isr``). Use ``multiplier=100`` for ratios expressed with
    the reference at 100. Compute E with :func:`expected_events`. Zero expected gives NaN.

    Reference: Breslow NE, Day NE. Statistical methods in cancer research, vol. II. Lyon:
    IARC; 1987.
    """
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    lower_count, upper_count = poisson_count_interval(o, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(e > 0, multiplier / e, np.nan)
    return StandardisedRatio(
        value=o * scale,
        lower=lower_count * scale,
        upper=upper_count * scale,
        observed=o,
        expected=e,
        confidence=confidence,
        multiplier=multiplier,
    )
