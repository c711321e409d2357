"""The store's address: one way to name where the canonical tables are, and one function
that opens them as Ibis tables, whatever engine holds them.

* ``commissioning.duckdb`` or any plain path: a DuckDB file (the default);
* ``duckdb:///path/to/file.duckdb`` (three slashes and an absolute path, or
  ``duckdb://relative.duckdb``): the same, written as a URL;
* ``postgresql://user:password@host:port/database`` (or ``postgres://``): a PostgreSQL
  database whose tables have the canonical names and columns
  (:mod:`commissioning.core.schema`). Analyses read it through Ibis; loads go into a
  DuckDB file (the loader checks and writes with DuckDB), so a PostgreSQL store is read
  only here.

Analyses take the tables this module opens and build Ibis expressions, so the same code
runs on every engine the address can name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from commissioning.core.schema import TABLES
from commissioning.store.duckdb_store import connect, ibis_tables

Engine = Literal["duckdb", "postgresql"]


class StoreAddressError(ValueError):
    """An address that names no store this package can open; the message says why."""


@dataclass(frozen=True)
class StoreAddress:
    """A parsed store address: the engine and what it needs to connect."""

    engine: Engine
    text: str
    path: Path | None = None  # DuckDB: the file

    def __str__(self) -> str:
        return self.text


def parse_store_address(address: str | Path) -> StoreAddress:
    """Read an address (see the module docstring); a plain path is a DuckDB file."""
    if isinstance(address, Path):
        return StoreAddress("duckdb", str(address), address)
    text = address.strip()
    if text.startswith(("postgresql://", "postgres://")):
        return StoreAddress("postgresql", text)
    if text.startswith("duckdb://"):
        rest = text.removeprefix("duckdb://")
        if not rest or rest in ("/:memory:", ":memory:"):
            raise StoreAddressError(f"{text}: name a DuckDB file, e.g. duckdb:///data/s.duckdb")
        return StoreAddress("duckdb", text, Path(rest))
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreAddressError(
            f"{text}: unknown kind of store {scheme!r}; give a DuckDB file "
            "(path or duckdb:///path) or postgresql://user@host/database"
        )
    return StoreAddress("duckdb", text, Path(text))


@dataclass
class OpenStore:
    """The canonical tables at an address, and the DuckDB connection when there is one
    (``None`` for PostgreSQL)."""

    address: StoreAddress
    tables: dict[str, ir.Table]
    connection: Any = None


def open_store_tables(address: str | Path, *, read_only: bool = False) -> OpenStore:
    """The canonical tables at ``address`` as Ibis tables.

    A DuckDB file is made with every table if it does not exist (unless ``read_only``,
    when it must exist). A PostgreSQL database must hold every canonical table: a missing
    one is named, with how to copy them there.
    """
    where = parse_store_address(address)
    if where.engine == "duckdb":
        assert where.path is not None
        if read_only and not where.path.exists():
            raise FileNotFoundError(f"{where.path}: no store here yet; load data first")
        con = connect(where.path, read_only=read_only)
        return OpenStore(where, ibis_tables(con), con)
    return OpenStore(where, _postgres_tables(where))


def _postgres(url: str) -> Any:
    """Ibis's PostgreSQL backend connected to ``url`` (see :mod:`.postgres_engine`)."""
    try:
        from commissioning.store.postgres_engine import connect_postgres
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise StoreAddressError(
            "PostgreSQL needs the psycopg package — pip install 'commissioning[postgres]'"
        ) from exc
    return connect_postgres(url)


def _postgres_tables(where: StoreAddress) -> dict[str, ir.Table]:
    try:
        backend = _postgres(where.text)
    except StoreAddressError:
        raise
    except Exception as exc:  # the driver's own errors: bad host, password, database
        raise StoreAddressError(f"cannot connect to {_safe(where.text)}: {exc}") from exc
    present = set(backend.list_tables())
    missing = [name for name in TABLES if name not in present]
    if missing:
        raise StoreAddressError(
            f"{_safe(where.text)} has no table {', '.join(missing)}: copy the canonical "
            "tables there first (commissioning.store.address.copy_tables)"
        )
    return {name: backend.table(name) for name in TABLES}


def _safe(url: str) -> str:
    """The address without its password, for messages."""
    head, sep, tail = url.partition("://")
    if "@" in tail:
        user, _, host = tail.rpartition("@")
        tail = f"{user.split(':', 1)[0]}@{host}"
    return f"{head}{sep}{tail}"


def copy_tables(source: dict[str, ir.Table], target: str | Path) -> None:
    """Copy canonical tables (from any engine) into the store at ``target``, replacing
    tables of the same name: for example a DuckDB store's into PostgreSQL for many
    readers. The rows are copied as they are — pseudonymised, checked — with their types.
    """
    where = parse_store_address(target)
    if where.engine == "duckdb":
        backend: Any = ibis.duckdb.connect(str(where.path))
    else:
        backend = _postgres(where.text)
    present = set(backend.list_tables())
    for name in TABLES:
        if name in present:  # dropped first: ibis's overwrite=True fails on PostgreSQL
            backend.drop_table(name)
        backend.create_table(name, source[name].to_pyarrow())
