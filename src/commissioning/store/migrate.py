"""The record store's schema, created and upgraded by Alembic migrations.

The migrations live in ``commissioning/store/migrations/versions``, one file a change,
each a list of statements in the SQL that DuckDB and PostgreSQL share; Alembic records the
store's revision in ``alembic_version``. :func:`upgrade` brings a store to the newest
revision in one transaction (the contract operations and the workbench call it when they
open a store); a store at a revision this program does not know — made by a newer
version — is refused, so an old program never writes to a store it does not understand.

A new migration: ``alembic -c src/commissioning/store/alembic.ini revision -m "what"``
(then write its statements), or copy the latest file and bump the revision.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from commissioning.store.records import RecordStore, RecordStoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DuckDBImpl(DefaultImpl):
    """Alembic's operations on DuckDB (transactional DDL, as PostgreSQL)."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def head() -> str:
    """The newest revision this program knows."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


def _engine(store: RecordStore) -> tuple[sa.Engine, Any]:
    """An engine on the same database as ``store`` (a second connection to it), and that
    connection, to close when done: nothing may hold the store's database open after the
    migration, or DuckDB would not write it back to its file when the store closes."""
    if store.dialect == "postgresql":
        import psycopg

        connection: Any = psycopg.connect(store.address)
        engine = sa.create_engine(
            "postgresql+psycopg://", creator=lambda: connection, poolclass=sa.NullPool
        )
        return engine, connection
    from duckdb_engine import ConnectionWrapper

    cursor = store.conn.cursor()
    engine = sa.create_engine(
        "duckdb://", creator=lambda: ConnectionWrapper(cursor), poolclass=sa.NullPool
    )
    return engine, cursor


def revision_of(store: RecordStore) -> str | None:
    """The store's revision (None before the first migration)."""
    try:
        row = store.one("SELECT version_num FROM alembic_version")
    except Exception:  # no such table yet
        if store.dialect == "postgresql":
            store.conn.rollback()
        return None
    return None if row is None else str(row[0])


def upgrade(store: RecordStore) -> str | None:
    """Bring the store to the newest revision; returns the revision it was at before."""
    before = revision_of(store)
    if before == head():
        return before
    known = {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}
    if before is not None and before not in known:
        raise RecordStoreError(
            f"the record store is at schema revision {before}, which this program does not "
            f"know (its newest is {head()}) — it was made by a newer version; upgrade "
            "commissioning"
        )
    config = _config()
    engine, raw = _engine(store)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as exc:
        raise RecordStoreError(f"the record store could not be upgraded: {exc}") from exc
    finally:
        config.attributes.clear()
        engine.dispose()
        raw.close()
    return before
