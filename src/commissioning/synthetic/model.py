"""The generator's model of people: conditions, need and mortality, fitted once.

A person carries a lasting need (``persistent``) and, for each long-term
condition, a logistic liability.  A condition is present from the age at which
``intercept + slope * age + effects`` first exceeds the liability, so conditions
never go away and every one has a diagnosis date.  Yearly need adds a transient
AR(1) part, the conditions present and deprivation.

Intercepts are fitted to national targets on a fixed reference population (the
ONS age structure, every deprivation decile equally): condition intercepts by
bisection to QOF prevalence, activity intercepts in closed form to the yearly
rates in :data:`parameters.ACTIVITY_MODEL`, and the mortality scale to the crude
death rate.  The reference population uses its own seed, so the model is the
same whatever seed a user picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from commissioning.core.schema import condition_rows
from commissioning.synthetic import parameters as P

FloatArray = npt.NDArray[np.float64]
REFERENCE_SEED = 7_160_601
REFERENCE_SIZE = 120_000
CRUDE_DEATHS_PER_1000 = 9.5


@dataclass(frozen=True)
class ConditionModel:
    """Vectors over the condition list (order of ``conditions.csv``)."""

    codes: tuple[str, ...]
    representative_icd10: tuple[str, ...]
    intercept: FloatArray
    age_slope: FloatArray
    min_onset_age: FloatArray
    onset_span_years: FloatArray
    deprivation_effect: FloatArray
    need_loading: FloatArray
    male_effect: FloatArray
    need_weight: FloatArray
    target: FloatArray
    denominator_min_age: FloatArray

    def index(self, code: str) -> int:
        return self.codes.index(code)


@dataclass(frozen=True)
class FittedModel:
    conditions: ConditionModel
    activity_intercept: dict[str, float]
    joint_intercept: dict[str, float]
    death_scale: float
    need_centre: float


def age_band_index(age_years: FloatArray) -> npt.NDArray[np.intp]:
    """Index into :data:`parameters.AGE_BANDS_FOR_RATES` for each age."""
    bounds = np.asarray(P.AGE_BANDS_FOR_RATES[1:], dtype=float)
    return np.searchsorted(bounds, age_years, side="right")


def deprivation_z(imd_decile: npt.NDArray[np.integer]) -> FloatArray:
    """Deprivation on a -1 (least deprived) to +1 (most deprived) scale."""
    return (5.5 - imd_decile.astype(float)) / 4.5


def onset_age(
    cm: ConditionModel,
    liability: npt.NDArray[np.float32],
    early: npt.NDArray[np.float32],
    dep_z: FloatArray,
    persistent: FloatArray,
    male: npt.NDArray[np.bool_],
    intercept: FloatArray | None = None,
) -> npt.NDArray[np.float32]:
    """Age (years) at which each person gets each condition; ``inf`` for never.

    ``liability`` is standard logistic, ``early`` uniform on [0, 1) (where in the
    earliest onset span a person falls), both people x conditions.
    """
    a = cm.intercept if intercept is None else intercept
    lin = (
        a[None, :]
        + cm.deprivation_effect[None, :] * dep_z[:, None]
        + cm.need_loading[None, :] * persistent[:, None]
        + cm.male_effect[None, :] * male[:, None]
    ).astype(np.float32)
    slope = cm.age_slope.astype(np.float32)[None, :]
    earliest = (cm.min_onset_age[None, :] + early * cm.onset_span_years[None, :]).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        sloped = (liability - lin) / np.where(slope > 0, slope, np.float32(1))
    age = np.where(
        slope > 0, np.maximum(sloped, earliest), np.where(liability < lin, earliest, np.inf)
    )
    return age.astype(np.float32)


def _condition_model() -> ConditionModel:
    rows = condition_rows()

    def col(name: str) -> FloatArray:
        return np.array([float(r[name] or 0) for r in rows])

    return ConditionModel(
        codes=tuple(r["condition_code"] for r in rows),
        representative_icd10=tuple(r["icd10_representative"] for r in rows),
        intercept=np.zeros(len(rows)),
        age_slope=col("age_slope"),
        min_onset_age=col("min_onset_age"),
        onset_span_years=col("onset_span_years"),
        deprivation_effect=col("deprivation_effect"),
        need_loading=col("need_loading"),
        male_effect=col("male_effect"),
        need_weight=col("need_weight"),
        target=col("calibration_prevalence")
        * np.array([P.ONSET_TARGET_ADJUSTMENT.get(r["condition_code"], 1.0) for r in rows]),
        denominator_min_age=col("denominator_min_age"),
    )


def national_age_weights() -> FloatArray:
    """Share of people at each single year of age 0..100 (ONS mid-2021, England)."""
    w = np.zeros(101)
    for lo, hi, pct in P.AGE_BAND_SHARES:
        w[lo : hi + 1] = pct / (hi - lo + 1)
    w[90:] = w[90:] * np.linspace(2.2, 0.1, 11)  # fewer at 100 than at 90
    return w / w.sum()


@dataclass(frozen=True)
class Reference:
    age: FloatArray
    male: npt.NDArray[np.bool_]
    dep_z: FloatArray
    persistent: FloatArray
    transient: FloatArray
    liability: npt.NDArray[np.float32]
    early: npt.NDArray[np.float32]


def _reference(n_conditions: int) -> Reference:
    rng = np.random.default_rng(REFERENCE_SEED)
    n = REFERENCE_SIZE
    age = rng.choice(101, size=n, p=national_age_weights()) + rng.random(n)
    return Reference(
        age=age,
        male=rng.random(n) < P.MALE_SHARE,
        dep_z=deprivation_z(rng.integers(1, 11, size=n)),
        persistent=rng.standard_normal(n),
        transient=rng.standard_normal(n) * P.NEED_TRANSIENT_SD,
        liability=rng.logistic(size=(n, n_conditions)).astype(np.float32),
        early=rng.random((n, n_conditions), dtype=np.float32),
    )


def raw_need(
    persistent: FloatArray,
    transient: FloatArray,
    has_weighted: FloatArray,
    dep_z: FloatArray,
) -> FloatArray:
    """Yearly need before centring (log scale)."""
    return (
        P.NEED_PERSISTENT_SD * persistent
        + transient
        + has_weighted
        + P.NEED_DEPRIVATION_PER_DECILE * 4.5 * dep_z
    )


def activity_log_rate(
    kind: str, age: FloatArray, male: npt.NDArray[np.bool_], need: FloatArray
) -> FloatArray:
    """Log yearly rate of an activity kind, before its intercept and any style."""
    spec = P.ACTIVITY_MODEL[kind]
    age_mult = np.log(np.asarray(spec["age"], dtype=float))[age_band_index(age)]
    female = np.where(male, 0.0, np.log(float(spec["female"])))
    return age_mult + female + float(spec["need"]) * need


def gompertz(age: FloatArray, male: npt.NDArray[np.bool_]) -> FloatArray:
    """Yearly probability of death by age and sex before need and scaling: a Gompertz law,
    higher for men, with the young-adult hump of external causes."""
    q = np.exp(P.GOMPERTZ_LOG_INTERCEPT + P.GOMPERTZ_SLOPE_PER_YEAR * age)
    q = q * np.where(male, P.MALE_DEATH_RATIO, 1.0)
    hump = np.where((age >= 15) & (age < 45), P.YOUNG_ADULT_EXCESS_DEATHS, 0.0)
    q = q + hump * np.where(male, 2.0, 1.0)
    return np.where(age < 1, P.INFANT_MORTALITY, q)


@cache
def fitted_model() -> FittedModel:
    """Fit intercepts on the reference population (cached: same every call)."""
    cm = _condition_model()
    ref = _reference(len(cm.codes))
    intercepts = np.zeros(len(cm.codes))
    for c in range(len(cm.codes)):
        denom = ref.age >= cm.denominator_min_age[c]
        lo, hi = -25.0, 15.0
        for _ in range(45):
            mid = (lo + hi) / 2
            trial = intercepts.copy()
            trial[c] = mid
            onset = onset_age(
                _slice(cm, c),
                ref.liability[:, c : c + 1],
                ref.early[:, c : c + 1],
                ref.dep_z,
                ref.persistent,
                ref.male,
                intercept=trial[c : c + 1],
            )[:, 0]
            prevalence = float(np.mean(onset[denom] <= ref.age[denom]))
            if prevalence < cm.target[c]:
                lo = mid
            else:
                hi = mid
        intercepts[c] = (lo + hi) / 2
    cm = ConditionModel(**{**cm.__dict__, "intercept": intercepts})
    onset = onset_age(cm, ref.liability, ref.early, ref.dep_z, ref.persistent, ref.male)
    has = onset <= ref.age[:, None]
    need = raw_need(ref.persistent, ref.transient, has @ cm.need_weight, ref.dep_z)
    centre = float(need.mean())
    need = need - centre

    activity = {}
    for kind, spec in P.ACTIVITY_MODEL.items():
        log_rate = activity_log_rate(kind, ref.age, ref.male, need)
        if kind == "mental_health":
            log_rate = log_rate + _mental_health_boost(cm, has)
        target = float(spec["rate_per_1000"]) / 1000
        activity[kind] = float(np.log(target) - np.log(np.mean(np.exp(log_rate))))

    joints = {}
    oa = has[:, cm.index("OA")]
    age_mult = np.asarray(P.JOINT_REPLACEMENT_AGE)[age_band_index(ref.age)]
    base = age_mult * np.where(oa, 6.0, 1.0)
    for proc, per_1000 in P.JOINT_REPLACEMENT_PER_1000.items():
        joints[proc] = float(np.log(per_1000 / 1000 / np.mean(base)))

    q = gompertz(ref.age, ref.male) * np.exp(P.DEATH_NEED_EFFECT * need)
    # The reference population has no care homes; the residents' excess deaths come on
    # top in the simulation, so the rest is scaled to leave room for them.
    expected = CRUDE_DEATHS_PER_1000 / 1000 * (1 - P.CARE_HOME_EXCESS_DEATH_SHARE)
    death_scale = expected / float(np.mean(q))
    return FittedModel(cm, activity, joints, death_scale, centre)


def _mental_health_boost(cm: ConditionModel, has: npt.NDArray[np.bool_]) -> FloatArray:
    boost = np.zeros(has.shape[0])
    for code, value in P.MENTAL_HEALTH_CONDITION_BOOST.items():
        boost += value * has[:, cm.index(code)]
    return boost


def mental_health_boost(cm: ConditionModel, has: npt.NDArray[np.bool_]) -> FloatArray:
    """Log-rate added to mental health contacts by mental health conditions."""
    return _mental_health_boost(cm, has)


def _slice(cm: ConditionModel, c: int) -> ConditionModel:
    fields = {}
    for name, value in cm.__dict__.items():
        if isinstance(value, np.ndarray):
            fields[name] = value[c : c + 1]
        else:
            fields[name] = value
    return ConditionModel(**fields)
