"""Load canonical files into the store (C3): validate every row, keep the rejects.

A load takes one or more files, each for one canonical table, and:

1. reads every value as text (CSV or Parquet), numbering rows by their line in the
   file (the header is line 1);
2. replaces the NHS number by its keyed pseudonym before anything else sees it; an
   invalid NHS number rejects the row, and the number itself is never kept;
3. checks each row in DuckDB: required values present, types, codes from their
   lists, ranges, dates in order, keys not duplicated, references known (a
   person's practice, an event's person);
4. in ONE transaction inserts the good rows, the rejects (file, line, reason) and a
   ``loads`` record.  Any failure rolls everything back: the store is as it was.

The same file (by SHA-256) loaded again into the same table is recognised and
changes nothing.  Every file's report satisfies read = loaded + rejected.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from commissioning.core.failpoint import failpoint
from commissioning.core.schema import (
    COST_RANGE_GBP,
    DUCKDB_TYPES,
    EARLIEST_DATE,
    FORMATS,
    ICD10_COLUMNS,
    ICD10_PATTERN,
    TABLES,
    Column,
    Table,
    allowed_codes,
)
from commissioning.data.pseudonymise import (
    DEMO_KEY,
    key_fingerprint,
    key_matches,
    nhs_number_valid,
    pseudonymise,
)
from commissioning.store.duckdb_store import get_info

Progress = Callable[[str], None]
RAW = "raw__"  # prefix of the untyped text columns while a file is checked
ADAPTER_REASON = "_adapter_reason"  # set by an extract adapter for rows it cannot map


class LoadError(Exception):
    """A file cannot be loaded at all (the message says why and what to do)."""


@dataclass(frozen=True)
class FileReport:
    file_name: str
    table: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    already_loaded: bool = False
    load_id: str = ""
    ignored_columns: tuple[str, ...] = ()
    """Columns of the file that are not in its table (not loaded)."""

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_rejected

    def summary(self) -> dict[str, object]:
        """The report as plain values, for JSON and data frames."""
        return {
            "file": self.file_name,
            "table": self.table,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "already_loaded": self.already_loaded,
            "ignored_columns": list(self.ignored_columns),
        }


@dataclass(frozen=True)
class Source:
    """One file to load, or rows already read by an adapter (``rows``)."""

    path: Path
    table: str
    rows: pa.Table | None = None
    source_format: str = "canonical"


def table_for_file(path: Path) -> str:
    """The canonical table a file is for, from its name (``activity.parquet``)."""
    stem = path.name.split(".")[0]
    if stem not in TABLES:
        raise LoadError(
            f"{path.name}: cannot tell which table this file is for. Name it after a table "
            f"({', '.join(TABLES)}) or pass --table."
        )
    return stem


def _check_path(path: Path) -> None:
    """A missing file or a folder stops the load with a plain message."""
    if path.is_dir():
        raise LoadError(f"{path.name}: is a folder, not a file — give the files in it")
    if not path.is_file():
        raise LoadError(f"{path}: no such file")


def read_as_text(path: Path) -> pa.Table:
    """Every column as text; nothing is interpreted yet."""
    _check_path(path)
    suffix = "".join(path.suffixes).lower()
    if suffix.endswith(".parquet"):
        return _read_parquet_as_text(path)
    if suffix.endswith(".csv") or suffix.endswith(".csv.gz"):
        return _read_csv_as_text(path)
    raise LoadError(f"{path.name}: unknown file type; give a .csv or .parquet file")


def _read_parquet_as_text(path: Path) -> pa.Table:
    """A Parquet file with every column as text. A file that is not Parquet (or is cut
    short), a nested column, or bytes that are not UTF-8 text stop the load."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        reason = _clean(str(exc).replace(str(path), path.name))
        raise LoadError(
            f"{path.name}: not a readable Parquet file ({reason}) — it may be cut short or "
            "not Parquet at all; write it again; nothing was loaded"
        ) from None
    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_dictionary(col.type) and pa.types.is_string(col.type.value_type):
            cols.append(col.unify_dictionaries())  # text already, stored compactly
            continue
        if pa.types.is_nested(col.type):
            raise LoadError(
                f"{path.name}: column {_clean(name)} is nested ({col.type}) — give one plain "
                "value (text, number or date) per cell; nothing was loaded"
            )
        try:
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            cols.append(col if pa.types.is_string(col.type) else pc.cast(col, pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise LoadError(
                f"{path.name}: column {_clean(name)} ({col.type}) cannot be read as text "
                "(bytes that are not UTF-8?) — give text, numbers or dates; nothing was loaded"
            ) from None
    return pa.table(cols, names=table.column_names)


#: Runs of digits as long as an identifier (an NHS number has ten): never echoed.
_IDENTIFIER_LIKE = re.compile(r"\d{6,}")


def _clean(message: str) -> str:
    """An error from a file reader, cut to its first line with no identifier in it."""
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    return _IDENTIFIER_LIKE.sub("…", first)[:300]


def _read_csv_as_text(path: Path) -> pa.Table:
    """A CSV file with every column as text. A row with too many or too few fields, a
    duplicate column name or text that is not UTF-8 stops the load with the line (never
    the row's values: they may hold identifiers)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as raw_file:
            start = raw_file.read(1 << 20)
        if start.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise LoadError(
                f'{path.name}: the file is UTF-16 text — save it as UTF-8 ("CSV UTF-8") and '
                "load it again; nothing was loaded"
            )
        # Only the first line is the header: bad text further on is reported by its line.
        # utf-8-sig: a byte order mark (as Excel writes) is not part of the first name.
        first = re.split(rb"\r\n|\r|\n", start, maxsplit=1)[0].decode("utf-8-sig")
        header = next(csv.reader([first]), None)
    except UnicodeDecodeError:
        raise LoadError(f"{path.name}, line 1: the header is not UTF-8 text") from None
    except (OSError, csv.Error) as exc:
        raise LoadError(f"{path.name}: not a readable CSV file ({_clean(str(exc))})") from None
    if not header or not any(c.strip() for c in header):
        raise LoadError(f"{path.name}: the file is empty — it needs a header line")
    if any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", c) for c in header):
        raise LoadError(
            f"{path.name}, line 1: the header has control characters (NUL bytes?) — this is "
            "not a CSV text file; nothing was loaded"
        )
    if len(header) == 1:
        for sep, called in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in header[0]:
                raise LoadError(
                    f"{path.name}, line 1: the header is one column separated by {called} — "
                    "separate the columns with commas; nothing was loaded"
                )
    duplicates = sorted({_clean(c) for c in header if header.count(c) > 1})
    if duplicates:
        raise LoadError(
            f"{path.name}, line 1: the column(s) {', '.join(duplicates)} appear more than once "
            "in the header"
        )
    bad: list[tuple[int | None, int, int]] = []

    def invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number, row.expected_columns, row.actual_columns))
        return "error"

    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                null_values=[""],
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=invalid),
            read_options=pacsv.ReadOptions(block_size=1 << 22),
        )
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        if bad:
            number, expected, actual = bad[0]
            number = number or _first_ragged_line(path, opener, expected)
            where = f", line {number}" if number is not None else ""
            raise LoadError(
                f"{path.name}{where}: the row has {actual} field(s) where the header has "
                f"{expected} — fix the row (a stray comma or quote?) and load the file again; "
                "nothing was loaded"
            ) from None
        text = str(exc)
        if "Empty CSV file" in text:  # a header and no rows, without a final newline
            return pa.table({name: pa.array([], pa.string()) for name in header})
        if "UTF8" in text or "UTF-8" in text:
            raise LoadError(
                f"{path.name}: some text is not UTF-8 ({_clean(text)}) — save the file as "
                "UTF-8 and load it again; nothing was loaded"
            ) from None
        raise LoadError(f"{path.name}: not a readable CSV file ({_clean(text)})") from None


def _first_ragged_line(path: Path, opener: Any, fields: int) -> int | None:
    """The line of the first row whose field count differs from the header's."""
    with opener(path, "rt", encoding="utf-8", newline="", errors="replace") as f:
        reader = csv.reader(f)
        try:
            for row in reader:
                if len(row) != fields:
                    return reader.line_num
        except csv.Error:  # a field longer than the csv module reads: no line to give
            return None
    return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


DEMO_KEY_REASON = (
    "nhs_number is not a synthetic number: the demo key is for synthetic data only (set a "
    "key of your own)"
)


def _prepare(raw: pa.Table, table: Table, key: bytes, file_name: str) -> pa.Table:
    """Check the columns, number the lines, pseudonymise the NHS number."""
    wanted = [("nhs_number" if c == "person_id" else c) for c in table.column_names]
    for col in table.columns:
        if col.may_be_absent and col.name not in raw.column_names:
            raw = raw.append_column(col.name, pa.nulls(raw.num_rows, pa.string()))
    missing = [c for c in wanted if c not in raw.column_names]
    if missing:
        raise LoadError(
            f"{file_name}: missing column(s) {', '.join(missing)} for table {table.name}. "
            f"Expected columns: {', '.join(wanted)} (see docs/data-model.md)."
        )
    cols = {c: raw[c] for c in wanted}
    n = raw.num_rows
    cols["_line"] = pa.array(range(2, n + 2), pa.int64())
    if "nhs_number" in cols:
        # Hash each distinct number once: encode, pseudonymise the dictionary, take.
        encoded = pc.dictionary_encode(cols.pop("nhs_number").combine_chunks())
        distinct = encoded.dictionary.to_numpy(zero_copy_only=False)
        real = pa.array(
            [v is not None and not str(v).strip().startswith("9") for v in distinct], pa.bool_()
        )
        demo_real = real.take(encoded.indices) if key == DEMO_KEY else None
        pseudonyms = pa.array(pseudonymise(distinct, key), pa.string())
        placeholder = [
            v is not None and len(set(str(v).replace(" ", ""))) == 1 for v in distinct
        ]  # 0000000000, 9999999999: pass modulus 11 but are nobody's number
        valid = pa.array(nhs_number_valid(distinct) & ~np.array(placeholder, dtype=bool))
        cols["person_id"] = pseudonyms.take(encoded.indices)
        cols["_nhs_invalid"] = pc.invert(valid.take(encoded.indices).fill_null(False))
        del encoded, distinct
    else:
        cols["_nhs_invalid"] = pa.array([False] * n)
        demo_real = None
    # An adapter may set aside rows it cannot map, saying why (ADAPTER_REASON).
    if ADAPTER_REASON in raw.column_names:
        reason = raw[ADAPTER_REASON].combine_chunks()
    else:
        reason = pa.nulls(n, pa.string())
    if demo_real is not None:
        # The demo key is published: it may pseudonymise synthetic numbers (9...) only.
        reason = pc.if_else(
            pc.and_(demo_real, pc.is_null(reason)),
            pa.scalar(DEMO_KEY_REASON),
            reason,
        )
    cols[ADAPTER_REASON] = reason
    return pa.table(cols)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _typed(col: Column) -> str:
    raw = f"trim({_q(RAW + col.name)})"
    if col.dtype == "string":
        return f"nullif({raw}, '')"
    return f"TRY_CAST(nullif({raw}, '') AS {DUCKDB_TYPES[col.dtype]})"


def _column_checks(table: Table, col: Column) -> list[tuple[str, str]]:
    """(condition that flags a bad row, reason) for one column."""
    raw = f"nullif(trim(t.{_q(RAW + col.name)}), '')"
    typed = f"t.{_q(col.name)}"
    checks: list[tuple[str, str]] = []
    if col.name == "person_id":
        return [
            (
                "t._nhs_invalid",
                "nhs_number is missing, fails the modulus 11 check or is a placeholder "
                "(one digit repeated)",
            )
        ]
    if col.required:
        checks.append((f"{raw} IS NULL", f"{col.name} is missing"))
    if col.dtype != "string":
        what = {
            "date": "a date (YYYY-MM-DD)",
            "integer": "a whole number",
            "double": "a number",
            "decimal": "an amount in pounds",
        }[col.dtype]
        checks.append((f"{raw} IS NOT NULL AND {typed} IS NULL", f"{col.name} is not {what}"))
        pattern = {"integer": r"^[+-]?[0-9]+$", "decimal": r"^[+-]?[0-9]*(\.[0-9]{0,2})?$"}
        if col.dtype in pattern:  # TRY_CAST would round 1.5 to 2 and 1.005 to 1.01
            checks.append(
                (
                    f"{raw} IS NOT NULL AND NOT regexp_matches({raw}, {_lit(pattern[col.dtype])})",
                    f"{col.name} is not {what}",
                )
            )
    codes = allowed_codes(table, col)
    if codes:
        listed = ", ".join(_lit(c) for c in codes)
        checks.append(
            (
                f"{typed} IS NOT NULL AND {typed} NOT IN ({listed})",
                f"{col.name} is not one of the allowed codes",
            )
        )
    if col.minimum is not None:
        checks.append((f"{typed} < {col.minimum}", f"{col.name} is below {_num(col.minimum)}"))
    if col.maximum is not None:
        checks.append((f"{typed} > {col.maximum}", f"{col.name} is above {_num(col.maximum)}"))
    if col.dtype == "double":
        checks.append(
            (
                f"{typed} IS NOT NULL AND (isnan({typed}) OR isinf({typed}))",
                f"{col.name} is not a finite number",
            )
        )
    if col.dtype == "date":
        checks.append((f"{typed} > current_date", f"{col.name} is in the future"))
        checks.append(
            (f"{typed} < DATE '{EARLIEST_DATE}'", f"{col.name} is before {EARLIEST_DATE}")
        )
    if col.dtype == "string":
        checks.append(
            (
                f"regexp_matches({raw}, '[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]')",
                f"{col.name} contains a control character",
            )
        )
    if col.name in FORMATS:
        code_format, looks = FORMATS[col.name]
        checks.append(
            (
                f"{typed} IS NOT NULL AND NOT regexp_matches({typed}, {_lit(code_format)})",
                f"{col.name} is not {looks}",
            )
        )
    if col.name == "cost_gbp" and "point_of_delivery" in table.column_names:
        checks += _cost_range_checks(typed)
    if col.name in ICD10_COLUMNS:
        checks.append(
            (
                f"{typed} IS NOT NULL AND NOT regexp_matches({typed}, {_lit(ICD10_PATTERN)})",
                f"{col.name} is not an ICD-10 code",
            )
        )
    if col.name == "external_cause":
        checks.append(
            (
                f"{typed} IS NOT NULL AND NOT regexp_matches({typed}, '^[V-Y]')",
                "external_cause is not an external cause code (ICD-10 V01 to Y98)",
            )
        )
    return checks


def _cost_range_checks(cost: str) -> list[tuple[str, str]]:
    """One check a point of delivery: a cost (not negative: that has its own reason)
    outside the plausible range of the row's point of delivery."""
    pod = f"t.{_q('point_of_delivery')}"
    return [
        (
            f"{pod} = {_lit(name)} AND {cost} >= 0 AND NOT ({cost} BETWEEN {low} AND {high})",
            f"cost_gbp is outside the plausible range for {name} (£{low:,} to £{high:,})",
        )
        for name, (low, high) in COST_RANGE_GBP.items()
    ]


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,g}"


def _reference_checks(table: Table) -> list[tuple[str, str]]:
    checks = []
    if table.name == "people":
        checks.append(
            (
                "t.practice_code NOT IN (SELECT practice_code FROM gp_practices)",
                "practice_code is not a known GP practice (load gp_practices first)",
            )
        )
    if table.name == "gp_practices":
        checks.append(
            (
                "t.place_code NOT IN (SELECT place_code FROM places)",
                "place_code is not a known place (load places first)",
            )
        )
    if "person_id" in table.column_names and table.name != "people":
        checks.append(
            (
                "t.person_id IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM people x WHERE x.person_id = t.person_id)",
                "the person is not in the people table (load people first)",
            )
        )
    if table.name == "activity":  # the person's life, joined once (see _LIFE)
        checks.append(("t._life_death < t.start_date", "start_date is after the person's death"))
        checks.append(
            ("t.start_date < t._life_birth", "start_date is before the person's month of birth")
        )
    return checks


#: An event's person's month of birth and date of death, beside the event (one join).
_LIFE = """LEFT JOIN (
    SELECT person_id AS _life_person, death_date AS _life_death,
      make_date(birth_year, birth_month, 1) AS _life_birth
    FROM people
  ) life ON life._life_person = staging.person_id"""


def validation_sql(table: Table) -> str:
    """SQL over ``staging`` giving typed columns, ``_line`` and ``_reason`` ('' if good).

    One pass: the typed values sit beside the raw text, so checks can use either.
    """
    typed = ",\n    ".join(
        f"{_typed(c)} AS {_q(c.name)}" for c in table.columns if c.name != "person_id"
    )
    checks = [chk for c in table.columns for chk in _column_checks(table, c)]
    checks += [(f"NOT coalesce(({cond}), TRUE)", reason) for cond, reason in table.checks]
    checks += _reference_checks(table)
    pk_cols = ", ".join(_q(k) for k in table.primary_key)
    pk_match = " AND ".join(f"x.{_q(k)} = t.{_q(k)}" for k in table.primary_key)
    # Duplicate keys by a hash aggregate (far cheaper than a window over every row).
    checks.append(
        (
            "d._first_line IS NOT NULL AND t._line > d._first_line",
            "duplicate key: an earlier line of this file has the same "
            + ", ".join(table.primary_key),
        )
    )
    checks.append(
        (
            f"EXISTS (SELECT 1 FROM {table.name} x WHERE {pk_match})",
            "already in the store (same " + ", ".join(table.primary_key) + ")",
        )
    )
    reasons = ",\n      ".join(
        [f"t.{ADAPTER_REASON}"]
        + [f"CASE WHEN coalesce({cond}, FALSE) THEN {_lit(reason)} END" for cond, reason in checks]
    )
    columns = ", ".join(f"t.{_q(c)}" for c in table.column_names)
    return f"""
WITH t AS (
  SELECT *,
    {typed}
  FROM staging {_LIFE if table.name == "activity" else ""}
)
SELECT t._line, {columns}, concat_ws('; ',
      {reasons}
    ) AS _reason
FROM t LEFT JOIN (
  SELECT {pk_cols}, min(_line) AS _first_line FROM t GROUP BY {pk_cols} HAVING count(*) > 1
) d USING ({pk_cols})
"""


def load_files(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[Source],
    key: bytes,
    on_progress: Progress | None = None,
    max_reject_share: float = 1.0,
) -> list[FileReport]:
    """Load files atomically: all of them, or (on any error) none of them. A file whose
    rows all fail their checks, or more than ``max_reject_share`` of them, fails the whole
    load, with the commonest reasons (never the rows)."""
    say = on_progress or (lambda _m: None)
    _check_key(con, key)
    order = {name: i for i, name in enumerate(TABLES)}
    sources = sorted(sources, key=lambda s: order.get(s.table, len(order)))
    reports: list[FileReport] = []
    con.execute("BEGIN TRANSACTION")
    try:
        if get_info(con, "key_fingerprint") is None:
            con.execute(
                "INSERT INTO store_info VALUES ('key_fingerprint', ?)", [key_fingerprint(key)]
            )
        for src in sources:
            report = _load_one(con, src, key, say)
            _check_share(con, report, max_reject_share)
            reports.append(report)
        failpoint("before_commit")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return reports


def _check_share(con: duckdb.DuckDBPyConnection, report: FileReport, limit: float) -> None:
    if report.already_loaded or report.rows_read == 0:
        return
    share = report.rows_rejected / report.rows_read
    if report.rows_loaded > 0 and share <= limit:
        return
    reasons = con.execute(
        "SELECT reason, count(*) FROM rejects WHERE load_id = ? "
        "GROUP BY reason ORDER BY 2 DESC, 1 LIMIT 3",
        [report.load_id],
    ).fetchall()
    top = "; ".join(f"{reason} ({n:,})" for reason, n in reasons)
    allowed = "no row loaded" if report.rows_loaded == 0 else f"more than {limit:.0%} allowed"
    raise LoadError(
        f"{report.file_name}: {report.rows_rejected:,} of {report.rows_read:,} rows "
        f"({share:.0%}) failed their checks — {allowed}; nothing was loaded. Commonest "
        f"reasons: {top}. Fix the file (or raise load.max_reject_share) and load it again."
    )


def _check_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    stored = get_info(con, "key_fingerprint")
    if stored is not None and not key_matches(key, stored):
        raise LoadError(
            "this store was built with a different pseudonymisation key; the same person "
            "would get a different pseudonym. Use the store's own key, or a new store."
        )


def _load_one(con: duckdb.DuckDBPyConnection, src: Source, key: bytes, say: Progress) -> FileReport:
    if src.table not in TABLES:
        raise LoadError(
            f"{src.path.name}: unknown table {src.table!r}; choose one of {', '.join(TABLES)}"
        )
    table = TABLES[src.table]
    _check_path(src.path)
    sha = file_sha256(src.path)
    promise = _check_manifest(src.path, sha, table) if src.rows is None else Promise()
    previous = con.execute(
        "SELECT rows_read, rows_loaded, rows_rejected FROM loads "
        "WHERE file_sha256 = ? AND table_name = ?",
        [sha, table.name],
    ).fetchone()
    if previous is not None:
        say(f"{src.path.name}: already loaded into {table.name}; nothing to do")
        read, loaded, rejected = (int(v) for v in previous)
        return FileReport(src.path.name, table.name, read, loaded, rejected, already_loaded=True)
    say(f"{src.path.name}: reading")
    raw = src.rows if src.rows is not None else read_as_text(src.path)
    if promise.rows is not None and raw.num_rows != promise.rows:
        raise LoadError(
            f"{src.path.name}: {raw.num_rows:,} rows, but manifest.json says {promise.rows:,} "
            "— the file is not the one the manifest describes; write it again"
        )
    _check_control_totals(src.path.name, raw, promise.control)
    ignored = _ignored_columns(raw, table)
    if ignored:
        say(
            f"{src.path.name}: ignoring column(s) not in the {table.name} table: "
            + ", ".join(ignored)
        )
    say(f"{src.path.name}: pseudonymising and checking {raw.num_rows:,} rows")
    staged = _prepare(raw, table, key, src.path.name)
    del raw
    con.register(
        "staging",
        staged.rename_columns(
            [c if c.startswith("_") or c == "person_id" else RAW + c for c in staged.column_names]
        ),
    )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE validated AS {validation_sql(table)}")
    finally:
        con.unregister("staging")
    cols = ", ".join(_q(c) for c in table.column_names)
    load_id = uuid.uuid4().hex
    say(f"{src.path.name}: writing to the store")
    con.execute(
        f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM validated "
        "WHERE _reason = '' ORDER BY _line"
    )
    failpoint(f"after_insert:{table.name}")
    bad_cols = [c for c in staged.column_names if not c.startswith("_")]
    con.register("staging_bad", staged.select(["_line", *bad_cols]))
    try:
        row_json = "json_object(" + ", ".join(f"{_lit(c)}, s.{_q(c)}" for c in bad_cols) + ")"
        con.execute(
            f"INSERT INTO rejects SELECT ?, ?, v._line, ?, v._reason, {row_json} "
            "FROM validated v JOIN staging_bad s USING (_line) WHERE v._reason <> ''",
            [load_id, src.path.name, table.name],
        )
    finally:
        con.unregister("staging_bad")
    counts = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE _reason = '') FROM validated"
    ).fetchone()
    assert counts is not None
    read, loaded = int(counts[0]), int(counts[1])
    con.execute("DROP TABLE validated")
    con.execute(
        "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            datetime.now(UTC).replace(tzinfo=None),
            src.path.name,
            sha,
            table.name,
            src.source_format,
            read,
            loaded,
            read - loaded,
        ],
    )
    say(f"{src.path.name}: read {read:,}, loaded {loaded:,}, rejected {read - loaded:,}")
    return FileReport(
        src.path.name,
        table.name,
        read,
        loaded,
        read - loaded,
        load_id=load_id,
        ignored_columns=ignored,
    )


def _ignored_columns(raw: pa.Table, table: Table) -> tuple[str, ...]:
    """Names of the file's columns that are not in the table, fit to print."""
    wanted = {("nhs_number" if c == "person_id" else c) for c in table.column_names}
    return tuple(
        _clean(name) if name.strip() else "(a column with no name)"
        for name in raw.column_names
        if name not in wanted and not name.startswith("_")
    )


@dataclass(frozen=True)
class Promise:
    """What a manifest says of a file: its rows, and control totals (``rows`` and
    ``sum_<column>``, an exact decimal) to check against the file before loading it."""

    rows: int | None = None
    control: dict[str, int | Decimal] = field(default_factory=dict)


#: A number as a control total counts it: plain decimal notation (no exponent, no
#: thousands separator, no NaN); spaces around it are trimmed as on loading.
_PLAIN_DECIMAL = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$"


def control_sum(values: pa.Array | pa.ChunkedArray) -> Decimal:
    """The exact sum of a column's values, as text, that are numbers in plain decimal
    notation; anything else (empty, text, NaN, infinity) counts as nothing. Numbers that
    are not text yet are first written as text, as the loader reads them."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    text = pc.utf8_trim_whitespace(values)
    numbers = pc.filter(text, pc.fill_null(pc.match_substring_regex(text, _PLAIN_DECIMAL), False))
    total = Decimal(0)
    for entry in pc.value_counts(numbers).to_pylist():  # each distinct value once
        total += Decimal(entry["values"]) * entry["counts"]
    return total


def control_totals(table: pa.Table, money_columns: Sequence[str]) -> dict[str, object]:
    """Control totals of a table as a manifest records them: its rows and, for each money
    column, the exact sum as a decimal in a string (``{"rows": 3, "sum_cost_gbp":
    "1234.56"}``)."""
    totals: dict[str, object] = {"rows": table.num_rows}
    for name in money_columns:
        totals[f"sum_{name}"] = f"{control_sum(table[name]):f}"
    return totals


def _check_control_totals(file_name: str, raw: pa.Table, control: dict[str, int | Decimal]) -> None:
    """The rows read and the sums over the file must be the manifest's control totals."""
    for name, want in control.items():
        if name == "rows":
            got: int | Decimal = raw.num_rows
        else:
            column = name.removeprefix("sum_")
            if column not in raw.column_names:
                raise LoadError(
                    f"{file_name}: manifest.json gives the control total {name}, but the "
                    f"file has no column {column} — nothing was loaded"
                )
            got = control_sum(raw[column])
        if got != want:
            raise LoadError(
                f"{file_name}: control total {name} does not match — manifest.json says "
                f"{want:,}, the file gives {got:,}; the file is not the one its sender "
                "totalled: get it (or the manifest) again; nothing was loaded"
            )


def _read_control(path: Path, table: Table, control: object) -> dict[str, int | Decimal]:
    """A manifest's control totals for a file, checked for form (not yet against it)."""
    where = f"{path.name}: the control totals in manifest.json"
    if control is None:
        return {}
    if not isinstance(control, dict):
        raise LoadError(f"{where} are not an object of totals — write the manifest again")
    columns = {("nhs_number" if c == "person_id" else c) for c in table.column_names}
    checked: dict[str, int | Decimal] = {}
    for name, value in control.items():
        if name == "rows":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise LoadError(f"{where}: rows must be a whole number of rows")
            checked[name] = value
            continue
        if not name.startswith("sum_") or name.removeprefix("sum_") not in columns:
            raise LoadError(
                f"{where}: {name} is not a control total the loader knows (rows, or sum_ "
                f"and a column of {table.name})"
            )
        try:
            total = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            total = None
        if total is None or not total.is_finite() or "_" in str(value):
            raise LoadError(
                f'{where}: {name} must be an exact decimal in a string, such as "1234.56"'
            )
        checked[name] = total
    return checked


def _check_manifest(path: Path, sha: str, table: Table) -> Promise:
    """If a ``manifest.json`` beside the file lists it, the file must be the one it lists
    (its SHA-256); returns the rows and control totals it promises."""
    manifest = path.parent / "manifest.json"
    if not manifest.is_file():
        return Promise()
    try:
        files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
        if not isinstance(files, dict):
            raise ValueError("files is not an object")
    except (OSError, ValueError, AttributeError):
        raise LoadError(
            f"{manifest}: not a readable manifest — remove it or write it again"
        ) from None
    entry = next(
        (f for f in files.values() if isinstance(f, dict) and f.get("file") == path.name), None
    )
    if entry is None:
        return Promise()
    if entry.get("sha256") != sha:
        raise LoadError(
            f"{path.name}: its contents differ from what manifest.json records (cut short or "
            "changed since it was written) — write the files again; nothing was loaded"
        )
    rows = entry.get("rows")
    return Promise(
        rows=int(rows) if isinstance(rows, int) else None,
        control=_read_control(path, table, entry.get("control")),
    )


def rejects_summary(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[tuple[str, ...]]:
    """The most recent rejects: file, line, reason."""
    rows = con.execute(
        "SELECT file_name, line, reason FROM rejects ORDER BY file_name, line LIMIT ?", [limit]
    ).fetchall()
    return [tuple(str(v) for v in r) for r in rows]


def reject_row(con: duckdb.DuckDBPyConnection, file_name: str, line: int) -> dict[str, object]:
    row = con.execute(
        "SELECT row_json FROM rejects WHERE file_name = ? AND line = ?", [file_name, line]
    ).fetchone()
    return {} if row is None else dict(json.loads(row[0]))
