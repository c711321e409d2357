"""Risk stratification (C7): fit, evaluate honestly, tier and rank who would gain most.

:func:`evaluate_risk` trains on earlier year pairs (features in t, outcome in t+1) for
one set of people and tests on the last year pair for *different* people (a keyed hash
of the person decides), so neither people nor outcomes leak from test to training. The
model, a PARR-like baseline and, in synthetic data, the oracle (the true probability
for the year predicted) are scored on the same test rows.

Tiers: the top 0.5% of predicted risk ("Very high"), the next 4.5% ("High"), the next
15% ("Moderate") and the rest ("Low"), in the style of the Kaiser pyramid.

Who would gain most: ``gain_score = risk × avoidable share``, the avoidable share of a
person's cost in the year being the cost of emergency admissions (ACSC admissions among
them) and A&E attendances over their total cost; it favours people at high risk whose
spending is mostly unplanned, the people proactive care can help. See
``docs/methods/risk-stratification.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from commissioning.risk.evaluation import ScoreEvaluation, evaluate_scores
from commissioning.risk.features import (
    FEATURES,
    feature_matrix,
    person_split,
    prediction_pairs,
)
from commissioning.risk.model import EmergencyAdmissionRiskModel, ParrLikeBaseline

TIERS: tuple[tuple[str, float], ...] = (
    ("Very high (top 0.5%)", 0.005),
    ("High (next 4.5%)", 0.05),
    ("Moderate (next 15%)", 0.20),
    ("Low (rest)", 1.0),
)


def risk_tiers(risk: pd.Series) -> pd.Series:
    """Tier label of each risk by its rank (ties broken by order, so sizes are exact)."""
    n = len(risk)
    order = np.argsort(-risk.to_numpy(dtype=np.float64), kind="stable")
    position = np.empty(n, dtype=np.float64)
    position[order] = (np.arange(n) + 1) / max(n, 1)
    labels = np.empty(n, dtype=object)
    for name, upper in reversed(TIERS):
        labels[position <= upper] = name
    return pd.Series(labels, index=risk.index, name="tier")


def tier_summary(scored: pd.DataFrame) -> pd.DataFrame:
    """People, mean risk, spend and emergency admissions next year by tier."""
    g = scored.groupby("tier", sort=False).agg(
        people=("risk", "size"),
        mean_risk=("risk", "mean"),
        spend_gbp=("total_cost_gbp", "sum"),
        next_emergency_admissions=("next_emergency_admissions", "sum"),
    )
    g = g.reindex([name for name, _ in TIERS]).fillna(0).reset_index()
    g["share_of_spend"] = g.spend_gbp / g.spend_gbp.sum()
    return g


def gain_scores(scored: pd.DataFrame) -> pd.Series:
    """risk × avoidable share of the person's cost (emergency admissions and A&E)."""
    avoidable = scored.emergency_cost_gbp + scored.ae_cost_gbp
    total = scored.total_cost_gbp
    share = np.where(total > 0, avoidable / total.where(total > 0, 1.0), 0.0)
    return pd.Series(scored.risk.to_numpy() * share, index=scored.index, name="gain_score")


def who_would_gain_most(scored: pd.DataFrame, top: int = 50) -> pd.DataFrame:
    """The ``top`` person-years by gain score, with what drives it."""
    s = scored.assign(gain_score=gain_scores(scored))
    cols = [
        "person_id",
        "age_years",
        "sex",
        "condition_count",
        "frailty",
        "risk",
        "tier",
        "emergency_admissions",
        "acsc_emergency_admissions",
        "emergency_cost_gbp",
        "ae_cost_gbp",
        "total_cost_gbp",
        "gain_score",
    ]
    return s.sort_values("gain_score", ascending=False, kind="stable").head(top)[cols]


@dataclass
class RiskEvaluation:
    """Everything the report shows about the risk model."""

    train_years: list[int]
    test_year: int
    train_rows: int
    test_rows: int
    model: ScoreEvaluation
    baseline: ScoreEvaluation
    oracle: ScoreEvaluation | None
    scored: pd.DataFrame  # test rows with risk, tier and outcome
    tiers: pd.DataFrame
    gain: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        rows = []
        for e in (self.model, self.baseline, self.oracle):
            if e is None:
                continue
            rows.append(
                {
                    "score": e.name,
                    "auc": e.auc,
                    "calibration_slope": e.calibration.slope,
                    "calibration_intercept": e.calibration.intercept,
                    **{
                        f"ppv_top_{100 * float(share):g}pct": float(ppv)
                        for share, ppv in zip(e.top.share, e.top.ppv, strict=True)
                    },
                    **{
                        f"sensitivity_top_{100 * float(share):g}pct": float(sens)
                        for share, sens in zip(e.top.share, e.top.sensitivity, strict=True)
                    },
                }
            )
        return pd.DataFrame(rows)


def evaluate_risk(
    frame: pd.DataFrame,
    years: Sequence[int],
    truth: pd.DataFrame | None = None,
    test_share: float = 0.5,
    model: EmergencyAdmissionRiskModel | None = None,
) -> RiskEvaluation:
    """Train on pairs (t, t+1) for t in ``years[:-2]`` and training people; test on the
    pair (``years[-2]``, ``years[-1]``) for test people. Needs three or more years.

    ``frame`` is the person-year table (pandas) for ``years``; ``truth`` the
    synthetic_person_year table, if any, for the oracle.
    """
    years = sorted(years)
    if len(years) < 3:
        raise ValueError(
            f"risk evaluation needs three or more consecutive years (train on earlier "
            f"pairs, test on the last); got {years}"
        )
    train_years, test_year = years[:-2], years[-2]
    pairs = prediction_pairs(frame, [*train_years, test_year], truth)
    in_test = person_split(pairs.person_id, test_share)
    train = pairs[~in_test & pairs.year.isin(train_years)]
    test = pairs[in_test & (pairs.year == test_year)].reset_index(drop=True)
    x_train, x_test = feature_matrix(train), feature_matrix(test)
    est = model if model is not None else EmergencyAdmissionRiskModel(random_state=0)
    est.fit(x_train.to_numpy(), train.outcome.to_numpy())
    risk = est.predict_proba(x_test.to_numpy())[:, 1]
    base_cols = [FEATURES.index(c) for c in ("age_years", "male", "emergency_admissions")]
    baseline = ParrLikeBaseline(*base_cols).fit(x_train.to_numpy(), train.outcome.to_numpy())
    base_risk = baseline.predict_proba(x_test.to_numpy())[:, 1]
    y = test.outcome.to_numpy()
    oracle = None
    if truth is not None and test.oracle_p.notna().all():
        oracle = evaluate_scores("Oracle (true probability)", y, test.oracle_p.to_numpy())
    scored = test.assign(risk=risk, baseline_risk=base_risk)
    scored["tier"] = risk_tiers(scored.risk)
    return RiskEvaluation(
        train_years=list(train_years),
        test_year=test_year,
        train_rows=len(train),
        test_rows=len(test),
        model=evaluate_scores("Model (boosted trees)", y, risk),
        baseline=evaluate_scores("PARR-like baseline", y, base_risk),
        oracle=oracle,
        scored=scored,
        tiers=tier_summary(scored),
        gain=who_would_gain_most(scored),
    )
