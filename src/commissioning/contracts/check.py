"""Checking a contract before it is signed: everything that would fail or pay wrongly later.

Validation (:mod:`commissioning.contracts.schema`) says whether a file is a well-formed
contract. A well-formed contract can still fail at settlement, or settle into payments
nobody meant, so :func:`check_contract` adds the checks that need the rest of the
workbench:

1. **Cohort rule** — ``scope.cohort_rule`` (or ``scope.eligibility_rule``) must compile in
   the rule language of :mod:`commissioning.population.rules` over the person-year columns
   settlement keeps for cohorts (:data:`commissioning.contracts.cohort.COHORT_COLUMNS`,
   with their types); otherwise selecting the cohort raises at settlement.
2. **Measures** — each ``outcomes.measures[i].indicator_id`` must be a contract measure
   (:data:`commissioning.contracts.measures.MEASURES`), a known outcome not in the data
   (:data:`~commissioning.contracts.measures.NOT_IN_DATA`) or an indicator of the library
   (:mod:`commissioning.indicators.library`). A misspelt id would silently settle at its
   baseline and earn nothing. The last two are warned: settlement cannot measure them.
3. **Curve direction** — attainment is 0 at the baseline
   (:mod:`commissioning.contracts.curves`), so a threshold at or below 0, a linear floor
   below 0 or a paying step at or below 0 pays when the outcome is no better, or worse.
4. **Budgets** — planned savings of 1, or a year's budget of £0 or less (given, or derived
   by :func:`commissioning.settlement.settle.annual_budget_pence` from a zero baseline or
   an indexation that shrinks it to nothing) leave nothing to pay from; savings above 30%
   and all of a capitation budget at risk are warned.
5. **Money magnitude** — an amount above £1,000,000,000,000 is a unit slip (pence, or a
   misplaced exponent); from about £10^26 exact arithmetic fails outright.
6. **Framework** — :func:`commissioning.contracts.outcomes.check_framework` as warnings.

:func:`check_contract_text` and :func:`check_contract_file` do the same from TOML text or a
file and turn every failure to read or validate into problems: none of the three raises
for a bad contract. All three are pure apart from the file read.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import ibis
from pydantic import ValidationError

from commissioning.contracts.cohort import COHORT_COLUMNS
from commissioning.contracts.load import (
    NUMBER_TOO_LARGE,
    ContractError,
    Problem,
    parse_contract_toml,
    problems_from_validation_error,
    read_contract_text,
)
from commissioning.contracts.measures import MEASURES, NOT_IN_DATA
from commissioning.contracts.outcomes import (
    LinearCurve,
    SteppedCurve,
    ThresholdCurve,
    check_framework,
)
from commissioning.contracts.schema import Contract, PathwayScope
from commissioning.core.schema import TABLES
from commissioning.indicators.library import default_library
from commissioning.population.person_year import person_year_table
from commissioning.population.rules import ALIASES, validate_rule
from commissioning.settlement.settle import annual_budget_pence

#: No health budget is larger (NHS England's whole budget is under £0.2 trillion a year).
MAX_MONEY_GBP = Decimal(1_000_000_000_000)
#: Planned savings above this share of the do-nothing spend are warned.
SAVINGS_WARNING = Decimal("0.3")

_TOO_LARGE = "is larger than any health budget — check the units; write pounds, e.g. 23000000"
_WORSENS = "pays when the outcome worsens"
# Canonical column types as Ibis types, to type the person-year expression without data.
_IBIS_TYPES = {
    "string": "string",
    "integer": "int64",
    "double": "float64",
    "decimal": "decimal(14, 2)",
    "date": "date",
}


@dataclass(frozen=True)
class CheckReport:
    """What checking one contract found.

    ``contract`` is ``None`` when the text did not even validate (then ``problems`` says
    why). ``problems`` must be fixed before signing; ``warnings`` are worth a second look.
    """

    source: str
    contract: Contract | None
    problems: list[Problem]
    warnings: list[Problem]

    @property
    def ok(self) -> bool:
        """Whether the contract has no problems (warnings allowed)."""
        return not self.problems


# -- 1. cohort rule --------------------------------------------------------------------------


@cache
def cohort_rule_columns() -> ibis.Schema:
    """Names and types of the person-year columns a contract's cohort rule may use.

    Settlement selects the cohort from the person-year table restricted to
    :data:`~commissioning.contracts.cohort.COHORT_COLUMNS`; the types come from the same
    Ibis expression built over empty canonical tables, so the check follows any change to
    either.
    """
    tables = {
        name: ibis.table({c.name: _IBIS_TYPES[c.dtype] for c in table.columns}, name=name)
        for name, table in TABLES.items()
    }
    return person_year_table(tables, [2025]).select(*COHORT_COLUMNS).schema()


def _rule_problems(contract: Contract) -> list[Problem]:
    scope = contract.scope
    if isinstance(scope, PathwayScope):
        path, rule = "scope.eligibility_rule", scope.eligibility_rule
    else:
        path, rule = "scope.cohort_rule", scope.cohort_rule
    columns = cohort_rule_columns()
    try:
        validate_rule(rule, columns)
    except ValueError as exc:  # a RuleError, or ast's own on a null character
        names = [f"{a} ({c})" if c in columns else a for a, c in ALIASES.items()]
        names += [c for c in columns if c not in ALIASES.values() and c != "person_id"]
        message = f"cannot select the cohort at settlement: {exc}"
        if "unknown column" in str(exc):
            message += (
                " — settlement keeps only these person-year columns for a contract's cohort: "
                + ", ".join(names)
            )
        return [Problem(path, message)]
    except (RecursionError, MemoryError):
        return [Problem(path, "is nested too deeply to read — simplify the rule")]
    return []


# -- 2. measures -----------------------------------------------------------------------------


def known_measure_ids() -> list[str]:
    """Every indicator id a measure may name: contract measures, outcomes not in the data and
    indicators of the library."""
    return sorted({*MEASURES, *NOT_IN_DATA, *default_library().ids})


def _measure_findings(contract: Contract) -> tuple[list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    library = set(default_library().ids)
    known = known_measure_ids()
    for i, measure in enumerate(contract.outcomes.measures):
        path = f"outcomes.measures[{i}].indicator_id"
        ind = measure.indicator_id
        if measure.measured_from == "return":
            if not measure.definition.strip():
                problems.append(
                    Problem(
                        f"outcomes.measures[{i}].definition",
                        "a measure supplied in the provider's return needs its definition — "
                        "write what is counted, over whom and when",
                    )
                )
            continue
        if ind in MEASURES:
            continue
        if ind in NOT_IN_DATA:
            warnings.append(
                Problem(
                    path,
                    f"'{ind}' is not in the data ({NOT_IN_DATA[ind]}): it pays only once the "
                    "provider's return supplies a value and it is certified — say so with "
                    'measured_from = "return" and a definition',
                )
            )
        elif ind in library:
            readers = sorted(m.indicator_id for m in MEASURES.values() if m.library_id == ind)
            fix = (
                "use the contract measure that reads it: " + " or ".join(f"'{r}'" for r in readers)
                if readers
                else "add a contract measure for it to contracts.measures.MEASURES"
            )
            warnings.append(
                Problem(
                    path,
                    f"'{ind}' is an indicator of the library but no contract measure reads it "
                    f"for a cohort, so its values must come from a certified return — {fix}",
                )
            )
        else:
            close = difflib.get_close_matches(ind, known, n=3, cutoff=0.6)
            fix = (
                "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
                if close
                else "use a measure of contracts.measures.MEASURES, an outcome of NOT_IN_DATA "
                "or an indicator id of the indicator library (docs/indicators.md)"
            )
            problems.append(
                Problem(path, f"'{ind}' is not a known measure, so it could never be paid — {fix}")
            )
    return problems, warnings


# -- 3. curve direction ----------------------------------------------------------------------


def _curve_problems(contract: Contract) -> list[Problem]:
    problems: list[Problem] = []
    for i, measure in enumerate(contract.outcomes.measures):
        path = f"outcomes.measures[{i}].curve"
        curve = measure.curve
        if isinstance(curve, ThresholdCurve) and curve.threshold <= 0:
            problems.append(
                Problem(
                    f"{path}.threshold",
                    f"{curve.threshold} {_WORSENS} (attainment 0 is the baseline) — set "
                    "threshold above 0, e.g. 1 for the target",
                )
            )
        elif isinstance(curve, LinearCurve) and curve.floor < 0:
            problems.append(
                Problem(
                    f"{path}.floor",
                    f"{curve.floor} {_WORSENS} (attainment 0 is the baseline) — set floor to "
                    "0 or above, e.g. 0 pays from the baseline upwards",
                )
            )
        elif isinstance(curve, SteppedCurve):
            for j, step in enumerate(curve.steps):
                if step.payout > 0 and step.attainment <= 0:
                    problems.append(
                        Problem(
                            f"{path}.steps[{j}].attainment",
                            f"{step.attainment} with payout {step.payout} {_WORSENS} "
                            "(attainment 0 is the baseline) — set the attainment of every "
                            "paying step above 0, e.g. 0.5 for half-way to the target",
                        )
                    )
    return problems


# -- 4. budgets ------------------------------------------------------------------------------


def _budget_findings(contract: Contract) -> tuple[list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    no_budget: list[int] = []  # years whose derived budget is £0 or less
    for i, y in enumerate(contract.years):
        path = f"years[{i}]"
        if y.planned_savings >= 1:
            problems.append(
                Problem(
                    f"{path}.planned_savings",
                    f"{y.planned_savings} leaves a £0 budget — plan savings below 1, e.g. "
                    "0.05 for 5% below the do-nothing spend",
                )
            )
        elif y.planned_savings > SAVINGS_WARNING:
            warnings.append(
                Problem(
                    f"{path}.planned_savings",
                    f"savings of {y.planned_savings:%} of the do-nothing spend in one year are "
                    f"more than {SAVINGS_WARNING:.0%} — check that this is meant",
                )
            )
        if y.budget_gbp is not None and y.budget_gbp == 0:
            problems.append(
                Problem(
                    f"{path}.budget_gbp",
                    "is £0, so nothing can be paid — write the year's budget in pounds, "
                    "e.g. 23000000, or remove it to derive the budget from the baseline",
                )
            )
        elif y.planned_savings < 1:
            try:
                budget = annual_budget_pence(contract, y.year)
            except ArithmeticError:  # already a money-magnitude problem
                budget = None
            if budget is not None and budget <= 0:
                no_budget.append(y.year)
        if y.value_at_risk >= 1 and y.basis == "capitation":
            warnings.append(
                Problem(
                    f"{path}.value_at_risk",
                    "puts the whole budget at risk: the provider is paid nothing for care "
                    "unless the outcomes are met — check that this is meant, e.g. 0.1",
                )
            )
    if no_budget:
        problems.append(_no_budget_problem(contract, no_budget))
    return problems, warnings


def _no_budget_problem(contract: Contract, years: list[int]) -> Problem:
    """The problem, at the field that causes it, when derived budgets come to £0 or less."""
    numbers = ", ".join(str(n) for n in years)
    finance = contract.finance
    # Indexation (uplift less efficiency) replaces the do-nothing growth where given.
    indexation = getattr(finance, "indexation", None)
    if finance.baseline_budget_gbp > 0 and indexation is not None:
        growth = indexation.uplift - indexation.efficiency
        if growth <= -1:
            return Problem(
                "finance.indexation",
                f"uplift less efficiency is {growth}, so the budget of years {numbers} is £0 "
                "or negative — keep uplift − efficiency above −1, e.g. uplift = 0.02 and "
                "efficiency = 0.011",
            )
    cause = "is £0" if finance.baseline_budget_gbp == 0 else "is too small"
    return Problem(
        "finance.baseline_budget_gbp",
        f"{cause}, so the budget of years {numbers} is £0 — write the cohort's annual spend "
        "in pounds, e.g. 23000000, or give those years a budget_gbp",
    )


# -- 5. money magnitude ----------------------------------------------------------------------


def _money_fields(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every money field (a key ending ``_gbp``, or an entry of a mapping
    under one) in a parsed contract or a model dump, with the paths validation uses."""
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).endswith("_gbp"):
                if isinstance(value, dict):
                    yield from ((f"{here}.{k}", v) for k, v in value.items())
                else:
                    yield here, value
            else:
                yield from _money_fields(value, here)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from _money_fields(item, f"{path}[{i}]")


def _too_large(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return False
    number = Decimal(value)  # exact for int and float, so no digit limit or overflow
    return number.is_finite() and abs(number) > MAX_MONEY_GBP


def _money_problems(data: Any) -> list[Problem]:
    return [Problem(path, _TOO_LARGE) for path, value in _money_fields(data) if _too_large(value)]


# -- the checks together ---------------------------------------------------------------------


def _registry_findings(contract: Contract) -> list[Problem]:
    """A form or basis of this contract that settlement or the stress model does not
    handle (:func:`commissioning.contracts.registry.registry_problems`)."""
    from commissioning.contracts.registry import registry_problems

    names = {f"'{contract.form.type}'"} | {f"'{y.basis}'" for y in contract.years}
    return [
        Problem("form.type", f"{message} — this contract could not be settled or stressed")
        for message in registry_problems()
        if any(name in message for name in names)
    ]


def check_contract(contract: Contract, source: str = "contract") -> CheckReport:
    """Every semantic check (module docstring) on a validated contract.

    ``source`` names the contract in the report, e.g. its file path.
    """
    measure_problems, measure_warnings = _measure_findings(contract)
    budget_problems, budget_warnings = _budget_findings(contract)
    problems = [
        *_registry_findings(contract),
        *_money_problems(contract.model_dump(mode="python")),
        *_rule_problems(contract),
        *measure_problems,
        *_curve_problems(contract),
        *budget_problems,
    ]
    framework = [
        Problem("outcomes.measures", w.message) for w in check_framework(contract.outcomes)
    ]
    warnings = [*measure_warnings, *budget_warnings, *framework]
    return CheckReport(source, contract, problems, warnings)


def check_contract_text(text: str, source: str = "contract") -> CheckReport:
    """Parse, validate and check contract TOML text; never raises for bad text.

    Syntax and validation errors become problems with their field paths; money amounts
    above £10^12 are found in the parsed file before validation, since the largest ones
    make validation fail without saying which field.
    """
    try:
        data = parse_contract_toml(text, source)
    except ContractError as exc:
        return CheckReport(source, None, list(exc.problems), [])
    money = _money_problems(data)
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        problems = [*money, *problems_from_validation_error(exc)]
        return CheckReport(source, None, list(dict.fromkeys(problems)), [])
    except ArithmeticError:
        return CheckReport(source, None, money or [Problem("", NUMBER_TOO_LARGE)], [])
    return check_contract(contract, source)


def check_contract_file(path: str | Path) -> CheckReport:
    """:func:`check_contract_text` on a file; a file that cannot be read (missing, a folder,
    not UTF-8) is one problem, never an exception."""
    try:
        text = read_contract_text(path)
    except ContractError as exc:
        return CheckReport(exc.source, None, list(exc.problems), [])
    return check_contract_text(text, source=str(Path(path)))
