"""One contract walked through a year, as its finance teams would, on DuckDB and PostgreSQL.

Sign → a variation from Q3 → certify and settle Q1-Q4 → the outturn arrives after the
next year has begun → year-end → a dispute and its resolution → close → every party's
statement reconciles to the ledger and the audit file verifies on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ops_cases import (
    KEY,
    MEASURE_ADMISSIONS,
    MEASURE_HOME,
    certify,
    certify_outturn,
    contract_data,
    operations,
    paid,
    register_signed,
    settle,
)

from commissioning.operations import disputes, register, runs
from commissioning.operations.exports import (
    audit_file,
    contract_statement,
    payment_file,
    verify_audit_file,
)
from commissioning.settlement.statement import reconciles
from commissioning.store.records import open_records

YEARS = [
    {
        "year": y,
        "basis": "capitation",
        "value_at_risk": 0.1,
        "risk_share": {
            "corridors": [
                {"from_share": 0, "to_share": 0.02, "provider_share": 1},
                {"from_share": 0.02, "to_share": 0.1, "provider_share": 0.5},
            ]
        },
    }
    for y in (1, 2)
]


def _walk(ops, tmp_path: Path) -> None:
    cid = "home-first"
    base = contract_data(years=YEARS, outcomes={"measures": [MEASURE_HOME, MEASURE_ADMISSIONS]})
    register_signed(ops, base)
    assert register.status(ops, cid) == "signed"
    # Variation from 1 October 2025 (Q3): the budget rises to £1,200,000 a year.
    register_signed(
        ops,
        {
            **base,
            "version": "1.1",
            "effective_from": "2025-10-01",
            "finance": {"baseline_budget_gbp": 1_200_000},
        },
    )
    # Q1-Q4: outcomes at target ('home' 0.60, 'admissions' 150): all of the 10% is earned.
    for q in (1, 2, 3, 4):
        certify(ops, cid, 1, q, home="0.60", admissions="150")
        settle(ops, cid, 1, q)
    assert register.status(ops, cid) == "live"
    ledger = ops.ledger.lines(contract_id=cid)
    # 225,000 + 25,000 in Q1 and Q2; 270,000 + 30,000 in Q3 and Q4: £1,100,000 paid.
    assert paid(ledger, payee="prov") == 110_000_000
    # The next year begins before the outturn is known.
    certify(ops, cid, 2, 1, home="0.55", admissions="175")
    settle(ops, cid, 2, 1)
    # Outturn £1,050,000: £50,000 under the £1,100,000 paid (4.55% of the pro-rated
    # £1,100,000 budget): the provider keeps £22,000 (0-2%) + half of £28,000 (2% to
    # 4.55%) = £36,000 and returns £14,000.
    certify_outturn(ops, cid, 1, "1050000.00")
    ye = settle(ops, cid, 1, 5)
    assert [(ln.kind, ln.payer, ln.amount_pence) for ln in ye.lines] == [
        ("gain_share", "prov", 1_400_000)
    ]
    # The provider disputes £5,000 of the Q3 capitation; the commissioner agrees £2,000 less.
    q3 = next(ln for ln in ops.ledger.lines(contract_id=cid) if ln.quarter == 3)
    d = disputes.raise_dispute(ops, q3.line_id, "icb", 500_000, "activity moved", "Ann Analyst")
    held = payment_file(ops, cid)
    assert ",5000.00," in held
    disputes.resolve_dispute(
        ops, d.dispute_id, q3.amount_pence - 200_000, "£2,000 agreed", "Fay Finance"
    )
    # Close the year's quarters in order.
    for q in (1, 2, 3, 4):
        runs.close_period(ops, cid, 1, q, "Fay Finance")
    with pytest.raises(Exception, match="closed"):
        runs.draft_run(ops, cid, 1, 2, "Cat Manager")
    # Statements reconcile for every party and the ledger verifies.
    for party in ("icb", "prov"):
        s = contract_statement(ops, cid, party)
        assert reconciles(s, ops.ledger)
        assert s.verification is not None and s.verification.ok
    prov = contract_statement(ops, cid, "prov")
    # Received £1,100,000 in year 1, then Y2Q1 under version 1.1: core £270,000 and the
    # £30,000 outcome pot, each measure half-way (£7,500 of its £15,000): £285,000 ...
    assert prov.received_pence == 110_000_000 + 27_000_000 + 750_000 + 750_000
    # ... paid back: gain share £14,000 and the £2,000 correction.
    assert prov.paid_pence == 1_400_000 + 200_000
    # The audit file verifies on its own, with and without the key; an edit is caught.
    data = json.loads(json.dumps(audit_file(ops, cid), default=str))
    assert verify_audit_file(data).ok and verify_audit_file(data, KEY).ok
    assert data["ledger_head"]["entries"] == len(data["ledger"]) == ops.ledger.head().entries
    assert data["ledger_head"]["entry_hash"] == ops.ledger.head().entry_hash
    assert len(data["versions"]) == 2 and all(len(v["signatures"]) == 2 for v in data["versions"])
    forged = json.loads(json.dumps(data))
    forged["records"]["settlement_runs"][0]["approved_by"] = "Someone Else"
    assert verify_audit_file(forged, KEY).codes == {"unauthenticated"}
    mine = [e for e in data["ledger"] if "line_id" in e]
    mine[0]["amount_pence"] += 100
    assert "edited" in verify_audit_file(data).codes
    events = [e["action"] for e in ops.events(cid)]
    for action in (
        "register",
        "sign",
        "draft_run",
        "review_run",
        "approve_run",
        "post_run",
        "raise_dispute",
        "resolve_dispute",
        "close_period",
        "certify_measurement",
    ):
        assert action in events


def test_lifecycle_on_duckdb(tmp_path: Path) -> None:
    _walk(operations(anchor=tmp_path / "anchor.jsonl"), tmp_path)


@pytest.mark.postgres
def test_lifecycle_on_postgresql(tmp_path: Path, postgres_dsn: str) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS lifecycle")
        admin.execute("CREATE DATABASE lifecycle")
    dsn = postgres_dsn.rsplit("/", 1)[0] + "/lifecycle"
    _walk(operations(open_records(dsn), tmp_path / "anchor.jsonl"), tmp_path)
