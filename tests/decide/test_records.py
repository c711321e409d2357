"""Measures people record, in the record store: checked, written with an audit row, read
by the portfolio beside the file's entries."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from commissioning.decide.files import example
from commissioning.decide.portfolio import read_recorded
from commissioning.decide.records import (
    measure_records,
    merge_recorded,
    record_measure,
    stored_recorded,
)
from commissioning.store.records import RecordStore, open_records

NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def store() -> RecordStore:
    return open_records("duckdb:///:memory:")


def _record(store: RecordStore, measure: int = 7, **kw: object) -> int:
    args: dict[str, object] = {
        "status": "partly met",
        "value": "22 of 40 clinicians found their involvement useful",
        "measured_on": date(2025, 5, 20),
        "source": "Clinical reference group survey, May 2025",
        "note": "",
        "actor": "Ann Analyst",
    } | kw
    return record_measure(store, "icb", measure, clock=lambda: NOW, **args)  # type: ignore[arg-type]


def test_a_measure_is_stored_with_an_audit_row(store: RecordStore) -> None:
    record_id = _record(store, note="down from 31 of 40 in February")
    rows = measure_records(store, "icb")
    assert [(r["record_id"], r["measure"], r["status"], r["measured_on"]) for r in rows] == [
        (record_id, 7, "partly met", "2025-05-20")
    ]
    assert rows[0]["recorded_at"] == "2025-06-01T09:30:00+00:00"
    events = store.query("SELECT actor, org_id, action, detail FROM decision_events")
    assert events == [
        (
            "Ann Analyst",
            "icb",
            "record_measure",
            json.dumps({"record_id": record_id, "measure": 7, "status": "partly met"}),
        )
    ]
    assert measure_records(store, "council") == []


def test_the_portfolio_reads_the_latest_of_the_file_and_the_store(store: RecordStore) -> None:
    _record(store)
    _record(
        store, measure=3, status="met", value="12 meetings, 4 changes", measured_on=date(2025, 1, 2)
    )
    from_file = read_recorded(example("effectiveness.toml"))  # measure 7: met, 14 Feb 2025
    merged = merge_recorded(from_file, stored_recorded(store, "icb"))
    assert merged.entries[7].status == "partly met"  # the store's May entry is later
    assert merged.entries[7].evidence == (
        "22 of 40 clinicians found their involvement useful "
        "(Clinical reference group survey, May 2025)"
    )
    assert merged.entries[1].status == "partly met"  # only in the file
    assert merged.entries[3].recorded_by == "Ann Analyst"  # only in the store
    assert merged.reviewed_programmes == ["Social care needs", "Circulation"]
    # an older entry in the store does not displace a newer one in the file
    _record(store, measure=1, status="met", measured_on=date(2024, 1, 1))
    merged = merge_recorded(from_file, stored_recorded(store, "icb"))
    assert merged.entries[1].status == "partly met"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"measure": 2}, "measure: 2 is read from the workbench"),
        ({"status": "done"}, "status: use one of met, partly met, not met"),
        ({"value": "  "}, "value and source: both are needed"),
        ({"measured_on": date(2025, 6, 2)}, "date: the measure's date is in the future"),
        ({"note": "x" * 1001}, "at most 1,000 characters"),
    ],
)
def test_a_bad_entry_is_refused_and_nothing_is_written(
    store: RecordStore, kw: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _record(store, **kw)
    assert measure_records(store) == []
    assert store.query("SELECT * FROM decision_events") == []
