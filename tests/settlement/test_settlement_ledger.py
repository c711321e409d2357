"""The append-only ledger and the statements drawn from it."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import hmac
import io
from pathlib import Path

import duckdb
import pytest
from settlement_cases import CORRIDORS_2_10, MEASURE_A, MEASURE_B, TEST_KEY, make

from commissioning.settlement.ledger import (
    CONTENT_COLUMNS,
    Ledger,
    LedgerAnchor,
    LedgerError,
    content_hash_of,
)
from commissioning.settlement.lines import PeriodInputs, SettlementLine, period_index
from commissioning.settlement.settle import settle_period
from commissioning.settlement.statement import (
    build_statement,
    reconciles,
    statement_csv,
    statement_html,
)


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(duckdb.connect(), TEST_KEY)


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
    lines: list[SettlementLine] = []
    for q in (1, 2, 3, 4):
        inputs = PeriodInputs(
            year=1,
            quarter=q,
            indicator_values={"a": "0.575", "b": 15},
            outturn_cost_gbp=900_000 if q == 4 else None,
        )
        lines += settle_period(c, inputs, lines)
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


@pytest.fixture
def anchored(tmp_path: Path, year_lines: list) -> Ledger:
    """A ledger of one settled year with an anchor file outside the database."""
    ledger = Ledger(duckdb.connect(), TEST_KEY, anchor=LedgerAnchor(tmp_path / "anchor.jsonl"))
    ledger.post_many(year_lines, run_id="run-1", posted_by="Finance Approver")
    assert ledger.verify().ok
    return ledger


def _sql(ledger: Ledger, sql: str, params: list | None = None) -> None:
    """A direct edit to the database, behind the ledger's API (what an attacker would do)."""
    ledger.store.execute(sql, params or [])


def _forge(ledger: Ledger, seq: int, key: bytes | None, **changes: object) -> None:
    """Rewrite entry ``seq`` and every entry after it with recomputed hashes (and MACs made
    with ``key``, e.g. a key that is not the ledger's) — a chain rewritten consistently."""
    cols = ("seq", *CONTENT_COLUMNS, "content_hash", "prev_hash", "entry_hash", "mac")
    rows = [
        dict(zip(cols, r, strict=True))
        for r in ledger.store.query(f"SELECT {', '.join(cols)} FROM settlement_ledger ORDER BY seq")
    ]
    prev = rows[seq - 2]["entry_hash"] if seq > 1 else "0" * 64
    for row in rows[seq - 1 :]:
        if row["seq"] == seq:
            row.update(changes)
        row["content_hash"] = content_hash_of(row)
        row["prev_hash"] = prev
        row["entry_hash"] = hashlib.sha256(
            f"{prev}|{row['seq']}|{row['content_hash']}".encode()
        ).hexdigest()
        row["mac"] = hmac.new(key or b"x" * 16, row["entry_hash"].encode(), "sha256").hexdigest()
        _sql(ledger, "DELETE FROM settlement_ledger WHERE seq = ?", [row["seq"]])
        _sql(
            ledger,
            f"INSERT INTO settlement_ledger ({', '.join(cols)}) VALUES "
            f"({', '.join('?' for _ in cols)})",
            [row[c] for c in cols],
        )
        prev = row["entry_hash"]
    _sql(ledger, "UPDATE settlement_ledger_head SET entries = ?, entry_hash = ?", [len(rows), prev])


def test_an_edited_amount_is_detected(anchored: Ledger) -> None:
    _sql(
        anchored, "UPDATE settlement_ledger SET amount_pence = amount_pence + 100000 WHERE seq = 3"
    )
    check = anchored.verify()
    assert not check.ok and "edited" in check.codes
    assert any(p.startswith("entry 3:") for p in check.problems)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("description", "Capitation (restated)"),
        ("inputs_digest", "0" * 64),
        ("payee", "someone-else"),
        ("run_id", "run-99"),
        ("posted_by", "Nobody"),
        ("period_index", 9),
        ("corrects", "abc"),
    ],
)
def test_every_stored_field_is_hashed(anchored: Ledger, column: str, value: object) -> None:
    _sql(anchored, f"UPDATE settlement_ledger SET {column} = ? WHERE seq = 2", [value])
    assert "edited" in anchored.verify().codes


def test_a_deleted_middle_entry_is_detected(anchored: Ledger) -> None:
    _sql(anchored, "DELETE FROM settlement_ledger WHERE seq = 2")
    assert {"gap", "chain_broken"} <= anchored.verify().codes


def test_deleting_the_last_entry_is_detected_by_the_anchor(anchored: Ledger) -> None:
    n = anchored.head().entries
    _sql(anchored, "DELETE FROM settlement_ledger WHERE seq = ?", [n])
    # The attacker also moves the head table back, so the shorter chain is self-consistent.
    row = anchored.store.one("SELECT entry_hash FROM settlement_ledger WHERE seq = ?", [n - 1])
    assert row is not None
    _sql(anchored, "UPDATE settlement_ledger_head SET entries = ?, entry_hash = ?", [n - 1, row[0]])
    check = anchored.verify()
    assert check.codes == {"truncated"}
    # Without the anchor the shorter chain would look whole: the anchor is what catches it.
    assert Ledger(anchored.store, TEST_KEY).verify(None).ok


def test_a_rewritten_chain_with_recomputed_hashes_is_detected(anchored: Ledger) -> None:
    _forge(anchored, 3, None, amount_pence=1)
    check = anchored.verify()
    assert "unauthenticated" in check.codes and "edited" not in check.codes
    # Even a forger who rewrote every hash and MAC with the real key is caught by the anchor.
    _forge(anchored, 3, TEST_KEY, amount_pence=2)
    assert anchored.verify().codes == {"rewritten"}


def test_a_forged_appended_entry_is_detected(anchored: Ledger, year_lines: list) -> None:
    n = anchored.head().entries
    last = anchored.store.one("SELECT * FROM settlement_ledger WHERE seq = ?", [n])
    assert last is not None
    cols = ("seq", *CONTENT_COLUMNS, "content_hash", "prev_hash", "entry_hash", "mac")
    row = dict(
        zip(
            cols,
            anchored.store.one(
                f"SELECT {', '.join(cols)} FROM settlement_ledger WHERE seq = ?", [n]
            )
            or (),
            strict=True,
        )
    )
    row.update(seq=n + 1, line_id="forged0000000000000000", amount_pence=2_139_452)
    _sql(
        anchored,
        f"INSERT INTO settlement_ledger ({', '.join(cols)}) "
        f"VALUES ({', '.join('?' for _ in cols)})",
        [row[c] for c in cols],
    )
    _forge(anchored, n + 1, None)
    assert "unauthenticated" in anchored.verify().codes


def test_verify_and_statements_are_read_only(anchored: Ledger) -> None:
    before = anchored.store.query("SELECT * FROM settlement_ledger ORDER BY seq")
    anchor_text = anchored.anchor.path.read_text() if anchored.anchor else ""
    anchored.verify()
    build_statement(anchored, "prov", "spec")
    assert anchored.store.query("SELECT * FROM settlement_ledger ORDER BY seq") == before
    assert anchored.anchor is not None and anchored.anchor.path.read_text() == anchor_text


def test_a_statement_reports_tampering(anchored: Ledger) -> None:
    _sql(
        anchored, "UPDATE settlement_ledger SET amount_pence = amount_pence + 100000 WHERE seq = 1"
    )
    s = build_statement(anchored, "prov", "spec")
    assert reconciles(s, anchored)  # the sums agree with the tampered table ...
    assert s.verification is not None and not s.verification.ok  # ... but it does not verify
    assert "DOES NOT VERIFY" in statement_html(s)


def test_the_anchor_records_every_commit(anchored: Ledger) -> None:
    assert anchored.anchor is not None
    latest = anchored.anchor.latest()
    assert latest is not None and latest == anchored.head()


def test_statement_reconciles_to_the_ledger(ledger: Ledger, year_lines: list) -> None:
    ledger.post_many(year_lines)
    ledger.correct(year_lines[0].line_id, 22_400_000, "restated", year=1, quarter=4)
    s = build_statement(ledger, "prov", "spec", period_index(1, 1), period_index(1, 4))
    assert reconciles(s, ledger)
    # Capitation 4 x £225,000 + outcomes 4 x (A 0.75 x £15,000 + B £10,000) = 900,000 +
    # 85,000 = £985,000 received. Year end on the amount paid: £985,000 against an outturn
    # of £900,000 is an underspend of £85,000 (8.5% of the £1m budget); the provider keeps
    # £20,000 (0-2%) + half of £65,000 (2-8.5%) = £52,500 and returns £32,500. Paid: gain
    # share £32,500 + correction £1,000.
    assert s.received_pence == 98_500_000
    assert s.paid_pence == 3_350_000
    assert s.net_pence == ledger.totals("prov")[0] - ledger.totals("prov")[1]
    rows = list(csv.reader(io.StringIO(statement_csv(s))))
    assert rows[0][0] == "period" and rows[-2][-4] == "951500.00"
    page = statement_html(s)
    assert "£951,500.00" in page and "http" not in page and "<script" not in page
    q1 = build_statement(ledger, "prov", None, 1, 1)
    assert reconciles(q1, ledger) and q1.received_pence == 22_500_000 + 2_125_000
