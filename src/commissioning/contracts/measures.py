"""Outcome measures of the example contracts, measured on a cohort from the data (C23).

Each measure takes the cohort's person-years and the place's data
(:class:`commissioning.contracts.cohort.PlaceData`) and returns the value of one measure in
each financial year, named by the ``indicator_id`` the contract files use.

**From the indicator library.** Where the contract's concept is an indicator of
:mod:`commissioning.indicators` (emergency admissions, falls admissions, still at home 91
days after discharge, deaths in the usual place of residence, health gain after knee
replacement) the measure *is* that indicator, computed by
:func:`commissioning.indicators.compute.compute_indicator` for the cohort: the cohort's
(person_id, year) rows are the ``segments``, so a person counts only in the years they
belong to the cohort. One definition serves the benchmarks, the indicator reports and the
contracts; the measure's ``library_id`` names it. Two things differ from the library's
published values, on purpose: rates are crude for the cohort (a contract compares the
cohort with itself year on year, not with the European Standard Population), and values
are in the contract's unit (shares rather than per cent, per 1,000 rather than per
100,000). Rates are per 1,000 of the cohort's mid-year population (people registered and
alive on 1 October), as every rate of the library.

**Contract-specific.** Measures the library cannot express stay here as pandas code over
:class:`PlaceData`, marked in :data:`MEASURES` by ``library_id = None``: shares of
person-years with (or without) some use in the year, one-year cancer survival, admissions
in the last 90 days of life per 1,000 deaths, care-home admissions, bed days and long
stays. Definitions are per financial year ``y`` over the cohort's person-years in ``y``
(denominator ``n``); rates are per 1,000 person-years.

Where the data hold the outcome itself the measure is direct; where they hold only a
stand-in it is a **proxy**, said so in ``how``. A few outcomes are not in the data at all
(carers' experience, paid employment, shared decision making); they are listed in
:data:`NOT_IN_DATA`: in a scenario they stay awaiting certification — they earn nothing
until the provider's own return supplies a value and it is certified, and they are never
taken at the contract's baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from commissioning.contracts.cohort import PlaceData
from commissioning.indicators.compute import compute_indicator
from commissioning.indicators.library import default_library

#: The segment column a cohort is passed to the indicator library under: the cohort's
#: financial year as text, so one query returns one row a year.
COHORT_YEAR = "cohort_year"


def library_values(
    tables: Mapping[str, ir.Table],
    cohort: pd.DataFrame,
    library_id: str,
    *,
    per: float,
) -> pd.Series:
    """Values by financial year of the library indicator ``library_id`` for the cohort.

    ``cohort`` has one row a person-year (person_id, year); ``per`` is the contract's
    multiplier (1 for a share or a mean, 1,000 for a rate per 1,000), replacing the
    library's. Rates are crude (``standardisation="none"``). A year with nothing to
    divide by (no mid-year population, no discharges, no deaths, no operations) is left
    out, as the contract-specific measures do; values are not suppressed, since
    settlement is not a publication.
    """
    keys = cohort[["person_id", "year"]].drop_duplicates()
    if keys.empty:
        return pd.Series(dtype=float)
    keys = keys.assign(
        person_id=keys["person_id"].astype(str),
        year=keys["year"].astype("int64"),
        **{COHORT_YEAR: keys["year"].astype("int64").astype(str)},
    )
    segments = ibis.memtable(
        keys, schema={"person_id": "string", "year": "int64", COHORT_YEAR: "string"}
    )
    indicator = default_library().get(library_id)
    years = sorted(int(y) for y in keys["year"].unique())
    out = compute_indicator(
        tables, library_id, COHORT_YEAR, years, standardisation="none", segments=segments
    )
    out = out[out["denominator"] > 0]
    values = out["value"].to_numpy(dtype=float) * per / indicator.multiplier
    index = pd.Index(out[COHORT_YEAR].astype(int).to_numpy(), name="year")
    return pd.Series(values, index=index, dtype=float).sort_index()


# --- Contract-specific measures (the indicator library cannot express them) ---------------


def _by_year(cohort: pd.DataFrame, flag: pd.Series) -> pd.Series:
    return flag.groupby(cohort["year"]).mean().astype(float)


def _events(data: PlaceData, cohort: pd.DataFrame, pods: tuple[str, ...]) -> pd.DataFrame:
    ev = data.events[data.events["point_of_delivery"].isin(list(pods))]
    return ev.merge(cohort[["person_id", "year"]], on=["person_id", "year"], how="inner")


def _per_1000(cohort: pd.DataFrame, counts: pd.Series) -> pd.Series:
    n = cohort.groupby("year").size()
    return (counts.reindex(n.index, fill_value=0) * 1000.0 / n).astype(float)


def _care_home_people(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    ev = _events(data, cohort, ("residential_care", "nursing_care"))
    keys = set(zip(ev["person_id"], ev["year"], strict=True))
    return pd.Series(
        [(p, y) in keys for p, y in zip(cohort["person_id"], cohort["year"], strict=True)],
        index=cohort.index,
    )


def not_in_care_home(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Share of person-years with no residential or nursing care placement in the year."""
    return _by_year(cohort, ~_care_home_people(data, cohort))


def emergency_bed_days_per_1000(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Bed days in emergency admissions per 1,000 person-years."""
    return _per_1000(cohort, cohort.groupby("year")["emergency_bed_days"].sum())


def seen_by_gp(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Share of person-years with at least one GP appointment."""
    return _by_year(cohort, cohort["primary_care_events"] > 0)


def no_emergency_admission(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Share of person-years with no emergency admission."""
    return _by_year(cohort, cohort["emergency_admissions"] == 0)


def no_ae_attendance(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Share of person-years with no A&E attendance."""
    return _by_year(cohort, cohort["ae_events"] == 0)


def repeat_ae(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Share of person-years with three or more A&E attendances."""
    return _by_year(cohort, cohort["ae_events"] >= 3)


def msk_hospital_referral(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Share of person-years with a first outpatient attendance for a chapter-M diagnosis."""
    ev = _events(data, cohort, ("outpatient_first",))
    ev = ev[ev["primary_diagnosis"].fillna("").str.upper().str.startswith("M")]
    keys = set(zip(ev["person_id"], ev["year"], strict=True))
    flag = pd.Series(
        [(p, y) in keys for p, y in zip(cohort["person_id"], cohort["year"], strict=True)],
        index=cohort.index,
    )
    return _by_year(cohort, flag)


def care_home_admissions_per_1000(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Residential or nursing placements starting in the year per 1,000 person-years."""
    ev = _events(data, cohort, ("residential_care", "nursing_care"))
    first = ev.sort_values("start_date").drop_duplicates(["person_id", "year"])
    return _per_1000(cohort, first.groupby("year").size())


def long_stays_per_1000(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Emergency admissions of 21 days or more per 1,000 person-years."""
    ev = _events(data, cohort, ("emergency_admission",))
    long = ev[ev["los_days"].fillna(0) >= 21]
    return _per_1000(cohort, long.groupby("year").size())


def one_year_cancer_survival(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Of the cohort's people with cancer diagnosed in year y - 1, the share alive a year
    (365 days) after diagnosis."""
    c = data.cancer.merge(data.deaths[["person_id", "death_date"]], on="person_id", how="left")
    dx = pd.to_datetime(c["diagnosis_date"])
    c = c.assign(fy=dx.dt.year - (dx.dt.month < 4).astype(int))
    died = pd.to_datetime(c["death_date"])
    c = c.assign(alive=died.isna() | (died > dx + pd.Timedelta(days=365)))
    ids = set(cohort["person_id"])
    out = {}
    for y in sorted(cohort["year"].unique()):
        rows = c[(c["fy"] == y - 1) & c["person_id"].isin(ids)]
        if len(rows):
            out[int(y)] = float(rows["alive"].mean())
    return pd.Series(out, dtype=float)


def emergency_admissions_last_90_days(data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
    """Emergency admissions in the 90 days before death per 1,000 of the cohort's deaths."""
    dead = cohort[cohort["died_in_year"] == 1][["person_id", "year"]]
    d = dead.merge(data.deaths[["person_id", "death_date"]], on="person_id", how="inner")
    ev = data.events[data.events["point_of_delivery"] == "emergency_admission"]
    j = ev[["person_id", "start_date"]].merge(d, on="person_id", how="inner")
    start = pd.to_datetime(j["start_date"])
    death = pd.to_datetime(j["death_date"])
    window = (start <= death) & (start > death - pd.Timedelta(days=90))
    counts = j[window].groupby("year").size()
    deaths = d.groupby("year").size()
    return (counts.reindex(deaths.index, fill_value=0) * 1000.0 / deaths).astype(float)


Measurer = Callable[[PlaceData, pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class MeasureDefinition:
    """How one contract measure is read from the data.

    A measure from the indicator library names it in ``library_id`` and the contract's
    multiplier in ``per`` (see :func:`library_values`); a contract-specific measure has
    ``library_id = None`` and its pandas function in ``measure``.
    """

    indicator_id: str
    how: str
    proxy: bool
    measure: Measurer | None = None
    library_id: str | None = None
    per: float = 1.0

    @property
    def library_title(self) -> str | None:
        """Title of the library indicator, or ``None`` for a contract-specific measure."""
        return default_library().get(self.library_id).title if self.library_id else None

    def values(self, data: PlaceData, cohort: pd.DataFrame) -> pd.Series:
        """Values by financial year for the cohort."""
        if self.library_id is not None:
            return library_values(data.tables, cohort, self.library_id, per=self.per)
        assert self.measure is not None
        return self.measure(data, cohort)


def _d(indicator_id: str, fn: Measurer, proxy: bool, how: str = "") -> MeasureDefinition:
    return MeasureDefinition(indicator_id, how or (fn.__doc__ or "").strip(), proxy, fn)


def _lib(
    indicator_id: str, library_id: str, per: float, proxy: bool, how: str
) -> MeasureDefinition:
    ind = default_library().get(library_id)
    if ind.measure == "rate":
        how += f" Crude for the cohort, per {per:,.0f} of its mid-year population."
    return MeasureDefinition(indicator_id, how, proxy, None, library_id, per)


#: The measures the example contracts pay on, by indicator id: first those drawn from the
#: indicator library, then the contract-specific ones.
MEASURES: dict[str, MeasureDefinition] = {
    m.indicator_id: m
    for m in (
        # From the indicator library.
        _lib(
            "ld_inpatient_rate",
            "emergency_admissions",
            1000.0,
            True,
            "Proxy: stays in assessment and treatment units are not recorded; emergency "
            "admissions stand in for them.",
        ),
        _lib(
            "emergency_admissions_65_plus",
            "emergency_admissions",
            1000.0,
            False,
            "Emergency admissions starting in the year.",
        ),
        _lib(
            "falls_admissions_per_1000",
            "falls_admissions_65_plus",
            1000.0,
            False,
            "Emergency admissions for an injury (primary diagnosis ICD-10 S00-T98) caused by a "
            "fall (external cause W00-W19), at 65 and over (PHOF C29).",
        ),
        _lib(
            "home_91_days_after_reablement",
            "at_home_91_days",
            1.0,
            True,
            "Proxy: reablement is not recorded, so every emergency discharge (alive, at 65 "
            "and over, not living in a care home before) counts; the share alive and not in a "
            "care home or hospital 91 days later.",
        ),
        _lib(
            "died_in_preferred_place",
            "deaths_usual_residence",
            1.0,
            True,
            "Proxy: the preferred place is not recorded; the share of the cohort's deaths at "
            "home or in a care home (the usual place of residence), the national stand-in.",
        ),
        _lib(
            "knee_replacement_health_gain",
            "proms_knee_gain",
            1.0,
            False,
            "Mean EQ-5D index gain of the cohort's knee replacements operated in the year.",
        ),
        # Contract-specific (pandas, above).
        _d("ld_settled_accommodation", not_in_care_home, True),
        _d("ld_annual_health_check", seen_by_gp, True),
        _d("sm_drop_out_12_weeks", repeat_ae, True),
        _d("sm_no_representation_6_months", no_emergency_admission, True),
        _d("sm_successful_completion", no_ae_attendance, True),
        _d("msk_referrals_to_hospital", msk_hospital_referral, True),
        _d("one_year_cancer_survival", one_year_cancer_survival, False),
        _d("emergency_admissions_last_90_days", emergency_admissions_last_90_days, False),
        _d("emergency_bed_days_per_1000", emergency_bed_days_per_1000, False),
        _d("permanent_care_home_admissions", care_home_admissions_per_1000, False),
        _d("delayed_transfers", long_stays_per_1000, True),
        _d("living_independently_1_year", not_in_care_home, True),
    )
}

#: Outcomes the data do not hold: settled at the contract's baseline (nothing earned).
NOT_IN_DATA: dict[str, str] = {
    "ld_paid_employment_sustained": "employment is not recorded in health and care data",
    "shared_decision_making": "needs a patient survey the data do not include",
    "revision_within_5_years": "needs five years of follow-up after the operation",
    "carer_experience": "needs a carers' survey the data do not include",
}


def measure_values(
    indicator_ids: list[str], data: PlaceData, cohort: pd.DataFrame
) -> dict[str, pd.Series]:
    """Values by year of each measurable indicator in ``indicator_ids`` (others omitted)."""
    out: dict[str, pd.Series] = {}
    for ind in indicator_ids:
        if ind in MEASURES:
            s = MEASURES[ind].values(data, cohort)
            out[ind] = s[np.isfinite(s.to_numpy(dtype=float))] if len(s) else s
    return out
