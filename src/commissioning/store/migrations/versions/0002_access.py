"""Organisations, users, sessions, system tokens, contract parties held by organisations,
and the access log of the workbench.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATEMENTS = (
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
)


def upgrade() -> None:
    for sql in STATEMENTS:
        op.execute(sql)


def downgrade() -> None:
    for table in ("access_log", "party_orgs", "api_tokens", "web_sessions", "users"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP TABLE IF EXISTS organisations")
    for sequence in ("access_log_ids", "user_ids"):
        op.execute(f"DROP SEQUENCE IF EXISTS {sequence}")
