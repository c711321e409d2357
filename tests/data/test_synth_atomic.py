"""A synthetic population is written atomically and loaded only as written: a killed
``synth`` leaves no file cut short under a table's name and no manifest, and a file that
differs from its manifest is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from commissioning.data.load import LoadError, Source, load_files, table_for_file
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
