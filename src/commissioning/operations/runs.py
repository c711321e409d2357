"""Settlement runs: draft → reviewed → approved → posted, periods in order, close and lock.

A **run** settles one period of one contract. Drafting it computes what the period owes
under the signed versions in force and the certified values
(:mod:`commissioning.operations.due`) and what is still to post after what is already in
the ledger; nothing is posted. A second person **reviews** it; a **finance approver**
whose delegated limit covers the run's gross value **approves** it (neither may be the
person who drafted it, nor the approver the reviewer); then it is **posted**: the run is
computed again inside the posting transaction, under the ledger's lock, and refused if
anything changed since it was drafted (a newly certified value, another run posted), so
two people posting at once can never post a line twice.

Rules a finance team relies on:

* periods settle in order — the first settlement of a quarter needs the quarter before it
  settled, and a year-end needs its quarter 4 and a certified outturn (which usually
  arrives months later, after the next year's quarters);
* a settled period can be settled again until it is closed: only the differences post;
* a closed period is locked: no run, and corrections to it post in an open period;
* a period with measures still awaiting certification cannot be closed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from commissioning.operations.base import (
    OperationError,
    Operations,
    closed_periods,
    require_actor,
)
from commissioning.operations.calendar import (
    Period,
    VersionShare,
    calendar,
    period,
    versions_in_force,
)
from commissioning.operations.due import Due, deltas, quarter_due, year_end_due
from commissioning.operations.measurements import certified
from commissioning.operations.register import Version, signed_versions
from commissioning.settlement.lines import (
    YEAR_END,
    SettlementLine,
    canonical,
    period_label,
    sha256_hex,
)
from commissioning.settlement.money import format_gbp, to_pence

ROLES = ("finance_approver", "contract_manager")
_RUN_COLUMNS = (
    "run_id",
    "contract_id",
    "year",
    "quarter",
    "status",
    "lines_json",
    "awaiting_json",
    "inputs_digest",
    "gross_pence",
    "prepared_by",
    "prepared_at",
    "reviewed_by",
    "reviewed_at",
    "approved_by",
    "approved_at",
    "posted_by",
    "posted_at",
)


@dataclass(frozen=True)
class Run:
    """A settlement run and its lines (as they will be, or were, posted)."""

    run_id: int
    contract_id: str
    year: int
    quarter: int
    status: str
    lines: list[SettlementLine]
    awaiting: list[str]
    inputs_digest: str
    gross_pence: int
    prepared_by: str
    prepared_at: str
    reviewed_by: str | None
    reviewed_at: str | None
    approved_by: str | None
    approved_at: str | None
    posted_by: str | None
    posted_at: str | None

    @property
    def period(self) -> str:
        """``Y1Q2`` or ``Y1YE``."""
        return period_label(self.year, self.quarter)

    @property
    def tag(self) -> str:
        """The run's reference on payment files and ledger line ids."""
        return f"{self.contract_id}-run-{self.run_id}"


def _line_json(lines: list[SettlementLine]) -> str:
    return json.dumps([ln.content() for ln in lines], sort_keys=True)


def _run_from_row(row: tuple[Any, ...]) -> Run:
    d = dict(zip(_RUN_COLUMNS, row, strict=True))
    lines = [SettlementLine.from_content(c) for c in json.loads(d["lines_json"])]
    return Run(
        run_id=int(d["run_id"]),
        contract_id=str(d["contract_id"]),
        year=int(d["year"]),
        quarter=int(d["quarter"]),
        status=str(d["status"]),
        lines=lines,
        awaiting=list(json.loads(d["awaiting_json"])),
        inputs_digest=str(d["inputs_digest"]),
        gross_pence=int(d["gross_pence"]),
        prepared_by=str(d["prepared_by"]),
        prepared_at=str(d["prepared_at"]),
        reviewed_by=d["reviewed_by"],
        reviewed_at=d["reviewed_at"],
        approved_by=d["approved_by"],
        approved_at=d["approved_at"],
        posted_by=d["posted_by"],
        posted_at=d["posted_at"],
    )


def get_run(ops: Operations, run_id: int) -> Run:
    """One run by number."""
    row = ops.store.one(
        f"SELECT {', '.join(_RUN_COLUMNS)} FROM settlement_runs WHERE run_id = ?", [run_id]
    )
    if row is None:
        raise OperationError(f"no settlement run {run_id}")
    return _run_from_row(row)


def runs(ops: Operations, contract_id: str) -> list[Run]:
    """Every run of a contract, in the order they were drafted."""
    rows = ops.store.query(
        f"SELECT {', '.join(_RUN_COLUMNS)} FROM settlement_runs WHERE contract_id = ? "
        "ORDER BY run_id",
        [contract_id],
    )
    return [_run_from_row(r) for r in rows]


def _posted_periods(ops: Operations, contract_id: str) -> set[tuple[int, int]]:
    return {
        (int(r[0]), int(r[1]))
        for r in ops.store.query(
            "SELECT DISTINCT year, quarter FROM settlement_runs WHERE contract_id = ? "
            "AND status = 'posted'",
            [contract_id],
        )
    }


def _posted_lines(ops: Operations, contract_id: str) -> list[SettlementLine]:
    return ops.ledger.lines(contract_id=contract_id)


def _values_by_quarter(
    ops: Operations, contract_id: str, year: int
) -> dict[int, dict[tuple[str, str], Decimal]]:
    out: dict[int, dict[tuple[str, str], Decimal]] = {}
    for q in (1, 2, 3, 4):
        out[q] = {(m.kind, m.key): m.value for m in certified(ops, contract_id, year, q)}
    return out


def _signed(ops: Operations, contract_id: str) -> list[Version]:
    versions = signed_versions(ops, contract_id)
    if not versions:
        raise OperationError(
            f"{contract_id} has no signed version — every party must sign before settlement"
        )
    return versions


def period_of(ops: Operations, contract_id: str, year: int, quarter: int) -> Period:
    """The period ``(year, quarter)`` of a signed contract, with its dates."""
    try:
        return period(_signed(ops, contract_id)[0].contract, year, quarter)
    except ValueError as exc:
        raise OperationError(str(exc)) from None


def compute_due(ops: Operations, contract_id: str, year: int, quarter: int) -> tuple[Due, Period]:
    """What the period owes now (no writes); refused if the contract's records were
    changed behind the application."""
    ops.require_intact(contract_id)
    versions = _signed(ops, contract_id)
    try:
        when = period(versions[0].contract, year, quarter)
        versions_in_force(  # every day of the period must be covered
            [(v.contract, v.content_hash) for v in versions], when
        )
    except ValueError as exc:
        raise OperationError(str(exc)) from None
    posted = _posted_lines(ops, contract_id)
    if quarter == YEAR_END:
        outturn = [m for m in certified(ops, contract_id, year, YEAR_END) if m.kind == "outturn"]
        if not outturn:
            raise OperationError(
                f"Y{year}YE: the year's outturn is not yet certified — submit and certify it "
                "(contract measure --kind outturn), then settle the year-end"
            )
        year_lines = [ln for ln in posted if ln.year == year and ln.quarter != YEAR_END]
        hashes = [(v.contract, v.content_hash) for v in versions]
        by_quarter = [
            versions_in_force(hashes, period(versions[0].contract, year, q)) for q in (1, 2, 3, 4)
        ]
        _require_quarters_up_to_date(ops, contract_id, year, by_quarter, posted)
        ids = {ln.line_id for ln in year_lines}
        corrections = [ln for ln in posted if ln.kind == "correction" and ln.corrects in ids]
        due = year_end_due(by_quarter, year, year_lines, to_pence(outturn[0].value), corrections)
        return due, when
    history = [ln for ln in posted if ln.period_index < when.index]
    hashes = [(v.contract, v.content_hash) for v in versions]
    by_quarter = [
        versions_in_force(hashes, period(versions[0].contract, year, q)) for q in (1, 2, 3, 4)
    ]
    values = _values_by_quarter(ops, contract_id, year)
    return quarter_due(by_quarter, year, quarter, values, history), when


def _require_quarters_up_to_date(
    ops: Operations,
    contract_id: str,
    year: int,
    by_quarter: list[list[VersionShare]],
    posted: list[SettlementLine],
) -> None:
    """The year-end reconciles what the quarters paid, so each quarter must first be
    settled as the signed versions and certified values now say."""
    values = _values_by_quarter(ops, contract_id, year)
    for q in (1, 2, 3, 4):
        when = period(by_quarter[0][0].contract, year, q)
        history = [ln for ln in posted if ln.period_index < when.index]
        due = quarter_due(by_quarter, year, q, values, history)
        mine = [ln for ln in posted if (ln.year, ln.quarter) == (year, q)]
        owed = deltas(due.lines, mine, "check", when)
        if owed:
            gross = format_gbp(sum(ln.amount_pence for ln in owed))
            raise OperationError(
                f"{when.label} is not up to date with the signed versions and certified "
                f"values ({len(owed)} adjustment(s), {gross} gross) — settle {when.label} "
                f"again before Y{year}YE"
            )


def _check_order(ops: Operations, contract_id: str, when: Period) -> None:
    posted = _posted_periods(ops, contract_id)
    if (when.year, when.quarter) in closed_periods(ops, contract_id):
        raise OperationError(
            f"{when.label} is closed — its lines are locked; post a correction in an open period"
        )
    if (when.year, when.quarter) in posted:
        return  # settling again: only differences post
    if when.is_year_end:
        if (when.year, 4) not in posted:
            raise OperationError(f"settle Y{when.year}Q4 before its year-end")
        return
    previous = (when.year, when.quarter - 1) if when.quarter > 1 else (when.year - 1, 4)
    if previous[0] >= 1 and previous not in posted:
        raise OperationError(
            f"periods settle in order: settle Y{previous[0]}Q{previous[1]} before {when.label}"
        )


def _digest(lines: list[SettlementLine], awaiting: list[str]) -> str:
    content = [{k: v for k, v in ln.content().items() if k != "line_id"} for ln in lines]
    return sha256_hex(canonical([content, awaiting]))


def _pending(ops: Operations, contract_id: str, year: int, quarter: int) -> list[Run]:
    return [
        r
        for r in runs(ops, contract_id)
        if (r.year, r.quarter) == (year, quarter) and r.status in ("draft", "reviewed", "approved")
    ]


def draft_run(ops: Operations, contract_id: str, year: int, quarter: int, actor: str) -> Run:
    """Draft a run for a period: what it owes, less what is posted. Posts nothing.

    Refused while another run of the period is in progress: one run at a time per period,
    so two people never work on rival drafts."""
    actor = require_actor(actor)
    with ops.store.transaction() as tx:
        _check_order(ops, contract_id, period_of(ops, contract_id, year, quarter))
        due, when = compute_due(ops, contract_id, year, quarter)
        pending = _pending(ops, contract_id, year, quarter)
        if pending:
            old = pending[0]
            raise OperationError(
                f"Y{year}{'YE' if quarter == YEAR_END else f'Q{quarter}'} has run {old.run_id} in "
                f"progress ({old.status}, drafted by {old.prepared_by}) — take it on, or "
                f"withdraw it first (contract withdraw {old.run_id})"
            )
        run_id = tx.next_id("settlement_run_ids")
        posted = [
            ln for ln in _posted_lines(ops, contract_id) if (ln.year, ln.quarter) == (year, quarter)
        ]
        lines = deltas(due.lines, posted, f"{contract_id}-run-{run_id}", when)
        gross = sum(ln.amount_pence for ln in lines)
        tx.execute(
            f"INSERT INTO settlement_runs ({', '.join(_RUN_COLUMNS)}) VALUES "
            f"({', '.join('?' for _ in _RUN_COLUMNS)})",
            [
                run_id,
                contract_id,
                year,
                quarter,
                "draft",
                _line_json(lines),
                json.dumps(due.awaiting),
                _digest(lines, due.awaiting),
                gross,
                actor,
                ops.now(),
                None,
                None,
                None,
                None,
                None,
                None,
            ],
        )
        ops.reseal(
            "settlement_runs",
            "contract_id = ? AND year = ? AND quarter = ?",
            [contract_id, year, quarter],
        )
        ops.event(
            contract_id,
            actor,
            "draft_run",
            run=run_id,
            period=when.label,
            lines=len(lines),
            gross_pence=gross,
            awaiting=due.awaiting,
            basis=due.basis,
        )
    return get_run(ops, run_id)


def _transition(
    ops: Operations, run_id: int, before: str, after: str, column: str, actor: str
) -> None:
    """Move a run from ``before`` to ``after`` only if it is still ``before`` — another
    person may have withdrawn it or moved it on meanwhile (the database re-checks the
    condition once a concurrent writer commits). Only the update that moved the row counts:
    a concurrent one that found it already moved changed nothing and is refused, even if
    the run now has the status it wanted."""
    moved = ops.store.query(
        f"UPDATE settlement_runs SET status = ?, {column}_by = ?, {column}_at = ? "
        "WHERE run_id = ? AND status = ? RETURNING run_id",
        [after, actor, ops.now(), run_id, before],
    )
    if not moved:
        row = ops.store.one("SELECT status FROM settlement_runs WHERE run_id = ?", [run_id])
        raise OperationError(
            f"run {run_id} is {row[0] if row else 'gone'} now — someone else changed it while "
            "you worked on it; look at it again"
        )
    ops.reseal("settlement_runs", "run_id = ?", [run_id])


def review_run(ops: Operations, run_id: int, actor: str) -> Run:
    """Record the review of a drafted run by someone other than its author."""
    actor = require_actor(actor)
    with ops.store.transaction():
        run = get_run(ops, run_id)
        if run.status != "draft":
            raise OperationError(f"run {run_id} is {run.status} — only a draft can be reviewed")
        if actor == run.prepared_by:
            raise OperationError(f"{actor} drafted run {run_id} — another person must review it")
        _transition(ops, run_id, "draft", "reviewed", "reviewed", actor)
        ops.event(run.contract_id, actor, "review_run", run=run_id, period=run.period)
    return get_run(ops, run_id)


def add_approver(
    ops: Operations,
    name: str,
    limit_gbp: Decimal | int | str,
    actor: str,
    role: str = "finance_approver",
) -> None:
    """Register a named approver with a delegated limit (the largest run, in gross pounds,
    they may approve)."""
    actor = require_actor(actor)
    if role not in ROLES:
        raise OperationError(f"unknown role '{role}' — use one of {', '.join(ROLES)}")
    if actor == name.strip():
        raise OperationError(f"{actor} cannot set their own delegated limit — ask another person")
    try:
        limit = to_pence(limit_gbp)
    except ArithmeticError:
        raise OperationError(f"'{limit_gbp}' is not an amount — write pounds, e.g. 50000") from None
    if not 0 <= limit <= 10**14:
        raise OperationError("a delegated limit is between £0 and £1,000,000,000,000")
    with ops.store.transaction() as tx:
        tx.execute("DELETE FROM approvers WHERE name = ?", [name])
        tx.execute(
            "INSERT INTO approvers VALUES (?, ?, ?, ?, ?, NULL)",
            [name, role, limit, actor, ops.now()],
        )
        ops.reseal("approvers", "name = ?", [name])
        ops.event("*", actor, "add_approver", name=name, role=role, limit_pence=limit)


def approve_run(ops: Operations, run_id: int, actor: str) -> Run:
    """Approve a reviewed run, within the approver's delegated limit."""
    actor = require_actor(actor)
    with ops.store.transaction() as tx:
        run = get_run(ops, run_id)
        if run.status != "reviewed":
            raise OperationError(
                f"run {run_id} is {run.status} — a run is reviewed before it is approved"
            )
        if actor in (run.prepared_by, run.reviewed_by):
            raise OperationError(
                f"{actor} drafted or reviewed run {run_id} — a third person must approve it"
            )
        row = tx.one("SELECT role, limit_pence FROM approvers WHERE name = ?", [actor])
        if row is None or row[0] != "finance_approver":
            raise OperationError(
                f"{actor} is not a finance approver — name them with a delegated limit: "
                f'contract approver "{actor}" --limit <pounds> --by <administrator>'
            )
        if run.gross_pence > int(row[1]):
            raise OperationError(
                f"run {run_id} moves {format_gbp(run.gross_pence)}, above {actor}'s delegated "
                f"limit of {format_gbp(int(row[1]))} — ask an approver with a higher limit"
            )
        _transition(ops, run_id, "reviewed", "approved", "approved", actor)
        ops.event(run.contract_id, actor, "approve_run", run=run_id, gross_pence=run.gross_pence)
    return get_run(ops, run_id)


def post_run(ops: Operations, run_id: int, actor: str) -> Run:
    """Post an approved run to the ledger, after checking under the ledger's lock that
    nothing changed since it was drafted; a stale run is marked so and refused."""
    actor = require_actor(actor)
    try:
        return _post(ops, run_id, actor)
    except _Stale as exc:
        with ops.store.transaction() as tx:
            tx.execute(
                "UPDATE settlement_runs SET status = 'stale' WHERE run_id = ? "
                "AND status = 'approved'",
                [run_id],
            )
            ops.reseal("settlement_runs", "run_id = ?", [run_id])
            ops.event(exc.contract_id, actor, "stale_run", run=run_id)
        raise


def withdraw_run(ops: Operations, run_id: int, actor: str, reason: str) -> Run:
    """Withdraw a run that is not posted (e.g. drafted in error); it can never be posted."""
    actor = require_actor(actor)
    if not reason.strip():
        raise OperationError("give the reason for withdrawing the run")
    with ops.store.transaction() as tx:
        run = get_run(ops, run_id)
        if run.status not in ("draft", "reviewed", "approved"):
            raise OperationError(
                f"run {run_id} is {run.status} — only a run in progress is withdrawn"
            )
        tx.execute(
            "UPDATE settlement_runs SET status = 'withdrawn' WHERE run_id = ? "
            "AND status IN ('draft', 'reviewed', 'approved')",
            [run_id],
        )
        ops.reseal("settlement_runs", "run_id = ?", [run_id])
        ops.event(run.contract_id, actor, "withdraw_run", run=run_id, reason=reason)
    return get_run(ops, run_id)


class _Stale(OperationError):
    def __init__(self, message: str, contract_id: str) -> None:
        super().__init__(message)
        self.contract_id = contract_id


def _post(ops: Operations, run_id: int, actor: str) -> Run:
    with ops.store.transaction() as tx:
        tx.one(f"SELECT entries FROM {ops.ledger.table}_head WHERE id = 1" + tx.for_update())
        run = get_run(ops, run_id)
        if run.status != "approved":
            raise OperationError(f"run {run_id} is {run.status} — only an approved run is posted")
        if actor in (run.prepared_by, run.reviewed_by):
            raise OperationError(
                f"{actor} drafted or reviewed run {run_id} — its approver or another finance "
                "approver posts it"
            )
        approver = tx.one("SELECT role FROM approvers WHERE name = ?", [actor])
        if approver is None or approver[0] != "finance_approver":
            raise OperationError(f"{actor} is not a finance approver — only one may post a run")
        _check_order(ops, run.contract_id, period_of(ops, run.contract_id, run.year, run.quarter))
        due, when = compute_due(ops, run.contract_id, run.year, run.quarter)
        posted = [
            ln
            for ln in _posted_lines(ops, run.contract_id)
            if (ln.year, ln.quarter) == (run.year, run.quarter)
        ]
        lines = deltas(due.lines, posted, run.tag, when)
        if _digest(lines, due.awaiting) != run.inputs_digest:
            raise _Stale(
                f"run {run_id} is stale: values, versions or the ledger changed since it was "
                "drafted — draft the period again",
                run.contract_id,
            )
        for line in lines:
            ops.ledger.post(line, run_id=run.tag, posted_by=actor)
        _transition(ops, run_id, "approved", "posted", "posted", actor)
        ops.event(run.contract_id, actor, "post_run", run=run_id, lines=len(lines))
    return get_run(ops, run_id)


def close_period(ops: Operations, contract_id: str, year: int, quarter: int, actor: str) -> None:
    """Close and lock a settled period (after the period before it)."""
    actor = require_actor(actor)
    with ops.store.transaction() as tx:
        versions = signed_versions(ops, contract_id)
        if not versions:
            raise OperationError(f"{contract_id} has no signed version")
        when = period(versions[0].contract, year, quarter)
        if (year, quarter) in closed_periods(ops, contract_id):
            raise OperationError(f"{when.label} is closed already")
        if (year, quarter) not in _posted_periods(ops, contract_id):
            raise OperationError(f"{when.label} is not settled — post a run before closing it")
        for pending in _pending(ops, contract_id, year, quarter):
            if pending.lines:
                raise OperationError(
                    f"{when.label} has run {pending.run_id} in progress — post or redraft it"
                )
            tx.execute(  # a run with nothing to post does not hold the period open
                "UPDATE settlement_runs SET status = 'withdrawn' WHERE run_id = ?",
                [pending.run_id],
            )
            ops.reseal("settlement_runs", "run_id = ?", [pending.run_id])
        due, _ = compute_due(ops, contract_id, year, quarter)
        if due.awaiting:
            raise OperationError(
                f"{when.label} still awaits certified values for {', '.join(due.awaiting)} — "
                "certify them and settle again before closing"
            )
        order = [(p.year, p.quarter) for p in calendar(versions[0].contract)]
        earlier = [p for p in order[: order.index((year, quarter))] if p[1] != YEAR_END]
        open_earlier = [p for p in earlier if p not in closed_periods(ops, contract_id)]
        if open_earlier:
            y, q = open_earlier[0]
            raise OperationError(f"close Y{y}Q{q} first — periods close in order")
        tx.execute(
            "INSERT INTO period_closures VALUES (?, ?, ?, ?, ?, NULL)",
            [contract_id, year, quarter, actor, ops.now()],
        )
        ops.reseal(
            "period_closures",
            "contract_id = ? AND year = ? AND quarter = ?",
            [contract_id, year, quarter],
        )
        ops.event(contract_id, actor, "close_period", period=when.label)


def settle(
    ops: Operations,
    contract_id: str,
    year: int,
    quarter: int,
    *,
    prepared_by: str,
    reviewed_by: str,
    approved_by: str,
) -> Run:
    """Draft, review, approve and post a period in one call (three named people)."""
    run = draft_run(ops, contract_id, year, quarter, prepared_by)
    review_run(ops, run.run_id, reviewed_by)
    approve_run(ops, run.run_id, approved_by)
    return post_run(ops, run.run_id, approved_by)


__all__ = [
    "Run",
    "add_approver",
    "approve_run",
    "close_period",
    "compute_due",
    "draft_run",
    "get_run",
    "post_run",
    "review_run",
    "runs",
    "settle",
]
