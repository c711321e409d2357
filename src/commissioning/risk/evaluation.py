"""Honest evaluation of a risk score: discrimination, calibration, the top of the list.

* AUC (the c statistic), by :func:`sklearn.metrics.roc_auc_score`.
* Calibration slope and intercept (Steyerberg, *Clinical Prediction Models*, 2nd ed.
  2019, ch. 15; Van Calster et al. 2019 BMC Med): the slope is the coefficient of a
  logistic regression of the outcome on the logit of the predicted risk (1 is ideal;
  below 1 means predictions too extreme); the intercept is calibration-in-the-large,
  the intercept of that regression with the logit as an offset (0 is ideal; above 0
  means risks too low on average).
* Calibration by tenth of predicted risk: mean predicted against observed.
* Sensitivity and PPV in the top 0.5%, 1% and 5% of predicted risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import roc_auc_score

FloatArray = npt.NDArray[np.float64]
TOP_SHARES = (0.005, 0.01, 0.05)


def _logit(p: npt.ArrayLike) -> FloatArray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)))


def _newton(x: FloatArray, y: FloatArray, offset: FloatArray, iterations: int = 50) -> FloatArray:
    """Unpenalised logistic regression by Newton-Raphson (columns of ``x`` include 1)."""
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        eta = x @ beta + offset
        mu = 1 / (1 + np.exp(-eta))
        grad = x.T @ (y - mu)
        hess = x.T @ (x * (mu * (1 - mu))[:, None])
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


@dataclass(frozen=True)
class Calibration:
    slope: float
    intercept: float  # calibration-in-the-large


def calibration_slope_intercept(y: npt.ArrayLike, p: npt.ArrayLike) -> Calibration:
    """Logistic recalibration of the logit of ``p`` against outcomes ``y`` (0/1)."""
    yy = np.asarray(y, dtype=np.float64)
    lp = _logit(p)
    ones = np.ones_like(lp)
    slope = _newton(np.column_stack([ones, lp]), yy, np.zeros_like(lp))[1]
    citl = _newton(ones[:, None], yy, lp)[0]
    return Calibration(slope=float(slope), intercept=float(citl))


def calibration_table(y: npt.ArrayLike, p: npt.ArrayLike, groups: int = 10) -> pd.DataFrame:
    """Mean predicted and observed risk by tenth (or ``groups``) of predicted risk."""
    f = pd.DataFrame({"y": np.asarray(y, dtype=np.float64), "p": np.asarray(p)})
    f["group"] = pd.qcut(f.p.rank(method="first"), groups, labels=False) + 1
    out = f.groupby("group").agg(
        people=("y", "size"), predicted=("p", "mean"), observed=("y", "mean")
    )
    return out.reset_index()


def top_of_list(
    y: npt.ArrayLike, p: npt.ArrayLike, shares: Sequence[float] = TOP_SHARES
) -> pd.DataFrame:
    """Sensitivity and PPV when the top ``share`` of people by risk are selected.

    Columns: share, selected, true_positives, sensitivity, ppv. Ties are broken by order
    of appearance, so exactly ceil(share × n) people are selected.
    """
    yy = np.asarray(y, dtype=np.float64)
    order = np.argsort(-np.asarray(p, dtype=np.float64), kind="stable")
    positives = yy.sum()
    rows = []
    for share in shares:
        k = int(np.ceil(share * len(yy)))
        tp = yy[order[:k]].sum()
        rows.append(
            {
                "share": share,
                "selected": k,
                "true_positives": int(tp),
                "sensitivity": tp / positives if positives else np.nan,
                "ppv": tp / k if k else np.nan,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ScoreEvaluation:
    name: str
    auc: float
    calibration: Calibration
    deciles: pd.DataFrame
    top: pd.DataFrame


def evaluate_scores(name: str, y: npt.ArrayLike, p: npt.ArrayLike) -> ScoreEvaluation:
    """AUC, calibration and top-of-list figures of one risk score."""
    return ScoreEvaluation(
        name=name,
        auc=float(roc_auc_score(np.asarray(y), np.asarray(p))),
        calibration=calibration_slope_intercept(y, p),
        deciles=calibration_table(y, p),
        top=top_of_list(y, p),
    )
