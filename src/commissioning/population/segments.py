"""Segmentation (C6): the eight "Bridges to Health" segments and user-defined segments.

Each person-year falls in exactly one segment: the first, in order, whose rule it
matches. Rules are written in the rule language of :mod:`commissioning.population.rules`
and compiled to Ibis, so segmentation runs wherever the person-year table does.

The Bridges to Health model (Lynn J, Straube BM, Bell KM, Jencks SF, Kambic RT. Using
population segmentation to provide better health care for all: the "Bridges to Health"
model. Milbank Q 2007;85(2):185-208) groups people by the nature of their need. The
ordered rules below put the three end-of-life trajectories first, then serious
disability, chronic conditions, acute illness, maternity and infancy, and health; see
``docs/methods/segmentation.md`` for the reasons and the limits.

The segments are **prospective**: each rule uses only what was known at the start of the
year (:func:`with_year_before`): the conditions recorded by then, frailty at the end of the
year before, and use of services in the year before. A death later in the year never puts
anyone in an end-of-life segment, so a segment's spend in the year is an honest target for
a capitated budget set at its start. Only the maternal and infant segment looks at the year
itself (a pregnancy is known early; a baby born in the year is under one): women aged 15 to
49 with maternity care in the year or the year before, and babies under one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from commissioning.population.codes import condition_columns
from commissioning.population.rules import RuleError, compile_rule, validate_rule


@dataclass(frozen=True)
class Segment:
    """A named segment and the rule (in the rule language) a person-year must match."""

    name: str
    rule: str
    description: str = ""


#: Columns of the person-year table known at the start of a year, read from the year
#: before as ``start_<name>``; for someone new to the data, the conditions on their record
#: when they joined (the current year's flags) stand in.
KNOWN_AT_START = ("condition_count", "frailty")
#: Use of services in the year before, as ``<name>_year_before`` (0 when not registered).
USE_YEAR_BEFORE = ("emergency_admissions", "elective_admissions", "maternity_events")

BRIDGES_TO_HEALTH: tuple[Segment, ...] = (
    Segment(
        "Short period of decline before dying",
        "start_can and emergency_admissions_year_before >= 1",
        "Cancer recorded at the start of the year, with an emergency admission in the year "
        "before: those likeliest to be in the short, steep decline of advanced cancer.",
    ),
    Segment(
        "Limited reserve and serious exacerbations",
        "(start_hf or start_copd or start_ckd) and emergency_admissions_year_before >= 1",
        "Organ failure (heart failure, COPD, chronic kidney disease) at the start of the "
        "year, with at least one emergency admission in the year before.",
    ),
    Segment(
        "Long decline (frailty or dementia)",
        "start_dem or start_frailty in ('moderate', 'severe')",
        "Dementia, or moderate or severe frailty on the eFI proxy (65+), at the start of the year.",
    ),
    Segment(
        "Stable but serious disability",
        "start_ld or start_ms or start_smi",
        "Learning disability, multiple sclerosis or severe mental illness at the start of "
        "the year.",
    ),
    Segment(
        "Chronic conditions, stable",
        "start_condition_count >= 1",
        "At least one long-term condition at the start of the year and none of the above.",
    ),
    Segment(
        "Maternal and infant",
        "age_years < 1 or (sex == 'F' and age_years >= 15 and age_years <= 49 and "
        "(maternity_events >= 1 or maternity_events_year_before >= 1))",
        "Babies under one, and women aged 15 to 49 with maternity care (ICD-10 O or P) in "
        "the year or the year before.",
    ),
    Segment(
        "Acutely ill",
        "emergency_admissions_year_before >= 1 or elective_admissions_year_before >= 1",
        "No long-term condition but admitted to hospital in the year before.",
    ),
    Segment("Healthy", "True", "Everyone else."),
)


def with_year_before(person_year: ir.Table) -> ir.Table:
    """The person-year table with what was known at the start of each year: ``start_<c>``
    for each condition flag, ``start_condition_count`` and
    ``start_frailty`` (from the year before; for someone new, the conditions on their
    record, and no frailty score), ``<use>_year_before`` for the use of services in the
    year before (0 when not registered then) and ``has_year_before`` (1 or 0).
    """
    t = person_year
    flags = [c for c in condition_columns() if c in t.columns]
    carried = [*flags, *(c for c in KNOWN_AT_START if c in t.columns)]
    before = t.select(
        "person_id",
        year=t.year + 1,
        **{f"_before_{c}": t[c] for c in carried},
        **{f"{c}_year_before": t[c] for c in USE_YEAR_BEFORE if c in t.columns},
        has_year_before=ibis.literal(1, "int64"),
    )
    j = t.left_join(before, ["person_id", "year"])
    start: dict[str, ir.Value] = {}
    for c in carried:
        if c == "frailty":
            start["start_frailty"] = j[f"_before_{c}"]
        else:
            start[f"start_{c}"] = j[f"_before_{c}"].coalesce(j[c])
    use = {
        f"{c}_year_before": j[f"{c}_year_before"].fill_null(0)
        for c in USE_YEAR_BEFORE
        if c in t.columns
    }
    return j.select(
        *t.columns,
        **start,
        **use,
        has_year_before=j.has_year_before.fill_null(0),
    )


OTHERWISE = "Everyone else"


def validate_segments(segments: Sequence[Segment], columns: object) -> None:
    """Check every rule and that names are unique; errors name the segment."""
    seen: set[str] = set()
    for seg in segments:
        if seg.name in seen:
            raise RuleError(f"segment name {seg.name!r} is used twice: give each a new name")
        seen.add(seg.name)
        try:
            validate_rule(seg.rule, columns)
        except RuleError as exc:
            raise RuleError(f"segment {seg.name!r}: {exc}") from None


def assign_segments(
    person_year: ir.Table,
    segments: Sequence[Segment] = BRIDGES_TO_HEALTH,
    column: str = "segment",
) -> ir.Table:
    """The person-year table with ``column`` naming each row's segment (first match
    wins; rows matching none get ``"Everyone else"``). What was known at the start of the
    year (:func:`with_year_before`) is added first when the table does not hold it, so
    rules may use ``start_*`` and ``*_year_before`` columns."""
    if "has_year_before" not in person_year.columns:
        person_year = with_year_before(person_year)
    validate_segments(segments, person_year)
    branches = [
        (compile_rule(seg.rule, person_year).fill_null(False), seg.name) for seg in segments
    ]
    return person_year.mutate(**{column: ibis.cases(*branches, else_=OTHERWISE)})


def segment_order(segments: Sequence[Segment] = BRIDGES_TO_HEALTH) -> list[str]:
    return [s.name for s in segments]


def segment_profile(segmented: ir.Table, column: str = "segment") -> pd.DataFrame:
    """Size, spend, share of spend and use per head by segment and year.

    Columns: year, segment, people, spend_gbp, share_of_spend, spend_per_head_gbp,
    emergency_admissions_per_1000, bed_days_per_1000, ae_per_1000, gp_per_head,
    deaths, and ``people_change`` / ``spend_change`` (relative change on the year before).
    People are everyone registered in the year; spend is all activity in the year.
    """
    t = segmented
    agg = (
        t.group_by(["year", column])
        .aggregate(
            people=t.count(),
            spend_gbp=t.total_cost_gbp.sum(),
            emergency_admissions=t.emergency_admissions.sum(),
            bed_days=t.bed_days.sum(),
            ae=t.ae_events.sum(),
            gp=t.primary_care_events.sum(),
            deaths=t.died_in_year.sum(),
        )
        .to_pandas()
        .rename(columns={column: "segment"})
    )
    agg["share_of_spend"] = agg.spend_gbp / agg.groupby("year").spend_gbp.transform("sum")
    agg["spend_per_head_gbp"] = agg.spend_gbp / agg.people
    agg["emergency_admissions_per_1000"] = 1000 * agg.emergency_admissions / agg.people
    agg["bed_days_per_1000"] = 1000 * agg.bed_days / agg.people
    agg["ae_per_1000"] = 1000 * agg.ae / agg.people
    agg["gp_per_head"] = agg.gp / agg.people
    agg = agg.sort_values(["segment", "year"]).reset_index(drop=True)
    agg["people_change"] = agg.groupby("segment").people.pct_change()
    agg["spend_change"] = agg.groupby("segment").spend_gbp.pct_change()
    return agg.drop(columns=["ae", "gp"]).sort_values(["year", "segment"]).reset_index(drop=True)
