"""A malformed file stops the load with its name, the line and what to do, never with a
traceback and never with the row's values (they may hold NHS numbers); a file whose rows
all fail, or too many of them, loads nothing and says why."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from commissioning.cli.main import app
from commissioning.data.load import LoadError, Source, load_files
from commissioning.store.duckdb_store import connect, table_counts

KEY = b"a test key that is long enough"
HEADER = (
    "nhs_number,birth_year,birth_month,sex,lsoa_code,imd_decile,practice_code,"
    "registration_date,deregistration_date,death_date,place_of_death"
)
GOOD = "9434765919,1950,3,F,E01000001,3,A81001,2010-01-01,,,"
NHS = "9434765919"


def _people(tmp_path: Path, *rows: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _reference(tmp_path: Path) -> list[Source]:
    places = tmp_path / "places.csv"
    places.write_text("place_code,place_name,rurality,is_home\nP1,Home,urban,1\n")
    practices = tmp_path / "gp_practices.csv"
    practices.write_text("practice_code,practice_name,place_code\nA81001,Surgery,P1\n")
    return [Source(places, "places"), Source(practices, "gp_practices")]


def _refusal(tmp_path: Path, path: Path, table: str = "people") -> str:
    con = connect(":memory:")
    load_files(con, _reference(tmp_path), KEY)
    before = table_counts(con)
    with pytest.raises(LoadError) as refused:
        load_files(con, [Source(path, table)], KEY)
    assert table_counts(con) == before  # nothing changed
    message = str(refused.value)
    assert NHS not in message and "1950" not in message, message
    return message


@pytest.mark.parametrize(
    ("row", "fields"),
    [(GOOD + ",extra", "12 field(s) where the header has 11"), ("9434765919,1950,3", "3 field")],
)
def test_a_row_with_too_many_or_too_few_fields_names_the_line_not_the_values(
    tmp_path: Path, row: str, fields: str
) -> None:
    path = _people(tmp_path, GOOD.replace("9434765919", "9434765918"), row)
    message = _refusal(tmp_path, path)
    assert message.startswith("people.csv, line 3: the row has ") and fields in message
    assert "nothing was loaded" in message


def test_a_duplicate_header_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + ",sex\n" + GOOD + ",F\n")
    message = _refusal(tmp_path, path)
    assert "line 1: the column(s) sex appear more than once" in message


def test_text_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(
        (HEADER + "\n").encode() + GOOD.replace("A81001", "A8100\xe9").encode("latin-1") + b"\n"
    )
    message = _refusal(tmp_path, path)
    assert "not UTF-8" in message


def test_an_empty_file_and_a_header_only_gz(tmp_path: Path) -> None:
    empty = tmp_path / "people.csv"
    empty.write_text("")
    assert "the file is empty" in _refusal(tmp_path, empty)
    packed = tmp_path / "people.csv.gz"
    with gzip.open(packed, "wt") as f:
        f.write(HEADER + "\n" + GOOD + "\n")
    con = connect(":memory:")
    load_files(con, _reference(tmp_path), KEY)
    (report,) = load_files(con, [Source(packed, "people")], KEY)
    assert (report.rows_read, report.rows_loaded) == (1, 1)


def test_a_file_whose_rows_all_fail_loads_nothing_and_says_why(tmp_path: Path) -> None:
    bad = GOOD.replace(",F,", ",Q,")
    path = _people(tmp_path, bad, bad.replace(NHS, "9434765918"))
    message = _refusal(tmp_path, path)
    assert "2 of 2 rows (100%) failed their checks — no row loaded" in message
    assert "sex" in message  # the commonest reason, without the values


def test_more_rejects_than_allowed_fail_the_load_and_the_cli_exits_2(tmp_path: Path) -> None:
    good = GOOD
    bad = GOOD.replace(NHS, "9434765918").replace(",F,", ",Q,")
    path = _people(tmp_path, good, bad, bad.replace("9434765918", "9022101940"))
    con = connect(":memory:")
    load_files(con, _reference(tmp_path), KEY)
    with pytest.raises(LoadError, match=r"2 of 3 rows \(67%\).*more than 50% allowed"):
        load_files(con, [Source(path, "people")], KEY, max_reject_share=0.5)
    (report,) = load_files(con, [Source(path, "people")], KEY, max_reject_share=0.7)
    assert (report.rows_loaded, report.rows_rejected) == (1, 2)

    store = tmp_path / "cli.duckdb"
    runner = CliRunner()
    env = {"COMMISSIONING_PSEUDONYMISATION_KEY": KEY.decode()}
    refs = [str(s.path) for s in _reference(tmp_path)]
    assert runner.invoke(app, ["load", "--store", str(store), *refs], env=env).exit_code == 0
    result = runner.invoke(app, ["load", "--store", str(store), str(path)], env=env)
    assert result.exit_code == 2
    assert "failed their checks" in result.output and NHS not in result.output
