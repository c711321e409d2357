"""The low-value count on a store: knee arthroscopies for osteoarthritis written into the
small synthetic population's activity, found again through the queries."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pytest

from commissioning.data.queries import activity_years
from commissioning.decide.from_store import (
    home_practices,
    low_value_in_store,
    practice_population,
    procedure_activity,
)
from commissioning.decide.low_value import low_value_summary, match_ebi, read_ebi_list
from commissioning.synthetic.files import tables_from_folder


def test_written_procedures_are_found_and_priced(small_population: Path) -> None:
    con = ibis.duckdb.connect()
    tables = tables_from_folder(small_population, backend=con)
    year = activity_years(tables)[-1]
    act = tables["activity"].to_pandas()
    # Start from no low-value procedure (the generator makes a few of its own).
    made = act["procedure_code"].isin(["W85.1", "A52.1", "D15.1", "F34.1", "A65.1"])
    act.loc[made, "procedure_code"] = None
    in_year = act[
        (pd.to_datetime(act["start_date"]) >= f"{year}-04-01")
        & (act["point_of_delivery"] == "day_case")
    ].head(60)
    act.loc[in_year.index, "procedure_code"] = "W85.1"
    act.loc[in_year.index, "primary_diagnosis"] = "M17.1"
    act.loc[in_year.index, "cost_gbp"] = 1_000
    tables["activity"] = ibis.memtable(act)
    procs = procedure_activity(tables, [year])
    matched = match_ebi(procs, read_ebi_list())
    assert set(matched["procedure_code"]) == {"W85.1"}
    # every written procedure of someone registered at mid-year is found, once
    assert 40 <= len(matched) <= 60
    home = home_practices(tables)
    pop = practice_population(tables, [year])
    assert pop["people"].sum() > 3_000
    summary = low_value_summary(matched, pop, home).set_index("intervention")
    knee = summary.loc["Knee arthroscopy for patients with osteoarthritis"]
    at_home = int(matched["practice_code"].isin(home).sum())
    assert 0 < at_home < len(matched)  # the benchmark uses every place; the money, home
    assert knee["procedures"] == at_home
    assert knee["released_gbp"] == pytest.approx(1_000 * at_home)  # not routine: all of it
    found = low_value_in_store(tables, [year])
    assert found.summary.equals(low_value_summary(matched, pop, home))
    assert found.providers["procedures"].sum() == at_home
    knee_practices = found.practices[found.practices["intervention"] == knee.name]
    assert knee_practices["observed"].sum() == len(matched)
    assert knee_practices["expected"].sum() == pytest.approx(len(matched))
