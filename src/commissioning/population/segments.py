"""Segmentation (C6): the eight "Bridges to Health" segments and user-defined segments.

Each person-year falls in exactly one segment: the first, in order, whose rule it
matches. Rules are written in the rule language of :mod:`commissioning.population.rules`
and compiled to Ibis, so segmentation runs wherever the person-year table does.

The Bridges to Health model (Lynn J, Straube BM, Bell KM, Jencks SF, Kambic RT. Using
population segmentation to provide better health care for all: the "Bridges to Health"
model. Milbank Q 2007;85(2):185-208) groups people by the nature of their need. The
ordered rules below put the three end-of-life trajectories first, then serious
disability, chronic conditions, acute illness, maternity and infancy, and health; see
``docs/methods/segmentation.md`` for the reasons and the limits. Because "died in the
year" is known only afterwards, the segments describe a year that has happened (for
planning and budgeting), not a forecast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from commissioning.population.rules import RuleError, compile_rule, validate_rule


@dataclass(frozen=True)
class Segment:
    """A named segment and the rule (in the rule language) a person-year must match."""

    name: str
    rule: str
    description: str = ""


BRIDGES_TO_HEALTH: tuple[Segment, ...] = (
    Segment(
        "Short period of decline before dying",
        "died_in_year and can",
        "Died in the year with cancer: the short, steep decline of the cancer trajectory.",
    ),
    Segment(
        "Limited reserve and serious exacerbations",
        "(hf or copd or ckd) and emergency_admissions >= 1",
        "Organ failure (heart failure, COPD, chronic kidney disease) with at least one "
        "emergency admission in the year.",
    ),
    Segment(
        "Long decline (frailty or dementia)",
        "dem or frailty in ('moderate', 'severe')",
        "Dementia, or moderate or severe frailty on the electronic Frailty Index (65+).",
    ),
    Segment(
        "Stable but serious disability",
        "ld or ms or smi",
        "Learning disability, multiple sclerosis or severe mental illness.",
    ),
    Segment(
        "Chronic conditions, stable",
        "condition_count >= 1",
        "At least one long-term condition and none of the above.",
    ),
    Segment(
        "Acutely ill",
        "emergency_admissions >= 1 or elective_admissions >= 1",
        "No long-term condition but admitted to hospital in the year.",
    ),
    Segment(
        "Maternal and infant",
        "age_years < 1 or maternity_events >= 1",
        "Babies in their first year and women with maternity care (ICD-10 O or P).",
    ),
    Segment("Healthy", "True", "Everyone else."),
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
    wins; rows matching none get ``"Everyone else"``)."""
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
