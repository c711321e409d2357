"""The disclosure audit: the published folder read as an outsider would read it.

:func:`audit_published` takes a folder written by :class:`.publish.Outputs` and tries
what an attacker with the files (and the manifest that says what each column is) would
try, returning a :class:`Finding` for each way a small number comes back:

1. **Files**: every file is listed in the manifest with the hash it was published with;
   no person-level file (Parquet, a database, a ledger anchor) and no person-level column.
2. **Rows**: no count from 1 to ``threshold - 1`` is shown; no figure derived from a
   hidden count (an interval, a rate, a mean, a share) is shown in its row, since it can
   be inverted; no rate gives back a small count (rate × denominator ÷ per); no text
   reads as an NHS number.
3. **Sums, across tables**: the rows of a table that divide a total (its ``parts`` within
   the same ``within`` values) add up to that total, which may be a row of the same table
   ("All") or of another published table, or a total nobody published that several tables
   share. Counts are whole numbers and never negative. Linear programming bounds each
   hidden count (its "feasibility interval", Hundepool et al., *Statistical Disclosure
   Control*, Wiley 2012, §4.3.2); a hidden count pinned to one value from 1 to
   ``threshold - 1`` is a finding. Rounded counts enter as intervals.

The audit re-reads the files; it shares no code with the gate that wrote them beyond the
manifest's names, so a fault in the gate is not repeated here.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Files that only person-level or working data comes in.
PERSON_LEVEL_SUFFIXES = (".parquet", ".duckdb", ".wal", ".jsonl", ".db", ".sqlite", ".arrow")
PERSON_LEVEL_COLUMNS = frozenset(
    {"person_id", "nhs_number", "pseudonym", "date_of_birth", "birth_date", "birth_month"}
)
TOTAL_LABELS = frozenset({"All", "All places", "Total", "all"})
_TEN = re.compile(r"(?<!\d)(?<!\d\.)(\d{3}[ -]?\d{3}[ -]?\d{4})(?!\d|\.\d)")


@dataclass(frozen=True)
class Finding:
    """One way a published file gives something back: which file, what kind, and where."""

    file: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}: {self.detail}"


def _nhs_check_digit_ok(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def reads_as_nhs_number(text: str) -> bool:
    """Ten digits (optionally spaced 3-3-4) passing the modulus 11 check."""
    for m in _TEN.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if len(digits) == 10 and _nhs_check_digit_ok(digits):
            return True
    return False


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _label(value: Any) -> str:
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if math.isfinite(number) and number == int(number) else text


def _row_findings(
    name: str, frame: pd.DataFrame, spec: dict[str, Any], threshold: int
) -> list[Finding]:
    found: list[Finding] = []
    for column in frame.columns:
        if str(column).lower() in PERSON_LEVEL_COLUMNS:
            found.append(Finding(name, "person-level column", str(column)))
        if (
            frame[column].dtype == object
            and frame[column].astype(str).map(reads_as_nhs_number).any()
        ):
            found.append(Finding(name, "NHS number", f"in column {column}"))
    counts = [c for c in spec.get("counts", []) if c in frame.columns]
    hidden = np.zeros(len(frame), dtype=bool)
    for c in counts:
        v = _numbers(frame, c)
        small = ~np.isnan(v) & (v > 0) & (v < threshold)
        for i in np.flatnonzero(small):
            found.append(Finding(name, "small count shown", f"row {i + 2}, column {c}"))
        hidden |= np.isnan(v)
    flag = spec.get("hidden_flag")
    if flag and flag in frame.columns:
        hidden = frame[flag].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    for c in [c for c in spec.get("derived", []) if c in frame.columns]:
        leak = hidden & ~np.isnan(_numbers(frame, c))
        for i in np.flatnonzero(leak):
            found.append(
                Finding(name, "figure of a hidden count shown", f"row {i + 2}, column {c}")
            )
    for c, (denominator, per) in spec.get("implied", {}).items():
        if c not in frame.columns or denominator not in frame.columns:
            continue
        events = np.round(_numbers(frame, c) * _numbers(frame, denominator) / float(per))
        small = ~np.isnan(events) & (events > 0) & (events < threshold)
        for i in np.flatnonzero(small):
            found.append(Finding(name, "rate gives back a small count", f"row {i + 2}, column {c}"))
    return found


class _Sums:
    """Every count cell of the published tables as an unknown, named by what it counts
    (column and labels, so the same cell in two tables is one unknown), its bounds (a
    shown count is fixed; a hidden one is at least 0) and the sums that tie them."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}
        self.where: list[str] = []
        self.bounds: list[tuple[float, float | None]] = []
        self.sensitive: list[bool] = []
        self.equations: list[dict[int, float]] = []

    def cell(
        self,
        key: Any,
        where: str,
        bounds: tuple[float, float | None] | None,
        hidden: bool = True,
    ) -> int:
        """The unknown of ``key``: shown within ``bounds``, or (``bounds`` None) hidden
        here, or only named (a total nobody published, ``hidden`` False)."""
        if key not in self.index:
            self.index[key] = len(self.bounds)
            self.where.append(where)
            self.bounds.append((0.0, None))
            self.sensitive.append(False)
        k = self.index[key]
        if bounds is None and not hidden:
            return k
        if bounds is None:
            if self.bounds[k] == (0.0, None):
                self.sensitive[k] = True
                self.where[k] = where
        else:
            self.bounds[k] = bounds
            self.sensitive[k] = False
        return k


def _relations(spec: dict[str, Any]) -> list[tuple[str, list[str]]]:
    out = []
    if spec.get("parts"):
        out.append((spec["parts"], list(spec.get("within", []))))
    out += [(p, list(w)) for p, w in spec.get("also", [])]
    return out


def _add_table(sums: _Sums, name: str, frame: pd.DataFrame, spec: dict[str, Any]) -> None:
    relations = [(p, w) for p, w in _relations(spec) if {p, *w} <= set(frame.columns)]
    if not relations:
        return
    labels = sorted({c for p, w in relations for c in (p, *w)})
    half = (spec.get("rounded_to") or 0) / 2
    text = {c: [_label(v) for v in frame[c]] for c in labels}
    for c in [c for c in spec.get("counts", []) if c in frame.columns]:
        values = _numbers(frame, c)
        keys = []
        for i, v in enumerate(values):
            named = frozenset(
                (lab, text[lab][i]) for lab in labels if text[lab][i] not in TOTAL_LABELS
            )
            shown = None if np.isnan(v) else (v - half, v + half)
            keys.append(sums.cell((c, named), f"{name} row {i + 2}, column {c}", shown))
        for parts, within in relations:
            groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
            for i in range(len(frame)):
                if text[parts][i] in TOTAL_LABELS:
                    continue
                groups[tuple(text[w][i] for w in within)].append(i)
            for key, rows in groups.items():
                named = frozenset(
                    (w, v) for w, v in zip(within, key, strict=True) if v not in TOTAL_LABELS
                )
                total = sums.cell((c, named), f"total of {c} for {dict(named)}", None, hidden=False)
                terms: dict[int, float] = defaultdict(float)
                for i in rows:
                    terms[keys[i]] += 1.0
                terms[total] -= 1.0
                sums.equations.append(dict(terms))


def _pinned(sums: _Sums, threshold: int) -> list[tuple[str, float]]:
    from scipy.optimize import linprog

    n = len(sums.bounds)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for terms in sums.equations:
        ks = list(terms)
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])
    members: dict[int, list[int]] = defaultdict(list)
    for k in range(n):
        members[find(k)].append(k)
    out: list[tuple[str, float]] = []
    for group in members.values():
        targets = [k for k in group if sums.sensitive[k]]
        if not targets:
            continue
        pos = {k: j for j, k in enumerate(group)}
        rows = [t for t in sums.equations if next(iter(t)) in pos]
        if not rows:
            continue
        a_eq = np.zeros((len(rows), len(group)))
        for r, terms in enumerate(rows):
            for k, coef in terms.items():
                a_eq[r, pos[k]] = coef
        b_eq = np.zeros(len(rows))
        box = [sums.bounds[k] for k in group]
        for k in targets:
            objective = np.zeros(len(group))
            objective[pos[k]] = 1.0
            low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
            if low.status == 2:
                out.append((sums.where[k], math.nan))
                break
            high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
            if low.status != 0 or high.status != 0:
                continue  # unbounded: not pinned
            lo, hi = low.fun, -high.fun
            # a whole number is pinned when its interval holds only one whole number
            whole = range(math.ceil(lo - 1e-6), math.floor(hi + 1e-6) + 1)
            if len(whole) == 1 and 1 <= whole[0] < threshold:
                out.append((sums.where[k], float(whole[0])))
    return out


def audit_published(folder: Path, threshold: int | None = None) -> list[Finding]:
    """Everything in the published ``folder`` that gives back a small number, or that
    should not be there. An empty list is a clean folder."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return [Finding("manifest.json", "missing", "a published folder lists its files")]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    t = int(threshold or manifest.get("threshold") or 8)
    files: dict[str, dict[str, Any]] = manifest.get("files", {})
    found: list[Finding] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == "manifest.json":
            continue
        if path.suffix.lower() in PERSON_LEVEL_SUFFIXES:
            found.append(Finding(rel, "person-level file", "never in a published folder"))
        if rel not in files:
            found.append(Finding(rel, "not in the manifest", "published without the gate"))
        elif files[rel].get("sha256") != hashlib.sha256(path.read_bytes()).hexdigest():
            found.append(Finding(rel, "changed after publication", "hash differs"))
        elif path.suffix == ".html":
            text = re.sub(
                r"<script.*?</script>|<[^>]+>", " ", path.read_text(encoding="utf-8"), flags=re.S
            )
            if reads_as_nhs_number(text):
                found.append(Finding(rel, "NHS number", "in the page's text"))
    sums = _Sums()
    for rel, spec in files.items():
        if spec.get("kind") != "table" or not (folder / rel).is_file():
            continue
        frame = pd.read_csv(folder / rel, dtype=str, keep_default_na=False, na_values=[""])
        found += _row_findings(rel, frame, spec, t)
        _add_table(sums, rel, frame, spec)
    for where, value in _pinned(sums, t):
        file = where.split(" ")[0]
        if math.isnan(value):
            found.append(Finding(file, "published sums disagree", f"around {where}"))
        else:
            found.append(Finding(file, "hidden count recoverable", f"{where} is {value:g}"))
    return found


__all__ = ["Finding", "audit_published", "reads_as_nhs_number"]
