"""The append-only ledger and the statements drawn from it."""

from __future__ import annotations

import csv
import dataclasses
import io

import duckdb
import pytest
from settlement_cases import CORRIDORS_2_10, MEASURE_A, MEASURE_B, make

from commissioning.settlement.ledger import Ledger, LedgerError
from commissioning.settlement.lines import PeriodInputs, period_index
from commissioning.settlement.settle import settle_period
from commissioning.settlement.statement import (
    build_statement,
    reconciles,
    statement_csv,
    statement_html,
)


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(duckdb.connect())


@pytest.fixture
def year_lines() -> list:
    c = make(
        years=[
            {
                "year": 1,
                "basis": "capitation",
                "value_at_risk": 0.1,
                "risk_share": {"corridors": CORRIDORS_2_10},
            }
        ],
        outcomes={"measures": [MEASURE_A, MEASURE_B]},
    )
    lines = []
    for q in (1, 2, 3, 4):
        inputs = PeriodInputs(
            year=1,
            quarter=q,
            indicator_values={"a": "0.575", "b": 15},
            outturn_cost_gbp=900_000 if q == 4 else None,
        )
        lines += settle_period(c, inputs)
    return lines


def test_posting_is_idempotent(ledger: Ledger, year_lines: list) -> None:
    assert ledger.post_many(year_lines) == {"posted": len(year_lines), "unchanged": 0}
    assert ledger.post_many(year_lines) == {"posted": 0, "unchanged": len(year_lines)}
    assert len(ledger.lines()) == len(year_lines)


def test_refuses_a_changed_line_with_an_existing_id(ledger: Ledger, year_lines: list) -> None:
    ledger.post_many(year_lines)
    edited = dataclasses.replace(year_lines[0], amount_pence=year_lines[0].amount_pence + 1)
    with pytest.raises(LedgerError, match="append-only: post a correction"):
        ledger.post(edited)
    assert not hasattr(ledger, "update") and not hasattr(ledger, "delete")


def test_a_correction_is_an_adjusting_entry(ledger: Ledger, year_lines: list) -> None:
    ledger.post_many(year_lines)
    original = year_lines[0]  # Q1 capitation £225,000
    entry = ledger.correct(original.line_id, 22_400_000, "budget restated", year=1, quarter=2)
    assert entry is not None
    assert entry.corrects == original.line_id
    assert (entry.payer, entry.payee, entry.amount_pence) == ("prov", "icb", 100_000)
    assert ledger.get(original.line_id) == original  # never edited
    # Correcting again to the same amount adds nothing; back up again reverses direction.
    assert ledger.correct(original.line_id, 22_400_000, "again", year=1, quarter=2) is None
    back = ledger.correct(original.line_id, 22_500_000, "restated back", year=1, quarter=3)
    assert back is not None and (back.payer, back.amount_pence) == ("icb", 100_000)
    assert ledger.verify().ok


def test_tampering_behind_the_api_is_detected(ledger: Ledger, year_lines: list) -> None:
    ledger.post_many(year_lines)
    assert ledger.verify().ok
    ledger.conn.execute(
        "UPDATE settlement_ledger SET amount_pence = amount_pence + 1 WHERE seq = 3"
    )
    check = ledger.verify()
    assert not check.ok
    assert any("entry 3" in p and "edited" in p for p in check.problems)


def test_deleting_behind_the_api_is_detected(ledger: Ledger, year_lines: list) -> None:
    ledger.post_many(year_lines)
    ledger.conn.execute("DELETE FROM settlement_ledger WHERE seq = 2")
    assert not ledger.verify().ok


def test_statement_reconciles_to_the_ledger(ledger: Ledger, year_lines: list) -> None:
    ledger.post_many(year_lines)
    ledger.correct(year_lines[0].line_id, 22_400_000, "restated", year=1, quarter=4)
    s = build_statement(ledger, "prov", "spec", period_index(1, 1), period_index(1, 4))
    assert reconciles(s, ledger)
    # Capitation 4 x £225,000 + outcomes 4 x (A 0.75 x £15,000 + B £10,000) = 900,000 +
    # 85,000 = £985,000 received; paid: gain share £40,000 + correction £1,000.
    assert s.received_pence == 98_500_000
    assert s.paid_pence == 4_100_000
    assert s.net_pence == ledger.totals("prov")[0] - ledger.totals("prov")[1]
    rows = list(csv.reader(io.StringIO(statement_csv(s))))
    assert rows[0][0] == "period" and rows[-1][-3] == "944000.00"
    page = statement_html(s)
    assert "£944,000.00" in page and "http" not in page and "<script" not in page
    q1 = build_statement(ledger, "prov", None, 1, 1)
    assert reconciles(q1, ledger) and q1.received_pence == 22_500_000 + 2_125_000
