"""Reading input files for the loader: every value as text, each row with its line.

The loader reads a file inside DuckDB, streamed, so a file far larger than memory can
be loaded: :func:`stage_file` makes a temporary view ``_load_input`` with ``_line`` (the
line of the file, header = 1) and every column of the file as text (``VARCHAR``).

* Parquet: ``read_parquet``; each column is turned into text as Arrow writes it (a
  whole number stored as a float, ``12.0``, is ``12``), and the file's schema is read
  first so that a nested column or bytes that are not text stop the load with a reason.
* CSV: ``read_csv`` with every column as ``VARCHAR``, so a bad value is rejected with a
  reason by the checks rather than failing the read. If DuckDB cannot read the file, it
  is read again with Arrow (:func:`read_as_text`) to say exactly what is wrong (the line
  of a ragged row, text that is not UTF-8), or to load it if Arrow can.
* Rows already read by an adapter (an Arrow table, :func:`stage_arrow`).

:func:`read_as_text` is the Arrow reader, kept for the adapters of :mod:`hes`.
"""

from __future__ import annotations

import csv
import gzip
import re
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

#: The staged rows of the file being loaded: ``_line`` and the file's columns as text.
STAGED = "_load_input"
#: Prefix of a Parquet column's own typed value beside its text (see :func:`native_types`).
NATIVE = "native__"
_CSV_ROWS = "_load_csv_rows"
_ARROW_ROWS = "_load_arrow_rows"


class LoadError(Exception):
    """A file cannot be loaded at all (the message says why and what to do)."""


#: Runs of digits as long as an identifier (an NHS number has ten): never echoed.
_IDENTIFIER_LIKE = re.compile(r"\d{6,}")


def clean(message: str) -> str:
    """An error from a file reader, cut to its first line with no identifier in it."""
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    return _IDENTIFIER_LIKE.sub("…", first)[:300]


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def check_path(path: Path) -> None:
    """A missing file or a folder stops the load with a plain message."""
    if path.is_dir():
        raise LoadError(f"{path.name}: is a folder, not a file — give the files in it")
    if not path.is_file():
        raise LoadError(f"{path}: no such file")


def _kind(path: Path) -> str:
    suffix = "".join(path.suffixes).lower()
    if suffix.endswith(".parquet"):
        return "parquet"
    if suffix.endswith(".csv") or suffix.endswith(".csv.gz"):
        return "csv"
    raise LoadError(f"{path.name}: unknown file type; give a .csv or .parquet file")


# --- streamed, in DuckDB -----------------------------------------------------------------


def stage_file(con: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    """Make the view ``_load_input`` over a CSV or Parquet file; return its columns."""
    check_path(path)
    if _kind(path) == "parquet":
        return _stage_parquet(con, path)
    return _stage_csv(con, path)


def stage_arrow(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> Staged:
    """Make the view ``_load_input`` over rows an adapter has read (all text)."""
    numbered = rows.append_column("_line", pa.array(range(2, rows.num_rows + 2), pa.int64()))
    con.register(_ARROW_ROWS, numbered)
    names = ", ".join(q(c) for c in rows.column_names)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {STAGED} AS SELECT _line, {names} FROM {_ARROW_ROWS}")
    return Staged(list(rows.column_names))


def drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Remove what :func:`stage_file` or :func:`stage_arrow` made."""
    with suppress(duckdb.Error):  # after a failure, the transaction took them with it
        con.execute(f"DROP VIEW IF EXISTS {STAGED}")
        con.execute(f"DROP TABLE IF EXISTS {_CSV_ROWS}")
    with suppress(duckdb.Error):  # nothing registered
        con.unregister(_ARROW_ROWS)


def _unreadable_parquet(path: Path, exc: Exception) -> LoadError:
    reason = clean(str(exc).replace(str(path), path.name))
    return LoadError(
        f"{path.name}: not a readable Parquet file ({reason}) — it may be cut short or "
        "not Parquet at all; write it again; nothing was loaded"
    )


def _parquet_schema(path: Path) -> pa.Schema:
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable_parquet(path, exc) from None


def _as_text(name: str, kind: pa.DataType) -> str:
    """SQL turning a Parquet column into text as Arrow writes it."""
    col = q(name)
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return col
    if pa.types.is_floating(kind):  # 12.0 is 12, as Arrow writes it
        return (
            f"CASE WHEN isfinite({col}) AND {col} = trunc({col}) AND abs({col}) < 1e15 "
            f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END"
        )
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return f"decode({col})"  # fails on bytes that are not UTF-8 (checked first)
    return f"CAST({col} AS VARCHAR)"


def _native(kind: pa.DataType) -> str | None:
    """The data model's type of a Parquet column's values, if the checks can take them
    as they are: whole numbers, 64-bit floats and dates."""
    if pa.types.is_integer(kind) and kind != pa.uint64():
        return "integer"
    if pa.types.is_float64(kind):
        return "double"
    if pa.types.is_date(kind):
        return "date"
    return None


_NATIVE_SQL = {"integer": "BIGINT", "double": "DOUBLE", "date": "DATE"}


@dataclass(frozen=True)
class Staged:
    """What :func:`stage_file` staged: the file's columns, in order, and those that also
    have their own typed value as ``native__<column>`` (column: data model type)."""

    columns: list[str]
    native: dict[str, str] = field(default_factory=dict)


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    """A Parquet file with every column as text. A file that is not Parquet (or is cut
    short), a nested column, or bytes that are not UTF-8 text stop the load."""
    schema = _parquet_schema(path)
    source = f"read_parquet({lit(str(path))}, file_row_number = true, binary_as_string = false)"
    for fld in schema:
        kind = fld.type.value_type if pa.types.is_dictionary(fld.type) else fld.type
        if pa.types.is_nested(kind):
            raise LoadError(
                f"{path.name}: column {clean(fld.name)} is nested ({fld.type}) — give one "
                "plain value (text, number or date) per cell; nothing was loaded"
            )
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            try:  # on a cursor: an error inside the load's transaction would end it
                with con.cursor() as probe:
                    probe.execute(f"SELECT count(decode({q(fld.name)})) FROM {source}").fetchone()
            except duckdb.Error:
                raise LoadError(
                    f"{path.name}: column {clean(fld.name)} ({fld.type}) cannot be read as "
                    "text (bytes that are not UTF-8?) — give text, numbers or dates; nothing "
                    "was loaded"
                ) from None
    exprs = [f"{_as_text(f.name, f.type)} AS {q(f.name)}" for f in schema]
    native = {f.name: kind for f in schema if (kind := _native(f.type)) is not None}
    exprs += [f"CAST({q(c)} AS {_NATIVE_SQL[k]}) AS {q(NATIVE + c)}" for c, k in native.items()]
    columns = ", ".join(exprs)
    try:  # on a cursor: an error inside the load's transaction would end it
        with con.cursor() as probe:
            probe.execute(f"SELECT count(*) FROM {source}").fetchone()
    except duckdb.Error as exc:
        raise LoadError(
            f"{path.name}: not a readable Parquet file ({clean(str(exc))}) — it may be cut "
            "short or not Parquet at all; write it again; nothing was loaded"
        ) from None
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {STAGED} AS "
        f"SELECT file_row_number + 2 AS _line, {columns} FROM {source}"
    )
    return Staged(list(schema.names), native)


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    """A CSV file with every column as text, read by DuckDB into a temporary table (its
    row numbers are the lines). If DuckDB cannot read it, Arrow says why."""
    header = csv_header(path)
    names = "[" + ", ".join(lit(n) for n in header) + "]"
    types = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in header) + "}"
    source = (
        f"read_csv({lit(str(path))}, delim = ',', quote = '\"', escape = '\"', header = true, "
        f"auto_detect = false, columns = {types}, names = {names}, "
        "strict_mode = true, null_padding = false, max_line_size = 33554432)"
    )
    try:  # first on a cursor: an error inside the load's transaction would end it
        with con.cursor() as probe:
            probe.execute(f"SELECT count(*) FROM {source}").fetchone()
    except duckdb.Error:
        # Arrow either names the problem (raising) or reads what DuckDB would not.
        return stage_arrow(con, _read_csv_arrow(path, header))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_CSV_ROWS} AS SELECT * FROM {source}")
    cols = ", ".join(q(n) for n in header)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {STAGED} AS SELECT rowid + 2 AS _line, {cols} "
        f"FROM {_CSV_ROWS}"
    )
    return Staged(header)


# --- with Arrow, for adapters and to say what is wrong with a CSV file ------------------


def read_as_text(path: Path) -> pa.Table:
    """Every column as text; nothing is interpreted yet (an Arrow table, in memory)."""
    check_path(path)
    if _kind(path) == "parquet":
        return _read_parquet_as_text(path)
    return _read_csv_arrow(path, csv_header(path))


def _read_parquet_as_text(path: Path) -> pa.Table:
    """A Parquet file with every column as text, in memory."""
    _parquet_schema(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable_parquet(path, exc) from None
    cols = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_nested(col.type):
            raise LoadError(
                f"{path.name}: column {clean(name)} is nested ({col.type}) — give one plain "
                "value (text, number or date) per cell; nothing was loaded"
            )
        try:
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            cols.append(col if pa.types.is_string(col.type) else pc.cast(col, pa.string()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise LoadError(
                f"{path.name}: column {clean(name)} ({col.type}) cannot be read as text "
                "(bytes that are not UTF-8?) — give text, numbers or dates; nothing was loaded"
            ) from None
    return pa.table(cols, names=table.column_names)


def _opener(path: Path) -> Any:
    return gzip.open if path.name.lower().endswith(".gz") else open


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header. UTF-16 text, a header that is not UTF-8
    or has control characters, one column separated by something other than commas, and
    a column named twice stop the load."""
    try:
        with _opener(path)(path, "rb") as raw_file:
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
        raise LoadError(f"{path.name}: not a readable CSV file ({clean(str(exc))})") from None
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
    duplicates = sorted({clean(c) for c in header if header.count(c) > 1})
    if duplicates:
        raise LoadError(
            f"{path.name}, line 1: the column(s) {', '.join(duplicates)} appear more than once "
            "in the header"
        )
    return header


def _read_csv_arrow(path: Path, header: list[str]) -> pa.Table:
    """A CSV file with every column as text, read by Arrow. A row with too many or too
    few fields or text that is not UTF-8 stops the load with the line (never the row's
    values: they may hold identifiers)."""
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
            number = number or _first_ragged_line(path, expected)
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
                f"{path.name}: some text is not UTF-8 ({clean(text)}) — save the file as "
                "UTF-8 and load it again; nothing was loaded"
            ) from None
        raise LoadError(f"{path.name}: not a readable CSV file ({clean(text)})") from None


def _first_ragged_line(path: Path, fields: int) -> int | None:
    """The line of the first row whose field count differs from the header's."""
    with _opener(path)(path, "rt", encoding="utf-8", newline="", errors="replace") as f:
        reader = csv.reader(f)
        try:
            for row in reader:
                if len(row) != fields:
                    return reader.line_num
        except csv.Error:  # a field longer than the csv module reads: no line to give
            return None
    return None
