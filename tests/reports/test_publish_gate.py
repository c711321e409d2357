"""The publication gate refuses each kind of table that would give a small number back,
names the table, the column and the fix, and writes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from commissioning.reports.publish import Disclosure, Outputs, PublicationRefused

GOOD = pd.DataFrame(
    {
        "place": ["A", "B", "C"],
        "cases": [12.0, float("nan"), 0.0],
        "population": [400, 300, 500],
        "pct": [3.0, float("nan"), 0.0],
    }
)
DECLARED = Disclosure(counts=["cases", "population"], derived=["pct"])


def test_a_good_table_is_written_with_whole_counts_and_listed(tmp_path: Path) -> None:
    out = Outputs(tmp_path)
    path = out.table("prevalence.csv", GOOD, DECLARED)
    assert path == tmp_path / "published" / "prevalence.csv"
    assert path.read_text().splitlines()[1] == "A,12,400,3.0"  # 12, not 12.0
    manifest = json.loads((tmp_path / "published" / "manifest.json").read_text())
    assert manifest["files"]["prevalence.csv"]["counts"] == ["cases", "population"]
    assert (tmp_path / "restricted" / "README.txt").read_text().startswith("RESTRICTED")


@pytest.mark.parametrize(
    ("change", "disclosure", "message"),
    [
        ({"extra": [1, 2, 3]}, DECLARED, "column 'extra' is a number the gate cannot classify"),
        ({"person_id": ["p1", "p2", "p3"]}, DECLARED, "column 'person_id' is person-level"),
        ({"cases": [12.0, 3.0, 0.0]}, DECLARED, "shows 1 count(s) from 1 to 7"),
        ({"cases": [12.5, 9.0, 0.0]}, DECLARED, "has values that are not counts"),
        ({"pct": [3.0, 1.0, 0.0]}, DECLARED, "column 'pct' is shown in 1 row(s) whose count"),
        (
            {"rate": [10.0, 10.0, 0.0]},
            Disclosure(counts=["population"], implied={"rate": ("population", 1000.0)}),
            "rate 'rate' gives back 2 count(s) from 1 to 7",
        ),
        ({"place": ["A", "943 476 5919", "C"]}, DECLARED, "reads as an NHS number"),
    ],
)
def test_the_gate_refuses_and_writes_nothing(
    tmp_path: Path, change: dict[str, list[object]], disclosure: Disclosure, message: str
) -> None:
    frame = GOOD.assign(**change)
    if "rate" in change:
        frame = frame.drop(columns=["cases", "pct"])
    out = Outputs(tmp_path)
    with pytest.raises(PublicationRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        out.table("t.csv", frame, disclosure)
    assert not (tmp_path / "published" / "t.csv").exists()


def test_names_that_leave_the_folder_are_refused(tmp_path: Path) -> None:
    out = Outputs(tmp_path)
    for name in ("../x.csv", "/etc/x.csv", "x.parquet", "assets/x.csv", "X.csv"):
        with pytest.raises(PublicationRefused):
            out.table(name, GOOD, DECLARED)


def test_a_chart_has_the_same_id_every_time_and_no_digits_in_it() -> None:
    """Plotly's default element id is a random UUID: pages differed from run to run and
    sometimes held ten digits that pass the NHS number check."""
    import plotly.graph_objects as go

    from commissioning.reports.html import FigureBlock

    block = FigureBlock(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), note="two bars")
    first, again = block.html(), block.html()
    assert first == again
    chart_id = block.div_id()
    assert re.fullmatch(r"chart-[g-v]{20}", chart_id)
    assert f'id="{chart_id}"' in first
    other = FigureBlock(go.Figure(go.Bar(x=["a", "b"], y=[1, 3])), note="two bars")
    assert other.div_id() != chart_id
