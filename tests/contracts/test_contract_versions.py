"""Contract versions: a content hash and a readable list of what changed."""

from __future__ import annotations

from commissioning.contracts.load import example_text, load_example, loads_contract
from commissioning.contracts.versions import (
    FieldChange,
    compare_versions,
    content_hash,
    describe_changes,
)


def test_hash_ignores_layout_and_comments() -> None:
    text = example_text("mk_substance_misuse")
    reformatted = "# a new comment\n" + text.replace('version = "1.0"', 'version   =   "1.0"')
    assert content_hash(loads_contract(text)) == content_hash(loads_contract(reformatted))
    assert len(content_hash(loads_contract(text))) == 64


def test_compare_lists_changed_fields_with_old_and_new_values() -> None:
    old = load_example("mk_substance_misuse")
    text = example_text("mk_substance_misuse").replace('version = "1.0"', 'version = "1.1"')
    year_2 = 'year = 2\nbasis = "capitation"\nvalue_at_risk = 0.10'
    text = text.replace(year_2, year_2.replace("0.10", "0.15"))
    new = loads_contract(text)
    changes = compare_versions(old, new)
    assert changes == [
        FieldChange("version", "1.0", "1.1"),
        FieldChange("years[1].value_at_risk", "0.1", "0.15"),
    ]
    assert describe_changes(changes).splitlines()[1] == "years[1].value_at_risk: '0.1' -> '0.15'"
    assert content_hash(old) != content_hash(new)
    assert describe_changes(compare_versions(old, old)) == "no changes"


def test_added_and_removed_values() -> None:
    old = load_example("ld_prime_provider")
    text = example_text("ld_prime_provider").replace(
        "[finance]\nbaseline_budget_gbp = 84000000\ndo_nothing_growth = 0.07\n"
        "provider_reserve_gbp = 6000000",
        "[finance]\nbaseline_budget_gbp = 84000000\ndo_nothing_growth = 0.07",
    )
    changes = compare_versions(old, loads_contract(text))
    assert [str(c) for c in changes] == ["finance.provider_reserve_gbp: removed (was '6000000')"]
