"""A contract's cohort and its spend, read from the canonical tables with Ibis (C14, C23).

The contract file names its services by the contract's own settings (``urgent_care``,
``emergency_admission``, ``elective_admission``, ...); the canonical data model records a
setting and a point of delivery for every event. :data:`CONTRACT_POINTS_OF_DELIVERY` is
the documented mapping between the two:

==================== =====================================================
contract setting     canonical points of delivery
==================== =====================================================
primary_care         gp_appointment
community            community_contact
mental_health        mental_health_contact
urgent_care          ae_attendance
emergency_admission  emergency_admission
elective_admission   elective_inpatient, day_case
outpatient           outpatient_first, outpatient_follow_up
social_care          home_care, residential_care, nursing_care
==================== =====================================================

A contract may list finer services within a setting (``district_nursing``,
``supported_living``). Where those names are canonical points of delivery
(``residential_care``, ``home_care``) only they are in scope; where none is, the data are
coarser than the contract and the whole setting is in scope.

Everything here builds Ibis expressions or executes them once into small DataFrames that
the pure functions of :mod:`commissioning.contracts.budget` and
:mod:`commissioning.contracts.measures` take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from commissioning.contracts.schema import Contract
from commissioning.core.schema import POINTS_OF_DELIVERY
from commissioning.data.queries import Tables, financial_year, home_place
from commissioning.population.person_year import person_year_table

#: Contract setting -> canonical points of delivery (see the module docstring).
CONTRACT_POINTS_OF_DELIVERY: dict[str, tuple[str, ...]] = {
    "primary_care": ("gp_appointment",),
    "community": ("community_contact",),
    "mental_health": ("mental_health_contact",),
    "urgent_care": ("ae_attendance",),
    "emergency_admission": ("emergency_admission",),
    "elective_admission": ("elective_inpatient", "day_case"),
    "outpatient": ("outpatient_first", "outpatient_follow_up"),
    "social_care": ("home_care", "residential_care", "nursing_care"),
}

#: Canonical point of delivery -> the contract setting it is budgeted under.
POINT_OF_DELIVERY_SETTING: dict[str, str] = {
    pod: setting for setting, pods in CONTRACT_POINTS_OF_DELIVERY.items() for pod in pods
}

#: Points of delivery whose events the outcome measures read one by one.
MEASURE_EVENT_POINTS = (
    "emergency_admission",
    "outpatient_first",
    "residential_care",
    "nursing_care",
)

#: Person-year columns kept for cohorts, weights and measures.
COHORT_COLUMNS = (
    "person_id",
    "year",
    "age_years",
    "age_band",
    "sex",
    "condition_count",
    "frailty",
    "died_in_year",
    "ld",
    "sub",
    "oa",
    "can",
    "dem",
    "primary_care_events",
    "ae_events",
    "emergency_admissions",
    "emergency_bed_days",
    "social_care_events",
)

assert set(POINT_OF_DELIVERY_SETTING) == set(POINTS_OF_DELIVERY)


def points_of_delivery_in_scope(contract: Contract) -> tuple[str, ...]:
    """Canonical points of delivery of the contract's services (see the mapping above)."""
    chosen: list[str] = []
    for service in contract.services:
        canonical = CONTRACT_POINTS_OF_DELIVERY[service.setting]
        named = [p for p in service.points_of_delivery if p in canonical]
        chosen += named or list(canonical)
    return tuple(dict.fromkeys(chosen))


def place_tables(tables: Tables, place_code: str) -> dict[str, ir.Table]:
    """The person tables restricted to people registered with a practice in the place."""
    practices = tables["gp_practices"]
    codes = practices.filter(practices.place_code == place_code).select("practice_code")
    people = tables["people"].semi_join(codes, "practice_code")
    ids = people.select("person_id")
    out = dict(tables)
    out["people"] = people
    for name in ("conditions", "activity", "proms"):
        out[name] = tables[name].semi_join(ids, "person_id")
    return out


def person_years(tables: Tables, years: Sequence[int]) -> pd.DataFrame:
    """The person-year table (:func:`person_year_table`) for ``years``, the columns in
    :data:`COHORT_COLUMNS`, executed once so every scenario selects from the same frame."""
    py = person_year_table(tables, years)
    return py.select(*COHORT_COLUMNS).execute()


@dataclass(frozen=True)
class PlaceData:
    """What the scenarios read about one place, fetched once.

    * ``person_years`` — :func:`person_years`;
    * ``costs`` — person_id, year, point_of_delivery, msk (1 when the primary diagnosis is
      in ICD-10 chapter M), events, cost_gbp (£, float);
    * ``events`` — single events at :data:`MEASURE_EVENT_POINTS`: person_id, year,
      point_of_delivery, start_date, los_days, primary_diagnosis;
    * ``deaths`` — person_id, death_date, place_of_death of people who died;
    * ``cancer`` — person_id, diagnosis_date of the cancer register;
    * ``proms`` — person_id, procedure, operation_date, year, gain (EQ-5D index);
    * ``tables`` — the place's canonical tables as Ibis expressions (:func:`place_tables`,
      not executed), for the measures drawn from the indicator library.
    """

    place_code: str
    years: tuple[int, ...]
    person_years: pd.DataFrame
    costs: pd.DataFrame
    events: pd.DataFrame
    deaths: pd.DataFrame
    cancer: pd.DataFrame
    proms: pd.DataFrame
    tables: Mapping[str, ir.Table]


def fetch_place_data(
    tables: Tables, years: Sequence[int], place_code: str | None = None
) -> PlaceData:
    """Fetch :class:`PlaceData` for ``place_code`` (default: the home place)."""
    place = place_code or home_place(tables)
    t = place_tables(tables, place)
    act = t["activity"]
    act = act.mutate(year=financial_year(act.start_date))
    act = act.filter(act.year.isin(list(years)))
    dx = act.primary_diagnosis.fill_null("").upper()
    act = act.mutate(msk=dx.startswith("M").cast("int64"))
    costs = act.group_by(["person_id", "year", "point_of_delivery", "msk"]).aggregate(
        events=act.count(), cost_gbp=act.cost_gbp.cast("float64").sum()
    )
    ev = act.filter(act.point_of_delivery.isin(list(MEASURE_EVENT_POINTS))).select(
        "person_id", "year", "point_of_delivery", "start_date", "los_days", "primary_diagnosis"
    )
    people = t["people"]
    deaths = people.filter(people.death_date.notnull()).select(
        "person_id", "death_date", "place_of_death"
    )
    cond = t["conditions"]
    cancer = cond.filter(cond.condition_code == "CAN").select("person_id", "diagnosis_date")
    proms = t["proms"]
    proms = proms.mutate(
        year=financial_year(proms.operation_date),
        gain=proms.eq5d_index_post - proms.eq5d_index_pre,
    ).select("person_id", "procedure", "operation_date", "year", "gain")
    return PlaceData(
        place_code=place,
        years=tuple(years),
        person_years=person_years(t, years),
        costs=costs.execute(),
        events=ev.execute(),
        deaths=deaths.execute(),
        cancer=cancer.execute(),
        proms=proms.execute(),
        tables=t,
    )


def select_cohort(person_year_frame: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Person-years matching ``rule`` in the rule language of
    :mod:`commissioning.population.rules` (``age >= 65 and frailty in ("moderate",
    "severe")``), compiled to Ibis over the person-year frame."""
    from commissioning.population.rules import compile_rule

    table = ibis.memtable(person_year_frame)
    return table.filter(compile_rule(rule, table)).execute()


def cohort_costs(
    costs: pd.DataFrame,
    cohort: pd.DataFrame,
    points_of_delivery: Sequence[str],
    msk_only: bool = False,
) -> pd.DataFrame:
    """In-scope spend of the cohort: person_id, year, setting (contract setting),
    point_of_delivery, cost_gbp. ``msk_only`` keeps events with a chapter-M diagnosis
    where the data code one (hospital events) and every uncoded contact."""
    c = costs[costs["point_of_delivery"].isin(list(points_of_delivery))]
    if msk_only:
        coded = c["point_of_delivery"].isin(
            [
                "outpatient_first",
                "outpatient_follow_up",
                "elective_inpatient",
                "day_case",
                "emergency_admission",
                "ae_attendance",
            ]
        )
        c = c[~coded | (c["msk"] == 1)]
    keys = cohort[["person_id", "year"]].drop_duplicates()
    j = c.merge(keys, on=["person_id", "year"], how="inner")
    j = j.assign(setting=j["point_of_delivery"].map(POINT_OF_DELIVERY_SETTING))
    return j[["person_id", "year", "setting", "point_of_delivery", "cost_gbp"]]
