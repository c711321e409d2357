"""The measures of effective commissioning that people record in the workbench, and the
audit of who recorded what.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATEMENTS = (
    "CREATE SEQUENCE IF NOT EXISTS effectiveness_record_ids START 1",
    """CREATE TABLE IF NOT EXISTS effectiveness_records (
  record_id BIGINT PRIMARY KEY,
  org_id VARCHAR NOT NULL,
  measure INTEGER NOT NULL,
  status VARCHAR NOT NULL,
  value VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  note VARCHAR NOT NULL,
  measured_on VARCHAR NOT NULL,
  recorded_by VARCHAR NOT NULL,
  recorded_at VARCHAR NOT NULL
)""",
    "CREATE SEQUENCE IF NOT EXISTS decision_event_ids START 1",
    """CREATE TABLE IF NOT EXISTS decision_events (
  event_id BIGINT PRIMARY KEY,
  event_at VARCHAR NOT NULL,
  actor VARCHAR NOT NULL,
  org_id VARCHAR NOT NULL,
  action VARCHAR NOT NULL,
  detail VARCHAR NOT NULL
)""",
)


def upgrade() -> None:
    for sql in STATEMENTS:
        op.execute(sql)


def downgrade() -> None:
    for table in ("decision_events", "effectiveness_records"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    for sequence in ("decision_event_ids", "effectiveness_record_ids"):
        op.execute(f"DROP SEQUENCE IF EXISTS {sequence}")
