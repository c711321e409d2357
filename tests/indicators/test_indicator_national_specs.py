"""Each indicator against the national definition it names, on literal tables worked by hand.

The world is that of ``test_indicator_spec.py``: place X with practices P1 and P2,
financial year 2022 (1 April 2022 to 31 March 2023), ages on the record date and on
1 October 2022 (everyone is born in January).
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_indicator_spec import person, row, world

from commissioning.indicators.compute import compute_indicator
from commissioning.indicators.library import (
    LibraryError,
    codelist_header,
    default_library,
    parse_library,
)

D = dt.date
YEAR = [2022]


def spell(aid, pid, start, end=None, pod="emergency_admission", dx=None, dx2=None, cause=None):
    end = end or start
    return {
        "activity_id": aid,
        "person_id": pid,
        "setting": "admitted_patient_care",
        "point_of_delivery": pod,
        "provider_code": "R1",
        "start_date": start,
        "end_date": end,
        "los_days": (end - start).days,
        "primary_diagnosis": dx,
        "secondary_diagnosis": dx2,
        "external_cause": cause,
        "procedure_code": None,
        "units": 1.0,
        "cost_gbp": 1000.0,
    }


# --- Falls 65+: PHOF C29 / Fingertips 22401 --------------------------------------------

#: One woman in each ESP2013 band from 65-69 to 90+ (67, 72, 77, 82, 87, 92 on the day).
OLD = [person(f"o{i}", 1955 - 5 * i) for i in range(6)]


def test_falls_need_an_injury_diagnosis_and_a_fall_as_external_cause() -> None:
    people = [*OLD, person("young", 1990)]
    act = [
        spell("1", "o0", D(2022, 5, 1), dx="S72.0", cause="W19"),  # counts
        spell("2", "o0", D(2022, 6, 1), dx="S72.0", dx2="W01"),  # fall coded as secondary
        spell("3", "o0", D(2022, 7, 1), dx="W19"),  # external cause as primary: no
        spell("4", "o0", D(2022, 8, 1), dx="S06.0", cause="V43"),  # road traffic: no
        spell("5", "o0", D(2022, 9, 1), dx="S72.0", cause="W19", pod="elective_inpatient"),
        spell("6", "young", D(2022, 9, 1), dx="S72.0", cause="W19"),  # aged 32
        spell("7", "o5", D(2022, 9, 1), dx="T14.9", cause="W10"),  # counts (92)
        spell("8", "o5", D(2022, 10, 1), dx="I50.0", cause="W10"),  # not an injury
    ]
    out = compute_indicator(world(people, act), "falls_admissions_65_plus", None, YEAR)
    assert row(out, "group", "All")["numerator"] == 3
    assert row(out, "group", "All")["denominator"] == 6  # the mid-year population 65+


def test_falls_are_directly_standardised_on_the_2013_european_standard_population() -> None:
    falls_per_band = [1, 1, 2, 2, 3, 3]
    act = [
        spell(f"{band}-{k}", f"o{band}", D(2022, 5, 1 + k), dx="S72.0", cause="W19")
        for band, n in enumerate(falls_per_band)
        for k in range(n)
    ]
    out = compute_indicator(world(OLD, act), "falls_admissions_65_plus", None, YEAR)
    x = row(out, "group", "All")
    # ESP2013 weights 65-69 to 90+: 5500, 5000, 4000, 2500, 1500, 1000 (sum 19,500); one
    # person a band, so each band's rate is its count of falls.
    dsr = (5500 * 1 + 5000 * 1 + 4000 * 2 + 2500 * 2 + 1500 * 3 + 1000 * 3) / 19500 * 100_000
    assert x["numerator"] == 12
    assert x["value"] == pytest.approx(dsr)  # 158,974.4; the crude rate would be 200,000
    assert x["value"] == pytest.approx(158_974.358974, rel=1e-9)


# --- Chronic ACSC: NHS OF 2.3.i ------------------------------------------------------------


def test_chronic_acsc_list_and_indirect_standardisation_by_age_and_sex() -> None:
    people = [
        person("p", 1950),
        person("q", 1950),
        person("r", 1950, practice="P2"),
        person("s", 1990, practice="P2"),
    ]
    act = [
        spell("1", "p", D(2022, 5, 1), dx="I50.0"),  # heart failure: counts
        spell("2", "p", D(2022, 6, 1), dx="J20.9", dx2="J44.9"),  # bronchitis with COPD
        spell("3", "p", D(2022, 7, 1), dx="J20.9", dx2="J18.9"),  # bronchitis alone: no
        spell("4", "p", D(2022, 8, 1), dx="E11.9"),  # diabetes without complication: no
        spell("5", "p", D(2022, 9, 1), dx="E11.5"),  # diabetes complication: counts
        spell("6", "p", D(2022, 9, 9), dx="I25.9"),  # chronic IHD, not in 2.3.i: no
        spell("7", "s", D(2022, 5, 1), dx="J45.9"),  # asthma: counts
        spell("8", "q", D(2022, 5, 1), dx="J45.9", pod="elective_inpatient"),  # planned
    ]
    out = compute_indicator(world(people, act), "acsc_chronic_admissions", "practice_code", YEAR)
    p1, p2 = row(out, "practice_code", "P1"), row(out, "practice_code", "P2")
    assert (p1["numerator"], p2["numerator"]) == (3, 1)
    # Reference rates (all practices): women 70-74 have 3 admissions among 3 people (1.0),
    # women 30-34 have 1 among 1 (1.0). Expected: P1 2 x 1.0 = 2; P2 1.0 + 1.0 = 2.
    assert (p1["expected"], p2["expected"]) == (pytest.approx(2.0), pytest.approx(2.0))
    assert (p1["ratio"], p2["ratio"]) == (pytest.approx(1.5), pytest.approx(0.5))
    # ISR = ratio x the reference crude rate (4 admissions over 4 people) per 100,000.
    assert (p1["value"], p2["value"]) == (pytest.approx(150_000), pytest.approx(50_000))


def test_one_chronic_acsc_list_is_shared_with_the_person_year_table() -> None:
    from commissioning.population import codes

    lib = default_library()
    assert lib.codelists["acsc_chronic"] == codes.ACSC_CHRONIC
    assert set(lib.codelists["acsc_chronic"].prefixes) <= set(codes.ACSC_ICD10_PREFIXES)
    header = " ".join(codelist_header("acsc_chronic.csv"))
    assert "NHS Outcomes Framework indicator 2.3.i" in header
    assert "Publisher: NHS Digital" in header


# --- 30-day readmissions: NHS OF 3b / I02040 ----------------------------------------------


def test_readmissions_apply_the_national_exclusions() -> None:
    people = [
        person("a", 1950),
        person("c", 1930, death=D(2022, 12, 1), place="hospital"),
        person("e", 1980, practice="P2"),
        person("g", 1992, practice="P2"),
    ]
    act = [
        spell("1", "a", D(2022, 5, 1), D(2022, 5, 4)),  # index; 2 readmits it
        spell("2", "a", D(2022, 6, 2), D(2022, 6, 5)),  # 29 days after 1: counts
        spell("4", "a", D(2022, 6, 10), D(2022, 6, 12), dx="C34.9"),  # cancer: neither
        spell("5", "a", D(2022, 8, 1), D(2022, 8, 3), pod="elective_inpatient"),  # index
        spell("6", "a", D(2022, 8, 10), D(2022, 8, 12), dx="J18.9", dx2="Z51.1"),  # chemo
        spell("7", "a", D(2022, 8, 20), D(2022, 8, 21)),  # 17 days after 5: counts
        spell("8", "a", D(2022, 9, 1), pod="day_case"),  # a day case: neither
        spell("9", "g", D(2022, 7, 1), D(2022, 7, 3), dx="O60.1"),  # obstetric: neither
        spell("10", "g", D(2022, 7, 10), D(2022, 7, 11), dx="R10.4"),  # index, no readmission
        spell("11", "c", D(2022, 11, 20), D(2022, 12, 1)),  # died in hospital: not an index
        spell("12", "e", D(2022, 10, 1), D(2022, 10, 2)),  # index; 13 readmits it
        spell("13", "e", D(2022, 10, 5), D(2022, 10, 6)),  # index too
    ]
    out = compute_indicator(world(people, act), "readmission_30_days", None, YEAR)
    x = row(out, "group", "All")
    # Index spells: 1, 2, 5, 7, 10, 12, 13. Readmitted within 0-29 days: 1 (by 2), 5 (by 7,
    # the chemotherapy spell 6 does not count) and 12 (by 13); 2 is followed only by the
    # cancer spell 4 and then by 6, 66 days later.
    assert (x["numerator"], x["denominator"]) == (3, 7)


# --- ASCOF 2B(1): still at home 91 days after discharge ----------------------------------


def test_at_home_91_days_leaves_out_care_home_residents_and_counts_hospital_as_not_home() -> None:
    people = [
        person("a", 1950),
        person("b", 1990),
        person("c", 1930, death=D(2022, 12, 1), place="hospital"),
        person("h", 1942),
        person("k", 1937, practice="P2"),
    ]
    act = [
        spell("a1", "a", D(2022, 5, 1), D(2022, 5, 4)),  # day 91 is 3 August: in hospital
        spell("a2", "a", D(2022, 8, 1), D(2022, 8, 5)),  # day 91 is 4 November: at home
        spell("b1", "b", D(2022, 5, 1), D(2022, 5, 2)),  # aged 32: not in the indicator
        spell("c1", "c", D(2022, 10, 1), D(2022, 10, 5)),  # died before day 91
        {
            **spell("h0", "h", D(2022, 1, 1), D(2023, 3, 31), pod="residential_care"),
            "setting": "social_care",
        },
        spell("h1", "h", D(2022, 6, 1), D(2022, 6, 5)),  # lived in a care home: left out
        spell("k1", "k", D(2022, 6, 1), D(2022, 6, 10)),  # into a care home on discharge
        {
            **spell("k0", "k", D(2022, 6, 10), D(2023, 1, 31), pod="nursing_care"),
            "setting": "social_care",
        },
    ]
    out = compute_indicator(world(people, act), "at_home_91_days", None, YEAR)
    x = row(out, "group", "All")
    assert (x["numerator"], x["denominator"]) == (1, 4)  # a2 of a1, a2, c1, k1


# --- The library names its specifications --------------------------------------------------


def test_every_built_in_indicator_names_its_specification() -> None:
    lib = default_library()
    for ind in lib.indicators:
        assert ind.spec is not None, ind.id
        assert ind.source.startswith(f"{ind.spec.framework} {ind.spec.indicator}: ")
        if ind.adapted:
            assert ind.source.endswith(f"; adapted: {ind.adapted}")
    falls = lib.get("falls_admissions_65_plus")
    assert falls.numerator is not None
    assert (falls.numerator.diagnosis_in, falls.numerator.cause_in) == ("injury", "falls")
    assert lib.get("acsc_chronic_admissions").standardisation == "indirect"


GOOD = """
[[indicators]]
id = "ae"
title = "A&E attendances"
measure = "rate"
numerator = { point_of_delivery = "ae_attendance" }
polarity = "lower_is_better"
unit = "per 1,000"
tier = 3
kind = "outcome"
spec.body = "OHID"
spec.framework = "Fingertips"
spec.indicator = "A&E"
spec.title = "A&E attendances"
spec.version = "2024"
"""


def test_a_specification_is_validated_and_needed() -> None:
    assert parse_library(GOOD).get("ae").source == "Fingertips A&E: A&E attendances (OHID, 2024)"
    with pytest.raises(LibraryError, match="version"):
        parse_library(GOOD.replace('version = "2024"', 'version = "24"'))
    with pytest.raises(LibraryError, match="name the definition the indicator implements"):
        parse_library(GOOD.split("spec.body")[0])


def test_indicator_reference_is_current() -> None:
    from pathlib import Path

    from commissioning.core.docs import generated_part
    from commissioning.indicators.docs import REGENERATE, library_markdown

    docs = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"
    assert generated_part(docs.read_text(encoding="utf-8")) == library_markdown(), (
        f"docs/indicators.md is out of date. From the repository's root folder run: {REGENERATE}"
    )
