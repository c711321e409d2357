"""The packaged library validates, covers the three tiers, and bad entries are explained."""

from __future__ import annotations

import pytest

from commissioning.indicators.library import LibraryError, default_library, parse_library

GOOD = """
[[indicators]]
id = "ae"
title = "A&E attendances"
measure = "rate"
numerator = { point_of_delivery = "ae_attendance" }
polarity = "lower_is_better"
unit = "per 1,000"
multiplier = 1000
tier = 3
kind = "outcome"
source = "test"
"""


def test_built_in_library_has_every_tier_and_marks_process_measures() -> None:
    lib = default_library()
    assert len(lib.indicators) >= 15
    assert {i.tier for i in lib.indicators} == {1, 2, 3}
    process = {i.id for i in lib.indicators if i.kind == "process"}
    assert {"gp_appointments", "outpatient_first", "elective_admissions"} <= process
    assert "J44" in lib.codelists["acsc_chronic"].prefixes


def test_a_good_entry_parses() -> None:
    assert parse_library(GOOD).get("ae").multiplier == 1000


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"ae_attendance"', '"ae_visit"', "unknown point_of_delivery 'ae_visit'; use one of"),
        ("tier = 3", "tier = 4", "indicator 'ae': tier"),
        (
            'measure = "rate"',
            'measure = "rate"\nstandardisation = "direct"\ncomputation = "x"',
            "unknown computation 'x'",
        ),
        ('numerator = { point_of_delivery = "ae_attendance" }', "", "needs a numerator filter"),
        ('point_of_delivery = "ae_attendance"', 'diagnosis_in = "acsc"', "add [codelists.acsc]"),
        ('polarity = "lower_is_better"', 'polarity = "down"', "indicator 'ae': polarity"),
    ],
)
def test_bad_entries_name_the_field_and_the_fix(old: str, new: str, message: str) -> None:
    with pytest.raises(LibraryError, match="indicator library is not valid") as err:
        parse_library(GOOD.replace(old, new))
    assert message in str(err.value)


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(LibraryError, match="used twice"):
        parse_library(GOOD + GOOD)
