"""Did the pilot work? Evaluation of an intervention on a cohort, against a comparison.

A pilot gives an intervention to the eligible people of some places from the start of a
year; its outcome is a count per person and year (emergency admissions, say) in the
person-year table. Three estimates of its effect on the treated, each with a 95% interval:

* **Before and after** in the treated alone: the mean change. Biased whenever the cohort
  was chosen on its outcome: people picked for high use in one year use less the next
  with or without help (regression to the mean; Barnett, van der Pols and Dobson,
  "Regression to the mean: what it is and how to deal with it", *International Journal of
  Epidemiology* 34(1), 2005). The report says so when the rule selects on the outcome.
* **Matched difference in differences**: each treated person matched to the eligible
  person elsewhere nearest on the propensity score (logistic regression on age, sex,
  conditions, frailty, deprivation and the outcome before; 1:1 nearest neighbour with
  replacement within a caliper of 0.2 standard deviations of the logit: Austin,
  "Optimal caliper widths for propensity-score matching", *Pharmaceutical Statistics*
  10(2), 2011); the effect is the mean over pairs of the treated person's change less
  the match's change. Matches share the outcome before exactly (it drives regression to
  the mean). Chosen by the same rule, the comparison regresses to the mean too,
  and the difference removes it. Interval: percentile bootstrap over the pairs.
  Balance: standardised mean differences of every covariate before and after matching
  (below 0.1 is balanced).
* **Power** before the pilot: the people needed in each group to detect a difference in
  means with a two-sided test (normal approximation).

:func:`plant_effect` gives synthetic data a known effect (each treated person's events
after the start thinned binomially), so the estimates can be judged against the truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

COVARIATES = ("age_years", "female", "condition_count", "efi", "imd_decile", "before")
#: Matches share the outcome before exactly (values above this are one group): the
#: outcome before drives regression to the mean, so it is not left to the score.
EXACT_CAP = 5


@dataclass(frozen=True)
class Pilot:
    """Who is eligible (``outcome`` in ``before_year`` of at least ``min_before``, alive and
    registered in both years), who is treated (the eligible in ``places``), and when."""

    outcome: str
    before_year: int
    after_year: int
    places: tuple[str, ...]
    min_before: float = 0.0

    @property
    def selects_on_outcome(self) -> bool:
        return self.min_before > 0


@dataclass(frozen=True)
class Estimate:
    design: str
    effect: float
    lower: float
    upper: float
    treated: int
    compared: int = 0

    def covers(self, value: float) -> bool:
        return self.lower <= value <= self.upper


def cohort(person_year: pd.DataFrame, pilot: Pilot) -> pd.DataFrame:
    """One row per eligible person: place, treated, outcome before and after, covariates."""
    py = person_year
    before = py[(py["year"] == pilot.before_year) & py["in_mid_year_population"].astype(bool)]
    after = py[(py["year"] == pilot.after_year) & py["in_mid_year_population"].astype(bool)]
    wide = before[
        [
            "person_id",
            "place_code",
            "age_years",
            "sex",
            "condition_count",
            "efi",
            "imd_decile",
            pilot.outcome,
        ]
    ].merge(after[["person_id", pilot.outcome]], on="person_id", suffixes=("_before", "_after"))
    wide = wide.rename(
        columns={f"{pilot.outcome}_before": "before", f"{pilot.outcome}_after": "after"}
    )
    wide = wide[wide["before"] >= pilot.min_before].copy()
    wide["female"] = (wide["sex"] == "F").astype(float)
    wide["treated"] = wide["place_code"].isin(pilot.places)
    # the electronic frailty index is scored from 65: below that, no deficits counted
    wide["efi"] = wide["efi"].astype(float).where(wide["age_years"] >= 65, 0.0)
    for c in COVARIATES:
        wide[c] = wide[c].astype(float)
    complete = wide[list(COVARIATES)].notna().all(axis=1)
    out = wide[complete].reset_index(drop=True)
    out.attrs["incomplete"] = int((~complete).sum())  # left out: a covariate missing
    return out


def plant_effect(
    person_year: pd.DataFrame, pilot: Pilot, relative_effect: float, seed: int = 0
) -> tuple[pd.DataFrame, float]:
    """A copy of ``person_year`` in which each treated person's outcome after the start is
    thinned by ``relative_effect`` (0.3: each event kept with probability 0.7), and the
    true effect on the treated: the mean change in their outcome it caused."""
    if not 0.0 <= relative_effect <= 1.0:
        raise ValueError("relative_effect must be from 0 to 1")
    treated_ids = set(cohort(person_year, pilot).query("treated")["person_id"])
    out = person_year.copy()
    rows = (out["year"] == pilot.after_year) & out["person_id"].isin(treated_ids)
    counts = out.loc[rows, pilot.outcome].to_numpy().astype(np.int64)
    kept = np.random.default_rng(seed).binomial(counts, 1.0 - relative_effect)
    out.loc[rows, pilot.outcome] = kept
    truth = float((kept - counts).sum() / max(len(treated_ids), 1))
    return out, truth


def before_and_after(c: pd.DataFrame) -> Estimate:
    """The mean change in the treated, with a t interval."""
    change = (c.loc[c["treated"], "after"] - c.loc[c["treated"], "before"]).to_numpy()
    n = len(change)
    mean = float(change.mean()) if n else math.nan
    half = (
        float(stats.t.ppf(0.975, n - 1) * change.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    )
    return Estimate("before and after (treated only)", mean, mean - half, mean + half, n)


def _logit_scores(c: pd.DataFrame) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = StandardScaler().fit_transform(c[list(COVARIATES)].to_numpy())
    model = LogisticRegression(max_iter=1000).fit(x, c["treated"].to_numpy())
    p = np.clip(model.predict_proba(x)[:, 1], 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def balance(c: pd.DataFrame, treated: np.ndarray, controls: np.ndarray) -> pd.DataFrame:
    """Standardised mean differences of each covariate: all eligible, and the matched."""
    rows = []
    t_all, c_all = c[c["treated"]], c[~c["treated"]]
    for v in COVARIATES:
        pooled = math.sqrt((t_all[v].var() + c_all[v].var()) / 2) or 1.0
        rows.append(
            {
                "covariate": v,
                "before_matching": (t_all[v].mean() - c_all[v].mean()) / pooled,
                "after_matching": (c.loc[treated, v].mean() - c.loc[controls, v].mean()) / pooled,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Matched:
    estimate: Estimate
    balance: pd.DataFrame
    unmatched: int
    comparison_change: float
    """The mean change in the matched comparison: what the treated would have done
    without the intervention (regression to the mean, and trend)."""


def matched_difference_in_differences(
    c: pd.DataFrame, *, caliper: float = 0.2, boots: int = 1000, seed: int = 0
) -> Matched:
    """Propensity-matched difference in differences, with a bootstrap interval."""
    t_idx = np.flatnonzero(c["treated"].to_numpy())
    c_idx = np.flatnonzero(~c["treated"].to_numpy())
    if not len(t_idx) or not len(c_idx):
        raise ValueError(
            "the pilot needs treated people and eligible people elsewhere to compare them with"
        )
    logit = _logit_scores(c)
    width = caliper * float(np.std(logit))
    stratum = np.minimum(c["before"].to_numpy(), EXACT_CAP)
    pairs_t, pairs_c = [], []
    for i in t_idx:
        pool = c_idx[stratum[c_idx] == stratum[i]]  # exact on the outcome before
        if not len(pool):
            continue
        best = pool[int(np.argmin(np.abs(logit[pool] - logit[i])))]
        if abs(logit[best] - logit[i]) <= width:
            pairs_t.append(i)
            pairs_c.append(best)
    t_arr, c_arr = np.array(pairs_t), np.array(pairs_c)
    change = (c["after"] - c["before"]).to_numpy()
    diffs = change[t_arr] - change[c_arr]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(diffs), size=(boots, len(diffs)))
    boot = diffs[draws].mean(axis=1)
    lower, upper = np.percentile(boot, [2.5, 97.5])
    return Matched(
        Estimate(
            "matched difference in differences",
            float(diffs.mean()),
            float(lower),
            float(upper),
            len(t_arr),
            len(set(c_arr.tolist())),
        ),
        balance(c, t_arr, c_arr),
        len(t_idx) - len(t_arr),
        float(change[c_arr].mean()),
    )


def people_needed(sd: float, difference: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """People in each group to detect ``difference`` in mean outcome with a two-sided test
    at ``alpha`` with ``power``: 2 (z₁₋α/₂ + z_power)² sd² / difference² (normal
    approximation; Kirkwood and Sterne, *Essential Medical Statistics*, 2003, §35.4)."""
    if difference == 0 or sd <= 0:
        raise ValueError("difference must not be 0 and sd must be above 0")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return math.ceil(2 * z**2 * sd**2 / difference**2)


@dataclass(frozen=True)
class Evaluation:
    pilot: Pilot
    naive: Estimate
    matched: Matched
    warnings: Sequence[str]


def evaluate(person_year: pd.DataFrame, pilot: Pilot, *, seed: int = 0) -> Evaluation:
    """Every design on one pilot, with the warnings a reader needs."""
    c = cohort(person_year, pilot)
    naive = before_and_after(c)
    matched = matched_difference_in_differences(c, seed=seed)
    warnings = []
    if pilot.selects_on_outcome:
        warnings.append(
            f"The cohort was chosen for {pilot.outcome.replace('_', ' ')} of at least "
            f"{pilot.min_before:g} in {pilot.before_year}: people chosen for high use use "
            "less the next year without any help (regression to the mean). The before and "
            f"after change ({naive.effect:+.2f}) includes it; the matched comparison "
            f"changed by {matched.comparison_change:+.2f} with no intervention. Use the "
            "matched difference in differences."
        )
    worst = float(matched.balance["after_matching"].abs().max())
    if worst >= 0.1:
        warnings.append(
            f"A covariate is still unbalanced after matching (standardised difference "
            f"{worst:.2f}): read the estimate with care."
        )
    if c.attrs.get("incomplete"):
        warnings.append(
            f"{c.attrs['incomplete']} eligible people were left out: a covariate was missing."
        )
    if matched.unmatched:
        warnings.append(f"{matched.unmatched} treated people had no match within the caliper.")
    return Evaluation(pilot, naive, matched, warnings)
