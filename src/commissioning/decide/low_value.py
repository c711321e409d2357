"""Decommissioning candidates from the data (C11): low-value procedures on the
Evidence-Based Interventions list, and unwarranted variation against similar places.

**Low-value procedures.** Each hospital procedure whose main OPCS-4 code begins with a
code of the shipped list (``data/ebi_procedures.csv``, see its README for the source and
what it leaves out), with a primary diagnosis beginning with one of the row's ICD-10
prefixes where it names any, counts against that intervention. The money released is
the cost of the procedures above a benchmark:

* interventions that should not be routinely commissioned (``category`` ``not_routine``,
  list 1 category 1): every procedure, benchmark zero;
* interventions offered only when criteria are met (``criteria``): the procedures above
  the lowest quartile of practices. Each practice's count is indirectly standardised by
  age and sex (expected = the practice's people in each age band and sex times the rate
  of all practices there; Breslow and Day, *Statistical Methods in Cancer Research* vol.
  II, IARC, 1987, ch. 2); the benchmark ratio is the 25th percentile of the practices'
  observed-to-expected ratios, among practices expecting at least five procedures (none:
  no benchmark, and no money claimed); a
  practice's excess is its observed count less expected times the benchmark ratio, where
  positive. The money is the excess times the mean cost of the home practices' procedures.

This follows the NHS England and Academy of Medical Royal Colleges programme's own aim
(bringing activity down to what the criteria allow) and the RightCare practice of
benchmarking against the better quartile; the procedures above the benchmark are an
upper bound of what is avoidable, not a finding that each was inappropriate.

**Unwarranted variation.** Benchmarking's opportunity table
(:func:`commissioning.benchmarking.compare.opportunity`) gives, per indicator, the events
and pounds the home place would save at its peers' mean: each positive saving becomes a
disinvestment candidate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from commissioning.decide.pbma import Candidate

BENCHMARK_QUANTILE = 0.25
#: A practice must expect at least this many procedures to help set the benchmark: below
#: it, a ratio of 0 is often chance (no procedure where 2 were expected happens 14% of
#: the time), and the lowest quartile would fall to zero.
MIN_EXPECTED = 5.0
RULES = {
    "not_routine": "to zero: not to be routinely commissioned",
    "criteria": "to the lowest quartile of practices' age-sex standardised rates",
}


def ebi_list_path() -> Path:
    return Path(str(resources.files("commissioning.decide").joinpath("data/ebi_procedures.csv")))


def read_ebi_list(path: Path | None = None) -> pd.DataFrame:
    """The list: one row per intervention and OPCS-4 prefix (columns of the README)."""
    frame = pd.read_csv(path or ebi_list_path(), dtype=str, keep_default_na=False)
    unknown = set(frame["category"]) - set(RULES)
    if unknown:
        raise ValueError(f"ebi_procedures.csv: category must be one of {sorted(RULES)}: {unknown}")
    return frame


def _code(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.replace(".", "", regex=False).str.upper()


def match_ebi(activity: pd.DataFrame, ebi: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``activity`` (``procedure_code``, ``primary_diagnosis`` and any other
    columns) that are on the list, each with its ``intervention`` and ``category`` (the
    first matching row of the list, in its order)."""
    proc, dx = _code(activity["procedure_code"]), _code(activity["primary_diagnosis"])
    intervention = pd.Series(pd.NA, index=activity.index, dtype="object")
    category = pd.Series(pd.NA, index=activity.index, dtype="object")
    for row in ebi.itertuples(index=False):
        hit = proc.str.startswith(str(row.opcs4_prefix))
        prefixes = tuple(str(row.diagnosis_icd10_prefix).split())
        if prefixes:
            hit &= dx.str.startswith(prefixes)
        excluded = tuple(str(getattr(row, "diagnosis_icd10_exclude", "") or "").split())
        if excluded:
            hit &= ~dx.str.startswith(excluded)
        hit &= intervention.isna()
        intervention[hit] = row.intervention
        category[hit] = row.category
    out = activity.assign(intervention=intervention, category=category)
    return out[out["intervention"].notna()].reset_index(drop=True)


def practice_ratios(procedures: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Observed and expected procedures of one intervention by practice.

    ``procedures``: one row per procedure with ``practice_code``, ``age_band``, ``sex``;
    ``population``: ``practice_code``, ``age_band``, ``sex``, ``people``. Expected: the
    practice's people in each stratum times the rate of all practices in it. Columns:
    ``practice_code``, ``people``, ``observed``, ``expected``, ``ratio``."""
    strata = ["age_band", "sex"]
    observed_by_stratum = procedures.groupby(strata).size().rename("events").reset_index()
    rates = (
        population.groupby(strata)["people"]
        .sum()
        .reset_index()
        .merge(observed_by_stratum, on=strata, how="left")
    )
    rates["rate"] = rates["events"].fillna(0) / rates["people"]
    pop = population.merge(rates[[*strata, "rate"]], on=strata)
    pop["expected"] = pop["people"] * pop["rate"]
    out = pop.groupby("practice_code").agg(people=("people", "sum"), expected=("expected", "sum"))
    out["observed"] = procedures.groupby("practice_code").size().reindex(out.index, fill_value=0)
    out["ratio"] = np.where(out["expected"] > 0, out["observed"] / out["expected"], np.nan)
    return out.reset_index()[["practice_code", "people", "observed", "expected", "ratio"]]


def low_value_summary(
    procedures: pd.DataFrame,
    population: pd.DataFrame,
    home_practices: Sequence[str] | None = None,
    years: int = 1,
) -> pd.DataFrame:
    """One row per intervention found: the home practices' procedures and their cost, the
    benchmark and the money released by bringing them down to it.

    ``procedures``: :func:`match_ebi`'s rows with ``practice_code``, ``age_band``,
    ``sex``, ``cost_gbp``, over ``years`` years; ``population`` as for
    :func:`practice_ratios` (person-years over the same years). Rates and the
    benchmark use every practice; the counts and money are those of ``home_practices``
    (all when None), priced at their mean cost (so an item not to be routinely
    commissioned releases its whole cost). Columns: ``intervention``, ``category``,
    ``rule``, ``years``, ``procedures`` and ``cost_gbp`` (over the years),
    ``mean_cost_gbp``, ``benchmark_ratio`` (NaN for zero, or none to be had),
    ``procedures_above_benchmark`` and ``released_gbp`` (a year)."""
    rows = []
    for (name, category), group in procedures.groupby(["intervention", "category"], sort=True):
        ratios = practice_ratios(group, population)
        home = (
            ratios
            if home_practices is None
            else ratios[ratios["practice_code"].isin(list(home_practices))]
        )
        home_procs = (
            group
            if home_practices is None
            else group[group["practice_code"].isin(list(home_practices))]
        )
        costs = (home_procs if len(home_procs) else group)["cost_gbp"].astype(float)
        mean_cost = float(costs.mean())
        if category == "not_routine":
            bench = float("nan")
            above = float(home["observed"].sum())
        else:
            setting = ratios[ratios["expected"] >= MIN_EXPECTED]["ratio"]
            bench = float(setting.quantile(BENCHMARK_QUANTILE)) if len(setting) else float("nan")
            excess = home["observed"] - home["expected"] * (0.0 if np.isnan(bench) else bench)
            above = float(excess.clip(lower=0).sum()) if not np.isnan(bench) else 0.0
        rows.append(
            {
                "intervention": name,
                "category": category,
                "rule": RULES[str(category)],
                "years": years,
                "procedures": len(home_procs),
                "cost_gbp": float(home_procs["cost_gbp"].astype(float).sum()),
                "mean_cost_gbp": mean_cost,
                "benchmark_ratio": bench,
                "procedures_above_benchmark": above / years,
                "released_gbp": above * mean_cost / years,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "intervention",
            "category",
            "rule",
            "years",
            "procedures",
            "cost_gbp",
            "mean_cost_gbp",
            "benchmark_ratio",
            "procedures_above_benchmark",
            "released_gbp",
        ],
    )


#: Columns of :func:`low_value_summary` hidden with a small count of procedures.
HIDDEN_WITH_COUNT = ("cost_gbp", "mean_cost_gbp", "procedures_above_benchmark", "released_gbp")


def hide_small(summary: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Interventions with 1 to ``threshold`` - 1 procedures: the count and every figure
    from it hidden (NaN); they make no candidate."""
    out = summary.copy()
    small = (out["procedures"] > 0) & (out["procedures"] < threshold)
    out["procedures"] = out["procedures"].astype(float)
    for c in ("procedures", *HIDDEN_WITH_COUNT):
        out.loc[small, c] = float("nan")
    return out


def by_provider(procedures: pd.DataFrame) -> pd.DataFrame:
    """Procedures and their cost per intervention and provider (``provider_code``)."""
    return (
        procedures.assign(cost_gbp=procedures["cost_gbp"].astype(float))
        .groupby(["intervention", "provider_code"], sort=True)
        .agg(procedures=("cost_gbp", "size"), cost_gbp=("cost_gbp", "sum"))
        .reset_index()
    )


def by_practice(procedures: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """:func:`practice_ratios` of every intervention, one table (``intervention`` first)."""
    parts = [
        practice_ratios(group, population).assign(intervention=name)
        for name, group in procedures.groupby("intervention", sort=True)
    ]
    columns = ["intervention", "practice_code", "people", "observed", "expected", "ratio"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def low_value_candidates(
    summary: pd.DataFrame, scores: Mapping[str, Mapping[str, float]] | None = None
) -> list[Candidate]:
    """A disinvestment candidate for each intervention that releases money: cost = minus
    the money released a year. ``scores`` (by candidate id) are the panel's; a candidate
    not yet scored has none."""
    out = []
    for r in summary.to_dict("records"):
        released = float(r["released_gbp"])
        if not released > 0:
            continue
        cid = f"ebi-{_slug(str(r['intervention']))}"
        out.append(
            Candidate(
                cid,
                f"Reduce {r['intervention']} {str(r['rule']).split(':')[0]}",
                -released,
                dict((scores or {}).get(cid, {})),
                source="Evidence-Based Interventions list",
            )
        )
    return out


def variation_candidates(
    opportunities: pd.DataFrame,
    titles: Mapping[str, str] | None = None,
    benchmark: str = "Mean of all peers",
    scores: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Candidate]:
    """A disinvestment candidate for each indicator whose home place would spend less at
    ``benchmark`` (a row label of the opportunity table: "Mean of all peers", or "Mean of
    the best 5 peers"): cost = minus the pounds a year (``opportunity_gbp``)."""
    out = []
    rows = opportunities[opportunities["benchmark"].astype(str).str.startswith(benchmark)]
    for r in rows.to_dict("records"):
        gbp = float(r["opportunity_gbp"])
        if not gbp > 0:
            continue
        ind = str(r["indicator_id"])
        title = (titles or {}).get(ind, ind.replace("_", " "))
        if len(title) > 1 and title[1].islower():  # "Emergency admissions", not "GP ..."
            title = title[0].lower() + title[1:]
        cid = f"variation-{_slug(ind)}"
        out.append(
            Candidate(
                cid,
                f"Bring {title} to the {benchmark.lower()}",
                -gbp,
                dict((scores or {}).get(cid, {})),
                source="Unwarranted variation against similar places",
            )
        )
    return out
