"""The contract register, measured values, settlement runs, period closures, approvers,
disputes and the contract audit log, as the record store held them before migrations
(every statement is "if not exists", so a store made by an earlier version is adopted).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATEMENTS = (
    """CREATE TABLE IF NOT EXISTS contract_versions (
  content_hash VARCHAR PRIMARY KEY,
  contract_id VARCHAR NOT NULL,
  version VARCHAR NOT NULL,
  effective_from VARCHAR NOT NULL,
  file_text VARCHAR NOT NULL,
  file_sha256 VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  registered_by VARCHAR NOT NULL,
  registered_at VARCHAR NOT NULL,
  seal VARCHAR,
  UNIQUE (contract_id, version)
)""",
    """CREATE TABLE IF NOT EXISTS contract_signatures (
  content_hash VARCHAR NOT NULL,
  party_id VARCHAR NOT NULL,
  signed_by VARCHAR NOT NULL,
  signed_at VARCHAR NOT NULL,
  seal VARCHAR,
  PRIMARY KEY (content_hash, party_id)
)""",
    "CREATE SEQUENCE IF NOT EXISTS contract_event_ids START 1",
    """CREATE TABLE IF NOT EXISTS contract_events (
  event_id BIGINT PRIMARY KEY,
  event_at VARCHAR NOT NULL,
  actor VARCHAR NOT NULL,
  contract_id VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  detail VARCHAR NOT NULL,
  seal VARCHAR
)""",
    "CREATE SEQUENCE IF NOT EXISTS measurement_ids START 1",
    """CREATE TABLE IF NOT EXISTS measurements (
  measurement_id BIGINT PRIMARY KEY,
  contract_id VARCHAR NOT NULL,
  year INTEGER NOT NULL,
  quarter INTEGER NOT NULL,
  kind VARCHAR NOT NULL,
  key VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  basis VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  submitted_by VARCHAR NOT NULL,
  submitted_at VARCHAR NOT NULL,
  certified_by VARCHAR,
  certified_at VARCHAR,
  status VARCHAR NOT NULL,
  supersedes BIGINT,
  seal VARCHAR
)""",
    "CREATE SEQUENCE IF NOT EXISTS settlement_run_ids START 1",
    """CREATE TABLE IF NOT EXISTS settlement_runs (
  run_id BIGINT PRIMARY KEY,
  contract_id VARCHAR NOT NULL,
  year INTEGER NOT NULL,
  quarter INTEGER NOT NULL,
  status VARCHAR NOT NULL,
  lines_json VARCHAR NOT NULL,
  awaiting_json VARCHAR NOT NULL,
  inputs_digest VARCHAR NOT NULL,
  gross_pence BIGINT NOT NULL,
  prepared_by VARCHAR NOT NULL,
  prepared_at VARCHAR NOT NULL,
  reviewed_by VARCHAR,
  reviewed_at VARCHAR,
  approved_by VARCHAR,
  approved_at VARCHAR,
  posted_by VARCHAR,
  posted_at VARCHAR,
  seal VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS period_closures (
  contract_id VARCHAR NOT NULL,
  year INTEGER NOT NULL,
  quarter INTEGER NOT NULL,
  closed_by VARCHAR NOT NULL,
  closed_at VARCHAR NOT NULL,
  seal VARCHAR,
  PRIMARY KEY (contract_id, year, quarter)
)""",
    """CREATE TABLE IF NOT EXISTS approvers (
  name VARCHAR PRIMARY KEY,
  role VARCHAR NOT NULL,
  limit_pence BIGINT NOT NULL,
  added_by VARCHAR NOT NULL,
  added_at VARCHAR NOT NULL,
  seal VARCHAR
)""",
    "CREATE SEQUENCE IF NOT EXISTS dispute_ids START 1",
    """CREATE TABLE IF NOT EXISTS disputes (
  dispute_id BIGINT PRIMARY KEY,
  contract_id VARCHAR NOT NULL,
  line_id VARCHAR NOT NULL,
  party_id VARCHAR NOT NULL,
  raised_by VARCHAR NOT NULL,
  raised_at VARCHAR NOT NULL,
  amount_pence BIGINT NOT NULL,
  reason VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  resolved_by VARCHAR,
  resolved_at VARCHAR,
  agreed_pence BIGINT,
  resolution VARCHAR,
  correction_line_id VARCHAR,
  seal VARCHAR
)""",
)


def upgrade() -> None:
    for sql in STATEMENTS:
        op.execute(sql)


def downgrade() -> None:
    raise NotImplementedError("the contract records are never dropped")
