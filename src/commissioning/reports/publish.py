"""The one gate between the analyses and anything sent to other people.

Every run of the reports writes into two folders under one root, never mixed:

* ``published/`` is safe to send to anyone: the report pack (HTML pages sharing one chart
  library and one stylesheet in ``assets/``) and the CSV tables behind it, each listed in
  ``manifest.json`` with what every column is. Nothing reaches it except through
  :meth:`Outputs.table`, :meth:`Outputs.page` and the assets this module copies.
* ``restricted/`` holds what must not leave the organisation: person-level files (the
  person-year table, the list of people who would gain most), unsuppressed working
  tables, the store, the contract working papers and statements. Its ``README.txt``
  says so, and so does every page written there.

:meth:`Outputs.table` refuses (:class:`PublicationRefused`, naming the table, the column
and the fix) a table that

* has a column the writer did not declare as a count, a figure derived from counts, a
  label or a figure safe for a stated reason (so nothing is published by accident);
* has a person-level column (a person identifier, an NHS number, a date of birth);
* shows a count from 1 to ``threshold - 1``, or a count that is not a whole number;
* shows a figure derived from a hidden count in the same row (a rate, an interval, a
  mean, a share, spend per head: each gives the count back);
* shows a rate whose count (rate × denominator ÷ per) is from 1 to ``threshold - 1``;
* has a text cell that reads as an NHS number.

The outsider's check of the whole folder, across tables, is :mod:`.audit`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from commissioning.core.csvsafe import write_csv
from commissioning.core.suppression import DEFAULT_THRESHOLD
from commissioning.data.pseudonymise import nhs_number_valid

PUBLISHED = "published"
RESTRICTED = "restricted"
MANIFEST = "manifest.json"
ASSETS = "assets"

#: Column names that only person-level data has; never in a published table.
PERSON_LEVEL_COLUMNS = frozenset(
    {
        "person_id",
        "nhs_number",
        "pseudonym",
        "date_of_birth",
        "birth_date",
        "birth_month",
        "date_of_death",
        "postcode",
    }
)
#: Values of a label column that mark the total of its other values (a margin).
TOTAL_LABELS = frozenset({"All", "All places", "Total", "all"})

RESTRICTED_NOTE = """RESTRICTED: NOT FOR PUBLICATION

This folder holds person-level data (pseudonymised), unsuppressed working tables, the
record store and contract working papers. Keep it inside the organisation, on storage
approved for personal data, and share nothing from it. Anything for other people is in
the folder "published" beside this one, which has passed the small-number gate.
"""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*(/[a-z0-9][a-z0-9_\-]*)*\.(csv|html)$")
_TEN_DIGITS = re.compile(r"(?<!\d)(?<!\d\.)(\d{3}[ -]?\d{3}[ -]?\d{4})(?!\d|\.\d)")


class PublicationRefused(ValueError):
    """A table or page that must not be published, with what to change."""


@dataclass(frozen=True)
class Disclosure:
    """What each column of a published table is, declared by the code that writes it.

    ``counts`` are whole numbers of people or events; ``derived`` are figures computed from
    the counts of the same row (hidden with them); ``implied`` maps a rate column to its
    denominator column and multiplier (events = rate × denominator ÷ per), for rates whose
    count is not itself published; ``labels`` are numeric columns that name a group (year,
    decile, rank); ``safe`` maps any other numeric column to the reason it gives back no
    small count. ``parts`` names the label column whose values divide a total (the row
    whose value is in :data:`TOTAL_LABELS`, here or in another published table), for the
    audit's sums; ``rounded_to`` records rounding of the visible counts."""

    counts: Sequence[str] = ()
    derived: Sequence[str] = ()
    implied: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    labels: Sequence[str] = ()
    safe: Mapping[str, str] = field(default_factory=dict)
    parts: str | None = None
    within: Sequence[str] = ()
    """With ``parts``: the label columns that, with it, name a row (the rows of one value
    of ``within`` divide one total)."""
    also: Sequence[tuple[str, Sequence[str]]] = ()
    """Further (parts, within) sums, for a table of two or more dimensions."""
    rounded_to: int | None = None
    hidden_flag: str | None = None
    """A True/False column saying which rows are suppressed, for tables where a missing
    count can also mean "not applicable" (the numerator of a mean)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "counts": list(self.counts),
            "derived": list(self.derived),
            "implied": {k: list(v) for k, v in self.implied.items()},
            "labels": list(self.labels),
            "safe": dict(self.safe),
            "parts": self.parts,
            "within": list(self.within),
            "also": [[p, list(w)] for p, w in self.also],
            "rounded_to": self.rounded_to,
            "hidden_flag": self.hidden_flag,
        }


def _is_text(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def nhs_like(text: str) -> bool:
    """True if ``text`` contains ten digits (optionally spaced 3-3-4) that pass the NHS
    number's modulus 11 check."""
    for m in _TEN_DIGITS.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if bool(nhs_number_valid(np.array([digits]))[0]):
            return True
    return False


def check_table(name: str, frame: pd.DataFrame, d: Disclosure, threshold: int) -> None:
    """Raise :class:`PublicationRefused` if ``frame`` may not be published as ``name``."""
    roles = [*d.counts, *d.derived, *d.implied, *d.labels, *d.safe]
    for column in frame.columns:
        c = str(column)
        if c.lower() in PERSON_LEVEL_COLUMNS:
            raise PublicationRefused(
                f"{name}: column {c!r} is person-level; person-level data goes to the "
                "restricted folder, never to the published one"
            )
        if c not in roles and not _is_text(frame[column]):
            raise PublicationRefused(
                f"{name}: column {c!r} is a number the gate cannot classify; declare it as "
                "a count, derived from counts, an implied rate, a label, or safe with a reason"
            )
    missing = [c for c in roles if c not in frame.columns]
    if missing:
        raise PublicationRefused(f"{name}: declared columns {missing} are not in the table")
    hidden_row = np.zeros(len(frame), dtype=bool)
    for c in d.counts:
        values = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        shown = ~np.isnan(values)
        if (values[shown] < 0).any() or (values[shown] != np.round(values[shown])).any():
            raise PublicationRefused(f"{name}: count column {c!r} has values that are not counts")
        small = shown & (values > 0) & (values < threshold)
        if small.any():
            raise PublicationRefused(
                f"{name}: column {c!r} shows {int(small.sum())} count(s) from 1 to "
                f"{threshold - 1}; suppress them (and any cell that gives them back)"
            )
        hidden_row |= ~shown
    if d.hidden_flag is not None:
        if d.hidden_flag not in frame.columns:
            raise PublicationRefused(
                f"{name}: no column {d.hidden_flag!r} says which rows are hidden"
            )
        hidden_row = frame[d.hidden_flag].astype(bool).to_numpy()
        for c in d.counts:
            values = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
            if (hidden_row & ~np.isnan(values)).any():
                raise PublicationRefused(
                    f"{name}: column {c!r} is shown in a row marked {d.hidden_flag}; hide it"
                )
    for c in d.derived:
        values = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        leak = hidden_row & ~np.isnan(values)
        if leak.any():
            raise PublicationRefused(
                f"{name}: column {c!r} is shown in {int(leak.sum())} row(s) whose count is "
                "hidden; a figure derived from a hidden count gives it back: hide it too"
            )
    for c, (denominator, per) in d.implied.items():
        rate = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        base = pd.to_numeric(frame[denominator], errors="coerce").to_numpy(dtype=float)
        events = np.round(rate * base / per)
        small = ~np.isnan(events) & (events > 0) & (events < threshold)
        if small.any():
            raise PublicationRefused(
                f"{name}: rate {c!r} gives back {int(small.sum())} count(s) from 1 to "
                f"{threshold - 1} (rate × {denominator} ÷ {per:g}); hide those rates"
            )
    for column in frame.columns:
        if _is_text(frame[column]) and frame[column].astype(str).map(nhs_like).any():
            raise PublicationRefused(
                f"{name}: column {column!r} holds a value that reads as an NHS number"
            )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Outputs:
    """The published and restricted folders of one run, and the gate between them.

    ``as_at`` is the date the data runs to and ``period`` the period the reports cover:
    every page says both, and the date it was made."""

    def __init__(
        self,
        root: Path,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        as_at: date | None = None,
        period: str = "",
        made_on: date | None = None,
    ) -> None:
        self.root = Path(root)
        self.published = self.root / PUBLISHED
        self.restricted = self.root / RESTRICTED
        self.threshold = threshold
        self.as_at = as_at
        self.period = period
        self.made_on = made_on or date.today()
        self.published.mkdir(parents=True, exist_ok=True)
        self.restricted.mkdir(parents=True, exist_ok=True)
        (self.restricted / "README.txt").write_text(RESTRICTED_NOTE, encoding="utf-8")
        self._entries: dict[str, dict[str, Any]] = self._read_manifest()

    # --- published ------------------------------------------------------------------------

    def table(self, name: str, frame: pd.DataFrame, disclosure: Disclosure) -> Path:
        """Check ``frame`` against the gate and write it as ``published/<name>``."""
        self._check_name(name, ".csv")
        check_table(name, frame, disclosure, self.threshold)
        frame = frame.copy()
        for c in disclosure.counts:  # counts are written as whole numbers: 4422, not 4422.0
            frame[c] = pd.to_numeric(frame[c], errors="coerce").round().astype("Int64")
        path = write_csv(frame, self.published / name)
        self._record(
            name,
            {"kind": "table", "rows": len(frame), **disclosure.as_json()},
        )
        return path

    def page(self, name: str, html: str) -> Path:
        """Write an HTML page of the pack as ``published/<name>`` (built from tables that
        passed :meth:`table`); refused if any text in it reads as an NHS number."""
        self._check_name(name, ".html")
        if nhs_like(re.sub(r"<[^>]+>", " ", html)):
            raise PublicationRefused(f"{name}: the page holds a value that reads as an NHS number")
        path = self.published / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        self._record(name, {"kind": "page"})
        return path

    def asset(self, name: str, content: str) -> str:
        """Write a shared file (the chart library, the stylesheet) once into
        ``published/assets``; returns its path relative to the folder."""
        relative = f"{ASSETS}/{name}"
        path = self.published / relative
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        self._record(relative, {"kind": "asset"})
        return relative

    def listed(self) -> list[str]:
        """The files published so far."""
        return sorted(self._entries)

    # --- restricted -----------------------------------------------------------------------

    def restricted_path(self, name: str) -> Path:
        """Where a restricted file goes (person-level files, working papers, the store)."""
        path = self.restricted / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def restricted_table(self, name: str, frame: pd.DataFrame) -> Path:
        return write_csv(frame, self.restricted_path(name))

    # --- the manifest ---------------------------------------------------------------------

    def _check_name(self, name: str, suffix: str) -> None:
        if not _NAME.match(name) or not name.endswith(suffix) or name.startswith(ASSETS + "/"):
            raise PublicationRefused(
                f"{name!r}: a published file is named in lower case letters, digits, _ and - "
                f"and ends {suffix}"
            )

    def _read_manifest(self) -> dict[str, dict[str, Any]]:
        path = self.published / MANIFEST
        if not path.is_file():
            return {}
        try:
            files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
        except (OSError, ValueError):
            return {}
        return {
            k: v for k, v in files.items() if isinstance(v, dict) and (self.published / k).exists()
        }

    def _record(self, name: str, entry: dict[str, Any]) -> None:
        entry["sha256"] = _sha256(self.published / name)
        self._entries[name] = entry
        manifest = {
            "threshold": self.threshold,
            "data_as_at": self.as_at.isoformat() if self.as_at else None,
            "period": self.period,
            "made_on": self.made_on.isoformat(),
            "files": dict(sorted(self._entries.items())),
        }
        tmp = self.published / (MANIFEST + ".partial")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(self.published / MANIFEST)


def as_outputs(out: Outputs | Path | str, **kwargs: Any) -> Outputs:
    """An :class:`Outputs` for ``out`` (a root folder, or one already made)."""
    return out if isinstance(out, Outputs) else Outputs(Path(out), **kwargs)


__all__ = [
    "PUBLISHED",
    "RESTRICTED",
    "Disclosure",
    "Outputs",
    "PublicationRefused",
    "as_outputs",
    "check_table",
    "nhs_like",
]
