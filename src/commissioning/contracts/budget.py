"""Capitated budgets (C14): from a cohort's spend to the budget a contract pays.

Pure functions over DataFrames (the queries are in :mod:`commissioning.contracts.cohort`);
method and references in ``docs/methods/capitated-budgets.md``. In short:

1. **Baseline** — the cohort's in-scope spend in the base year, by contract setting, in
   total and per person (person-years in the cohort).
2. **Need weights** — the mean in-scope cost of each cell of age group × sex × need band
   (condition count 0-1, 2-3, 4+), divided by the cohort's mean, shrunk towards 1 for
   small cells (credibility ``n / (n + k)``), then scaled so the person-weighted mean of
   the base year is exactly 1 — the idea of the need weights in NHS England's capitation
   formula and the ACRA technical guides, estimated on our own data.
3. **Demographic change** — with the place's whole population given, the cohort's
   weighted size per head of each age group × sex in the base year is applied to the
   population of that age group and sex in every observed year (the change in the
   population's age-sex structure: ageing, deaths, births and moves); without it, the
   cohort's own weighted size (the sum of its members' weights) by year. The average
   annual change (geometric, over the years up to the base year) is carried forward; with
   one observed year it is 0.
4. **Projection** — do-nothing spend of contract year t:
   ``base spend × (1 + demographic)^t × (1 + cost growth)^t`` (t = 1 is the first contract
   year, one year after the base year); the **target** is the do-nothing spend less the
   contract's planned savings of that year.
5. **Stable allocation** — the allocation follows the target but moves by at most
   ``cap`` (e.g. ±3%) from one year to the next; year 1 is the target. The difference
   (target − allocation) goes into a **smoothing reserve** held by the commissioner: money
   set aside when the allocation is held below the target, drawn when it is held above.
   The running balance says how the smoothing is funded; a negative balance is a planned
   call on the commissioner's contingency (reported, never hidden).

Projections are floats (modelling); the allocation that goes into the contract is rounded
to whole pence once, half to even (:func:`commissioning.settlement.money.to_pence`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from commissioning.contracts.load import contract_from_dict
from commissioning.contracts.schema import Contract
from commissioning.settlement.money import to_gbp, to_pence

#: Age groups for the need weights: (lowest age, label).
AGE_GROUPS: tuple[tuple[int, str], ...] = (
    (0, "0-17"),
    (18, "18-44"),
    (45, "45-64"),
    (65, "65-74"),
    (75, "75-84"),
    (85, "85+"),
)
#: Need bands by number of long-term conditions: (lowest count, label).
NEED_BANDS: tuple[tuple[int, str], ...] = ((0, "0-1 conditions"), (2, "2-3"), (4, "4+"))


def age_group(age_years: pd.Series) -> pd.Series:
    """The weight's age group of each age in completed years."""
    edges = [low for low, _ in AGE_GROUPS[1:]]
    idx = np.searchsorted(edges, age_years.to_numpy(), side="right")
    return pd.Series(np.array([label for _, label in AGE_GROUPS])[idx], index=age_years.index)


def need_band(condition_count: pd.Series) -> pd.Series:
    """The weight's need band of each condition count."""
    edges = [low for low, _ in NEED_BANDS[1:]]
    idx = np.searchsorted(edges, condition_count.to_numpy(), side="right")
    return pd.Series(np.array([label for _, label in NEED_BANDS])[idx], index=condition_count.index)


def with_cells(cohort: pd.DataFrame) -> pd.DataFrame:
    """Add ``cell`` (age group | sex | need band) to person-years with age_years, sex and
    condition_count."""
    cell = (
        age_group(cohort["age_years"])
        + " | "
        + cohort["sex"].astype(str)
        + " | "
        + need_band(cohort["condition_count"])
    )
    return cohort.assign(cell=cell)


def person_year_spend(cohort: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """Each cohort person-year with its in-scope spend ``cost_gbp`` (0 if none)."""
    spend = costs.groupby(["person_id", "year"], as_index=False)["cost_gbp"].sum()
    out = cohort.merge(spend, on=["person_id", "year"], how="left")
    return out.assign(cost_gbp=out["cost_gbp"].fillna(0.0))


def baseline_by_setting(cohort: pd.DataFrame, costs: pd.DataFrame, year: int) -> pd.DataFrame:
    """Spend of ``year`` by contract setting: setting, spend_gbp, per_person_gbp, share.

    ``per_person_gbp`` divides by the cohort's person-years in the year (everyone in the
    cohort, with or without spend)."""
    people = int((cohort["year"] == year).sum())
    c = costs[costs["year"] == year]
    by = c.groupby("setting")["cost_gbp"].sum().rename("spend_gbp").reset_index()
    total = float(by["spend_gbp"].sum())
    by = by.assign(
        per_person_gbp=by["spend_gbp"] / people if people else 0.0,
        share=by["spend_gbp"] / total if total else 0.0,
    )
    return by.sort_values("spend_gbp", ascending=False).reset_index(drop=True)


def need_weights(spend: pd.DataFrame, credibility: float = 20.0) -> pd.DataFrame:
    """Need weights by cell from person-years with ``cell`` and ``cost_gbp``.

    ``raw = mean cost of the cell / mean cost of all``; ``shrunk = z·raw + (1 - z)`` with
    ``z = n / (n + credibility)``; ``weight = shrunk / Σ(n·shrunk)/Σn`` so the
    person-weighted mean weight is 1. Columns: cell, person_years, mean_cost_gbp, raw,
    weight.
    """
    overall = float(spend["cost_gbp"].mean()) if len(spend) else 0.0
    g = spend.groupby("cell", as_index=False).agg(
        person_years=("cost_gbp", "size"), mean_cost_gbp=("cost_gbp", "mean")
    )
    raw = g["mean_cost_gbp"] / overall if overall > 0 else pd.Series(1.0, index=g.index)
    z = g["person_years"] / (g["person_years"] + credibility)
    shrunk = z * raw + (1 - z)
    scale = float((g["person_years"] * shrunk).sum() / g["person_years"].sum()) if len(g) else 1.0
    return g.assign(raw=raw, weight=shrunk / scale if scale > 0 else 1.0)


def weighted_size(cohort_cells: pd.DataFrame, weights: pd.DataFrame) -> pd.Series:
    """The cohort's weighted size (Σ weights) by year; unseen cells weigh 1."""
    w = cohort_cells.merge(weights[["cell", "weight"]], on="cell", how="left")
    w = w.assign(weight=w["weight"].fillna(1.0))
    return w.groupby("year")["weight"].sum()


def structure_sizes(
    cohort_cells: pd.DataFrame, weights: pd.DataFrame, population: pd.DataFrame, base_year: int
) -> pd.Series:
    """Expected weighted size of the cohort by year from the population's age-sex structure.

    ``rate[a, s]`` = Σ weights of the cohort's base-year person-years in age group a and sex
    s ÷ the population's base-year person-years in (a, s); the size of year y is
    Σ rate[a, s] × population[y, a, s]. ``population`` has year, age_years and sex.
    """
    w = cohort_cells[cohort_cells["year"] == base_year].merge(
        weights[["cell", "weight"]], on="cell", how="left"
    )
    w = w.assign(weight=w["weight"].fillna(1.0), group=age_group(w["age_years"]))
    num = w.groupby(["group", "sex"])["weight"].sum()
    pop = population.assign(group=age_group(population["age_years"]))
    counts = pop.groupby(["year", "group", "sex"]).size()
    den = counts.xs(base_year, level="year")
    rate = (num / den).dropna()
    by_year = counts.unstack(["group", "sex"]).fillna(0.0)
    common = [c for c in by_year.columns if c in rate.index]
    return (by_year[common] * rate.loc[common].to_numpy()).sum(axis=1).astype(float)


def demographic_growth(sizes: pd.Series) -> float:
    """Average annual change of a weighted size over its years (geometric); 0 for one."""
    s = sizes.sort_index()
    if len(s) < 2 or s.iloc[0] <= 0:
        return 0.0
    span = int(s.index[-1]) - int(s.index[0])
    return float((s.iloc[-1] / s.iloc[0]) ** (1 / span) - 1) if span > 0 else 0.0


def capped_allocation(targets: Sequence[float], cap: float) -> list[float]:
    """Allocations that follow ``targets`` but change by at most ``cap`` a year."""
    out: list[float] = []
    for t in targets:
        if not out:
            out.append(float(t))
        else:
            prev = out[-1]
            out.append(float(min(max(t, prev * (1 - cap)), prev * (1 + cap))))
    return out


@dataclass(frozen=True)
class BudgetPlan:
    """A contract's capitated budget from the data.

    ``baseline`` (by setting), ``weights`` (by cell) and ``trajectory`` (one row per
    contract year: year, calendar_year, weighted_people, do_nothing_gbp, planned_savings,
    target_gbp, allocation_gbp, to_reserve_gbp, reserve_balance_gbp, allocation_pence)
    are DataFrames; money in the trajectory is £ (float) except ``allocation_pence``.
    """

    base_year: int
    people: int
    weighted_people: float
    spend_gbp: float
    per_person_gbp: float
    risk_adjusted_per_person_gbp: float
    demographic_growth: float
    cost_growth: float
    cap: float
    baseline: pd.DataFrame
    weights: pd.DataFrame
    sizes: pd.Series
    trajectory: pd.DataFrame

    @property
    def year_one_do_nothing_gbp(self) -> float:
        """Do-nothing spend of contract year 1."""
        return float(self.trajectory["do_nothing_gbp"].iloc[0])

    @property
    def combined_growth(self) -> float:
        """Annual growth of the do-nothing spend: (1 + demographic)(1 + cost) - 1."""
        return (1 + self.demographic_growth) * (1 + self.cost_growth) - 1


def plan_budget(
    cohort: pd.DataFrame,
    costs: pd.DataFrame,
    planned_savings: Sequence[float],
    base_year: int,
    cost_growth: float = 0.03,
    cap: float = 0.03,
    credibility: float = 20.0,
    first_calendar_year: int | None = None,
    population: pd.DataFrame | None = None,
) -> BudgetPlan:
    """The budget plan of a cohort (person-years with person_id, year, age_years, sex,
    condition_count) and its in-scope ``costs`` (person_id, year, setting, cost_gbp).

    Weights are estimated on the base year; demographic change on the years up to and
    including it, from the age-sex structure of ``population`` (the place's person-years:
    year, age_years, sex) when given; ``planned_savings`` has one share per contract year.
    """
    cells = with_cells(cohort[cohort["year"] <= base_year])
    spend = person_year_spend(cells, costs)
    base = spend[spend["year"] == base_year]
    weights = need_weights(base, credibility)
    sizes = weighted_size(cells, weights)
    if population is not None:
        pop = population[population["year"] <= base_year]
        growth = demographic_growth(structure_sizes(cells, weights, pop, base_year))
    else:
        growth = demographic_growth(sizes)
    people = len(base)
    total = float(base["cost_gbp"].sum())
    w_base = float(sizes.get(base_year, 0.0))
    per_person = total / people if people else 0.0
    risk_adjusted = total / w_base if w_base else 0.0
    first = first_calendar_year if first_calendar_year is not None else base_year + 1
    rows = []
    targets = []
    for i, saving in enumerate(planned_savings, start=1):
        weighted = w_base * (1 + growth) ** i
        do_nothing = risk_adjusted * weighted * (1 + cost_growth) ** i
        target = do_nothing * (1 - float(saving))
        targets.append(target)
        rows.append((i, first + i - 1, weighted, do_nothing, float(saving), target))
    traj = pd.DataFrame(
        rows,
        columns=[
            "year",
            "calendar_year",
            "weighted_people",
            "do_nothing_gbp",
            "planned_savings",
            "target_gbp",
        ],
    )
    alloc = capped_allocation(targets, cap)
    pence = [to_pence(round(a, 2)) for a in alloc]
    paid = [p / 100 for p in pence]
    to_reserve = traj["target_gbp"].to_numpy() - np.array(paid)
    traj = traj.assign(
        allocation_gbp=paid,
        to_reserve_gbp=to_reserve,
        reserve_balance_gbp=np.cumsum(to_reserve),
        allocation_pence=pence,
    )
    return BudgetPlan(
        base_year=base_year,
        people=people,
        weighted_people=w_base,
        spend_gbp=total,
        per_person_gbp=per_person,
        risk_adjusted_per_person_gbp=risk_adjusted,
        demographic_growth=growth,
        cost_growth=cost_growth,
        cap=cap,
        baseline=baseline_by_setting(cells, costs, base_year),
        weights=weights,
        sizes=sizes,
        trajectory=traj,
    )


def _scaled(value: Any, factor: Decimal) -> Decimal:
    return to_gbp(to_pence(Decimal(str(value)) * factor))


def apply_plan(contract: Contract, plan: BudgetPlan, start_year: int | None = None) -> Contract:
    """The contract with its money taken from ``plan``, revalidated.

    The baseline becomes the plan's year-1 do-nothing spend and ``do_nothing_growth`` the
    plan's combined growth (4 places); each year's ``budget_gbp`` is the capped allocation.
    Every other amount in pounds (reserve, gain and loss caps, subcontracts, provider
    contracts, coordinator fee, SIB capital and prices) is scaled by the ratio of the new
    baseline to the file's, so the seed's proportions are kept. ``start_year`` moves the
    start date to 1 April of that year.
    """
    data = contract.model_dump(mode="python")
    old = Decimal(str(contract.finance.baseline_budget_gbp))
    new = to_gbp(to_pence(round(plan.year_one_do_nothing_gbp, 2)))
    factor = new / old if old else Decimal(1)
    fin = data["finance"]
    fin["baseline_budget_gbp"] = new
    fin["do_nothing_growth"] = Decimal(str(round(plan.combined_growth, 4)))
    if fin.get("provider_reserve_gbp") is not None:
        fin["provider_reserve_gbp"] = _scaled(fin["provider_reserve_gbp"], factor)
    pence = plan.trajectory["allocation_pence"].tolist()
    for y, p in zip(data["years"], pence, strict=False):
        y["budget_gbp"] = to_gbp(int(p))
        rs = y.get("risk_share")
        if rs:
            for key in ("gain_cap_gbp", "loss_cap_gbp"):
                if rs.get(key) is not None:
                    rs[key] = _scaled(rs[key], factor)
    form = data["form"]
    for key in ("coordinator_fee_gbp", "capital_gbp", "bundle_price_gbp"):
        if form.get(key) is not None:
            form[key] = _scaled(form[key], factor)
    for key in ("subcontracts", "provider_contracts"):
        for item in form.get(key, []) or []:
            item["annual_value_gbp"] = _scaled(item["annual_value_gbp"], factor)
    if start_year is not None:
        data["start_date"] = data["start_date"].replace(year=start_year, month=4, day=1)
    return contract_from_dict(data, source=contract.id)
