"""Outcomes framework: measures, payment curves and the checks a commissioner runs (C15).

A measure is an indicator placed in the three-tier hierarchy of outcomes (seed 002, after
Porter): tier 1 health status achieved or retained, tier 2 process of recovery, tier 3
sustainability of health. Each carries a weight (the share of the value at risk it pays),
a baseline, a target, a polarity and a payment curve over *attainment* — the share of the
baseline-to-target improvement achieved (0 at baseline, 1 at target).

The checks follow seed 004: frameworks should be neither too heavy (one US network held
219 performance measures across four contracts) nor without long-term outcomes; and a
measure should not pay for an improvement smaller than its own chance variation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from commissioning.contracts.types import FractionValue, Identifier, StrictModel, Text
from commissioning.indicators.stats import poisson_count_interval, wilson_interval

#: More measures than this earns a warning (seed 004: 219 measures diluted focus).
MAX_MEASURES = 15
_Z_95 = 1.959963984540054


class ThresholdCurve(StrictModel):
    """Pays all of the measure's value once attainment reaches ``threshold``, else nothing."""

    type: Literal["threshold"] = "threshold"
    threshold: Decimal = Decimal(1)


class LinearCurve(StrictModel):
    """Pays nothing at or below ``floor`` attainment, all at target (1), linear between."""

    type: Literal["linear"] = "linear"
    floor: Decimal = Decimal(0)

    @model_validator(mode="after")
    def _floor_below_target(self) -> LinearCurve:
        if self.floor >= 1:
            raise PydanticCustomError(
                "curve_floor",
                "floor must be below 1 (the target) — e.g. 0 pays from the baseline upwards",
            )
        return self


class Step(StrictModel):
    """One step of a stepped curve: from ``attainment`` upwards pay ``payout`` of the value."""

    attainment: Decimal
    payout: FractionValue


class SteppedCurve(StrictModel):
    """Pays the payout of the highest step reached; steps rise in attainment and payout."""

    type: Literal["stepped"] = "stepped"
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _monotone(self) -> SteppedCurve:
        for before, after in zip(self.steps, self.steps[1:], strict=False):
            if after.attainment <= before.attainment or after.payout < before.payout:
                raise PydanticCustomError(
                    "curve_steps",
                    "steps must rise in attainment and never fall in payout — sort them "
                    "and make each payout at least the one before",
                )
        return self


PaymentCurve = Annotated[ThresholdCurve | LinearCurve | SteppedCurve, Field(discriminator="type")]


class Measure(StrictModel):
    """One outcome measure of the framework.

    ``kind`` says how chance variation is judged: ``proportion`` (values 0-1, Wilson
    interval), ``rate_per_1000`` (Poisson), ``score`` (needs ``sd``, the person-level
    standard deviation, e.g. of an EQ-5D health gain).

    ``measured_from`` says where each period's value comes from: ``data`` — measured by the
    workbench from the person-level data (the ``indicator_id`` must then be a measure it
    knows, see :mod:`commissioning.contracts.measures`); ``return`` — a contract-specific
    measure supplied in the provider's return, with its ``definition`` written out. Either
    way a value pays only once it is certified.
    """

    indicator_id: Identifier
    name: Text
    tier: Literal[1, 2, 3]
    weight: FractionValue
    baseline: Decimal
    target: Decimal
    polarity: Literal["higher_is_better", "lower_is_better"]
    kind: Literal["proportion", "rate_per_1000", "score"] = "score"
    sd: Decimal | None = None
    curve: PaymentCurve = Field(default_factory=LinearCurve)
    measured_from: Literal["data", "return"] = "data"
    definition: str = ""

    @model_validator(mode="after")
    def _direction(self) -> Measure:
        if self.target == self.baseline:
            raise PydanticCustomError(
                "target_equals_baseline",
                "target equals baseline — set a target that differs from the baseline",
            )
        rising = self.target > self.baseline
        if rising != (self.polarity == "higher_is_better"):
            raise PydanticCustomError(
                "polarity",
                "target is on the wrong side of the baseline for this polarity — for "
                "'lower_is_better' the target must be below the baseline, and vice versa",
            )
        if self.kind == "proportion" and not (0 <= self.baseline <= 1 and 0 <= self.target <= 1):
            raise PydanticCustomError(
                "proportion_range",
                "a proportion's baseline and target must be between 0 and 1 — write 45% as 0.45",
            )
        return self


class OutcomesFramework(StrictModel):
    """The measures a contract pays on; weights must add up to exactly 1.

    ``measurement`` says what a quarter's value is: ``period`` — measured over that quarter
    alone; ``year_to_date`` — measured from the start of the contract year to the quarter's
    end (so quarter 4's value is the year's); ``annual`` — measured over the whole contract
    year, known after it ends: the year's outcome payments are all settled in quarter 4, on
    the year's certified value, and quarters 1-3 pay none.
    """

    measures: list[Measure] = Field(default_factory=list)
    measurement: Literal["period", "year_to_date", "annual"] = "period"

    @model_validator(mode="after")
    def _weights(self) -> OutcomesFramework:
        ids = [m.indicator_id for m in self.measures]
        if len(set(ids)) != len(ids):
            raise PydanticCustomError(
                "duplicate_measure", "indicator_id repeats — each measure must appear once"
            )
        if self.measures:
            total = sum((m.weight for m in self.measures), Decimal(0))
            if total != 1:
                raise PydanticCustomError(
                    "weights_sum",
                    "measure weights add up to {total}, not 1 — adjust the weights so they "
                    "add up to exactly 1",
                    {"total": str(total)},
                )
        return self


@dataclass(frozen=True)
class FrameworkWarning:
    """A concern about a framework that does not stop the contract being valid."""

    code: str
    message: str


def check_framework(framework: OutcomesFramework) -> list[FrameworkWarning]:
    """Warn when a framework is too heavy or has no tier-3 (long-term) outcome."""
    warnings: list[FrameworkWarning] = []
    n = len(framework.measures)
    if n > MAX_MEASURES:
        warnings.append(
            FrameworkWarning(
                "too_many_measures",
                f"{n} measures: more than {MAX_MEASURES} disperses focus (seed 004: one US "
                "network held 219 performance measures) — keep the few that matter most",
            )
        )
    if n and not any(m.tier == 3 for m in framework.measures):
        warnings.append(
            FrameworkWarning(
                "no_tier_3",
                "no tier-3 measure: nothing rewards sustained health or avoided recurrence — "
                "add a long-term outcome",
            )
        )
    return warnings


def _wilson_half_width(p: float, n: int) -> float:
    """Half-width of the 95% Wilson score interval for a proportion ``p`` at size ``n``
    (Wilson 1927; :func:`commissioning.indicators.stats.wilson_interval`)."""
    lower, upper = wilson_interval(p * n, n)
    return float(upper - lower) / 2


def _poisson_half_width(rate_per_1000: float, n: int) -> float:
    """Half-width, per 1,000, of the 95% interval of the count a rate implies at size ``n``
    (exact Poisson under 10 events, Byar above: the indicator library's own rule)."""
    lower, upper = poisson_count_interval(max(rate_per_1000, 0.0) * n / 1000, 0.95)
    return float(upper - lower) / 2 / n * 1000


@dataclass(frozen=True)
class ChanceCheck:
    """How a measure's paid-for improvement compares with its chance variation."""

    indicator_id: str
    improvement: float
    chance_half_width: float | None
    flagged: bool
    note: str


def chance_variation_checks(framework: OutcomesFramework, cohort_size: int) -> list[ChanceCheck]:
    """Flag measures whose 95% chance variation at ``cohort_size`` exceeds |target − baseline|.

    A proportion uses the Wilson interval at the baseline; a rate per 1,000 the interval of
    the Poisson count (exact under 10 events, Byar above); a score uses 1.96·sd/√n when
    ``sd`` is given. Such a
    measure pays (or withholds) money for movements that chance alone would produce.
    """
    if cohort_size < 1:
        raise ValueError("cohort_size must be at least 1")
    checks: list[ChanceCheck] = []
    for m in framework.measures:
        improvement = abs(float(m.target - m.baseline))
        half: float | None
        if m.kind == "proportion":
            half = _wilson_half_width(float(m.baseline), cohort_size)
        elif m.kind == "rate_per_1000":
            half = _poisson_half_width(float(m.baseline), cohort_size)
        elif m.sd is not None:
            half = _Z_95 * float(m.sd) / math.sqrt(cohort_size)
        else:
            half = None
        if half is None:
            note = "no sd given for this score — chance variation not judged"
            flagged = False
        else:
            flagged = half > improvement
            verdict = "exceeds" if flagged else "is within"
            note = (
                f"chance variation ±{half:.4g} at n={cohort_size} {verdict} "
                f"the improvement paid for ({improvement:.4g})"
            )
        checks.append(ChanceCheck(m.indicator_id, improvement, half, flagged, note))
    return checks
