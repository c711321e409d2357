"""Contract files: the examples validate, and a malformed file names the field and the fix."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from commissioning.contracts.load import (
    ContractError,
    example_text,
    list_examples,
    load_contract,
    load_example,
    loads_contract,
    with_baseline_budget,
)
from commissioning.contracts.schema import contract_json_schema, contract_json_schema_text
from commissioning.settlement.settle import annual_budget_pence

EXAMPLES = [
    "frail_elderly_alliance",
    "ld_prime_provider",
    "mk_substance_misuse",
    "optimistic_older_people",
    "pennine_msk_hub",
    "staffordshire_cancer_eol",
]

MINIMAL = """
id = "tiny"
version = "1"
title = "Tiny contract"
duration_years = 3
start_date = 2025-04-01

[scope]
kind = "population"
cohort_rule = 'age >= 75 and frailty in ("moderate", "severe")'

[[services]]
setting = "community"

[form]
type = "capitation_with_outcome_incentive"
provider = "prov"

[[parties]]
id = "icb"
name = "ICB"
role = "commissioner"

[[parties]]
id = "prov"
name = "Provider"
role = "provider"

[finance]
baseline_budget_gbp = 1000000

[[years]]
year = 1
basis = "capitation"

[[years]]
year = 2
basis = "capitation"

[[years]]
year = 3
basis = "capitation"
[years.risk_share]
[[years.risk_share.corridors]]
from_share = 0
to_share = 0.02
provider_share = 1
[[years.risk_share.corridors]]
from_share = 0.02
to_share = 0.10
provider_share = PROVIDER_SHARE
"""


Y1 = 'year = 1\nbasis = "capitation"'
Y2 = 'year = 2\nbasis = "capitation"'


def tiny(provider_share: str = "0.5", **replace: str) -> str:
    text = MINIMAL.replace("PROVIDER_SHARE", provider_share)
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


def messages(text: str) -> list[str]:
    with pytest.raises(ContractError) as info:
        loads_contract(text)
    return [str(p) for p in info.value.problems]


def test_all_examples_are_shipped_and_valid() -> None:
    assert list_examples() == EXAMPLES
    for name in EXAMPLES:
        contract = load_example(name)
        assert contract.id == name.replace("_", "-")


def test_minimal_contract_is_valid() -> None:
    contract = loads_contract(tiny())
    assert contract.years[2].risk_share is not None
    assert contract.commissioner.id == "icb"


def test_a_share_written_as_a_percentage_names_the_field_and_the_fix() -> None:
    assert messages(tiny("50")) == [
        "years[2].risk_share.corridors[1].provider_share: must be between 0 and 1 — "
        "write it as a fraction, e.g. 0.5"
    ]


def test_error_message_lists_every_problem() -> None:
    with pytest.raises(ContractError) as info:
        loads_contract(tiny("50", **{'setting = "community"': 'setting = "hospital"'}))
    text = str(info.value)
    assert "2 problem(s)" in text
    assert "services[0].setting: must be 'primary_care'" in text


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        ({'title = "Tiny contract"\n': ""}, "title: is required — add it to the file"),
        ({"duration_years = 3": "duration_years = 3\ncolour = 1"}, "colour: is not a known field"),
        (
            {'type = "capitation_with_outcome_incentive"': 'type = "barter"'},
            "form: unknown type 'barter' — use one of",
        ),
        ({"baseline_budget_gbp = 1000000": 'baseline_budget_gbp = "£1m"'}, "must be a number"),
        (
            {"baseline_budget_gbp = 1000000": "baseline_budget_gbp = 1000000.005"},
            "finance.baseline_budget_gbp: has more than two decimal places",
        ),
        ({'role = "provider"': 'role = "subcontractor"'}, "form.provider: 'prov' has role"),
        ({"year = 2\n": "year = 4\n"}, "years: years are numbered [1, 4, 3]"),
        (
            {"cohort_rule = 'age >= 75 and frailty in (": "cohort_rule = 'age >= 75 and (("},
            "scope.cohort_rule",
        ),
        ({"start_date = 2025-04-01": "start_date = 2025-13-01"}, "is not valid TOML"),
        (
            {"from_share = 0.02": "from_share = 0.03"},
            "years[2].risk_share.corridors[1].from_share: is 0.03 but must be 0.02",
        ),
        (
            {Y1: Y1.replace("capitation", "activity")},
            "years[0].basis: 'activity' is not allowed",
        ),
        (
            {Y2: Y2 + "\nvalue_at_risk = 0.1"},
            "years[1].value_at_risk: value is at risk but the outcomes framework has no measures",
        ),
    ],
)
def test_malformed_files_name_the_field_and_the_fix(replace: dict[str, str], expected: str) -> None:
    found = messages(tiny(**replace))
    assert any(expected in m for m in found), found


def test_unbalanced_rule_message() -> None:
    text = tiny(**{"cohort_rule = 'age >= 75 and frailty in (": "cohort_rule = 'age >= 75 and (("})
    assert any("unbalanced brackets or quotes" in m for m in messages(text))


def test_alliance_shares_must_add_to_one() -> None:
    text = example_text("frail_elderly_alliance").replace("share = 0.10", "share = 0.20")
    assert any("alliance partner shares add up to 1.10, not 1" in m for m in messages(text))


def test_measure_weights_must_add_to_one() -> None:
    text = example_text("ld_prime_provider").replace("weight = 0.35", "weight = 0.30")
    assert any(
        m.startswith("outcomes: measure weights add up to 0.95, not 1") for m in messages(text)
    )


def test_wrong_polarity_is_explained() -> None:
    text = example_text("mk_substance_misuse").replace("target = 0.28", "target = 0.10")
    assert any("outcomes.measures[0]: target is on the wrong side" in m for m in messages(text))


def test_load_contract_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(tiny(), encoding="utf-8")
    assert load_contract(path).id == "tiny"
    path.write_text(tiny("2"), encoding="utf-8")
    with pytest.raises(ContractError, match=str(path)):
        load_contract(path)


def test_baseline_budget_can_be_overridden() -> None:
    contract = load_example("ld_prime_provider")
    cheaper = with_baseline_budget(contract, "50000000")
    assert cheaper.finance.baseline_budget_gbp == Decimal("50000000")
    # Year 1: £50m x (1 - 0.02) = £49m.
    assert annual_budget_pence(cheaper, 1) == 4_900_000_000


def test_json_schema_is_generated_from_the_model() -> None:
    schema = contract_json_schema()
    assert schema["title"] == "Contract"
    assert {"form", "years", "outcomes", "parties"} <= set(schema["properties"])
    assert json.loads(contract_json_schema_text()) == schema


def test_the_contract_docs_include_the_current_schema() -> None:
    docs = Path(__file__).parents[2] / "docs" / "contracts.md"
    current = contract_json_schema_text() in docs.read_text(encoding="utf-8")
    assert current, "docs/contracts.md is stale: paste contract_json_schema_text() into it"


def test_the_minimal_file_in_the_docs_is_valid() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "contracts.md").read_text(encoding="utf-8")
    block = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    assert loads_contract(block).id == "tiny"
