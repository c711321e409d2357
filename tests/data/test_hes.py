"""Hospital episode style extracts map onto canonical activity and load like any file."""

from __future__ import annotations

from pathlib import Path

import pytest

from commissioning.data.hes import read_hes
from commissioning.data.load import Source, load_files
from commissioning.store.duckdb_store import connect
from nhs_scan import mark_raw_input

KEY = b"a test key that is long enough"


@pytest.fixture(autouse=True)
def _extracts_are_raw_input(tmp_path: Path) -> None:
    """The extracts these tests write carry NHS numbers, and their stores are in memory."""
    mark_raw_input(tmp_path)


def _reference(con: object, tmp_path: Path) -> None:
    (tmp_path / "places.csv").write_text("place_code,place_name,rurality,is_home\nP1,H,urban,1\n")
    (tmp_path / "gp_practices.csv").write_text(
        "practice_code,practice_name,place_code\nA81001,R,P1\n"
    )
    (tmp_path / "people.csv").write_text(
        "nhs_number,birth_year,birth_month,sex,lsoa_code,imd_decile,practice_code,"
        "registration_date,deregistration_date,death_date,place_of_death\n"
        "9434765919,1950,3,F,E01000001,3,A81001,2010-01-01,,,\n"
    )
    load_files(
        con,
        [
            Source(tmp_path / f"{t}.csv", t)  # type: ignore[arg-type]
            for t in ("places", "gp_practices", "people")
        ],
        KEY,
    )


def test_admitted_patient_care_extract(tmp_path: Path) -> None:
    apc = tmp_path / "apc.csv"
    apc.write_text(
        "EPIKEY,NEWNHSNO,ADMIDATE,DISDATE,ADMIMETH,CLASSPAT,DIAG_4_01,OPERTN_4_01,PROCODE3\n"
        "1001,9434765919,2023-05-01,2023-05-06,21,1,J189,,RXX\n"
        "1002,9434765919,02/06/2023,02/06/2023,11,2,H259,C751,RXX\n"
        "1003,9434765919,2023-07-01,2023-07-04,12,1,I10X,,RXX\n"
        "1004,9434765919,2023-08-01,2023-08-02,99,1,R69X,,RXX\n"
        "1005,9434765918,2023-08-01,2023-08-02,21,1,R69X,,RXX\n"
    )
    rows = read_hes(apc, "hes-apc")
    assert rows["point_of_delivery"].to_pylist() == [
        "emergency_admission",
        "day_case",
        "elective_inpatient",
        None,
        "emergency_admission",
    ]
    assert rows["primary_diagnosis"].to_pylist() == ["J18.9", "H25.9", "I10", "R69", "R69"]
    assert rows["start_date"].to_pylist()[1] == "2023-06-02"
    assert rows["los_days"].to_pylist()[:3] == ["5", "0", "3"]
    con = connect(":memory:")
    _reference(con, tmp_path)
    (report,) = load_files(con, [Source(apc, "activity", rows=rows, source_format="hes-apc")], KEY)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 3, 2)
    reasons = dict(con.execute("SELECT line, reason FROM rejects").fetchall())
    assert "point_of_delivery is missing" in reasons[5]
    assert "modulus 11" in reasons[6]
    costs = con.execute("SELECT activity_id, cost_gbp FROM activity ORDER BY 1").fetchall()
    assert [float(c) for _, c in costs] == [2200.0, 900.0, 4000.0]


def test_secondary_positions_give_the_external_cause_and_secondary_diagnosis(
    tmp_path: Path,
) -> None:
    """A fall is coded as an injury first and the fall (W00-W19) in a later position."""
    apc = tmp_path / "apc.csv"
    apc.write_text(
        "EPIKEY,NEWNHSNO,ADMIDATE,DISDATE,ADMIMETH,CLASSPAT,DIAG_4_01,DIAG_4_02,DIAG_4_03,"
        "DIAG_4_04,PROCODE3\n"
        "1,9434765919,2023-05-01,2023-05-06,21,1,S720,W190,I10X,W010,RXX\n"
        "2,9434765919,2023-06-01,2023-06-02,21,1,J189,,E119,,RXX\n"
        "3,9434765919,2023-07-01,2023-07-02,21,1,S525,I489,,X599,RXX\n"
        "4,9434765919,2023-08-01,2023-08-02,21,1,R69X,,,,RXX\n"
    )
    rows = read_hes(apc, "hes-apc")
    assert rows["external_cause"].to_pylist() == ["W19.0", None, "X59.9", None]
    assert rows["secondary_diagnosis"].to_pylist() == ["I10", "E11.9", "I48.9", None]
    con = connect(":memory:")
    _reference(con, tmp_path)
    (report,) = load_files(con, [Source(apc, "activity", rows=rows, source_format="hes-apc")], KEY)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (4, 4, 0)
    loaded = con.execute(
        "SELECT activity_id, external_cause, secondary_diagnosis FROM activity ORDER BY 1"
    ).fetchall()
    assert loaded[0] == ("1", "W19.0", "I10")


def test_outpatient_and_ae_extracts(tmp_path: Path) -> None:
    op = tmp_path / "op.csv"
    op.write_text(
        "ATTENDKEY,NEWNHSNO,APPTDATE,FIRSTATT,ATTENDED,PROCODE3,COST\n"
        "1,9434765919,2023-05-01,1,5,RXX,210.50\n"
        "2,9434765919,2023-06-01,2,6,RXX,\n"
        "3,9434765919,2023-07-01,2,3,RXX,\n"
    )
    ae = tmp_path / "ae.csv"
    ae.write_text("AEKEY,NEWNHSNO,ARRIVALDATE,DIAG_01,PROCODE3\nA1,9434765919,2023-05-01,,RXX\n")
    con = connect(":memory:")
    _reference(con, tmp_path)
    reports = load_files(
        con,
        [
            Source(op, "activity", rows=read_hes(op, "hes-op"), source_format="hes-op"),
            Source(ae, "activity", rows=read_hes(ae, "hes-ae"), source_format="hes-ae"),
        ],
        KEY,
    )
    assert [(r.rows_loaded, r.rows_rejected) for r in reports] == [(2, 1), (1, 0)]
    got = con.execute(
        "SELECT point_of_delivery, cost_gbp FROM activity ORDER BY start_date"
    ).fetchall()
    assert [(p, float(c)) for p, c in got] == [
        ("outpatient_first", 210.5),
        ("ae_attendance", 190.0),
        ("outpatient_follow_up", 125.0),
    ]


def test_episodes_of_one_spell_load_as_one_spell(tmp_path: Path) -> None:
    apc = tmp_path / "apc.csv"
    apc.write_text(
        "EPIKEY,NEWNHSNO,ADMIDATE,DISDATE,ADMIMETH,CLASSPAT,DIAG_4_01,PROCODE3,PROVSPNOPS,"
        "EPIORDER\n"
        "2001,9434765919,2023-05-01,,21,1,J189,RXX,S1,01\n"
        "2002,9434765919,2023-05-01,2023-05-09,21,1,J189,RXX,S1,02\n"
        "2003,9434765919,2023-07-01,2023-07-02,21,1,N390,RXX,S2,01\n"
    )
    con = connect(":memory:")
    _reference(con, tmp_path)
    (report,) = load_files(
        con,
        [Source(apc, "activity", rows=read_hes(apc, "hes-apc"), source_format="hes-apc")],
        KEY,
    )
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (3, 2, 1)
    spells = con.execute(
        "SELECT activity_id, start_date, end_date, los_days FROM activity ORDER BY 1"
    ).fetchall()
    assert [(a, str(s), str(e), n) for a, s, e, n in spells] == [
        ("2001", "2023-05-01", "2023-05-09", 8),
        ("2003", "2023-07-01", "2023-07-02", 1),
    ]
    (reason,) = con.execute("SELECT reason FROM rejects").fetchone()  # type: ignore[misc]
    assert reason == "a later episode of a spell: the spell is loaded from its first episode"
