"""Calibration: national figures the synthetic population must reproduce.

Each target states its value, its tolerance and its source (details and links
in ``docs/synthetic.md``).  :func:`measure` computes the same figure from the
canonical tables through the portable queries, so the check runs on the files
just written, or on any store.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from commissioning.core.schema import condition_rows
from commissioning.data import queries as q

Tolerance = Literal["points", "relative", "range"]


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    value: float
    tolerance: float | tuple[float, float]
    kind: Tolerance
    unit: str
    source: str
    #: A figure that needs the twelve months before (``"first"``) or after (``"last"``)
    #: each year cannot be measured in that year of the data on its own.
    not_in_year: Literal["", "first", "last"] = ""

    def bounds(self) -> tuple[float, float]:
        if self.kind == "range":
            lo, hi = self.tolerance  # type: ignore[misc]
            return float(lo), float(hi)
        tol = float(self.tolerance)  # type: ignore[arg-type]
        if self.kind == "points":
            return self.value - tol, self.value + tol
        return self.value * (1 - tol), self.value * (1 + tol)

    def met(self, measured: float) -> bool:
        lo, hi = self.bounds()
        return bool(np.isfinite(measured)) and lo <= measured <= hi

    def tolerance_text(self) -> str:
        if self.kind == "range":
            lo, hi = self.bounds()
            return f"{lo:g} to {hi:g}"
        if self.kind == "points":
            unit = "point" if self.tolerance == 1 else "points"
            return f"±{self.tolerance:g} {unit}"
        return f"±{float(self.tolerance) * 100:g}%"  # type: ignore[arg-type]


ONS = "ONS mid-2021 population estimates, England"
HES = "NHS Digital, Hospital Episode Statistics 2021-22"
COSTS = "NHS England, National Cost Collection 2021/22"


def _targets() -> tuple[Target, ...]:
    t = [
        Target("aged_0_15", "People aged 0 to 15", 18.5, 1.5, "points", "%", ONS),
        Target("aged_65_plus", "People aged 65 and over", 18.5, 1.5, "points", "%", ONS),
        Target("aged_85_plus", "People aged 85 and over", 2.4, 0.5, "points", "%", ONS),
        Target("male", "Male", 49.0, 1.0, "points", "%", ONS),
        Target(
            "deaths_per_1000",
            "Deaths per 1,000 a year",
            9.5,
            1.5,
            "points",
            "per 1,000",
            "ONS deaths registered in England 2019 (crude rate)",
        ),
        Target(
            "deaths_in_hospital",
            "Deaths in hospital",
            45.0,
            7.0,
            "points",
            "% of deaths",
            "OHID Palliative and End of Life Care Profiles, place of death 2019",
        ),
        Target(
            "deaths_in_care_home",
            "Deaths in a care home",
            21.8,
            5.0,
            "points",
            "% of deaths",
            "PHE End of Life Care Profiles, February 2018 update: place of death 2016",
        ),
        Target(
            "deaths_at_home",
            "Deaths at home",
            23.5,
            5.0,
            "points",
            "% of deaths",
            "PHE End of Life Care Profiles, February 2018 update: place of death 2016",
        ),
        Target(
            "care_home_residents_65_plus",
            "Living in a care home, aged 65+",
            2.5,
            (1.8, 3.5),
            "range",
            "% of people aged 65+",
            "ONS, Older people living in care homes in 2021 and changes since 2011 "
            "(Census: 2.5% in 2021, 3.2% in 2011)",
        ),
        Target(
            "falls_65_plus",
            "Emergency admissions for injuries due to falls, aged 65+",
            1_933,
            0.25,
            "relative",
            "per 100,000 a year",
            "OHID Public Health Outcomes Framework C29 (22401), England 2022/23 "
            "(directly standardised)",
        ),
        Target(
            "last_year_of_life_hospital_cost",
            "Hospital spend in the last year of life, per person who died",
            14_700,
            0.30,
            "relative",
            "£ per death",
            "Nuffield Trust and Health Economics Unit for Marie Curie (2025): £9.6bn of "
            "hospital care for the 652,000 adults who died in the UK in 2022",
            not_in_year="first",
        ),
        Target(
            "emergency_admissions_last_year_of_life",
            "Emergency admissions of people in their last year of life",
            15.0,
            7.0,
            "points",
            "% of emergency admissions",
            "Georghiou T, Nuffield Trust (2014): about 15% of emergency admissions belong to "
            "the 1% of people in their final year of life",
            not_in_year="last",
        ),
    ]
    for row in condition_rows():
        if row["tolerance_relative"]:
            age = int(row["denominator_min_age"])
            ages = f" ({age}+)" if age else ""
            t.append(
                Target(
                    f"prevalence_{row['condition_code']}",
                    f"{row['condition_name']}{ages}",
                    float(row["calibration_prevalence"]) * 100,
                    float(row["tolerance_relative"]),
                    "relative",
                    "% recorded prevalence",
                    row["source"],
                )
            )
    t += [
        Target(
            "multimorbidity_65_plus",
            "Two or more of the conditions above, aged 65+",
            50.0,
            10.0,
            "points",
            "%",
            "Barnett et al. (2012), Lancet 380:37-43",
        ),
        Target(
            "gp_appointment",
            "GP appointments",
            5500,
            0.20,
            "relative",
            "per 1,000 a year",
            "NHS Digital, Appointments in General Practice 2022-23",
        ),
        Target(
            "outpatient",
            "Outpatient attendances (first and follow-up)",
            1800,
            0.20,
            "relative",
            "per 1,000 a year",
            HES + ", outpatients",
        ),
        Target(
            "ae_attendance",
            "A&E attendances",
            420,
            0.20,
            "relative",
            "per 1,000 a year",
            "NHS Digital, Hospital Accident and Emergency Activity 2021-22",
        ),
        Target(
            "emergency_admission",
            "Emergency admissions",
            110,
            0.15,
            "relative",
            "per 1,000 a year",
            HES + ", admitted patient care",
        ),
        Target(
            "elective_admission",
            "Elective and day-case admissions",
            140,
            0.20,
            "relative",
            "per 1,000 a year",
            HES + ", admitted patient care",
        ),
        Target(
            "community_contact",
            "Community health contacts",
            1500,
            0.30,
            "relative",
            "per 1,000 a year",
            "NHS Digital, Community Services Data Set 2021-22",
        ),
        Target(
            "readmission_30d",
            "Emergency readmission within 30 days",
            14.0,
            4.0,
            "points",
            "% of emergency admissions",
            "NHS Digital, Compendium: emergency readmissions",
        ),
        Target(
            "emergency_85_vs_20_39",
            "Emergency admissions, 85+ against 20-39",
            10.0,
            (6.0, 16.0),
            "range",
            "rate ratio",
            HES + " (roughly ten times)",
        ),
        Target(
            "emergency_deprivation_ratio",
            "Emergency admissions, most against least deprived decile",
            1.75,
            (1.4, 2.2),
            "range",
            "rate ratio",
            "Nuffield Trust QualityWatch, emergency admissions by deprivation",
        ),
        Target(
            "cost_emergency_admission",
            "Emergency admission, mean cost",
            2200,
            0.25,
            "relative",
            "£",
            COSTS,
        ),
        Target(
            "cost_elective_inpatient",
            "Elective inpatient, mean cost",
            4000,
            0.25,
            "relative",
            "£",
            COSTS,
        ),
        Target("cost_day_case", "Day case, mean cost", 900, 0.25, "relative", "£", COSTS),
        Target(
            "cost_outpatient", "Outpatient attendance, mean cost", 150, 0.25, "relative", "£", COSTS
        ),
        Target(
            "cost_ae_attendance", "A&E attendance, mean cost", 190, 0.25, "relative", "£", COSTS
        ),
        Target(
            "cost_gp_appointment",
            "GP appointment, mean cost",
            40,
            0.25,
            "relative",
            "£",
            "PSSRU, Unit Costs of Health and Social Care 2022",
        ),
        Target(
            "cost_residential_week",
            "Residential care, per week",
            800,
            0.25,
            "relative",
            "£",
            "NHS Digital, Adult Social Care Activity and Finance 2021-22",
        ),
        Target(
            "cost_home_care_hour",
            "Home care, per hour",
            22,
            0.25,
            "relative",
            "£",
            "NHS Digital, Adult Social Care Activity and Finance 2021-22",
        ),
        Target(
            "spend_per_head",
            "Health and social care spend per head (settings modelled)",
            1950,
            (1600.0, 2300.0),
            "range",
            "£ a year",
            "NHS England allocations and ASC-FR, per head, order of magnitude",
        ),
        Target(
            "top_5_share",
            "Share of spend used by the costliest 5%",
            50.0,
            (45.0, 55.0),
            "range",
            "%",
            "Wammes et al. (2018), BMJ Open 8:e023113 (high-cost users)",
        ),
        Target(
            "top_1_share",
            "Share of spend used by the costliest 1%",
            23.0,
            (18.0, 28.0),
            "range",
            "%",
            "Wammes et al. (2018), BMJ Open 8:e023113 (high-cost users)",
        ),
        Target(
            "proms_hip_gain",
            "Hip replacement, mean EQ-5D index gain",
            0.44,
            0.05,
            "points",
            "index",
            "NHS Digital, PROMs in England 2020-21",
        ),
        Target(
            "proms_knee_gain",
            "Knee replacement, mean EQ-5D index gain",
            0.30,
            0.04,
            "points",
            "index",
            "NHS Digital, PROMs in England 2020-21",
        ),
    ]
    return tuple(t)


TARGETS: tuple[Target, ...] = _targets()
CALIBRATION_CONDITIONS = tuple(
    r["condition_code"] for r in condition_rows() if r["tolerance_relative"]
)


def _one(expr: object) -> dict[str, float]:
    df = expr.execute()  # type: ignore[attr-defined]
    return {k: float("nan") if v is None else float(v) for k, v in df.iloc[0].items()}


def measure(tables: q.Tables, years: Sequence[int]) -> dict[str, float]:
    """Every calibration figure, measured from canonical tables over ``years``."""
    out: dict[str, float] = {}
    pop = _one(q.population_summary(tables, years))
    n = pop["person_years"]
    for key in ("aged_0_15", "aged_65_plus", "aged_85_plus", "male"):
        out[key] = 100 * pop[key] / n
    deaths = _one(q.deaths_summary(tables, years))
    out["deaths_per_1000"] = 1000 * deaths["deaths"] / n
    out["deaths_in_hospital"] = 100 * deaths["deaths_in_hospital"] / max(deaths["deaths"], 1)
    out["deaths_in_care_home"] = 100 * deaths["deaths_in_care_home"] / max(deaths["deaths"], 1)
    out["deaths_at_home"] = 100 * deaths["deaths_at_home"] / max(deaths["deaths"], 1)
    falls = _one(q.falls_admissions_65_plus(tables, years))
    out["falls_65_plus"] = 100_000 * falls["admissions"] / max(falls["person_years"], 1)
    eol = _one(q.last_year_of_life(tables, years))
    out["last_year_of_life_hospital_cost"] = (
        eol["hospital_cost_gbp"] / eol["decedents"] if eol["decedents"] else float("nan")
    )
    last = _one(q.emergency_admissions_in_last_year_of_life(tables, years))
    out["emergency_admissions_last_year_of_life"] = (
        100 * last["in_last_year"] / last["admissions"] if last["admissions"] else float("nan")
    )
    homes = _one(q.care_home_residents_65_plus(tables, years))
    out["care_home_residents_65_plus"] = 100 * homes["residents"] / max(homes["people_65_plus"], 1)

    min_ages = {int(r["denominator_min_age"]) for r in condition_rows()}
    for age in sorted(min_ages):
        df = q.prevalence(tables, years, min_age=age).execute()
        for row in condition_rows():
            if int(row["denominator_min_age"]) != age:
                continue
            hit = df[df.condition_code == row["condition_code"]]
            people = float(hit.people.iloc[0]) if len(hit) else 0.0
            den = float(df.person_years.iloc[0]) if len(df) else float("nan")
            out[f"prevalence_{row['condition_code']}"] = 100 * people / den
    mm = _one(q.multimorbidity_65_plus(tables, years, CALIBRATION_CONDITIONS))
    out["multimorbidity_65_plus"] = 100 * mm["two_or_more"] / mm["person_years"]

    pod = q.activity_by_point_of_delivery(tables, years).execute().set_index("point_of_delivery")

    def events(*pods: str) -> float:
        return float(sum(pod.events.get(p, 0) for p in pods))

    def cost(*pods: str) -> float:
        return float(sum(float(pod.cost_gbp.get(p, 0)) for p in pods))

    out["gp_appointment"] = 1000 * events("gp_appointment") / n
    out["outpatient"] = 1000 * events("outpatient_first", "outpatient_follow_up") / n
    out["ae_attendance"] = 1000 * events("ae_attendance") / n
    out["emergency_admission"] = 1000 * events("emergency_admission") / n
    out["elective_admission"] = 1000 * events("elective_inpatient", "day_case") / n
    out["community_contact"] = 1000 * events("community_contact") / n
    for key, pods in {
        "cost_emergency_admission": ("emergency_admission",),
        "cost_elective_inpatient": ("elective_inpatient",),
        "cost_day_case": ("day_case",),
        "cost_outpatient": ("outpatient_first", "outpatient_follow_up"),
        "cost_ae_attendance": ("ae_attendance",),
        "cost_gp_appointment": ("gp_appointment",),
    }.items():
        out[key] = cost(*pods) / max(events(*pods), 1)
    units = pod.units
    out["cost_residential_week"] = cost("residential_care") / max(
        float(units.get("residential_care", 0)), 1e-9
    )
    out["cost_home_care_hour"] = cost("home_care") / max(float(units.get("home_care", 0)), 1e-9)

    re = _one(q.emergency_readmissions(tables, years))
    out["readmission_30d"] = 100 * re["readmitted"] / max(re["index_admissions"], 1)

    grad = q.emergency_admission_gradients(tables, years).execute()

    def rate(mask: object) -> float:
        g = grad[mask]
        return float(g.admissions.sum()) / max(float(g.person_years.sum()), 1)

    young = rate(grad.age_group == "20-39")
    out["emergency_85_vs_20_39"] = rate(grad.age_group == "85+") / young if young else np.nan
    least = rate(grad.imd_decile == 10)
    out["emergency_deprivation_ratio"] = rate(grad.imd_decile == 1) / least if least else np.nan

    conc = _one(q.cost_concentration(tables, years))
    out["spend_per_head"] = conc["total_gbp"] / conc["person_years"]
    out["top_5_share"] = 100 * conc["top_5_gbp"] / conc["total_gbp"]
    out["top_1_share"] = 100 * conc["top_1_gbp"] / conc["total_gbp"]

    proms = q.proms_gain(tables).execute().set_index("procedure")
    out["proms_hip_gain"] = float(proms.mean_gain.get("hip_replacement", np.nan))
    out["proms_knee_gain"] = float(proms.mean_gain.get("knee_replacement", np.nan))
    return out


@dataclass(frozen=True)
class CalibrationRow:
    target: Target
    measured: float

    @property
    def met(self) -> bool:
        return self.target.met(self.measured)


def measure_each_year(tables: q.Tables, years: Sequence[int]) -> dict[int, dict[str, float]]:
    """Every calibration figure, measured in each year on its own: a population must be
    in a steady state, not meet its targets only when the years are pooled."""
    return {year: measure(tables, [year]) for year in years}


#: Year-to-year steadiness: the most a figure may change from one year to the next apart
#: from demographic change (a share of its value), and the figures it applies to.
STEADY_FIGURES: dict[str, float] = {
    "spend_per_head": 0.05,
    "emergency_admission": 0.06,
    "care_home_residents_65_plus": 0.20,
    "cost_residential_week": 0.05,
}


def unsteady(by_year: dict[int, dict[str, float]]) -> list[str]:
    """The figures of ``STEADY_FIGURES`` that change between consecutive years by more
    than their allowance, each as a sentence."""
    found = []
    years = sorted(by_year)
    for key, allowance in STEADY_FIGURES.items():
        for before, after in itertools.pairwise(years):
            a, b = by_year[before][key], by_year[after][key]
            if not (np.isfinite(a) and np.isfinite(b)) or abs(b - a) > allowance * abs(a):
                found.append(
                    f"{key}: {a:.4g} in {before} and {b:.4g} in {after} "
                    f"(allowed change {allowance:.0%})"
                )
    return found


def compare(
    measured: dict[str, float], year: Literal["", "first", "last"] = ""
) -> list[CalibrationRow]:
    """Each target beside its measured value; in the first or last year of the data, the
    targets that cannot be measured there are left out."""
    return [
        CalibrationRow(t, measured.get(t.key, float("nan")))
        for t in TARGETS
        if not (year and t.not_in_year == year)
    ]


def compare_each_year(by_year: dict[int, dict[str, float]]) -> dict[int, list[CalibrationRow]]:
    """:func:`compare` for every year of :func:`measure_each_year`."""
    years = sorted(by_year)
    return {
        y: compare(by_year[y], "first" if y == years[0] else "last" if y == years[-1] else "")
        for y in years
    }
