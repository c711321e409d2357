"""Spec tests: indicators for a segment (cohort) that changes from year to year.

The world: place X with practice P1; financial years 2022 and 2023 (1 April 2022 to
31 March 2024); mid-year populations counted on 1 October 2022 and 1 October 2023.
Person a is in the cohort in 2022 only, person b in both years.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pytest
from literal_tables import ACTIVITY_SCHEMA, PEOPLE_SCHEMA

from commissioning.indicators.compute import compute_indicator

D = dt.date
YEARS = [2022, 2023]


def person(pid: str, birth_year: int) -> dict[str, object]:
    return {
        "person_id": pid,
        "birth_year": birth_year,
        "birth_month": 1,
        "sex": "F",
        "lsoa_code": "L1",
        "imd_decile": 5,
        "practice_code": "P1",
        "registration_date": D(2000, 1, 1),
        "deregistration_date": None,
        "death_date": None,
        "place_of_death": None,
    }


def admission(aid: str, pid: str, start: dt.date, end: dt.date) -> dict[str, object]:
    return {
        "activity_id": aid,
        "person_id": pid,
        "setting": "admitted_patient_care",
        "point_of_delivery": "emergency_admission",
        "provider_code": "R1",
        "start_date": start,
        "end_date": end,
        "los_days": (end - start).days,
        "primary_diagnosis": None,
        "procedure_code": None,
        "units": 1.0,
        "cost_gbp": 100.0,
    }


PEOPLE = [person("a", 1950), person("b", 1945), person("c", 1940)]  # c never in the cohort
ACTIVITY = [
    admission("1", "a", D(2022, 6, 1), D(2022, 6, 3)),  # 2022: a in the cohort
    admission("2", "a", D(2023, 6, 1), D(2023, 6, 2)),  # 2023: a no longer in it
    admission("3", "a", D(2024, 1, 10), D(2024, 1, 12)),  # 2023 (January 2024): not counted
    admission("4", "b", D(2022, 9, 1), D(2022, 9, 2)),  # 2022
    admission("5", "b", D(2023, 11, 1), D(2023, 11, 5)),  # 2023
    admission("6", "c", D(2022, 7, 1), D(2022, 7, 2)),  # never counted
]


def world() -> dict[str, ibis.Table]:
    empty_proms = {
        "person_id": "string",
        "activity_id": "string",
        "procedure": "string",
        "operation_date": "date",
        "eq5d_index_pre": "float64",
        "eq5d_index_post": "float64",
    }
    return {
        "places": ibis.memtable(
            {"place_code": ["X"], "place_name": ["Exton"], "rurality": ["urban"], "is_home": [1]}
        ),
        "gp_practices": ibis.memtable(
            {"practice_code": ["P1"], "practice_name": ["One"], "place_code": ["X"]}
        ),
        "people": ibis.memtable(PEOPLE, schema=PEOPLE_SCHEMA),
        "activity": ibis.memtable(ACTIVITY, schema=ACTIVITY_SCHEMA),
        "proms": ibis.memtable([], schema=empty_proms),
    }


SEGMENT_SCHEMA = {"person_id": "string", "year": "int64", "cohort": "string"}


def row(frame, column, key):  # type: ignore[no-untyped-def]
    return frame[frame[column] == key].iloc[0]


def test_a_person_counts_only_in_the_years_they_are_in_the_cohort() -> None:
    segments = ibis.memtable(
        [
            {"person_id": "a", "year": 2022, "cohort": "frail"},
            {"person_id": "b", "year": 2022, "cohort": "frail"},
            {"person_id": "b", "year": 2023, "cohort": "frail"},
        ],
        schema=SEGMENT_SCHEMA,
    )
    out = compute_indicator(
        world(), "emergency_admissions", "cohort", YEARS, standardisation="none", segments=segments
    )
    frail = row(out, "cohort", "frail")
    # Admissions 1 (a, 2022), 4 and 5 (b); person-years a 2022, b 2022, b 2023.
    assert (frail["numerator"], frail["denominator"]) == (3, 3)
    assert frail["value"] == pytest.approx(1000.0)


def test_without_a_year_column_the_person_counts_in_every_year() -> None:
    segments = ibis.memtable(
        [{"person_id": "a", "cohort": "frail"}, {"person_id": "b", "cohort": "frail"}],
        schema={"person_id": "string", "cohort": "string"},
    )
    out = compute_indicator(
        world(), "emergency_admissions", "cohort", YEARS, standardisation="none", segments=segments
    )
    frail = row(out, "cohort", "frail")
    # Admissions 1-5; person-years a and b in both years.
    assert (frail["numerator"], frail["denominator"]) == (5, 4)


def test_the_segment_can_be_the_cohort_year_itself() -> None:
    # One query, one row a year: the segment column names the year of the cohort.
    segments = ibis.memtable(
        [
            {"person_id": "a", "year": 2022, "cohort": "2022"},
            {"person_id": "b", "year": 2022, "cohort": "2022"},
            {"person_id": "b", "year": 2023, "cohort": "2023"},
        ],
        schema=SEGMENT_SCHEMA,
    )
    out = compute_indicator(
        world(), "emergency_admissions", "cohort", YEARS, standardisation="none", segments=segments
    )
    y2022, y2023 = row(out, "cohort", "2022"), row(out, "cohort", "2023")
    assert (y2022["numerator"], y2022["denominator"]) == (2, 2)
    assert (y2023["numerator"], y2023["denominator"]) == (1, 1)  # b's November admission


def test_records_of_a_proportion_follow_the_cohort_year_too() -> None:
    segments = ibis.memtable(
        [
            {"person_id": "a", "year": 2022, "cohort": "frail"},
            {"person_id": "b", "year": 2023, "cohort": "frail"},
        ],
        schema=SEGMENT_SCHEMA,
    )
    out = compute_indicator(world(), "readmission_30_days", "cohort", YEARS, segments=segments)
    frail = row(out, "cohort", "frail")
    # Index admissions (discharged alive): a's June 2022 one and b's November 2023 one.
    assert (frail["numerator"], frail["denominator"]) == (0, 2)
