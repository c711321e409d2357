"""The workbench from Python: the verbs of the command line as plain functions.

For notebooks and scripts. Each function is a thin wrapper over the service the command
line calls, so a figure computed here is the figure the reports show. Results are pandas
DataFrames (or the typed objects of the package), with the columns named in each
docstring. Nothing here prints or reads ``commissioning.toml``: settings are arguments.

A first session, on a small synthetic population::

    from commissioning import api

    folder = api.synthesise("synthetic", people=3_000, years=3, seed=1)
    store = api.open_store("work.duckdb")
    report = api.load(store, folder, demo=True)       # rows read, loaded, rejected per file
    by_practice = api.indicator(store, "emergency_admissions", by="practice_code")
    prevalence = api.needs(store, by="place_code")
    risk = api.risk(store)                             # needs three or more years
    contract = api.read_contract("optimistic_older_people")
    lines = api.settle(contract, [{"year": 1, "quarter": 1}])

The quick-start notebook, ``notebooks/quickstart.ipynb``, walks through the same steps,
and ``docs/api.md`` lists every function (generated from these docstrings).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from commissioning.contracts.load import list_examples, load_contract, load_example
from commissioning.contracts.schema import Contract
from commissioning.core.suppression import DEFAULT_THRESHOLD
from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY, key_problem
from commissioning.data.queries import activity_years
from commissioning.indicators import compute
from commissioning.indicators.library import default_library
from commissioning.population import needs as population_needs
from commissioning.population.person_year import person_year_table
from commissioning.risk.stratify import RiskEvaluation, evaluate_risk
from commissioning.settlement.lines import PeriodInputs
from commissioning.settlement.settle import settle_periods
from commissioning.store.address import StoreAddress, open_store_tables
from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import SyntheticParameters

__all__ = [
    "Store",
    "indicator",
    "indicator_library",
    "indicator_series",
    "load",
    "needs",
    "open_store",
    "person_year",
    "read_contract",
    "risk",
    "settle",
    "synthesise",
]


@dataclasses.dataclass
class Store:
    """An open store: its address, its canonical tables as Ibis tables, and (for a DuckDB
    file) the connection that loads write through.

    Use :func:`open_store` to make one; close it with :meth:`close` or a ``with`` block.
    """

    address: StoreAddress
    tables: dict[str, ir.Table]
    connection: Any = None

    @property
    def years(self) -> list[int]:
        """The financial years (2021 = 2021/22) the store's activity covers."""
        return activity_years(self.tables)

    def counts(self) -> dict[str, int]:
        """Rows in each canonical table."""
        return {name: int(t.count().execute()) for name, t in self.tables.items()}

    def close(self) -> None:
        """Close the connection."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(address: str | Path = "commissioning.duckdb", *, read_only: bool = False) -> Store:
    """Open the store at ``address``: a DuckDB file (a plain path, or
    ``duckdb:///path/file.duckdb``, made if it does not exist unless ``read_only``), or a
    PostgreSQL database holding the canonical tables (``postgresql://user@host/db``, read
    only: loads go into DuckDB).

    >>> store = open_store("work.duckdb")  # doctest: +SKIP
    >>> store.counts()["people"]  # doctest: +SKIP
    3144
    """
    opened = open_store_tables(address, read_only=read_only)
    return Store(opened.address, opened.tables, opened.connection)


def synthesise(
    folder: str | Path,
    *,
    people: int = 200_000,
    years: int = 4,
    first_year: int = 2021,
    seed: int = 20261123,
    file_format: str = "parquet",
) -> Path:
    """Write a synthetic population to ``folder`` (one file per canonical table and a
    ``manifest.json``) and return the folder. Ten places (a home place and nine peers),
    ``people`` registered at the start, ``years`` financial years from ``first_year``; the
    same seed writes the same bytes. NHS numbers are synthetic (they begin with 9).
    See docs/synthetic.md.

    >>> synthesise("synthetic", people=3_000, years=3, seed=1)  # doctest: +SKIP
    PosixPath('synthetic')
    """
    if file_format not in ("parquet", "csv"):
        raise ValueError("file_format must be 'parquet' or 'csv'")
    params = SyntheticParameters(people=people, years=years, first_year=first_year, seed=seed)
    out = Path(folder)
    write(generate(params), out, params, file_format)  # type: ignore[arg-type]
    return out


def _key(key: str | bytes | None, demo: bool) -> bytes:
    if demo:
        if key is not None:
            raise ValueError("give a key or demo=True, not both")
        return DEMO_KEY
    if key is None:
        raise ValueError(
            "no pseudonymisation key: pass key=... (a secret of at least 16 characters, "
            "e.g. os.environ['COMMISSIONING_PSEUDONYMISATION_KEY']); demo=True for "
            "synthetic data only"
        )
    text = key.decode() if isinstance(key, bytes) else key
    problem = key_problem(text)
    if problem is not None:
        raise ValueError(f"the pseudonymisation key is too weak: {problem}")
    if text.encode() == DEMO_KEY:
        raise ValueError("that is the published demo key: use a secret of your own")
    return text.encode()


def load(
    store: Store,
    files: str | Path | Iterable[str | Path],
    *,
    key: str | bytes | None = None,
    demo: bool = False,
    max_reject_share: float = 0.5,
) -> pd.DataFrame:
    """Check and load canonical files into a DuckDB store, all or nothing, as
    ``commissioning load`` does: NHS numbers are replaced by their keyed pseudonym on
    reading, rows that fail a check are kept aside with their reasons, and a file already
    loaded changes nothing. ``files`` is a folder (every Parquet file in it, else every
    CSV file), one file or several, each named after its table (``people.csv``).

    ``key`` is the pseudonymisation key (keep it out of the notebook: read it from the
    environment); ``demo=True`` uses the published demo key, for synthetic data only.

    Returns one row per file: file, table, rows_read, rows_loaded, rows_rejected,
    already_loaded. See docs/loading.md.
    """
    if store.connection is None:
        raise ValueError(f"{store.address.text}: loads go into a DuckDB store")
    paths = _files(files)
    reports = load_files(
        store.connection,
        [Source(p, table_for_file(p)) for p in paths],
        _key(key, demo),
        max_reject_share=max_reject_share,
    )
    frame = pd.DataFrame([r.summary() for r in reports])
    return frame.drop(columns="ignored_columns", errors="ignore")


def _files(files: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(files, str | Path):
        path = Path(files)
        if not path.is_dir():
            return [path]
        found = sorted(path.glob("*.parquet")) or sorted(path.glob("*.csv"))
        if not found:
            raise FileNotFoundError(f"{path}: no Parquet or CSV files in this folder")
        return found
    return [Path(f) for f in files]


def indicator_library() -> pd.DataFrame:
    """The indicators the workbench computes: id, title, measure, unit, polarity, tier,
    kind and source (the national definition followed). See docs/indicators.md."""
    return pd.DataFrame(
        [
            {
                "id": i.id,
                "title": i.title,
                "measure": i.measure,
                "unit": i.unit,
                "polarity": i.polarity,
                "tier": i.tier,
                "kind": i.kind,
                "source": i.source,
            }
            for i in default_library().indicators
        ]
    )


def indicator(
    store: Store,
    indicator_id: str,
    by: str = "place_code",
    years: Sequence[int] | None = None,
    *,
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """One indicator of the library for every group, pooled over ``years`` (default: every
    year with activity). ``by`` is ``place_code``, ``practice_code``, ``provider_code``,
    ``sex`` or ``imd_decile``.

    Returns one row per group: indicator_id, the ``by`` column, numerator, denominator,
    value, lower and upper (95% interval), lower_99_8 and upper_99_8, suppressed (values
    from fewer than ``threshold`` people are hidden) and unit.

    >>> indicator(store, "emergency_admissions", by="practice_code")  # doctest: +SKIP
    """
    return compute.compute_indicator(
        store.tables, indicator_id, by, years, threshold=threshold
    ).reset_index(drop=True)


def indicator_series(
    store: Store,
    indicator_id: str,
    place_code: str | None = None,
    by: str = "quarter",
    years: Sequence[int] | None = None,
) -> pd.DataFrame:
    """The indicator by ``quarter`` or ``month`` for one place (or everyone), the series
    an SPC chart plots: period (its first day), numerator, denominator, value, lower,
    upper, lower_99_8, upper_99_8, suppressed. Rates are annualised."""
    return compute.indicator_series(store.tables, indicator_id, place_code, by, years)


def person_year(store: Store, years: Sequence[int] | None = None) -> pd.DataFrame:
    """The person-year table: one row per person registered in each financial year,
    with age band, sex, deprivation, practice and place, conditions, multimorbidity,
    frailty, last year of life, and use and cost by setting. Person-level: keep it
    restricted. See docs/population.md."""
    yrs = list(years) if years is not None else store.years
    return person_year_table(store.tables, yrs).to_pandas()


def needs(
    store: Store,
    by: str | None = "place_code",
    year: int | None = None,
    conditions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Crude and age-standardised prevalence of each long-term condition by ``by`` (a
    person-year column: place_code, practice_code, imd_decile; None for everyone) in
    ``year`` (default: the latest), as the needs assessment shows it. Columns: group
    (the value of ``by``), condition, cases, population (registered and alive on
    1 October), crude_pct with crude_lower_pct and crude_upper_pct, the directly
    age-standardised dsr_pct with dsr_lower_pct and dsr_upper_pct (95%), and
    dsr_suppressed. See docs/population.md."""
    latest = year if year is not None else store.years[-1]
    table = person_year_table(store.tables, [latest])
    return population_needs.prevalence(table, [latest], by=by, conditions=conditions)


def risk(store: Store, years: Sequence[int] | None = None) -> RiskEvaluation:
    """Train the emergency-admission risk model on earlier years and test it on the last
    pair (three or more years needed), beside a PARR-like baseline and, on synthetic
    data, the true probability. ``.summary()`` gives AUC, calibration and PPV at the top
    of the list; ``.tiers`` the risk tiers; ``.scored`` the test people with their risk.
    Person-level: keep ``.scored`` restricted. See docs/population.md."""
    yrs = sorted(years) if years is not None else store.years
    frame = person_year_table(store.tables, yrs).to_pandas()
    truth = None
    if "synthetic_person_year" in store.tables:
        truth = store.tables["synthetic_person_year"].to_pandas()
        truth = truth if len(truth) else None
    return evaluate_risk(frame, yrs, truth)


def read_contract(file_or_example: str | Path) -> Contract:
    """A contract, checked: from a TOML file, or one of the shipped examples by name
    (``optimistic_older_people``, ``ld_prime_provider``, ...). A contract that does not
    validate raises ``ContractError`` naming each field and the fix. See docs/contracts.md.
    """
    if isinstance(file_or_example, str) and file_or_example in list_examples():
        return load_example(file_or_example)
    return load_contract(file_or_example)


def settle(contract: Contract, periods: Iterable[PeriodInputs | Mapping[str, Any]]) -> pd.DataFrame:
    """Settle quarters of a contract, in order, into payment lines (exact, in pence).

    Each period is a :class:`~commissioning.settlement.lines.PeriodInputs` or a mapping of
    its fields: year and quarter, and the period's measured ``indicator_values`` (by the
    contract's outcome keys), ``activity_counts``, ``people_by_band``, ``episodes`` and,
    with quarter 4, the year's ``outturn_cost_gbp``. This is the settlement arithmetic on
    its own: the signed register, approvals and ledger are ``commissioning contract``.

    Returns one row per line: year, quarter, kind, key, payer, payee, amount_pence and
    description. The same contract and inputs always give the same lines.

    >>> lines = settle(read_contract("optimistic_older_people"), [{"year": 1, "quarter": 1}])
    >>> int(lines.amount_pence.sum())
    3400000000
    """
    inputs = [p if isinstance(p, PeriodInputs) else PeriodInputs(**p) for p in periods]
    lines = settle_periods(contract, inputs)
    columns = ["year", "quarter", "kind", "key", "payer", "payee", "amount_pence", "description"]
    return pd.DataFrame([{c: getattr(line, c) for c in columns} for line in lines], columns=columns)
