"""Practices and places compared with what their own population would lead one to expect
(C10): indirect standardisation by age band, sex and deprivation, and funnel limits that
allow for over-dispersion only when the units vary more than chance.

* :func:`stratum_counts` (query): observed events and person-years of every unit (practice
  or place) by age band x sex x deprivation decile;
* :func:`indirect_standardisation` (pure): expected events at the pooled rates of all
  units in each stratum, and the ratio observed / expected with exact Poisson (below 10
  events) or Byar's limits at 95% and 99.8%;
* :func:`log_ratio_overdispersion` (pure): Spiegelhalter's over-dispersion estimate on the
  log(O/E) scale (z = sqrt(E)·log(O/E), winsorised 10% each tail; phi; tau²; the test);
* :func:`ratio_limits` (pure): funnel limits for O/E: exact Poisson without
  over-dispersion, ``exp(±z·sqrt(1/E + tau²))`` with it;
* :func:`compare_units`: all of it for one indicator, every unit classified against the
  limits and judged by the indicator's polarity (:func:`judgement`).

References: Breslow NE, Day NE. Statistical methods in cancer research, vol. II (IARC
1987): indirect standardisation and Byar's limits. Spiegelhalter DJ. Funnel plots for
comparing institutional performance. Stat Med 2005;24:1185-1202. Spiegelhalter DJ.
Handling over-dispersion of performance indicators. Qual Saf Health Care 2005;14:347-51.
NHS Digital, Summary Hospital-level Mortality Indicator methodology (log scale,
sqrt(E)·log(O/E) z-scores). See ``docs/methods/benchmarking.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from commissioning.indicators.compute import GROUP, aggregate
from commissioning.indicators.library import (
    Indicator,
    Library,
    Polarity,
    Standardisation,
    default_library,
)
from commissioning.indicators.stats import (
    classify,
    funnel_limits,
    indirectly_standardised_ratio,
    z_value,
)

Tables = Mapping[str, ir.Table]
Adjustment = Literal["none", "age_sex", "age_sex_deprivation", "age_sex_deprivation_quintile"]
OverdispersionRule = Literal["never", "when_tested", "always"]
Judgement = Literal["worse", "better", "higher", "lower", "similar", "missing"]

#: Defaults chosen by measuring against the synthetic truth (docs/methods/benchmarking.md).
DEFAULT_ADJUSTMENT: Adjustment = "age_sex_deprivation"
DEFAULT_OVERDISPERSION: OverdispersionRule = "when_tested"
#: Share of z-scores pulled in at each tail before phi is estimated (Spiegelhalter 2005).
WINSORISE = 0.1
#: Significance of the over-dispersion test (I·phi against chi-square on I - 1 df).
OVERDISPERSION_TEST_LEVEL = 0.05
_SEP = "|"


def deprivation_quintile(imd_decile: ir.IntegerValue) -> ir.IntegerValue:
    """IMD quintile (1 most deprived) from the decile: deciles 1-2 are quintile 1."""
    return ((imd_decile + 1) // 2).cast("int64")


def stratum_counts(
    tables: Tables,
    indicator: Indicator,
    unit: str,
    years: Sequence[int],
    *,
    adjustment: Adjustment = DEFAULT_ADJUSTMENT,
    library: Library | None = None,
) -> pd.DataFrame:
    """Observed events and person-years by unit and stratum, for a rate indicator.

    ``unit`` is a column of ``people`` or of the practice table (``practice_code`` or
    ``place_code``). Columns: unit, band (ESP2013 five-year band, 0 is 0-4), sex,
    deprivation (the IMD decile of the person's small area, 1 most deprived, or its
    quintile with ``"age_sex_deprivation_quintile"``; 0 when not adjusted for), observed
    and population (person-years at 1 October of each year). Without adjustment band and
    sex are set to 0 and "P".
    """
    if indicator.measure != "rate":
        raise ValueError(
            f"case-mix adjusted comparison needs a rate per population; "
            f"{indicator.id!r} is a {indicator.measure}"
        )
    people = tables["people"]
    practices = tables["gp_practices"].select("practice_code", "place_code")
    p = people.join(practices, "practice_code")
    if unit not in p.columns:
        raise ValueError(f"cannot compare by {unit!r}: try 'practice_code' or 'place_code'")
    dep: ir.StringValue = ibis.literal("0")
    if adjustment == "age_sex_deprivation":
        dep = p.imd_decile.cast("string")
    elif adjustment == "age_sex_deprivation_quintile":
        dep = deprivation_quintile(p.imd_decile).cast("string")
    key = "benchmark_stratum"
    segments = p.select("person_id", **{key: p[unit].cast("string") + _SEP + dep})
    std: Standardisation = "none" if adjustment == "none" else "indirect"
    agg = aggregate(
        tables,
        indicator,
        years,
        group_by=key,
        library=library,
        standardisation=std,
        segments=segments,
    )
    keys = [GROUP, "band", "sex"]
    num = agg.numerator.groupby(keys, as_index=False)["numerator"].sum()
    den = agg.denominator.groupby(keys, as_index=False)["denominator"].sum()
    out = den.merge(num, on=keys, how="outer").fillna({"numerator": 0.0, "denominator": 0.0})
    split = out[GROUP].astype(str).str.rsplit(_SEP, n=1, expand=True)
    return pd.DataFrame(
        {
            "unit": split[0],
            "band": out["band"].astype(int),
            "sex": out["sex"].astype(str),
            "deprivation": split[1].astype(int),
            "observed": out["numerator"].astype(float),
            "population": out["denominator"].astype(float),
        }
    )


def indirect_standardisation(
    counts: pd.DataFrame, strata: Sequence[str] = ("band", "sex", "deprivation")
) -> pd.DataFrame:
    """Observed and expected events per unit, the ratio O/E and its Poisson limits.

    Pure. ``counts`` has columns unit, observed, population and the ``strata`` columns.
    The reference rate of a stratum is the pooled rate of all units in it (events over
    person-years); a unit's expected count is ``Σ population × reference rate`` over its
    strata (Breslow and Day 1987). The limits of O/E are the Poisson limits of O
    (exact below 10 events, Byar's from 10) divided by E, at 95% and 99.8%. Returns one
    row per unit (sorted): unit, observed, population, expected, ratio, ratio_lower,
    ratio_upper, ratio_lower_99_8, ratio_upper_99_8.
    """
    keys = list(strata)
    ref = counts.groupby(keys)[["observed", "population"]].sum()
    rate = (ref["observed"] / ref["population"].where(ref["population"] > 0)).fillna(0.0)
    c = counts.join(rate.rename("reference_rate"), on=keys)
    c["expected"] = c["population"] * c["reference_rate"]
    per_unit = c.groupby("unit")[["observed", "population", "expected"]].sum().sort_index()
    o = per_unit["observed"].to_numpy(dtype=np.float64)
    e = per_unit["expected"].to_numpy(dtype=np.float64)
    r95 = indirectly_standardised_ratio(o, e, confidence=0.95)
    r998 = indirectly_standardised_ratio(o, e, confidence=0.998)
    return pd.DataFrame(
        {
            "unit": per_unit.index.astype(str),
            "observed": o,
            "population": per_unit["population"].to_numpy(dtype=np.float64),
            "expected": e,
            "ratio": r95.value,
            "ratio_lower": r95.lower,
            "ratio_upper": r95.upper,
            "ratio_lower_99_8": r998.lower,
            "ratio_upper_99_8": r998.upper,
        }
    )


@dataclass(frozen=True)
class LogRatioDispersion:
    """Spiegelhalter's over-dispersion estimates for ratios O/E on the log scale.

    ``z_scores`` are ``sqrt(E)·log(O/E)`` per unit (NaN where O or E is 0); ``phi`` the
    mean squared winsorised z-score over the ``units`` used; ``tau2`` the between-unit
    variance of log(O/E) (0 when ``units·phi ≤ units - 1``); ``p_value`` of the test
    ``units·phi`` against chi-square on ``units - 1`` degrees of freedom.
    """

    z_scores: npt.NDArray[np.float64]
    phi: float
    tau2: float
    units: int
    p_value: float


def log_ratio_overdispersion(
    observed: npt.ArrayLike, expected: npt.ArrayLike, *, winsorise: float = WINSORISE
) -> LogRatioDispersion:
    """phi and tau² for O/E ratios by the additive random-effects method.

    ``yᵢ = log(Oᵢ/Eᵢ)`` with ``sᵢ = 1/sqrt(Eᵢ)`` and ``zᵢ = yᵢ/sᵢ``; the z-scores are
    winsorised at the ``winsorise`` and ``1 - winsorise`` quantiles; ``phi = Σ zᵢ²/I``;
    ``tau² = (I·phi - (I - 1)) / (Σ wᵢ - Σ wᵢ²/Σ wᵢ)`` with ``wᵢ = 1/sᵢ² = Eᵢ``, or 0
    when ``I·phi ≤ I - 1`` (Spiegelhalter 2005, Stat Med section 6 and QSHC; the log
    scale as in NHS Digital's SHMI and FunnelPlotR). Units with no events or no expected
    events are left out.
    """
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.sqrt(e) * np.log(o / e)
    keep = np.isfinite(z) & (e > 0)
    z = np.where(keep, z, np.nan)
    count = int(keep.sum())
    if count < 2:
        return LogRatioDispersion(z, float("nan"), 0.0, count, float("nan"))
    low, high = np.quantile(z[keep], (winsorise, 1.0 - winsorise))
    phi = float(np.mean(np.clip(z[keep], low, high) ** 2))
    w = e[keep]
    excess = count * phi - (count - 1)
    tau2 = float(excess / (w.sum() - (w**2).sum() / w.sum())) if excess > 0 else 0.0
    p_value = float(stats.chi2.sf(count * phi, count - 1))
    return LogRatioDispersion(z, phi, tau2, count, p_value)


def ratio_limits(
    expected: npt.ArrayLike, *, confidence: float, tau2: float = 0.0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Funnel limits for O/E against 1 at ``confidence`` for each expected count.

    Without over-dispersion the exact interpolated Poisson limits (Spiegelhalter 2005,
    Appendix A.1, :func:`indicators.stats.funnel_limits`); with ``tau2 > 0`` the
    random-effects limits on the log scale, ``exp(±z·sqrt(1/E + tau²))``.
    """
    e = np.asarray(expected, dtype=np.float64)
    if tau2 <= 0:
        return funnel_limits(e, statistic="ratio", target=1.0, confidence=confidence)
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = z * np.sqrt(np.where(e > 0, 1.0 / e, np.nan) + tau2)
    return np.exp(-half), np.exp(half)


_DIRECTION = {
    "above 99.8%": "high",
    "above 95%": "high",
    "below 99.8%": "low",
    "below 95%": "low",
}


def judgement(classification: str, polarity: Polarity, *, level: str = "99.8%") -> Judgement:
    """What a funnel classification means for an indicator with ``polarity``.

    Outside the ``level`` limits ("99.8%", or "95%" to count either), a high value is
    "worse" for a lower-is-better indicator and "better" for a higher-is-better one (and
    the other way round for a low value); with no better direction it is "higher" or
    "lower". Inside the limits: "similar".
    """
    if classification == "missing":
        return "missing"
    direction = _DIRECTION.get(classification)
    if direction is None or (level == "99.8%" and "99.8" not in classification):
        return "similar"
    if polarity == "neither":
        return "higher" if direction == "high" else "lower"
    high_is_bad = polarity == "lower_is_better"
    return "worse" if (direction == "high") == high_is_bad else "better"


#: Plain-language labels for people reading the page.
PLAIN_LABELS = {
    "high": "higher than expected for its population",
    "low": "lower than expected for its population",
    "similar": "similar to expected for its population",
}


def plain_label(classification: str, *, level: str = "99.8%") -> str:
    """ "higher than expected for its population", "similar ..." or "lower than ..."."""
    if classification == "missing":
        return "not shown"
    direction = _DIRECTION.get(classification)
    if direction is None or (level == "99.8%" and "99.8" not in classification):
        return PLAIN_LABELS["similar"]
    return PLAIN_LABELS[direction]


@dataclass(frozen=True)
class AdjustedComparison:
    """Units of one indicator compared with what their population leads one to expect.

    ``table`` has one row per unit: the unit column (``practice_code`` or ``place_code``),
    observed, population (person-years), expected, ratio with 95% and 99.8% limits,
    z_score (sqrt(E)·log(O/E)), funnel limits ``funnel_lower_95`` ... ``funnel_upper_99_8``
    (on the ratio scale), classification ("above 99.8%", ...), judgement (by polarity)
    and label (plain language). ``random_effects`` says whether the limits were widened
    by ``tau2``; ``phi`` and ``p_value`` are the over-dispersion estimate and its test.
    """

    indicator: Indicator
    unit: str
    table: pd.DataFrame
    adjustment: Adjustment
    overdispersion: OverdispersionRule
    phi: float
    tau2: float
    p_value: float
    random_effects: bool


def classify_units(
    ratios: pd.DataFrame,
    polarity: Polarity,
    *,
    overdispersion: OverdispersionRule = DEFAULT_OVERDISPERSION,
    winsorise: float = WINSORISE,
    test_level: float = OVERDISPERSION_TEST_LEVEL,
) -> tuple[pd.DataFrame, LogRatioDispersion, bool]:
    """Funnel limits, classification and judgement for the rows of
    :func:`indirect_standardisation`. Pure.

    ``overdispersion``: "never" keeps the exact Poisson limits; "always" widens them by
    tau² whenever it is positive; "when_tested" only when the winsorised test rejects
    "no over-dispersion" at ``test_level``.
    """
    od = log_ratio_overdispersion(ratios["observed"], ratios["expected"], winsorise=winsorise)
    widen = overdispersion == "always" or (
        overdispersion == "when_tested" and od.p_value < test_level
    )
    tau2 = od.tau2 if widen else 0.0
    t = ratios.copy()
    t["z_score"] = od.z_scores
    limits = {
        level: ratio_limits(t["expected"], confidence=level, tau2=tau2) for level in (0.95, 0.998)
    }
    t["funnel_lower_95"], t["funnel_upper_95"] = limits[0.95]
    t["funnel_lower_99_8"], t["funnel_upper_99_8"] = limits[0.998]
    value = np.where(t["expected"] > 0, t["ratio"], np.nan)
    t["classification"] = classify(value, *limits[0.95], *limits[0.998])
    t["judgement"] = [judgement(c, polarity) for c in t["classification"]]
    t["label"] = [plain_label(c) for c in t["classification"]]
    return t, od, bool(widen and tau2 > 0)


def compare_units(
    tables: Tables,
    indicator_id: str,
    unit: str,
    years: Sequence[int],
    *,
    adjustment: Adjustment = DEFAULT_ADJUSTMENT,
    overdispersion: OverdispersionRule = DEFAULT_OVERDISPERSION,
    library: Library | None = None,
) -> AdjustedComparison:
    """Every practice (``unit="practice_code"``) or place against expected for its
    population, for a rate indicator.

    Expected events come from the pooled rates of all units by age band x sex x IMD
    decile (``adjustment="age_sex_deprivation"``, the default), by IMD quintile instead
    (``"age_sex_deprivation_quintile"``), by age band x sex (``"age_sex"``) or overall
    (``"none"``). Over-dispersion is estimated over all units;
    by default the limits are widened only when the winsorised test finds it.
    """
    lib = library or default_library()
    ind = lib.get(indicator_id)
    counts = stratum_counts(tables, ind, unit, years, adjustment=adjustment, library=lib)
    ratios = indirect_standardisation(counts)
    table, od, widened = classify_units(ratios, ind.polarity, overdispersion=overdispersion)
    table = table.rename(columns={"unit": unit})
    table.insert(0, "indicator_id", ind.id)
    return AdjustedComparison(
        indicator=ind,
        unit=unit,
        table=table,
        adjustment=adjustment,
        overdispersion=overdispersion,
        phi=od.phi,
        tau2=od.tau2 if widened else 0.0,
        p_value=od.p_value,
        random_effects=widened,
    )


__all__ = [
    "DEFAULT_ADJUSTMENT",
    "DEFAULT_OVERDISPERSION",
    "PLAIN_LABELS",
    "AdjustedComparison",
    "Adjustment",
    "Judgement",
    "LogRatioDispersion",
    "OverdispersionRule",
    "classify_units",
    "compare_units",
    "deprivation_quintile",
    "indirect_standardisation",
    "judgement",
    "log_ratio_overdispersion",
    "plain_label",
    "ratio_limits",
    "stratum_counts",
]
