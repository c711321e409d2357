"""Bridges to Health rules on literal person-years: first matching segment wins, on what was
known at the start of the year (the year before's row)."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from commissioning.population.codes import condition_columns
from commissioning.population.rules import RuleError
from commissioning.population.segments import Segment, assign_segments, segment_profile


def person(pid: str, **values: object) -> dict[str, object]:
    row: dict[str, object] = {c: 0 for c in condition_columns()}
    row |= {
        "person_id": pid,
        "year": 2023,
        "age_years": 40,
        "sex": "M",
        "died_in_year": 0,
        "condition_count": 0,
        "frailty": None,
        "emergency_admissions": 0,
        "elective_admissions": 0,
        "maternity_events": 0,
        "total_cost_gbp": 100.0,
        "bed_days": 0,
        "ae_events": 0,
        "primary_care_events": 1,
    }
    row |= values
    if "condition_count" not in values:
        row["condition_count"] = sum(int(row[c]) for c in condition_columns())  # type: ignore[call-overload]
    return row


def before(row: dict[str, object], **values: object) -> dict[str, object]:
    """The same person's row for the year before, changed by ``values``."""
    earlier = {**row, "year": 2022, "age_years": int(row["age_years"]) - 1}  # type: ignore[call-overload]
    earlier |= values
    earlier["condition_count"] = sum(int(earlier[c]) for c in condition_columns())  # type: ignore[call-overload]
    return earlier


# (this year's row, the year before's changes or None when new, expected segment)
CASES: list[tuple[dict[str, object], dict[str, object] | None, str]] = [
    (
        person("cancer_admitted", can=1, hf=1),
        {"emergency_admissions": 2},
        "Short period of decline before dying",
    ),
    # Dying in the year, with cancer found in it, says nothing about its start.
    (
        person("cancer_died", can=1, died_in_year=1, emergency_admissions=3),
        {"can": 0, "emergency_admissions": 0},
        "Healthy",
    ),
    (
        person("hf_admitted", hf=1, age_years=80, frailty="severe"),
        {"emergency_admissions": 1, "frailty": "mild"},
        "Limited reserve and serious exacerbations",
    ),
    (person("hf_quiet", hf=1, age_years=80, frailty="mild"), {}, "Chronic conditions, stable"),
    (
        person("frail", age_years=88, frailty="mild", hyp=1),
        {"frailty": "moderate"},
        "Long decline (frailty or dementia)",
    ),
    (
        person("frail_only_now", age_years=88, frailty="severe", hyp=1),
        {"frailty": "mild"},
        "Chronic conditions, stable",
    ),
    (person("dementia", age_years=70, dem=1), {}, "Long decline (frailty or dementia)"),
    (person("new_dementia", age_years=70, dem=1), None, "Long decline (frailty or dementia)"),
    (person("ld", ld=1, ast=1), {}, "Stable but serious disability"),
    (person("asthma", ast=1, emergency_admissions=3), {}, "Chronic conditions, stable"),
    (person("broken_leg", emergency_admissions=1), {"emergency_admissions": 0}, "Healthy"),
    (person("admitted_before"), {"emergency_admissions": 1}, "Acutely ill"),
    (person("baby", age_years=0), None, "Maternal and infant"),
    (person("mother", age_years=31, sex="F", maternity_events=2), {}, "Maternal and infant"),
    (
        person("mother_before", age_years=31, sex="F"),
        {"maternity_events": 1},
        "Maternal and infant",
    ),
    (person("man_coded_o", age_years=31, sex="M", maternity_events=1), {}, "Healthy"),
    (person("older_woman", age_years=58, sex="F", maternity_events=1), {}, "Healthy"),
    (person("well", age_years=25), {}, "Healthy"),
    (person("cancer_alive", can=1), {}, "Chronic conditions, stable"),
]
ROWS = [
    row
    for this, changes, _ in CASES
    for row in ([this] if changes is None else [this, before(this, **changes)])
]


@pytest.fixture(scope="module")
def segmented() -> pd.DataFrame:
    table = ibis.memtable(pd.DataFrame(ROWS))
    out = assign_segments(table).to_pandas()
    return out[out.year == 2023].set_index("person_id")


@pytest.mark.parametrize(
    ("row", "expected"),
    [(row, expected) for row, _, expected in CASES],
    ids=[str(r["person_id"]) for r, _, _ in CASES],
)
def test_bridges_to_health(segmented: pd.DataFrame, row: dict[str, object], expected: str) -> None:
    assert segmented.loc[row["person_id"], "segment"] == expected


def test_user_defined_segments_in_order() -> None:
    table = ibis.memtable(pd.DataFrame(ROWS))
    mine = [
        Segment("Old and frail", "age >= 75 and start_frailty in ('moderate', 'severe')"),
        Segment("Heart failure", "hf"),
    ]
    out = assign_segments(table, mine).to_pandas().query("year == 2023").set_index("person_id")
    out = out.segment
    assert out["frail"] == "Old and frail"
    assert out["hf_admitted"] == "Heart failure"  # severe only this year: not known at start
    assert out["hf_quiet"] == "Heart failure"
    assert out["well"] == "Everyone else"


def test_bad_segment_rules_name_the_segment() -> None:
    table = ibis.memtable(pd.DataFrame(ROWS))
    with pytest.raises(RuleError, match="segment 'Frail': unknown column 'frialty'"):
        assign_segments(table, [Segment("Frail", "frialty == 'severe'")])
    with pytest.raises(RuleError, match="used twice"):
        assign_segments(table, [Segment("A", "hf"), Segment("A", "copd")])


def test_profile_shares_add_to_one(segmented: pd.DataFrame) -> None:
    table = ibis.memtable(segmented.reset_index())
    prof = segment_profile(table)
    assert prof.people.sum() == len(CASES)
    assert prof.share_of_spend.sum() == pytest.approx(1.0)
