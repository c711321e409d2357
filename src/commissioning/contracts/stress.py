"""Contract stress test (C17): vectorised Monte Carlo over the contract's life.

Before signing, a commissioner and a provider want to know how likely the contract is to
fail: the provider losing more than it can absorb, or the commissioner paying more than it
would have without the contract. Seed 003 names the usual cause — misread risk and
optimism about savings (the Cambridgeshire and Peterborough older people's contract).

Model, for each run r and contract year t (floats: this is modelling, not settlement):

* demand index ``D_t = Π_{s=2..t} (1 + demand_growth_{r,s})`` and unit-cost index
  ``C_t = Π_{s=2..t} (1 + cost_growth_{r,s})``, both 1 in year 1;
* do-nothing spend ``N_t = baseline × D_t × C_t`` (the trajectory without the contract);
* realised savings share ``S_t = realised_r × P(t - delay_r)``, where ``P`` is the
  contract's planned-savings schedule interpolated linearly in time (0 before year 1);
* provider outturn cost ``K_t = N_t × (1 - S_t)``;
* the contract's budget ``B_t`` and value at risk ``V_t`` as settled
  (:func:`commissioning.settlement.settle.annual_budget_pence`);
* outcome payments ``O_t = V_t × Σ_m weight_m × curve_m(attainment_r)``;
* payment by the year's basis: block or capitation ``B_t - V_t + O_t``; activity, year of
  care and episodes scale with demand, ``B_t × D_t``; outcomes only ``B_t × payout``;
* with a risk share, the commissioner also settles its corridor part of the variance
  between what was at stake and ``K_t`` — the amount paid ``B_t - V_t + O_t`` or the core
  budget ``B_t - V_t``, as the contract's ``variance_basis`` says — with the same minimum
  rates, caps and quality gate as settlement
  (:func:`commissioning.settlement.corridors.provider_share_array`);
* provider margin ``M_t`` = payment − ``K_t``; commissioner spend = payment.

Outputs: margin by year and cumulative, commissioner spend against do-nothing, the chance
that the provider loses more than its reserve in any year, and the inputs that drive the
cumulative margin (Spearman rank correlations). Randomness comes only from the
``np.random.Generator`` or seed passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from commissioning.contracts.curves import payout_fraction_array
from commissioning.contracts.schema import Contract, PaymentYear
from commissioning.contracts.types import StrictModel
from commissioning.settlement.corridors import provider_share_array
from commissioning.settlement.settle import annual_budget_pence, value_at_risk_pence

FloatArray = npt.NDArray[np.float64]


class Fixed(StrictModel):
    """A known value (no uncertainty)."""

    kind: Literal["fixed"] = "fixed"
    value: float


class Normal(StrictModel):
    """Normal(mean, sd)."""

    kind: Literal["normal"] = "normal"
    mean: float
    sd: float = Field(ge=0)


class TruncatedNormal(StrictModel):
    """Normal(mean, sd) restricted to [low, high], drawn by inverse transform."""

    kind: Literal["truncated_normal"] = "truncated_normal"
    mean: float
    sd: float = Field(gt=0)
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> TruncatedNormal:
        if not self.low < self.high:
            raise ValueError("low must be below high")
        return self


class Beta(StrictModel):
    """Beta(a, b) rescaled to [low, high]; mean low + (high - low)·a/(a + b)."""

    kind: Literal["beta"] = "beta"
    a: float = Field(gt=0)
    b: float = Field(gt=0)
    low: float = 0.0
    high: float = 1.0


class Triangular(StrictModel):
    """Triangular(low, mode, high)."""

    kind: Literal["triangular"] = "triangular"
    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("need low <= mode <= high and low < high")
        return self


Distribution = Annotated[
    Fixed | Normal | TruncatedNormal | Beta | Triangular, Field(discriminator="kind")
]


def draw(dist: Distribution, rng: np.random.Generator, size: tuple[int, ...]) -> FloatArray:
    """Draw an array of ``size`` from ``dist`` with ``rng``."""
    if isinstance(dist, Fixed):
        return np.full(size, dist.value)
    if isinstance(dist, Normal):
        return rng.normal(dist.mean, dist.sd, size)
    if isinstance(dist, TruncatedNormal):
        lo = ndtr((dist.low - dist.mean) / dist.sd)
        hi = ndtr((dist.high - dist.mean) / dist.sd)
        u = lo + (hi - lo) * rng.random(size)
        return np.clip(dist.mean + dist.sd * ndtri(u), dist.low, dist.high)
    if isinstance(dist, Beta):
        return dist.low + (dist.high - dist.low) * rng.beta(dist.a, dist.b, size)
    if isinstance(dist, Triangular):
        return rng.triangular(dist.low, dist.mode, dist.high, size)
    raise TypeError(f"unknown distribution {dist!r}")


class StressAssumptions(StrictModel):
    """The uncertain inputs. Growth rates are drawn per run and year; the rest per run.

    * ``demand_growth`` — annual growth in the cohort's demand (fraction);
    * ``cost_growth`` — annual growth in unit costs (fraction);
    * ``outcome_attainment`` — share of each measure's promised improvement achieved;
    * ``savings_realised`` — share of the planned savings actually realised;
    * ``savings_delay_years`` — how many years late the savings arrive;
    * ``provider_reserve_gbp`` — the loss the provider can absorb in a year; ``None`` uses
      the contract's ``finance.provider_reserve_gbp``, else 2% of the baseline budget.
    """

    demand_growth: Distribution
    cost_growth: Distribution
    outcome_attainment: Distribution
    savings_realised: Distribution
    savings_delay_years: Distribution
    provider_reserve_gbp: float | None = None


def default_assumptions(contract: Contract) -> StressAssumptions:
    """Prudent defaults centred on the contract's own do-nothing growth.

    Demand and unit-cost growth each take half the do-nothing growth (sd 1 point a year);
    outcomes reach Beta(6, 2) on [0, 1.3] of target (mean 0.975); savings are realised at
    Beta(8, 2) on [0, 1.15] of plan (mean 0.92) and arrive Triangular(0, 0, 1) years late
    (mean 4 months) — centred a little short of plan, as seed 003 warns.
    """
    half = float(contract.finance.do_nothing_growth) / 2
    return StressAssumptions(
        demand_growth=TruncatedNormal(mean=half, sd=0.01, low=half - 0.05, high=half + 0.05),
        cost_growth=TruncatedNormal(mean=half, sd=0.01, low=half - 0.05, high=half + 0.05),
        outcome_attainment=Beta(a=6, b=2, low=0.0, high=1.3),
        savings_realised=Beta(a=8, b=2, low=0.0, high=1.15),
        savings_delay_years=Triangular(low=0.0, mode=0.0, high=1.0),
    )


_INPUTS = (
    "demand_growth",
    "cost_growth",
    "outcome_attainment",
    "savings_realised",
    "savings_delay_years",
)


@dataclass(frozen=True)
class StressResult:
    """Simulated outcomes; arrays are (runs, years) in pounds unless named otherwise."""

    margin_gbp: FloatArray
    commissioner_spend_gbp: FloatArray
    do_nothing_gbp: FloatArray
    reserve_gbp: float
    drivers: list[tuple[str, float]]

    @property
    def cumulative_margin_gbp(self) -> FloatArray:
        """Provider margin summed over the contract, per run."""
        return self.margin_gbp.sum(axis=1)

    @property
    def p_loss_beyond_reserve(self) -> float:
        """Chance the provider loses more than its reserve in at least one year."""
        return float(np.mean((self.margin_gbp < -self.reserve_gbp).any(axis=1)))

    @property
    def p_cumulative_loss(self) -> float:
        """Chance the provider loses money over the whole contract."""
        return float(np.mean(self.cumulative_margin_gbp < 0))

    @property
    def p_cumulative_loss_beyond_reserve(self) -> float:
        """Chance the provider loses more than one year's reserve over the whole contract."""
        return float(np.mean(self.cumulative_margin_gbp < -self.reserve_gbp))

    @property
    def p_commissioner_overspend(self) -> float:
        """Chance the commissioner pays more over the contract than the do-nothing spend."""
        spend = self.commissioner_spend_gbp.sum(axis=1)
        return float(np.mean(spend > self.do_nothing_gbp.sum(axis=1)))

    def margin_percentiles(self, q: tuple[float, ...] = (5, 50, 95)) -> FloatArray:
        """Percentiles of the yearly margin: shape (len(q), years)."""
        return np.percentile(self.margin_gbp, q, axis=0)

    def summary(self) -> dict[str, float]:
        """Headline figures for reports."""
        return {
            "p_loss_beyond_reserve": self.p_loss_beyond_reserve,
            "p_cumulative_loss": self.p_cumulative_loss,
            "p_cumulative_loss_beyond_reserve": self.p_cumulative_loss_beyond_reserve,
            "p_commissioner_overspend": self.p_commissioner_overspend,
            "median_cumulative_margin_gbp": float(np.median(self.cumulative_margin_gbp)),
            "mean_saving_vs_do_nothing_gbp": float(
                np.mean(self.do_nothing_gbp.sum(axis=1) - self.commissioner_spend_gbp.sum(axis=1))
            ),
            "reserve_gbp": self.reserve_gbp,
        }


@dataclass(frozen=True)
class YearDraws:
    """One contract year across the runs, for a basis's stress model (pounds)."""

    budget_gbp: float
    at_risk_gbp: float
    payout: FloatArray
    demand_index: FloatArray
    outturn_gbp: FloatArray


def _stress_capitated(rules: PaymentYear, y: YearDraws) -> FloatArray:
    """Block or capitation: the core, the outcome payments earned and, with a risk share,
    the commissioner's corridor part of the variance (as settlement computes it)."""
    n = len(y.payout)
    pay = y.budget_gbp - y.at_risk_gbp + y.at_risk_gbp * y.payout
    rs = rules.risk_share
    if rs is None:
        return pay
    core = np.full(n, y.budget_gbp - y.at_risk_gbp)
    basis = pay if rs.variance_basis == "amount_paid" else core
    quality = None
    if rs.quality_gate is not None:
        earned = y.payout if y.at_risk_gbp > 0 else np.ones(n)
        quality = earned >= float(rs.quality_gate)
    variance = basis - y.outturn_gbp
    kept = provider_share_array(
        basis, y.outturn_gbp, rs, budget=np.full(n, y.budget_gbp), quality_met=quality
    )
    return np.asarray(pay - (variance - kept), dtype=np.float64)


def _stress_volume(rules: PaymentYear, y: YearDraws) -> FloatArray:
    """Activity, year of care, episodes: payment moves with demand."""
    return np.asarray(y.budget_gbp * y.demand_index, dtype=np.float64)


def _stress_outcomes_only(rules: PaymentYear, y: YearDraws) -> FloatArray:
    """Outcomes only: the budget times the outcome payout."""
    return np.asarray(y.budget_gbp * y.payout, dtype=np.float64)


#: The stress model of each payment basis; every basis that settlement knows
#: (:data:`commissioning.settlement.settle.BASIS_SETTLEMENT`) must have one.
BASIS_STRESS: dict[str, Callable[[PaymentYear, YearDraws], FloatArray]] = {
    "block": _stress_capitated,
    "capitation": _stress_capitated,
    "activity": _stress_volume,
    "year_of_care": _stress_volume,
    "episode": _stress_volume,
    "outcomes_only": _stress_outcomes_only,
}


def _ranks(x: FloatArray) -> FloatArray:
    return np.asarray(rankdata(x, axis=-1), dtype=np.float64)


def spearman(inputs: FloatArray, output: FloatArray) -> FloatArray:
    """Spearman rank correlation of each row of ``inputs`` (k, n) with ``output`` (n,).

    Pearson correlation of ranks (tied values share their average rank). A constant input
    has correlation 0.
    """
    ri = _ranks(inputs)
    ro = _ranks(output)
    ri -= ri.mean(axis=1, keepdims=True)
    ro -= ro.mean()
    denom = np.sqrt((ri**2).sum(axis=1) * (ro**2).sum())
    num = (ri * ro).sum(axis=1)
    return np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)


def _planned_savings_at(schedule: FloatArray, when: FloatArray) -> FloatArray:
    """Planned savings share at fractional year ``when`` (1 = year 1), 0 before year 1."""
    xs = np.arange(0, len(schedule) + 1, dtype=np.float64)
    ys = np.concatenate([[0.0], schedule])
    return np.interp(when, xs, ys, left=0.0, right=float(schedule[-1]))


def run_stress(
    contract: Contract,
    assumptions: StressAssumptions | None = None,
    n_runs: int = 10_000,
    seed: int | np.random.Generator = 0,
) -> StressResult:
    """Simulate ``n_runs`` lives of ``contract``; same seed, same answer."""
    a = assumptions or default_assumptions(contract)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    years = contract.duration_years
    shape = (n_runs, years)
    demand = draw(a.demand_growth, rng, shape)
    cost = draw(a.cost_growth, rng, shape)
    attained = draw(a.outcome_attainment, rng, (n_runs,))
    realised = draw(a.savings_realised, rng, (n_runs,))
    delay = draw(a.savings_delay_years, rng, (n_runs,))

    growth_d = np.cumprod(np.concatenate([np.ones((n_runs, 1)), 1 + demand[:, 1:]], axis=1), axis=1)
    growth_c = np.cumprod(np.concatenate([np.ones((n_runs, 1)), 1 + cost[:, 1:]], axis=1), axis=1)
    baseline = float(contract.finance.baseline_budget_gbp)
    do_nothing = baseline * growth_d * growth_c

    schedule = np.array([float(y.planned_savings) for y in contract.years])
    t = np.arange(1, years + 1, dtype=np.float64)
    savings = realised[:, None] * _planned_savings_at(schedule, t[None, :] - delay[:, None])
    outturn = do_nothing * (1 - savings)

    payout = np.zeros(n_runs)
    for m in contract.outcomes.measures:
        payout += float(m.weight) * payout_fraction_array(m.curve, attained)

    payment = np.empty(shape)
    for i, rules in enumerate(contract.years):
        model = BASIS_STRESS.get(rules.basis)
        if model is None:
            raise ValueError(
                f"payment basis '{rules.basis}' has no stress model — register it in "
                "contracts.stress.BASIS_STRESS"
            )
        year = YearDraws(
            budget_gbp=annual_budget_pence(contract, i + 1) / 100,
            at_risk_gbp=value_at_risk_pence(contract, i + 1) / 100,
            payout=payout,
            demand_index=growth_d[:, i],
            outturn_gbp=outturn[:, i],
        )
        payment[:, i] = model(rules, year)
    margin = payment - outturn

    reserve = a.provider_reserve_gbp
    if reserve is None:
        fin = contract.finance.provider_reserve_gbp
        reserve = float(fin) if fin is not None else 0.02 * baseline
    summary_inputs = np.vstack([demand.mean(axis=1), cost.mean(axis=1), attained, realised, delay])
    rho = spearman(summary_inputs, margin.sum(axis=1))
    drivers = sorted(
        ((name, float(r)) for name, r in zip(_INPUTS, rho, strict=True)),
        key=lambda item: -abs(item[1]),
    )
    return StressResult(margin, payment, do_nothing, float(reserve), drivers)
