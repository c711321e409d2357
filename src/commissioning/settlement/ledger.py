"""The settlement ledger: append-only, hash-chained, authenticated and anchored (C16).

Every line paid under a contract is an entry of this ledger; nothing is ever updated or
deleted through it (:class:`Ledger` has no such method) and a correction is a new entry
that references the one it corrects. Anyone holding the ledger key can check that the
ledger is the one that was posted, with :meth:`Ledger.verify`:

* **every stored field is hashed**: ``content_hash`` is SHA-256 over the canonical JSON of
  all the columns an entry stores (amounts, parties, provenance, run, who posted it and
  when), so an edit to any of them is seen;
* **a hash chain**: ``entry_hash = SHA-256(prev_hash | seq | content_hash)``, so removing or
  reordering an entry breaks the chain;
* **authenticated entries**: ``mac = HMAC-SHA256(ledger key, entry_hash)``. The key is held
  by the application (an environment variable or key file), not by the database, so
  someone who can write to the database but does not hold the key cannot rewrite the chain
  with recomputed hashes nor append a forged entry;
* **an anchor outside the table**: after each commit the new head (sequence number, entry
  hash and MAC) is appended to an anchor file (:class:`LedgerAnchor`) and printed on every
  statement. Deleting entries at the end, which leaves a valid shorter chain, no longer
  matches the anchor.

Sequence numbers are gapless: each posting transaction locks a one-row head table and
takes the next number from it (see :mod:`commissioning.store.records`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from commissioning.settlement.lines import (
    LAST_PERIOD_INDEX,
    SettlementLine,
    canonical,
    make_line_id,
    period_index,
    sha256_hex,
)
from commissioning.store.records import RecordStore, wrap_duckdb

GENESIS_HASH = "0" * 64
#: Columns of an entry that describe the line and its posting, all covered by the hash.
CONTENT_COLUMNS = (
    "line_id",
    "contract_id",
    "contract_hash",
    "year",
    "quarter",
    "period_index",
    "kind",
    "key",
    "payer",
    "payee",
    "amount_pence",
    "description",
    "inputs_json",
    "inputs_digest",
    "corrects",
    "run_id",
    "posted_at",
    "posted_by",
)
_LINE_COLUMNS = CONTENT_COLUMNS[:15]
MIN_KEY_BYTES = 16


class LedgerError(ValueError):
    """A refused ledger operation; the message says why and what to do instead."""


@dataclass(frozen=True)
class LedgerHead:
    """The head of the ledger: how many entries, the last entry hash and its MAC."""

    entries: int
    entry_hash: str
    mac: str

    def __str__(self) -> str:
        return f"{self.entries} entries, head {self.entry_hash[:16]}"


@dataclass(frozen=True)
class LedgerCheck:
    """The result of :meth:`Ledger.verify`: ``codes`` names each kind of problem found
    (``edited``, ``gap``, ``chain_broken``, ``rewritten``, ``unauthenticated``,
    ``truncated``, ``head_mismatch``, ``not_anchored``)."""

    ok: bool
    entries: int
    head: str
    anchored_entries: int | None
    problems: list[str] = field(default_factory=list)
    codes: frozenset[str] = frozenset()

    def summary(self) -> str:
        """One line for people: verified, or how many problems."""
        if self.ok:
            anchor = (
                f", matches the anchor at entry {self.anchored_entries}"
                if self.anchored_entries
                else ""
            )
            return f"ledger verified: {self.entries} entries, head {self.head[:16]}{anchor}"
        return f"LEDGER DOES NOT VERIFY: {len(self.problems)} problem(s)"


def _entry_hash(prev_hash: str, seq: int, content_hash: str) -> str:
    return sha256_hex(f"{prev_hash}|{seq}|{content_hash}")


def _mac(key: bytes, entry_hash: str) -> str:
    return hmac.new(key, entry_hash.encode("ascii"), hashlib.sha256).hexdigest()


def content_hash_of(row: dict[str, Any]) -> str:
    """SHA-256 of an entry's stored content columns (canonical JSON)."""
    return sha256_hex(canonical({c: row[c] for c in CONTENT_COLUMNS}))


class LedgerAnchor:
    """An append-only file of ledger heads, kept outside the database.

    One JSON line per commit: ``{"entries": n, "entry_hash": ..., "mac": ..., "at": ...}``.
    Keep it where the database user cannot write (or copy it into the signed statements):
    it is what shows that nothing was removed from the end of the ledger.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def record(self, head: LedgerHead) -> None:
        """Append ``head`` (flushed to disk before returning)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "entries": head.entries,
            "entry_hash": head.entry_hash,
            "mac": head.mac,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def latest(self) -> LedgerHead | None:
        """The last head recorded, or ``None`` if nothing was anchored yet."""
        if not self.path.exists():
            return None
        last = None
        for text in self.path.read_text(encoding="utf-8").splitlines():
            if text.strip():
                last = json.loads(text)
        if last is None:
            return None
        return LedgerHead(int(last["entries"]), str(last["entry_hash"]), str(last["mac"]))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Ledger:
    """The ledger in table ``table`` of a record store (or an open DuckDB connection).

    ``key`` (at least 16 bytes) authenticates entries; ``anchor`` (optional) receives the
    head after every commit.
    """

    def __init__(
        self,
        store: RecordStore | Any,
        key: bytes,
        table: str = "settlement_ledger",
        anchor: LedgerAnchor | None = None,
    ) -> None:
        if not table.isidentifier():
            raise ValueError("table must be a plain identifier")
        if len(key) < MIN_KEY_BYTES:
            raise LedgerError(
                f"the ledger key must be at least {MIN_KEY_BYTES} bytes — set "
                "COMMISSIONING_LEDGER_KEY to a long secret"
            )
        self.store = store if isinstance(store, RecordStore) else wrap_duckdb(store)
        self.key = key
        self.table = table
        self.anchor = anchor
        self.store.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {table} (
                seq BIGINT PRIMARY KEY,
                line_id VARCHAR NOT NULL UNIQUE,
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
                run_id VARCHAR NOT NULL,
                posted_at VARCHAR NOT NULL,
                posted_by VARCHAR NOT NULL,
                content_hash VARCHAR NOT NULL,
                prev_hash VARCHAR NOT NULL,
                entry_hash VARCHAR NOT NULL,
                mac VARCHAR NOT NULL
            )
            """
        )
        self.store.execute(
            f"CREATE TABLE IF NOT EXISTS {table}_head "
            "(id INTEGER PRIMARY KEY, entries BIGINT NOT NULL, entry_hash VARCHAR NOT NULL)"
        )
        if self.store.one(f"SELECT id FROM {table}_head WHERE id = 1") is None:
            self.store.execute(
                f"INSERT INTO {table}_head VALUES (1, 0, ?) ON CONFLICT DO NOTHING",
                [GENESIS_HASH],
            )

    # -- writing ----------------------------------------------------------------------------
    def post(
        self, line: SettlementLine, run_id: str = "", posted_by: str = ""
    ) -> Literal["posted", "unchanged"]:
        """Append ``line``; a no-op for an identical line already posted.

        Raises :class:`LedgerError` if a line with the same id but different content exists.
        """
        with self.store.transaction() as tx:
            head = tx.one(
                f"SELECT entries, entry_hash FROM {self.table}_head WHERE id = 1" + tx.for_update()
            )
            assert head is not None
            existing = tx.one(
                f"SELECT {', '.join(_LINE_COLUMNS)} FROM {self.table} WHERE line_id = ?",
                [line.line_id],
            )
            if existing is not None:
                stored = dict(zip(_LINE_COLUMNS, existing, strict=True))
                if self._line_row(line) == {c: stored[c] for c in _LINE_COLUMNS}:
                    return "unchanged"
                raise LedgerError(
                    f"line {line.line_id} ({line.kind}, {line.period}) is already posted with "
                    "different content — the ledger is append-only: post a correction that "
                    "references it instead"
                )
            seq, prev = int(head[0]) + 1, str(head[1])
            row = self._line_row(line)
            row.update(run_id=run_id, posted_at=_now(), posted_by=posted_by)
            content = content_hash_of(row)
            entry = _entry_hash(prev, seq, content)
            mac = _mac(self.key, entry)
            columns = ("seq", *CONTENT_COLUMNS, "content_hash", "prev_hash", "entry_hash", "mac")
            values = [seq, *(row[c] for c in CONTENT_COLUMNS), content, prev, entry, mac]
            tx.execute(
                f"INSERT INTO {self.table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                values,
            )
            tx.execute(
                f"UPDATE {self.table}_head SET entries = ?, entry_hash = ? WHERE id = 1",
                [seq, entry],
            )
            if self.anchor is not None:
                anchor, new_head = self.anchor, LedgerHead(seq, entry, mac)
                tx.after_commit(lambda: anchor.record(new_head))
        return "posted"

    @staticmethod
    def _line_row(line: SettlementLine) -> dict[str, Any]:
        c = line.content()
        return {
            "line_id": c["line_id"],
            "contract_id": c["contract_id"],
            "contract_hash": c["contract_hash"],
            "year": c["year"],
            "quarter": c["quarter"],
            "period_index": period_index(line.year, line.quarter),
            "kind": c["kind"],
            "key": c["key"],
            "payer": c["payer"],
            "payee": c["payee"],
            "amount_pence": c["amount_pence"],
            "description": c["description"],
            "inputs_json": canonical(c["inputs"]),
            "inputs_digest": c["inputs_digest"],
            "corrects": c["corrects"],
        }

    def post_many(
        self, lines: list[SettlementLine], run_id: str = "", posted_by: str = ""
    ) -> dict[str, int]:
        """Post lines in order, in one transaction; counts of ``posted`` and ``unchanged``."""
        counts = {"posted": 0, "unchanged": 0}
        with self.store.transaction():
            for line in lines:
                counts[self.post(line, run_id, posted_by)] += 1
        return counts

    def correct(
        self,
        original_line_id: str,
        corrected_amount_pence: int,
        reason: str,
        year: int,
        quarter: int,
        run_id: str = "",
        posted_by: str = "",
    ) -> SettlementLine | None:
        """Post an adjusting entry so the original line nets to ``corrected_amount_pence``.

        The entry is a new line of kind ``correction`` in period ``(year, quarter)`` that
        references the original (``corrects``); the original is never changed. Returns the
        entry, or ``None`` if the original already nets to the corrected amount.
        """
        with self.store.transaction():
            original = self.get(original_line_id)
            if original is None:
                raise LedgerError(f"no line {original_line_id} to correct — check the id")
            if corrected_amount_pence < 0:
                raise LedgerError("corrected_amount_pence must not be negative")
            net = self.net_of_line(original)
            delta = corrected_amount_pence - net
            if delta == 0:
                return None
            earlier = len(self._corrections_of(original_line_id))
            payer, payee = (
                (original.payer, original.payee) if delta > 0 else (original.payee, original.payer)
            )
            key = f"{original_line_id}:{earlier + 1}"
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
            self.post(entry, run_id, posted_by)
        return entry

    # -- reading ----------------------------------------------------------------------------
    def _rows_to_lines(self, rows: list[tuple[Any, ...]]) -> list[SettlementLine]:
        out = []
        for row in rows:
            data = dict(zip(_LINE_COLUMNS, row, strict=True))
            data.pop("period_index")
            data["inputs"] = json.loads(data.pop("inputs_json"))
            out.append(SettlementLine.from_content(data))
        return out

    def _corrections_of(self, line_id: str) -> list[SettlementLine]:
        rows = self.store.query(
            f"SELECT {', '.join(_LINE_COLUMNS)} FROM {self.table} WHERE corrects = ? ORDER BY seq",
            [line_id],
        )
        return self._rows_to_lines(rows)

    def net_of_line(self, original: SettlementLine) -> int:
        """What ``original`` nets to after its corrections (in its payer-to-payee direction)."""
        return original.amount_pence + sum(
            ln.amount_pence if ln.payer == original.payer else -ln.amount_pence
            for ln in self._corrections_of(original.line_id)
        )

    def get(self, line_id: str) -> SettlementLine | None:
        """The line with ``line_id``, or ``None``."""
        rows = self.store.query(
            f"SELECT {', '.join(_LINE_COLUMNS)} FROM {self.table} WHERE line_id = ?", [line_id]
        )
        lines = self._rows_to_lines(rows)
        return lines[0] if lines else None

    def lines(
        self,
        party: str | None = None,
        contract_id: str | None = None,
        from_period: int = 1,
        to_period: int = LAST_PERIOD_INDEX,
    ) -> list[SettlementLine]:
        """Lines in posting order, optionally for one party (as payer or payee), one
        contract and a range of period ordinals (1 = Y1Q1, inclusive)."""
        sql = (
            f"SELECT {', '.join(_LINE_COLUMNS)} FROM {self.table} "
            "WHERE period_index BETWEEN ? AND ?"
        )
        params: list[Any] = [from_period, to_period]
        if party is not None:
            sql += " AND (payer = ? OR payee = ?)"
            params += [party, party]
        if contract_id is not None:
            sql += " AND contract_id = ?"
            params.append(contract_id)
        return self._rows_to_lines(self.store.query(sql + " ORDER BY seq", params))

    def postings(self, contract_id: str) -> list[dict[str, Any]]:
        """Every entry of one contract with its posting details (run, who, when)."""
        cols = ("seq", *CONTENT_COLUMNS)
        rows = self.store.query(
            f"SELECT {', '.join(cols)} FROM {self.table} WHERE contract_id = ? ORDER BY seq",
            [contract_id],
        )
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def totals(
        self,
        party: str,
        contract_id: str | None = None,
        from_period: int = 1,
        to_period: int = LAST_PERIOD_INDEX,
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
        row = self.store.one(sql, params)
        assert row is not None
        return int(row[0]), int(row[1])

    def head(self) -> LedgerHead:
        """The latest entry: count, entry hash and MAC (the genesis hash when empty)."""
        row = self.store.one(
            f"SELECT seq, entry_hash, mac FROM {self.table} ORDER BY seq DESC LIMIT 1"
        )
        if row is None:
            return LedgerHead(0, GENESIS_HASH, "")
        return LedgerHead(int(row[0]), str(row[1]), str(row[2]))

    def verify(self, anchor: LedgerHead | None = None) -> LedgerCheck:
        """Recompute every hash, the chain and every MAC, and compare with the anchor.

        ``anchor`` defaults to the latest head in this ledger's anchor file. Reads only.
        """
        if anchor is None and self.anchor is not None:
            anchor = self.anchor.latest()
        cols = ("seq", *CONTENT_COLUMNS, "content_hash", "prev_hash", "entry_hash", "mac")
        rows = self.store.query(f"SELECT {', '.join(cols)} FROM {self.table} ORDER BY seq")
        problems: list[tuple[str, str]] = []
        prev = GENESIS_HASH
        hashes: dict[int, str] = {}
        for position, values in enumerate(rows, start=1):
            row = dict(zip(cols, values, strict=True))
            seq = int(row["seq"])
            hashes[seq] = str(row["entry_hash"])
            if seq != position:
                problems.append(("gap", f"entry {position}: numbered {seq} — an entry is missing"))
            if content_hash_of(row) != row["content_hash"]:
                problems.append(("edited", f"entry {seq}: content does not match its hash"))
            if row["prev_hash"] != prev:
                problems.append(("chain_broken", f"entry {seq}: previous hash does not match"))
            expected = _entry_hash(str(row["prev_hash"]), seq, str(row["content_hash"]))
            if expected != row["entry_hash"]:
                problems.append(("rewritten", f"entry {seq}: entry hash does not match"))
            if not hmac.compare_digest(_mac(self.key, str(row["entry_hash"])), str(row["mac"])):
                problems.append(
                    (
                        "unauthenticated",
                        f"entry {seq}: not authenticated by the ledger key — forged or "
                        "rewritten outside the application",
                    )
                )
            prev = str(row["entry_hash"])
        head = self.store.one(f"SELECT entries, entry_hash FROM {self.table}_head WHERE id = 1")
        if head is not None and (int(head[0]), str(head[1])) != (len(rows), prev):
            problems.append(
                (
                    "head_mismatch",
                    f"the head table says {head[0]} entries but the ledger holds {len(rows)} "
                    "with another last hash",
                )
            )
        anchored = None
        if anchor is not None:
            anchored = anchor.entries
            if anchor.entries > len(rows):
                problems.append(
                    (
                        "truncated",
                        f"the anchor records {anchor.entries} entries but the ledger holds "
                        f"{len(rows)} — entries were removed from the end",
                    )
                )
            elif anchor.entries and hashes.get(anchor.entries) != anchor.entry_hash:
                problems.append(
                    (
                        "rewritten",
                        f"entry {anchor.entries} differs from the anchored head — the chain "
                        "was rewritten",
                    )
                )
            if anchor.mac and not hmac.compare_digest(
                _mac(self.key, anchor.entry_hash), anchor.mac
            ):
                problems.append(("unauthenticated", "the anchor itself is not authenticated"))
        return LedgerCheck(
            not problems,
            len(rows),
            prev,
            anchored,
            [message for _, message in problems],
            frozenset(code for code, _ in problems),
        )
