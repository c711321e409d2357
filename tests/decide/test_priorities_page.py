"""The priorities page with candidates found in the data and QALYs, from literal tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commissioning.decide.files import example, read_exercise
from commissioning.reports.audit import audit_published
from commissioning.reports.decide_report import write_priorities_page
from commissioning.reports.publish import Outputs

LOW_VALUE = pd.DataFrame(
    [
        ("Tonsillectomy for recurrent tonsillitis", "criteria", 16, 19_200.0, 8_200.0),
        (
            "Snoring surgery (in the absence of obstructive sleep apnoea)",
            "not_routine",
            2,
            2_000.0,
            2_000.0,
        ),
        ("Grommets for glue ear in children", "criteria", 30, 30_000.0, 5_000.0),
    ],
    columns=["intervention", "category", "procedures", "cost_gbp", "released_gbp"],
).assign(
    rule=lambda f: f["category"].map(
        {
            "criteria": "to the lowest quartile of practices' age-sex standardised rates",
            "not_routine": "to zero: not to be routinely commissioned",
        }
    ),
    mean_cost_gbp=lambda f: f["cost_gbp"] / f["procedures"],
    years=1,
    benchmark_ratio=[0.7333, float("nan"), 0.9],
    procedures_above_benchmark=lambda f: f["released_gbp"] / f["mean_cost_gbp"],
)
OPPORTUNITY = pd.DataFrame(
    {
        "indicator_id": ["emergency_admissions", "emergency_admissions"],
        "benchmark": ["Mean of the best 5 peers", "Mean of all peers"],
        "opportunity_gbp": [500_000.0, 120_000.0],
    }
)


def test_found_candidates_join_once_scored_and_small_counts_stay_hidden(tmp_path: Path) -> None:
    outputs = Outputs(tmp_path)
    ef = read_exercise(example("priorities.toml"))
    write_priorities_page(
        outputs, ef, LOW_VALUE, OPPORTUNITY, {"emergency_admissions": "emergency admissions"}
    )
    published = outputs.published
    low = pd.read_csv(published / "low_value_procedures.csv").set_index("intervention")
    snoring = low.loc["Snoring surgery (in the absence of obstructive sleep apnoea)"]
    assert snoring[["procedures", "cost_gbp", "released_gbp"]].isna().all()
    assert low.loc["Grommets for glue ear in children", "released_gbp"] == 5_000
    pri = pd.read_csv(published / "priorities.csv").set_index("id")
    tonsils = pri.loc["ebi-tonsillectomy-for-recurrent-tonsillitis"]
    assert tonsils["cost_gbp"] == -8_200 and bool(tonsils["in_best_package"])
    assert tonsils["source"] == "Evidence-Based Interventions list"
    assert "ebi-grommets-for-glue-ear-in-children" not in pri.index  # not scored yet
    assert "ebi-snoring-surgery-in-the-absence-of-obstructive-sleep-apnoea" not in pri.index
    assert pri.loc["falls", "cost_per_qaly_gbp"] == pytest.approx(200_000 / 11.5)
    assert pri.loc["falls", "against_nice_threshold"] == "within the threshold"
    assert pri.loc["diabetes-education", "against_nice_threshold"] == "within the upper threshold"
    assert pri.loc["stop-arthroscopy", "cost_per_qaly_gbp"] == pytest.approx(80_000 / 1.5)
    assert pri.loc["social-prescribing", "against_nice_threshold"] == "QALYs not known"
    page = (published / "priorities.html").read_text()
    assert "Disinvestment candidates found in the data" in page
    assert "ebi-grommets-for-glue-ear-in-children" in page  # waiting for the panel's scores
    assert "variation-emergency-admissions" in page
    assert "Bring emergency admissions to the mean of all peers" in page
    assert audit_published(published) == []


def test_without_data_the_page_is_as_before(tmp_path: Path) -> None:
    outputs = Outputs(tmp_path)
    write_priorities_page(outputs, read_exercise(example("priorities.toml")))
    assert not (outputs.published / "low_value_procedures.csv").exists()
    page = (outputs.published / "priorities.html").read_text()
    assert "found in the data" not in page
    assert "20,000 per QALY" in page  # the threshold lines of the cost and health chart
