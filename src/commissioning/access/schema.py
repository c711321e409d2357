"""The tables of access control, created and upgraded by numbered migrations.

Each migration is a list of statements in the SQL that DuckDB and PostgreSQL share, applied
once, in order, in one transaction, and recorded in ``schema_migrations`` (number, name,
when). Opening an older record store applies what it lacks; opening a newer one than this
code knows is refused, so an old program never writes to a store it does not understand.
"""

from __future__ import annotations

from datetime import UTC, datetime

from commissioning.store.records import RecordStore, RecordStoreError

MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "organisations, users, sessions, system tokens, contract parties, access log",
        (
            """CREATE TABLE IF NOT EXISTS organisations (
  org_id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL,
  kind VARCHAR NOT NULL,
  places VARCHAR NOT NULL,
  created_by VARCHAR NOT NULL,
  created_at VARCHAR NOT NULL
)""",
            "CREATE SEQUENCE IF NOT EXISTS user_ids START 1",
            """CREATE TABLE IF NOT EXISTS users (
  user_id BIGINT PRIMARY KEY,
  username VARCHAR NOT NULL UNIQUE,
  display_name VARCHAR NOT NULL UNIQUE,
  org_id VARCHAR NOT NULL,
  role VARCHAR NOT NULL,
  password_hash VARCHAR,
  oidc_subject VARCHAR UNIQUE,
  active BOOLEAN NOT NULL,
  failed_attempts INTEGER NOT NULL,
  locked_until VARCHAR,
  created_by VARCHAR NOT NULL,
  created_at VARCHAR NOT NULL
)""",
            """CREATE TABLE IF NOT EXISTS web_sessions (
  token_hash VARCHAR PRIMARY KEY,
  user_id BIGINT NOT NULL,
  csrf_token VARCHAR NOT NULL,
  created_at VARCHAR NOT NULL,
  expires_at VARCHAR NOT NULL,
  last_seen VARCHAR NOT NULL
)""",
            """CREATE TABLE IF NOT EXISTS api_tokens (
  token_hash VARCHAR PRIMARY KEY,
  user_id BIGINT NOT NULL,
  name VARCHAR NOT NULL,
  created_at VARCHAR NOT NULL,
  revoked_at VARCHAR
)""",
            """CREATE TABLE IF NOT EXISTS party_orgs (
  contract_id VARCHAR NOT NULL,
  party_id VARCHAR NOT NULL,
  org_id VARCHAR NOT NULL,
  linked_by VARCHAR NOT NULL,
  linked_at VARCHAR NOT NULL,
  PRIMARY KEY (contract_id, party_id)
)""",
            "CREATE SEQUENCE IF NOT EXISTS access_log_ids START 1",
            """CREATE TABLE IF NOT EXISTS access_log (
  log_id BIGINT PRIMARY KEY,
  logged_at VARCHAR NOT NULL,
  username VARCHAR NOT NULL,
  org_id VARCHAR NOT NULL,
  role VARCHAR NOT NULL,
  method VARCHAR NOT NULL,
  path VARCHAR NOT NULL,
  category VARCHAR NOT NULL,
  status INTEGER NOT NULL,
  detail VARCHAR NOT NULL
)""",
        ),
    ),
)

LATEST = MIGRATIONS[-1][0]


def migrate(store: RecordStore) -> list[int]:
    """Apply the migrations the store lacks; return their numbers (empty if none)."""
    with store.transaction() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, "
            "name VARCHAR NOT NULL, applied_at VARCHAR NOT NULL)"
        )
        done = {int(r[0]) for r in tx.query("SELECT number FROM schema_migrations")}
        if done and max(done) > LATEST:
            raise RecordStoreError(
                f"the record store is at schema version {max(done)}, newer than this program "
                f"knows ({LATEST}) — upgrade commissioning"
            )
        applied = []
        for number, name, statements in MIGRATIONS:
            if number in done:
                continue
            for sql in statements:
                tx.execute(sql)
            tx.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [number, name, datetime.now(UTC).isoformat(timespec="seconds")],
            )
            applied.append(number)
    return applied
