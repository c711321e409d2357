"""The rule language: good rules compile to the right rows; each error names the fix."""

from __future__ import annotations

import ibis
import pytest

from commissioning.population.rules import RuleError, compile_rule, validate_rule

ROWS = {
    "person_id": ["a", "b", "c", "d"],
    "age_years": [80, 70, 30, 90],
    "frailty": ["moderate", "fit", None, "severe"],
    "hf": [1, 0, 0, 1],
    "copd": [0, 1, 0, 0],
    "emergency_admissions": [2, 0, 1, 0],
    "imd_decile": [1, 5, 10, 2],
    "cms_score": [1.5, 0.2, 0.0, 2.0],
}
TABLE = ibis.memtable(ROWS)


def matches(rule: str) -> list[str]:
    expr = compile_rule(rule, TABLE)
    return sorted(TABLE.filter(expr).person_id.to_pandas().tolist())


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("age >= 75 and frailty in ('moderate', 'severe')", ["a", "d"]),
        ('age_years >= 75 and frailty in ("moderate", "severe")', ["a", "d"]),
        ("hf or copd", ["a", "b", "d"]),
        ("(hf or copd) and emergency_admissions >= 1", ["a"]),
        ("not hf", ["b", "c"]),
        ("65 <= age < 85", ["a", "b"]),
        ("frailty not in ('fit',)", ["a", "d"]),
        ("imd_decile <= 2 and cms_score > 1.6", ["d"]),
        ("frailty == 'fit'", ["b"]),
        ("emergency_admissions != 0", ["a", "c"]),
        ("age > -1", ["a", "b", "c", "d"]),
        ("True", ["a", "b", "c", "d"]),
    ],
)
def test_good_rules_select_the_right_rows(rule: str, expected: list[str]) -> None:
    assert matches(rule) == expected


def test_null_frailty_never_matches() -> None:
    assert "c" not in matches("frailty != 'severe'")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("agee >= 75", "unknown column 'agee'"),
        ("agee >= 75", "did you mean 'age_years'"),
        ("fraility == 'mild'", "did you mean 'frailty'"),
        ("age = 75", "use == (two equals signs)"),
        ("age >= 75 && hf", "write `and`, `or` and `not` in words"),
        ("len(frailty) > 2", "function calls not allowed"),
        ("age + 1 > 75", "arithmetic not allowed"),
        ("person_id.upper() == 'A'", "not allowed"),
        ("frailty == severe", "put it in quotes: 'severe'"),
        ("frailty == 3", "holds text"),
        ("age >= '75'", "remove the quotes"),
        ("frailty in 'severe'", "non-empty tuple"),
        ("1 < 2", "compare a column with a value"),
        ("frailty", "cannot stand alone"),
        ("", "the rule is empty"),
        ("__import__('os').system('x')", "not allowed"),
        ("age >= 75 if hf else 0", "if-else expressions not allowed"),
    ],
)
def test_errors_name_the_problem_and_the_fix(rule: str, message: str) -> None:
    with pytest.raises(RuleError, match=None) as info:
        compile_rule(rule, TABLE)
    assert message in str(info.value)


def test_validate_rule_with_names_only() -> None:
    validate_rule("age >= 75 and hf", ["age_years", "hf"])
    with pytest.raises(RuleError, match="unknown column 'frailty'"):
        validate_rule("frailty == 'mild'", ["age_years", "hf"])


def test_long_rules_are_refused() -> None:
    with pytest.raises(RuleError, match="characters long"):
        validate_rule(" or ".join(["hf"] * 600), ["hf"])
