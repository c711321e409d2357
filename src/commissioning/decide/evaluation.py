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
* **Interrupted time series** (:func:`interrupted_time_series`): segmented regression of a
  monthly or quarterly series on time, a level change and a slope change at the start,
  with Newey-West standard errors for autocorrelation (Bernal, Cummins and Gasparrini,
  "Interrupted time series regression for the evaluation of public health
  interventions: a tutorial", *International Journal of Epidemiology* 46(1), 2017;
  Wagner, Soumerai, Zhang and Ross-Degnan, "Segmented regression analysis of
  interrupted time series studies in medication use research", *Journal of Clinical
  Pharmacy and Therapeutics* 27(4), 2002). Given a comparison series, the regression is
  of the difference between them (comparative ITS), which removes what both share:
  season, trend and, for a cohort chosen on its outcome, regression to the mean.
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

    # Age enters with its square too: need rises steeply with age, so a straight line
    # in age leaves the oldest and youngest matched unevenly.
    features = c[list(COVARIATES)].assign(age_squared=c["age_years"] ** 2)
    x = StandardScaler().fit_transform(features.to_numpy())
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
    treated_rows: tuple[int, ...] = ()
    control_rows: tuple[int, ...] = ()
    """The pairs, as rows of the cohort (a control appears once for each treated person
    it is matched to)."""


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
        tuple(int(i) for i in t_arr),
        tuple(int(i) for i in c_arr),
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
class Coefficient:
    """A regression coefficient with its Newey-West standard error and 95% interval
    (Student's t on n - 4 degrees of freedom)."""

    estimate: float
    se: float
    lower: float
    upper: float

    def covers(self, value: float) -> bool:
        return self.lower <= value <= self.upper


@dataclass(frozen=True)
class InterruptedSeries:
    """A segmented regression ``y = b0 + b1 t + b2 post + b3 (t - start) post + e``.

    ``baseline_level`` (b0) and ``baseline_trend`` (b1, per period) describe the series
    before the start; ``level_change`` (b2) is the step at the start and
    ``trend_change`` (b3) the change in slope after it; ``average_effect`` is the mean of
    b2 + b3 k over the periods after the start (k = 0, 1, ...): the mean difference the
    intervention made per period. ``fitted`` is the model's line, ``counterfactual`` the
    line before the start carried on (b0 + b1 t) over every period; with a comparison
    series both are of the difference (treated less comparison). ``lags`` is the number
    of autocorrelation lags in the standard errors.
    """

    baseline_level: Coefficient
    baseline_trend: Coefficient
    level_change: Coefficient
    trend_change: Coefficient
    average_effect: Coefficient
    fitted: np.ndarray
    counterfactual: np.ndarray
    lags: int
    periods_before: int
    periods_after: int
    controlled: bool


def newey_west_lags(n: int) -> int:
    """The automatic lag length floor(4 (n / 100)^(2/9)) (Newey and West, "Automatic lag
    selection in covariance matrix estimation", *Review of Economic Studies* 61(4), 1994)."""
    return math.floor(4 * (n / 100) ** (2 / 9))


def ols_newey_west(y: np.ndarray, x: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coefficients of ``y`` on the columns of ``x`` and their covariance
    by Newey and West ("A simple, positive semi-definite, heteroskedasticity and
    autocorrelation consistent covariance matrix", *Econometrica* 55(3), 1987):
    (X'X)⁻¹ S (X'X)⁻¹ with S = Σ e_t² x_t x_t' + Σ_l w_l Σ_t e_t e_{t-l} (x_t x_{t-l}' +
    x_{t-l} x_t') and Bartlett weights w_l = 1 - l / (lags + 1), times n / (n - k) for
    small samples. ``lags`` 0 gives White's heteroskedasticity-consistent covariance."""
    n, k = x.shape
    if n <= k:
        raise ValueError(f"{n} periods cannot fit {k} coefficients")
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    e = y - x @ beta
    xe = x * e[:, np.newaxis]
    s = xe.T @ xe
    for lag in range(1, min(lags, n - 1) + 1):
        gamma = xe[lag:].T @ xe[:-lag]
        s += (1 - lag / (lags + 1)) * (gamma + gamma.T)
    cov = xtx_inv @ s @ xtx_inv * n / (n - k)
    return beta, cov


def interrupted_time_series(
    series: Sequence[float] | np.ndarray,
    start: int,
    *,
    control: Sequence[float] | np.ndarray | None = None,
    lags: int | None = None,
) -> InterruptedSeries:
    """Segmented regression of an equally spaced ``series`` (monthly or quarterly) whose
    intervention begins at index ``start``, with Newey-West standard errors (``lags``:
    automatic when None). With ``control``, the series regressed is ``series - control``
    (comparative interrupted time series; Linden, "Conducting interrupted time-series
    analysis for single- and multiple-group comparisons", *Stata Journal* 15(2), 2015):
    its coefficients are the treated group's differences from the comparison's."""
    y = np.asarray(series, dtype=float)
    if control is not None:
        ctrl = np.asarray(control, dtype=float)
        if ctrl.shape != y.shape:
            raise ValueError("the comparison series must have one value for every period")
        y = y - ctrl
    n = len(y)
    if not 3 <= start <= n - 3:
        raise ValueError(
            "an interrupted time series needs at least 3 periods before the start and 3 after"
        )
    t = np.arange(n, dtype=float)
    post = (t >= start).astype(float)
    x = np.column_stack([np.ones(n), t, post, (t - start) * post])
    use = newey_west_lags(n) if lags is None else lags
    beta, cov = ols_newey_west(y, x, use)
    q = float(stats.t.ppf(0.975, n - 4))

    def coef(c: np.ndarray) -> Coefficient:
        est = float(c @ beta)
        se = float(math.sqrt(max(c @ cov @ c, 0.0)))
        return Coefficient(est, se, est - q * se, est + q * se)

    unit = np.eye(4)
    after = n - start
    average = np.array([0.0, 0.0, 1.0, (after - 1) / 2])  # mean of k over 0..after-1
    return InterruptedSeries(
        coef(unit[0]),
        coef(unit[1]),
        coef(unit[2]),
        coef(unit[3]),
        coef(average),
        x @ beta,
        beta[0] + beta[1] * t,
        use,
        start,
        after,
        control is not None,
    )


def _months(year: int) -> list[pd.Period]:
    return list(pd.period_range(f"{year}-04", f"{year + 1}-03", freq="M"))


def pilot_series(
    c: pd.DataFrame, matched: Matched, events: pd.DataFrame, pilot: Pilot
) -> pd.DataFrame:
    """Monthly events per person of the matched treated and of their matched comparison,
    over the year before and the year after (24 months from April of the year before).

    ``events`` has one row per event: ``person_id`` and ``start_date`` (the events the
    outcome counts, e.g. emergency admissions). A comparison person matched to several
    treated people counts once for each. Columns: ``month`` (a monthly period),
    ``treated``, ``comparison`` (mean events per person in the month), and
    ``treated_events``, ``comparison_events`` (the distinct events behind them)."""
    months = _months(pilot.before_year) + _months(pilot.after_year)
    ev = events.assign(month=pd.to_datetime(events["start_date"]).dt.to_period("M"))
    ev = ev[ev["month"].isin(months)]
    per_person = ev.groupby(["person_id", "month"]).size()

    def by_month(rows: tuple[int, ...], weighted: bool) -> np.ndarray:
        ids = c["person_id"].to_numpy()[list(rows)]
        uses = pd.Series(ids).value_counts()  # with replacement: weight by uses
        if not weighted:
            uses = uses.clip(upper=1)
        counts = per_person[per_person.index.get_level_values(0).isin(uses.index)]
        weights = uses.reindex(counts.index.get_level_values(0)).to_numpy()
        total = (counts * weights).groupby(level=1).sum().reindex(months, fill_value=0)
        return total.to_numpy(dtype=float)

    n_t, n_c = max(len(matched.treated_rows), 1), max(len(matched.control_rows), 1)
    return pd.DataFrame(
        {
            "month": months,
            "treated": by_month(matched.treated_rows, True) / n_t,
            "comparison": by_month(matched.control_rows, True) / n_c,
            "treated_events": by_month(matched.treated_rows, False).astype(int),
            "comparison_events": by_month(matched.control_rows, False).astype(int),
        }
    )


def plant_effect_with_events(
    person_year: pd.DataFrame,
    events: pd.DataFrame,
    pilot: Pilot,
    relative_effect: float,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """:func:`plant_effect` event by event, for a series by month: each event of a treated
    person in the year after (``events``: ``person_id``, ``start_date``) dropped with
    probability ``relative_effect``; the person-year outcome lowered by the events each
    person lost. Returns the person-year table, the events and the true effect on the
    treated (the mean change per treated person)."""
    if not 0.0 <= relative_effect <= 1.0:
        raise ValueError("relative_effect must be from 0 to 1")
    treated = cohort(person_year, pilot).query("treated")["person_id"]
    start = pd.to_datetime(events["start_date"])
    in_year = (start >= pd.Timestamp(pilot.after_year, 4, 1)) & (
        start < pd.Timestamp(pilot.after_year + 1, 4, 1)
    )
    exposed = (events["person_id"].isin(set(treated)) & in_year).to_numpy()
    drop = exposed & (np.random.default_rng(seed).random(len(events)) < relative_effect)
    lost = events.loc[drop, "person_id"].value_counts()
    out = person_year.copy()
    rows = (out["year"] == pilot.after_year) & out["person_id"].isin(lost.index)
    out.loc[rows, pilot.outcome] = (
        out.loc[rows, pilot.outcome].to_numpy()
        - lost.reindex(out.loc[rows, "person_id"]).to_numpy()
    )
    truth = -float(lost.reindex(treated, fill_value=0).sum()) / max(len(treated), 1)
    return out, events[~drop].reset_index(drop=True), truth


@dataclass(frozen=True)
class Evaluation:
    pilot: Pilot
    naive: Estimate
    matched: Matched
    warnings: Sequence[str]
    series: pd.DataFrame | None = None
    """The monthly series of :func:`pilot_series`, when events were given."""
    its: InterruptedSeries | None = None
    """The comparative interrupted time series of the matched groups' monthly series."""

    @property
    def its_estimate(self) -> Estimate | None:
        """The time series' average effect per month, times 12: a change per person a
        year, comparable with the other designs."""
        if self.its is None:
            return None
        a = self.its.average_effect
        m = self.matched.estimate
        return Estimate(
            "interrupted time series (matched comparison)",
            12 * a.estimate,
            12 * a.lower,
            12 * a.upper,
            m.treated,
            m.compared,
        )


def evaluate(
    person_year: pd.DataFrame,
    pilot: Pilot,
    *,
    seed: int = 0,
    events: pd.DataFrame | None = None,
) -> Evaluation:
    """Every design on one pilot, with the warnings a reader needs. With ``events`` (one
    row per event the outcome counts: ``person_id``, ``start_date``), also the
    interrupted time series of the matched groups by month."""
    c = cohort(person_year, pilot)
    naive = before_and_after(c)
    matched = matched_difference_in_differences(c, seed=seed)
    series = its = None
    if events is not None:
        series = pilot_series(c, matched, events, pilot)
        its = interrupted_time_series(
            series["treated"].to_numpy(), 12, control=series["comparison"].to_numpy()
        )
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
    return Evaluation(pilot, naive, matched, warnings, series, its)
