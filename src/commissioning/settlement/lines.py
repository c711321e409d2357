"""Settlement lines and period inputs, with provenance and deterministic ids.

A :class:`SettlementLine` is one transfer of whole pence from a payer to a payee for one
contract version and one quarter. It carries its provenance: the contract id and content
hash, the period, the inputs that produced it (indicator values, counts, prices, the digest
of the event ids behind the counts) and a digest of the whole period's inputs.

Its ``line_id`` is a hash of (contract hash, period, kind, key, payer, payee), so re-settling
a period with the same contract version gives the same ids — and, with the same inputs, the
same lines — which is what makes posting to the ledger idempotent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LineKind = Literal[
    "block_instalment",
    "capitation",
    "activity",
    "year_of_care",
    "episode",
    "outcome_payment",
    "adjustment",
    "gain_share",
    "risk_share",
    "subcontract",
    "coordinator_fee",
    "provider_contract",
    "jv_distribution",
    "jv_contribution",
    "sib_capital",
    "sib_outcome_payment",
    "correction",
]


def sha256_hex(text: str) -> str:
    """SHA-256 of UTF-8 text, as hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical(data: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, decimals as strings) for hashing."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def event_digest(event_ids: Iterable[str]) -> str:
    """Digest of the event (spell, attendance, contact) ids behind a count: SHA-256 over the
    sorted, de-duplicated ids, so the same events give the same digest in any order."""
    return sha256_hex("\n".join(sorted(set(event_ids))))


#: The year-end of a contract year is settled as a period of its own, after quarter 4, when
#: the year's outturn is certified: ``quarter`` 5 (label ``Y1YE``).
YEAR_END = 5
#: Settlement periods in a contract year: four quarters and the year-end.
PERIODS_PER_YEAR = 5
#: The last period ordinal of the longest contract (15 years).
LAST_PERIOD_INDEX = 15 * PERIODS_PER_YEAR


def period_label(year: int, quarter: int) -> str:
    """Human label of a contract period, e.g. ``Y3Q2`` (year 3, quarter 2) or ``Y3YE``
    (year 3's year-end)."""
    return f"Y{year}YE" if quarter == YEAR_END else f"Y{year}Q{quarter}"


def period_index(year: int, quarter: int) -> int:
    """Ordinal of a period from 1 (``Y1Q1``), for ranges and ordering; the year-end follows
    quarter 4 (``Y1YE`` is 5, ``Y2Q1`` is 6)."""
    return (year - 1) * PERIODS_PER_YEAR + quarter


def parse_period(label: str) -> tuple[int, int]:
    """``(year, quarter)`` of a label such as ``Y2Q3`` or ``Y2YE``; ValueError otherwise."""
    text = label.strip().upper()
    try:
        if not text.startswith("Y"):
            raise ValueError
        if text.endswith("YE"):
            return int(text[1:-2]), YEAR_END
        year, quarter = text[1:].split("Q")
        y, q = int(year), int(quarter)
    except ValueError:
        raise ValueError(
            f"'{label}' is not a period — write Y<year>Q<quarter> (e.g. Y1Q2) or Y<year>YE"
        ) from None
    if not (1 <= y <= 15 and 1 <= q <= 4):
        raise ValueError(f"'{label}' is not a period — years run 1-15 and quarters 1-4")
    return y, q


def make_line_id(
    contract_hash: str, year: int, quarter: int, kind: str, key: str, payer: str, payee: str
) -> str:
    """Deterministic line id: the first 24 hex digits of a hash of what the line is."""
    return sha256_hex("|".join([contract_hash, str(year), str(quarter), kind, key, payer, payee]))[
        :24
    ]


@dataclass(frozen=True)
class SettlementLine:
    """One transfer of ``amount_pence`` (>= 0) from ``payer`` to ``payee``."""

    line_id: str
    contract_id: str
    contract_hash: str
    year: int
    quarter: int
    kind: str
    key: str
    payer: str
    payee: str
    amount_pence: int
    description: str
    inputs: tuple[tuple[str, str], ...] = field(default=())
    inputs_digest: str = ""
    corrects: str | None = None

    def __post_init__(self) -> None:
        if self.amount_pence < 0:
            raise ValueError("amount_pence must not be negative — swap payer and payee instead")
        if self.payer == self.payee:
            raise ValueError("payer and payee must differ")

    @property
    def period(self) -> str:
        """The period label, e.g. ``Y1Q4``."""
        return period_label(self.year, self.quarter)

    @property
    def period_index(self) -> int:
        """The period ordinal, 1 for ``Y1Q1``."""
        return period_index(self.year, self.quarter)

    def content(self) -> dict[str, Any]:
        """Everything the line says, as plain JSON-able data (used for hashing and storage)."""
        return {
            "line_id": self.line_id,
            "contract_id": self.contract_id,
            "contract_hash": self.contract_hash,
            "year": self.year,
            "quarter": self.quarter,
            "kind": self.kind,
            "key": self.key,
            "payer": self.payer,
            "payee": self.payee,
            "amount_pence": self.amount_pence,
            "description": self.description,
            "inputs": [list(pair) for pair in self.inputs],
            "inputs_digest": self.inputs_digest,
            "corrects": self.corrects,
        }

    def content_hash(self) -> str:
        """SHA-256 of :meth:`content`."""
        return sha256_hex(canonical(self.content()))

    @classmethod
    def from_content(cls, data: Mapping[str, Any]) -> SettlementLine:
        """Rebuild a line from :meth:`content`."""
        return cls(
            line_id=str(data["line_id"]),
            contract_id=str(data["contract_id"]),
            contract_hash=str(data["contract_hash"]),
            year=int(data["year"]),
            quarter=int(data["quarter"]),
            kind=str(data["kind"]),
            key=str(data["key"]),
            payer=str(data["payer"]),
            payee=str(data["payee"]),
            amount_pence=int(data["amount_pence"]),
            description=str(data["description"]),
            inputs=tuple((str(k), str(v)) for k, v in data["inputs"]),
            inputs_digest=str(data["inputs_digest"]),
            corrects=None if data.get("corrects") is None else str(data["corrects"]),
        )


class Adjustment(BaseModel):
    """An agreed in-year adjustment: ``amount_gbp`` from ``payer`` to ``payee``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference: str = Field(min_length=1)
    description: str
    payer: str
    payee: str
    amount_gbp: Decimal = Field(ge=0)


class PeriodInputs(BaseModel):
    """What was measured and counted in one quarter, the inputs to settling it.

    ``outturn_cost_gbp`` is the provider's (or alliance's) outturn cost for the whole
    contract year, given with quarter 4 to trigger the year-end reconciliation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(ge=1, le=15)
    quarter: int = Field(ge=1, le=4)
    indicator_values: dict[str, Decimal] = Field(default_factory=dict)
    activity_counts: dict[str, int] = Field(default_factory=dict)
    people_by_band: dict[str, int] = Field(default_factory=dict)
    episodes: int = Field(default=0, ge=0)
    sib_outcome_counts: dict[str, int] = Field(default_factory=dict)
    outturn_cost_gbp: Decimal | None = Field(default=None, ge=0)
    adjustments: list[Adjustment] = Field(default_factory=list)
    event_digest: str | None = None

    def digest(self) -> str:
        """SHA-256 of the canonical form of all the inputs."""
        return sha256_hex(canonical(self.model_dump(mode="json")))
