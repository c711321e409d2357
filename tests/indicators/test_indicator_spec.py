"""Spec tests: small literal tables in, hand-computed numerators and denominators out.

The world: place X with practices P1 and P2, financial year 2022 (1 April 2022 to
31 March 2023); mid-year population counted on 1 October 2022.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pytest
from literal_tables import ACTIVITY_SCHEMA, PEOPLE_SCHEMA

from commissioning.indicators.compute import compute_indicator, indicator_series

D = dt.date
YEAR = [2022]


def person(pid, birth_year, practice="P1", sex="F", death=None, place=None, registered=None):
    return {
        "person_id": pid,
        "birth_year": birth_year,
        "birth_month": 1,
        "sex": sex,
        "lsoa_code": "L1",
        "imd_decile": 5,
        "practice_code": practice,
        "registration_date": registered or D(2000, 1, 1),
        "deregistration_date": None,
        "death_date": death,
        "place_of_death": place,
    }


def event(aid, pid, pod, start, end=None, diagnosis=None, provider="R1", cost=100.0):
    end = end or start
    return {
        "activity_id": aid,
        "person_id": pid,
        "setting": "x",
        "point_of_delivery": pod,
        "provider_code": provider,
        "start_date": start,
        "end_date": end,
        "los_days": (end - start).days,
        "primary_diagnosis": diagnosis,
        "procedure_code": None,
        "units": 1.0,
        "cost_gbp": cost,
    }


def world(people, activity, proms=(), experience=()):
    return {
        "places": ibis.memtable(
            {"place_code": ["X"], "place_name": ["Exton"], "rurality": ["urban"], "is_home": [1]}
        ),
        "gp_practices": ibis.memtable(
            {
                "practice_code": ["P1", "P2"],
                "practice_name": ["One", "Two"],
                "place_code": ["X", "X"],
            }
        ),
        "people": ibis.memtable(people, schema=PEOPLE_SCHEMA),
        "activity": ibis.memtable(activity, schema=ACTIVITY_SCHEMA),
        "proms": ibis.memtable(
            list(proms),
            schema={
                "person_id": "string",
                "activity_id": "string",
                "procedure": "string",
                "operation_date": "date",
                "eq5d_index_pre": "float64",
                "eq5d_index_post": "float64",
            },
        ),
        "experience": ibis.memtable(
            list(experience),
            schema={
                "person_id": "string",
                "practice_code": "string",
                "survey_date": "date",
                "question_code": "string",
                "response": "int64",
            },
        ),
    }


PEOPLE = [
    person("a", 1950),  # 72 on 1 Oct 2022
    person("b", 1990),
    person("c", 1930, death=D(2022, 12, 1), place="home"),  # alive on 1 October
    person("d", 1960, death=D(2022, 6, 1), place="hospital"),  # died before 1 October
    person("e", 1980, practice="P2"),
]


def row(frame, column, key):
    return frame[frame[column] == key].iloc[0]


def test_crude_rate_counts_events_over_mid_year_population() -> None:
    # A&E: a twice, e once; one attendance in March 2022 is in the previous year.
    act = [
        event("1", "a", "ae_attendance", D(2022, 5, 1)),
        event("2", "a", "ae_attendance", D(2023, 2, 1)),
        event("3", "e", "ae_attendance", D(2022, 9, 9)),
        event("4", "b", "ae_attendance", D(2022, 3, 31)),
    ]
    t = world(PEOPLE, act)
    out = compute_indicator(t, "outpatient_first", "practice_code", YEAR)
    assert out["numerator"].sum() == 0
    t["activity"] = ibis.memtable(
        [{**a, "point_of_delivery": "outpatient_first"} for a in act], schema=ACTIVITY_SCHEMA
    )
    out = compute_indicator(t, "outpatient_first", "practice_code", YEAR)
    p1 = row(out, "practice_code", "P1")
    # P1's mid-year population is a, b, c (d died in June): 3 person-years; 2 events.
    assert (p1["numerator"], p1["denominator"]) == (2, 3)
    assert p1["value"] == pytest.approx(2 / 3 * 1000)
    assert p1["suppressed"]  # 2 events: a small count
    assert row(out, "practice_code", "P2")["numerator"] == 1


def test_deaths_in_usual_place_of_residence() -> None:
    out = compute_indicator(world(PEOPLE, []), "deaths_usual_residence", "place_code", YEAR)
    x = row(out, "place_code", "X")
    assert (x["numerator"], x["denominator"]) == (1, 2)  # c at home, d in hospital


def test_readmission_within_30_days_and_still_at_home() -> None:
    act = [
        event("1", "a", "emergency_admission", D(2022, 5, 1), D(2022, 5, 4)),
        event("2", "a", "emergency_admission", D(2022, 6, 3), D(2022, 6, 5)),  # day 30: too late
        event("3", "a", "emergency_admission", D(2022, 9, 1), D(2022, 9, 2)),  # 88 days
        event("4", "c", "emergency_admission", D(2022, 10, 1), D(2022, 10, 5)),
        event("5", "a", "residential_care", D(2022, 11, 1), D(2023, 3, 1)),
    ]
    t = world(PEOPLE, act)
    ra = row(compute_indicator(t, "readmission_30_days", "place_code", YEAR), "place_code", "X")
    # Index admissions: 1, 2, 3, 4 (all discharged alive); 2 starts 30 days after 1 ends,
    # outside the national 0 to 29 days, so none is a readmission.
    assert (ra["numerator"], ra["denominator"]) == (0, 4)
    home = row(compute_indicator(t, "at_home_91_days", "place_code", YEAR), "place_code", "X")
    # 65+: a (72) and c (92). At 91 days: 1 -> at home; 2 -> at home (3 Sept); 3 -> in care
    # home on 1 December; 4 -> c died on 1 December (before 4 January).
    assert (home["numerator"], home["denominator"]) == (2, 4)
    by_provider = compute_indicator(t, "readmission_30_days", "provider_code", YEAR)
    assert list(by_provider["provider_code"]) == ["R1"]


def test_chronic_acsc_admissions_are_indirectly_standardised() -> None:
    act = [
        event(str(i), "a", "emergency_admission", D(2022, 5, 1 + i), diagnosis="J44.1")
        for i in range(12)
    ] + [event("x", "b", "emergency_admission", D(2022, 5, 1), diagnosis="R07.4")]
    out = compute_indicator(world(PEOPLE, act), "acsc_chronic_admissions", "place_code", YEAR)
    x = row(out, "place_code", "X")
    assert x["numerator"] == 12  # the chest pain admission is not an ACSC
    # NHS OF 2.3.i is indirectly standardised: one place is its own reference, so the
    # ratio is 1 and the rate is the crude 12 admissions over 4 people, per 100,000.
    assert x["ratio"] == pytest.approx(1.0)
    assert x["value"] == pytest.approx(12 / 4 * 100_000)


def test_means_proms_and_experience_and_days_at_home() -> None:
    act = [event("s1", "a", "elective_inpatient", D(2022, 7, 1), D(2022, 7, 11), provider="RZ")]
    proms = [
        {
            "person_id": "a",
            "activity_id": "s1",
            "procedure": "hip_replacement",
            "operation_date": D(2022, 7, 1),
            "eq5d_index_pre": 0.3,
            "eq5d_index_post": 0.8,
        },
        {
            "person_id": "b",
            "activity_id": "s2",
            "procedure": "hip_replacement",
            "operation_date": D(2022, 8, 1),
            "eq5d_index_pre": 0.5,
            "eq5d_index_post": 0.6,
        },
    ]
    experience = [
        {
            "person_id": p,
            "practice_code": "P1",
            "survey_date": D(2022, 9, 1),
            "question_code": "overall_experience",
            "response": r,
        }
        for p, r in (("a", 5), ("b", 4), ("c", 2))
    ]
    t = world(PEOPLE, act, proms, experience)
    hip = row(compute_indicator(t, "proms_hip_gain", None, YEAR), "group", "All")
    assert hip["value"] == pytest.approx(0.3)
    assert row(
        compute_indicator(t, "proms_hip_gain", "provider_code", YEAR), "provider_code", "RZ"
    )["value"] == pytest.approx(0.5)
    exp = row(compute_indicator(t, "patient_experience_good", None, YEAR), "group", "All")
    assert (exp["numerator"], exp["denominator"]) == (2, 3)
    days = row(compute_indicator(t, "days_at_home_65_plus", None, YEAR), "group", "All")
    # 65+ on 1 October: a (365 days less 10 in hospital) and c (alive 1 April to 1 December).
    assert days["denominator"] == 2
    assert days["numerator"] == (365 - 10) + 244


def test_quarterly_series_annualises_rates() -> None:
    act = [
        event("1", "a", "gp_appointment", D(2022, 4, 5)),
        event("2", "b", "gp_appointment", D(2022, 5, 5)),
    ]
    s = indicator_series(world(PEOPLE, act), "gp_appointments", "X", "quarter", YEAR)
    assert len(s) == 4
    first = s.iloc[0]
    assert first["numerator"] == 2
    assert first["denominator"] == pytest.approx(4 * 0.25)  # a, b, c, e
    assert first["value"] == pytest.approx(2.0)  # 2 events in a quarter-year of 1 person


def test_unknown_grouping_is_explained() -> None:
    with pytest.raises(ValueError, match="cannot group by"):
        compute_indicator(world(PEOPLE, []), "gp_appointments", "no_such_column", YEAR)
    with pytest.raises(ValueError, match="providers have none"):
        compute_indicator(world(PEOPLE, []), "gp_appointments", "provider_code", YEAR)
