"""Accounts: Argon2id hashes, lock-out after repeated failures, sessions that expire, system
tokens, and migrations applied once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commissioning.access.accounts import (
    LOCK_MINUTES,
    MAX_FAILED,
    SESSION_IDLE_MINUTES,
    AccessError,
    Accounts,
    SignInError,
    log_csv,
    token_hash,
)
from commissioning.store.migrate import head, revision_of, upgrade
from commissioning.store.records import RecordStoreError, open_records

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(clock: Clock) -> Accounts:
    acc = Accounts(open_records("duckdb:///:memory:"), clock)
    acc.add_organisation("icb", "An ICB", "icb", "setup", ["AAA"])
    acc.add_organisation("prov", "A provider", "provider", "setup")
    acc.add_user("ann", "Ann", "icb", "analyst", "setup", password=PASSWORD)
    return acc


def test_passwords_are_stored_as_argon2id_hashes_only(accounts: Accounts) -> None:
    row = accounts.store.one("SELECT password_hash FROM users WHERE username = 'ann'")
    assert row is not None and str(row[0]).startswith("$argon2id$")
    assert PASSWORD not in str(row[0])
    assert accounts.authenticate("ann", PASSWORD).username == "ann"


def test_a_wrong_name_and_a_wrong_password_get_the_same_answer(accounts: Accounts) -> None:
    with pytest.raises(SignInError) as no_user:
        accounts.authenticate("nobody", PASSWORD)
    with pytest.raises(SignInError) as wrong:
        accounts.authenticate("ann", "wrong password!!")
    assert str(no_user.value) == str(wrong.value)


def test_lock_out_after_repeated_failures_then_release(accounts: Accounts, clock: Clock) -> None:
    for _ in range(MAX_FAILED):
        with pytest.raises(SignInError):
            accounts.authenticate("ann", "wrong password!!")
    with pytest.raises(SignInError):  # locked: the right password is refused too
        accounts.authenticate("ann", PASSWORD)
    clock.now += timedelta(minutes=LOCK_MINUTES - 1)
    with pytest.raises(SignInError):
        accounts.authenticate("ann", PASSWORD)
    clock.now += timedelta(minutes=2)
    assert accounts.authenticate("ann", PASSWORD).username == "ann"


def test_fewer_failures_than_the_limit_do_not_lock_and_a_success_resets(
    accounts: Accounts,
) -> None:
    for _ in range(MAX_FAILED - 1):
        with pytest.raises(SignInError):
            accounts.authenticate("ann", "wrong password!!")
    accounts.authenticate("ann", PASSWORD)
    for _ in range(MAX_FAILED - 1):
        with pytest.raises(SignInError):
            accounts.authenticate("ann", "wrong password!!")
    assert accounts.authenticate("ann", PASSWORD).username == "ann"


def test_sessions_end_when_idle_and_only_their_hash_is_kept(
    accounts: Accounts, clock: Clock
) -> None:
    who = accounts.authenticate("ann", PASSWORD)
    token, csrf = accounts.start_session(who.user_id)
    assert accounts.store.one("SELECT 1 FROM web_sessions WHERE token_hash = ?", [token]) is None
    assert accounts.store.one(
        "SELECT 1 FROM web_sessions WHERE token_hash = ?", [token_hash(token)]
    )
    found = accounts.session(token)
    assert found is not None and found[1] == csrf
    clock.now += timedelta(minutes=SESSION_IDLE_MINUTES + 1)
    assert accounts.session(token) is None
    assert accounts.session("not a token") is None


def test_switching_an_account_off_ends_its_sessions_and_tokens(accounts: Accounts) -> None:
    who = accounts.authenticate("ann", PASSWORD)
    token, _ = accounts.start_session(who.user_id)
    system = accounts.issue_token(who.user_id, "nightly extract")
    assert accounts.token_principal(system) is not None
    accounts.set_active(who.user_id, False)
    assert accounts.session(token) is None
    assert accounts.token_principal(system) is None
    with pytest.raises(SignInError):
        accounts.authenticate("ann", PASSWORD)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bob", "Bob", "prov", "analyst"), "kind 'provider' has no 'analyst'"),
        (("bob", "Bob", "icb", "provider"), "kind 'icb' has no 'provider'"),
        (("bob", "Bob", "icb", "wizard"), "unknown role 'wizard'"),
        (("Bob Smith", "Bob", "icb", "analyst"), "not a user name"),
        (("bob", "Bob", "nowhere", "analyst"), "no organisation 'nowhere'"),
        (("ann", "Someone", "icb", "analyst"), "user name 'ann' exists"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(
    accounts: Accounts, args: tuple[str, str, str, str], message: str
) -> None:
    with pytest.raises(AccessError, match=message):
        accounts.add_user(*args, "setup", password=PASSWORD)


def test_a_short_password_is_refused(accounts: Accounts) -> None:
    with pytest.raises(AccessError, match="at least 12"):
        accounts.add_user("bob", "Bob", "icb", "analyst", "setup", password="short")


def test_migrations_apply_once_and_a_newer_store_is_refused() -> None:
    store = open_records("duckdb:///:memory:")
    assert revision_of(store) is None
    assert upgrade(store) is None  # from nothing to the newest revision
    assert revision_of(store) == head()
    assert upgrade(store) == head()  # nothing to do
    tables = {r[0] for r in store.query("SELECT table_name FROM information_schema.tables")}
    assert {"users", "access_log", "contract_versions", "settlement_runs"} <= tables
    store.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(RecordStoreError, match="made by a newer version"):
        upgrade(store)


@pytest.mark.postgres
def test_migrations_run_on_postgresql(postgres_dsn: str) -> None:
    import uuid

    import psycopg

    name = "m" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    store = open_records(postgres_dsn.rsplit("/", 1)[0] + "/" + name)
    assert upgrade(store) is None and revision_of(store) == head()
    assert upgrade(store) == head()
    accounts = Accounts(store)
    accounts.add_organisation("icb", "An ICB", "icb", "setup")
    assert accounts.organisation("icb") is not None


def test_the_access_log_exported_as_csv_cannot_run_as_a_formula(accounts: Accounts) -> None:
    accounts.log(None, "POST", "/sign-in", "sign_in_failed", 401, username="=HYPERLINK(1)")
    who = accounts.authenticate("ann", PASSWORD)
    accounts.log(who, "GET", "/x", "page", 200, detail="+cmd|' /C calc'!A0")
    text = log_csv(accounts.search_log("icb") + accounts.search_log("", username="=HYPERLINK(1)"))
    assert "'+cmd" in text and "'=HYPERLINK(1)" in text
    assert ",=HYPERLINK" not in text and ",+cmd" not in text


def test_a_store_dropped_without_closing_is_written_back_after_a_migration(
    tmp_path: Path,
) -> None:
    """The command line drops its store rather than closing it; the migration must not
    keep the database open, or DuckDB leaves the changes in its write-ahead log and a copy
    of the file alone lacks them."""
    import gc

    import duckdb

    path = tmp_path / "records.duckdb"

    def work() -> None:
        store = open_records(path)
        upgrade(store)
        store.execute("INSERT INTO organisations VALUES ('icb', 'An ICB', 'icb', '', 'x', 'y')")

    work()
    gc.collect()
    assert not Path(f"{path}.wal").exists()
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT count(*) FROM organisations").fetchone() == (1,)
