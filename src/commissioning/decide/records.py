"""The measures of effective commissioning that people record, kept in the record store.

The service :func:`record_measure` is what the workbench's form calls: it checks the
entry, writes it and an audit row (``decision_events``) in one transaction. The portfolio
reads the entries with :func:`stored_recorded` beside those of ``effectiveness.toml``
(:func:`merge_recorded`: the latest entry of each measure counts, whichever holds it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from commissioning.decide.portfolio import MEASURES, Entry, Recorded
from commissioning.store.migrate import upgrade
from commissioning.store.records import RecordStore

STATUSES = ("met", "partly met", "not met")
#: The measures that come from people (the others are read from the workbench).
RECORDED_MEASURES = tuple(m.number for m in MEASURES if m.source == "recorded")
MAX_TEXT = 1000


def _now() -> datetime:
    return datetime.now(UTC)


def record_measure(
    store: RecordStore,
    org_id: str,
    measure: int,
    status: str,
    value: str,
    measured_on: date,
    source: str,
    note: str,
    actor: str,
    clock: Callable[[], datetime] = _now,
) -> int:
    """Record one measure's value for ``org_id``, with its date, source and note, and an
    audit row; returns the record's id. Refused (ValueError, naming the field) for a
    measure the workbench computes itself, an unknown status, an empty value or source,
    text over 1,000 characters, or a date in the future."""
    if measure not in RECORDED_MEASURES:
        raise ValueError(
            f"measure: {measure} is read from the workbench; people record measures "
            f"{', '.join(map(str, RECORDED_MEASURES))}"
        )
    if status not in STATUSES:
        raise ValueError(f"status: use one of {', '.join(STATUSES)}")
    value, source, note = value.strip(), source.strip(), note.strip()
    if not value or not source:
        raise ValueError("value and source: both are needed (what was found, and where)")
    if max(len(value), len(source), len(note)) > MAX_TEXT:
        raise ValueError(f"value, source and note: at most {MAX_TEXT:,} characters each")
    now = clock()
    if measured_on > now.date():
        raise ValueError("date: the measure's date is in the future")
    upgrade(store)
    with store.transaction() as tx:
        record_id = tx.next_id("effectiveness_record_ids")
        tx.execute(
            "INSERT INTO effectiveness_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record_id,
                org_id,
                measure,
                status,
                value,
                source,
                note,
                measured_on.isoformat(),
                actor,
                now.isoformat(timespec="seconds"),
            ],
        )
        tx.execute(
            "INSERT INTO decision_events VALUES (?, ?, ?, ?, ?, ?)",
            [
                tx.next_id("decision_event_ids"),
                now.isoformat(timespec="seconds"),
                actor,
                org_id,
                "record_measure",
                json.dumps({"record_id": record_id, "measure": measure, "status": status}),
            ],
        )
    return record_id


def measure_records(store: RecordStore, org_id: str | None = None) -> list[dict[str, Any]]:
    """The recorded entries (of one organisation, or all), newest first."""
    upgrade(store)
    sql = (
        "SELECT record_id, org_id, measure, status, value, source, note, measured_on, "
        "recorded_by, recorded_at FROM effectiveness_records"
    )
    params: list[Any] = []
    if org_id is not None:
        sql += " WHERE org_id = ?"
        params.append(org_id)
    return store.query_dicts(sql + " ORDER BY measured_on DESC, record_id DESC", params)


def stored_recorded(store: RecordStore, org_id: str | None = None) -> Recorded:
    """The stored entries as the portfolio reads them: the latest of each measure, its
    evidence the value, the source and the note."""
    latest: dict[int, Entry] = {}
    for r in reversed(measure_records(store, org_id)):  # oldest first: the latest stays
        evidence = f"{r['value']} ({r['source']})" + (f"; {r['note']}" if r["note"] else "")
        latest[int(r["measure"])] = Entry(
            measure=int(r["measure"]),
            status=r["status"],
            evidence=evidence,
            date=date.fromisoformat(str(r["measured_on"])),
            recorded_by=str(r["recorded_by"]),
        )
    return Recorded([], latest)


def merge_recorded(*sources: Recorded) -> Recorded:
    """Entries from several places (the file, the store): the latest of each measure by
    date counts (on the same date, the later source); reviewed programmes from all."""
    entries: dict[int, Entry] = {}
    reviewed: list[str] = []
    for source in sources:
        reviewed += [p for p in source.reviewed_programmes if p not in reviewed]
        for number, entry in source.entries.items():
            if number not in entries or entry.date >= entries[number].date:
                entries[number] = entry
    return Recorded(reviewed, entries)
