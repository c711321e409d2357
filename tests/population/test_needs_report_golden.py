"""Golden test of the needs report on a small fixed synthetic population.

The population (3,000 people, three years, seed 5) is generated in the module; the
headline figures (:func:`needs_figures`, rounded to three places) must equal
``golden/needs_figures.json``. To change the figures on purpose (a method or generator
change), regenerate and review the difference before committing::

    REGENERATE_GOLDEN=1 .venv/bin/pytest tests/population/test_needs_report_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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
