"""What the decision tools read from the store: the events behind a pilot's outcome, month
by month, and procedures with the practice, age and sex of the person, for the low-value
count. Ibis queries only; the calculation is in the modules beside this one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from commissioning.core.schema import SETTINGS
from commissioning.data.queries import activity_in_years, home_place, mid_year_population

Tables = Mapping[str, ir.Table]


def outcome_events(tables: Tables, outcome: str, years: Sequence[int]) -> pd.DataFrame | None:
    """One row per event the person-year ``outcome`` counts (``person_id``,
    ``start_date``) in the financial ``years``; None for an outcome that is not a plain
    count of activity events (bed days, costs, events chosen by diagnosis)."""
    act = activity_in_years(tables, years)
    if outcome == "emergency_admissions":
        act = act.filter(act.point_of_delivery == "emergency_admission")
    elif outcome == "elective_admissions":
        act = act.filter(act.point_of_delivery.isin(["elective_inpatient", "day_case"]))
    elif outcome.endswith("_events") and outcome.removesuffix("_events") in SETTINGS:
        act = act.filter(act.setting == outcome.removesuffix("_events"))
    else:
        return None
    return act.select("person_id", "start_date").to_pandas()


#: Age bands for standardising procedure rates (years; the last is open).
AGE_BANDS = ((0, "0-17"), (18, "18-39"), (40, "40-64"), (65, "65-74"), (75, "75+"))


def _band(age: ir.IntegerValue) -> ir.StringValue:
    out: ir.StringValue = ibis.literal(AGE_BANDS[0][1])
    for lower, label in AGE_BANDS[1:]:
        out = ibis.ifelse(age >= lower, label, out)
    return out


def practice_population(tables: Tables, years: Sequence[int]) -> pd.DataFrame:
    """People registered at mid-year by practice, age band and sex, summed over the
    financial ``years`` (person-years: ``practice_code``, ``age_band``, ``sex``,
    ``people``)."""
    pop = mid_year_population(tables, list(years))
    pop = pop.mutate(age_band=_band(pop.age_years))
    return (
        pop.group_by(["practice_code", "age_band", "sex"]).aggregate(people=pop.count()).to_pandas()
    )


def procedure_activity(tables: Tables, years: Sequence[int]) -> pd.DataFrame:
    """Activity with a procedure code in the financial ``years``, with the person's
    practice, age band and sex at mid-year of its year (people not registered at mid-year
    are left out): ``procedure_code``, ``primary_diagnosis``, ``provider_code``,
    ``cost_gbp``, ``practice_code``, ``age_band``, ``sex``."""
    act = activity_in_years(tables, list(years))
    act = act.filter(act.procedure_code.notnull())
    pop = mid_year_population(tables, list(years))
    pop = pop.select("person_id", "year", "practice_code", "sex", age_band=_band(pop.age_years))
    j = act.join(pop, ["person_id", "year"])
    return j.select(
        "procedure_code",
        "primary_diagnosis",
        "provider_code",
        j.cost_gbp.cast("float64").name("cost_gbp"),
        "practice_code",
        "age_band",
        "sex",
    ).to_pandas()


def home_practices(tables: Tables) -> list[str]:
    """The practices of the home place."""
    practices = tables["gp_practices"]
    home = home_place(tables)
    rows = practices.filter(practices.place_code == home).select("practice_code").to_pandas()
    return sorted(rows["practice_code"].astype(str))


@dataclass(frozen=True)
class LowValue:
    """The low-value count of one year: the summary by intervention
    (:func:`~commissioning.decide.low_value.low_value_summary`) and, for analysts, the
    procedures by provider and the practices' standardised ratios (small counts: keep
    them in the restricted folder)."""

    summary: pd.DataFrame
    providers: pd.DataFrame
    practices: pd.DataFrame


def low_value_in_store(tables: Tables, years: Sequence[int]) -> LowValue:
    """The store's procedures on the Evidence-Based Interventions list in the financial
    ``years`` (pooled, so that practices' counts are large enough to compare; money a
    year), for the home place's practices against all practices."""
    from commissioning.decide.low_value import (
        by_practice,
        by_provider,
        low_value_summary,
        match_ebi,
        read_ebi_list,
    )

    procedures = match_ebi(procedure_activity(tables, years), read_ebi_list())
    population = practice_population(tables, years)
    home = home_practices(tables)
    return LowValue(
        low_value_summary(procedures, population, home, len(years)),
        by_provider(procedures[procedures["practice_code"].isin(home)]),
        by_practice(procedures, population),
    )
