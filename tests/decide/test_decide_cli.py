"""The decide commands on the shipped examples, and a malformed file's one-line error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from commissioning.cli.main import app
from commissioning.reports.audit import audit_published

runner = CliRunner()


def test_priorities_and_a_case_from_the_examples(tmp_path: Path) -> None:
    for name in ("priorities", "case"):
        result = runner.invoke(app, ["decide", "example", name, "--to", str(tmp_path)])
        assert result.exit_code == 0, result.output
    out = tmp_path / "pack"
    result = runner.invoke(
        app, ["decide", "priorities", str(tmp_path / "priorities.toml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Best package: falls, social-prescribing, stop-arthroscopy (value 17.9)" in result.output
    result = runner.invoke(
        app, ["decide", "case", str(tmp_path / "falls_case.toml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Net present value £65; benefit-cost ratio 1.00" in result.output
    page = (out / "published" / "business_case.html").read_text()
    assert "Net present value" in page and "£252,082" in page  # present value of costs
    assert audit_published(out / "published") == []


def test_a_malformed_exercise_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text(
        'title = "x"\nbudget_gbp = 10\n[weights]\nhealth = 1.0\n'
        '[[candidates]]\nid = "a"\nname = "A"\ncost_gbp = 5\nscores = { wealth = 3 }\n'
    )
    result = runner.invoke(app, ["decide", "priorities", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    one_line = " ".join(result.output.split())  # the console wraps long lines
    assert one_line.startswith("error: ") and one_line.endswith("p.toml: a: no score for health")
    assert "Traceback" not in result.output
    bad.write_text('title = "x"\nbudget_gbp = "lots"\nweights = {}\ncandidates = []\n')
    result = runner.invoke(app, ["decide", "priorities", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "budget_gbp" in result.output


def test_a_pilot_is_evaluated_on_the_stores_own_data(
    small_population: Path, tmp_path: Path
) -> None:
    """No effect planted: the command evaluates what the store holds, and says when the
    cohort was chosen on its outcome."""
    store = tmp_path / "s.duckdb"
    files = [str(p) for p in sorted(small_population.glob("*.parquet"))]
    result = runner.invoke(app, ["load", "--demo", "--store", str(store), *files])
    assert result.exit_code == 0, result.output
    args = ["decide", "pilot", "--place", "NVL", "--store", str(store), "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--before", "2021", "--after", "2022", "--min-before", "1"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert text.startswith("Matched difference in differences: ")
    assert "regression to the mean" in text
    assert "Interrupted time series: " in text
    page = (tmp_path / "published" / "pilot_evaluation.html").read_text()
    assert "Month by month: an interrupted time series" in page
    series = pd.read_csv(tmp_path / "published" / "pilot_series.csv")
    assert len(series) == 24 and series["month"].iloc[0] == "2021-04"
    assert "Planted in the synthetic data" not in page  # no truth claimed for real data
    assert audit_published(tmp_path / "published") == []
    result = runner.invoke(app, [*args, "--before", "2019", "--after", "2022"])
    assert result.exit_code == 2
    assert "the store has no activity in [2019]" in " ".join(result.output.split())


def test_priorities_with_candidates_found_in_a_store(
    small_population: Path, tmp_path: Path
) -> None:
    """The small population has the five low-value procedures the generator makes, too
    few at any practice to set a benchmark: found, nothing claimed, and the benchmark's
    opportunity still makes a candidate that waits for the panel's scores."""
    store = tmp_path / "s.duckdb"
    files = [str(p) for p in sorted(small_population.glob("*.parquet"))]
    assert runner.invoke(app, ["load", "--demo", "--store", str(store), *files]).exit_code == 0
    opportunity = tmp_path / "opportunity.csv"
    pd.DataFrame(
        {
            "indicator_id": ["emergency_admissions"],
            "benchmark": ["Mean of all peers"],
            "opportunity_gbp": [120_000.0],
        }
    ).to_csv(opportunity, index=False)
    example = tmp_path / "priorities.toml"
    assert (
        runner.invoke(app, ["decide", "example", "priorities", "--to", str(example)]).exit_code == 0
    )
    result = runner.invoke(
        app,
        [
            "decide",
            "priorities",
            str(example),
            "--store",
            str(store),
            "--opportunity",
            str(opportunity),
            "--out",
            str(tmp_path / "pack"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Best package: falls, social-prescribing, stop-arthroscopy (value 17.9)" in text
    assert (
        "Evidence-Based Interventions list: 5 interventions found, £0 a year released at the "
        "benchmarks (small counts left out)" in text
    )
    assert (
        "to score: variation-emergency-admissions (Bring emergency admissions to the mean "
        "of all peers, releases £120,000 a year)" in text
    )
    assert audit_published(tmp_path / "pack" / "published") == []
