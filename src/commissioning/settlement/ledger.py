"""The settlement ledger: append-only, hash-chained, on DuckDB (C16).

DuckDB has no triggers, so append-only is enforced by the API: :class:`Ledger` has no
update or delete. :meth:`Ledger.post` appends a line; posting a line whose id is already in
the ledger is a no-op when the content is identical (so re-settling a period changes
nothing) and an error when it differs (a correction must be a new adjusting entry,
:meth:`Ledger.correct`, that references the original).

Each entry stores the SHA-256 of its content and ``entry_hash = SHA-256(prev_hash | seq |
content_hash)``, chaining it to the entry before. :meth:`Ledger.verify` recomputes both, so
an edit or deletion made behind the API (plain SQL) is detected. Recording
:meth:`Ledger.head` outside the database (e.g. in the signed quarterly statement) also
protects against someone rewriting the whole chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from commissioning.settlement.lines import (
    SettlementLine,
    canonical,
    make_line_id,
    period_index,
    sha256_hex,
)

GENESIS_HASH = "0" * 64
_COLUMNS = (
    "line_id",
    "contract_id",
    "contract_hash",
    "year",
    "quarter",
    "kind",
    "key",
    "payer",
    "payee",
    "amount_pence",
    "description",
    "inputs_json",
    "inputs_digest",
    "corrects",
)


class LedgerError(ValueError):
    """A refused ledger operation; the message says why and what to do instead."""


@dataclass(frozen=True)
class LedgerCheck:
    """The result of :meth:`Ledger.verify`."""

    ok: bool
    entries: int
    problems: list[str] = field(default_factory=list)


def _entry_hash(prev_hash: str, seq: int, content_hash: str) -> str:
    return sha256_hex(f"{prev_hash}|{seq}|{content_hash}")


class Ledger:
    """An append-only ledger of settlement lines in table ``table`` of a DuckDB connection.

    The connection is passed in (in memory for tests, a file for real use); the table is
    created if absent.
    """

    def __init__(self, conn: Any, table: str = "settlement_ledger") -> None:
        if not table.isidentifier():
            raise ValueError("table must be a plain identifier")
        self.conn = conn
        self.table = table
        conn.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {table} (
                seq BIGINT PRIMARY KEY,
                line_id VARCHAR NOT NULL,
                contract_id VARCHAR NOT NULL,
                contract_hash VARCHAR NOT NULL,
                year INTEGER NOT NULL,
                quarter INTEGER NOT NULL,
                period_index INTEGER NOT NULL,
                kind VARCHAR NOT NULL,
                key VARCHAR NOT NULL,
                payer VARCHAR NOT NULL,
                payee VARCHAR NOT NULL,
                amount_pence BIGINT NOT NULL,
                description VARCHAR NOT NULL,
                inputs_json VARCHAR NOT NULL,
                inputs_digest VARCHAR NOT NULL,
                corrects VARCHAR,
                content_hash VARCHAR NOT NULL,
                prev_hash VARCHAR NOT NULL,
                entry_hash VARCHAR NOT NULL
            )
            """
        )

    # -- writing ----------------------------------------------------------------------------
    def _one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
        """The first row of a query, reading the result to its end so that nothing is left
        pending on the shared connection (DuckDB refuses some statements while a result
        is open)."""
        rows = self.conn.execute(sql, params or []).fetchall()
        return tuple(rows[0]) if rows else None

    def post(self, line: SettlementLine) -> Literal["posted", "unchanged"]:
        """Append ``line``; a no-op for an identical line already posted.

        Raises :class:`LedgerError` if a line with the same id but different content exists.
        """
        existing = self._one(
            f"SELECT content_hash FROM {self.table} WHERE line_id = ?", [line.line_id]
        )
        new_hash = line.content_hash()
        if existing is not None:
            if existing[0] == new_hash:
                return "unchanged"
            raise LedgerError(
                f"line {line.line_id} ({line.kind}, {line.period}) is already posted with "
                "different content — the ledger is append-only: post a correction that "
                "references it instead"
            )
        last = self._one(f"SELECT seq, entry_hash FROM {self.table} ORDER BY seq DESC LIMIT 1")
        seq, prev = (1, GENESIS_HASH) if last is None else (int(last[0]) + 1, str(last[1]))
        c = line.content()
        self.conn.execute(
            f"INSERT INTO {self.table} VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                seq,
                c["line_id"],
                c["contract_id"],
                c["contract_hash"],
                c["year"],
                c["quarter"],
                period_index(line.year, line.quarter),
                c["kind"],
                c["key"],
                c["payer"],
                c["payee"],
                c["amount_pence"],
                c["description"],
                canonical(c["inputs"]),
                c["inputs_digest"],
                c["corrects"],
                new_hash,
                prev,
                _entry_hash(prev, seq, new_hash),
            ],
        )
        return "posted"

    def post_many(self, lines: list[SettlementLine]) -> dict[str, int]:
        """Post lines in order; counts of ``posted`` and ``unchanged``."""
        counts = {"posted": 0, "unchanged": 0}
        for line in lines:
            counts[self.post(line)] += 1
        return counts

    def correct(
        self,
        original_line_id: str,
        corrected_amount_pence: int,
        reason: str,
        year: int,
        quarter: int,
    ) -> SettlementLine | None:
        """Post an adjusting entry so the original line nets to ``corrected_amount_pence``.

        The entry is a new line of kind ``correction`` in period ``(year, quarter)`` that
        references the original (``corrects``); the original is never changed. Returns the
        entry, or ``None`` if the original already nets to the corrected amount.
        """
        original = self.get(original_line_id)
        if original is None:
            raise LedgerError(f"no line {original_line_id} to correct — check the id")
        if corrected_amount_pence < 0:
            raise LedgerError("corrected_amount_pence must not be negative")
        earlier = [ln for ln in self.lines() if ln.corrects == original_line_id]
        net = original.amount_pence + sum(
            ln.amount_pence if ln.payer == original.payer else -ln.amount_pence for ln in earlier
        )
        delta = corrected_amount_pence - net
        if delta == 0:
            return None
        payer, payee = (
            (original.payer, original.payee) if delta > 0 else (original.payee, original.payer)
        )
        key = f"{original_line_id}:{len(earlier) + 1}"
        entry = SettlementLine(
            line_id=make_line_id(
                original.contract_hash, year, quarter, "correction", key, payer, payee
            ),
            contract_id=original.contract_id,
            contract_hash=original.contract_hash,
            year=year,
            quarter=quarter,
            kind="correction",
            key=key,
            payer=payer,
            payee=payee,
            amount_pence=abs(delta),
            description=f"Correction of {original.kind} {original.period}: {reason}",
            inputs=(
                ("corrected_amount_pence", str(corrected_amount_pence)),
                ("previous_net_pence", str(net)),
                ("reason", reason),
            ),
            inputs_digest=original.inputs_digest,
            corrects=original_line_id,
        )
        self.post(entry)
        return entry

    # -- reading ----------------------------------------------------------------------------
    def _rows_to_lines(self, rows: list[tuple[Any, ...]]) -> list[SettlementLine]:
        out = []
        for row in rows:
            data = dict(zip(_COLUMNS, row, strict=True))
            data["inputs"] = json.loads(data.pop("inputs_json"))
            out.append(SettlementLine.from_content(data))
        return out

    def get(self, line_id: str) -> SettlementLine | None:
        """The line with ``line_id``, or ``None``."""
        rows = self.conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM {self.table} WHERE line_id = ?", [line_id]
        ).fetchall()
        lines = self._rows_to_lines(rows)
        return lines[0] if lines else None

    def lines(
        self,
        party: str | None = None,
        contract_id: str | None = None,
        from_period: int = 1,
        to_period: int = 60,
    ) -> list[SettlementLine]:
        """Lines in posting order, optionally for one party (as payer or payee), one
        contract and a range of period ordinals (1 = Y1Q1, inclusive)."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM {self.table} WHERE period_index BETWEEN ? AND ?"
        params: list[Any] = [from_period, to_period]
        if party is not None:
            sql += " AND (payer = ? OR payee = ?)"
            params += [party, party]
        if contract_id is not None:
            sql += " AND contract_id = ?"
            params.append(contract_id)
        return self._rows_to_lines(self.conn.execute(sql + " ORDER BY seq", params).fetchall())

    def totals(
        self, party: str, contract_id: str | None = None, from_period: int = 1, to_period: int = 60
    ) -> tuple[int, int]:
        """(received, paid) pence for ``party``, summed by the database."""
        sql = (
            "SELECT COALESCE(SUM(CASE WHEN payee = ? THEN amount_pence ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN payer = ? THEN amount_pence ELSE 0 END), 0) "
            f"FROM {self.table} WHERE period_index BETWEEN ? AND ?"
        )
        params: list[Any] = [party, party, from_period, to_period]
        if contract_id is not None:
            sql += " AND contract_id = ?"
            params.append(contract_id)
        received, paid = self._one(sql, params)  # type: ignore[misc]
        return int(received), int(paid)

    def head(self) -> str:
        """The latest entry hash (the genesis hash for an empty ledger)."""
        row = self._one(f"SELECT entry_hash FROM {self.table} ORDER BY seq DESC LIMIT 1")
        return GENESIS_HASH if row is None else str(row[0])

    def verify(self) -> LedgerCheck:
        """Recompute every content hash and the hash chain; report what does not match."""
        rows = self.conn.execute(
            f"SELECT seq, {', '.join(_COLUMNS)}, content_hash, prev_hash, entry_hash "
            f"FROM {self.table} ORDER BY seq"
        ).fetchall()
        problems: list[str] = []
        prev = GENESIS_HASH
        for position, row in enumerate(rows, start=1):
            seq = int(row[0])
            data = dict(zip(_COLUMNS, row[1 : 1 + len(_COLUMNS)], strict=True))
            stored_content, stored_prev, stored_entry = row[1 + len(_COLUMNS) :]
            data["inputs"] = json.loads(data.pop("inputs_json"))
            recomputed = SettlementLine.from_content(data).content_hash()
            if seq != position:
                problems.append(f"entry {position}: sequence number is {seq} — an entry is missing")
            if recomputed != stored_content:
                problems.append(f"entry {seq}: content does not match its hash — it was edited")
            if stored_prev != prev:
                problems.append(f"entry {seq}: previous hash does not match — the chain is broken")
            if _entry_hash(stored_prev, seq, stored_content) != stored_entry:
                problems.append(f"entry {seq}: entry hash does not match — it was rewritten")
            prev = stored_entry
        return LedgerCheck(not problems, len(rows), problems)
