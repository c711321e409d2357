"""The risk model against a PARR-like baseline and the oracle on the calibration population.

Train on 2021→2022 and 2022→2023 for one half of the people (by a keyed hash); test on
2023→2024 for the other half. The oracle is the generator's true probability of an
emergency admission in 2024, the year predicted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commissioning.population.person_year import person_year_table
from commissioning.risk.stratify import RiskEvaluation, evaluate_risk, risk_tiers
from commissioning.synthetic.files import tables_from_folder

YEARS = [2021, 2022, 2023, 2024]


@pytest.fixture(scope="module")
def evaluation(calibration_population: Path) -> RiskEvaluation:
    tables = tables_from_folder(calibration_population)
    frame = person_year_table(tables, YEARS).to_pandas()
    truth = tables["synthetic_person_year"].to_pandas()
    return evaluate_risk(frame, YEARS, truth)


def test_no_person_in_both_sets(evaluation: RiskEvaluation) -> None:
    assert evaluation.test_year == 2023
    assert evaluation.train_years == [2021, 2022]
    assert evaluation.scored.outcome_year.eq(2024).all()
    assert evaluation.train_rows > 50_000 and evaluation.test_rows > 25_000


def test_model_beats_baseline_and_nears_oracle(evaluation: RiskEvaluation) -> None:
    model, baseline, oracle = evaluation.model, evaluation.baseline, evaluation.oracle
    assert oracle is not None
    print(evaluation.summary().round(3).to_string())  # shown with -s: figures for the docs
    assert model.auc > baseline.auc
    assert model.auc >= 0.90 * oracle.auc
    assert 0.9 <= model.calibration.slope <= 1.1
    assert abs(model.calibration.intercept) < 0.1


def test_ppv_falls_down_the_list(evaluation: RiskEvaluation) -> None:
    top = evaluation.model.top
    assert list(top.share) == [0.005, 0.01, 0.05]
    assert top.ppv.is_monotonic_decreasing
    assert top.sensitivity.is_monotonic_increasing


def test_tiers_have_the_right_sizes() -> None:
    tiers = risk_tiers(pd.Series(range(1000), dtype=float)).value_counts()
    assert tiers["Very high (top 0.5%)"] == 5
    assert tiers["High (next 4.5%)"] == 45
    assert tiers["Moderate (next 15%)"] == 150
    assert tiers["Low (rest)"] == 800


def test_gain_list_ranks_by_risk_times_avoidable_share(evaluation: RiskEvaluation) -> None:
    gain = evaluation.gain
    assert gain.gain_score.is_monotonic_decreasing
    assert (gain.gain_score <= gain.risk + 1e-12).all()
