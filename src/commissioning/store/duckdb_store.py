"""The embedded store: one DuckDB file holding the canonical tables (C4).

The store keeps, beside the canonical tables of :mod:`commissioning.core.schema`:

* ``loads``: one row per file loaded (its SHA-256, rows read, loaded, rejected),
  which makes loads idempotent;
* ``rejects``: every row that failed validation, with file, line and reason (raw
  identifiers are never kept: an NHS number is replaced by its pseudonym);
* ``store_info``: the fingerprint of the pseudonymisation key the store was built
  with, so data pseudonymised with another key cannot be mixed in.

Analytical code never talks SQL to this file directly: it takes Ibis tables from
:func:`ibis_tables`, so the same code runs on Spark or a warehouse.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir

from commissioning.core.schema import TABLES, create_table_sql

STORE_TABLES_SQL = (
    """CREATE TABLE IF NOT EXISTS store_info (
  key VARCHAR PRIMARY KEY,
  value VARCHAR NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS loads (
  load_id VARCHAR PRIMARY KEY,
  loaded_at TIMESTAMP NOT NULL,
  file_name VARCHAR NOT NULL,
  file_sha256 VARCHAR NOT NULL,
  table_name VARCHAR NOT NULL,
  source_format VARCHAR NOT NULL,
  rows_read BIGINT NOT NULL,
  rows_loaded BIGINT NOT NULL,
  rows_rejected BIGINT NOT NULL,
  UNIQUE (file_sha256, table_name)
)""",
    """CREATE TABLE IF NOT EXISTS rejects (
  load_id VARCHAR NOT NULL,
  file_name VARCHAR NOT NULL,
  line BIGINT NOT NULL,
  table_name VARCHAR NOT NULL,
  reason VARCHAR NOT NULL,
  row_json VARCHAR NOT NULL,
  PRIMARY KEY (load_id, line)
)""",
)


def connect(path: Path | str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if need be) a store and make sure every table exists."""
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    con = duckdb.connect(str(path))
    ensure_tables(con)
    return con


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the store's tables on an open connection if they are not there yet."""
    for sql in STORE_TABLES_SQL:
        con.execute(sql)
    for table in TABLES.values():
        con.execute(create_table_sql(table))


def ibis_tables(con: duckdb.DuckDBPyConnection) -> dict[str, ir.Table]:
    """Ibis tables over the canonical tables of an open store."""
    backend = ibis.duckdb.from_connection(con)
    return {name: backend.table(name) for name in TABLES}


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows in each canonical table and in the rejects table."""
    out = {}
    for name in [*TABLES, "rejects", "loads"]:
        row = con.execute(f"SELECT count(*) FROM {name}").fetchone()
        out[name] = int(row[0]) if row else 0
    return out


def get_info(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM store_info WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])
