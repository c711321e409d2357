"""A pytest plugin: one temporary PostgreSQL server for the whole test session.

Register it once, in tests/conftest.py: ``pytest_plugins = ["postgres_fixture"]``. Then any
test can ask for ``postgres_dsn``, a libpq URL (superuser, no password) of an empty database
on a server that this session started itself, and stops and deletes at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from commissioning.store.postgres_cluster import (
    PostgresNotFoundError,
    PostgresStartError,
    TemporaryPostgres,
)


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of a PostgreSQL database on a server of this test session's own."""
    try:
        server = TemporaryPostgres().start()
    except (PostgresNotFoundError, PostgresStartError) as exc:
        pytest.fail(f"a temporary PostgreSQL server could not start: {exc}", pytrace=False)
    try:
        yield server.dsn
    finally:
        server.stop()
