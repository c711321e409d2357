"""Contract versions: a content hash and a readable comparison of two versions.

The hash is SHA-256 over the canonical JSON of the validated contract (sorted keys, exact
decimals as strings), so two files that say the same thing — whatever their layout,
comments or key order — share a hash, and any change to a term changes it. Settlement
lines carry this hash so a payment can be traced to the exact terms that produced it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from commissioning.contracts.schema import Contract


def canonical_json(contract: Contract) -> str:
    """The canonical JSON text of a contract: sorted keys, decimals as strings, no spaces."""
    data = contract.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(contract: Contract) -> str:
    """SHA-256 (hex) of :func:`canonical_json` — the identity of this version's terms."""
    return hashlib.sha256(canonical_json(contract).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FieldChange:
    """One changed field between two versions; ``None`` for an added or removed value."""

    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.path}: added {self.new!r}"
        if self.new is None:
            return f"{self.path}: removed (was {self.old!r})"
        return f"{self.path}: {self.old!r} -> {self.new!r}"


def _walk(path: str, old: Any, new: Any, out: list[FieldChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            child = f"{path}.{key}" if path else str(key)
            _walk(child, old.get(key), new.get(key), out)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            _walk(
                f"{path}[{i}]",
                old[i] if i < len(old) else None,
                new[i] if i < len(new) else None,
                out,
            )
    elif old != new:
        out.append(FieldChange(path, old, new))


def compare_versions(old: Contract, new: Contract) -> list[FieldChange]:
    """Every field that differs between two contract versions, with old and new values.

    Lists are compared position by position (``years[2].value_at_risk``), which matches how
    the schedule and corridors are read.
    """
    changes: list[FieldChange] = []
    _walk("", old.model_dump(mode="json"), new.model_dump(mode="json"), changes)
    return changes


def describe_changes(changes: list[FieldChange]) -> str:
    """A readable list of changes, one per line; 'no changes' when there are none."""
    return "\n".join(str(c) for c in changes) if changes else "no changes"
