"""Bridges to Health rules on literal person-years: first matching segment wins."""

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


ROWS = [
    (
        person("cancer_died", can=1, died_in_year=1, hf=1, emergency_admissions=2),
        "Short period of decline before dying",
    ),
    (
        person("hf_admitted", hf=1, emergency_admissions=1, age_years=80, frailty="severe"),
        "Limited reserve and serious exacerbations",
    ),
    (person("hf_quiet", hf=1, age_years=80, frailty="mild"), "Chronic conditions, stable"),
    (
        person("frail", age_years=88, frailty="moderate", hyp=1),
        "Long decline (frailty or dementia)",
    ),
    (person("dementia", age_years=70, dem=1), "Long decline (frailty or dementia)"),
    (person("ld", ld=1, ast=1), "Stable but serious disability"),
    (person("asthma", ast=1, emergency_admissions=3), "Chronic conditions, stable"),
    (person("broken_leg", emergency_admissions=1), "Acutely ill"),
    (person("baby", age_years=0), "Maternal and infant"),
    (person("mother", age_years=31, maternity_events=2), "Maternal and infant"),
    (person("well", age_years=25), "Healthy"),
    (person("cancer_alive", can=1), "Chronic conditions, stable"),
]


@pytest.fixture(scope="module")
def segmented() -> pd.DataFrame:
    table = ibis.memtable(pd.DataFrame([row for row, _ in ROWS]))
    return assign_segments(table).to_pandas().set_index("person_id")


@pytest.mark.parametrize(("row", "expected"), ROWS, ids=[r["person_id"] for r, _ in ROWS])
def test_bridges_to_health(segmented: pd.DataFrame, row: dict[str, object], expected: str) -> None:
    assert segmented.loc[row["person_id"], "segment"] == expected


def test_user_defined_segments_in_order() -> None:
    table = ibis.memtable(pd.DataFrame([row for row, _ in ROWS]))
    mine = [
        Segment("Old and frail", "age >= 75 and frailty in ('moderate', 'severe')"),
        Segment("Heart failure", "hf"),
    ]
    out = assign_segments(table, mine).to_pandas().set_index("person_id").segment
    assert out["frail"] == "Old and frail"
    assert out["hf_admitted"] == "Old and frail"
    assert out["hf_quiet"] == "Heart failure"
    assert out["well"] == "Everyone else"


def test_bad_segment_rules_name_the_segment() -> None:
    table = ibis.memtable(pd.DataFrame([row for row, _ in ROWS]))
    with pytest.raises(RuleError, match="segment 'Frail': unknown column 'frialty'"):
        assign_segments(table, [Segment("Frail", "frialty == 'severe'")])
    with pytest.raises(RuleError, match="used twice"):
        assign_segments(table, [Segment("A", "hf"), Segment("A", "copd")])


def test_profile_shares_add_to_one(segmented: pd.DataFrame) -> None:
    table = ibis.memtable(segmented.reset_index())
    prof = segment_profile(table)
    assert prof.people.sum() == len(ROWS)
    assert prof.share_of_spend.sum() == pytest.approx(1.0)
