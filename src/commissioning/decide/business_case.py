"""Business cases by HM Treasury's Green Book: discounting, optimism bias, net present
value, return on investment, payback and break-even, and their uncertainty.

* **Discounting** (HM Treasury, *The Green Book*, 2022, §A6.6-A6.13 and table 8): the
  social time preference rate is 3.5% a year for years 1 to 30, then 3.0% to year 75,
  2.5% to 125, 2.0% to 200, 1.5% to 300 and 1.0% beyond; health effects valued in money
  or QALYs are discounted at 1.5%, declining to 1.29%, 1.07%, 0.86%, 0.64% and 0.43% over
  the same bands. Year 0 is undiscounted: the factor of year ``t`` is the product of
  ``1 / (1 + r)`` over years 1 to ``t``.
* **Optimism bias** (HM Treasury, *Supplementary Green Book Guidance: Optimism Bias*,
  2013, table 1, capital expenditure): the upper bound for the kind of project (standard
  buildings 24%, non-standard buildings 51%, standard civil engineering 44%, non-standard
  civil engineering 66%, equipment and development 200%, outsourcing 41%), reduced by the
  share the case shows it has mitigated, is added to the flows it applies to.
* **Appraisal**: present values of costs (capital and running) and of benefits, their
  difference (NPV), the benefit-cost ratio, the return on investment (NPV over the
  present value of costs), the discounted payback period (interpolated within the year
  the cumulative discounted net flow turns positive) and the break-even scale of the
  benefits (the factor that makes the NPV zero).
* **Uncertainty**: a Monte Carlo of the benefits and costs, each scaled by a draw around
  1, giving the 5th, 50th and 95th percentiles of the NPV and the chance it is positive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

Kind = Literal["capital", "cost", "benefit"]
KINDS = ("capital", "cost", "benefit")

#: (last year of the band, annual rate): the Green Book's declining long-term rates.
SOCIAL_TIME_PREFERENCE: tuple[tuple[float, float], ...] = (
    (30, 0.035),
    (75, 0.030),
    (125, 0.025),
    (200, 0.020),
    (300, 0.015),
    (math.inf, 0.010),
)
HEALTH: tuple[tuple[float, float], ...] = (
    (30, 0.015),
    (75, 0.0129),
    (125, 0.0107),
    (200, 0.0086),
    (300, 0.0064),
    (math.inf, 0.0043),
)
#: Upper bounds of optimism bias in capital expenditure, by kind of project.
OPTIMISM_BIAS_UPPER: dict[str, float] = {
    "standard_buildings": 0.24,
    "non_standard_buildings": 0.51,
    "standard_civil_engineering": 0.44,
    "non_standard_civil_engineering": 0.66,
    "equipment_development": 2.00,
    "outsourcing": 0.41,
}


def _rate(year: int, bands: Sequence[tuple[float, float]]) -> float:
    return next(rate for last, rate in bands if year <= last)


def discount_factor(year: int, *, health: bool = False) -> float:
    """The Green Book's discount factor of ``year`` (0 is today, undiscounted)."""
    if year < 0:
        raise ValueError(f"year {year} is before year 0")
    bands = HEALTH if health else SOCIAL_TIME_PREFERENCE
    factor = 1.0
    for y in range(1, year + 1):
        factor /= 1.0 + _rate(y, bands)
    return factor


def optimism_bias(kind: str, mitigated: float) -> float:
    """The share added to the flows of a project of ``kind`` (its upper bound, less the
    share ``mitigated``)."""
    if kind not in OPTIMISM_BIAS_UPPER:
        raise ValueError(
            f"unknown kind of project {kind!r}; use one of {', '.join(OPTIMISM_BIAS_UPPER)}"
        )
    return OPTIMISM_BIAS_UPPER[kind] * (1.0 - mitigated)


@dataclass(frozen=True)
class CashFlow:
    """One line of a case: pounds by year (0 is the year of the decision). ``bias`` names
    the kind of project whose optimism bias applies to it; ``health`` discounts it at the
    health rate (a monetised health gain)."""

    name: str
    kind: Kind
    amounts: Mapping[int, float]
    bias: str | None = None
    health: bool = False


@dataclass(frozen=True)
class BusinessCase:
    name: str
    flows: Sequence[CashFlow]
    bias_mitigated: float = 0.0
    """The share of the optimism bias upper bound the case shows it has mitigated."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.bias_mitigated <= 1.0:
            raise ValueError(f"{self.name}: bias_mitigated must be from 0 to 1")
        for f in self.flows:
            if f.kind not in KINDS:
                raise ValueError(f"{f.name}: kind must be one of {', '.join(KINDS)}")
            for year, amount in f.amounts.items():
                if year < 0:
                    raise ValueError(f"{f.name}: year {year} is before year 0")
                if not math.isfinite(amount) or amount < 0:
                    raise ValueError(
                        f"{f.name}: amounts are pounds, 0 or more (a cost is a cost line, "
                        f"not a negative benefit); year {year} has {amount}"
                    )
            if f.bias is not None:
                optimism_bias(f.bias, self.bias_mitigated)

    @property
    def horizon(self) -> int:
        return max((y for f in self.flows for y in f.amounts), default=0)

    def scaled_benefits(self, factor: float) -> BusinessCase:
        return replace(
            self,
            flows=[
                replace(f, amounts={y: a * factor for y, a in f.amounts.items()})
                if f.kind == "benefit"
                else f
                for f in self.flows
            ],
        )


@dataclass(frozen=True)
class Appraisal:
    pv_costs: float
    pv_benefits: float
    npv: float
    benefit_cost_ratio: float
    roi: float
    payback_years: float | None
    break_even_benefit_scale: float
    optimism_bias_gbp: float
    cumulative: list[float] = field(default_factory=list)
    """The cumulative discounted net flow at the end of each year, from year 0."""


def _yearly(case: BusinessCase) -> tuple[np.ndarray, np.ndarray, float]:
    """Discounted costs and benefits by year, and the undiscounted optimism bias."""
    years = case.horizon + 1
    costs, benefits = np.zeros(years), np.zeros(years)
    bias_total = 0.0
    for f in case.flows:
        share = optimism_bias(f.bias, case.bias_mitigated) if f.bias else 0.0
        for year, amount in f.amounts.items():
            loaded = amount * (1.0 + share)
            bias_total += loaded - amount
            pv = loaded * discount_factor(year, health=f.health)
            if f.kind == "benefit":
                benefits[year] += pv
            else:
                costs[year] += pv
    return costs, benefits, bias_total


def appraise(case: BusinessCase) -> Appraisal:
    """The Green Book appraisal of ``case``."""
    costs, benefits, bias = _yearly(case)
    pv_costs, pv_benefits = float(costs.sum()), float(benefits.sum())
    cumulative = np.cumsum(benefits - costs)
    payback = None  # the year from which the cumulative net flow stays at 0 or more
    for year in range(len(cumulative)):
        if (cumulative[year:] >= 0).all():
            if year == 0:
                payback = 0.0
            else:
                gained = cumulative[year] - cumulative[year - 1]
                payback = year - 1 + float(-cumulative[year - 1] / gained)
            break
    npv = pv_benefits - pv_costs
    return Appraisal(
        pv_costs=pv_costs,
        pv_benefits=pv_benefits,
        npv=npv,
        benefit_cost_ratio=pv_benefits / pv_costs if pv_costs else math.inf,
        roi=npv / pv_costs if pv_costs else math.inf,
        payback_years=payback,
        break_even_benefit_scale=pv_costs / pv_benefits if pv_benefits else math.inf,
        optimism_bias_gbp=bias,
        cumulative=[float(v) for v in cumulative],
    )


@dataclass(frozen=True)
class Simulation:
    runs: int
    npv_low: float
    npv_median: float
    npv_high: float
    p_positive: float


def simulate(
    case: BusinessCase,
    *,
    runs: int = 2_000,
    seed: int = 0,
    benefit_spread: float = 0.2,
    cost_spread: float = 0.1,
) -> Simulation:
    """The NPV when the benefits and the costs each turn out a factor ``1 + spread × z``
    of the case (``z`` standard normal, the factor kept at 0 or more), ``runs`` times."""
    costs, benefits, _ = _yearly(case)
    rng = np.random.default_rng(seed)
    b = np.clip(1.0 + benefit_spread * rng.standard_normal(runs), 0.0, None)
    c = np.clip(1.0 + cost_spread * rng.standard_normal(runs), 0.0, None)
    npv = b * benefits.sum() - c * costs.sum()
    low, median, high = np.percentile(npv, [5, 50, 95])
    return Simulation(runs, float(low), float(median), float(high), float((npv > 0).mean()))


CASE_STATUSES = ("draft", "submitted", "approved", "rejected")


@dataclass(frozen=True)
class Registered:
    """What the contract register holds of one contract: its versions and its status
    (``draft``, ``signed``, ``live`` or ``ended``)."""

    versions: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class ContractLink:
    """The contract that delivers a case, as the register knows it. ``flag`` says what
    is wrong ("" when nothing is): an approved case that names no contract, or names one
    (or a version) the register does not hold."""

    contract_id: str | None
    contract_version: str | None
    contract_status: str
    flag: str


def contract_link(
    case_status: str,
    contract_id: str | None,
    contract_version: str | None,
    register: Mapping[str, Registered],
) -> ContractLink:
    """Check the contract a case names against the register (``register``: contract id
    to what it holds). Pure: the caller reads the register."""
    if contract_id is None:
        flag = "approved, but names no contract to deliver it" if case_status == "approved" else ""
        return ContractLink(None, None, "none named", flag)
    held = register.get(contract_id)
    if held is None:
        return ContractLink(
            contract_id,
            contract_version,
            "not registered",
            f"contract {contract_id} is not in the register",
        )
    if contract_version is not None and contract_version not in held.versions:
        return ContractLink(
            contract_id,
            contract_version,
            held.status,
            f"contract {contract_id} has no version {contract_version} in the register "
            f"(registered: {', '.join(held.versions)})",
        )
    return ContractLink(contract_id, contract_version, held.status, "")
