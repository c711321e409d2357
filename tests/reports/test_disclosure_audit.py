"""The published pack read as an attacker would: on a small population, where small cells
are everywhere, the audit finds nothing; each leak an attacker used before, planted back
into a copy of the pack (and re-listed in its manifest, as a faulty writer would), is
found, by the kind of finding that names it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commissioning.reports.audit import Finding, audit_published
from nhs_scan import mark_raw_input


@pytest.fixture
def copy(pack: Path, tmp_path: Path) -> Path:
    target = tmp_path / "published"
    shutil.copytree(pack, target)
    return target


def _kinds(findings: list[Finding]) -> set[str]:
    return {f.kind for f in findings}


def _republish(folder: Path, name: str, frame: pd.DataFrame) -> None:
    """Write ``frame`` as ``name`` and list it with its new hash, as if the writer had."""
    path = folder / name
    frame.to_csv(path, index=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name)


def test_the_small_population_pack_gives_nothing_back(pack: Path) -> None:
    assert audit_published(pack) == []
    hidden = _read(pack, "prevalence_by_deprivation.csv")["cases"].isna().sum()
    practices = _read(pack, "activity_by_practice.csv")
    assert hidden > 0  # the pack does have small cells to protect
    assert practices["population"].isna().sum() + practices["ae_per_1000"].isna().sum() > 0


def test_no_person_level_file_or_column_is_published(pack: Path) -> None:
    files = [p for p in pack.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in (".parquet", ".duckdb", ".jsonl", ".wal")]
    assert not (pack / "who_would_gain_most.csv").exists()
    assert (pack.parent / "restricted" / "who_would_gain_most.csv").exists()
    assert (pack.parent / "restricted" / "person_year.parquet").exists()
    for csv in pack.glob("*.csv"):
        assert "person_id" not in pd.read_csv(csv, nrows=0).columns


def test_an_interval_left_beside_a_hidden_count_is_found(copy: Path) -> None:
    frame = _read(copy, "prevalence.csv")
    row = frame.index[frame["cases"].notna()][0]
    frame.loc[row, "cases"] = np.nan  # hidden, but its interval still published
    _republish(copy, "prevalence.csv", frame)
    assert "figure of a hidden count shown" in _kinds(audit_published(copy))


def test_all_less_the_visible_parts_of_a_related_table_is_found(copy: Path) -> None:
    """A decile's count hidden alone: the 'All' row of prevalence.csv less the other
    deciles of prevalence_by_deprivation.csv gives it back."""
    frame = _read(copy, "prevalence_by_deprivation.csv")
    everyone = _read(copy, "prevalence.csv").query("group == 'All'").set_index("condition")
    hidden_sum = everyone["cases"] - frame.groupby("condition")["cases"].sum()
    usable = hidden_sum[(hidden_sum >= 11) & everyone["cases"].notna()]
    condition = usable.index[0]
    rows = frame.index[(frame["condition"] == condition) & frame["cases"].isna()]
    assert len(rows) >= 2
    # the planted file: one decile of 3 hidden alone, the rest of the hidden sum shown
    frame.loc[rows, "cases"] = 0.0
    frame.loc[rows[1], "cases"] = usable[condition] - 3
    frame.loc[rows[0], "cases"] = np.nan
    _republish(copy, "prevalence_by_deprivation.csv", frame)
    findings = audit_published(copy)
    recovered = [f.detail for f in findings if f.kind == "hidden count recoverable"]
    assert recovered == [f"prevalence_by_deprivation.csv row {rows[0] + 2}, column cases is 3"]


def test_a_hidden_one_beside_hidden_zeros_is_found(copy: Path) -> None:
    """A table with both margins published, every margin 8 or more: a hidden 1 with three
    hidden 0s. The sums alone leave the four open (four unknowns, three independent
    sums); with counts never negative, a row and a column summing to 0 pin the 1."""
    cells = {
        ("s0", "p0"): 1, ("s0", "p1"): 0, ("s0", "p2"): 20,
        ("s1", "p0"): 0, ("s1", "p1"): 0, ("s1", "p2"): 30,
        ("s2", "p0"): 10, ("s2", "p1"): 10, ("s2", "p2"): 10,
    }  # fmt: skip
    rows = [{"segment": s, "programme": p, "events": v} for (s, p), v in cells.items()]
    for s in ("s0", "s1", "s2"):
        total = sum(v for (a, _), v in cells.items() if a == s)
        rows.append({"segment": s, "programme": "All", "events": total})
    for p in ("p0", "p1", "p2"):
        total = sum(v for (_, b), v in cells.items() if b == p)
        rows.append({"segment": "All", "programme": p, "events": total})
    frame = pd.DataFrame(rows)
    frame["events"] = frame["events"].astype(float)
    frame.loc[frame["events"] < 2, "events"] = np.nan  # the 1 and its three 0s hidden
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["planted.csv"] = {
        "kind": "table",
        "counts": ["events"],
        "parts": "segment",
        "within": ["programme"],
        "also": [["programme", ["segment"]]],
    }
    (copy / "manifest.json").write_text(json.dumps(manifest))
    _republish(copy, "planted.csv", frame)
    findings = audit_published(copy)
    assert not [f for f in findings if f.kind == "small count shown"], findings
    recovered = [f for f in findings if f.kind == "hidden count recoverable"]
    assert [f.detail for f in recovered] == ["planted.csv row 2, column events is 1"], findings


@pytest.mark.parametrize(
    ("name", "column", "value", "kind"),
    [
        ("segments.csv", "people", 2, "small count shown"),
        ("spend_by_setting.csv", "events", 5, "small count shown"),
        ("activity_by_place.csv", "ae_per_1000", None, "rate gives back a small count"),
    ],
)
def test_unsuppressed_small_counts_are_found(
    copy: Path, name: str, column: str, value: int | None, kind: str
) -> None:
    frame = _read(copy, name)
    row = frame.index[frame[column].notna()][0]
    if value is None:  # a rate from 3 events
        frame.loc[row, column] = 3 * 1000 / frame.loc[row, "population"]
    else:
        frame.loc[row, column] = value
    _republish(copy, name, frame)
    assert kind in _kinds(audit_published(copy))


def test_person_level_files_and_unlisted_files_are_found(copy: Path, pack: Path) -> None:
    shutil.copyfile(
        pack.parent / "restricted" / "person_year.parquet", copy / "person_year.parquet"
    )
    shutil.copyfile(
        pack.parent / "restricted" / "who_would_gain_most.csv", copy / "who_would_gain_most.csv"
    )
    kinds = {(f.file, f.kind) for f in audit_published(copy)}
    assert ("person_year.parquet", "person-level file") in kinds
    assert ("who_would_gain_most.csv", "not in the manifest") in kinds


def test_an_edited_file_and_an_nhs_number_are_found(copy: Path) -> None:
    mark_raw_input(copy)  # the planted number is meant to be there
    with (copy / "spc.csv").open("a") as f:
        f.write("x,Edited after,common_cause,x,16\n")
    frame = _read(copy, "peers.csv")
    frame.loc[0, "place_name"] = "Patient 943 476 5919"  # valid by the modulus 11 check
    _republish(copy, "peers.csv", frame)
    kinds = {(f.file, f.kind) for f in audit_published(copy)}
    assert ("spc.csv", "changed after publication") in kinds
    assert ("peers.csv", "NHS number") in kinds
