"""Pilot evaluation against a known truth, on the calibration population (60,000 people).

The pilot: people with two or more emergency admissions in 2022 in the home place get an
intervention from April 2023 that removes 30% of their emergency admissions (planted:
each of their 2023 admissions kept with probability 0.7). Chosen for high use, they would
have used much less in 2023 anyway: the before-and-after change is mostly regression to
the mean, and its interval misses the truth by far; the matched difference in differences
covers it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commissioning.decide.evaluation import (
    Pilot,
    cohort,
    evaluate,
    people_needed,
    plant_effect,
    plant_effect_with_events,
)
from commissioning.population.person_year import person_year_table
from commissioning.synthetic.files import tables_from_folder

PILOT = Pilot("emergency_admissions", 2022, 2023, ("NVL",), min_before=2)


@pytest.fixture(scope="module")
def person_year(calibration_population: Path) -> pd.DataFrame:
    tables = tables_from_folder(calibration_population)
    home = tables["places"].filter(tables["places"].is_home == 1).place_code.execute()
    assert list(home) == ["NVL"]
    return person_year_table(tables, [2022, 2023]).to_pandas()


@pytest.fixture(scope="module")
def admissions(calibration_population: Path) -> pd.DataFrame:
    act = tables_from_folder(calibration_population)["activity"]
    act = act.filter(act.point_of_delivery == "emergency_admission")
    return act.select("person_id", "start_date").to_pandas()


def test_the_interrupted_time_series_covers_the_planted_effect(
    person_year: pd.DataFrame, admissions: pd.DataFrame
) -> None:
    """The same pilot by month: each treated person's admissions from April 2023 dropped
    with probability 0.3; the person-year counts carry the same events. Seen figures: truth
    -0.087 per person a year; time series -0.157 (95% interval -1.00 to +0.68, 24 months,
    2 lags); matched difference in differences -0.148 (-0.271 to -0.026); before and
    after -1.95. By month the interval is about seven times as wide."""
    py, events, truth = plant_effect_with_events(person_year, admissions, PILOT, 0.3, seed=1)
    again = plant_effect_with_events(person_year, admissions, PILOT, 0.3, seed=1)
    assert events.equals(again[1]) and py.equals(again[0]) and truth == again[2]
    treated = cohort(person_year, PILOT).query("treated")
    assert -truth * len(treated) == len(admissions) - len(events)  # every drop counted once
    planted_cohort = cohort(py, PILOT).query("treated")
    assert planted_cohort["after"].sum() - treated["after"].sum() == len(events) - len(admissions)
    ev = evaluate(py, PILOT, seed=1, events=events)
    its = ev.its_estimate
    assert ev.its is not None and ev.series is not None and its is not None
    assert truth < -0.05
    assert its.covers(truth), (its, truth)
    assert ev.matched.estimate.covers(truth)
    assert not its.covers(ev.naive.effect)  # the comparison removes regression to the mean
    assert len(ev.series) == 24 and ev.its.controlled
    # the pairs share the outcome before (below the cap of 5): nearly equal sums before
    before = ev.series.iloc[:12]
    assert before["treated"].sum() == pytest.approx(before["comparison"].sum(), rel=0.05)


def test_the_matched_comparison_finds_the_planted_effect_and_before_after_does_not(
    person_year: pd.DataFrame,
) -> None:
    planted, truth = plant_effect(person_year, PILOT, 0.3, seed=1)
    ev = evaluate(planted, PILOT, seed=1)
    matched = ev.matched.estimate
    assert truth < 0
    assert matched.covers(truth), (matched, truth)
    assert not ev.naive.covers(truth)
    assert ev.naive.effect < 5 * truth  # the naive change is many times the real effect
    assert matched.treated >= 200 and ev.matched.unmatched <= 5
    assert "regression to the mean" in ev.warnings[0]


def test_with_no_effect_the_interval_holds_zero(person_year: pd.DataFrame) -> None:
    planted, truth = plant_effect(person_year, PILOT, 0.0, seed=2)
    assert truth == 0.0 and planted.equals(person_year)
    ev = evaluate(planted, PILOT, seed=2)
    assert ev.matched.estimate.covers(0.0)
    assert ev.naive.upper < -1.0  # "it worked", says before and after, of nothing


def test_matching_balances_the_covariates(person_year: pd.DataFrame) -> None:
    ev = evaluate(person_year, PILOT, seed=3)
    b = ev.matched.balance.set_index("covariate")
    assert (b["after_matching"].abs() < 0.1).all(), b
    assert b["before_matching"].abs().max() > 0.1  # there was something to balance


def test_planting_is_exact_and_repeatable(person_year: pd.DataFrame) -> None:
    everything, truth = plant_effect(person_year, PILOT, 1.0, seed=4)
    treated = cohort(person_year, PILOT).query("treated")
    after = everything[
        (everything["year"] == 2023) & everything["person_id"].isin(treated["person_id"])
    ]
    assert after["emergency_admissions"].sum() == 0
    assert truth == pytest.approx(-treated["after"].mean())
    again, _ = plant_effect(person_year, PILOT, 0.3, seed=5)
    assert again.equals(plant_effect(person_year, PILOT, 0.3, seed=5)[0])
    with pytest.raises(ValueError, match="relative_effect must be from 0 to 1"):
        plant_effect(person_year, PILOT, 1.5)


def test_people_needed_worked_by_hand() -> None:
    # 2 (1.959964 + 0.841621)^2 0.9^2 / 0.15^2 = 2 x 7.848879 x 0.81 / 0.0225 = 565.12
    assert people_needed(0.9, 0.15) == 566
    assert people_needed(0.9, -0.15) == 566
    assert people_needed(0.9, 0.3) == 142  # half the difference, a quarter of the people
    with pytest.raises(ValueError, match="difference must not be 0"):
        people_needed(0.9, 0.0)


def test_a_pilot_with_nobody_to_compare_is_refused(person_year: pd.DataFrame) -> None:
    everywhere = Pilot(
        "emergency_admissions",
        2022,
        2023,
        tuple(person_year["place_code"].unique()),
        min_before=2,
    )
    with pytest.raises(ValueError, match="needs treated people and eligible people"):
        evaluate(person_year, everywhere)
