"""The system of record: one small interface over DuckDB (one user) and PostgreSQL (many).

The contract register, measurements, settlement runs, disputes and the ledger are records
that several people change over time, unlike the analytical store that a load replaces.
They live behind :class:`RecordStore`, named by an address:

* ``duckdb:///path/to/file.duckdb`` or a plain path — one user on one machine (the
  default: the same file as the analytical store);
* ``duckdb:///:memory:`` — tests;
* ``postgresql://user@host:port/database`` — many users and processes at once.

Statements are written once, in the SQL both engines share, with ``?`` placeholders (the
PostgreSQL adapter turns them into ``%s``). Every service call runs in one transaction
(:meth:`RecordStore.transaction`): all of it is stored or none of it.

Gapless numbering: the ledger's sequence numbers come from a counter row that each posting
transaction locks (``SELECT ... FOR UPDATE`` on PostgreSQL; DuckDB has one writer per file
and refuses a conflicting concurrent update). A plain database sequence is not gapless — a
transaction that rolls back after ``nextval`` loses its number — so it is used only for ids
where a gap is harmless (run and dispute numbers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

Dialect = Literal["duckdb", "postgresql"]


class RecordStoreError(RuntimeError):
    """The record store cannot be opened or used; the message says what to do."""


class RecordStore:
    """A connection to the record store with one transaction at a time.

    Use :func:`open_records` to make one. ``execute`` and ``query`` run inside the current
    transaction if one is open, else each in its own.
    """

    dialect: Dialect

    def __init__(self, conn: Any, dialect: Dialect, address: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.address = address
        self._depth = 0
        self._lock = threading.RLock()
        self._after_commit: list[Callable[[], None]] = []

    # -- SQL ---------------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        with self._lock:
            if self.dialect == "postgresql":
                with self.conn.cursor() as cur:
                    cur.execute(self._sql(sql), list(params))
                if self._depth == 0:
                    self.conn.commit()
            else:
                self.conn.execute(sql, list(params)).fetchall()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query and return every row (read to the end)."""
        with self._lock:
            if self.dialect == "postgresql":
                with self.conn.cursor() as cur:
                    cur.execute(self._sql(sql), list(params))
                    rows = cur.fetchall()
                if self._depth == 0:
                    self.conn.commit()
                return [tuple(r) for r in rows]
            return [tuple(r) for r in self.conn.execute(sql, list(params)).fetchall()]

    def query_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a query and return every row as a mapping of column name to value."""
        with self._lock:
            if self.dialect == "postgresql":
                with self.conn.cursor() as cur:
                    cur.execute(self._sql(sql), list(params))
                    names = [d.name for d in cur.description]
                    rows = cur.fetchall()
                if self._depth == 0:
                    self.conn.commit()
            else:
                result = self.conn.execute(sql, list(params))
                names = [d[0] for d in result.description]
                rows = result.fetchall()
        return [dict(zip(names, r, strict=True)) for r in rows]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or ``None``."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def next_id(self, sequence: str) -> int:
        """The next value of a database sequence (ids where a gap is harmless)."""
        row = self.one(f"SELECT nextval('{sequence}')")
        assert row is not None
        return int(row[0])

    def for_update(self) -> str:
        """The row-lock clause of this engine (empty for DuckDB, which has one writer)."""
        return " FOR UPDATE" if self.dialect == "postgresql" else ""

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the current transaction commits (now, if none is open)."""
        if self._depth == 0:
            action()
        else:
            self._after_commit.append(action)

    @contextmanager
    def transaction(self) -> Iterator[RecordStore]:
        """One all-or-nothing transaction; nested calls join the outer one."""
        with self._lock:
            if self._depth > 0:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            if self.dialect == "duckdb":
                self.conn.execute("BEGIN TRANSACTION")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._after_commit.clear()
                self.conn.rollback() if self.dialect == "postgresql" else self.conn.execute(
                    "ROLLBACK"
                )
                raise
            self._depth = 0
            if self.dialect == "postgresql":
                self.conn.commit()
            else:
                self.conn.execute("COMMIT")
            actions, self._after_commit = self._after_commit, []
            for action in actions:
                action()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def open_records(address: str | Path) -> RecordStore:
    """Open the record store at ``address`` (see the module docstring)."""
    text = str(address)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RecordStoreError(
                "PostgreSQL needs the psycopg package — pip install 'commissioning[postgres]'"
            ) from exc
        try:
            conn = psycopg.connect(text)
        except psycopg.Error as exc:
            raise RecordStoreError(f"cannot connect to {text}: {exc}") from exc
        return RecordStore(conn, "postgresql", text)
    import duckdb

    path = text.removeprefix("duckdb://")
    if path.startswith("/:memory:"):
        path = ":memory:"
    try:
        return RecordStore(duckdb.connect(path or ":memory:"), "duckdb", text)
    except duckdb.Error as exc:
        raise RecordStoreError(f"cannot open {path}: {exc}") from exc


def wrap_duckdb(conn: Any) -> RecordStore:
    """A record store over an open DuckDB connection (e.g. the analytical store's)."""
    return RecordStore(conn, "duckdb", "duckdb://(connection)")
