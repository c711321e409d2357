"""A synthetic population is written atomically and loaded only as written: a killed
``synth`` leaves no file cut short under a table's name and no manifest, a file that
differs from its manifest is refused, and so is a file that does not meet the control
totals (rows, and the sum of every money column) its manifest gives."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from commissioning.core.schema import TABLES, money_columns
from commissioning.data.load import (
    FileReport,
    LoadError,
    Source,
    control_sum,
    control_totals,
    load_files,
    table_for_file,
)
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.store.duckdb_store import connect, table_counts
from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import SyntheticParameters

TINY = SyntheticParameters(people=600, years=1, seed=3)


def test_a_killed_synth_leaves_no_cut_file_and_no_manifest(tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    env = {**os.environ, "COMMISSIONING_FAILPOINT": "synth_written:activity@30"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "commissioning.cli",
            "synth",
            "--people",
            "600",
            "--years",
            "1",
            "--out",
            str(out),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    reached = False
    for line in proc.stdout:
        if "failpoint synth_written:activity: pausing" in line:
            reached = True
            break
        if time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert reached, "synth did not reach the point where it is killed"
    assert (out / ".activity.parquet.partial").exists()  # killed while writing activity
    assert (out / "people.parquet").exists()  # tables before it were finished
    assert not (out / "manifest.json").exists()
    assert not (out / "activity.parquet").exists()  # written only under its temporary name
    for path in out.glob("*.parquet"):  # what was renamed into place is whole
        import pyarrow.parquet as pq

        pq.read_table(path)


def test_a_file_that_differs_from_its_manifest_is_refused(tmp_path: Path) -> None:
    write(generate(TINY), tmp_path, TINY, "csv")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["files"]["people"]["rows"] > 0
    people = tmp_path / "people.csv"
    lines = people.read_text().splitlines()
    people.write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # cut short
    con = connect(":memory:")
    sources = [Source(p, table_for_file(p)) for p in sorted(tmp_path.glob("*.csv"))]
    before = table_counts(con)
    with pytest.raises(LoadError, match=r"differ from what manifest\.json records"):
        load_files(con, sources, DEMO_KEY)
    assert table_counts(con) == before


def _load_folder(con: duckdb.DuckDBPyConnection, folder: Path, suffix: str) -> list[FileReport]:
    sources = [Source(p, table_for_file(p)) for p in sorted(folder.glob(f"*.{suffix}"))]
    return load_files(con, sources, DEMO_KEY)


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_synth_writes_control_totals_that_the_file_meets(tmp_path: Path, file_format: str) -> None:
    write(generate(TINY), tmp_path, TINY, file_format)  # type: ignore[arg-type]
    files = json.loads((tmp_path / "manifest.json").read_text())["files"]
    for name, entry in files.items():
        money = money_columns(TABLES[name])
        assert set(entry["control"]) == {"rows", *(f"sum_{c}" for c in money)}
        assert entry["control"]["rows"] == entry["rows"]
    total = files["activity"]["control"]["sum_cost_gbp"]
    assert (
        isinstance(total, str) and Decimal(total) > 0 and Decimal(total) == round(Decimal(total), 2)
    )
    con = connect(":memory:")
    reports = _load_folder(con, tmp_path, file_format)
    assert sum(r.rows_rejected for r in reports) == 0
    stored = con.execute("SELECT sum(cost_gbp) FROM activity").fetchone()
    assert stored == (Decimal(total),)


@pytest.mark.parametrize(
    ("total", "change", "says"),
    [
        ("sum_cost_gbp", lambda v: f"{Decimal(v) + Decimal('0.01')}", "sum_cost_gbp does not"),
        ("rows", lambda v: v - 1, "control total rows does not match"),
    ],
)
def test_a_wrong_control_total_refuses_the_load_and_the_right_one_loads(
    tmp_path: Path, total: str, change: Callable[[Any], Any], says: str
) -> None:
    write(generate(TINY), tmp_path, TINY)
    manifest_path = tmp_path / "manifest.json"
    right = manifest_path.read_text()
    manifest = json.loads(right)
    control = manifest["files"]["activity"]["control"]
    want, control[total] = control[total], change(control[total])
    manifest_path.write_text(json.dumps(manifest))
    con = connect(":memory:")
    load_files(con, [Source(tmp_path / "places.parquet", "places")], DEMO_KEY)
    before = table_counts(con)
    with pytest.raises(LoadError) as refused:
        _load_folder(con, tmp_path, "parquet")
    message = str(refused.value)
    assert message.startswith("activity.parquet: control total ") and says in message
    assert "\n" not in message and "nothing was loaded" in message
    if total == "rows":
        assert f"manifest.json says {want - 1:,}, the file gives {want:,}" in message
    else:
        assert f"manifest.json says {Decimal(want) + Decimal('0.01'):,}" in message
        assert f"the file gives {Decimal(want):,}" in message
    assert table_counts(con) == before
    manifest_path.write_text(right)
    reports = _load_folder(con, tmp_path, "parquet")
    assert table_counts(con)["activity"] == {r.table: r for r in reports}["activity"].rows_read


@pytest.mark.parametrize(
    ("control", "says"),
    [
        ({"sum_cost_gbp": 1037600.48}, "must be an exact decimal in a string"),
        ({"sum_cost_gbp": "lots"}, "must be an exact decimal in a string"),
        ({"sum_costs": "1.00"}, "sum_costs is not a control total the loader knows"),
        ({"rows": "6908"}, "rows must be a whole number of rows"),
        (["rows", 6908], "are not an object of totals"),
    ],
)
def test_a_malformed_control_total_is_refused_with_the_reason(
    tmp_path: Path, control: object, says: str
) -> None:
    write(generate(TINY), tmp_path, TINY)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["files"]["activity"]["control"] = control
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    con = connect(":memory:")
    with pytest.raises(LoadError, match=re.escape(says)):
        _load_folder(con, tmp_path, "parquet")
    assert table_counts(con)["activity"] == 0


def test_a_control_sum_counts_plain_decimals_exactly() -> None:
    values = pa.array(["1.10", " 2 ", "", None, "abc", "NaN", "inf", "1e3", "1,234", "-0.10"])
    assert control_sum(values) == Decimal("3.00")
    assert control_sum(pa.array([0.1] * 10)) == Decimal("1.0")  # exact, unlike float sums
    assert control_totals(pa.table({"cost_gbp": ["0.10", "0.20"]}), ["cost_gbp"]) == {
        "rows": 2,
        "sum_cost_gbp": "0.30",
    }
