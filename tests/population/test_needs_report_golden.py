"""Golden test of the needs report on a small fixed synthetic population.

The population (3,000 people, three years, seed 5) is generated in the module; the
headline figures (:func:`needs_figures`, rounded to three places) must equal
``golden/needs_figures.json``. To change the figures on purpose (a method or generator
change), regenerate and review the difference before committing::

    REGENERATE_GOLDEN=1 .venv/bin/pytest tests/population/test_needs_report_golden.py
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.reports.needs_report import needs_analysis, needs_figures, write_needs_report
from commissioning.store.duckdb_store import connect, ibis_tables
from commissioning.synthetic.files import tables_from_folder
from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import SyntheticParameters

PARAMS = SyntheticParameters(people=3_000, years=3, seed=5)
YEARS = [2021, 2022, 2023]
GOLDEN = Path(__file__).parent / "golden" / "needs_figures.json"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden_population")
    write(generate(PARAMS), out, PARAMS)
    return out


def test_figures_match_the_golden_file(folder: Path) -> None:
    figures = needs_figures(needs_analysis(tables_from_folder(folder), YEARS))
    if os.environ.get("REGENERATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    assert figures == json.loads(GOLDEN.read_text())


def test_report_from_the_store(folder: Path, tmp_path: Path) -> None:
    """The demo path: the files loaded into a store (pseudonyms), then the report."""
    con = connect(":memory:")
    load_files(
        con, [Source(p, table_for_file(p)) for p in sorted(folder.glob("*.parquet"))], DEMO_KEY
    )
    path = write_needs_report(ibis_tables(con), tmp_path, YEARS)
    html = path.read_text()
    assert path == tmp_path / "published" / "needs.html"
    assert '<script src="assets/plotly.min.js">' in html  # the pack's one copy, not inlined
    assert (tmp_path / "published" / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    for title in ("Prevalence", "Segments", "Risk of an emergency admission", "Programme budget"):
        assert title in html
    for name in ("prevalence.csv", "segments.csv", "risk_tiers.csv"):
        assert (tmp_path / "published" / name).exists()
    # person-level files go to the restricted folder only
    for name in ("person_year.parquet", "who_would_gain_most.csv"):
        assert (tmp_path / "restricted" / name).exists()
        assert not (tmp_path / "published" / name).exists()
    assert "http" not in html.lower().replace("http-equiv", "")


def test_the_engine_path_gives_the_same_figures(folder: Path, tmp_path: Path) -> None:
    """Above the in-memory limit the person-year table stays in the engine; on a
    population this small the risk model's sample is everyone, so every figure is the
    same as from memory, and the person-level file is written by the engine."""
    tables = tables_from_folder(folder)
    in_memory = needs_analysis(tables, YEARS)
    in_engine = needs_analysis(tables, YEARS, in_memory_person_years=0)
    assert in_engine.person_year is None and in_memory.person_year is not None
    assert in_engine.person_years == in_memory.person_years == len(in_memory.person_year)
    assert in_engine.risk_sample is not None and in_memory.risk_sample is None
    assert in_engine.risk_sample.people == in_engine.risk_sample.of
    assert needs_figures(in_engine) == needs_figures(in_memory)  # rounded to 3 places
    weighted = in_engine.weighted_spend_by_place.sort_values(["group", "year"])
    expected = in_memory.weighted_spend_by_place.sort_values(["group", "year"])
    pd.testing.assert_frame_equal(
        weighted.reset_index(drop=True), expected.reset_index(drop=True), rtol=1e-9
    )
    # The engine's copy of the person-level table sits in a private temporary folder,
    # removed with the analysis.
    assert in_engine.workspace is not None and in_memory.workspace is None
    workspace = Path(in_engine.workspace.name)
    assert workspace.parent == Path(tempfile.gettempdir())
    assert workspace.stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in workspace.iterdir()) == [
        "person_year.parquet",
        "person_year_segments.parquet",
    ]
    del in_engine
    gc.collect()
    assert not workspace.exists()


def test_the_risk_model_is_trained_on_a_sample_of_a_large_population(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commissioning.reports import needs_report

    monkeypatch.setattr(needs_report, "RISK_SAMPLE_PEOPLE", 1_000)
    monkeypatch.setattr(needs_report, "IN_MEMORY_PERSON_YEARS", 0)
    # From the store, as a user would: the person-level file holds pseudonyms only.
    con = connect(":memory:")
    load_files(
        con, [Source(p, table_for_file(p)) for p in sorted(folder.glob("*.parquet"))], DEMO_KEY
    )
    tables = ibis_tables(con)
    a = needs_analysis(tables, YEARS, in_memory_person_years=0)
    assert a.risk_sample is not None and a.risk is not None
    people = a.risk_sample.of
    # A hash of the pseudonym picks about a thousand of the people (binomial spread).
    assert 800 <= a.risk_sample.people <= 1_200 < people
    assert a.risk.test_rows + a.risk.train_rows < a.person_years / 2
    page = write_needs_report(tables, tmp_path, YEARS).read_text()
    assert f"a random sample of {a.risk_sample.people:,} of the {people:,} people" in page
    assert (tmp_path / "restricted" / "person_year.parquet").stat().st_size > 0
