"""Numbers and names for people: one place for how every report writes a figure.

One formatter for the whole pack: money as whole pounds with thousands separated
(``£1,234``), counts as whole numbers (``4,422``, never ``4,422.0``), shares as
percentages (``30.0%``, never ``0.3``), rates to one decimal place; a hidden figure is
written "suppressed". Codes become names (:func:`name_of`): conditions, settings, points
of delivery, places and practices (from the store's own lists), deprivation deciles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from commissioning.core.schema import POINTS_OF_DELIVERY, SETTINGS, condition_rows

HIDDEN = "suppressed"

SETTING_NAMES: dict[str, str] = {
    "primary_care": "General practice",
    "community": "Community health services",
    "mental_health": "Mental health services",
    "ae": "A&E",
    "admitted_patient_care": "Hospital admissions",
    "outpatient": "Outpatients",
    "social_care": "Adult social care",
}
POD_NAMES: dict[str, str] = {
    "gp_appointment": "GP appointment",
    "community_contact": "Community contact",
    "mental_health_contact": "Mental health contact",
    "ae_attendance": "A&E attendance",
    "emergency_admission": "Emergency admission",
    "elective_inpatient": "Planned admission",
    "day_case": "Day case",
    "outpatient_first": "First outpatient appointment",
    "outpatient_follow_up": "Follow-up outpatient appointment",
    "home_care": "Home care",
    "residential_care": "Residential care",
    "nursing_care": "Nursing home care",
}
assert set(SETTING_NAMES) == set(SETTINGS) and set(POD_NAMES) == set(POINTS_OF_DELIVERY)


def condition_names() -> dict[str, str]:
    """Long-term condition code (either case) to its name."""
    out = {}
    for row in condition_rows():
        out[row["condition_code"]] = row["condition_name"]
        out[row["condition_code"].lower()] = row["condition_name"]
    return out


def name_of(code: Any, extra: Mapping[str, str] | None = None) -> str:
    """The plain-English name of a code: ``extra`` (places, practices) first, then the
    condition, setting and point-of-delivery lists; an unknown code is returned as it is."""
    text = str(code)
    if extra and text in extra:
        return extra[text]
    for book in (SETTING_NAMES, POD_NAMES, condition_names()):
        if text in book:
            return book[text]
    return text


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def gbp(x: float) -> str:
    """Whole pounds with thousands separated; minus before the pound sign, never "-£0"."""
    whole = round(x)
    return f"-£{-whole:,.0f}" if whole < 0 else f"£{whole:,.0f}"


def count(x: Any) -> str:
    """A count of people or events: ``4,422``."""
    return HIDDEN if _missing(x) else f"{round(float(x)):,}"


def percent(x: Any, digits: int = 1) -> str:
    """A figure already in per cent: ``12.3%``."""
    return HIDDEN if _missing(x) else f"{float(x):,.{digits}f}%"


def share(x: Any, digits: int = 1) -> str:
    """A share between 0 and 1, written as a percentage: 0.3 is ``30.0%``."""
    return HIDDEN if _missing(x) else percent(100 * float(x), digits)


def number(x: Any, digits: int = 1) -> str:
    return HIDDEN if _missing(x) else f"{float(x):,.{digits}f}"


#: Columns holding counts, whatever table they are in.
COUNT_COLUMNS = frozenset(
    {
        "people",
        "cases",
        "population",
        "registered",
        "events",
        "deaths",
        "emergency_admissions",
        "bed_days",
        "selected",
        "true_positives",
        "numerator",
        "denominator",
        "person_years",
        "next_emergency_admissions",
        "quarters",
    }
)


def cell(column: str, value: Any) -> str:
    """A value of ``column`` as the pack writes it, chosen by the column's name."""
    if _missing(value):
        return HIDDEN
    if isinstance(value, str):
        return value
    if column.endswith("_gbp"):
        return gbp(float(value))
    if column.endswith("_change"):  # a relative change: 0.05 is "+5.0%"
        return f"{100 * float(value):+,.1f}%"
    if column in COUNT_COLUMNS:
        return count(value)
    if column.endswith("_pct"):
        return percent(value)
    if column.startswith("share") or column.endswith("_share") or column in {"ppv", "sensitivity"}:
        return share(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return number(value)


def names_in(tables: Mapping[str, Any]) -> dict[str, str]:
    """Place and practice codes of the store (Ibis tables) to their names."""
    out: dict[str, str] = {}
    for table, code, name in (
        ("places", "place_code", "place_name"),
        ("gp_practices", "practice_code", "practice_name"),
    ):
        if table in tables:
            frame = tables[table].select(code, name).execute()
            out.update(zip(frame[code].astype(str), frame[name].astype(str), strict=True))
    return out
