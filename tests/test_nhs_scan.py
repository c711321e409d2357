"""The raw NHS number scanner of the test session (tests/nhs_scan.py) finds a number
planted in each kind of output, skips raw input by its rule, and never prints a number.

The files planted here are removed when each test ends, so the scan at the end of the
session does not find them."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from plotly.offline import get_plotlyjs

from nhs_scan import (
    NhsScan,
    find_nhs_numbers,
    mark_raw_input,
    mask,
    nhs_number_valid,
    scan_file,
    scan_tree,
)

PLANTED = "9434765919"  # passes the modulus 11 check


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "planted"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"person {PLANTED} was admitted", [PLANTED]),
        ("spaced: 943 476 5919.", [PLANTED]),
        (f'{{"nhs_number": "{PLANTED}"}}', [PLANTED]),
        (f"{PLANTED},1950,3", [PLANTED]),
        ("9434765918 fails the check", []),
        ("0000000000 and 9999999999 are placeholders", []),
        (f"a fraction 0.{PLANTED}", []),
        (f"a sum {PLANTED}.30", []),
        (f"in a word x{PLANTED} or {PLANTED}b", []),
        (f"a pseudonym 3f{PLANTED}a0c9e7d1", []),
        (f"eleven digits {PLANTED}0", []),
    ],
)
def test_the_pattern_finds_raw_numbers_only(text: str, found: list[str]) -> None:
    assert find_nhs_numbers(text) == found


def test_the_modulus_11_check() -> None:
    assert nhs_number_valid(PLANTED) and nhs_number_valid("4010232137")
    assert not nhs_number_valid("4010232138") and not nhs_number_valid("1111111111")
    assert mask(PLANTED) == "********19"


def test_a_number_planted_in_each_kind_of_output_is_found(planted: Path) -> None:
    outputs = {
        "report.csv": lambda p: p.write_text(f"practice,count\nA81001,3\n{PLANTED},1\n"),
        "log.jsonl": lambda p: p.write_text(json.dumps({"msg": f"loaded {PLANTED}"}) + "\n"),
        "table.parquet": lambda p: pq.write_table(
            pa.table({"n": [1, 2], "who": ["x", f"id {PLANTED}"]}), p
        ),
        "dictionary.parquet": lambda p: pq.write_table(
            pa.table({"who": pa.array(["a", PLANTED, "a"]).dictionary_encode()}), p
        ),
        "notes.txt.gz": lambda p: p.write_bytes(gzip.compress(f"x\n{PLANTED}\n".encode())),
        # The plotly.js bundle the reports embed holds 2147483647, which passes the check.
        "page.html": lambda p: p.write_text(
            f"<script>{get_plotlyjs()}</script><td>{PLANTED}</td>", encoding="utf-8"
        ),
    }
    for name, write in outputs.items():
        write(planted / name)
    store = planted / "store.duckdb"
    with duckdb.connect(str(store)) as con:
        con.execute("CREATE TABLE rejects (line INTEGER, row_json VARCHAR)")
        con.execute("INSERT INTO rejects VALUES (2, ?)", [json.dumps({"nhs": PLANTED})])
    details = {}
    for path in sorted(planted.iterdir()):
        findings, note = scan_file(path, path.name)
        assert note is None and [f.number for f in findings] == [PLANTED], path.name
        details[path.name] = findings[0].detail
        assert PLANTED not in str(findings[0]) and "********19" in str(findings[0])
    assert details["report.csv"] == "line 3"
    assert details["table.parquet"] == "column who"
    assert details["store.duckdb"] == "table rejects, column row_json"


def test_a_store_still_open_in_this_process_is_scanned(planted: Path) -> None:
    store = planted / "open.duckdb"
    con = duckdb.connect(str(store))
    con.execute("CREATE TABLE t AS SELECT ? AS v", [PLANTED])
    try:
        findings, _note = scan_file(store, "open.duckdb")
        assert [f.number for f in findings] == [PLANTED]
    finally:
        con.close()


def test_raw_input_is_skipped_by_its_rule(planted: Path) -> None:
    for name in ("people.csv", "activity.2024.parquet", "conditions.csv.gz", ".people.csv.partial"):
        (planted / name).write_text(f"nhs_number\n{PLANTED}\n")
    extracts = planted / "extracts"
    mark_raw_input(extracts)
    (extracts / "apc.csv").write_text(f"NEWNHSNO\n{PLANTED}\n")
    (planted / "places.csv").write_text(f"place_code\n{PLANTED}\n")  # no people: scanned
    (planted / "people.json").write_text(f'["{PLANTED}"]')  # not a canonical file: scanned
    findings, _notes, count = scan_tree(planted)
    assert count == 2
    assert sorted(f.where for f in findings) == ["people.json", "places.csv"]


def test_captured_output_and_error_lines_are_scanned() -> None:
    plugin = NhsScan(config=None)  # type: ignore[arg-type]
    passed = pytest.TestReport(
        "t.py::a", ("t.py", 0, "a"), {}, "passed", None, "call", [("Captured stdout call", PLANTED)]
    )
    failed = pytest.TestReport(
        "t.py::b",
        ("t.py", 0, "b"),
        {},
        "failed",
        f"    assert '{PLANTED[:-1]}8' in x\nE   LoadError: person {PLANTED}",
        "call",
        [],
    )
    source_only = pytest.TestReport(
        "t.py::c", ("t.py", 0, "c"), {}, "failed", f'    path.write_text("{PLANTED}")', "call", []
    )
    for report in (passed, failed, source_only):
        plugin.pytest_runtest_logreport(report)
    assert [(f.where, f.detail) for f in plugin.findings] == [
        ("t.py::a", "Captured stdout call"),
        ("t.py::b", "call error"),
    ]


def test_an_amount_in_pence_is_not_a_person_but_the_same_digits_alone_are() -> None:
    from nhs_scan import find_nhs_numbers

    assert find_nhs_numbers('{"gross_pence": 3400000000}') == []  # £34m, passes modulus 11
    assert find_nhs_numbers('"detail": "{\\"amount_pence\\": 3400000000}"') == []
    assert find_nhs_numbers("patient 3400000000 seen") == ["3400000000"]
