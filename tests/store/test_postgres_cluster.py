"""The temporary PostgreSQL server: a real server, started and removed by our own code."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import psycopg
import pytest

from commissioning.store import postgres_cluster
from commissioning.store.postgres_cluster import (
    PostgresNotFoundError,
    TemporaryPostgres,
    find_postgres_bin,
)

# Registers the session fixture `postgres_dsn` (tests/postgres_fixture.py). Harmless, and
# removable, once tests/conftest.py has the same line.
pytest_plugins = ["postgres_fixture"]

pytestmark = pytest.mark.postgres


def _refused(dsn: str) -> bool:
    try:
        psycopg.connect(dsn, connect_timeout=2).close()
    except psycopg.OperationalError:
        return True
    return False


def test_a_round_trip_then_nothing_left() -> None:
    with TemporaryPostgres() as server:
        folder, port, dsn = server.folder, server.port, server.dsn
        assert dsn == f"postgresql://commissioning@127.0.0.1:{port}/commissioning"
        with psycopg.connect(dsn) as conn:
            (version,) = conn.execute("SELECT version()").fetchone() or ("",)
            assert version.startswith("PostgreSQL ")
            conn.execute("CREATE TABLE practice (code text PRIMARY KEY, list_size integer)")
            conn.execute("INSERT INTO practice VALUES (%s, %s)", ("A81001", 5_321))
            conn.commit()
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT code, list_size FROM practice").fetchall() == [
                ("A81001", 5_321)
            ]
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
            assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
    assert not server.running
    assert not folder.exists()
    assert _refused(dsn)
    server.stop()  # stopping twice is harmless


def test_the_session_fixture_gives_an_empty_database(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT current_database(), current_user").fetchone() == (
            "commissioning",
            "commissioning",
        )


def test_two_at_once_have_their_own_ports_and_folders() -> None:
    servers = [TemporaryPostgres(), TemporaryPostgres()]
    errors: list[BaseException] = []

    def start(server: TemporaryPostgres) -> None:
        try:
            server.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors, errors
        assert servers[0].port != servers[1].port
        assert servers[0].folder != servers[1].folder
        for server in servers:
            with psycopg.connect(server.dsn) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        for server in servers:
            server.stop()


def test_a_taken_port_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1]])
        free = postgres_cluster._free_port
        monkeypatch.setattr(postgres_cluster, "_free_port", lambda: next(ports, None) or free())
        with TemporaryPostgres() as server:
            assert server.port != taken.getsockname()[1]
            with psycopg.connect(server.dsn) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)


def test_missing_binaries_say_how_to_install_them(tmp_path: Path) -> None:
    with pytest.raises(PostgresNotFoundError, match="apt-get install postgresql"):
        find_postgres_bin(tmp_path)
    with pytest.raises(PostgresNotFoundError, match="apt-get install postgresql"):
        TemporaryPostgres(bin_dir=tmp_path)
