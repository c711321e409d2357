"""England comparators: the Fingertips comparison as spec tables, and the national values
file's checks.

Each spec row is an area's value and 95% interval, England's value and the polarity, with
the verdict Fingertips would colour it by: the interval wholly above England, straddling
it, touching it or wholly below it, for each polarity; a missing England value and a
suppressed area value give no verdict.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from commissioning.indicators.england import (
    COLUMNS,
    NationalValuesError,
    compare_frame,
    compare_with_england,
    default_national_values,
    parse_national_values,
)
from commissioning.indicators.library import default_library

NAN = float("nan")

# value, lower, upper, england, polarity, suppressed -> verdict
SPEC = [
    # interval wholly above England
    (420.0, 400.0, 440.0, 349.0, "lower_is_better", False, "worse"),
    (85.0, 81.0, 89.0, 79.1, "higher_is_better", False, "better"),
    (6.2, 5.9, 6.5, 5.5, "neither", False, "higher"),
    # interval straddles England
    (360.0, 330.0, 390.0, 349.0, "lower_is_better", False, "similar"),
    (75.0, 70.0, 80.0, 79.1, "higher_is_better", False, "similar"),
    (5.4, 5.0, 5.8, 5.5, "neither", False, "similar"),
    # interval touches England: England is inside it, so similar
    (380.0, 349.0, 410.0, 349.0, "lower_is_better", False, "similar"),
    (70.0, 60.0, 79.1, 79.1, "higher_is_better", False, "similar"),
    # interval wholly below England
    (300.0, 280.0, 320.0, 349.0, "lower_is_better", False, "better"),
    (60.0, 50.0, 70.0, 79.1, "higher_is_better", False, "worse"),
    (4.2, 3.9, 4.5, 5.5, "neither", False, "lower"),
    # no England value shipped
    (300.0, 280.0, 320.0, None, "lower_is_better", False, "not compared"),
    (300.0, 280.0, 320.0, NAN, "lower_is_better", False, "not compared"),
    # suppressed area value: no verdict even when the interval would exclude England
    (300.0, 280.0, 320.0, 349.0, "lower_is_better", True, "not compared"),
    # a value without an interval (a mean of one record) is not compared
    (0.6, NAN, NAN, 0.454, "higher_is_better", False, "not compared"),
    (NAN, NAN, NAN, 0.454, "higher_is_better", False, "not compared"),
]


@pytest.mark.parametrize(
    ("value", "lower", "upper", "england", "polarity", "hidden", "verdict"), SPEC
)
def test_fingertips_comparison_spec(
    value: float,
    lower: float,
    upper: float,
    england: float | None,
    polarity: str,
    hidden: bool,
    verdict: str,
) -> None:
    got = compare_with_england(value, lower, upper, england, polarity, suppressed=hidden)  # type: ignore[arg-type]
    assert got == verdict


def test_compare_frame_adds_england_and_verdict_by_indicator_id() -> None:
    lib = default_library()
    frame = pd.DataFrame(
        {
            "indicator_id": ["mortality_under_75", "mortality_under_75", "ae_attendances"],
            "group": ["A", "B", "A"],
            "value": [300.0, 360.0, 6.0],
            "lower": [280.0, 330.0, 5.8],
            "upper": [320.0, 390.0, 6.2],
            "suppressed": [False, True, False],
        }
    )
    out = compare_frame(frame, lib)
    assert list(out["verdict"]) == ["better", "not compared", "not compared"]
    assert list(out["england_value"][:2]) == [349.0, 349.0]
    assert math.isnan(out["england_value"].iloc[2])  # no England value shipped
    assert list(out["england_period"]) == ["2021 to 2023", "2021 to 2023", ""]
    assert out["england_source"].iloc[0] == (
        "Office for Health Improvement and Disparities: Mortality Profile commentary: November 2024"
    )


def test_the_shipped_file_validates_and_is_keyed_by_library_ids() -> None:
    nat = default_national_values()
    lib = default_library()
    assert set(nat.ids) <= set(lib.ids)
    assert sorted(nat.ids) == sorted(
        [
            "mortality_under_75",
            "readmission_30_days",
            "at_home_91_days",
            "deaths_usual_residence",
            "patient_experience_good",
            "proms_hip_gain",
            "falls_admissions_65_plus",
            "gp_appointments",
        ]
    )
    under75 = nat.england("mortality_under_75")
    assert under75 is not None and under75.value == 349.0 and under75.unit == "per 100,000"
    assert nat.get("mortality_under_75", "North East").value == 418.0  # type: ignore[union-attr]
    # every England row is in the library's unit and says where it was read
    for v in nat.values:
        assert v.unit == lib.get(v.indicator_id).unit
        assert v.url.startswith("http") and v.publisher and v.period
    assert nat.england("life_expectancy_at_birth") is None  # persons not published: not shipped


HEADER = ",".join(COLUMNS)
ROW = (
    'mortality_under_75,England,2021 to 2023,349,,,"per 100,000",Fingertips 108,OHID,'
    "Mortality Profile,https://example.org/x,2024-11-05,"
)


def test_an_unknown_indicator_id_is_named_with_the_fix() -> None:
    text = f"{HEADER}\n{ROW.replace('mortality_under_75', 'premature_deaths')}\n"
    with pytest.raises(NationalValuesError) as err:
        parse_national_values(text)
    message = str(err.value)
    assert (
        "row 2 (premature_deaths): indicator_id 'premature_deaths' is not in the indicator library"
        in message
    )
    assert "use the library's id (one of mortality_under_75," in message


def test_a_unit_other_than_the_librarys_is_refused() -> None:
    text = f"{HEADER}\n{ROW.replace('per 100,000', 'per 1,000')}\n"
    with pytest.raises(
        NationalValuesError, match=r"unit 'per 1,000' is not the library's unit 'per 100,000'"
    ):
        parse_national_values(text)


def test_duplicates_bad_dates_intervals_and_columns_are_refused() -> None:
    with pytest.raises(NationalValuesError, match="a second row for area 'England'"):
        parse_national_values(f"{HEADER}\n{ROW}\n{ROW}\n")
    with pytest.raises(NationalValuesError, match="published '5 Nov 2024' is not a date"):
        parse_national_values(f"{HEADER}\n{ROW.replace('2024-11-05', '5 Nov 2024')}\n")
    with pytest.raises(
        NationalValuesError, match="the value 349 is not between lower 350 and upper 360"
    ):
        parse_national_values(f"{HEADER}\n{ROW.replace('349,,,', '349,350,360,')}\n")
    with pytest.raises(NationalValuesError, match="they must be, in order: indicator_id, area"):
        parse_national_values("indicator_id,value\nmortality_under_75,349\n")
    nat = parse_national_values(f"{HEADER}\n{ROW}\n")
    assert nat.england("mortality_under_75").value == 349.0  # type: ignore[union-attr]
