"""Load canonical files into the store (C3): validate every row, keep the rejects.

A load takes one or more files, each for one canonical table, and, inside DuckDB and
streamed (a file need not fit in memory):

1. reads every value as text (CSV or Parquet, :mod:`commissioning.data.read`), numbering
   rows by their line in the file (the header is line 1);
2. replaces the NHS number by its keyed pseudonym before anything else sees it: each
   distinct number is pseudonymised once, by the keyed hash in SQL (its key a bound
   parameter), and joined back; an invalid NHS number rejects the row, and the number
   itself is never kept;
3. checks each row in SQL: required values present, types, codes from their lists,
   ranges, dates in order, keys not duplicated, references known (a person's practice,
   an event's person); a code column's checks run once a distinct text;
4. in ONE transaction inserts the good rows, the rejects (file, line, reason) and a
   ``loads`` record.  Any failure rolls everything back: the store is as it was.

The same file (by SHA-256) loaded again into the same table is recognised and
changes nothing.  Every file's report satisfies read = loaded + rejected.  While a load
runs DuckDB works within :data:`LOAD_MEMORY_LIMIT` and spills to disk beyond it.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

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
    hmac_pads,
    key_fingerprint,
    key_matches,
    pseudonym_sql,
)
from commissioning.data.read import (
    NATIVE,
    STAGED,
    Staged,
    check_path,
    clean,
    drop_stage,
    stage_arrow,
    stage_file,
)
from commissioning.data.read import LoadError as LoadError  # raised to callers
from commissioning.data.read import lit as _lit
from commissioning.data.read import q as _q
from commissioning.data.read import read_as_text as read_as_text  # for the adapters
from commissioning.store.duckdb_store import get_info

Progress = Callable[[str], None]
RAW = "raw__"  # prefix of the untyped text columns while a file is checked
ADAPTER_REASON = "_adapter_reason"  # set by an extract adapter for rows it cannot map

#: How much memory DuckDB may use during a load before it spills to its temporary folder
#: (a lower limit set on the connection is kept).
LOAD_MEMORY_LIMIT = "4GiB"
_PSEUDONYMS = "_load_pseudonyms"  # each distinct NHS number of the load and its pseudonym
#: The staged file's values as text, without the person (see :func:`_staging_sql`).
TEXT_VIEW = "staging_text"
_NHS = "_nhs_number"  # the NHS number in TEXT_VIEW: joined to its pseudonym, never kept


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


#: The largest amount a ``DECIMAL(14, 2)`` holds is just below this.
_DECIMAL_BOUND = "1e12"


#: The text of a whole number and of an amount in pounds: ``TRY_CAST`` alone would round
#: 1.5 to 2 and 1.005 to 1.01.
_NUMBER_TEXT = {"integer": r"^[+-]?[0-9]+$", "decimal": r"^[+-]?[0-9]*(\.[0-9]{0,2})?$"}


def _typed(col: Column, native: Collection[str] = (), checked: bool = False) -> str:
    """SQL of a column's typed value. ``checked`` (the check pass): a whole number or an
    amount whose text is not one is null, as a Parquet float that is not in whole pence
    is, so that it is given that reason alone (not also, say, "below 0" for its rounding).
    The good rows written afterwards have no such text."""
    if col.name in native and col.dtype == "decimal":  # a float with whole pence only
        value = _q(NATIVE + col.name)
        # A float equal to its own rounding to two places is the nearest float to an
        # amount in pence, and its text (as read from text) is that amount.
        return (
            f"CASE WHEN isfinite({value}) AND abs({value}) < {_DECIMAL_BOUND} "
            f"AND round({value}, 2) = {value} THEN CAST({value} AS {DUCKDB_TYPES['decimal']}) END"
        )
    if col.name in native:  # a Parquet column already of the column's type
        return _q(NATIVE + col.name)
    raw = f"trim({_q(RAW + col.name)})"
    if col.dtype == "string":
        return f"nullif({raw}, '')"
    cast = f"TRY_CAST(nullif({raw}, '') AS {DUCKDB_TYPES[col.dtype]})"
    if checked and col.dtype in _NUMBER_TEXT:
        return f"CASE WHEN regexp_matches({raw}, {_lit(_NUMBER_TEXT[col.dtype])}) THEN {cast} END"
    return cast


#: A control character (NUL, bell, escape, ...): never in a value.
_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"


def _column_checks(
    table: Table, col: Column, native: bool = False, value: str | None = None
) -> list[tuple[str, str]]:
    """(condition that flags a bad row, reason) for one column. A ``native`` column (a
    Parquet column already of the column's type) needs no reading from text. With
    ``value``, a text column's checks are written over that expression (a distinct value)
    rather than the row's column."""
    typed = value or f"t.{_q(col.name)}"
    # A row's text is searched for control characters once; a distinct value directly.
    control_gate = "TRUE" if value else "t._any_control"
    # A text column's typed value is its trimmed text: no need to trim it twice. A float
    # for an amount in pounds is its own value (its typed value is null if not in pence).
    same = native or col.dtype == "string"
    raw = typed if same else f"nullif(trim(t.{_q(RAW + col.name)}), '')"
    if native and col.dtype == "decimal":
        raw = f"t.{_q(NATIVE + col.name)}"
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
    what = {
        "date": "a date (YYYY-MM-DD)",
        "integer": "a whole number",
        "double": "a number",
        "decimal": "an amount in pounds",
    }.get(col.dtype, "")
    # Text that does not read as its type (a typed value that is null), or a float that
    # is not in whole pence.
    if (col.dtype != "string" and not native) or (native and col.dtype == "decimal"):
        checks.append((f"{raw} IS NOT NULL AND {typed} IS NULL", f"{col.name} is not {what}"))
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
                # Only where the row's text has one at all (one test a row, not a column).
                f"CASE WHEN {control_gate} THEN regexp_matches({raw}, {_lit(_CONTROL)}) "
                "ELSE FALSE END",
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


def _cost_range_reason(cost: str) -> str:
    """SQL giving the reason a cost (not negative: that has its own reason) is outside the
    plausible range of the row's point of delivery, or null: one ``CASE`` on the point of
    delivery, so each row is compared with its own range only."""
    branches = " ".join(
        f"WHEN {_lit(name)} THEN CASE WHEN NOT ({cost} BETWEEN {low} AND {high}) THEN "
        f"{_lit(f'cost_gbp is outside the plausible range for {name} (£{low:,} to £{high:,})')} END"
        for name, (low, high) in COST_RANGE_GBP.items()
    )
    return f"CASE WHEN {cost} >= 0 THEN CASE t.{_q('point_of_delivery')} {branches} END END"


def _cost_position(table: Table, checks: list[tuple[str, str]]) -> int:
    """Where the cost range's reason goes among the reasons: after the other checks of
    ``cost_gbp`` (1 for the adapter's reason first)."""
    last = max(i for i, (_, reason) in enumerate(checks) if reason.startswith("cost_gbp "))
    return last + 2


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
                # an event has its person's row joined already (see _LIFE)
                "t.person_id IS NOT NULL AND t._life_person IS NULL"
                if table.name == "activity"
                else "t.person_id IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM people x WHERE x.person_id = t.person_id)",
                "the person is not in the people table (load people first)",
            )
        )
    if table.name == "activity":  # the person's life, joined with the pseudonym (_LIFE)
        checks.append(("t._life_death < t.start_date", "start_date is after the person's death"))
        checks.append(
            ("t.start_date < t._life_birth", "start_date is before the person's month of birth")
        )
    return checks


#: Each NHS number of the load with its pseudonym and, for events, the person's month of
#: birth and date of death (one join of the events, not two).
_PERSONS = "_load_persons"
_LIFE = """SELECT p.*, life.person_id AS _life_person, life.death_date AS _life_death,
      make_date(life.birth_year, life.birth_month, 1) AS _life_birth
    FROM {pseudonyms} p LEFT JOIN people life ON life.person_id = p.person_id"""


def _looked_up(table: Table, native: Collection[str]) -> list[Column]:
    """The text columns whose checks of the value alone run once a distinct value: every
    text column but the person and the key (whose values are mostly distinct). A million
    events have a few thousand codes; a regular expression a row costs more than a join."""
    return [
        c
        for c in table.columns
        if c.dtype == "string"
        and c.name != "person_id"
        and c.name not in table.primary_key
        and c.name not in native
    ]


def validation_sql(table: Table, native: Collection[str] = ()) -> str:
    """SQL over ``staging`` giving ``_line`` and ``_reason`` of each row that fails a check.

    One pass: the typed values sit beside the raw text, so checks can use either. The
    ``native`` columns come with their own typed value (``native__<column>``).
    """
    typed = ",\n    ".join(
        f"{_typed(c, native, checked=True)} AS {_q(c.name)}"
        for c in table.columns
        if c.name != "person_id"
    )
    looked_up = _looked_up(table, native)
    checks: list[tuple[str, str]] = []
    lookups: list[str] = []
    for c in table.columns:
        if c not in looked_up:
            checks += _column_checks(table, c, c.name in native)
            continue
        # Checks of the value alone ran once a distinct text (values_sql) and come back by
        # a join on the text; whether it is missing is also a check of the row.
        values = _values_table(looked_up.index(c))
        raw = f"t.{_q(RAW + c.name)}"
        for bit, (_, reason) in enumerate(_column_checks(table, c, value="_v")):
            flagged = f"{values}._b{bit}"
            missing = reason == f"{c.name} is missing"
            checks.append((f"({raw} IS NULL OR {flagged})" if missing else flagged, reason))
        lookups.append(f"LEFT JOIN {values} ON {values}._raw = {raw}")
    checks += [(f"NOT coalesce(({cond}), TRUE)", reason) for cond, reason in table.checks]
    checks += _reference_checks(table)
    pk_cols = ", ".join(_q(k) for k in table.primary_key)
    # The duplicate keys straight from the file (a second scan is cheaper than keeping
    # every checked row to look them up).
    pk_typed = ", ".join(
        "person_id"
        if k == "person_id"
        else f"{_typed(table.column(k), native, checked=True)} AS {_q(k)}"
        for k in table.primary_key
    )
    # A key without the person is found in the file's text alone (no pseudonym to join).
    keys_from = "staging" if "person_id" in table.primary_key else TEXT_VIEW
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
    # A row fails if any check is true (a null check is not a failure); the reasons are
    # written out only for the rows that fail (text for every row would cost far more
    # than the checks).
    conds = [f"t.{ADAPTER_REASON} IS NOT NULL"] + [f"({c})" for c, _ in checks]
    reasons = [f"t.{ADAPTER_REASON}"] + [_lit(reason) for _, reason in checks]
    if "cost_gbp" in table.column_names and "point_of_delivery" in table.column_names:
        cost = _cost_range_reason(f"t.{_q('cost_gbp')}")
        at = _cost_position(table, checks)
        conds.insert(at, f"{cost} IS NOT NULL")
        reasons.insert(at, cost)
    fails = "\n    OR ".join(conds)
    reasons_sql = ",\n      ".join(
        f"CASE WHEN coalesce({cond}, FALSE) THEN {reason} END"
        for cond, reason in zip(conds, reasons, strict=True)
    )
    text = [
        _q(RAW + c.name)
        for c in table.columns
        if c.dtype == "string" and c.name != "person_id" and c not in looked_up
    ]
    any_control = (
        f"regexp_matches(concat({', '.join(text)}), {_lit(_CONTROL)})" if text else "FALSE"
    )
    return f"""
WITH t AS (
  SELECT *,
    {typed},
    {any_control} AS _any_control
  FROM staging
)
SELECT t._line, concat_ws('; ',
      {reasons_sql}
    ) AS _reason
FROM t LEFT JOIN (
  SELECT {pk_typed}, min(_line) AS _first_line FROM {keys_from}
  GROUP BY {pk_cols} HAVING count(*) > 1
) d USING ({pk_cols})
{" ".join(lookups)}
WHERE {fails}
"""


def _values_table(index: int) -> str:
    return f"_load_values{index}"


def values_sql(table: Table, col: Column) -> str:
    """SQL over ``staging_text`` giving each distinct text of a looked-up column
    (:func:`_looked_up`): ``_raw``, whether it is already clean (no spaces to trim, not
    empty) and one flag a check of the value (``_b0``, ``_b1``, ...; see
    :func:`_column_checks`). A million events have a few thousand codes: a check of each
    code costs far less than a check of each row."""
    bits = ", ".join(
        f"({cond}) AS _b{bit}"
        for bit, (cond, _) in enumerate(_column_checks(table, col, value="_v"))
    )
    return (
        f"SELECT _raw, coalesce(_v = _raw, FALSE) AS _clean, {bits} FROM ("
        f"SELECT _raw, nullif(trim(_raw), '') AS _v FROM ("
        f"SELECT DISTINCT {_q(RAW + col.name)} AS _raw FROM {TEXT_VIEW}) WHERE _raw IS NOT NULL)"
    )


def insert_sql(table: Table, native: Collection[str] = (), clean: Collection[str] = ()) -> str:
    """SQL over ``staging`` giving the typed columns of the rows that passed the checks
    (every line not in ``validated``, which holds the failing lines). The ``clean`` text
    columns need no trimming (none of their values has spaces around it or is empty)."""
    typed = ", ".join(
        "person_id"
        if c.name == "person_id"
        else _q(RAW + c.name) + f" AS {_q(c.name)}"
        if c.name in clean
        else f"{_typed(c, native)} AS {_q(c.name)}"
        for c in table.columns
    )
    return (
        f"SELECT {typed} FROM staging "
        "WHERE NOT EXISTS (SELECT 1 FROM validated v WHERE v._line = staging._line)"
    )


def load_files(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[Source],
    key: bytes,
    on_progress: Progress | None = None,
    max_reject_share: float = 1.0,
    memory_limit: str = LOAD_MEMORY_LIMIT,
) -> list[FileReport]:
    """Load files atomically: all of them, or (on any error) none of them. A file whose
    rows all fail their checks, or more than ``max_reject_share`` of them, fails the whole
    load, with the commonest reasons (never the rows). DuckDB works within
    ``memory_limit`` (``"4GiB"``, ``"8GB"``) while the load runs and spills beyond it."""
    if _bytes(memory_limit) == float("inf"):
        raise LoadError(
            f"memory limit {memory_limit!r} is not an amount of memory; give one such as "
            "'4GiB' or '8GB'"
        )
    say = on_progress or (lambda _m: None)
    _check_key(con, key)
    order = {name: i for i, name in enumerate(TABLES)}
    sources = sorted(sources, key=lambda s: order.get(s.table, len(order)))
    reports: list[FileReport] = []
    with _bounded_memory(con, memory_limit):
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
            con.execute(f"DROP TABLE IF EXISTS {_PSEUDONYMS}")
            con.execute(f"DROP TABLE IF EXISTS {_PERSONS}")
            failpoint("before_commit")
            con.execute("COMMIT")
        except BaseException:
            # After a fatal error DuckDB has already given the transaction up (and will not
            # take a ROLLBACK): the error to show is the first one.
            with suppress(duckdb.Error):
                con.execute("ROLLBACK")
            drop_stage(con)
            raise
    return reports


@contextmanager
def _bounded_memory(
    con: duckdb.DuckDBPyConnection, memory_limit: str = LOAD_MEMORY_LIMIT
) -> Iterator[None]:
    """DuckDB within ``memory_limit`` (spilling beyond it) while a load runs; the
    connection's own settings afterwards. An in-memory store spills to the system's
    temporary folder rather than the working folder."""
    (limit, spill) = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone() or ("", "")
    lower = _bytes(memory_limit) < _bytes(str(limit))
    if lower:
        con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    moved = str(spill) in ("", ".tmp")
    if moved:
        try:
            folder = Path(tempfile.gettempdir()) / "commissioning-duckdb"
            con.execute(f"SET temp_directory = {_lit(str(folder))}")
        except duckdb.Error:  # already spilling somewhere: leave it there
            moved = False
    (ordered,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone() or (
        True,
    )
    # Rows need not keep the file's order (each keeps its line): far less to hold at once.
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        with suppress(duckdb.Error):  # a connection DuckDB has given up takes no settings
            con.execute(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
            if lower:  # the default exactly, or a limit set before (as DuckDB shows it)
                con.execute("RESET memory_limit")
                # fetchall: a result left part-read would block the caller's next query.
                shown = con.execute("SELECT current_setting('memory_limit')").fetchall()
                if shown != [(limit,)]:
                    con.execute(f"SET memory_limit = {_lit(str(limit))}")
            if moved:
                con.execute(f"SET temp_directory = {_lit(str(spill))}")


_UNITS = {"": 1, "B": 1, "BYTES": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def _bytes(setting: str) -> float:
    """A DuckDB memory setting (``18.6 GiB``, ``2GB``) in bytes; no limit is infinite."""
    found = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", setting)
    if not found or found.group(2).upper() not in _UNITS:
        return float("inf")
    return float(found.group(1)) * _UNITS[found.group(2).upper()]


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
    check_path(src.path)
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
    staged = stage_arrow(con, src.rows) if src.rows is not None else stage_file(con, src.path)
    report = _check_and_insert(con, src, table, key, staged, promise, sha, say)
    drop_stage(con)
    return report


def _check_and_insert(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    table: Table,
    key: bytes,
    staged: Staged,
    promise: Promise,
    sha: str,
    say: Progress,
) -> FileReport:
    """Check the staged rows of one file and insert them: good rows into their table,
    the others into ``rejects``, and a ``loads`` record."""
    name = src.path.name
    columns = staged.columns
    # Columns taken with their own Parquet type: of the column's type, or a float for an
    # amount in pounds.
    native = {
        c.name
        for c in table.columns
        if c.name in columns
        and (
            staged.native.get(c.name) == c.dtype
            or (c.dtype == "decimal" and staged.native.get(c.name) == "double")
        )
    }
    counted = con.execute(f"SELECT count(*) FROM {STAGED}").fetchone()
    read = int(counted[0]) if counted else 0
    if promise.rows is not None and read != promise.rows:
        raise LoadError(
            f"{name}: {read:,} rows, but manifest.json says {promise.rows:,} "
            "— the file is not the one the manifest describes; write it again"
        )
    _check_control_totals(con, name, read, staged, promise.control)
    wanted = [("nhs_number" if c == "person_id" else c) for c in table.column_names]
    present = set(columns)
    missing = [
        c
        for c in wanted
        if c not in present and not (c in table.column_names and _absent(table, c))
    ]
    if missing:
        raise LoadError(
            f"{name}: missing column(s) {', '.join(missing)} for table {table.name}. "
            f"Expected columns: {', '.join(wanted)} (see docs/data-model.md)."
        )
    ignored = _ignored_columns(columns, table)
    if ignored:
        say(f"{name}: ignoring column(s) not in the {table.name} table: " + ", ".join(ignored))
    say(f"{name}: pseudonymising and checking {read:,} rows")
    text, staging = _staging_sql(con, table, key, columns, native)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {TEXT_VIEW} AS {text}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW staging AS {staging}")
    # Two passes over the file: the checks keep only the failing lines and their reasons
    # (few), then the good rows go from the file straight into the table. Keeping every
    # checked row would copy the whole file once more, and cost more than reading it again.
    looked_up = _looked_up(table, native)
    clean: set[str] = set()
    for i, c in enumerate(looked_up):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_values_table(i)} AS {values_sql(table, c)}")
        (all_clean,) = con.execute(
            f"SELECT coalesce(bool_and(_clean), TRUE) FROM {_values_table(i)}"
        ).fetchall()[0]
        if all_clean:
            clean.add(c.name)
    con.execute(f"CREATE OR REPLACE TEMP TABLE validated AS {validation_sql(table, native)}")
    cols = ", ".join(_q(c) for c in table.column_names)
    load_id = uuid.uuid4().hex
    say(f"{name}: writing to the store")
    con.execute(f"INSERT INTO {table.name} ({cols}) {insert_sql(table, native, clean)}")
    failpoint(f"after_insert:{table.name}")
    (rejected,) = con.execute("SELECT count(*) FROM validated").fetchall()[0]
    loaded = read - int(rejected)
    if loaded < read:
        kept = [c for c in wanted if c != "nhs_number"] + (
            ["person_id"] if "person_id" in table.column_names else []
        )
        row_json = (
            "json_object("
            + ", ".join(f"{_lit(c)}, s.{_q(c if c == 'person_id' else RAW + c)}" for c in kept)
            + ")"
        )
        con.execute(
            f"INSERT INTO rejects SELECT ?, ?, v._line, ?, v._reason, {row_json} "
            "FROM staging s JOIN validated v USING (_line)",
            [load_id, name, table.name],
        )
    con.execute("DROP TABLE validated")
    for i in range(len(looked_up)):
        con.execute(f"DROP TABLE {_values_table(i)}")
    con.execute("DROP VIEW staging")
    con.execute(f"DROP VIEW {TEXT_VIEW}")
    con.execute(
        "INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            datetime.now(UTC).replace(tzinfo=None),
            name,
            sha,
            table.name,
            src.source_format,
            read,
            loaded,
            read - loaded,
        ],
    )
    say(f"{name}: read {read:,}, loaded {loaded:,}, rejected {read - loaded:,}")
    return FileReport(
        name,
        table.name,
        read,
        loaded,
        read - loaded,
        load_id=load_id,
        ignored_columns=ignored,
    )


def _absent(table: Table, name: str) -> bool:
    return table.column(name).may_be_absent


def _staging_sql(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    key: bytes,
    columns: list[str],
    native: Collection[str] = (),
) -> tuple[str, str]:
    """SQL of the two views over the staged file.

    ``staging_text``: ``_line`` and each column's text as ``raw__<column>`` (an absent
    optional column as empty), with ``native__<column>`` beside it where the file gives
    one; it reads the file alone, so checks of a column's values alone scan no more.

    ``staging``: that, less the NHS number, with ``person_id`` and ``_nhs_invalid`` from
    the NHS number, and ``_adapter_reason`` (an adapter's, or the demo key's)."""
    present = set(columns)
    parts = ["s._line"]
    for col in table.columns:
        if col.name == "person_id":
            continue
        value = f"s.{_q(col.name)}" if col.name in present else "CAST(NULL AS VARCHAR)"
        parts.append(f"{value} AS {_q(RAW + col.name)}")
        if col.name in native:
            parts.append(f"s.{_q(NATIVE + col.name)}")
    adapter = f"s.{_q(ADAPTER_REASON)}" if ADAPTER_REASON in present else "CAST(NULL AS VARCHAR)"
    parts.append(f"{adapter} AS {ADAPTER_REASON}")
    if "person_id" not in table.column_names:
        text = f"SELECT {', '.join(parts)} FROM {STAGED} s"
        return text, f"SELECT *, FALSE AS _nhs_invalid FROM {TEXT_VIEW}"
    text = f"SELECT {', '.join(parts)}, s.nhs_number AS {_NHS} FROM {STAGED} s"
    _pseudonymise_staged(con, key)
    persons, life = _PSEUDONYMS, ""
    if table.name == "activity":
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_PERSONS} AS {_LIFE.format(pseudonyms=_PSEUDONYMS)}"
        )
        persons, life = _PERSONS, ", p._life_person, p._life_death, p._life_birth"
    demo = "coalesce(p.not_synthetic, FALSE)" if key == DEMO_KEY else "FALSE"
    person = [
        "p.person_id",
        "coalesce(p.invalid, TRUE) AS _nhs_invalid",
        f"CASE WHEN s.{ADAPTER_REASON} IS NULL AND {demo} THEN {_lit(DEMO_KEY_REASON)} "
        f"ELSE s.{ADAPTER_REASON} END AS {ADAPTER_REASON}",
    ]
    return text, (
        f"SELECT s.* EXCLUDE ({_NHS}, {ADAPTER_REASON}), {', '.join(person)}{life} "
        f"FROM {TEXT_VIEW} s LEFT JOIN {persons} p ON p.nhs_number = s.{_NHS}"
    )


_DIGITS = "replace(nhs_number, ' ', '')"
#: The modulus 11 check of :func:`commissioning.data.pseudonymise.nhs_number_valid`, in SQL.
_MODULUS_11 = (
    f"regexp_full_match({_DIGITS}, '[0-9]{{10}}') AND (11 - ("
    + " + ".join(f"{11 - i} * TRY_CAST(substr({_DIGITS}, {i}, 1) AS INTEGER)" for i in range(1, 10))
    + f") % 11) % 11 = TRY_CAST(substr({_DIGITS}, 10, 1) AS INTEGER)"
)


def _pseudonymise_staged(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Add each distinct NHS number of the staged file not yet seen in this load to the
    temporary table ``_load_pseudonyms``: its pseudonym (null if it fails the modulus 11
    check), whether it is invalid (a placeholder, one digit repeated, counts as invalid)
    and whether it is outside the synthetic range (does not begin with 9). The checks and
    the keyed hash run in SQL (:func:`~commissioning.data.pseudonymise.pseudonym_sql`),
    once a number. The table lives only while the load runs."""
    con.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {_PSEUDONYMS} (nhs_number VARCHAR, "
        "person_id VARCHAR, invalid BOOLEAN, not_synthetic BOOLEAN)"
    )
    con.execute(
        f"INSERT INTO {_PSEUDONYMS} SELECT nhs_number, "
        f"CASE WHEN modulus_ok THEN {pseudonym_sql('digits')} END, "
        "NOT modulus_ok OR placeholder, not_synthetic FROM ("
        f"SELECT nhs_number, {_DIGITS} AS digits, coalesce({_MODULUS_11}, FALSE) AS modulus_ok, "
        f"{_DIGITS} = repeat(substr({_DIGITS}, 1, 1), 10) AS placeholder, "
        "NOT starts_with(trim(nhs_number), '9') AS not_synthetic "
        f"FROM (SELECT DISTINCT s.nhs_number FROM {STAGED} s WHERE s.nhs_number IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM {_PSEUDONYMS} p WHERE p.nhs_number = s.nhs_number)))",
        hmac_pads(key),
    )


def _ignored_columns(columns: list[str], table: Table) -> tuple[str, ...]:
    """Names of the file's columns that are not in the table, fit to print."""
    wanted = {("nhs_number" if c == "person_id" else c) for c in table.column_names}
    return tuple(
        clean(name) if name.strip() else "(a column with no name)"
        for name in columns
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


def _check_control_totals(
    con: duckdb.DuckDBPyConnection,
    file_name: str,
    rows: int,
    staged: Staged,
    control: dict[str, int | Decimal],
) -> None:
    """The rows read and the sums over the staged file must be the manifest's control
    totals."""
    for name, want in control.items():
        if name == "rows":
            got: int | Decimal = rows
        else:
            column = name.removeprefix("sum_")
            if column not in staged.columns:
                raise LoadError(
                    f"{file_name}: manifest.json gives the control total {name}, but the "
                    f"file has no column {column} — nothing was loaded"
                )
            got = _control_sum_sql(con, column, staged.native.get(column))
        if got != want:
            raise LoadError(
                f"{file_name}: control total {name} does not match — manifest.json says "
                f"{want:,}, the file gives {got:,}; the file is not the one its sender "
                "totalled: get it (or the manifest) again; nothing was loaded"
            )


def _control_sum_sql(
    con: duckdb.DuckDBPyConnection, column: str, native: str | None = None
) -> Decimal:
    """:func:`control_sum` of a staged column, in DuckDB: exact, as a ``DECIMAL`` wide
    enough for every value's places (or, for values too long for that, each distinct
    value added up in Python). A Parquet float column whose values all have at most two
    decimal places is added up from the numbers, without writing them as text."""
    if native == "double":
        value = _q(NATIVE + column)
        # A float within 2 places (and below 10^13) is its own rounding to 2 places, and
        # then its text is that decimal: the sum of the roundings is the text's sum.
        awkward, total = con.execute(
            f"SELECT count(*) FILTER (WHERE isfinite({value}) AND (abs({value}) >= 1e13 "
            f"OR round({value}, 2) <> {value})), "
            f"CAST(coalesce(sum(CASE WHEN isfinite({value}) AND abs({value}) < 1e13 "
            f"THEN CAST(round({value}, 2) AS DECIMAL(38, 2)) END), 0) AS VARCHAR) FROM {STAGED}"
        ).fetchone() or (1, "0")
        if awkward == 0:
            return Decimal(str(total))
    numbers = (
        f"(SELECT trim({_q(column)}) AS v FROM {STAGED} "
        f"WHERE regexp_matches(trim({_q(column)}), {_lit(_PLAIN_DECIMAL)})) n"
    )
    shape = con.execute(
        "SELECT coalesce(max(length(split_part(v, '.', 2))), 0), "
        f"coalesce(max(length(split_part(ltrim(v, '+-'), '.', 1))), 0) FROM {numbers}"
    ).fetchone()
    places, digits = (int(v) for v in shape) if shape else (0, 0)
    if places + digits <= 24:  # the sum of up to 10^12 values fits in DECIMAL(38, places)
        (total,) = con.execute(
            f"SELECT CAST(coalesce(sum(CAST(v AS DECIMAL(38, {places}))), 0) AS VARCHAR) "
            f"FROM {numbers}"
        ).fetchone() or ("0",)
        return Decimal(str(total))
    total_exact = Decimal(0)
    for value, count in con.execute(f"SELECT v, count(*) FROM {numbers} GROUP BY v").fetchall():
        total_exact += Decimal(value) * count
    return total_exact


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
