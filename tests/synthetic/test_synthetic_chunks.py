"""A large population is generated and written in chunks: one population, bounded memory.

The chunks share one world (places, practices, small areas), draw their people from
streams of their own and are written one after another to the same files. What must hold:
the files are one population (no NHS number or activity number twice, the manifest's
control totals those of the whole files, every row loads), the same seed gives the same
bytes, and the population looks like one generated whole (rates per person agree).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.store.duckdb_store import connect
from commissioning.synthetic.calibration import measure
from commissioning.synthetic.files import tables_from_folder
from commissioning.synthetic.generate import (
    GENERATED_TABLES,
    generate_in_chunks,
    synthesise,
    synthetic_nhs_numbers,
)
from commissioning.synthetic.parameters import SyntheticParameters

PEOPLE = 24_000
CHUNK = 8_000


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same parameters written whole and in three chunks."""
    params = SyntheticParameters(people=PEOPLE, years=2)
    root = tmp_path_factory.mktemp("chunks")
    synthesise(params, root / "whole")
    said: list[str] = []
    synthesise(params, root / "chunked", on_progress=said.append, chunk_people=CHUNK)
    assert any(m.startswith("chunk 3 of 3: ") for m in said), said[:5]
    return root / "whole", root / "chunked"


def _sql(folder: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    for path in folder.glob("*.parquet"):
        con.execute(f"CREATE VIEW {path.stem} AS SELECT * FROM '{path}'")
    return con.execute(sql).fetchall()


def test_chunks_are_one_population_with_no_one_twice(folders: tuple[Path, Path]) -> None:
    _, chunked = folders
    people, distinct = _sql(chunked, "SELECT count(*), count(DISTINCT nhs_number) FROM people")[0]
    assert people == distinct and int(str(people)) > PEOPLE
    events, ids = _sql(chunked, "SELECT count(*), count(DISTINCT activity_id) FROM activity")[0]
    assert events == ids
    # Activity numbers run on from one chunk to the next: S1 to Sn with no gap.
    assert _sql(chunked, "SELECT max(CAST(substr(activity_id, 2) AS BIGINT)) FROM activity") == [
        (events,)
    ]
    # The world is written once: places and practices are not repeated per chunk.
    assert _sql(chunked, "SELECT count(*) FROM places") == [(10,)]
    whole_practices = _sql(folders[0], "SELECT count(*) FROM gp_practices")
    assert _sql(chunked, "SELECT count(*) FROM gp_practices") == whole_practices
    # Every event's person is a person of the files (no chunk points into another).
    assert _sql(
        chunked,
        "SELECT count(*) FROM activity WHERE nhs_number NOT IN (SELECT nhs_number FROM people)",
    ) == [(0,)]


def test_chunked_files_load_whole_against_their_manifest(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    _, chunked = folders
    manifest = json.loads((chunked / "manifest.json").read_text())
    con = connect(tmp_path / "s.duckdb")
    files = [p for p in sorted(chunked.glob("*.parquet")) if not p.stem.startswith("synthetic_")]
    reports = load_files(con, [Source(p, table_for_file(p)) for p in files], DEMO_KEY)
    loaded = {r.table: (r.rows_read, r.rows_loaded, r.rows_rejected) for r in reports}
    assert set(loaded) == {t for t in GENERATED_TABLES if not t.startswith("synthetic_")}
    for name, info in manifest["files"].items():
        if name in loaded:
            assert loaded[name] == (info["rows"], info["rows"], 0), name
        sha = hashlib.sha256((chunked / info["file"]).read_bytes()).hexdigest()
        assert sha == info["sha256"], name
    # The money column's control total is the whole file's, not the last chunk's.
    total = _sql(chunked, "SELECT sum(cost_gbp)::DECIMAL(18, 2) FROM activity")[0][0]
    assert manifest["files"]["activity"]["control"]["sum_cost_gbp"] == f"{total:f}"


def test_chunked_population_has_the_rates_of_a_whole_one(folders: tuple[Path, Path]) -> None:
    whole, chunked = folders
    years = [2021, 2022]
    a = measure(tables_from_folder(whole), years)
    b = measure(tables_from_folder(chunked), years)
    # Rates per person from 24,000 people: chance alone moves them a few per cent.
    for key in ("aged_65_plus", "male", "deaths_per_1000", "spend_per_head"):
        assert b[key] == pytest.approx(a[key], rel=0.12), key
    assert b["emergency_admission"] == pytest.approx(a["emergency_admission"], rel=0.08)


def test_same_seed_and_chunk_size_same_bytes(tmp_path: Path) -> None:
    params = SyntheticParameters(people=3_000, years=1, seed=9)
    one = synthesise(params, tmp_path / "a", chunk_people=1_000)
    two = synthesise(params, tmp_path / "b", chunk_people=1_000)
    assert one["files"] == two["files"]


def test_chunks_hold_the_world_only_once() -> None:
    params = SyntheticParameters(people=2_000, years=1, seed=2)
    chunks = list(generate_in_chunks(params, chunk_people=1_000))
    assert len(chunks) == 2
    assert {"places", "gp_practices", "synthetic_practice_effects"} <= set(chunks[0])
    assert not {"places", "gp_practices", "synthetic_practice_effects"} & set(chunks[1])


def test_nhs_number_blocks_do_not_overlap_and_are_checked() -> None:
    a = synthetic_nhs_numbers(5_000, np.random.default_rng(1), block=(0, 10_000))
    b = synthetic_nhs_numbers(5_000, np.random.default_rng(1), block=(10_000, 10_000))
    assert not set(a) & set(b)
    assert all("9000000000" <= n < "9001000000" for n in a)
    with pytest.raises(ValueError, match="the block has 10,000"):
        synthetic_nhs_numbers(9_000, np.random.default_rng(1), block=(0, 10_000))
