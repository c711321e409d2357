"""Flags and colours on the benchmark page follow each indicator's polarity."""

from __future__ import annotations

import pytest

from commissioning.benchmarking.adjusted import judgement
from commissioning.reports.benchmark_report import JUDGEMENT_COLOUR, practice_flag

RED, GREEN, PURPLE, GREY = "#d5281b", "#007f3b", "#330072", "#768692"


@pytest.mark.parametrize(
    ("polarity", "classification", "flag", "colour"),
    [
        # More emergency admissions than expected is worse: a red row.
        ("lower_is_better", "above 99.8%", "miss", RED),
        ("lower_is_better", "below 99.8%", "hit", GREEN),
        # More people at home 91 days after discharge is better: green.
        ("higher_is_better", "above 99.8%", "hit", GREEN),
        ("higher_is_better", "below 99.8%", "miss", RED),
        # More outpatient referrals is neither good nor bad: purple, never red.
        ("neither", "above 99.8%", "neutral", PURPLE),
        ("neither", "below 99.8%", "neutral", PURPLE),
        # Inside the 99.8% limits nothing is coloured.
        ("lower_is_better", "above 95%", "", GREY),
        ("higher_is_better", "within", "", GREY),
    ],
)
def test_row_flag_and_point_colour(
    polarity: str, classification: str, flag: str, colour: str
) -> None:
    verdict = judgement(classification, polarity)  # type: ignore[arg-type]
    assert practice_flag(verdict) == flag
    assert JUDGEMENT_COLOUR[verdict] == colour
