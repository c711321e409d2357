"""The seeds' case studies as runnable scenarios on a population (C23).

A scenario is a layer *above* contract operations: it plays the part of the commissioner,
the provider and the finance team, and calls the same services they would. For each
example contract, :func:`run_scenarios`:

1. selects the cohort from the person-year table with the contract's own rule (scope
   ``cohort_rule`` or ``eligibility_rule``, in the rule language of
   :mod:`commissioning.population.rules`) in the home place;
2. plans its capitated budget from the data (:func:`commissioning.contracts.budget.plan_budget`)
   and writes a **proposed version** of the example (``<version>-planned``: baseline,
   growth and capped allocation per year from the data, the seed's other amounts scaled
   in proportion, measured baselines rebased on the base year, the start date moved to
   the first contract year of the data) — the example file itself is never changed;
3. registers the proposed version, as contract `<id>-worked` (apart from any contract a
   user registers from the same file), and has every party sign it
   (:mod:`commissioning.operations.register`);
4. for each quarter the data cover — the last two data years are contract years 1 and 2,
   the year before is the base year — drafts, reviews, approves and posts the settlement
   run; the measures are computed over whole financial years, so the proposed version
   measures them annually and, after quarter 3, the provider submits the year's measured
   values and the commissioner certifies them for quarter 4, which pays the year's outcome
   payments (measures not in the data stay awaiting certification and pay nothing); then
   certifies the cohort's real in-scope spend as the year's outturn and settles the
   year-end (:mod:`commissioning.operations.runs`);
5. builds each party's statement from the ledger, checked against it and verified;
6. runs the Monte Carlo stress test on the same proposed version and gives a verdict
   that agrees with its own figures.

Nothing here writes files; :mod:`commissioning.reports.contract_report` does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd
import tomli_w

from commissioning.contracts.budget import BudgetPlan, apply_plan, plan_budget
from commissioning.contracts.cohort import (
    PlaceData,
    cohort_costs,
    fetch_place_data,
    points_of_delivery_in_scope,
    select_cohort,
)
from commissioning.contracts.load import contract_from_dict, load_example
from commissioning.contracts.measures import MEASURES, NOT_IN_DATA, measure_values
from commissioning.contracts.outcomes import (
    ChanceCheck,
    FrameworkWarning,
    chance_variation_checks,
    check_framework,
)
from commissioning.contracts.schema import Contract, PathwayScope
from commissioning.contracts.stress import StressResult, run_stress
from commissioning.data.queries import Tables
from commissioning.operations import measurements, register, runs
from commissioning.operations.base import Operations
from commissioning.operations.exports import contract_statement
from commissioning.settlement.lines import YEAR_END, SettlementLine
from commissioning.settlement.statement import Statement, reconciles

#: The people who play each part in the worked scenarios.
SCENARIO_PEOPLE = {
    "provider_analyst": "Scenario provider analyst",
    "commissioner_analyst": "Scenario commissioning analyst",
    "contract_manager": "Scenario contract manager",
    "reviewer": "Scenario finance reviewer",
    "approver": "Scenario finance approver",
}


@dataclass(frozen=True)
class ScenarioSpec:
    """A worked example: which contract, which seed case, and the seed's own figures."""

    scenario_id: str
    example: str
    seed_case: str
    seed_annual_gbp: float
    seed_population: int | None = None
    msk_only: bool = False


SCENARIOS: tuple[ScenarioSpec, ...] = (
    ScenarioSpec(
        "ld_prime_provider",
        "ld_prime_provider",
        "Seed 003: learning-disability prime provider on capitation (costs up £11m, 15%, "
        "in two years; up to £40m saved over five years)",
        84_000_000,
    ),
    ScenarioSpec(
        "mk_substance_misuse",
        "mk_substance_misuse",
        "Seed 002: Milton Keynes capitated outcomes-based substance-misuse contract (spend "
        "down 20% in year one)",
        6_000_000,
    ),
    ScenarioSpec(
        "pennine_msk_hub",
        "pennine_msk_hub",
        "Seed 002: Pennine MSK Partnership integrated pathway hub (about £23m a year for a "
        "population of 300,000 and more)",
        23_000_000,
        seed_population=300_000,
        msk_only=True,
    ),
    ScenarioSpec(
        "staffordshire_cancer_eol",
        "staffordshire_cancer_eol",
        "Seed 002: Staffordshire cancer and end-of-life prime provider, ten years, fee "
        "based for the first two (about £690m over ten years, seed 003)",
        69_000_000,
    ),
    ScenarioSpec(
        "frail_elderly_alliance",
        "frail_elderly_alliance",
        "Seeds 000 and 002: an alliance for frail older people with a shared performance framework",
        120_000_000,
    ),
    ScenarioSpec(
        "optimistic_older_people",
        "optimistic_older_people",
        "Seed 003: the Cambridgeshire and Peterborough lesson — excessive optimism about "
        "overnight efficiency savings",
        160_000_000,
    ),
)


@dataclass
class MeasureRow:
    """One outcome measure: the file's figures, the data's, and what it paid."""

    indicator_id: str
    name: str
    tier: int
    weight: float
    file_baseline: float
    baseline: float
    target: float
    curve: str
    how: str
    source: str  # "direct", "proxy" or "not in the data"
    measured: dict[int, float] = field(default_factory=dict)
    library_id: str | None = None  # the indicator of the library it is, if any
    library_title: str | None = None

    @property
    def definition(self) -> str:
        """Where the definition comes from, in words for the report."""
        if self.library_title is not None:
            return f"from the indicator library: {self.library_title}"
        return "not in the data" if self.source == "not in the data" else "contract-specific"


@dataclass
class ScenarioResult:
    """Everything a scenario produced, for the report and the tests."""

    spec: ScenarioSpec
    file_contract: Contract
    contract: Contract
    rule: str
    place_code: str
    place_people: int
    cohort_size: int
    base_year: int
    contract_years: dict[int, int]  # contract year -> financial year of the data
    plan: BudgetPlan
    measures: list[MeasureRow]
    framework_warnings: list[FrameworkWarning]
    chance_checks: list[ChanceCheck]
    lines: list[SettlementLine]
    posted: dict[str, int]
    outturn_gbp: dict[int, float]
    statements: list[Statement]
    reconciled: dict[str, bool]
    stress: StressResult
    verdict: str
    verdict_reason: str

    @property
    def annual_budget_gbp(self) -> float:
        """Contract year 1's capped allocation (£)."""
        return float(self.plan.trajectory["allocation_gbp"].iloc[0])

    @property
    def failing(self) -> bool:
        """True when the verdict is 'likely to fail'."""
        return self.verdict == "likely to fail"


def _cohort_rule(contract: Contract) -> str:
    scope = contract.scope
    return scope.eligibility_rule if isinstance(scope, PathwayScope) else scope.cohort_rule


def _round4(x: float) -> Decimal:
    return Decimal(str(round(x, 4)))


def rebase_measures(contract: Contract, base_values: dict[str, float]) -> Contract:
    """Measured baselines from the data; each target keeps the file's relative improvement
    (``target × new / old``), proportions kept within [0, 1]. Measures whose base value is
    missing, zero in the file, or cannot improve keep the file's figures."""
    data = contract.model_dump(mode="python")
    for m in data["outcomes"]["measures"]:
        value = base_values.get(m["indicator_id"])
        old_base, old_target = float(m["baseline"]), float(m["target"])
        if value is None or not math.isfinite(value) or old_base == 0:
            continue
        target = value * old_target / old_base
        if m["kind"] == "proportion":
            target = min(max(target, 0.0), 1.0)
        new_base, new_target = _round4(value), _round4(target)
        rising = m["polarity"] == "higher_is_better"
        if new_target == new_base or (new_target > new_base) != rising:
            continue
        m["baseline"], m["target"] = new_base, new_target
    return contract_from_dict(data, source=contract.id)


def verdict_for(contract: Contract, stress: StressResult) -> tuple[str, str]:
    """A plain-words verdict on the stress test and the reason, from its own figures.

    ``likely to fail`` when the provider loses more than its reserve in some year in more
    than half the runs; ``likely to hold`` only when that chance is at most 20% and the
    provider is more likely than not to come out even over the contract and the
    commissioner more likely than not to pay less than doing nothing; ``at risk``
    otherwise. The reason quotes the figures that decided it.
    """
    beyond, overall = stress.p_loss_beyond_reserve, stress.p_cumulative_loss
    overall_beyond = stress.p_cumulative_loss_beyond_reserve
    overspend = stress.p_commissioner_overspend
    savings = [float(y.planned_savings) for y in contract.years]
    reasons = [
        f"P(provider loses more than its reserve in a year) {beyond:.0%}",
        f"P(provider loses over the contract) {overall:.0%}, more than its reserve "
        f"{overall_beyond:.0%}",
        f"P(commissioner pays more than doing nothing) {overspend:.0%}",
    ]
    if savings and (savings[0] >= 0.10 or max(savings[:2]) >= 0.15):
        reasons.append(
            f"savings assumed early and large ({savings[0]:.0%} in year one, "
            f"{max(savings[:2]):.0%} by year two)"
        )
    phrases = {
        "savings_realised": "how much of the planned savings is realised",
        "savings_delay_years": "how late the savings arrive",
        "demand_growth": "growth in demand",
        "cost_growth": "growth in unit costs",
        "outcome_attainment": "how far the outcomes reach their targets",
    }
    name, rho = stress.drivers[0]
    reasons.append(
        f"the provider's margin moves most with {phrases[name]} (rank correlation {rho:+.2f})"
    )
    reserve_share = stress.reserve_gbp / max(float(contract.finance.baseline_budget_gbp), 1.0)
    reasons.append(f"reserve {reserve_share:.1%} of the baseline budget")
    if beyond > 0.5:
        label = "likely to fail"
    elif beyond <= 0.2 and overall <= 0.5 and overspend <= 0.5:
        label = "likely to hold"
    else:
        label = "at risk"
    return label, "; ".join(reasons)


def proposed_version(contract: Contract) -> str:
    """The TOML text of a contract (e.g. a version proposed from the data), for people to
    review, diff, register and sign."""
    data = contract.model_dump(mode="json", exclude_none=True)
    data["start_date"] = contract.start_date
    if contract.effective_from is not None:
        data["effective_from"] = contract.effective_from
    return tomli_w.dumps(data)


def _year_split(years: Sequence[int]) -> tuple[int, list[int]]:
    ys = sorted(set(years))
    if len(ys) < 2:
        raise ValueError("scenarios need at least two financial years: a base year and one more")
    contract_years = ys[-2:] if len(ys) >= 3 else ys[-1:]
    return ys[len(ys) - len(contract_years) - 1], contract_years


def _register_and_sign(ops: Operations, contract: Contract) -> register.Version:
    """Register the proposed version (or find it, if these terms are already registered)
    and have every party sign it."""
    version = register.register_version(
        ops,
        proposed_version(contract),
        f"proposed {contract.id}",
        SCENARIO_PEOPLE["contract_manager"],
    )
    for party in contract.parties:
        if party.id not in version.signatures:
            register.sign(ops, contract.id, contract.version, party.id, f"Signatory for {party.id}")
    return register.find_version(ops, contract.id, contract.version)


def _certify_measures(
    ops: Operations,
    contract: Contract,
    values: dict[str, pd.Series],
    year: int,
    quarter: int,
    data_year: int,
) -> None:
    """The provider submits each measured value of the data year and the commissioner
    certifies it; a measure without a value stays awaiting certification."""
    current = {m.key: m.value for m in measurements.certified(ops, contract.id, year, quarter)}
    for m in contract.outcomes.measures:
        series = values.get(m.indicator_id)
        v = series.get(data_year) if series is not None else None
        if v is None or not math.isfinite(float(v)):
            continue
        value = _round4(float(v))
        if current.get(m.indicator_id) == value:
            continue
        measurements.record(
            ops,
            contract.id,
            year,
            quarter,
            "indicator",
            m.indicator_id,
            value,
            SCENARIO_PEOPLE["provider_analyst"],
            SCENARIO_PEOPLE["commissioner_analyst"],
            source=f"measured from the store, financial year {data_year}",
        )


def _settle(ops: Operations, contract_id: str, year: int, quarter: int) -> runs.Run:
    return runs.settle(
        ops,
        contract_id,
        year,
        quarter,
        prepared_by=SCENARIO_PEOPLE["contract_manager"],
        reviewed_by=SCENARIO_PEOPLE["reviewer"],
        approved_by=SCENARIO_PEOPLE["approver"],
    )


@dataclass
class PlannedVersion:
    """A version of a contract planned from the data, and what it was planned from."""

    file_contract: Contract
    contract: Contract
    rule: str
    plan: BudgetPlan
    base_year: int
    data_years: list[int]
    cohort: pd.DataFrame
    costs: pd.DataFrame
    values: dict[str, pd.Series]


def plan_version(
    file_contract: Contract,
    data: PlaceData,
    *,
    msk_only: bool = False,
    cost_growth: float = 0.03,
    cap: float = 0.03,
) -> PlannedVersion:
    """Plan a new version of ``file_contract`` from the data: the budget from its cohort's
    spend, measured baselines rebased on the base year, the start date at the first
    contract year of the data, version ``<version>-planned``. The file is not changed:
    the result is a proposal to review, register and sign."""
    base_year, data_years = _year_split(data.years)
    rule = _cohort_rule(file_contract)
    cohort = select_cohort(data.person_years, rule)
    cohort = cohort[cohort["year"].isin([*range(min(data.years), base_year + 1), *data_years])]
    costs = cohort_costs(data.costs, cohort, points_of_delivery_in_scope(file_contract), msk_only)
    plan = plan_budget(
        cohort,
        costs,
        [float(y.planned_savings) for y in file_contract.years],
        base_year,
        cost_growth=cost_growth,
        cap=cap,
        first_calendar_year=data_years[0],
        population=data.person_years[["year", "age_years", "sex"]],
    )
    contract = apply_plan(file_contract, plan, start_year=data_years[0])
    ids = [m.indicator_id for m in contract.outcomes.measures]
    values = measure_values(ids, data, cohort)
    base_values = {k: float(v[base_year]) for k, v in values.items() if base_year in v.index}
    contract = rebase_measures(contract, base_values)
    terms = contract.model_dump(mode="python")
    terms["version"] = f"{file_contract.version}-planned"
    # The measures are computed over whole financial years, so they are measured annually:
    # the year's outcome payments settle at quarter 4 on the year's value, never a quarter
    # on a value that was not known until the year ended.
    terms["outcomes"]["measurement"] = "annual"
    contract = contract_from_dict(terms, source=contract.id)
    return PlannedVersion(
        file_contract, contract, rule, plan, base_year, data_years, cohort, costs, values
    )


def run_scenario(
    spec: ScenarioSpec,
    data: PlaceData,
    ops: Operations,
    *,
    cost_growth: float = 0.03,
    cap: float = 0.03,
    n_runs: int = 5_000,
    seed: int = 0,
) -> ScenarioResult:
    """Run one scenario on fetched place data through the contract operations ``ops``."""
    planned = plan_version(
        load_example(spec.example), data, msk_only=spec.msk_only, cost_growth=cost_growth, cap=cap
    )
    file_contract, rule = planned.file_contract, planned.rule
    # A worked example is a contract of its own in the register, apart from any contract a
    # user registered from the same example file.
    contract = contract_from_dict(
        {**planned.contract.model_dump(mode="python"), "id": f"{file_contract.id}-worked"},
        source=planned.contract.id,
    )
    plan, base_year, data_years = planned.plan, planned.base_year, planned.data_years
    costs, values = planned.costs, planned.values

    rows = []
    file_measures = {m.indicator_id: m for m in file_contract.outcomes.measures}
    for m in contract.outcomes.measures:
        d = MEASURES.get(m.indicator_id)
        source = "not in the data" if d is None else ("proxy" if d.proxy else "direct")
        how = d.how if d is not None else NOT_IN_DATA.get(m.indicator_id, "not in the data")
        series = values.get(m.indicator_id, pd.Series(dtype=float))
        rows.append(
            MeasureRow(
                m.indicator_id,
                m.name,
                m.tier,
                float(m.weight),
                float(file_measures[m.indicator_id].baseline),
                float(m.baseline),
                float(m.target),
                m.curve.type,
                how,
                source,
                {int(str(k)): float(v) for k, v in series.items()},
                d.library_id if d is not None else None,
                d.library_title if d is not None else None,
            )
        )

    _register_and_sign(ops, contract)
    spend = costs.groupby("year")["cost_gbp"].sum()
    outturn: dict[int, float] = {}
    year_map: dict[int, int] = {}
    for t, fy in enumerate(data_years, start=1):
        if t > contract.duration_years:
            break
        year_map[t] = fy
        outturn[t] = float(spend.get(fy, 0.0))
        for q in (1, 2, 3, 4):
            if q == 4:  # the year's values, known once it has ended
                _certify_measures(ops, contract, values, t, q, fy)
            _settle(ops, contract.id, t, q)
        measurements.record(
            ops,
            contract.id,
            t,
            YEAR_END,
            "outturn",
            "",
            f"{outturn[t]:.2f}",
            SCENARIO_PEOPLE["provider_analyst"],
            SCENARIO_PEOPLE["commissioner_analyst"],
            source=f"cohort in-scope spend, financial year {fy}",
        )
        _settle(ops, contract.id, t, YEAR_END)
    lines = ops.ledger.lines(contract_id=contract.id)
    posted = {"posted": len(lines), "unchanged": 0}
    statements = [contract_statement(ops, contract.id, p.id) for p in contract.parties]
    reconciled = {
        s.party: reconciles(s, ops.ledger) and bool(s.verification and s.verification.ok)
        for s in statements
    }

    stress = run_stress(contract, n_runs=n_runs, seed=seed)
    label, reason = verdict_for(contract, stress)
    base_people = int((data.person_years["year"] == base_year).sum())
    return ScenarioResult(
        spec=spec,
        file_contract=file_contract,
        contract=contract,
        rule=rule,
        place_code=data.place_code,
        place_people=base_people,
        cohort_size=plan.people,
        base_year=base_year,
        contract_years=year_map,
        plan=plan,
        measures=rows,
        framework_warnings=check_framework(contract.outcomes),
        chance_checks=chance_variation_checks(contract.outcomes, max(plan.people, 1)),
        lines=lines,
        posted=posted,
        outturn_gbp=outturn,
        statements=statements,
        reconciled=reconciled,
        stress=stress,
        verdict=label,
        verdict_reason=reason,
    )


def run_scenarios(
    tables: Tables,
    ops: Operations,
    years: Sequence[int],
    scenario_ids: Sequence[str] | None = None,
    *,
    place_code: str | None = None,
    cost_growth: float = 0.03,
    cap: float = 0.03,
    n_runs: int = 5_000,
    seed: int = 0,
) -> list[ScenarioResult]:
    """Run the worked scenarios (all, or ``scenario_ids``) on the canonical ``tables``
    through the contract operations ``ops`` (its register and ledger). ``years`` are the
    financial years of the data (at least two)."""
    wanted = list(scenario_ids) if scenario_ids else [s.scenario_id for s in SCENARIOS]
    known = {s.scenario_id: s for s in SCENARIOS}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown} — choose from {sorted(known)}")
    data = fetch_place_data(tables, years, place_code)
    # Values can be submitted only after their period ends: a population whose last
    # financial year has not yet ended (synthetic years in the future) is settled as of
    # the day after it ends.
    after_data = date(max(years) + 1, 4, 1)
    if date.fromisoformat(ops.now()[:10]) < after_data:
        ops = dataclasses.replace(ops, now=lambda: f"{after_data.isoformat()}T09:00:00+00:00")
    runs.add_approver(ops, SCENARIO_PEOPLE["approver"], 10**12, "Scenario set-up")
    return [
        run_scenario(
            known[w], data, ops, cost_growth=cost_growth, cap=cap, n_runs=n_runs, seed=seed
        )
        for w in wanted
    ]
