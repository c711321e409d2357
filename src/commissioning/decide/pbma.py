"""Programme budgeting and marginal analysis (PBMA) with multi-criteria decision analysis.

A panel agrees criteria and their weights (adding up to 1) and scores each candidate
investment or disinvestment from 0 to 10 on each criterion; a candidate's value is its
weighted score (MCDA, the additive value model: Thokala et al., "Multiple criteria
decision analysis for health care decision making", *Value in Health* 19(1), 2016,
ISPOR task force). A disinvestment has a negative cost: it releases money.

The best package is the set of candidates of greatest total value whose total cost is
within the budget: a 0-1 knapsack solved exactly by mixed-integer programming (HiGHS,
through :func:`scipy.optimize.milp`). Ranking by value per pound and filling the budget
greedily (:func:`greedy_package`) is shown beside it, because it is what a spreadsheet
does and it can miss the best package. The choice's robustness is shown by moving each
weight (:func:`weight_sensitivity`) and by drawing the scores within their uncertainty
(:func:`package_uncertainty`). Method: Mitton and Donaldson, *Priority setting toolkit:
a guide to the use of economics in healthcare decision making*, BMJ Books, 2004.

Where a candidate's quality-adjusted life years are known (``qalys``, gained a year; lost,
negative, for a disinvestment), its cost per QALY is set against NICE's threshold of
£20,000 to £30,000 per QALY gained (*NICE health technology evaluations: the manual*,
PMG36, January 2022, chapter 6): :func:`cost_per_qaly`, :func:`against_threshold`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

MAX_SCORE = 10.0
#: NICE's range of cost per QALY gained below which a technology is normally judged
#: cost effective (PMG36, 2022): below £20,000 normally, up to £30,000 with reasons.
NICE_THRESHOLD_GBP = (20_000.0, 30_000.0)


@dataclass(frozen=True)
class Candidate:
    """An investment (cost > 0) or disinvestment (cost < 0) with its panel scores, the
    QALYs it gains a year where known (negative: lost), and where it came from (the
    panel, or a finding in the data)."""

    id: str
    name: str
    cost: float
    scores: Mapping[str, float]
    qalys: float | None = None
    source: str = "panel"


def cost_per_qaly(c: Candidate) -> float | None:
    """Cost per QALY gained (an investment) or pounds released per QALY lost (a
    disinvestment: cost and QALYs both negative); None where the QALYs are not known or
    one option is better on both (see :func:`against_threshold`)."""
    if c.qalys is None or c.qalys == 0 or (c.cost > 0) != (c.qalys > 0):
        return None
    return c.cost / c.qalys


def against_threshold(c: Candidate) -> str:
    """The candidate against NICE's £20,000 to £30,000 per QALY.

    An investment below £20,000 per QALY gained is "within the threshold", from £20,000
    to £30,000 "within the upper threshold", above it "above the threshold". A
    disinvestment is judged the other way round: releasing more than £30,000 per QALY
    lost is "releases more than the threshold" (the money buys more health elsewhere),
    less than £20,000 "releases less than the threshold". Saving money while gaining
    health is "dominant"; costing money while losing health, "dominated"."""
    if c.qalys is None:
        return "QALYs not known"
    low, high = NICE_THRESHOLD_GBP
    if c.cost <= 0 and c.qalys >= 0:
        return "dominant"
    if c.cost >= 0 and c.qalys <= 0:
        return "dominated"
    ratio = c.cost / c.qalys
    if c.cost > 0:
        return (
            "within the threshold"
            if ratio < low
            else "within the upper threshold"
            if ratio <= high
            else "above the threshold"
        )
    return (
        "releases more than the threshold"
        if ratio > high
        else "releases less than the threshold"
        if ratio < low
        else "releases within the threshold"
    )


@dataclass(frozen=True)
class Exercise:
    weights: Mapping[str, float]
    candidates: Sequence[Candidate]
    budget: float

    def __post_init__(self) -> None:
        total = sum(self.weights.values())
        if not math.isclose(total, 1.0, abs_tol=1e-9) or min(self.weights.values()) < 0:
            raise ValueError(
                f"weights must add up to 1 and not be negative; they add up to {total:g}"
            )
        for c in self.candidates:
            for criterion in self.weights:
                if criterion not in c.scores:
                    raise ValueError(f"{c.id}: no score for {criterion}")
                if not 0 <= c.scores[criterion] <= MAX_SCORE:
                    raise ValueError(f"{c.id}: score for {criterion} must be from 0 to 10")
            if not math.isfinite(c.cost):
                raise ValueError(f"{c.id}: cost must be a number of pounds")

    def value(self, c: Candidate) -> float:
        return float(sum(w * c.scores[k] for k, w in self.weights.items()))


def join_scored(ex: Exercise, found: Sequence[Candidate]) -> tuple[Exercise, list[Candidate]]:
    """The exercise with the candidates found in the data that the panel has scored on
    every criterion (and whose id is not already a candidate), and those still to score."""
    ids = {c.id for c in ex.candidates}
    scored = [c for c in found if c.id not in ids and all(k in c.scores for k in ex.weights)]
    waiting = [c for c in found if c.id not in ids and c not in scored]
    return replace(ex, candidates=[*ex.candidates, *scored]), waiting


@dataclass(frozen=True)
class Package:
    chosen: tuple[str, ...]
    value: float
    cost: float


def _package(ex: Exercise, take: Sequence[bool]) -> Package:
    picked = [c for c, t in zip(ex.candidates, take, strict=True) if t]
    return Package(
        tuple(c.id for c in picked),
        float(sum(ex.value(c) for c in picked)),
        float(sum(c.cost for c in picked)),
    )


def best_package(ex: Exercise) -> Package:
    """The candidates of greatest total value within the budget (exact, by HiGHS)."""
    n = len(ex.candidates)
    if n == 0:
        return Package((), 0.0, 0.0)
    values = np.array([ex.value(c) for c in ex.candidates])
    costs = np.array([c.cost for c in ex.candidates])
    result = milp(
        -values,
        constraints=[LinearConstraint(costs[np.newaxis, :], -np.inf, ex.budget)],
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
    )
    if result.x is None:  # nothing fits: even the money released does not cover it
        return Package((), 0.0, 0.0)
    return _package(ex, [x > 0.5 for x in result.x])


def greedy_package(ex: Exercise) -> Package:
    """Rank by value per pound (money-releasing candidates first) and take each that
    still fits: the spreadsheet method, for comparison."""

    def ratio(c: Candidate) -> float:
        return math.inf if c.cost <= 0 else ex.value(c) / c.cost

    order = sorted(range(len(ex.candidates)), key=lambda i: -ratio(ex.candidates[i]))
    take = [False] * len(ex.candidates)
    spent = 0.0
    for i in order:
        c = ex.candidates[i]
        if spent + c.cost <= ex.budget + 1e-9:
            take[i] = True
            spent += c.cost
    return _package(ex, take)


@dataclass(frozen=True)
class Sensitivity:
    criterion: str
    weight: float
    chosen: tuple[str, ...]
    value: float
    changed: bool


def _reweighted(weights: Mapping[str, float], criterion: str, weight: float) -> dict[str, float]:
    rest = 1.0 - weights[criterion]
    out = {}
    for k, w in weights.items():
        if k == criterion:
            out[k] = weight
        else:
            out[k] = w * (1.0 - weight) / rest if rest > 0 else (1.0 - weight) / (len(weights) - 1)
    return out


def weight_sensitivity(ex: Exercise, step: float = 0.1) -> list[Sensitivity]:
    """The best package with each criterion's weight moved by ``step`` up and down (the
    other weights scaled to keep the total at 1)."""
    base = best_package(ex).chosen
    rows = []
    for criterion, w in ex.weights.items():
        for moved in (w - step, w + step):
            if not 0.0 <= moved <= 1.0:
                continue
            other = replace(ex, weights=_reweighted(ex.weights, criterion, moved))
            best = best_package(other)
            rows.append(Sensitivity(criterion, moved, best.chosen, best.value, best.chosen != base))
    return rows


def package_uncertainty(
    ex: Exercise, *, runs: int = 500, seed: int = 0, spread: float = 1.0
) -> dict[str, float]:
    """How often each candidate is in the best package when every score is drawn
    uniformly within ``spread`` points of the panel's (kept within 0 to 10)."""
    rng = np.random.default_rng(seed)
    counts = dict.fromkeys((c.id for c in ex.candidates), 0)
    for _ in range(runs):
        drawn = [
            replace(
                c,
                scores={
                    k: float(np.clip(s + rng.uniform(-spread, spread), 0.0, MAX_SCORE))
                    for k, s in c.scores.items()
                },
            )
            for c in ex.candidates
        ]
        for cid in best_package(replace(ex, candidates=drawn)).chosen:
            counts[cid] += 1
    return {cid: n / runs for cid, n in counts.items()}
