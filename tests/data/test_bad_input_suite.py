"""The bad-input suite: one table of malformed and implausible files, each with the outcome
it must have.

Every case is a small file (CSV or Parquet) built in the test's folder and loaded into a
store that already holds known-good data. Its outcome is one of:

- ``error``: the load stops with one clear line (the key phrase is asserted), never a
  traceback and never a raw NHS number; through ``commissioning load`` it exits 2 with
  the same line. Nothing in the store changes at all.
- ``reject``: the file loads, its bad rows are rejected with a reason naming the column
  or rule, rows read = loaded + rejected, and no raw NHS number is kept in the rejects.
- ``load``: the file is not wrong, only odd (an extra column, no rows, text that looks
  like a spreadsheet formula, a byte order mark), and it loads without losing anything.

In every case the rows the store held before are still there, unchanged (table counts
and a checksum of every table's rows).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from commissioning.cli.main import app
from commissioning.data.load import FileReport, LoadError, Source, load_files, table_for_file
from commissioning.data.pseudonymise import pseudonym
from commissioning.store.duckdb_store import connect
from nhs_scan import mark_raw_input

KEY = b"a test key that is long enough"
PEOPLE_HEADER = (
    "nhs_number,birth_year,birth_month,sex,lsoa_code,imd_decile,practice_code,"
    "registration_date,deregistration_date,death_date,place_of_death"
)
ACTIVITY_HEADER = (
    "activity_id,nhs_number,setting,point_of_delivery,provider_code,start_date,end_date,"
    "los_days,primary_diagnosis,procedure_code,units,cost_gbp"
)
ALIVE_NHS, DEAD_NHS, NEW_NHS = "9434765919", "9022101940", "9503626749"
ALIVE = f"{ALIVE_NHS},1950,3,F,E01000001,3,A81001,2010-01-01,,,"  # in the store
DEAD = f"{DEAD_NHS},1940,3,M,E01000001,3,A81001,2010-01-01,,2020-01-01,hospital"  # in the store
NEW = f"{NEW_NHS},1961,12,M,E01000002,5,A81001,2011-01-01,,,"  # a good person not yet stored
BAD = "9857404006,1961,12,M,E01000001,5,A81001,2010-01-01,,,"  # a good row to spoil
OP = f"A100,{ALIVE_NHS},outpatient,outpatient_first,RAA,2022-05-01,2022-05-01,,,,1,190.00"
EVENT = OP.replace("A100,", "A101,")  # a good event to spoil

Outcome = Literal["error", "reject", "load"]
Build = Callable[[Path], Path]
Check = Callable[[duckdb.DuckDBPyConnection, FileReport], None]


@dataclass(frozen=True)
class Case:
    name: str
    build: Build  # writes the file (and anything beside it) in a folder; returns the file
    outcome: Outcome
    says: str  # key phrase of the error, of a reject reason, or "" for a load
    max_reject_share: float = 1.0
    check: Check | None = None  # more to check after a load


# --- building files ----------------------------------------------------------------------


def text(name: str, content: str, encoding: str = "utf-8") -> Build:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content.encode(encoding))
        return path

    return build


def data(name: str, content: bytes) -> Build:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return build


def lines(name: str, header: str, *rows: str) -> Build:
    return text(name, "\n".join([header, *rows]) + "\n")


def people(*rows: str) -> Build:
    """people.csv: a good new person, then the rows given."""
    return lines("people.csv", PEOPLE_HEADER, NEW, *rows)


def person(old: str, new: str) -> Build:
    """people.csv: a good new person, then a good row with one change."""
    assert old in BAD, old
    return people(BAD.replace(old, new, 1))


def activity(*rows: str) -> Build:
    """activity.csv: a good new event, then the rows given."""
    return lines("activity.csv", ACTIVITY_HEADER, OP, *rows)


def event(old: str, new: str) -> Build:
    """activity.csv: a good new event, then a good event with one change."""
    assert old in EVENT, old
    return activity(EVENT.replace(old, new, 1))


def columns(header: str, *rows: str) -> dict[str, list[str | None]]:
    names = header.split(",")
    values = [row.split(",") for row in rows]
    return {n: [(v[i] or None) for v in values] for i, n in enumerate(names)}


def parquet(name: str, change: Callable[[pa.Table], pa.Table] = lambda t: t) -> Build:
    """A Parquet people file (a new person and a good row), changed by ``change``."""

    def build(folder: Path) -> Path:
        path = folder / name
        table = pa.table(columns(PEOPLE_HEADER, NEW, BAD))
        pq.write_table(change(table), path)
        return path

    return build


def replace_column(name: str, values: pa.Array) -> Callable[[pa.Table], pa.Table]:
    def change(table: pa.Table) -> pa.Table:
        return table.set_column(table.column_names.index(name), name, values)

    return change


def cut_short(build: Build) -> Build:
    def cut(folder: Path) -> Path:
        path = build(folder)
        content = path.read_bytes()
        path.write_bytes(content[: len(content) // 2])
        return path

    return cut


def folder_named(name: str) -> Build:
    def build(folder: Path) -> Path:
        path = folder / name
        path.mkdir()
        return path

    return build


def missing(name: str) -> Build:
    return lambda folder: folder / name


def gzipped(name: str, content: bytes) -> Build:
    return data(name, gzip.compress(content, mtime=0))


def with_manifest(build: Build, change: Callable[[dict[str, object]], None]) -> Build:
    """The file with a manifest.json beside it that describes it, changed by ``change``."""

    def write(folder: Path) -> Path:
        path = build(folder)
        content = path.read_bytes()
        entry: dict[str, object] = {
            "file": path.name,
            "rows": len(content.decode().splitlines()) - 1,
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        change(entry)
        manifest = {"files": {table_for_file(path): entry}}
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return path

    return write


def set_entry(**values: object) -> Callable[[dict[str, object]], None]:
    return lambda entry: entry.update(values)


def broken_manifest(build: Build) -> Build:
    def write(folder: Path) -> Path:
        path = build(folder)
        (folder / "manifest.json").write_text('{"files": {"people": ')
        return path

    return write


def listed_manifest(build: Build) -> Build:
    def write(folder: Path) -> Path:
        path = build(folder)
        (folder / "manifest.json").write_text(json.dumps({"files": [{"file": path.name}]}))
        return path

    return write


# --- checks after a load -----------------------------------------------------------------


def _ignored(report: FileReport, *names: str) -> None:
    assert report.ignored_columns == names


def _no_rows(con: duckdb.DuckDBPyConnection, report: FileReport) -> None:
    assert (report.rows_read, report.rows_loaded) == (0, 0)


def _stored_as_is(con: duckdb.DuckDBPyConnection) -> None:
    stored = con.execute("SELECT practice_name FROM gp_practices WHERE practice_code = 'A81002'")
    assert stored.fetchone() == ('=HYPERLINK("http://example.invalid","x")',)


def _person_stored(con: duckdb.DuckDBPyConnection, nhs_number: str) -> None:
    found = con.execute(
        "SELECT count(*) FROM people WHERE person_id = ?", [pseudonym(nhs_number, KEY)]
    )
    assert found.fetchone() == (1,)


# --- the cases ---------------------------------------------------------------------------

NOT_NHS = "nhs_number is missing, fails the modulus 11 check or is a placeholder"
COST = "cost_gbp is outside the plausible range for"
DROP_SEX = PEOPLE_HEADER.replace(",sex", "")

CASES: list[Case] = [
    # The shape of the file.
    Case(
        "missing required column",
        lines("people.csv", DROP_SEX, NEW.replace(",M,", ",")),
        "error",
        "missing column(s) sex for table people",
    ),
    Case(
        "duplicate header column",
        lines("people.csv", PEOPLE_HEADER + ",sex", NEW + ",M"),
        "error",
        "the column(s) sex appear more than once in the header",
    ),
    Case("empty file", text("people.csv", ""), "error", "the file is empty"),
    Case("only blank lines", text("people.csv", "\n \n\n"), "error", "the file is empty"),
    Case("directory given as file", folder_named("people.csv"), "error", "is a folder"),
    Case("nonexistent file", missing("people.csv"), "error", "no such file"),
    Case(
        "wrong extension",
        text("people.txt", PEOPLE_HEADER + "\n" + NEW + "\n"),
        "error",
        "unknown file type; give a .csv or .parquet file",
    ),
    Case(
        "a spreadsheet, not CSV",
        data("people.xlsx", b"PK\x03\x04" + bytes(200)),
        "error",
        "unknown file type",
    ),
    Case(
        "file not named after a table",
        text("patients.csv", PEOPLE_HEADER + "\n" + NEW + "\n"),
        "error",
        "cannot tell which table this file is for",
    ),
    Case(
        "binary garbage as CSV",
        data("people.csv", bytes(range(128, 256)) * 8),
        "error",
        "the header is not UTF-8 text",
    ),
    Case(
        "binary garbage as Parquet",
        data("people.parquet", bytes(range(256)) * 8),
        "error",
        "not a readable Parquet file",
    ),
    Case(
        "Parquet cut short",
        cut_short(parquet("people.parquet")),
        "error",
        "not a readable Parquet file",
    ),
    Case(
        "gzip that is not gzip",
        data("people.csv.gz", b"not gzip at all\n" * 4),
        "error",
        "not a readable CSV file",
    ),
    Case(
        "invalid UTF-8 in a row",
        data(
            "people.csv",
            (PEOPLE_HEADER + "\n" + NEW + "\n").encode()
            + BAD.encode().replace(b"A8", b"\xe9")
            + b"\n",
        ),
        "error",
        "some text is not UTF-8",
    ),
    Case(
        "UTF-16 with a byte order mark",
        text("people.csv", PEOPLE_HEADER + "\n" + NEW + "\n", encoding="utf-16"),
        "error",
        "the file is UTF-16 text",
    ),
    Case(
        "NUL bytes for a file",
        data("people.csv", b"\x00" * 600),
        "error",
        "the header has control characters (NUL bytes?)",
    ),
    Case(
        "NUL byte in a value",
        person(",M,", ",M\x00,"),
        "reject",
        "sex contains a control character",
    ),
    Case(
        "a row over 64 KB",
        person("E01000001", "E" + "0" * 70_000),
        "reject",
        "lsoa_code is not a small-area",
    ),
    Case(
        "ragged row: a field missing",
        people(BAD.rsplit(",", 1)[0]),
        "error",
        "line 3: the row has 10 field(s) where the header has 11",
    ),
    Case(
        "ragged row: a field too many",
        people(BAD + ",extra"),
        "error",
        "line 3: the row has 12 field(s) where the header has 11",
    ),
    Case(
        "ragged row over 128 KB",
        people(BAD.replace("E01000001", "E" + "0" * 140_000) + ",extra"),
        "error",
        "the row has 12 field(s) where the header has 11",
    ),
    Case(
        "quoted newline in a value",
        person("E01000001", '"E0100\n0001"'),
        "reject",
        "lsoa_code is not a small-area",
    ),
    Case(
        "semicolons for commas",
        lines("people.csv", PEOPLE_HEADER.replace(",", ";"), NEW.replace(",", ";")),
        "error",
        "the header is one column separated by semicolons",
    ),
    Case(
        "tabs for commas",
        lines("people.csv", PEOPLE_HEADER.replace(",", "\t"), NEW.replace(",", "\t")),
        "error",
        "the header is one column separated by tabs",
    ),
    Case(
        "Parquet with a nested column",
        parquet(
            "people.parquet",
            replace_column("sex", pa.array([["M"], ["M"]], pa.list_(pa.string()))),
        ),
        "error",
        "column sex is nested",
    ),
    Case(
        "Parquet with bytes that are not text",
        parquet("people.parquet", replace_column("sex", pa.array([b"M", b"\xff"], pa.binary()))),
        "error",
        "column sex (binary) cannot be read as text",
    ),
    Case(
        "Parquet with text for a number",
        parquet(
            "people.parquet",
            replace_column("birth_year", pa.array(["1961", "nineteen sixty"], pa.string())),
        ),
        "reject",
        "birth_year is not a whole number",
    ),
    Case(
        "Parquet with true or false for a number",
        parquet("people.parquet", replace_column("imd_decile", pa.array([True, False]))),
        "error",
        "no row loaded; nothing was loaded. Commonest reasons: imd_decile is not a whole number",
    ),
    Case(
        "Parquet with a fraction for a whole number",
        parquet("people.parquet", replace_column("birth_month", pa.array([12.0, 6.5]))),
        "reject",
        "birth_month is not a whole number",
    ),
    # Dates.
    Case(
        "registered in the future",
        person("2010-01-01", "2099-01-01"),
        "reject",
        "registration_date is in the future",
    ),
    Case(
        "registered before 1900",
        person("2010-01-01", "1850-01-01"),
        "reject",
        "registration_date is before 1900-01-01",
    ),
    Case(
        "a date that does not exist",
        person("2010-01-01", "2023-02-30"),
        "reject",
        "registration_date is not a date (YYYY-MM-DD)",
    ),
    Case(
        "a date written day first",
        person("2010-01-01", "01/01/2010"),
        "reject",
        "registration_date is not a date (YYYY-MM-DD)",
    ),
    Case(
        "registered after death",
        person("2010-01-01,,,", "2021-01-01,,2020-06-01,home"),
        "reject",
        "registration_date is after death_date",
    ),
    Case(
        "place of death without a death",
        person(",,,", ",,,home"),
        "reject",
        "place_of_death must be given exactly when death_date is",
    ),
    Case(
        "alive and older than the limit",
        person(",1961,", ",1890,"),
        "reject",
        "alive and older than 115",
    ),
    Case(
        "event after death",
        event(f"A101,{ALIVE_NHS}", f"A101,{DEAD_NHS}"),
        "reject",
        "start_date is after the person's death",
    ),
    Case(
        "event before birth",
        event("2022-05-01,2022-05-01", "1949-05-01,1949-05-01"),
        "reject",
        "start_date is before the person's month of birth",
    ),
    Case(
        "event in the future",
        event("2022-05-01,2022-05-01", "2099-05-01,2099-05-01"),
        "reject",
        "start_date is in the future",
    ),
    Case(
        "event ending before it starts",
        event("2022-05-01,2022-05-01", "2022-05-02,2022-05-01"),
        "reject",
        "end_date is before start_date",
    ),
    # Money and numbers.
    Case("negative cost", event(",190.00", ",-190.00"), "reject", "cost_gbp is below 0"),
    Case(
        "cost above its point of delivery's range",
        event(",190.00", ",6000.00"),
        "reject",
        f"{COST} outpatient_first (£0 to £5,000)",
    ),
    Case(
        "cost below its point of delivery's range",
        activity(
            f"A101,{ALIVE_NHS},admitted_patient_care,elective_inpatient,RAA,2022-05-01,"
            "2022-05-03,2,,,1,2.20"
        ),
        "reject",
        f"{COST} elective_inpatient (£5 to £500,000)",
    ),
    Case(
        "thousands separator in a cost",
        event(",190.00", ',"1,234.00"'),
        "reject",
        "cost_gbp is not an amount in pounds",
    ),
    Case(
        "pound sign in a cost",
        event(",190.00", ",£190.00"),
        "reject",
        "cost_gbp is not an amount in pounds",
    ),
    Case(
        "fraction of a penny",
        event(",190.00", ",190.005"),
        "reject",
        "cost_gbp is not an amount in pounds",
    ),
    Case("NaN units", event(",1,190.00", ",NaN,190.00"), "reject", "units is not a finite number"),
    Case("inf units", event(",1,190.00", ",inf,190.00"), "reject", "units is not a finite number"),
    Case(
        "-inf units", event(",1,190.00", ",-inf,190.00"), "reject", "units is not a finite number"
    ),
    Case(
        "a fraction for a whole number",
        person(",5,A81001", ",5.5,A81001"),
        "reject",
        "imd_decile is not a whole number",
    ),
    Case("month 13", person(",12,M,", ",13,M,"), "reject", "birth_month is above 12"),
    Case(
        "length of stay that does not fit the dates",
        activity(
            f"A101,{ALIVE_NHS},admitted_patient_care,emergency_admission,RAA,2022-05-01,"
            "2022-05-03,5,J18.9,,1,2000.00"
        ),
        "reject",
        "los_days does not equal end_date minus start_date",
    ),
    # Codes.
    Case(
        "setting contradicting point of delivery",
        event("outpatient,outpatient_first", "ae,outpatient_first"),
        "reject",
        "setting does not match point_of_delivery",
    ),
    Case(
        "unknown setting",
        event("outpatient,outpatient_first", "hospital,outpatient_first"),
        "reject",
        "setting is not one of the allowed codes",
    ),
    Case("unknown sex", person(",M,", ",X,"), "reject", "sex is not one of the allowed codes"),
    Case(
        "malformed small area",
        person("E01000001", "X1"),
        "reject",
        "lsoa_code is not a small-area (LSOA or data zone) code",
    ),
    Case(
        "malformed practice code",
        person(",A81001,", ",A8100,"),
        "reject",
        "practice_code is not a GP practice ODS code",
    ),
    Case(
        "unknown practice",
        person(",A81001,", ",Z99999,"),
        "reject",
        "practice_code is not a known GP practice",
    ),
    Case(
        "malformed ODS provider code",
        event(",RAA,", ",R@A,"),
        "reject",
        "provider_code is not an ODS organisation code",
    ),
    Case(
        "malformed diagnosis",
        event(",,,,1,", ",,PNEUMONIA,,1,"),
        "reject",
        "primary_diagnosis is not an ICD-10 code",
    ),
    Case(
        "control character in a code",
        person("E01000001", "E0100\x1b0001"),
        "reject",
        "lsoa_code contains a control character",
    ),
    Case(
        "a formula in a code",
        event(",RAA,", ",=cmd|' /C calc'!A0,"),
        "reject",
        "provider_code is not an ODS organisation code",
    ),
    Case(
        "whitespace-only required value",
        person(",M,", ",   ,"),
        "reject",
        "sex is missing",
    ),
    Case(
        "unknown rurality",
        lines(
            "places.csv", "place_code,place_name,rurality,is_home", "P2,A,urban,0", "P3,B,city,0"
        ),
        "reject",
        "rurality is not one of the allowed codes",
    ),
    Case(
        "practice in an unknown place",
        lines(
            "gp_practices.csv",
            "practice_code,practice_name,place_code",
            "A81002,Hillside,P1",
            "A81003,Valley,P9",
        ),
        "reject",
        "place_code is not a known place",
    ),
    Case(
        "survey answer out of range",
        lines(
            "experience.csv",
            "nhs_number,practice_code,survey_date,question_code,response",
            f"{ALIVE_NHS},A81001,2022-06-01,overall_experience,4",
            f"{DEAD_NHS},A81001,2019-06-01,overall_experience,6",
        ),
        "reject",
        "response is above 5",
    ),
    # NHS numbers.
    Case("placeholder 0000000000", person("9857404006", "0000000000"), "reject", NOT_NHS),
    Case("placeholder 9999999999", person("9857404006", "9999999999"), "reject", NOT_NHS),
    Case("fails the modulus 11 check", person("9857404006", "9857404007"), "reject", NOT_NHS),
    Case("nine digits", person("9857404006", "985740400"), "reject", NOT_NHS),
    Case("eleven digits", person("9857404006", "98574040061"), "reject", NOT_NHS),
    Case("letters in it", person("9857404006", "98574040AB"), "reject", NOT_NHS),
    Case("scientific notation", person("9857404006", "9.857404006E+09"), "reject", NOT_NHS),
    Case("no NHS number", person("9857404006", ""), "reject", NOT_NHS),
    # Keys and references.
    Case(
        "duplicate person rows",
        people(NEW.replace(",1961,", ",1962,")),
        "reject",
        "duplicate key: an earlier line of this file has the same person_id",
    ),
    Case(
        "person already in the store",
        people(ALIVE),
        "reject",
        "already in the store (same person_id)",
    ),
    Case(
        "event already in the store",
        event("A101,", "A1,"),
        "reject",
        "already in the store (same activity_id)",
    ),
    Case(
        "event for an unknown person",
        event(f"A101,{ALIVE_NHS}", "A101,9857404006"),
        "reject",
        "the person is not in the people table",
    ),
    # What a manifest beside the file promises.
    Case(
        "manifest hash mismatch",
        with_manifest(people(BAD), set_entry(sha256="0" * 64)),
        "error",
        "its contents differ from what manifest.json records",
    ),
    Case(
        "manifest row count mismatch",
        with_manifest(people(BAD), set_entry(rows=3)),
        "error",
        "2 rows, but manifest.json says 3",
    ),
    Case(
        "control total of rows mismatch",
        with_manifest(people(BAD), set_entry(control={"rows": 1})),
        "error",
        "control total rows does not match — manifest.json says 1, the file gives 2",
    ),
    Case(
        "control total of cost mismatch",
        with_manifest(activity(EVENT), set_entry(control={"sum_cost_gbp": "380.01"})),
        "error",
        "control total sum_cost_gbp does not match — manifest.json says 380.01, the file "
        "gives 380.00",
    ),
    Case(
        "manifest that is not JSON",
        broken_manifest(people(BAD)),
        "error",
        "not a readable manifest",
    ),
    Case(
        "manifest whose files are a list",
        listed_manifest(people(BAD)),
        "error",
        "not a readable manifest",
    ),
    # Too many bad rows.
    Case(
        "reject share above the configured maximum",
        person(",M,", ",X,"),
        "error",
        "1 of 2 rows (50%) failed their checks — more than 20% allowed",
        max_reject_share=0.2,
    ),
    Case(
        "every row bad",
        lines("people.csv", PEOPLE_HEADER, BAD.replace(",M,", ",X,")),
        "error",
        "1 of 1 rows (100%) failed their checks — no row loaded",
    ),
    # Odd but not wrong: loaded, nothing lost.
    Case(
        "unknown extra column",
        lines("people.csv", PEOPLE_HEADER + ",shoe_size", NEW + ",9"),
        "load",
        "",
        check=lambda con, report: _ignored(report, "shoe_size"),
    ),
    Case("header only", text("people.csv", PEOPLE_HEADER + "\n"), "load", "", check=_no_rows),
    Case(
        "header only, no final newline",
        text("people.csv", PEOPLE_HEADER),
        "load",
        "",
        check=_no_rows,
    ),
    Case(
        "a formula in free text",
        lines(
            "gp_practices.csv",
            "practice_code,practice_name,place_code",
            'A81002,"=HYPERLINK(""http://example.invalid"",""x"")",P1',
        ),
        "load",
        "",
        check=lambda con, report: _stored_as_is(con),
    ),
    Case(
        "UTF-8 byte order mark, number with a leading zero first",
        text(
            "people.csv",
            "\ufeff" + PEOPLE_HEADER + "\n" + BAD.replace("9857404006", "0123456789") + "\n",
        ),
        "load",
        "",
        check=lambda con, report: _person_stored(con, "0123456789"),
    ),
    Case(
        "gzip with a good row",
        gzipped("people.csv.gz", (PEOPLE_HEADER + "\n" + NEW + "\n").encode()),
        "load",
        "",
    ),
]

RAW_NHS = re.compile(r"(?<![0-9A-Za-z])[0-9]{3} ?[0-9]{3} ?[0-9]{4}(?![0-9A-Za-z])")


def test_the_suite_has_at_least_fifty_bad_cases() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert sum(c.outcome in ("error", "reject") for c in CASES) >= 50


# --- the store and its snapshot ----------------------------------------------------------


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding known-good data: a place, a practice, two people, three events."""
    folder = tmp_path_factory.mktemp("good_store")
    files = [
        lines("places.csv", "place_code,place_name,rurality,is_home", "P1,Home,urban,1"),
        lines("gp_practices.csv", "practice_code,practice_name,place_code", "A81001,Surgery,P1"),
        lines("people.csv", PEOPLE_HEADER, ALIVE, DEAD),
        lines(
            "activity.csv",
            ACTIVITY_HEADER,
            OP.replace("A100,", "A1,"),
            OP.replace("A100,", "A2,").replace("2022-05-01,2022-05-01", "2022-06-01,2022-06-01"),
            f"A3,{DEAD_NHS},ae,ae_attendance,RAA,2019-05-01,2019-05-01,,,,1,190.00",
        ),
    ]
    paths = [build(folder) for build in files]
    store = folder / "good.duckdb"
    con = connect(store)
    load_files(con, [Source(p, table_for_file(p)) for p in paths], KEY)
    con.execute("CHECKPOINT")
    con.close()
    return store


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, Counter[str]]:
    """Every table's rows, each as a digest (a multiset: duplicates count)."""
    tables = [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
    ]
    return {
        name: Counter(
            hashlib.sha256(repr(row).encode()).hexdigest()
            for row in con.execute(f'SELECT * FROM "{name}"').fetchall()
        )
        for name in tables
    }


def summary(snap: dict[str, Counter[str]]) -> dict[str, tuple[int, str]]:
    """Table counts and a checksum of each table's rows."""
    return {
        name: (
            sum(rows.values()),
            hashlib.sha256("".join(sorted(rows.elements())).encode()).hexdigest(),
        )
        for name, rows in snap.items()
    }


def assert_kept(before: dict[str, Counter[str]], after: dict[str, Counter[str]]) -> None:
    """Every row the store held is still there, unchanged."""
    assert set(before) == set(after)
    for name in before:
        assert not before[name] - after[name], f"rows of {name} changed or went"


# --- running a case ----------------------------------------------------------------------


def no_identifiers(message: str, folder: Path) -> None:
    assert "Traceback" not in message, message
    assert "\n" not in message.strip(), message
    assert not RAW_NHS.search(message.replace(str(folder), "")), message


def run_cli(store: Path, path: Path, case: Case, folder: Path) -> None:
    config = folder / "commissioning.toml"
    config.write_text(f"[load]\nmax_reject_share = {case.max_reject_share}\n")
    args = ["load", "--store", str(store), "--config", str(config), str(path)]
    env = {"COMMISSIONING_PSEUDONYMISATION_KEY": KEY.decode()}
    result = CliRunner().invoke(app, args, env=env)
    output = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "error:" in output
    assert case.says in output.replace(f"{folder}/", ""), output
    assert not RAW_NHS.search(output.replace(str(folder), "")), output


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, good_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    shutil.copy(good_store, store)
    folder = tmp_path / "in"
    mark_raw_input(folder)  # some inputs carry NHS numbers under other names (patients.csv)
    path = case.build(folder)
    con = connect(store)
    before = snapshot(con)

    def load() -> list[FileReport]:
        sources = [Source(path, table_for_file(path))]
        return load_files(con, sources, KEY, max_reject_share=case.max_reject_share)

    if case.outcome == "error":
        with pytest.raises(LoadError) as refused:
            load()
        message = str(refused.value)
        assert case.says in message, message
        no_identifiers(message, folder)
        assert summary(snapshot(con)) == summary(before)  # nothing changed at all
        con.close()
        run_cli(store, path, case, folder)
        with connect(store) as again:
            assert summary(snapshot(again)) == summary(before)
        return

    (report,) = load()
    assert report.balanced and report.rows_read == report.rows_loaded + report.rows_rejected
    after = snapshot(con)
    assert_kept(before, after)
    grown = {name: sum(after[name].values()) - sum(before[name].values()) for name in before}
    assert grown.pop(report.table) == report.rows_loaded
    assert grown.pop("rejects") == report.rows_rejected
    assert grown.pop("loads") == 1
    assert not any(grown.values()), grown  # no other table changed
    rejects = con.execute(
        "SELECT reason, row_json FROM rejects WHERE load_id = ?", [report.load_id]
    ).fetchall()
    for reason, row_json in rejects:
        assert not RAW_NHS.search(reason) and not RAW_NHS.search(row_json), (reason, row_json)
    if case.outcome == "reject":
        assert report.rows_rejected >= 1 and report.rows_loaded >= 1
        assert any(case.says in reason for reason, _ in rejects), rejects
    else:
        assert report.rows_rejected == 0, rejects
    if case.check is not None:
        case.check(con, report)
