"""Helpers for contract-operations tests: a record store in memory, contracts as TOML text.

Imported by the operations tests (pytest puts this folder on ``sys.path``)."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import tomli_w

from commissioning.operations import measurements, register, runs
from commissioning.operations.base import Operations, open_operations
from commissioning.store.records import RecordStore, open_records

KEY = b"operations-test-ledger-key"

MEASURE_HOME = {
    "indicator_id": "home",
    "name": "Living at home a year later",
    "tier": 3,
    "weight": 0.5,
    "baseline": 0.50,
    "target": 0.60,
    "polarity": "higher_is_better",
    "kind": "proportion",
    "curve": {"type": "linear"},
    "measured_from": "return",
    "definition": "Share of the cohort living in their own home 365 days later",
}
MEASURE_ADMISSIONS = {
    "indicator_id": "admissions",
    "name": "Emergency admissions per 1,000",
    "tier": 1,
    "weight": 0.5,
    "baseline": 200,
    "target": 150,
    "polarity": "lower_is_better",
    "kind": "rate_per_1000",
    "curve": {"type": "linear"},
    "measured_from": "return",
    "definition": "Emergency admissions of the cohort per 1,000 a year",
}


def contract_data(**overrides: Any) -> dict[str, Any]:
    """A two-year capitation contract between ``icb`` and ``prov``: £1,000,000 a year,
    starting 1 April 2025, nothing at risk, no risk share (override to add them)."""
    data: dict[str, Any] = {
        "id": "home-first",
        "version": "1.0",
        "title": "Home first: capitated contract",
        "scope": {"kind": "population", "cohort_rule": "age >= 75"},
        "services": [{"setting": "community"}],
        "duration_years": 2,
        "start_date": "2025-04-01",
        "form": {"type": "capitation_with_outcome_incentive", "provider": "prov"},
        "parties": [
            {"id": "icb", "name": "Integrated care board", "role": "commissioner"},
            {"id": "prov", "name": "Community provider", "role": "provider"},
        ],
        "finance": {"baseline_budget_gbp": 1_000_000},
        "years": [{"year": 1, "basis": "capitation"}, {"year": 2, "basis": "capitation"}],
    }
    for key, value in copy.deepcopy(overrides).items():
        data[key] = value
    return data


def toml_text(data: dict[str, Any]) -> str:
    """Contract data as TOML text (dates written as TOML dates)."""
    from datetime import date

    plain = json.loads(json.dumps(data))
    for key in ("start_date", "effective_from"):
        if key in plain:
            plain[key] = date.fromisoformat(plain[key])
    return tomli_w.dumps(plain)


def operations(store: RecordStore | None = None, anchor: Path | None = None) -> Operations:
    """An operations context on an in-memory DuckDB (or ``store``), with a fixed clock."""
    ticks = itertools.count(1)

    def clock() -> str:
        n = next(ticks)
        return f"2027-06-01T{9 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}+00:00"

    ops = open_operations(store or open_records("duckdb:///:memory:"), KEY, anchor)
    ops.now = clock
    runs.add_approver(ops, "Fay Finance", 10_000_000, "Admin")
    runs.add_approver(ops, "Sam Small", 1_000, "Admin")
    return ops


def register_signed(ops: Operations, data: dict[str, Any]) -> register.Version:
    """Register contract data and have every party sign it."""
    register.register_version(ops, toml_text(data), f"{data['id']}.toml", "Cat Manager")
    for party in data["parties"]:
        register.sign(ops, data["id"], data["version"], party["id"], f"Signatory {party['id']}")
    return register.find_version(ops, data["id"], data["version"])


def settle(ops: Operations, contract_id: str, year: int, quarter: int) -> runs.Run:
    """Draft, review, approve and post a period (three people)."""
    return runs.settle(
        ops,
        contract_id,
        year,
        quarter,
        prepared_by="Cat Manager",
        reviewed_by="Rob Reviewer",
        approved_by="Fay Finance",
    )


def certify(ops: Operations, contract_id: str, year: int, quarter: int, **values: object) -> None:
    """Submit (provider) and certify (commissioner) indicator values for a quarter."""
    for key, value in values.items():
        measurements.record(
            ops,
            contract_id,
            year,
            quarter,
            "indicator",
            key,
            str(value),
            "Pat Provider",
            "Ann Analyst",
        )


def certify_outturn(ops: Operations, contract_id: str, year: int, amount_gbp: object) -> None:
    """The year's outturn, submitted by the provider and certified by the commissioner."""
    measurements.record(
        ops, contract_id, year, 5, "outturn", "", str(amount_gbp), "Pat Provider", "Ann Analyst"
    )


def paid(lines: list[Any], kind: str | None = None, payee: str | None = None) -> int:
    """Pence of lines of ``kind`` paid to ``payee`` (either optional)."""
    return sum(
        ln.amount_pence
        for ln in lines
        if (kind is None or ln.kind == kind) and (payee is None or ln.payee == payee)
    )
