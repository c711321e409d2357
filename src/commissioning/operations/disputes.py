"""Disputes: a party questions a posted line; the disputed amount is held until resolved.

A party to a line (its payer or payee) raises a dispute on an amount of it, with a reason.
While the dispute is open, that amount is **held**: the payment file shows it as held and
does not pay it. Resolution records the amount agreed for the line; if it differs from
what the line nets to, the difference is posted as a correction (an adjusting entry that
references the line) in the line's period if it is still open, else in the earliest open
period of the contract. The original line is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from commissioning.operations.base import (
    OperationError,
    Operations,
    closed_periods,
    require_actor,
)
from commissioning.operations.calendar import calendar
from commissioning.operations.register import signed_versions
from commissioning.settlement.lines import YEAR_END
from commissioning.settlement.money import format_gbp

_COLUMNS = (
    "dispute_id",
    "contract_id",
    "line_id",
    "party_id",
    "raised_by",
    "raised_at",
    "amount_pence",
    "reason",
    "status",
    "resolved_by",
    "resolved_at",
    "agreed_pence",
    "resolution",
    "correction_line_id",
)


@dataclass(frozen=True)
class Dispute:
    """A dispute on one ledger line."""

    dispute_id: int
    contract_id: str
    line_id: str
    party_id: str
    raised_by: str
    raised_at: str
    amount_pence: int
    reason: str
    status: str
    resolved_by: str | None
    resolved_at: str | None
    agreed_pence: int | None
    resolution: str | None
    correction_line_id: str | None


def _from_row(row: tuple[object, ...]) -> Dispute:
    d = dict(zip(_COLUMNS, row, strict=True))
    return Dispute(
        dispute_id=int(str(d["dispute_id"])),
        contract_id=str(d["contract_id"]),
        line_id=str(d["line_id"]),
        party_id=str(d["party_id"]),
        raised_by=str(d["raised_by"]),
        raised_at=str(d["raised_at"]),
        amount_pence=int(str(d["amount_pence"])),
        reason=str(d["reason"]),
        status=str(d["status"]),
        resolved_by=None if d["resolved_by"] is None else str(d["resolved_by"]),
        resolved_at=None if d["resolved_at"] is None else str(d["resolved_at"]),
        agreed_pence=None if d["agreed_pence"] is None else int(str(d["agreed_pence"])),
        resolution=None if d["resolution"] is None else str(d["resolution"]),
        correction_line_id=None
        if d["correction_line_id"] is None
        else str(d["correction_line_id"]),
    )


def get_dispute(ops: Operations, dispute_id: int) -> Dispute:
    """One dispute by number."""
    row = ops.store.one(
        f"SELECT {', '.join(_COLUMNS)} FROM disputes WHERE dispute_id = ?", [dispute_id]
    )
    if row is None:
        raise OperationError(f"no dispute {dispute_id}")
    return _from_row(row)


def disputes(ops: Operations, contract_id: str, open_only: bool = False) -> list[Dispute]:
    """The disputes of a contract (open ones only if asked)."""
    sql = f"SELECT {', '.join(_COLUMNS)} FROM disputes WHERE contract_id = ?"
    if open_only:
        sql += " AND status = 'open'"
    return [_from_row(r) for r in ops.store.query(sql + " ORDER BY dispute_id", [contract_id])]


def held_by_line(ops: Operations, contract_id: str) -> dict[str, int]:
    """Pence held per ledger line by open disputes."""
    held: dict[str, int] = {}
    for d in disputes(ops, contract_id, open_only=True):
        held[d.line_id] = held.get(d.line_id, 0) + d.amount_pence
    return held


def raise_dispute(
    ops: Operations, line_id: str, party_id: str, amount_pence: int, reason: str, actor: str
) -> Dispute:
    """A party to a posted line disputes ``amount_pence`` of it; that amount is held."""
    actor = require_actor(actor)
    if not reason.strip():
        raise OperationError("give the reason for the dispute")
    with ops.store.transaction() as tx:
        line = ops.ledger.get(line_id)
        if line is None:
            raise OperationError(f"no posted line {line_id} — check the id on the statement")
        if party_id not in (line.payer, line.payee):
            raise OperationError(
                f"{party_id} is not a party to line {line_id} ({line.payer} pays {line.payee})"
            )
        held = held_by_line(ops, line.contract_id).get(line_id, 0)
        if not 0 < amount_pence <= line.amount_pence - held:
            raise OperationError(
                f"the disputed amount must be above £0 and at most "
                f"{format_gbp(line.amount_pence - held)} (the line less what is already held)"
            )
        dispute_id = tx.next_id("dispute_ids")
        values: list[object] = [
            dispute_id,
            line.contract_id,
            line_id,
            party_id,
            actor,
            ops.now(),
            amount_pence,
            reason,
            "open",
            None,
            None,
            None,
            None,
            None,
        ]
        tx.execute(
            f"INSERT INTO disputes ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
            values,
        )
        ops.reseal("disputes", "dispute_id = ?", [dispute_id])
        ops.event(
            line.contract_id,
            actor,
            "raise_dispute",
            dispute=dispute_id,
            line=line_id,
            party=party_id,
            amount_pence=amount_pence,
            reason=reason,
        )
    return get_dispute(ops, dispute_id)


def resolve_dispute(
    ops: Operations, dispute_id: int, agreed_pence: int, resolution: str, actor: str
) -> Dispute:
    """Resolve a dispute: ``agreed_pence`` is what the line should net to — between what it
    nets to less the disputed amount and what it nets to. The resolver must not have raised
    it and must be a finance approver whose delegated limit covers the correction. The
    hold is released and any difference posted as a correction."""
    actor = require_actor(actor)
    with ops.store.transaction() as tx:
        d = get_dispute(ops, dispute_id)
        if d.status != "open":
            raise OperationError(f"dispute {dispute_id} is already {d.status}")
        if actor == d.raised_by:
            raise OperationError(
                f"{actor} raised dispute {dispute_id} — another person resolves it"
            )
        line = ops.ledger.get(d.line_id)
        assert line is not None
        net = ops.ledger.net_of_line(line)
        low = max(0, net - d.amount_pence)
        if not low <= agreed_pence <= net:
            raise OperationError(
                f"the agreed amount must be between {format_gbp(low)} and {format_gbp(net)}: "
                f"the line nets to {format_gbp(net)} and {format_gbp(d.amount_pence)} of it is "
                "disputed — a claim for more than the line is a new adjustment, not a dispute"
            )
        change = net - agreed_pence
        row = tx.one("SELECT role, limit_pence FROM approvers WHERE name = ?", [actor])
        if row is None or row[0] != "finance_approver" or int(row[1]) < change:
            raise OperationError(
                f"{actor} cannot resolve dispute {dispute_id}: a correction of "
                f"{format_gbp(change)} needs a finance approver whose delegated limit covers it"
            )
        year, quarter = line.year, line.quarter
        closed = closed_periods(ops, d.contract_id)
        if (year, quarter) in closed:
            versions = signed_versions(ops, d.contract_id)
            open_periods = [
                (p.year, p.quarter)
                for p in calendar(versions[0].contract)
                if (p.year, p.quarter) not in closed and p.quarter != YEAR_END
            ]
            if not open_periods:
                raise OperationError("every period is closed — no period to post the correction")
            year, quarter = open_periods[0]
        entry = ops.ledger.correct(
            d.line_id,
            agreed_pence,
            f"dispute {dispute_id} resolved: {resolution}",
            year,
            quarter,
            run_id=f"{d.contract_id}-dispute-{dispute_id}",
            posted_by=actor,
        )
        tx.execute(
            "UPDATE disputes SET status = 'resolved', resolved_by = ?, resolved_at = ?, "
            "agreed_pence = ?, resolution = ?, correction_line_id = ? WHERE dispute_id = ?",
            [
                actor,
                ops.now(),
                agreed_pence,
                resolution,
                entry.line_id if entry else None,
                dispute_id,
            ],
        )
        ops.reseal("disputes", "dispute_id = ?", [dispute_id])
        ops.event(
            d.contract_id,
            actor,
            "resolve_dispute",
            dispute=dispute_id,
            agreed_pence=agreed_pence,
            correction=entry.line_id if entry else None,
        )
    return get_dispute(ops, dispute_id)
