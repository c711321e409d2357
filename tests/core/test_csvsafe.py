"""CSV cells that a spreadsheet would run are made inert; pounds are written to the penny."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from commissioning.core.csvsafe import csv_text, safe_cell, write_csv

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def test_formula_cells_get_an_apostrophe_and_numbers_do_not() -> None:
    assert safe_cell('=HYPERLINK("http://x","click")') == '\'=HYPERLINK("http://x","click")'
    assert safe_cell("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-2+3") == "'-2+3"
    assert safe_cell("-12.5") == "-12.5"  # a negative number stays a number
    assert safe_cell("Riverside Surgery") == "Riverside Surgery"
    assert safe_cell(-3) == -3


def test_a_frame_is_written_safe_with_money_to_the_penny(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "practice_name": ["=1+1", "Riverside"],
            "spend_gbp": [58021.369999999995, -12.0],
            "rate": [0.1 + 0.2, 1.5],
        }
    )
    text = write_csv(frame, tmp_path / "x.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["practice_name"] == "'=1+1" and rows[1]["practice_name"] == "Riverside"
    assert [r["spend_gbp"] for r in rows] == ["58021.37", "-12.00"]
    assert frame.loc[0, "practice_name"] == "=1+1"  # the caller's frame is untouched


@given(st.lists(st.text(max_size=20), min_size=1, max_size=5))
def test_no_written_text_cell_can_start_a_formula(cells: list[str]) -> None:
    text = csv_text(["c"] * len(cells), [cells])
    (row,) = list(csv.reader(io.StringIO(text, newline="")))[1:]
    for written in row:
        if written.startswith(DANGEROUS):
            float(written)  # only a number may start with a sign


def test_a_carriage_return_inside_a_cell_does_not_split_the_row(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": ["a\rb", "c"], "n": [1, 2]})
    text = write_csv(frame, tmp_path / "x.csv").read_bytes().decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["name", "n"], ["a\rb", "1"], ["c", "2"]]
