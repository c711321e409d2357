"""The pilot page's time series: monthly counts published only when none is small."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commissioning.decide.evaluation import (
    Estimate,
    Evaluation,
    Matched,
    Pilot,
    interrupted_time_series,
)
from commissioning.reports.audit import audit_published
from commissioning.reports.decide_report import write_evaluation_page
from commissioning.reports.publish import Outputs

PILOT = Pilot("emergency_admissions", 2022, 2023, ("NVL",), 2)


def _evaluation(treated_events: list[int]) -> Evaluation:
    """20 treated people and 20 matched comparisons; the comparison has 20 events a month."""
    months = list(pd.period_range("2022-04", "2024-03", freq="M"))
    series = pd.DataFrame(
        {
            "month": months,
            "treated": np.array(treated_events, dtype=float) / 20,
            "comparison": np.full(24, 1.0),
            "treated_events": treated_events,
            "comparison_events": [20] * 24,
        }
    )
    its = interrupted_time_series(series["treated"], 12, control=series["comparison"])
    naive = Estimate("before and after (treated only)", -1.9, -2.1, -1.7, 20)
    matched = Estimate("matched difference in differences", -0.2, -0.4, 0.0, 20, 20)
    balance = pd.DataFrame(
        {"covariate": ["age_years"], "before_matching": [0.2], "after_matching": [0.0]}
    )
    m = Matched(matched, balance, 0, -1.4, tuple(range(20)), tuple(range(20, 40)))
    return Evaluation(PILOT, naive, m, [], series, its)


def test_the_series_is_published_when_no_month_is_small(tmp_path: Path) -> None:
    ev = _evaluation([20] * 12 + [14] * 12)  # 1.0 then 0.7 a person: 6 fewer a month
    assert ev.its_estimate is not None
    assert ev.its_estimate.effect == pytest.approx(12 * -0.3)
    outputs = Outputs(tmp_path)
    write_evaluation_page(outputs, ev, None, 0.9)
    table = pd.read_csv(outputs.published / "pilot_series.csv")
    assert list(table["treated_events"]) == [20] * 12 + [14] * 12
    assert table["counterfactual_treated_per_person"].tolist() == pytest.approx([1.0] * 24)
    assert table["fitted_treated_per_person"].iloc[12:].tolist() == pytest.approx([0.7] * 12)
    estimates = pd.read_csv(outputs.published / "pilot_evaluation.csv")
    assert estimates["design"].tolist()[-1] == "interrupted time series (matched comparison)"
    assert estimates["effect"].iloc[-1] == pytest.approx(-3.6)
    assert audit_published(outputs.published) == []


def test_a_small_month_keeps_every_month_back(tmp_path: Path) -> None:
    ev = _evaluation([20] * 12 + [14] * 11 + [3])
    outputs = Outputs(tmp_path)
    write_evaluation_page(outputs, ev, None, 0.9)
    table = pd.read_csv(outputs.published / "pilot_series.csv")
    assert list(table.columns) == [
        "month",
        "fitted_treated_per_person",
        "counterfactual_treated_per_person",
    ]
    page = (outputs.published / "pilot_evaluation.html").read_text()
    assert "the monthly points are not published" in page
    assert audit_published(outputs.published) == []
