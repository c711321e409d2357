"""The loader: every row accounted for, bad rows kept with reasons, atomic, idempotent,
and no raw NHS number anywhere in the store."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from commissioning.cli.main import app
from commissioning.core.schema import COST_RANGE_GBP
from commissioning.data.load import FileReport, LoadError, Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.store.duckdb_store import connect, table_counts

KEY = b"a test key that is long enough"


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


@pytest.fixture
def reference_files(tmp_path: Path) -> list[Path]:
    return [
        _write(
            tmp_path / "places.csv",
            """
place_code,place_name,rurality,is_home
P1,Home,urban,1
""",
        ),
        _write(
            tmp_path / "gp_practices.csv",
            """
practice_code,practice_name,place_code
A81001,Riverside Surgery,P1
""",
        ),
    ]


PEOPLE = """
nhs_number,birth_year,birth_month,sex,lsoa_code,imd_decile,practice_code,registration_date,deregistration_date,death_date,place_of_death
9434765919,1950,3,F,E01000001,3,A81001,2010-01-01,,,
9434765918,1950,3,F,E01000001,3,A81001,2010-01-01,,,
4010232137,1961,13,M,E01000001,3,A81001,2010-01-01,,,
9022101940,1961,12,X,E01000001,3,A81001,2010-01-01,,,
9033585561,1961,12,M,E01000001,11,Z99999,2010-01-01,,,
9028319662,1961,12,M,E01000001,5,A81001,2010-02-30,,,
9016527621,1961,12,M,E01000001,5,A81001,2010-01-01,2009-01-01,,
9857404006,1961,12,M,E01000001,5,A81001,2010-01-01,,2020-05-01,
9503626749,1961,12,M,E01000001,5,A81001,2010-01-01,,,
9434765919,1970,1,M,E01000002,7,A81001,2011-01-01,,,
"""

EXPECTED_REJECTS = {
    3: "nhs_number is missing, fails the modulus 11 check",
    4: "birth_month is above 12",
    5: "sex is not one of the allowed codes",
    6: "imd_decile is above 10",  # and an unknown practice
    7: "registration_date is not a date (YYYY-MM-DD)",
    8: "deregistration_date is before registration_date",
    9: "place_of_death must be given exactly when death_date is",
    11: "duplicate key: an earlier line of this file has the same person_id",
}


def test_bad_rows_are_rejected_with_reasons_and_good_ones_loaded(
    tmp_path: Path, reference_files: list[Path]
) -> None:
    people = _write(tmp_path / "people.csv", PEOPLE)
    con = connect(":memory:")
    reports = load_files(
        con, [Source(p, table_for_file(p)) for p in [*reference_files, people]], KEY
    )
    report = {r.table: r for r in reports}["people"]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (10, 2, 8)
    assert all(r.balanced for r in reports)
    rejects = dict(con.execute("SELECT line, reason FROM rejects").fetchall())
    assert set(rejects) == set(EXPECTED_REJECTS)
    for line, reason in EXPECTED_REJECTS.items():
        assert reason in rejects[line], (line, rejects[line])
    assert "practice_code is not a known GP practice" in rejects[6]
    # The rejected row is kept for the analyst, with the NHS number pseudonymised.
    (row_json,) = con.execute("SELECT row_json FROM rejects WHERE line = 4").fetchone()  # type: ignore[misc]
    assert "4010232137" not in row_json and '"birth_month":"13"' in row_json


def test_missing_columns_name_the_columns(tmp_path: Path) -> None:
    bad = _write(tmp_path / "places.csv", "place_code,place_name\nP1,Home\n")
    with pytest.raises(LoadError, match=r"missing column\(s\) rurality, is_home"):
        load_files(connect(":memory:"), [Source(bad, "places")], KEY)


def _load_population(
    con: duckdb.DuckDBPyConnection, folder: Path, key: bytes = DEMO_KEY
) -> list[FileReport]:
    sources = [Source(p, table_for_file(p)) for p in sorted(folder.glob("*.parquet"))]
    return list(load_files(con, sources, key))


def test_loading_twice_changes_nothing(small_population: Path, tmp_path: Path) -> None:
    con = connect(tmp_path / "s.duckdb")
    first = _load_population(con, small_population)
    before = table_counts(con)
    second = _load_population(con, small_population)
    assert table_counts(con) == before
    assert all(r.already_loaded for r in second)
    assert [(r.rows_read, r.rows_loaded) for r in first] == [
        (r.rows_read, r.rows_loaded) for r in second
    ]
    assert before["activity"] > 10_000 and before["rejects"] == 0


def test_overlapping_file_rejects_rows_already_in_the_store(
    small_population: Path, tmp_path: Path
) -> None:
    con = connect(":memory:")
    _load_population(con, small_population)
    part = pq.read_table(small_population / "activity.parquet").slice(0, 50)
    pq.write_table(part, tmp_path / "activity.parquet")
    before = table_counts(con)
    with pytest.raises(LoadError) as refused:
        load_files(con, [Source(tmp_path / "activity.parquet", "activity")], DEMO_KEY)
    # Every row was a duplicate: nothing is loaded and the reason is named.
    assert "50 of 50 rows (100%) failed their checks — no row loaded" in str(refused.value)
    assert "already in the store (same activity_id) (50)" in str(refused.value)
    assert table_counts(con) == before


def test_a_failure_part_way_leaves_the_store_unchanged(
    small_population: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = connect(tmp_path / "s.duckdb")
    sources = [Source(p, table_for_file(p)) for p in sorted(small_population.glob("*.parquet"))]
    monkeypatch.setenv("COMMISSIONING_FAILPOINT", "after_insert:activity")
    before = table_counts(con)
    with pytest.raises(RuntimeError, match="failpoint"):
        load_files(con, sources, DEMO_KEY)
    assert table_counts(con) == before
    monkeypatch.delenv("COMMISSIONING_FAILPOINT")
    reports = load_files(con, sources, DEMO_KEY)  # and it loads cleanly afterwards
    assert table_counts(con)["activity"] == {r.table: r for r in reports}["activity"].rows_loaded


def test_killing_the_load_part_way_leaves_the_store_unchanged(
    small_population: Path, tmp_path: Path
) -> None:
    store = tmp_path / "s.duckdb"
    data = tmp_path / "data"
    shutil.copytree(small_population, data)
    con = connect(store)
    load_files(con, [Source(data / "places.parquet", "places")], DEMO_KEY)
    before = table_counts(con)
    con.close()
    env = {**os.environ, "COMMISSIONING_FAILPOINT": "after_insert:activity@60"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "commissioning.cli",
            "load",
            "--demo",
            "--store",
            str(store),
            *[str(p) for p in sorted(data.glob("*.parquet"))],
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until it is inside the transaction, rows inserted
        if "failpoint after_insert:activity" in line:
            break
    else:
        pytest.fail("the load ended before reaching the failpoint")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    con = connect(store)
    assert table_counts(con) == before


def _all_text_values(con: duckdb.DuckDBPyConnection) -> set[str]:
    values: set[str] = set()
    cols = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
    ).fetchall()
    for table, column in cols:
        values.update(
            v
            for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall()
            if v is not None
        )
    return values


def test_no_raw_nhs_number_anywhere_in_the_store(small_population: Path, tmp_path: Path) -> None:
    people = pq.read_table(small_population / "people.parquet")
    numbers = set(people.column("nhs_number").to_pylist())
    # Add a bad row whose number must not be kept in the rejects either.
    bad = tmp_path / "bad"
    bad.mkdir()
    _write(bad / "people.csv", PEOPLE.replace("A81001", people["practice_code"][0].as_py()))
    store = tmp_path / "s.duckdb"
    con = connect(store)
    _load_population(con, small_population)
    load_files(con, [Source(bad / "people.csv", "people")], DEMO_KEY)
    values = _all_text_values(con)
    assert not numbers & values
    assert not any(n in v for v in values for n in ("9434765918", "4010232137", "9022101940"))
    con.execute("CHECKPOINT")
    con.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("s.duckdb*"))
    sample = [*sorted(numbers)[:500], "9434765918", "4010232137", "9022101940"]
    assert not [n for n in sample if n.encode() in raw]


def test_a_different_key_is_refused(small_population: Path) -> None:
    con = connect(":memory:")
    _load_population(con, small_population)
    with pytest.raises(LoadError, match="different pseudonymisation key"):
        load_files(con, [Source(small_population / "people.parquet", "people")], KEY)


def test_a_synthetic_population_over_the_default_years_loads_with_no_rejects(
    tmp_path: Path,
) -> None:
    """``synth`` then ``load``: every row passes, and every cost sits well inside the
    plausible range of its point of delivery (so the ranges are not tuned to the edge)."""
    runner = CliRunner()
    out, store = tmp_path / "synthetic", tmp_path / "s.duckdb"
    made = runner.invoke(app, ["synth", "--people", "3000", "--seed", "5", "--out", str(out)])
    assert made.exit_code == 0, made.output
    files = [str(p) for p in sorted(out.glob("*.parquet"))]
    loaded = runner.invoke(app, ["load", "--demo", "--store", str(store), *files])
    assert loaded.exit_code == 0, loaded.output
    con = connect(store)
    counts = table_counts(con)
    assert counts["rejects"] == 0 and counts["activity"] > 50_000
    years = con.execute("SELECT count(DISTINCT year) FROM synthetic_person_year").fetchone()
    assert years == (4,)
    spread = con.execute(
        "SELECT point_of_delivery, min(cost_gbp), max(cost_gbp) FROM activity GROUP BY 1"
    ).fetchall()
    assert {pod for pod, _, _ in spread} == set(COST_RANGE_GBP)
    for pod, lowest, highest in spread:
        low, high = COST_RANGE_GBP[pod]
        assert lowest >= 2 * low and highest <= high / 2, (pod, lowest, highest)
