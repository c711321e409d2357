"""Checking a contract before signing: each finding as a worked example.

Every test states a small contract (a literal mapping, changed in one place), the field
path of the problem expected and a phrase of its fix. The base contract passes with no
problems and no warnings, so each finding is caused by the change the test makes.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissioning.contracts.check import (
    CheckReport,
    check_contract,
    check_contract_file,
    check_contract_text,
)
from commissioning.contracts.load import (
    ContractError,
    contract_from_dict,
    example_text,
    list_examples,
    load_contract,
    load_example,
)

EXAMPLES = [
    "frail_elderly_alliance",
    "ld_prime_provider",
    "mk_substance_misuse",
    "optimistic_older_people",
    "pennine_msk_hub",
    "staffordshire_cancer_eol",
]

BASE: dict[str, Any] = {
    "id": "frail-75",
    "version": "1",
    "title": "Frail older people",
    "duration_years": 2,
    "start_date": date(2025, 4, 1),
    "scope": {
        "kind": "population",
        "cohort_rule": 'age >= 75 and frailty in ("moderate", "severe")',
    },
    "services": [{"setting": "community"}],
    "form": {"type": "capitation_with_outcome_incentive", "provider": "prov"},
    "parties": [
        {"id": "icb", "name": "ICB", "role": "commissioner"},
        {"id": "prov", "name": "Provider", "role": "provider"},
    ],
    "finance": {"baseline_budget_gbp": 23000000},
    "years": [
        {"year": 1, "basis": "capitation", "value_at_risk": "0.05", "planned_savings": "0.02"},
        {"year": 2, "basis": "capitation", "value_at_risk": "0.05", "planned_savings": "0.03"},
    ],
    "outcomes": {
        "measures": [
            {
                "indicator_id": "emergency_admissions_65_plus",
                "name": "Emergency admissions per 1,000",
                "tier": 1,
                "weight": "0.6",
                "baseline": 450,
                "target": 400,
                "polarity": "lower_is_better",
                "kind": "rate_per_1000",
            },
            {
                "indicator_id": "permanent_care_home_admissions",
                "name": "Permanent care home admissions per 1,000",
                "tier": 3,
                "weight": "0.4",
                "baseline": 28,
                "target": 24,
                "polarity": "lower_is_better",
                "kind": "rate_per_1000",
                "curve": {"type": "threshold", "threshold": 1},
            },
        ]
    },
}


def contract(**changes: Any) -> dict[str, Any]:
    """A deep copy of BASE with ``changes`` applied; keys are dotted paths with [i]."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node: Any = data
        for part in parents:
            name, _, index = part.partition("[")
            node = node[name]
            if index:
                node = node[int(index.rstrip("]"))]
        node[last] = value
    return data


def check(data: dict[str, Any]) -> CheckReport:
    return check_contract(contract_from_dict(data))


def messages(findings: list[Any], path: str) -> list[str]:
    return [p.message for p in findings if p.path == path]


def test_base_contract_has_no_problems_and_no_warnings() -> None:
    report = check(contract())
    assert report.problems == []
    assert report.warnings == []
    assert report.ok
    assert report.contract is not None


# 1. The cohort rule must work at settlement ------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "fix"),
    [
        ("age >= ", "could not be read"),
        ("agee >= 75", "unknown column 'agee'"),
        ("frailty in ()", "non-empty tuple"),
        # hf is a person-year column, but not one settlement keeps for cohorts.
        ("hf and age >= 75", "keeps only these person-year columns"),
        ("frailty == 3", "put the value in quotes"),
        ("age >= 75 and len(frailty) > 3", "function calls not allowed"),
    ],
)
def test_cohort_rule_that_would_crash_at_settlement(rule: str, fix: str) -> None:
    report = check(contract(**{"scope.cohort_rule": rule}))
    assert not report.ok
    found = messages(report.problems, "scope.cohort_rule")
    assert len(found) == 1
    assert fix in found[0]


def test_eligibility_rule_of_a_pathway_is_checked_too() -> None:
    scope = {"kind": "pathway", "eligibility_rule": "oa and agee >= 16", "window_days": 365}
    report = check(contract(scope=scope))
    assert [p.path for p in report.problems] == ["scope.eligibility_rule"]
    assert "unknown column 'agee'" in report.problems[0].message


def test_unbalanced_rule_is_a_problem_not_a_traceback() -> None:
    text = example_text("ld_prime_provider").replace("'ld and age >= 18'", "'frailty in ('")
    report = check_contract_text(text)
    assert report.contract is None
    assert messages(report.problems, "scope.cohort_rule") == [
        "has unbalanced brackets or quotes — close every '(' and every quote"
    ]


# 2. Every measure must be one settlement can read ------------------------------------------


def test_misspelt_measure_suggests_the_closest_ids() -> None:
    report = check(contract(**{"outcomes.measures[0].indicator_id": "emergency_admissions_65_plu"}))
    found = messages(report.problems, "outcomes.measures[0].indicator_id")
    assert len(found) == 1
    assert "did you mean 'emergency_admissions_65_plus'" in found[0]


def test_unknown_measure_with_nothing_close_says_where_to_look() -> None:
    report = check(contract(**{"outcomes.measures[1].indicator_id": "zzz"}))
    found = messages(report.problems, "outcomes.measures[1].indicator_id")
    assert len(found) == 1
    assert "contracts.measures" in found[0]


def test_not_in_data_measure_is_known_but_warned() -> None:
    report = check(contract(**{"outcomes.measures[1].indicator_id": "carer_experience"}))
    assert report.ok
    found = messages(report.warnings, "outcomes.measures[1].indicator_id")
    assert len(found) == 1
    assert "pays only once the provider's return supplies a value" in found[0]


def test_a_measure_from_the_providers_return_needs_a_definition() -> None:
    data = contract(**{"outcomes.measures[1].indicator_id": "patient_goals_met"})
    data["outcomes"]["measures"][1]["measured_from"] = "return"
    report = check(data)
    assert messages(report.problems, "outcomes.measures[1].definition")
    data["outcomes"]["measures"][1]["definition"] = "Share of care plans whose goals were met"
    assert check(data).ok


def test_library_indicator_without_a_contract_measure_is_known_but_warned() -> None:
    report = check(contract(**{"outcomes.measures[0].indicator_id": "emergency_admissions"}))
    assert report.ok
    found = messages(report.warnings, "outcomes.measures[0].indicator_id")
    assert len(found) == 1
    assert "'emergency_admissions_65_plus'" in found[0]


# 3. Curves must not pay when the outcome worsens -------------------------------------------


@pytest.mark.parametrize(
    ("curve", "path", "fix"),
    [
        ({"type": "threshold", "threshold": 0}, "curve.threshold", "set threshold above 0"),
        ({"type": "threshold", "threshold": -0.5}, "curve.threshold", "set threshold above 0"),
        ({"type": "linear", "floor": -0.2}, "curve.floor", "set floor to 0 or above"),
        (
            {
                "type": "stepped",
                "steps": [{"attainment": 0, "payout": 0.5}, {"attainment": 1, "payout": 1}],
            },
            "curve.steps[0].attainment",
            "set the attainment of every paying step above 0",
        ),
    ],
)
def test_curve_that_pays_when_the_outcome_worsens(
    curve: dict[str, Any], path: str, fix: str
) -> None:
    report = check(contract(**{"outcomes.measures[1].curve": curve}))
    found = messages(report.problems, f"outcomes.measures[1].{path}")
    assert len(found) == 1
    assert "pays when the outcome worsens" in found[0]
    assert fix in found[0]


@pytest.mark.parametrize(
    "curve",
    [
        {"type": "threshold", "threshold": 0.5},
        {"type": "linear", "floor": 0},
        {
            "type": "stepped",
            "steps": [{"attainment": 0, "payout": 0}, {"attainment": 1, "payout": 1}],
        },
    ],
)
def test_curve_that_pays_only_for_improvement_passes(curve: dict[str, Any]) -> None:
    assert check(contract(**{"outcomes.measures[1].curve": curve})).problems == []


# 4. Savings must leave a budget ------------------------------------------------------------


def test_savings_of_one_leave_no_budget() -> None:
    report = check(contract(**{"years[1].planned_savings": 1}))
    found = messages(report.problems, "years[1].planned_savings")
    assert len(found) == 1
    assert "leaves a £0 budget" in found[0]


def test_large_savings_are_warned() -> None:
    report = check(contract(**{"years[0].planned_savings": "0.35"}))
    assert report.ok
    found = messages(report.warnings, "years[0].planned_savings")
    assert len(found) == 1
    assert "35%" in found[0]


def test_budget_of_zero_is_a_problem() -> None:
    report = check(contract(**{"years[1].budget_gbp": 0}))
    found = messages(report.problems, "years[1].budget_gbp")
    assert len(found) == 1
    assert "write the year's budget in pounds" in found[0]


def test_baseline_of_zero_gives_derived_budgets_of_zero() -> None:
    report = check(contract(**{"finance.baseline_budget_gbp": 0}))
    found = messages(report.problems, "finance.baseline_budget_gbp")
    assert len(found) == 1
    assert "years 1, 2" in found[0]
    assert "write the cohort's annual spend in pounds" in found[0]


def test_baseline_of_zero_is_fine_when_every_year_sets_its_budget() -> None:
    data = contract(**{"finance.baseline_budget_gbp": 0})
    for year in data["years"]:
        year["budget_gbp"] = 20000000
    assert check(data).problems == []


def test_indexation_that_shrinks_the_budget_to_nothing_is_a_problem() -> None:
    # Uplift less efficiency of -1 multiplies the baseline by 0 from year 2.
    report = check(contract(**{"finance.indexation": {"uplift": "-0.5", "efficiency": "0.5"}}))
    found = messages(report.problems, "finance.indexation")
    assert len(found) == 1
    assert "years 2 is £0" in found[0]
    assert "keep uplift − efficiency above −1" in found[0]


def test_all_of_a_capitation_budget_at_risk_is_warned() -> None:
    report = check(contract(**{"years[0].value_at_risk": 1}))
    assert report.ok
    found = messages(report.warnings, "years[0].value_at_risk")
    assert len(found) == 1
    assert "whole budget" in found[0]


# 5. Money must be in pounds ----------------------------------------------------------------

TOO_LARGE = "is larger than any health budget — check the units; write pounds, e.g. 23000000"


def test_money_above_a_trillion_pounds_is_a_problem() -> None:
    report = check(contract(**{"finance.baseline_budget_gbp": 2_000_000_000_000}))
    assert messages(report.problems, "finance.baseline_budget_gbp") == [TOO_LARGE]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (
            "baseline_budget_gbp = 120000000",
            "baseline_budget_gbp = 1e26",
            "finance.baseline_budget_gbp",
        ),
        ("gain_cap_gbp = 3000000", "gain_cap_gbp = 123456789012345678901234567890", None),
    ],
)
def test_money_too_large_for_decimal_is_a_problem_not_a_traceback(
    old: str, new: str, path: str | None
) -> None:
    text = example_text("frail_elderly_alliance").replace(old, new, 1)
    report = check_contract_text(text)
    assert report.contract is None
    expected = path or "years[0].risk_share.gain_cap_gbp"
    assert messages(report.problems, expected) == [TOO_LARGE]


def test_money_above_a_trillion_in_a_file_is_found_after_validation() -> None:
    text = example_text("frail_elderly_alliance").replace(
        "baseline_budget_gbp = 120000000", "baseline_budget_gbp = 5e12"
    )
    report = check_contract_text(text)
    assert report.contract is not None
    assert [p.path for p in report.problems] == ["finance.baseline_budget_gbp"]


def test_number_too_long_for_python_to_read_is_a_problem() -> None:
    text = example_text("frail_elderly_alliance").replace(
        "baseline_budget_gbp = 120000000", "baseline_budget_gbp = 1" + "0" * 5000
    )
    report = check_contract_text(text)
    assert report.contract is None
    assert len(report.problems) == 1
    assert "write pounds, e.g. 23000000" in report.problems[0].message


# 6. Framework warnings ---------------------------------------------------------------------


def test_framework_without_a_tier_3_measure_is_warned() -> None:
    report = check(contract(**{"outcomes.measures[1].tier": 2}))
    assert report.ok
    found = messages(report.warnings, "outcomes.measures")
    assert len(found) == 1
    assert "add a long-term outcome" in found[0]


# Files that cannot be read -----------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    report = check_contract_file(path)
    assert report.source == str(path)
    assert [str(p) for p in report.problems] == ["no such file — check the path and the file name"]
    with pytest.raises(ContractError) as exc:
        load_contract(path)
    assert exc.value.problems == report.problems


def test_folder_instead_of_file(tmp_path: Path) -> None:
    report = check_contract_file(tmp_path)
    assert len(report.problems) == 1
    assert "is a folder" in report.problems[0].message
    with pytest.raises(ContractError):
        load_contract(tmp_path)


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'id = "x"\ntitle = "Caf\xe9"\n')
    report = check_contract_file(path)
    assert len(report.problems) == 1
    assert report.problems[0].path == ""
    assert "line 2" in report.problems[0].message
    assert "save it as UTF-8" in report.problems[0].message
    with pytest.raises(ContractError) as exc:
        load_contract(path)
    assert "save it as UTF-8" in exc.value.problems[0].message


def test_file_with_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + example_text("pennine_msk_hub").encode("utf-8"))
    report = check_contract_file(path)
    assert report.problems == []
    assert load_contract(path) == load_example("pennine_msk_hub")


def test_invalid_file_reports_schema_problems_with_paths(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(example_text("pennine_msk_hub").replace("weight = 0.", "weight = 0.0"))
    report = check_contract_file(path)
    assert report.contract is None
    assert not report.ok
    assert any("add up to exactly 1" in p.message for p in report.problems)


# The shipped examples ----------------------------------------------------------------------


def test_the_six_examples_are_all_shipped() -> None:
    assert list_examples() == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_shipped_example_passes(name: str) -> None:
    report = check_contract(load_example(name), source=name)
    assert report.problems == [], [str(p) for p in report.problems]
    assert report.ok
    text_report = check_contract_text(example_text(name), source=name)
    assert text_report.problems == []
    assert text_report.warnings == report.warnings


# Never a traceback -------------------------------------------------------------------------


def assert_well_formed(report: CheckReport) -> None:
    assert isinstance(report, CheckReport)
    assert report.ok == (not report.problems)
    if report.contract is None:
        assert report.problems
    for finding in [*report.problems, *report.warnings]:
        assert finding.message


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_reported_not_raised(text: str) -> None:
    assert_well_formed(check_contract_text(text))


VALUES = st.one_of(
    st.text(max_size=20).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(x), repr(x))
    ),
    st.sampled_from(
        ["0", "1", "-1", "1e26", "1e400", "true", "[]", "{}", "2025-13-01", "'('", "'age >= '"]
    ),
    st.text(max_size=20),
)


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    """A shipped example with a few lines deleted, duplicated, truncated or given new
    values: mostly TOML that parses, so validation and the semantic checks are reached."""
    lines = example_text(draw(st.sampled_from(EXAMPLES))).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "value", "value", "delete", "copy", "cut"]))
        if action == "value" and " = " in lines[i]:
            key = lines[i].split(" = ", 1)[0]
            lines[i] = f"{key} = {draw(VALUES)}"
        elif action == "delete":
            del lines[i]
        elif action == "copy":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        if not lines:
            break
    return "\n".join(lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_example())
def test_mutated_examples_are_reported_not_raised(text: str) -> None:
    assert_well_formed(check_contract_text(text))
