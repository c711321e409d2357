"""The period calendar of a contract and the versions in force in each period. Pure.

Contract year ``y`` runs from ``start_date`` moved on ``y - 1`` years to the day before the
next; its quarters are three calendar months each (Y1Q1 of a contract starting 1 April 2025
is 1 April to 30 June 2025). The year-end (``Y1YE``) covers the whole year and is settled
after quarter 4, once the outturn is certified.

A variation takes effect from its ``effective_from`` date; within a period each version
counts for the days it was in force (:func:`versions_in_force`), which is how a mid-year
variation is pro-rated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from commissioning.contracts.schema import Contract
from commissioning.settlement.lines import YEAR_END, period_index, period_label


def add_months(day: date, months: int) -> date:
    """``day`` moved on by whole months, clipped to the month's last day."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(f"cannot move {day} by {months} months")  # pragma: no cover


@dataclass(frozen=True)
class Period:
    """One settlement period: a quarter, or a year-end (``quarter`` 5), with its dates."""

    year: int
    quarter: int
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        """``Y1Q2`` or ``Y1YE``."""
        return period_label(self.year, self.quarter)

    @property
    def index(self) -> int:
        """Ordinal for ordering (the year-end follows quarter 4)."""
        return period_index(self.year, self.quarter)

    @property
    def days(self) -> int:
        """Number of days, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def is_year_end(self) -> bool:
        """True for a year-end period."""
        return self.quarter == YEAR_END


def period(contract: Contract, year: int, quarter: int) -> Period:
    """The period ``(year, quarter)`` of ``contract`` with its dates."""
    if not 1 <= year <= contract.duration_years:
        raise ValueError(
            f"Y{year} is outside the contract — it runs years 1 to {contract.duration_years}"
        )
    year_start = add_months(contract.start_date, 12 * (year - 1))
    if quarter == YEAR_END:
        return Period(year, quarter, year_start, add_months(year_start, 12) - timedelta(days=1))
    start = add_months(year_start, 3 * (quarter - 1))
    return Period(year, quarter, start, add_months(start, 3) - timedelta(days=1))


def calendar(contract: Contract) -> list[Period]:
    """Every period of the contract in settlement order: Y1Q1..Y1Q4, Y1YE, Y2Q1, ..."""
    return [
        period(contract, y, q)
        for y in range(1, contract.duration_years + 1)
        for q in (1, 2, 3, 4, YEAR_END)
    ]


def effective_date(contract: Contract) -> date:
    """The date a version's terms take effect: ``effective_from``, else ``start_date``."""
    return contract.effective_from or contract.start_date


@dataclass(frozen=True)
class VersionShare:
    """A version in force for ``days`` of a period's ``period_days``."""

    contract: Contract
    content_hash: str
    days: int
    period_days: int


def versions_in_force(versions: Sequence[tuple[Contract, str]], when: Period) -> list[VersionShare]:
    """The signed versions ``(contract, content hash)`` in force during ``when``, each with
    its days, in date order. Each version runs from its effective date until the next
    version's. Raises ValueError when no version covers part of the period."""
    ordered = sorted(versions, key=lambda v: (effective_date(v[0]), v[0].version))
    shares: list[VersionShare] = []
    for i, (contract, chash) in enumerate(ordered):
        start = effective_date(contract)
        end = (
            effective_date(ordered[i + 1][0]) - timedelta(days=1)
            if i + 1 < len(ordered)
            else date.max
        )
        lo, hi = max(start, when.start), min(end, when.end)
        if lo <= hi:
            shares.append(VersionShare(contract, chash, (hi - lo).days + 1, when.days))
    covered = sum(s.days for s in shares)
    if covered != when.days:
        raise ValueError(
            f"no signed version covers all of {when.label} ({when.start} to {when.end}) — "
            "sign a version in force from the contract's start date"
        )
    return shares
