"""Compute any indicator of the library for any grouping and period.

Two steps kept apart: :func:`aggregate` runs the Ibis queries (one engine round trip for
the records and one for the population) and returns small pandas tables of counts by
group and age band; :func:`summarise` is pure statistics on those counts (Wilson,
exact Poisson/Byar, Dobson DSR, indirect standardisation, Student's t, Chiang II), using
``commissioning.indicators.stats``. Suppression marks small counts (below
``core.suppression.DEFAULT_THRESHOLD``, 8) so that published outputs can hide them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from commissioning.core.suppression import DEFAULT_THRESHOLD
from commissioning.data.queries import activity_years
from commissioning.indicators import frames
from commissioning.indicators.library import Indicator, Library, Standardisation, default_library
from commissioning.indicators.stats import (
    StandardisedRatio,
    directly_standardised_rate,
    european_standard_population_2013,
    indirectly_standardised_ratio,
    life_expectancy,
    mean_with_ci,
    proportion_with_ci,
    rate_with_ci,
)

Tables = Mapping[str, ir.Table]
GROUP = "group"
LEVELS = (0.95, 0.998)
POPULATION_MEASURES = ("rate", "mean_per_person", "life_expectancy")
_FRACTION = {"quarter": 0.25, "month": 1.0 / 12.0}


@dataclass(frozen=True)
class Aggregates:
    """Counts an indicator's statistics are made from.

    ``numerator`` has columns group, band, sex, numerator, n (records) and sum_sq (sum of
    squared values, for means); ``denominator`` has group, band, sex, denominator
    (person-years for population measures, records otherwise).
    """

    numerator: pd.DataFrame
    denominator: pd.DataFrame


def _band_kind(ind: Indicator, standardisation: Standardisation) -> str:
    if ind.measure == "life_expectancy":
        return "le"
    if ind.measure == "rate" and standardisation != "none":
        return "esp"
    return "none"


def _with_keys(t: ir.Table, group: ir.Value, band_kind: str) -> ir.Table:
    band: ir.Value = ibis.literal(0).cast("int64")
    if band_kind == "esp":
        band = frames.esp_band(t.age_years)
    elif band_kind == "le":
        band = frames.le_band(t.age_years)
    sex = t.sex if band_kind == "esp" else ibis.literal("P")
    return t.mutate(**{GROUP: group.cast("string"), "band": band, "sex": sex})


def _group_value(t: ir.Table, group_by: str | None, period: str | None) -> ir.Value:
    if period is not None:
        return frames.period_start(t.record_date, period).cast("string")
    if group_by is None:
        return ibis.literal("All")
    if group_by not in t.columns:
        raise ValueError(
            f"cannot group by {group_by!r}: not a column of the people, practice or segment "
            "tables (try 'place_code', 'practice_code', 'provider_code', 'sex', 'imd_decile')"
        )
    return t[group_by]


def segment_keys(segments: ir.Table | None) -> list[str]:
    """Columns a segments table is joined on: person_id, and year when it has one."""
    if segments is None or "year" not in segments.columns:
        return ["person_id"]
    return ["person_id", "year"]


def aggregate(
    tables: Tables,
    indicator: Indicator,
    years: Sequence[int],
    *,
    group_by: str | None = "place_code",
    library: Library | None = None,
    standardisation: Standardisation | None = None,
    segments: ir.Table | None = None,
    place_code: str | None = None,
    period: str | None = None,
) -> Aggregates:
    """Run the queries of ``indicator`` and return the counts by group (and age band).

    ``segments`` (columns person_id and the ``group_by`` column) groups by a person-level
    segment and keeps only the people in it; with a ``year`` column as well it is joined
    on (person_id, year), the financial year of each record's date and of each mid-year
    population row, so a cohort that changes from year to year counts a person only in
    the years they belong to it. ``place_code`` keeps one place; ``period`` ("quarter" or
    "month") groups by the period start instead of ``group_by``.
    """
    lib = library or default_library()
    std = standardisation or indicator.standardisation
    kind = _band_kind(indicator, std)
    if group_by == "provider_code" and indicator.measure in POPULATION_MEASURES and period is None:
        raise ValueError(
            f"{indicator.id!r} is per registered population, and providers have none; "
            "group by 'place_code' or 'practice_code' instead"
        )
    rec = frames.attach(tables, frames.records(tables, indicator, years, lib.codelists), years)
    rec = rec.filter(frames.population_condition(rec, indicator.population))
    keys = segment_keys(segments)
    if segments is not None:
        rec = rec.join(segments, keys)
    if place_code is not None:
        rec = rec.filter(rec.place_code == place_code)
    if indicator.measure == "proportion" and indicator.denominator is not None:
        rec = rec.filter(frames.population_condition(rec, indicator.denominator))
    elif indicator.numerator is not None:
        rec = rec.filter(frames.population_condition(rec, indicator.numerator))

    if indicator.measure in POPULATION_MEASURES:
        pop = frames.mid_year_population(tables, years)
        pop = pop.filter(frames.population_condition(pop, indicator.population))
        if segments is not None:
            pop = pop.join(segments, keys)
        if place_code is not None:
            pop = pop.filter(pop.place_code == place_code)
        pop_group = ibis.literal("") if period is not None else _group_value(pop, group_by, None)
        pop = _with_keys(pop, pop_group, kind)
        den = (
            pop.group_by([GROUP, "year", "band", "sex"])
            .aggregate(denominator=pop.count())
            .execute()
        )
        if period is not None:
            den = _spread_over_periods(den, years, period)
        else:
            den = den.groupby([GROUP, "band", "sex"], as_index=False)["denominator"].sum()
        den["denominator"] = den["denominator"].astype(float)
        if indicator.measure == "mean_per_person" and period is None:
            num = _per_person(rec, pop, group_by, kind)
            return Aggregates(num, den)
        rec = _with_keys(rec, _group_value(rec, group_by, period), kind)
        num = rec.group_by([GROUP, "band", "sex"]).aggregate(
            numerator=rec.value.sum(), n=rec.count(), sum_sq=(rec.value * rec.value).sum()
        )
        return Aggregates(num.execute(), den)

    rec = _with_keys(rec, _group_value(rec, group_by, period), kind)
    if indicator.measure == "proportion":
        hit = rec.flag
        if indicator.numerator is not None:
            hit = hit & frames.population_condition(rec, indicator.numerator)
        rec = rec.mutate(value=hit.cast("float64"))
    out = (
        rec.group_by([GROUP, "band", "sex"])
        .aggregate(
            numerator=rec.value.sum(),
            n=rec.count(),
            sum_sq=(rec.value * rec.value).sum(),
        )
        .execute()
    )
    den = out[[GROUP, "band", "sex"]].assign(denominator=out["n"].astype(float))
    return Aggregates(out, den)


def _per_person(rec: ir.Table, pop: ir.Table, group_by: str | None, kind: str) -> pd.DataFrame:
    """Each person-year's total value (zero if none), summed by group with squares."""
    per = rec.group_by(["person_id", "year"]).aggregate(total=rec.value.sum())
    j = pop.left_join(per, ["person_id", "year"])
    j = j.select(pop[GROUP], pop.band, pop.sex, total=j.total.fill_null(0.0))
    return (
        j.group_by([GROUP, "band", "sex"])
        .aggregate(numerator=j.total.sum(), n=j.count(), sum_sq=(j.total * j.total).sum())
        .execute()
    )


def _spread_over_periods(den: pd.DataFrame, years: Sequence[int], period: str) -> pd.DataFrame:
    """Person-years of each financial year shared equally over its quarters or months."""
    step = 3 if period == "quarter" else 1
    rows = []
    for year in years:
        starts = pd.date_range(f"{year}-04-01", periods=12 // step, freq=f"{step}MS")
        part = den[den["year"] == year]
        for start in starts:
            rows.append(
                part.assign(
                    **{GROUP: start.strftime("%Y-%m-%d")},
                    denominator=part["denominator"] * _FRACTION[period],
                )
            )
    if not rows:
        return den.drop(columns="year")
    return pd.concat(rows, ignore_index=True).drop(columns="year")


def _matrix(frame: pd.DataFrame, column: str, groups: list[str], bands: int) -> np.ndarray:
    table = frame.groupby([GROUP, "band"])[column].sum().unstack("band")
    table = table.reindex(index=groups, columns=range(bands)).fillna(0.0)
    return table.to_numpy(dtype=np.float64)


def summarise(
    indicator: Indicator,
    agg: Aggregates,
    *,
    standardisation: Standardisation | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Values with 95% and 99.8% intervals and a suppression flag, one row per group.

    Pure: takes the counts of :func:`aggregate` and returns columns group, numerator,
    denominator, value, lower, upper, lower_99_8, upper_99_8, suppressed (and, with
    indirect standardisation, observed, expected, ratio, ratio_lower, ratio_upper).
    """
    std = standardisation or indicator.standardisation
    num, den = agg.numerator, agg.denominator
    groups = sorted(set(num[GROUP].astype(str)) | set(den[GROUP].astype(str)))
    n_sum = num.groupby(GROUP)["numerator"].sum().reindex(groups).fillna(0.0)
    records = num.groupby(GROUP)["n"].sum().reindex(groups).fillna(0.0)
    d_sum = den.groupby(GROUP)["denominator"].sum().reindex(groups).fillna(0.0)
    out = pd.DataFrame(
        {GROUP: groups, "numerator": n_sum.to_numpy(), "denominator": d_sum.to_numpy()}
    )
    mult = indicator.multiplier
    extra: dict[str, np.ndarray] = {}
    values: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    measure = indicator.measure
    for level in LEVELS:
        if measure == "rate" and std == "direct":
            lo, hi = _esp_range(indicator)
            weights = european_standard_population_2013().to_numpy()[lo : hi + 1]
            x = _matrix(num, "numerator", groups, 19)[:, lo : hi + 1]
            p = _matrix(den, "denominator", groups, 19)[:, lo : hi + 1]
            d = directly_standardised_rate(x, p, weights, confidence=level, multiplier=mult)
            values[level] = (d.value, d.lower, d.upper)
        elif measure == "rate" and std == "indirect":
            ratio, ref_rate = _indirect(num, den, groups, level)
            values[level] = (
                ratio.value * ref_rate * mult,
                ratio.lower * ref_rate * mult,
                ratio.upper * ref_rate * mult,
            )
            if level == 0.95:
                extra = {
                    "expected": ratio.expected,
                    "ratio": ratio.value,
                    "ratio_lower": ratio.lower,
                    "ratio_upper": ratio.upper,
                }
            else:
                extra.update(ratio_lower_99_8=ratio.lower, ratio_upper_99_8=ratio.upper)
        elif measure == "rate":
            e = rate_with_ci(out["numerator"], out["denominator"], level, multiplier=mult)
            values[level] = (e.value, e.lower, e.upper)
        elif measure == "proportion":
            e = proportion_with_ci(out["numerator"], out["denominator"], level, multiplier=mult)
            values[level] = (e.value, e.lower, e.upper)
        elif measure in ("mean", "mean_per_person"):
            values[level] = _mean_interval(num, groups, out, records.to_numpy(), level, mult)
        elif measure == "life_expectancy":
            x = _matrix(num, "numerator", groups, 20)
            p = _matrix(den, "denominator", groups, 20)
            le = life_expectancy(x, p, confidence=level)
            v, lo_, hi_ = le.at(0)
            values[level] = (
                v,
                np.where(np.isnan(v), np.nan, lo_),
                np.where(np.isnan(v), np.nan, hi_),
            )
    out["value"], out["lower"], out["upper"] = values[0.95]
    out["lower_99_8"], out["upper_99_8"] = values[0.998][1], values[0.998][2]
    for name, column in extra.items():
        out[name] = column
    out["suppressed"] = _suppressed(indicator, out, records.to_numpy(), threshold)
    return out


def _mean_interval(
    num: pd.DataFrame,
    groups: list[str],
    out: pd.DataFrame,
    records: np.ndarray,
    level: float,
    mult: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of the records' values (or of each person-year's total) with Student's t limits.

    Without record counts (a per-person mean by period) the mean is the total over the
    person-years and has no interval.
    """
    total = out["numerator"].to_numpy(dtype=np.float64)
    sq = num.groupby(GROUP)["sum_sq"].sum().reindex(groups).fillna(0.0).to_numpy()
    n = records.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if n.sum() > 0:
            mean = np.where(n > 0, total / n, np.nan)
            var = np.where(n > 1, (sq - n * mean**2) / (n - 1), np.nan)
        else:
            person_years = out["denominator"].to_numpy(dtype=np.float64)
            mean = np.where(person_years > 0, total / person_years, np.nan)
            var = np.full(len(total), np.nan)
            n = person_years
    sd = np.sqrt(np.clip(var, 0.0, None))
    e = mean_with_ci(mean * mult, sd * mult, n, level)
    return e.value, e.lower, e.upper


def _esp_range(indicator: Indicator) -> tuple[int, int]:
    ages = [indicator.population.age_min, indicator.population.age_max]
    if indicator.numerator is not None:
        ages = [
            max(a for a in (ages[0], indicator.numerator.age_min, 0) if a is not None),
            min(a for a in (ages[1], indicator.numerator.age_max, 200) if a is not None),
        ]
    lo = (ages[0] or 0) // 5
    hi = min((ages[1] if ages[1] is not None else 200) // 5, 18)
    return lo, hi


def _indirect(
    num: pd.DataFrame, den: pd.DataFrame, groups: list[str], level: float
) -> tuple[StandardisedRatio, float]:
    """Observed/expected against the pooled rates of all groups by age band and sex."""
    keys = ["band", "sex"]
    ref = (
        num.groupby(keys)["numerator"]
        .sum()
        .to_frame()
        .join(den.groupby(keys)["denominator"].sum(), how="outer")
    ).fillna(0.0)
    ref_rate = (ref["numerator"] / ref["denominator"].where(ref["denominator"] > 0)).fillna(0.0)
    d = den.join(ref_rate.rename("ref_rate"), on=keys)
    d["expected"] = d["denominator"] * d["ref_rate"].fillna(0.0)
    expected = d.groupby(GROUP)["expected"].sum().reindex(groups).fillna(0.0).to_numpy()
    observed = num.groupby(GROUP)["numerator"].sum().reindex(groups).fillna(0.0).to_numpy()
    crude = float(ref["numerator"].sum() / ref["denominator"].sum())
    return indirectly_standardised_ratio(observed, expected, confidence=level), crude


def _suppressed(
    indicator: Indicator, out: pd.DataFrame, records: np.ndarray, threshold: int
) -> np.ndarray:
    """True where a published count would be 1 to ``threshold - 1`` (or the value is missing)."""

    def small(x: np.ndarray) -> np.ndarray:
        return (x > 0) & (x < threshold)

    num = out["numerator"].to_numpy(dtype=np.float64)
    den = out["denominator"].to_numpy(dtype=np.float64)
    if indicator.measure in ("rate", "life_expectancy"):
        hidden = small(num)
    elif indicator.measure == "proportion":
        hidden = small(num) | small(den - num) | (den < threshold)
    else:
        hidden = records < threshold
    return np.asarray(hidden | out["value"].isna().to_numpy())


def compute_indicator(
    tables: Tables,
    indicator_id: str,
    group_by: str | None = "place_code",
    years: Sequence[int] | None = None,
    *,
    library: Library | None = None,
    standardisation: Standardisation | None = None,
    segments: ir.Table | None = None,
    place_code: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """One indicator for every group (place, practice, provider or segment) over ``years``.

    Returns one row per group with ``group_by``'s column, numerator, denominator, value,
    lower, upper (95%), lower_99_8, upper_99_8 and suppressed, plus indicator_id and unit.
    Years default to every financial year with activity; ``standardisation`` overrides
    the library's (for example ``"indirect"`` for an age-sex ratio by practice).
    ``segments`` (person_id, the segment column and optionally year) restricts and groups
    by a cohort, year by year when it has a year column (see :func:`aggregate`).
    """
    lib = library or default_library()
    ind = lib.get(indicator_id)
    yrs = list(years) if years is not None else activity_years(tables)
    agg = aggregate(
        tables,
        ind,
        yrs,
        group_by=group_by,
        library=lib,
        standardisation=standardisation,
        segments=segments,
        place_code=place_code,
    )
    out = summarise(ind, agg, standardisation=standardisation, threshold=threshold)
    out = out.rename(columns={GROUP: group_by or "group"})
    out.insert(0, "indicator_id", ind.id)
    out["unit"] = ind.unit
    return out


def indicator_series(
    tables: Tables,
    indicator_id: str,
    place_code: str | None = None,
    by: str = "quarter",
    years: Sequence[int] | None = None,
    *,
    library: Library | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """The indicator by quarter or month for one place (or everyone), for SPC charts.

    Rates per population are annualised: a quarter's events over a quarter of the year's
    mid-year population. Columns: period (start date), numerator, denominator, value,
    lower, upper, lower_99_8, upper_99_8, suppressed.
    """
    lib = library or default_library()
    ind = lib.get(indicator_id)
    if ind.measure == "life_expectancy" or ind.computation == "days_at_home":
        raise ValueError(f"{indicator_id!r} is a yearly measure; it has no {by}ly series")
    if by not in _FRACTION:
        raise ValueError(f"by must be 'quarter' or 'month', got {by!r}")
    yrs = list(years) if years is not None else activity_years(tables)
    agg = aggregate(tables, ind, yrs, group_by=None, library=lib, place_code=place_code, period=by)
    if ind.measure == "mean_per_person":
        agg = Aggregates(agg.numerator.assign(n=0, sum_sq=0.0), agg.denominator)
    out = summarise(ind, agg, threshold=threshold)
    out = out.rename(columns={GROUP: "period"})
    out["period"] = pd.to_datetime(out["period"])
    first = pd.Timestamp(f"{min(yrs)}-04-01")
    last = pd.Timestamp(f"{max(yrs) + 1}-04-01")
    out = out[(out["period"] >= first) & (out["period"] < last)]
    return out.sort_values("period").reset_index(drop=True)


def compute_all(
    tables: Tables,
    group_by: str | None = "place_code",
    years: Sequence[int] | None = None,
    *,
    library: Library | None = None,
    place_code: str | None = None,
) -> pd.DataFrame:
    """Every indicator of the library for every group, stacked (life expectancy only
    where the group is large enough)."""
    lib = library or default_library()
    yrs = list(years) if years is not None else activity_years(tables)
    parts = []
    for ind in lib.indicators:
        if group_by == "provider_code" and ind.measure in POPULATION_MEASURES:
            continue
        part = compute_indicator(tables, ind.id, group_by, yrs, library=lib, place_code=place_code)
        parts.append(part.rename(columns={group_by or "group": "group"}))
    return pd.concat(parts, ignore_index=True)
