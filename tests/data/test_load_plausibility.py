"""Implausible rows are rejected with a reason each (and the good rows load): dates in the
future or before 1900, events after death, the very old alive, a cost outside the plausible
range of its point of delivery, values
that are not finite, a setting that contradicts its point of delivery, malformed codes,
control characters, and placeholder NHS numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from commissioning.core.schema import COST_RANGE_GBP, POINTS_OF_DELIVERY
from commissioning.data.load import Source, load_files
from commissioning.store.duckdb_store import connect

KEY = b"a test key that is long enough"
PEOPLE_HEADER = (
    "nhs_number,birth_year,birth_month,sex,lsoa_code,imd_decile,practice_code,"
    "registration_date,deregistration_date,death_date,place_of_death"
)
ALIVE = "9434765919,1950,3,F,E01000001,3,A81001,2010-01-01,,,"
DEAD = "9022101940,1940,3,M,E01000001,3,A81001,2010-01-01,,2020-01-01,hospital"
ACTIVITY_HEADER = (
    "activity_id,nhs_number,setting,point_of_delivery,provider_code,start_date,end_date,"
    "los_days,primary_diagnosis,procedure_code,units,cost_gbp"
)
GOOD_EVENT = "A1,9434765919,outpatient,outpatient_first,RAA,2022-05-01,2022-05-01,,,,1,190.00"

PEOPLE_CASES = {
    "registered in the future": (
        ALIVE.replace("9434765919", "9503626749").replace("2010-01-01", "2099-01-01"),
        "registration_date is in the future",
    ),
    "registered in 1850": (
        ALIVE.replace("9434765919", "9503626749").replace("2010-01-01", "1850-01-01"),
        "registration_date is before 1900-01-01",
    ),
    "126 years old and alive": (
        ALIVE.replace("9434765919", "9503626749").replace(",1950,", ",1900,"),
        "alive and older than 115",
    ),
    "registered after death": (
        DEAD.replace("9022101940", "9503626749").replace("2010-01-01", "2021-01-01"),
        "registration_date is after death_date",
    ),
    "malformed small area": (
        ALIVE.replace("9434765919", "9503626749").replace("E01000001", "X1"),
        "lsoa_code is not a small-area",
    ),
    "NUL byte in text": (
        ALIVE.replace("9434765919", "9503626749").replace(",F,", ",F\x00,"),
        "sex contains a control character",
    ),
    "all zeros NHS number": (ALIVE.replace("9434765919", "0000000000"), "placeholder"),
    "all nines NHS number": (ALIVE.replace("9434765919", "9999999999"), "placeholder"),
}
ACTIVITY_CASES = {
    "event after death": (
        GOOD_EVENT.replace("A1,9434765919", "A2,9022101940"),
        "start_date is after the person's death",
    ),
    "event in the future": (
        GOOD_EVENT.replace("A1,", "A2,").replace("2022-05-01,2022-05-01", "2099-05-01,2099-05-01"),
        "start_date is in the future",
    ),
    "a cost no event has": (
        GOOD_EVENT.replace("A1,", "A2,").replace(",190.00", ",99999999999.99"),
        "cost_gbp is outside the plausible range for outpatient_first (£0 to £5,000)",
    ),
    "an outpatient attendance at the cost of an admission": (
        GOOD_EVENT.replace("A1,", "A2,").replace(",190.00", ",6000.00"),
        "cost_gbp is outside the plausible range for outpatient_first (£0 to £5,000)",
    ),
    "an admission costed in thousands of pounds": (
        "A2,9434765919,admitted_patient_care,elective_inpatient,RAA,2022-05-01,2022-05-03,"
        "2,,,1,2.20",
        "cost_gbp is outside the plausible range for elective_inpatient (£5 to £500,000)",
    ),
    "a GP appointment at the cost of a day case": (
        "A2,9434765919,primary_care,gp_appointment,A81001,2022-05-01,2022-05-01,,,,1,900.00",
        "cost_gbp is outside the plausible range for gp_appointment (£0 to £500)",
    ),
    "a negative cost": (
        GOOD_EVENT.replace("A1,", "A2,").replace(",190.00", ",-190.00"),
        "cost_gbp is below 0",
    ),
    "units not a number": (
        GOOD_EVENT.replace("A1,", "A2,").replace(",1,190.00", ",NaN,190.00"),
        "units is not a finite number",
    ),
    "infinite units": (
        GOOD_EVENT.replace("A1,", "A2,").replace(",1,190.00", ",inf,190.00"),
        "units is not a finite number",
    ),
    "setting contradicts point of delivery": (
        GOOD_EVENT.replace("A1,", "A2,").replace(
            "outpatient,outpatient_first", "ae,outpatient_first"
        ),
        "setting does not match point_of_delivery",
    ),
    "malformed provider code": (
        GOOD_EVENT.replace("A1,", "A2,").replace(",RAA,", ",R@A,"),
        "provider_code is not an ODS organisation code",
    ),
}


def _store(tmp_path: Path) -> object:
    places = tmp_path / "places.csv"
    places.write_text("place_code,place_name,rurality,is_home\nP1,Home,urban,1\n")
    practices = tmp_path / "gp_practices.csv"
    practices.write_text("practice_code,practice_name,place_code\nA81001,Surgery,P1\n")
    con = connect(":memory:")
    load_files(con, [Source(places, "places"), Source(practices, "gp_practices")], KEY)
    return con


@pytest.mark.parametrize("case", sorted(PEOPLE_CASES))
def test_an_implausible_person_is_rejected_with_its_reason(tmp_path: Path, case: str) -> None:
    row, reason = PEOPLE_CASES[case]
    con = _store(tmp_path)
    people = tmp_path / "people.csv"
    people.write_text("\n".join([PEOPLE_HEADER, ALIVE, row]) + "\n")
    (report,) = load_files(con, [Source(people, "people")], KEY)  # type: ignore[arg-type]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (2, 1, 1)
    (got,) = con.execute("SELECT reason FROM rejects").fetchone()  # type: ignore[attr-defined]
    assert reason in got, got


@pytest.mark.parametrize("case", sorted(ACTIVITY_CASES))
def test_an_implausible_event_is_rejected_with_its_reason(tmp_path: Path, case: str) -> None:
    row, reason = ACTIVITY_CASES[case]
    con = _store(tmp_path)
    people = tmp_path / "people.csv"
    people.write_text("\n".join([PEOPLE_HEADER, ALIVE, DEAD]) + "\n")
    activity = tmp_path / "activity.csv"
    activity.write_text("\n".join([ACTIVITY_HEADER, GOOD_EVENT, row]) + "\n")
    reports = load_files(
        con,  # type: ignore[arg-type]
        [Source(people, "people"), Source(activity, "activity")],
        KEY,
    )
    events = {r.table: r for r in reports}["activity"]
    assert (events.rows_read, events.rows_loaded, events.rows_rejected) == (2, 1, 1)
    (got,) = con.execute(  # type: ignore[attr-defined]
        "SELECT reason FROM rejects WHERE table_name = 'activity'"
    ).fetchone()
    assert reason in got, got
    if case == "a negative cost":  # one reason, not also the range of its point of delivery
        assert got == reason, got


def test_every_point_of_delivery_has_a_cost_range() -> None:
    assert set(COST_RANGE_GBP) == set(POINTS_OF_DELIVERY)
    assert all(0 <= low < high for low, high in COST_RANGE_GBP.values())


def test_costs_at_the_ends_of_a_range_load(tmp_path: Path) -> None:
    con = _store(tmp_path)
    people = tmp_path / "people.csv"
    people.write_text("\n".join([PEOPLE_HEADER, ALIVE]) + "\n")
    rows = [
        f"A{i},9434765919,{POINTS_OF_DELIVERY[pod]},{pod},RAA,2022-05-01,2022-05-01,"
        f"{'0' if POINTS_OF_DELIVERY[pod] == 'admitted_patient_care' else ''},,,1,{cost}.00"
        for i, (pod, cost) in enumerate(
            (pod, end) for pod, ends in COST_RANGE_GBP.items() for end in ends
        )
    ]
    activity = tmp_path / "activity.csv"
    activity.write_text("\n".join([ACTIVITY_HEADER, *rows]) + "\n")
    reports = load_files(
        con,  # type: ignore[arg-type]
        [Source(people, "people"), Source(activity, "activity")],
        KEY,
    )
    events = {r.table: r for r in reports}["activity"]
    assert (events.rows_read, events.rows_loaded) == (2 * len(COST_RANGE_GBP),) * 2
