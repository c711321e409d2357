"""A pytest plugin: no raw NHS number in any test's output or in any file the tests wrote.

Across the whole test session it scans

- every test's captured stdout, stderr and log (``report.sections``) and the error lines
  (``E   ...``) of a failure's traceback (not the echoed test source, which holds the
  test's own input numbers), as each report arrives; and
- at the end of the session, every file under pytest's base temporary folder
  (``tmp_path`` and ``tmp_path_factory`` folders): Parquet files by their text columns
  (pyarrow), DuckDB stores by the ``VARCHAR`` columns of every table (opened read-only),
  gzip files decompressed, and any other file as text.

A raw NHS number is ten digits, or three, three and four separated by spaces, standing
alone (not part of a longer run of letters and digits, a decimal fraction or a hex
pseudonym) and passing the modulus 11 check. A number of one digit repeated
(``0000000000``) passes the check but is nobody's number, and is not counted.

**Raw input is not scanned.** Files that hold NHS numbers by design are the loader's
input, and are skipped by one rule:

1. a file named as a canonical file of a table with people in it (``people.csv``,
   ``activity.parquet``, ``conditions.csv.gz``, ``activity.2024.parquet``: the name up to
   the first dot is one of ``PERSON_TABLES``, and it ends ``.csv``, ``.csv.gz`` or
   ``.parquet``, or that name as ``synth`` writes it before renaming it into place,
   ``.people.parquet.partial``) — the synthetic population files and the files tests
   write to load; and
2. every file in a folder (and below it) holding a marker file ``.raw-nhs-input``, which
   a test writes with :func:`mark_raw_input` when it deliberately writes raw input under
   another name (a hospital episode extract, a misnamed or malformed file).

**Code is not output.** Python source and byte code (``.py``, ``.pyc``) are not scanned:
the install test copies and installs the package, whose docstrings and checks hold
documented example numbers, and the project never writes data into such files.

A hit fails the session (exit status 1) and is listed at the end with the test or file
and the column or line where it was found, and the number masked (``********19``); the
number itself is never printed. Files over 200 MB are skipped with a note. Library code
embedded whole in a file (the plotly.js bundle in the HTML reports, whose constants such
as 2147483647 pass the check) is taken out before a file is scanned; the report's own
data stays in. Turn the plugin off with ``-p no:nhs_scan``.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from commissioning.core.schema import PERSON_TABLES

RAW_INPUT_MARKER = ".raw-nhs-input"
MAX_BYTES = 200 * 1024 * 1024
_DIGITS = r"[0-9]{3} ?[0-9]{3} ?[0-9]{4}"
#: Ten digits standing alone: not inside a word, a hex string or a decimal fraction.
CANDIDATE = re.compile(r"(?<![0-9A-Za-z.])(" + _DIGITS + r")(?![0-9A-Za-z]|\.[0-9])")
#: The same without look-arounds (RE2, in DuckDB and Arrow): a cheap first pass only.
PREFILTER = _DIGITS
_WEIGHTS = range(10, 1, -1)


def nhs_number_valid(digits: str) -> bool:
    """Ten digits passing the modulus 11 check, and not one digit repeated."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    if len(set(digits)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], _WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    return check != 10 and check == int(digits[9])


#: A number written as the value of a money field (``"gross_pence": 3400000000``): an
#: amount in pence can pass the modulus 11 check, and is not a person's number.
MONEY_KEY = re.compile(r"(pence|_gbp|amount)\\?[\"']?\s*[:=]\s*$")


def _matches(text: str) -> Iterator[tuple[str, int]]:
    """Each raw NHS number in a text, as ten digits, with where it starts."""
    for match in CANDIDATE.finditer(text):
        digits = match.group(1).replace(" ", "")
        if nhs_number_valid(digits) and not MONEY_KEY.search(
            text[max(0, match.start() - 24) : match.start()]
        ):
            yield digits, match.start()


def find_nhs_numbers(text: str) -> list[str]:
    """The raw NHS numbers in a text, as ten digits, in order of appearance."""
    return [digits for digits, _ in _matches(text)]


def mask(number: str) -> str:
    """A number fit to print: all but the last two digits hidden."""
    return "*" * (len(number) - 2) + number[-2:]


@dataclass(frozen=True)
class Finding:
    """A raw NHS number found: where (a test or a file) and in what (a column, a line)."""

    where: str
    detail: str
    number: str

    def __str__(self) -> str:
        return f"{self.where} ({self.detail}): {mask(self.number)}"


def scan_text(text: str, where: str, detail: str) -> list[Finding]:
    return [Finding(where, detail, n) for n in dict.fromkeys(find_nhs_numbers(text))]


def mark_raw_input(folder: Path) -> None:
    """Say that ``folder`` holds raw input with NHS numbers on purpose: not scanned."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RAW_INPUT_MARKER).write_text("raw input with NHS numbers: not scanned\n")


def is_raw_input(path: Path) -> bool:
    """Rule 1: the name of a canonical input file of a table with people in it (or the
    temporary name ``synth`` writes it under: ``.people.parquet.partial``)."""
    name = path.name.lower()
    if name.startswith(".") and name.endswith(".partial"):
        name = name[1:].removesuffix(".partial")
    return name.split(".")[0] in PERSON_TABLES and name.endswith((".csv", ".csv.gz", ".parquet"))


# --- files -------------------------------------------------------------------------------


def _lines_of(text: str, where: str) -> list[Finding]:
    """Findings in a file's text, each at the line where the number first appears."""
    first: dict[str, int] = {}
    for digits, start in _matches(text):
        first.setdefault(digits, start)
    return [
        Finding(where, f"line {1 + text.count(chr(10), 0, start)}", digits)
        for digits, start in first.items()
    ]


@functools.cache
def _vendored() -> tuple[bytes, ...]:
    """Library code embedded whole in files the project writes (the plotly.js bundle of
    the HTML reports): its constants (2147483647, say) pass the modulus 11 check."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        return ()
    return (str(get_plotlyjs()).encode("utf-8"),)


def _scan_bytes(path: Path, where: str, content: bytes | None = None) -> list[Finding]:
    data = path.read_bytes() if content is None else content
    if b"<script" in data or path.suffix == ".js":  # a page, or the pack's shared library
        for library in _vendored():
            data = data.replace(library, b"")
    return _lines_of(data.decode("latin-1"), where)


def _scan_strings(values: pa.ChunkedArray | pa.Array, where: str, detail: str) -> list[Finding]:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary
    if pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    hits = pc.filter(values, pc.fill_null(pc.match_substring_regex(values, PREFILTER), False))
    findings: list[Finding] = []
    for value in pc.unique(hits).to_pylist():
        findings += scan_text(value, where, detail)
    return findings


def _text_columns(schema: pa.Schema) -> list[str]:
    def is_text(t: pa.DataType) -> bool:
        if pa.types.is_dictionary(t):
            return is_text(t.value_type)
        return pa.types.is_string(t) or pa.types.is_large_string(t)

    return [f.name for f in schema if is_text(f.type)]


def _scan_parquet(path: Path, where: str) -> tuple[list[Finding], str | None]:
    try:
        parquet = pq.ParquetFile(path)
        names = _text_columns(parquet.schema_arrow)
        table = parquet.read(columns=names)
    except (pa.ArrowException, OSError):
        return _scan_bytes(path, where), f"{where}: not readable as Parquet; scanned as bytes"
    findings: list[Finding] = []
    for name in names:
        findings += _scan_strings(table[name], where, f"column {name}")
    return findings, None


@functools.cache
def _scanner() -> duckdb.DuckDBPyConnection:
    """One in-memory database to attach each store to (far cheaper than opening each)."""
    return duckdb.connect()


_ATTACHED = itertools.count()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scan_catalog(
    con: duckdb.DuckDBPyConnection, catalog: str, where: str
) -> tuple[list[Finding], str | None]:
    """Every text column of every table of a database: the values that hold a number."""
    findings: list[Finding] = []
    try:
        columns = con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_catalog = ? "
            "ORDER BY 1, 2, ordinal_position",
            [catalog],
        ).fetchall()
        # One query for the whole store.
        parts = [
            f"SELECT {i} AS c, {_quote(column)} AS v "
            f"FROM {_quote(catalog)}.{_quote(schema)}.{_quote(table)} "
            f"WHERE regexp_matches({_quote(column)}, '{PREFILTER}')"
            for i, (schema, table, column) in enumerate(columns)
        ]
        if parts:
            query = f"SELECT DISTINCT c, v FROM ({' UNION ALL '.join(parts)})"
            for i, value in con.execute(query).fetchall():
                _schema, table, column = columns[i]
                findings += scan_text(value, where, f"table {table}, column {column}")
    except duckdb.Error as exc:
        return findings, f"{where}: could not read every table ({type(exc).__name__})"
    return findings, None


def _scan_duckdb(path: Path, where: str) -> tuple[list[Finding], str | None]:
    scanner = _scanner()
    alias = f"scanned_{next(_ATTACHED)}"
    try:
        quoted = "'" + str(path).replace("'", "''") + "'"
        scanner.execute(f"ATTACH {quoted} AS {alias} (READ_ONLY)")
    except duckdb.Error:
        pass
    else:
        try:
            return _scan_catalog(scanner, alias, where)
        finally:
            scanner.execute(f"DETACH {alias}")
    try:  # still open in this process (a test did not close it): share that instance
        con = duckdb.connect(str(path))
    except duckdb.Error:
        return _scan_bytes(path, where), f"{where}: could not open the store; scanned as bytes"
    try:
        catalog = con.execute("SELECT current_database()").fetchone()
        return _scan_catalog(con, str(catalog[0]) if catalog else "", where)
    finally:
        con.close()


def _looks_like(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(12)
    if head[8:12] == b"DUCK":
        return "duckdb"
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    return "bytes"


def scan_file(path: Path, where: str | None = None) -> tuple[list[Finding], str | None]:
    """Raw NHS numbers in one file, and a note if it was skipped or read another way."""
    where = where or str(path)
    if path.suffix in (".py", ".pyc"):
        return [], None  # code, not output: see "Code is not output" above
    size = path.stat().st_size
    if size > MAX_BYTES:
        return [], f"{where}: {size / 2**20:,.0f} MB, over {MAX_BYTES // 2**20} MB; not scanned"
    kind = _looks_like(path)
    if kind == "duckdb":
        return _scan_duckdb(path, where)
    if kind == "parquet":
        return _scan_parquet(path, where)
    if kind == "gzip":
        try:
            with gzip.open(path, "rb") as f:
                content = f.read(MAX_BYTES)
        except (OSError, EOFError):
            return _scan_bytes(path, where), None
        return _scan_bytes(path, where, content), None
    return _scan_bytes(path, where), None


def files_to_scan(root: Path) -> Iterator[Path]:
    """Every file under ``root`` except raw input (the rule above); links not followed."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        if RAW_INPUT_MARKER in files:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink() and path.is_file() and not is_raw_input(path):
                yield path


def scan_tree(root: Path) -> tuple[list[Finding], list[str], int]:
    """Findings, notes and the number of files scanned under ``root``."""
    findings: list[Finding] = []
    notes: list[str] = []
    count = 0
    for path in files_to_scan(root):
        count += 1
        try:
            found, note = scan_file(path, str(path.relative_to(root)))
        except OSError as exc:  # gone, or unreadable
            found, note = [], f"{path.relative_to(root)}: not scanned ({type(exc).__name__})"
        findings += found
        if note:
            notes.append(note)
    return findings, notes, count


# --- the plugin --------------------------------------------------------------------------


class NhsScan:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.findings: dict[Finding, None] = {}
        self.notes: list[str] = []
        self.summary = ""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, content in report.sections:
            for finding in scan_text(content, report.nodeid, name):
                self.findings.setdefault(finding)
        if report.failed and report.longrepr is not None:
            errors = "\n".join(
                line for line in report.longreprtext.splitlines() if line.startswith("E ")
            )
            for finding in scan_text(errors, report.nodeid, f"{report.when} error"):
                self.findings.setdefault(finding)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):  # pytest-xdist: the controller scans
            return
        factory = getattr(self.config, "_tmp_path_factory", None)
        basetemp = getattr(factory, "_basetemp", None)
        if basetemp is not None and Path(basetemp).is_dir():
            start = time.perf_counter()
            findings, self.notes, count = scan_tree(Path(basetemp))
            for finding in findings:
                self.findings.setdefault(finding)
            self.summary = (
                f"scanned {count:,} files under {basetemp} in {time.perf_counter() - start:.1f}s"
            )
        if self.findings and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not (self.findings or self.notes or self.summary):
            return
        write = terminalreporter.write_line
        if self.findings:
            terminalreporter.section("raw NHS numbers", sep="=", red=True, bold=True)
            for finding in self.findings:
                write(f"raw NHS number in {finding}")
            write(
                f"{len(self.findings)} raw NHS number(s) in test output or files: the session "
                "fails (see tests/nhs_scan.py for what is scanned and what is raw input)",
                red=True,
                bold=True,
            )
        else:
            terminalreporter.section("raw NHS numbers", sep="-")
            write("none found")
        for note in self.notes:
            write(f"note: {note}")
        if self.summary:
            write(self.summary)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(NhsScan(config), "nhs_scan_session")
