"""The record store of contract operations: its tables, the audit log and the context
every service function takes.

:class:`Operations` holds the record store (:mod:`commissioning.store.records`), the ledger
with its key and anchor, and a clock. Every service function (``register_version``,
``sign``, ``certify``, ``draft_run``, ``approve_run``, ``post_run``, ...) takes it first,
runs in one transaction, and records what it did, who did it and when in
``contract_events`` — the audit log that the command line, the web pages and the API
share.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from commissioning.settlement.ledger import Ledger, LedgerAnchor
from commissioning.store.migrate import upgrade
from commissioning.store.records import RecordStore

LEDGER_TABLE = "settlement_ledger"
#: The ledger key of the demo on synthetic data only (real ledgers refuse to run without
#: a key of their own, from COMMISSIONING_LEDGER_KEY or a key file).
DEMO_LEDGER_KEY = b"commissioning-demo-ledger-key: synthetic data only"


#: Tables whose rows are sealed with the ledger key, with the columns that identify a row.
SEALED: dict[str, tuple[str, ...]] = {
    "contract_versions": ("content_hash",),
    "contract_signatures": ("content_hash", "party_id"),
    "measurements": ("measurement_id",),
    "settlement_runs": ("run_id",),
    "period_closures": ("contract_id", "year", "quarter"),
    "approvers": ("name",),
    "disputes": ("dispute_id",),
    "contract_events": ("event_id",),
}


def seal_of(key: bytes, table: str, row: dict[str, Any]) -> str:
    """HMAC-SHA256 with ``key`` over a row's table and every column but the seal."""
    content = json.dumps(
        [table, sorted((k, None if v is None else str(v)) for k, v in row.items() if k != "seal")],
        separators=(",", ":"),
    )
    return hmac.new(key, content.encode("utf-8"), hashlib.sha256).hexdigest()


class OperationError(ValueError):
    """A refused operation; the message says why and what to do instead."""


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Operations:
    """The context of every contract-operations service: the record store, the ledger
    and a clock (``now`` returns an ISO-8601 timestamp; tests may fix it)."""

    store: RecordStore
    ledger: Ledger
    now: Callable[[], str] = field(default=_utc_now)

    def event(self, contract_id: str, actor: str, action: str, **detail: Any) -> None:
        """Record one action in the audit log (inside the caller's transaction)."""
        event_id = self.store.next_id("contract_event_ids")
        self.store.execute(
            "INSERT INTO contract_events VALUES (?, ?, ?, ?, ?, ?, NULL)",
            [event_id, self.now(), actor, contract_id, action, json.dumps(detail, default=str)],
        )
        self.reseal("contract_events", "event_id = ?", [event_id])

    def _seal_of(self, table: str, row: dict[str, Any]) -> str:
        return seal_of(self.ledger.key, table, row)

    def reseal(self, table: str, where: str, params: list[Any]) -> None:
        """Seal (again) the rows of ``table`` matching ``where``, after writing them: an
        HMAC with the ledger key over every column, so a change made behind the
        application — to signed terms, a certified value, an approval — is seen."""
        keys = SEALED[table]
        for row in self.store.query_dicts(f"SELECT * FROM {table} WHERE {where}", params):
            self.store.execute(
                f"UPDATE {table} SET seal = ? WHERE " + " AND ".join(f"{k} = ?" for k in keys),
                [self._seal_of(table, row), *(row[k] for k in keys)],
            )

    def broken_seals(self, contract_id: str | None = None) -> list[str]:
        """Rows of the record store changed outside the application (all, or one
        contract's). Reads only."""
        problems = []
        for table, keys in SEALED.items():
            sql = f"SELECT * FROM {table}"
            params: list[Any] = []
            if contract_id is not None and table == "contract_signatures":
                sql += (
                    " WHERE content_hash IN (SELECT content_hash FROM contract_versions "
                    "WHERE contract_id = ?)"
                )
                params = [contract_id]
            elif contract_id is not None and table != "approvers":
                sql += " WHERE contract_id = ?"
                params = [contract_id]
            for row in self.store.query_dicts(sql, params):
                expected = self._seal_of(table, row)
                if row.get("seal") is None or not hmac.compare_digest(expected, str(row["seal"])):
                    ident = ", ".join(f"{k}={row[k]}" for k in keys)
                    problems.append(
                        f"{table} ({ident}) was changed outside the application — its seal "
                        "does not match"
                    )
        return problems

    def require_intact(self, contract_id: str) -> None:
        """Refuse to work on a contract whose records (its audit log included) were
        changed behind the application."""
        problems = self.broken_seals(contract_id)
        if problems:
            raise OperationError(
                "the records of "
                + contract_id
                + " were changed outside the application — restore them from a backup "
                "and run 'contract verify':\n" + "\n".join(f"  - {p}" for p in problems)
            )

    def events(self, contract_id: str) -> list[dict[str, Any]]:
        """The audit log of one contract, oldest first."""
        rows = self.store.query(
            "SELECT event_id, event_at, actor, action, detail FROM contract_events "
            "WHERE contract_id = ? ORDER BY event_id",
            [contract_id],
        )
        return [
            {"event_id": r[0], "at": r[1], "actor": r[2], "action": r[3], "detail": r[4]}
            for r in rows
        ]


def open_operations(
    store: RecordStore, ledger_key: bytes, anchor: str | Path | None = None
) -> Operations:
    """Bring the record store's tables up to date (:func:`commissioning.store.migrate.upgrade`)
    and return the operations context."""
    upgrade(store)
    ledger = Ledger(
        store, ledger_key, LEDGER_TABLE, LedgerAnchor(anchor) if anchor is not None else None
    )
    return Operations(store, ledger)


def closed_periods(ops: Operations, contract_id: str) -> set[tuple[int, int]]:
    """The periods of a contract closed and locked, as ``(year, quarter)``."""
    return {
        (int(r[0]), int(r[1]))
        for r in ops.store.query(
            "SELECT year, quarter FROM period_closures WHERE contract_id = ?", [contract_id]
        )
    }


def require_actor(actor: str) -> str:
    """Every action is done by a named person."""
    if not actor or not actor.strip():
        raise OperationError('say who is doing this — give a name (--by "Jane Smith")')
    return actor.strip()
