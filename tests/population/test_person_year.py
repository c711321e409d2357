"""The person-year table on the small population: it adds up to the source tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commissioning.data import queries as q
from commissioning.population.codes import condition_columns
from commissioning.population.person_year import AGE_BAND_LABELS, person_year_table
from commissioning.synthetic.files import tables_from_folder

YEARS = [2021, 2022]


@pytest.fixture(scope="module")
def tables(small_population: Path) -> q.Tables:
    return tables_from_folder(small_population)


@pytest.fixture(scope="module")
def frame(tables: q.Tables) -> pd.DataFrame:
    return person_year_table(tables, YEARS).to_pandas()


def test_one_row_a_person_and_year(frame: pd.DataFrame) -> None:
    assert not frame.duplicated(["person_id", "year"]).any()
    assert set(frame.age_band) <= set(AGE_BAND_LABELS)


def test_mid_year_population_matches_the_core_query(frame: pd.DataFrame, tables: q.Tables) -> None:
    mid = q.mid_year_population(tables, YEARS).to_pandas()
    flagged = frame[frame.in_mid_year_population == 1]
    assert len(flagged) == len(mid)
    merged = flagged.merge(mid, on=["person_id", "year"], suffixes=("", "_q"))
    assert (merged.age_years == merged.age_years_q).all()


def test_spend_adds_up_to_the_activity_table(frame: pd.DataFrame, tables: q.Tables) -> None:
    act = q.activity_in_years(tables, YEARS).to_pandas()
    assert frame.total_cost_gbp.sum() == pytest.approx(act.cost_gbp.astype(float).sum())
    setting_total = sum(
        frame[c]
        for c in frame.columns
        if c.endswith("_cost_gbp") and c.split("_cost")[0] in set(act.setting)
    )
    assert (setting_total - frame.total_cost_gbp).abs().max() < 1e-6
    em = (act.point_of_delivery == "emergency_admission").sum()
    assert frame.emergency_admissions.sum() == em


def test_conditions_count_and_frailty(frame: pd.DataFrame) -> None:
    flags = frame[list(condition_columns())]
    assert (flags.sum(axis=1) == frame.condition_count).all()
    young = frame.age_years < 65
    assert frame.loc[young, "frailty"].isna().all()
    assert frame.loc[~young, "frailty"].isin(["fit", "mild", "moderate", "severe"]).all()
    assert (frame.loc[~young, "efi"] == (frame.loc[~young, "efi_deficits"] / 26).round(4)).all()
    assert ((frame.cms_score >= 0) | (frame.condition_count == 0)).all()


def test_deaths_in_year(frame: pd.DataFrame, tables: q.Tables) -> None:
    deaths = q.deaths_summary(tables, YEARS).to_pandas().deaths.iloc[0]
    assert frame.died_in_year.sum() == deaths
