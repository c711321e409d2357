"""The seeds' case studies as runnable scenarios on a population (C23).

For each example contract, :func:`run_scenarios`:

1. selects the cohort from the person-year table with the contract's own rule (scope
   ``cohort_rule`` or ``eligibility_rule``, in the rule language of
   :mod:`commissioning.population.rules`) in the home place;
2. plans its capitated budget from the data (:func:`commissioning.contracts.budget.plan_budget`)
   and puts it into the contract (baseline, growth, capped allocation per year; the seed's
   other amounts scaled in proportion);
3. measures the contract's outcomes (:mod:`commissioning.contracts.measures`) and rebases
   each measured baseline on the base year, keeping the file's relative improvement;
4. settles the quarters the data cover — the last two data years are contract years 1
   and 2, the year before is the base year — with the cohort's real in-scope spend as the
   year-end outturn, posts the lines to the append-only ledger and builds each party's
   statement, checked against the ledger;
5. runs the Monte Carlo stress test and gives a verdict in plain words.

Nothing here writes files; :mod:`commissioning.reports.contract_report` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd

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
from commissioning.settlement.ledger import Ledger
from commissioning.settlement.lines import PeriodInputs, SettlementLine
from commissioning.settlement.settle import settle_period
from commissioning.settlement.statement import Statement, build_statement, reconciles

LEDGER_TABLE = "contract_scenario_ledger"


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
    """A plain-words verdict on the stress test and the reason, from the drivers."""
    p = stress.p_loss_beyond_reserve
    savings = [float(y.planned_savings) for y in contract.years]
    reasons = []
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
    if p > 0.5:
        label = "likely to fail"
    elif p > 0.2:
        label = "at risk"
    else:
        label = "likely to hold"
        reasons = reasons[-2:]
    return label, "; ".join(reasons)


def _indicator_values(
    contract: Contract, values: dict[str, pd.Series], data_year: int
) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for m in contract.outcomes.measures:
        series = values.get(m.indicator_id)
        v = series.get(data_year) if series is not None else None
        out[m.indicator_id] = (
            _round4(float(v)) if v is not None and math.isfinite(float(v)) else m.baseline
        )
    return out


def _year_split(years: Sequence[int]) -> tuple[int, list[int]]:
    ys = sorted(set(years))
    if len(ys) < 2:
        raise ValueError("scenarios need at least two financial years: a base year and one more")
    contract_years = ys[-2:] if len(ys) >= 3 else ys[-1:]
    return ys[len(ys) - len(contract_years) - 1], contract_years


def run_scenario(
    spec: ScenarioSpec,
    data: PlaceData,
    ledger: Ledger,
    *,
    cost_growth: float = 0.03,
    cap: float = 0.03,
    n_runs: int = 5_000,
    seed: int = 0,
    contract: Contract | None = None,
) -> ScenarioResult:
    """Run one scenario on fetched place data, posting to ``ledger``; ``contract`` replaces
    the spec's example (e.g. a contract file of the user's own)."""
    base_year, data_years = _year_split(data.years)
    file_contract = contract if contract is not None else load_example(spec.example)
    rule = _cohort_rule(file_contract)
    cohort = select_cohort(data.person_years, rule)
    cohort = cohort[cohort["year"].isin([*range(min(data.years), base_year + 1), *data_years])]
    costs = cohort_costs(
        data.costs, cohort, points_of_delivery_in_scope(file_contract), spec.msk_only
    )
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

    spend = costs.groupby("year")["cost_gbp"].sum()
    lines: list[SettlementLine] = []
    outturn: dict[int, float] = {}
    year_map: dict[int, int] = {}
    for t, fy in enumerate(data_years, start=1):
        if t > contract.duration_years:
            break
        year_map[t] = fy
        outturn[t] = float(spend.get(fy, 0.0))
        values_t = _indicator_values(contract, values, fy)
        for q in (1, 2, 3, 4):
            inputs = PeriodInputs(
                year=t,
                quarter=q,
                indicator_values=values_t,
                outturn_cost_gbp=Decimal(str(round(outturn[t], 2))) if q == 4 else None,
            )
            lines += settle_period(contract, inputs, lines)
    posted = ledger.post_many(lines)
    last = 4 * len(year_map)
    statements = [build_statement(ledger, p.id, contract.id, 1, last) for p in contract.parties]
    reconciled = {s.party: reconciles(s, ledger) for s in statements}

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


def spec_for_contract(contract: Contract) -> ScenarioSpec:
    """A scenario for a contract file that is not one of the worked examples."""
    for s in SCENARIOS:
        if load_example(s.example).id == contract.id:
            return s
    return ScenarioSpec(
        contract.id, "", "Contract file", float(contract.finance.baseline_budget_gbp)
    )


def run_scenarios(
    tables: Tables,
    con: Any,
    years: Sequence[int],
    scenario_ids: Sequence[str] | None = None,
    *,
    place_code: str | None = None,
    cost_growth: float = 0.03,
    cap: float = 0.03,
    n_runs: int = 5_000,
    seed: int = 0,
) -> list[ScenarioResult]:
    """Run the worked scenarios (all, or ``scenario_ids``) on the canonical ``tables``,
    posting settlements to the ledger table ``contract_scenario_ledger`` of the DuckDB
    connection ``con``. ``years`` are the financial years of the data (at least two)."""
    wanted = list(scenario_ids) if scenario_ids else [s.scenario_id for s in SCENARIOS]
    known = {s.scenario_id: s for s in SCENARIOS}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown} — choose from {sorted(known)}")
    data = fetch_place_data(tables, years, place_code)
    ledger = Ledger(con, LEDGER_TABLE)
    return [
        run_scenario(
            known[w], data, ledger, cost_growth=cost_growth, cap=cap, n_runs=n_runs, seed=seed
        )
        for w in wanted
    ]
