"""Needs assessment (C5): population, prevalence, activity and spend per head.

Counts are taken from the person-year table with Ibis (any engine); the statistics are
pure functions over small frames, using :mod:`commissioning.indicators.stats`:

* crude prevalence: the share of the mid-year population on the condition's register,
  with Wilson score intervals (:func:`proportion_with_ci`);
* age-standardised prevalence: directly standardised to the 2013 European Standard
  Population (19 five-year bands), with Dobson et al. (1991) intervals
  (:func:`directly_standardised_rate`); suppressed below 10 cases or when any band has
  no population (the PHE convention).

Denominators are mid-year person-years (registered and alive on 1 October); activity
and spend count everything that started in the year for everyone registered in it.
Years given together are pooled. See ``docs/population.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from commissioning.core.schema import SETTINGS
from commissioning.indicators.stats import (
    directly_standardised_rate,
    european_standard_population_2013,
    proportion_with_ci,
)
from commissioning.population.codes import condition_columns

ALL = "All"


def _group_expr(t: ir.Table, by: str | None) -> ir.StringValue:
    return ibis.literal(ALL) if by is None else t[by].cast("string")


def prevalence_counts(
    person_year: ir.Table,
    years: Sequence[int],
    by: str | None = None,
    conditions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """People on each register and mid-year population, by group and age band.

    Returns a long frame: group, age_band, condition, cases, population.
    """
    conditions = list(conditions or condition_columns())
    t = person_year.filter(
        (person_year.in_mid_year_population == 1) & person_year.year.isin(list(years))
    )
    t = t.mutate(group=_group_expr(t, by))
    wide = (
        t.group_by(["group", "age_band"])
        .aggregate(population=t.count(), **{c: t[c].sum() for c in conditions})
        .to_pandas()
    )
    long = wide.melt(
        id_vars=["group", "age_band", "population"],
        value_vars=conditions,
        var_name="condition",
        value_name="cases",
    )
    return long[["group", "age_band", "condition", "cases", "population"]]


def prevalence_from_counts(counts: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Crude and ESP2013 age-standardised prevalence (%) from counts by age band.

    ``counts`` has columns group, age_band (ESP2013 labels, ``0-4`` ... ``90+``),
    condition, cases, population; missing bands count as no population. Returns one row a
    group and condition: cases, population, crude_pct, crude_lower_pct, crude_upper_pct,
    dsr_pct, dsr_lower_pct, dsr_upper_pct, dsr_suppressed.
    """
    esp = european_standard_population_2013()
    bands = list(esp.index)
    rows = []
    for (group, condition), part in counts.groupby(["group", "condition"], sort=True):
        by_band = part.groupby("age_band")[["cases", "population"]].sum().reindex(bands)
        cases = by_band.cases.fillna(0).to_numpy(dtype=np.float64)
        pop = by_band.population.fillna(0).to_numpy(dtype=np.float64)
        crude = proportion_with_ci(cases.sum(), pop.sum(), confidence, multiplier=100.0)
        dsr = directly_standardised_rate(
            cases, pop, esp.to_numpy(), confidence=confidence, multiplier=100.0
        )
        rows.append(
            {
                "group": group,
                "condition": condition,
                "cases": int(cases.sum()),
                "population": int(pop.sum()),
                "crude_pct": float(crude.value),
                "crude_lower_pct": float(crude.lower),
                "crude_upper_pct": float(crude.upper),
                "dsr_pct": float(dsr.value),
                "dsr_lower_pct": float(dsr.lower),
                "dsr_upper_pct": float(dsr.upper),
                "dsr_suppressed": bool(dsr.suppressed),
            }
        )
    return pd.DataFrame(rows)


def prevalence(
    person_year: ir.Table,
    years: Sequence[int],
    by: str | None = None,
    conditions: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Crude and age-standardised prevalence by ``by`` (a person-year column, e.g.
    place_code, practice_code, imd_decile or segment; None for everyone), pooled over
    ``years``. See :func:`prevalence_from_counts` for the columns."""
    counts = prevalence_counts(person_year, years, by, conditions)
    return prevalence_from_counts(counts, confidence)


def activity_and_spend(
    person_year: ir.Table, years: Sequence[int], by: str | None = None
) -> pd.DataFrame:
    """Activity per 1,000 and spend per head by group and year.

    Columns: group, year, population (mid-year), registered (everyone registered in the
    year), ``<setting>_per_1000`` events and ``<setting>_per_head_gbp`` per setting,
    emergency_admissions_per_1000, acsc_emergency_admissions_per_1000,
    bed_days_per_1000, spend_gbp and spend_per_head_gbp.
    """
    t = person_year.filter(person_year.year.isin(list(years)))
    t = t.mutate(group=_group_expr(t, by))
    sums = {
        **{f"{s}_events": t[f"{s}_events"].sum() for s in SETTINGS},
        **{f"{s}_cost_gbp": t[f"{s}_cost_gbp"].sum() for s in SETTINGS},
        "emergency_admissions": t.emergency_admissions.sum(),
        "acsc_emergency_admissions": t.acsc_emergency_admissions.sum(),
        "bed_days": t.bed_days.sum(),
        "spend_gbp": t.total_cost_gbp.sum(),
    }
    agg = (
        t.group_by(["group", "year"])
        .aggregate(population=t.in_mid_year_population.sum(), registered=t.count(), **sums)
        .to_pandas()
    )
    pop = agg.population.where(agg.population > 0)
    out = agg[["group", "year", "population", "registered"]].copy()
    for s in SETTINGS:
        out[f"{s}_per_1000"] = 1000 * agg[f"{s}_events"] / pop
        out[f"{s}_per_head_gbp"] = agg[f"{s}_cost_gbp"] / pop
    for c in ("emergency_admissions", "acsc_emergency_admissions", "bed_days"):
        out[f"{c}_per_1000"] = 1000 * agg[c] / pop
    out["spend_gbp"] = agg.spend_gbp
    out["spend_per_head_gbp"] = agg.spend_gbp / pop
    return out.sort_values(["group", "year"]).reset_index(drop=True)


def population_pyramid(person_year: ir.Table, places: ir.Table, year: int) -> pd.DataFrame:
    """Mid-year population by age band and sex, for the home place(s) and all places.

    Columns: area ("Home" or "All places"), age_band, sex, people, share (of the area's
    population, so areas of different sizes can be drawn on one pyramid).
    """
    home = places.filter(places.is_home == 1).select("place_code", home=ibis.literal(1))
    t = person_year.filter((person_year.year == year) & (person_year.in_mid_year_population == 1))
    t = t.left_join(home, "place_code")
    t = t.mutate(home=t.home.fill_null(0))
    counts = (
        t.group_by(["age_band", "sex"])
        .aggregate(all_people=t.count(), home_people=t.home.sum())
        .to_pandas()
    )
    frames = []
    for area, col in (("Home", "home_people"), ("All places", "all_people")):
        f = counts[["age_band", "sex"]].copy()
        f["area"] = area
        f["people"] = counts[col].astype(int)
        total = f.people.sum()
        f["share"] = f.people / total if total else np.nan
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    order = {b: i for i, b in enumerate(european_standard_population_2013().index)}
    out["band_order"] = out.age_band.map(order)
    out = out.sort_values(["area", "band_order", "sex"]).drop(columns="band_order")
    return out[["area", "age_band", "sex", "people", "share"]].reset_index(drop=True)
