"""What leaves the system of record: statements, payment files and the audit file.

* :func:`contract_statement` — a party's statement of one contract, read from the ledger
  with the ledger's verification; it reads only.
* :func:`payment_file` — the payment lines of posted runs for a finance system (accounts
  payable / receivable): one row per run and pair of parties, netted, with the posting
  date, a reference, the amount, the amount held by open disputes and the amount to pay.
* :func:`audit_file` / :func:`verify_audit_file` — everything an auditor needs to check a
  contract's money on its own: the registered versions (exact text and hashes, with who
  signed them), the runs, the disputes, every ledger entry of the contract in full and, for
  the entries of other contracts in the same chain, only their hashes (so the chain can be
  recomputed without revealing other contracts), and the contract's sealed records (versions,
  signatures, values, runs with their approvals, closures, disputes, approvers).
  :func:`verify_audit_file` recomputes every hash and the chain without the database; with
  the ledger key it checks every MAC and every record's seal too.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from commissioning.core.csvsafe import SafeWriter
from commissioning.operations.base import SEALED, OperationError, Operations, seal_of
from commissioning.operations.disputes import disputes, held_by_line
from commissioning.operations.register import versions
from commissioning.operations.runs import runs
from commissioning.settlement.ledger import (
    CONTENT_COLUMNS,
    GENESIS_HASH,
    LedgerCheck,
    content_hash_of,
)
from commissioning.settlement.lines import sha256_hex
from commissioning.settlement.money import to_gbp
from commissioning.settlement.statement import Statement, build_statement

AUDIT_FORMAT = "commissioning-audit-1"


def contract_statement(ops: Operations, contract_id: str, party: str) -> Statement:
    """A party's statement of one contract (reads only): the ledger's lines with the
    ledger's verification, the amounts held by open disputes, and the measures of the
    latest posted quarter still awaiting certification."""
    statement = build_statement(ops.ledger, party, contract_id)
    notes = []
    posted = [r for r in runs(ops, contract_id) if r.status == "posted" and r.awaiting]
    if posted:
        last = posted[-1]
        notes.append(
            f"Awaiting certified values (nothing paid on them yet) at {last.period}: "
            + ", ".join(last.awaiting)
        )
    return replace(statement, held_pence=held_by_line(ops, contract_id), notes=notes)


def payment_file(ops: Operations, contract_id: str) -> str:
    """Payment lines of the contract's posted runs as CSV (see the module docstring).

    Refused when the ledger or the contract's records do not verify: a finance system must
    never be fed from a ledger that was changed behind the application."""
    check = ops.ledger.verify()
    seals = ops.broken_seals(contract_id)
    if not check.ok or seals:
        raise OperationError(
            "the ledger or the records do not verify — no payment file is written; run "
            "'contract verify':\n" + "\n".join(f"  - {p}" for p in [*check.problems, *seals])
        )
    held = held_by_line(ops, contract_id)
    posted_at: dict[str, str] = {}
    for r in runs(ops, contract_id):
        if r.status == "posted" and r.posted_at:
            posted_at[r.tag] = r.posted_at
    totals: dict[tuple[str, str, str, str], list[int]] = {}
    for entry in ops.ledger.postings(contract_id):
        payer, payee = str(entry["payer"]), str(entry["payee"])
        run = str(entry["run_id"])
        a, b = sorted((payer, payee))
        sign = 1 if payer == a else -1
        key = (run, str(entry["posted_at"])[:10], a, b)
        cell = totals.setdefault(key, [0, 0])
        cell[0] += sign * int(entry["amount_pence"])
        cell[1] += sign * held.get(str(entry["line_id"]), 0)
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(
        [
            "reference",
            "posting_date",
            "contract_id",
            "payer",
            "payee",
            "amount_gbp",
            "held_gbp",
            "payable_gbp",
        ]
    )

    def order(item: tuple[tuple[str, str, str, str], list[int]]) -> tuple[str, int, str, str]:
        (run, _, a, b), _ = item
        prefix, _, number = run.rpartition("-")
        return (prefix, int(number) if number.isdigit() else 0, a, b)

    for (run, day, a, b), (net, hold) in sorted(totals.items(), key=order):
        if net == 0:
            continue
        payer, payee = (a, b) if net > 0 else (b, a)
        amount, held_amount = abs(net), hold if net > 0 else -hold
        held_amount = max(0, min(held_amount, amount))
        writer.writerow(
            [
                run,
                posted_at.get(run, day)[:10],
                contract_id,
                payer,
                payee,
                str(to_gbp(amount)),
                str(to_gbp(held_amount)),
                str(to_gbp(amount - held_amount)),
            ]
        )
    return buffer.getvalue()


def audit_file(ops: Operations, contract_id: str) -> dict[str, Any]:
    """The audit record of one contract (see the module docstring)."""
    cols = ("seq", *CONTENT_COLUMNS, "content_hash", "prev_hash", "entry_hash", "mac")
    rows = ops.store.query(f"SELECT {', '.join(cols)} FROM {ops.ledger.table} ORDER BY seq")
    chain = []
    for values in rows:
        row = dict(zip(cols, values, strict=True))
        if row["contract_id"] == contract_id:
            chain.append(row)
        else:
            chain.append(
                {k: row[k] for k in ("seq", "content_hash", "prev_hash", "entry_hash", "mac")}
            )
    head = ops.ledger.anchor.latest() if ops.ledger.anchor is not None else None
    return {
        "format": AUDIT_FORMAT,
        "contract_id": contract_id,
        "versions": [
            {
                "version": v.contract.version,
                "content_hash": v.content_hash,
                "file_text": v.file_text,
                "file_sha256": hashlib.sha256(v.file_text.encode("utf-8")).hexdigest(),
                "registered_by": v.registered_by,
                "registered_at": v.registered_at,
                "signatures": {p: list(s) for p, s in v.signatures.items()},
            }
            for v in versions(ops, contract_id)
        ],
        "runs": [
            {
                "run": r.tag,
                "period": r.period,
                "status": r.status,
                "gross_pence": r.gross_pence,
                "prepared_by": r.prepared_by,
                "reviewed_by": r.reviewed_by,
                "approved_by": r.approved_by,
                "posted_by": r.posted_by,
                "posted_at": r.posted_at,
            }
            for r in runs(ops, contract_id)
        ],
        "disputes": [d.__dict__ for d in disputes(ops, contract_id)],
        "ledger_head": {
            "entries": len(chain),
            "entry_hash": chain[-1]["entry_hash"] if chain else GENESIS_HASH,
        },
        "ledger": chain,
        "anchor": None
        if head is None
        else {"entries": head.entries, "entry_hash": head.entry_hash, "mac": head.mac},
        "events": ops.events(contract_id),
        "records": _sealed_records(ops, contract_id),
    }


def _sealed_records(ops: Operations, contract_id: str) -> dict[str, list[dict[str, Any]]]:
    """The contract's rows of every sealed table, exactly as stored, with their seals."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in SEALED:
        if table == "contract_signatures":
            sql = (
                "SELECT * FROM contract_signatures WHERE content_hash IN "
                "(SELECT content_hash FROM contract_versions WHERE contract_id = ?)"
            )
        elif table == "approvers":
            out[table] = ops.store.query_dicts("SELECT * FROM approvers ORDER BY 1")
            continue
        else:
            sql = f"SELECT * FROM {table} WHERE contract_id = ?"
        out[table] = ops.store.query_dicts(sql + " ORDER BY 1", [contract_id])
    return out


def write_audit_file(ops: Operations, contract_id: str, path: str | Path) -> Path:
    """Write :func:`audit_file` as JSON."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(audit_file(ops, contract_id), indent=1, default=str), "utf-8")
    return target


def verify_audit_file(data: dict[str, Any], key: bytes | None = None) -> LedgerCheck:
    """Check an audit file on its own: version hashes, every content hash of the contract's
    entries, the whole chain, the anchor and (given the key) every MAC."""
    problems: list[tuple[str, str]] = []
    from commissioning.contracts.load import loads_contract
    from commissioning.contracts.versions import content_hash

    for v in data.get("versions", []):
        text = str(v["file_text"])
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != v["file_sha256"]:
            problems.append(("edited", f"version {v['version']}: file text does not match"))
        elif content_hash(loads_contract(text, "audit")) != v["content_hash"]:
            problems.append(("edited", f"version {v['version']}: terms do not match the hash"))
    prev = GENESIS_HASH
    chain = data.get("ledger", [])
    for position, row in enumerate(chain, start=1):
        seq = int(row["seq"])
        if seq != position:
            problems.append(("gap", f"entry {position}: numbered {seq}"))
        if "line_id" in row and content_hash_of(row) != row["content_hash"]:
            problems.append(("edited", f"entry {seq}: content does not match its hash"))
        if row["prev_hash"] != prev:
            problems.append(("chain_broken", f"entry {seq}: previous hash does not match"))
        if sha256_hex(f"{row['prev_hash']}|{seq}|{row['content_hash']}") != row["entry_hash"]:
            problems.append(("rewritten", f"entry {seq}: entry hash does not match"))
        if key is not None:
            mac = hmac.new(key, str(row["entry_hash"]).encode("ascii"), hashlib.sha256)
            if not hmac.compare_digest(mac.hexdigest(), str(row["mac"])):
                problems.append(("unauthenticated", f"entry {seq}: not authenticated"))
        prev = str(row["entry_hash"])
    if key is not None:
        for table, rows in data.get("records", {}).items():
            for row in rows:
                if not hmac.compare_digest(seal_of(key, table, row), str(row.get("seal"))):
                    problems.append(("unauthenticated", f"{table} row changed: {row}"[:200]))
    anchor = data.get("anchor")
    if anchor is not None:
        if int(anchor["entries"]) > len(chain):
            problems.append(("truncated", "the anchor records more entries than the file"))
        elif (
            int(anchor["entries"])
            and chain[int(anchor["entries"]) - 1]["entry_hash"] != anchor["entry_hash"]
        ):
            problems.append(("rewritten", "the anchored entry differs"))
    head = data.get("ledger_head")
    if head is not None and (int(head["entries"]), str(head["entry_hash"])) != (len(chain), prev):
        problems.append(("head_mismatch", "the file's stated head is not its last entry"))
    return LedgerCheck(
        not problems,
        len(chain),
        prev,
        None if anchor is None else int(anchor["entries"]),
        [m for _, m in problems],
        frozenset(c for c, _ in problems),
    )
