"""The Python API (``commissioning.api``), its reference page and the quick-start notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from commissioning import api
from commissioning.contracts.load import ContractError
from commissioning.store.address import StoreAddressError, parse_store_address

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(small_population: Path, tmp_path_factory: pytest.TempPathFactory) -> api.Store:
    """The small synthetic population (4,000 people, two years) loaded through the API."""
    opened = api.open_store(tmp_path_factory.mktemp("api") / "s.duckdb")
    report = api.load(opened, small_population, demo=True)
    manifest = json.loads((small_population / "manifest.json").read_text())
    assert dict(zip(report.table, report.rows_loaded, strict=True)) == {
        name: info["rows"] for name, info in manifest["files"].items()
    }
    assert report.rows_rejected.sum() == 0 and not report.already_loaded.any()
    return opened


def test_loading_again_changes_nothing(store: api.Store, small_population: Path) -> None:
    before = store.counts()
    again = api.load(store, small_population, demo=True)
    assert again.already_loaded.all() and store.counts() == before


def test_load_refuses_without_a_good_key(store: api.Store, small_population: Path) -> None:
    people = small_population / "people.parquet"
    with pytest.raises(ValueError, match=r"^no pseudonymisation key: pass key="):
        api.load(store, people)
    with pytest.raises(ValueError, match=r"^the pseudonymisation key is too weak: "):
        api.load(store, people, key="short")
    with pytest.raises(ValueError, match=r"^give a key or demo=True, not both$"):
        api.load(store, people, key="a long enough secret here", demo=True)


def test_an_indicator_by_practice_adds_up_to_the_places(store: api.Store) -> None:
    by_practice = api.indicator(store, "emergency_admissions", by="practice_code")
    by_place = api.indicator(store, "emergency_admissions", by="place_code")
    practices = store.tables["gp_practices"].to_pandas()
    assert sorted(by_practice.practice_code) == sorted(practices.practice_code)
    assert list(by_practice.columns[:2]) == ["indicator_id", "practice_code"]
    # Every admission and every registered person-year is counted once at each level.
    assert by_practice.numerator.sum() == pytest.approx(by_place.numerator.sum())
    assert by_practice.denominator.sum() == pytest.approx(by_place.denominator.sum())
    assert by_place.numerator.sum() > 0


def test_needs_counts_everyone_registered_at_mid_year(store: api.Store) -> None:
    year = store.years[-1]
    prevalence = api.needs(store, by="place_code", year=year)
    people = api.person_year(store, [year])
    people = people[people.in_mid_year_population == 1]
    one_condition = prevalence[prevalence.condition == "dm"]
    assert one_condition.population.sum() == len(people)
    assert set(one_condition.group) == set(people.place_code)
    assert one_condition.cases.sum() == people["dm"].sum()


def test_risk_needs_three_years(store: api.Store) -> None:
    with pytest.raises(ValueError, match=r"three or more consecutive years .* got \[2021, 2022\]"):
        api.risk(store)


def test_a_contract_quarter_settles_in_pence() -> None:
    # Year 1 of the example: £160,000,000 x 0.85 = £136,000,000 a year, nothing at risk,
    # so £34,000,000 a quarter from the commissioner to the consortium.
    contract = api.read_contract("optimistic_older_people")
    lines = api.settle(contract, [{"year": 1, "quarter": 1}])
    assert lines[["kind", "payer", "payee", "amount_pence"]].to_dict("records") == [
        {
            "kind": "capitation",
            "payer": "area-ccg",
            "payee": "older-people-consortium",
            "amount_pence": 34_000_000_00,
        }
    ]
    with pytest.raises(ContractError):
        api.read_contract(ROOT / "README.md")


def test_store_addresses() -> None:
    assert parse_store_address("s.duckdb").engine == "duckdb"
    assert parse_store_address("duckdb:///data/s.duckdb").path == Path("/data/s.duckdb")
    assert parse_store_address("postgresql://me@db:5432/store").engine == "postgresql"
    with pytest.raises(StoreAddressError, match="unknown kind of store 'mysql'"):
        parse_store_address("mysql://me@db/store")
    with pytest.raises(FileNotFoundError, match="no store here yet"):
        api.open_store("/nonexistent/s.duckdb", read_only=True)


def test_the_api_reference_is_generated_from_the_docstrings() -> None:
    from commissioning.cli.reference import END, START, api_reference_markdown

    page = (ROOT / "docs" / "api.md").read_text()
    generated = page.split(START)[1].split(END)[0].strip()
    assert generated == api_reference_markdown().strip(), (
        "docs/api.md is out of date. From the repository's root folder run: .venv/bin/python "
        '-c "from commissioning.cli.reference import write_api_reference; write_api_reference()"'
    )


def test_every_function_of_the_api_is_documented() -> None:
    for name in api.__all__:
        assert (getattr(api, name).__doc__ or "").strip(), name


def test_the_quickstart_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import commissioning

    # The kernel imports the package under test, wherever it runs from.
    here = str(Path(commissioning.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[dev]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[dev]'")
    notebook = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    assert (tmp_path / "quickstart.duckdb").exists()
    last = [c for c in notebook.cells if c.cell_type == "code"][-2]
    assert last.outputs[0]["data"]["text/plain"] == "'£34,000,000.00 paid in the first quarter'"
