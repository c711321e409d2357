"""The contract register (C13): versions, signatures, variations and status.

A contract file is registered as a **version**, identified by its content hash
(:func:`commissioning.contracts.versions.content_hash`) and stored with the exact text
that was registered. Nothing ever changes a registered version: planning from data, a
new schedule or a corrected figure is a *new* version that people review
(``commissioning contract diff``), register and sign.

A version is **signed** once every party has signed it. The first signed version takes
effect at the contract's ``start_date``; a later one is a **variation** and takes effect
from its ``effective_from`` date. Settlement only ever uses signed versions, each for the
days it was in force.

Status of a contract: ``draft`` (registered, not yet signed by every party), ``signed``,
``live`` (a settlement run has been posted), ``ended`` (every period is settled and its
last year-end posted).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from commissioning.contracts.check import check_contract
from commissioning.contracts.load import ContractError, loads_contract
from commissioning.contracts.schema import Contract
from commissioning.contracts.versions import content_hash
from commissioning.operations.base import (
    OperationError,
    Operations,
    closed_periods,
    require_actor,
)
from commissioning.operations.calendar import calendar, effective_date


@dataclass(frozen=True)
class Version:
    """A registered version of a contract."""

    contract: Contract
    content_hash: str
    file_text: str
    registered_by: str
    registered_at: str
    signatures: dict[str, tuple[str, str]]  # party id -> (signed by, signed at)

    @property
    def unsigned_parties(self) -> list[str]:
        """Parties that have not signed yet."""
        return [p.id for p in self.contract.parties if p.id not in self.signatures]

    @property
    def signed(self) -> bool:
        """True once every party has signed."""
        return not self.unsigned_parties


def register_version(ops: Operations, text: str, source: str, actor: str) -> Version:
    """Register contract text as a new draft version; refuse text that does not check.

    Registering the same terms again returns the existing version. A second version of a
    contract that already has a signed version must say from when it applies
    (``effective_from``) and keep the start date and duration.
    """
    actor = require_actor(actor)
    try:
        contract = loads_contract(text, source)
    except ContractError as exc:
        raise OperationError(str(exc)) from None
    report = check_contract(contract, source)
    if not report.ok:
        problems = "\n".join(f"  - {p}" for p in report.problems)
        raise OperationError(f"{source} does not pass its checks:\n{problems}")
    chash = content_hash(contract)
    with ops.store.transaction() as tx:
        existing = get_version(ops, chash)
        if existing is not None:
            return existing
        clash = tx.one(
            "SELECT content_hash FROM contract_versions WHERE contract_id = ? AND version = ?",
            [contract.id, contract.version],
        )
        if clash is not None:
            raise OperationError(
                f"{contract.id} version {contract.version} is already registered with other "
                "terms — a registered version never changes: give the new terms a new "
                "version number"
            )
        signed = [v for v in versions(ops, contract.id) if v.signed]
        if signed:
            first = signed[0].contract
            if contract.effective_from is None:
                raise OperationError(
                    f"{contract.id} already has a signed version — a variation must say from "
                    "when it applies: add effective_from = YYYY-MM-DD"
                )
            if (contract.start_date, contract.duration_years) != (
                first.start_date,
                first.duration_years,
            ):
                raise OperationError(
                    "a variation keeps the contract's start_date and duration_years — "
                    f"they are {first.start_date} and {first.duration_years}"
                )
            closed = closed_periods(ops, contract.id)
            locked = [
                p.label
                for p in calendar(first)
                if (p.year, p.quarter) in closed and p.end >= contract.effective_from
            ]
            if locked:
                raise OperationError(
                    f"effective_from {contract.effective_from} reaches back into {locked[0]}, "
                    "which is closed and locked — a variation applies from a date in an open "
                    "period"
                )
            if {p.id for p in contract.parties} != {p.id for p in first.parties}:
                raise OperationError(
                    "a variation keeps the same parties — a change of party is a new contract"
                )
        tx.execute(
            "INSERT INTO contract_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                chash,
                contract.id,
                contract.version,
                effective_date(contract).isoformat(),
                text,
                hashlib.sha256(text.encode("utf-8")).hexdigest(),
                source,
                actor,
                ops.now(),
            ],
        )
        ops.reseal("contract_versions", "content_hash = ?", [chash])
        ops.event(contract.id, actor, "register", version=contract.version, hash=chash)
    version = get_version(ops, chash)
    assert version is not None
    return version


@functools.lru_cache(maxsize=512)
def _terms(chash: str, text: str, source: str) -> Contract:
    """The contract a registered text holds, checked against its content hash. Kept once
    read: the same hash, text and source always give the same (immutable) contract."""
    contract = loads_contract(text, source)
    if content_hash(contract) != chash:
        raise OperationError(
            f"registered version {chash[:12]} no longer has the terms it was registered with "
            "— it was changed outside the application; restore it and run 'contract verify'"
        )
    return contract


def _version_from_row(ops: Operations, row: tuple[object, ...]) -> Version:
    chash, text, source, by, at = (str(x) for x in row)
    contract = _terms(chash, text, source)
    sigs = {
        str(r[0]): (str(r[1]), str(r[2]))
        for r in ops.store.query(
            "SELECT party_id, signed_by, signed_at FROM contract_signatures WHERE content_hash = ?",
            [chash],
        )
    }
    return Version(contract, chash, text, by, at, sigs)


def get_version(ops: Operations, content_hash_or_prefix: str) -> Version | None:
    """The version with this content hash (or a unique prefix of at least 8 characters)."""
    key = content_hash_or_prefix.strip()
    if len(key) < 8:
        return None
    rows = ops.store.query(
        "SELECT content_hash, file_text, source, registered_by, registered_at "
        "FROM contract_versions WHERE content_hash LIKE ?",
        [key + "%"],
    )
    if len(rows) != 1:
        return None
    return _version_from_row(ops, rows[0])


def versions(ops: Operations, contract_id: str) -> list[Version]:
    """Every registered version of a contract, in order of effective date then version."""
    rows = ops.store.query(
        "SELECT content_hash, file_text, source, registered_by, registered_at "
        "FROM contract_versions WHERE contract_id = ? ORDER BY effective_from, registered_at",
        [contract_id],
    )
    return [_version_from_row(ops, r) for r in rows]


def find_version(ops: Operations, contract_id: str, version: str | None = None) -> Version:
    """A contract's version by its number (the latest registered if not given)."""
    found = versions(ops, contract_id)
    if not found:
        known = [
            str(r[0])
            for r in ops.store.query(
                "SELECT DISTINCT contract_id FROM contract_versions ORDER BY 1"
            )
        ]
        raise OperationError(
            f"no contract '{contract_id}' in the register — register it first"
            + (f" (registered: {', '.join(known)})" if known else "")
        )
    if version is None:
        return found[-1]
    for v in found:
        if v.contract.version == version:
            return v
    raise OperationError(
        f"{contract_id} has no version '{version}' — registered: "
        + ", ".join(v.contract.version for v in found)
    )


def sign(ops: Operations, contract_id: str, version: str, party_id: str, actor: str) -> Version:
    """Record that ``actor`` signed ``version`` for ``party_id``. Signing twice is refused."""
    actor = require_actor(actor)
    with ops.store.transaction() as tx:
        v = find_version(ops, contract_id, version)
        if party_id not in {p.id for p in v.contract.parties}:
            raise OperationError(
                f"'{party_id}' is not a party to {contract_id} — use one of "
                + ", ".join(p.id for p in v.contract.parties)
            )
        if party_id in v.signatures:
            by, at = v.signatures[party_id]
            raise OperationError(f"{party_id} already signed {contract_id} {version} ({by}, {at})")
        tx.execute(
            "INSERT INTO contract_signatures VALUES (?, ?, ?, ?, NULL)",
            [v.content_hash, party_id, actor, ops.now()],
        )
        ops.reseal(
            "contract_signatures", "content_hash = ? AND party_id = ?", [v.content_hash, party_id]
        )
        signed = find_version(ops, contract_id, version)
        if signed.signed and signed.contract.effective_from is None:
            clash = [
                o.contract.version
                for o in signed_versions(ops, contract_id)
                if o.content_hash != signed.content_hash
            ]
            if clash:
                raise OperationError(
                    f"{contract_id} version {clash[0]} is already signed — version {version} "
                    "would replace it silently: a variation must say from when it applies "
                    "(effective_from), so register it again with that date"
                )
        ops.event(contract_id, actor, "sign", version=version, party=party_id)
    return signed


def signed_versions(ops: Operations, contract_id: str) -> list[Version]:
    """The signed versions of a contract, in effective-date order."""
    return [v for v in versions(ops, contract_id) if v.signed]


def contract_ids(ops: Operations) -> list[str]:
    """Every contract in the register."""
    return [
        str(r[0])
        for r in ops.store.query("SELECT DISTINCT contract_id FROM contract_versions ORDER BY 1")
    ]


def status(ops: Operations, contract_id: str) -> str:
    """``draft``, ``signed``, ``live`` or ``ended`` (see the module docstring)."""
    all_versions = versions(ops, contract_id)
    signed = [v for v in all_versions if v.signed]
    if not signed:
        return "draft"
    posted = {
        (int(r[0]), int(r[1]))
        for r in ops.store.query(
            "SELECT year, quarter FROM settlement_runs WHERE contract_id = ? AND status = 'posted'",
            [contract_id],
        )
    }
    if not posted:
        return "signed"
    last = calendar(signed[-1].contract)[-1]
    return "ended" if (last.year, last.quarter) in posted else "live"
