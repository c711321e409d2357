"""Measured values per period: submitted, certified, restated (C15, C16).

Settlement pays only on **certified** values, and a value can only be submitted once the
period it measures has ended (the year's outturn once the contract year has ended); when it
was submitted and certified is kept, so the data lag of every value is on record. A value
is submitted by one person (usually the provider's analyst) and certified by another
(usually the commissioner's); until then the measure is *awaiting certification* and pays
nothing yet — it is never replaced by the baseline. When late data arrive, a new value is
submitted for the same period and, once certified, **restates** the old one (which is
kept, marked ``superseded``); settling the period again then posts only the difference.

Kinds of value: ``indicator`` (an outcome measure, keyed by indicator id: measured over the
quarter or year to date, as the contract's ``outcomes.measurement`` says), ``outturn``
(the provider's cost of a contract year, in pounds, for the year-end), ``activity``
(count by point of delivery), ``people_band`` (people by year-of-care band), ``episodes``
and ``sib_outcome`` (outcomes achieved, keyed by outcome).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal

from commissioning.operations.base import (
    OperationError,
    Operations,
    closed_periods,
    require_actor,
)
from commissioning.operations.calendar import period
from commissioning.operations.register import find_version
from commissioning.settlement.lines import YEAR_END, period_label

Kind = Literal["indicator", "outturn", "activity", "people_band", "episodes", "sib_outcome"]
KINDS: tuple[str, ...] = (
    "indicator",
    "outturn",
    "activity",
    "people_band",
    "episodes",
    "sib_outcome",
)
_COUNT_KINDS = {"activity", "people_band", "episodes", "sib_outcome"}
_LARGEST = Decimal(10**12)  # £1,000,000,000,000, or a count or rate no contract reaches
_COLUMNS = (
    "measurement_id",
    "contract_id",
    "year",
    "quarter",
    "kind",
    "key",
    "value",
    "basis",
    "source",
    "submitted_by",
    "submitted_at",
    "certified_by",
    "certified_at",
    "status",
    "supersedes",
)


@dataclass(frozen=True)
class Measurement:
    """One submitted value and its certification."""

    measurement_id: int
    contract_id: str
    year: int
    quarter: int
    kind: str
    key: str
    value: Decimal
    basis: str
    source: str
    submitted_by: str
    submitted_at: str
    certified_by: str | None
    certified_at: str | None
    status: str
    supersedes: int | None

    @property
    def period(self) -> str:
        """``Y1Q2`` or ``Y1YE``."""
        return period_label(self.year, self.quarter)


def _from_row(row: tuple[object, ...]) -> Measurement:
    d = dict(zip(_COLUMNS, row, strict=True))
    return Measurement(
        measurement_id=int(str(d["measurement_id"])),
        contract_id=str(d["contract_id"]),
        year=int(str(d["year"])),
        quarter=int(str(d["quarter"])),
        kind=str(d["kind"]),
        key=str(d["key"]),
        value=Decimal(str(d["value"])),
        basis=str(d["basis"]),
        source=str(d["source"]),
        submitted_by=str(d["submitted_by"]),
        submitted_at=str(d["submitted_at"]),
        certified_by=None if d["certified_by"] is None else str(d["certified_by"]),
        certified_at=None if d["certified_at"] is None else str(d["certified_at"]),
        status=str(d["status"]),
        supersedes=None if d["supersedes"] is None else int(str(d["supersedes"])),
    )


def _check_value(kind: str, key: str, value: str | Decimal | int | float, ids: set[str]) -> Decimal:
    if kind not in KINDS:
        raise OperationError(f"unknown kind '{kind}' — use one of {', '.join(KINDS)}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise OperationError(f"'{value}' is not a number — write it like 0.83 or 412") from None
    if not number.is_finite():
        raise OperationError(f"'{value}' is not a finite number")
    if kind == "indicator" and key not in ids:
        raise OperationError(
            f"'{key}' is not a measure of this contract — use one of {', '.join(sorted(ids))}"
        )
    if kind in _COUNT_KINDS and (number < 0 or number != number.to_integral_value()):
        raise OperationError(f"a {kind} count must be a whole number of 0 or more, not {value}")
    if abs(number) > _LARGEST:
        raise OperationError(f"{value} is larger than any value a contract measures — check it")
    if kind == "outturn" and (number < 0 or number != number.quantize(Decimal("0.01"))):
        raise OperationError("an outturn is pounds and pence of 0 or more, e.g. 1234567.89")
    return number


def submit(
    ops: Operations,
    contract_id: str,
    year: int,
    quarter: int,
    kind: str,
    key: str,
    value: str | Decimal | int | float,
    actor: str,
    source: str = "",
) -> Measurement:
    """Submit a value for a period; it pays nothing until certified. A value for a period
    that already has a certified one is a restatement of it."""
    actor = require_actor(actor)
    contract = find_version(ops, contract_id).contract
    if kind == "outturn":
        quarter = YEAR_END
    elif quarter == YEAR_END:
        raise OperationError("only an outturn belongs to the year-end — give a quarter 1-4")
    try:
        when = period(contract, year, quarter)
    except ValueError as exc:
        raise OperationError(str(exc)) from None
    today = date.fromisoformat(ops.now()[:10])
    if today <= when.end:
        raise OperationError(
            f"{when.label} runs to {when.end}: a value measured over it can be submitted from "
            f"{when.end + timedelta(days=1)}"
        )
    ids = {m.indicator_id for m in contract.outcomes.measures}
    number = _check_value(kind, key, value, ids)
    measure = next((m for m in contract.outcomes.measures if m.indicator_id == key), None)
    is_proportion = kind == "indicator" and measure is not None and measure.kind == "proportion"
    if is_proportion and not 0 <= number <= 1:
        raise OperationError(
            f"{key} is a proportion: its value is between 0 and 1 — write 45% as 0.45"
        )
    if (year, quarter) in closed_periods(ops, contract_id):
        raise OperationError(
            f"{when.label} is closed: its values are locked — a late change to it is agreed "
            "as an adjustment in an open period (a dispute on the line it changes)"
        )
    basis = contract.outcomes.measurement if kind == "indicator" else "period"
    with ops.store.transaction() as tx:
        current = _current(ops, contract_id, year, quarter, kind, key)
        mid = tx.next_id("measurement_ids")
        tx.execute(
            f"INSERT INTO measurements ({', '.join(_COLUMNS)}, seal) VALUES "
            f"({', '.join('?' for _ in _COLUMNS)}, ?)",
            [
                mid,
                contract_id,
                year,
                quarter,
                kind,
                key,
                str(number),
                basis,
                source,
                actor,
                ops.now(),
                None,
                None,
                "submitted",
                None if current is None else current.measurement_id,
                None,
            ],
        )
        ops.reseal("measurements", "measurement_id = ?", [mid])
        ops.event(
            contract_id,
            actor,
            "submit_measurement",
            measurement=mid,
            period=period_label(year, quarter),
            kind=kind,
            key=key,
            value=str(number),
        )
    found = get(ops, mid)
    assert found is not None
    return found


def certify(ops: Operations, measurement_id: int, actor: str) -> Measurement:
    """Certify a submitted value; the person certifying must not be the one who submitted
    it. A restatement supersedes the value it replaces."""
    actor = require_actor(actor)
    with ops.store.transaction() as tx:
        m = get(ops, measurement_id)
        if m is None:
            raise OperationError(f"no measurement {measurement_id}")
        if m.status != "submitted":
            raise OperationError(f"measurement {measurement_id} is {m.status}, not awaiting")
        if m.submitted_by == actor:
            raise OperationError(f"{actor} submitted this value — another person must certify it")
        tx.execute(
            "UPDATE measurements SET status = 'certified', certified_by = ?, certified_at = ? "
            "WHERE measurement_id = ?",
            [actor, ops.now(), measurement_id],
        )
        tx.execute(
            "UPDATE measurements SET status = 'superseded' WHERE contract_id = ? AND year = ? "
            "AND quarter = ? AND kind = ? AND key = ? AND status = 'certified' "
            "AND measurement_id <> ?",
            [m.contract_id, m.year, m.quarter, m.kind, m.key, measurement_id],
        )
        ops.reseal(
            "measurements",
            "contract_id = ? AND year = ? AND quarter = ? AND kind = ? AND key = ?",
            [m.contract_id, m.year, m.quarter, m.kind, m.key],
        )
        ops.event(
            m.contract_id,
            actor,
            "certify_measurement",
            measurement=measurement_id,
            period=m.period,
            kind=m.kind,
            key=m.key,
            restates=m.supersedes,
        )
    found = get(ops, measurement_id)
    assert found is not None
    return found


def record(
    ops: Operations,
    contract_id: str,
    year: int,
    quarter: int,
    kind: str,
    key: str,
    value: str | Decimal | int | float,
    submitted_by: str,
    certified_by: str,
    source: str = "",
) -> Measurement:
    """Submit and certify in one step (two named people)."""
    with ops.store.transaction():
        m = submit(ops, contract_id, year, quarter, kind, key, value, submitted_by, source)
        return certify(ops, m.measurement_id, certified_by)


def get(ops: Operations, measurement_id: int) -> Measurement | None:
    """One measurement by id."""
    row = ops.store.one(
        f"SELECT {', '.join(_COLUMNS)} FROM measurements WHERE measurement_id = ?",
        [measurement_id],
    )
    return None if row is None else _from_row(row)


def _current(
    ops: Operations, contract_id: str, year: int, quarter: int, kind: str, key: str
) -> Measurement | None:
    row = ops.store.one(
        f"SELECT {', '.join(_COLUMNS)} FROM measurements WHERE contract_id = ? AND year = ? "
        "AND quarter = ? AND kind = ? AND key = ? AND status = 'certified'",
        [contract_id, year, quarter, kind, key],
    )
    return None if row is None else _from_row(row)


def certified(ops: Operations, contract_id: str, year: int, quarter: int) -> list[Measurement]:
    """The certified values in force for a period (restated ones excluded)."""
    rows = ops.store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM measurements WHERE contract_id = ? AND year = ? "
        "AND quarter = ? AND status = 'certified' ORDER BY kind, key",
        [contract_id, year, quarter],
    )
    return [_from_row(r) for r in rows]


def listing(ops: Operations, contract_id: str) -> list[Measurement]:
    """Every value ever submitted for a contract (submitted, certified and superseded)."""
    rows = ops.store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM measurements WHERE contract_id = ? "
        "ORDER BY year, quarter, kind, key, measurement_id",
        [contract_id],
    )
    return [_from_row(r) for r in rows]
