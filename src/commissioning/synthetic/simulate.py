"""Year-by-year simulation: need, deaths, moves, care homes and every activity event.

Each financial year, for everyone registered in it: need is drawn (a lasting
part, an AR(1) part that regresses to the mean, conditions and deprivation);
death and moving away are drawn; then each kind of activity is a Poisson count
with a log-rate of ``intercept + age shape + need x loading + style``, placed
uniformly in the time the person was registered.  People in their last year of
life get more admissions and community care, and a final admission if they die
in hospital.  Emergency admissions may be followed by a readmission.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import numpy.typing as npt

from commissioning.core.schema import PLACE_OF_DEATH_CODES, POINTS_OF_DELIVERY
from commissioning.synthetic import parameters as P
from commissioning.synthetic.model import (
    FittedModel,
    activity_log_rate,
    age_band_index,
    deprivation_z,
    gompertz,
    mental_health_boost,
    raw_need,
)
from commissioning.synthetic.world import NEVER, People, World, day_number

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
POD_INDEX = {pod: i for i, pod in enumerate(POINTS_OF_DELIVERY)}
DEATH_INDEX = {p: i for i, p in enumerate(PLACE_OF_DEATH_CODES)}
PROCEDURES = ("W37.1", "W40.1")  # OPCS-4: primary total hip / total knee replacement
JOINT_DIAGNOSIS = {"hip_replacement": "M16.9", "knee_replacement": "M17.9"}
EVENT_COLUMNS = (
    "person",
    "pod",
    "provider",
    "start",
    "end",
    "los",
    "diagnosis",
    "procedure",
    "units",
    "cost_gbp",
)


@dataclass
class DiagnosisMix:
    codes: list[str]
    weights: dict[str, FloatArray]
    condition_code_index: npt.NDArray[np.intp]


def diagnosis_mix(condition_icd10: tuple[str, ...]) -> DiagnosisMix:
    text = resources.files("commissioning.core").joinpath("data/diagnoses.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    codes = [r["icd10_code"] for r in rows]
    weights = {}
    for kind in ("emergency", "elective", "outpatient", "ae"):
        w = np.array([float(r[f"weight_{kind}"]) for r in rows])
        weights[kind] = w / w.sum()
    extra = [c for c in (*condition_icd10, *JOINT_DIAGNOSIS.values()) if c not in codes]
    codes = codes + extra
    for kind in weights:
        weights[kind] = np.concatenate([weights[kind], np.zeros(len(extra))])
    cond_index = np.array([codes.index(c) for c in condition_icd10])
    return DiagnosisMix(codes, weights, cond_index)


@dataclass
class Buffers:
    events: dict[str, list[npt.NDArray[np.generic]]] = field(
        default_factory=lambda: {c: [] for c in EVENT_COLUMNS}
    )
    truth: dict[str, list[npt.NDArray[np.generic]]] = field(
        default_factory=lambda: {c: [] for c in ("person", "year", "need", "expected", "p")}
    )
    experience: dict[str, list[npt.NDArray[np.generic]]] = field(
        default_factory=lambda: {c: [] for c in ("person", "practice", "day", "response")}
    )

    def add_events(self, **cols: npt.NDArray[np.generic]) -> None:
        n = cols["person"].shape[0]
        for c in EVENT_COLUMNS:
            value = cols.get(c)
            if value is None:
                value = np.full(n, -1, dtype=np.int32)
            self.events[c].append(np.broadcast_to(value, (n,)).copy())


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def _noise(rng: np.random.Generator, shape: float, n: int) -> FloatArray:
    """Multiplicative cost noise with mean 1 (gamma)."""
    return rng.gamma(shape, 1.0 / shape, size=n)


def _place_days(
    rng: np.random.Generator, counts: IntArray, start: IntArray, end: IntArray
) -> tuple[IntArray, IntArray]:
    """Repeat each row ``counts`` times and place each copy on a uniform day in [start, end]."""
    rows = np.repeat(np.arange(counts.shape[0]), counts)
    span = (end - start + 1)[rows]
    day = start[rows] + np.floor(rng.random(rows.shape[0]) * span).astype(np.int64)
    return rows, day


@dataclass
class YearState:
    """The people registered in one year and what is known of them."""

    idx: IntArray
    start: IntArray
    end: IntArray  # last day registered and alive this year
    full_end: IntArray
    age: FloatArray
    need: FloatArray
    has: npt.NDArray[np.bool_]
    died: npt.NDArray[np.bool_]
    death_day: IntArray
    q: FloatArray


def simulate(
    rng: np.random.Generator,
    params: P.SyntheticParameters,
    world: World,
    people: People,
    model: FittedModel,
    on_progress: Callable[[str], None] | None = None,
) -> tuple[Buffers, DiagnosisMix]:
    """Run every year; fills the people's exit dates and returns the event buffers."""
    cm = model.conditions
    mix = diagnosis_mix(cm.representative_icd10)
    buffers = Buffers()
    transient = rng.standard_normal(people.size) * P.NEED_TRANSIENT_SD
    home_care_before = np.zeros(people.size, dtype=bool)
    dep_all = deprivation_z(world.area_decile[people.area])
    for y in range(params.years):
        if on_progress:
            on_progress(
                f"simulating year {params.first_year + y}/{str(params.first_year + y + 1)[2:]}"
            )
        if y:
            transient = P.NEED_AR1 * transient + np.sqrt(1 - P.NEED_AR1**2) * (
                rng.standard_normal(people.size) * P.NEED_TRANSIENT_SD
            )
        fy0 = day_number(params.first_year + y, 4, 1)
        fy1 = day_number(params.first_year + y + 1, 4, 1) - 1
        idx = np.flatnonzero((people.registration_day <= fy1) & (people.exit_day >= fy0))
        state = _year_state(rng, people, model, idx, fy0, fy1, transient[idx], dep_all[idx])
        _care_homes_and_deaths(rng, people, state, cm.index("DEM"), cm.index("LD"))
        _record_truth(buffers, params.first_year + y, people, state, model, world)
        _activity(rng, world, people, model, mix, state, buffers)
        home_care_before = _social_care(rng, people, cm, state, buffers, home_care_before)
        _experience(rng, world, people, state, buffers)
    return buffers, mix


def _year_state(
    rng: np.random.Generator,
    people: People,
    model: FittedModel,
    idx: IntArray,
    fy0: int,
    fy1: int,
    transient: FloatArray,
    dep_z: FloatArray,
) -> YearState:
    cm = model.conditions
    start = np.maximum(fy0, people.registration_day[idx])
    full_end = np.full(idx.shape[0], fy1, dtype=np.int64)
    mid = (start + full_end) // 2
    age = (mid - people.birth_day[idx]) / 365.25
    has = people.onset_day[idx] <= mid[:, None]
    need = raw_need(people.persistent[idx], transient, has @ cm.need_weight, dep_z)
    need = need - model.need_centre
    exposure = (full_end - start + 1) / 365.25
    q = np.minimum(0.9, model.death_scale * gompertz(age) * np.exp(P.DEATH_NEED_EFFECT * need))
    died = rng.random(idx.shape[0]) < 1 - (1 - q) ** exposure
    days = full_end - start + 1
    death_day = start + np.floor(rng.random(idx.shape[0]) * days).astype(np.int64)
    # Young adults move away most, as they move in most; older people rarely move.
    mover = np.select([(age >= 18) & (age < 36), age >= 65], [1.9, 0.3], 0.7)
    mover = mover * P.OUT_MIGRATION_PROBABILITY
    leave = ~died & (rng.random(idx.shape[0]) < 1 - (1 - mover) ** exposure)
    leave_day = start + np.floor(rng.random(idx.shape[0]) * days).astype(np.int64)
    end = np.where(died, death_day, np.where(leave, leave_day, full_end))
    people.death_day[idx[died]] = death_day[died]
    people.deregistration_day[idx[leave]] = leave_day[leave]
    people.exit_day[idx[died]] = death_day[died]
    people.exit_day[idx[leave]] = leave_day[leave]
    return YearState(
        idx, start, end, full_end, age, need, has, died, np.where(died, death_day, NEVER), q
    )


def _care_home_logit(
    age: FloatArray,
    need: FloatArray,
    has: npt.NDArray[np.bool_],
    cm_codes: tuple[str, ...],
    intercept: float,
) -> FloatArray:
    """Log-odds of social care: rising with age band, need and some conditions."""
    bands = sorted(P.SOCIAL_CARE_AGE_LOGIT, reverse=True)
    logit = (
        intercept
        + P.SOCIAL_CARE_NEED_LOGIT * need
        + np.select([age >= lo for lo in bands], [P.SOCIAL_CARE_AGE_LOGIT[lo] for lo in bands], 0.0)
    )
    for code, value in P.SOCIAL_CARE_CONDITION_LOGIT.items():
        logit = logit + value * has[:, cm_codes.index(code)]
    return logit


def _care_homes_and_deaths(
    rng: np.random.Generator, people: People, s: YearState, dem: int, ld: int
) -> None:
    from commissioning.synthetic.model import fitted_model

    codes = fitted_model().conditions.codes
    idx = s.idx
    in_care = people.care_home_day[idx] <= s.start
    eligible = ~in_care & ((s.age >= 65) | (s.has[:, ld] & (s.age >= 18)))
    logit = _care_home_logit(s.age, s.need, s.has, codes, P.CARE_HOME_ENTRY_LOGIT_INTERCEPT)
    exposure = (s.end - s.start + 1) / 365.25
    enters = eligible & (rng.random(idx.shape[0]) < _sigmoid(logit) * exposure)
    entry_day = s.start + np.floor(rng.random(idx.shape[0]) * (s.end - s.start + 1)).astype(
        np.int64
    )
    people.care_home_day[idx[enters]] = entry_day[enters]
    people.care_home_nursing[idx[enters]] = (
        rng.random(int(enters.sum())) < P.CARE_HOME_NURSING_SHARE
    )
    # Place of death depends on whether the person lived in a care home.
    in_care_at_death = people.care_home_day[idx] <= s.death_day
    u = rng.random(idx.shape[0])
    place = np.full(idx.shape[0], -1, dtype=np.int8)
    for mask, dist in (
        (in_care_at_death, P.PLACE_OF_DEATH_IF_IN_CARE),
        (~in_care_at_death, P.PLACE_OF_DEATH_OTHERWISE),
    ):
        cum = np.cumsum(list(dist.values()))
        choice = np.searchsorted(cum, u * cum[-1], side="right")
        codes_idx = np.array([DEATH_INDEX[k] for k in dist], dtype=np.int8)
        place = np.where(mask, codes_idx[np.minimum(choice, len(cum) - 1)], place)
    place = np.where(s.died, place, -1).astype(np.int8)
    people.place_of_death[idx[s.died]] = place[s.died]


def _style(world: World, people: People, s: YearState, effect: str) -> FloatArray:
    return world.practice_style[effect][people.practice[s.idx]]


def _record_truth(
    buffers: Buffers, year: int, people: People, s: YearState, model: FittedModel, world: World
) -> None:
    exposure = (s.full_end - s.start + 1) / 365.25
    lam = (
        np.exp(
            model.activity_intercept["emergency"]
            + activity_log_rate("emergency", s.age, people.male[s.idx], s.need)
        )
        * _style(world, people, s, "emergency_admission")
        * exposure
    )
    # A death brings a final admission if in hospital, or an extra one half the time.
    hospital = P.PLACE_OF_DEATH_OTHERWISE["hospital"]
    q_e = 1 - (1 - s.q) ** exposure
    p = 1 - np.exp(-lam) * (1 - q_e * (1 - (1 - hospital) * 0.5))
    buffers.truth["person"].append(s.idx)
    buffers.truth["year"].append(np.full(s.idx.shape[0], year, dtype=np.int32))
    buffers.truth["need"].append(s.need)
    buffers.truth["expected"].append(lam)
    buffers.truth["p"].append(p)


def _providers(world: World, people: People, rows: IntArray, s: YearState, offset: int) -> IntArray:
    """Provider index: the person's place's trust (offset 0 acute, 1 community, 2 mental
    health, 3 council)."""
    return 4 * people.place[s.idx[rows]] + offset


def _diagnoses(
    rng: np.random.Generator,
    mix: DiagnosisMix,
    kind: str,
    has_rows: npt.NDArray[np.bool_],
    need_weight: FloatArray,
) -> IntArray:
    n = has_rows.shape[0]
    generic = rng.choice(len(mix.codes), size=n, p=mix.weights[kind])
    if kind in ("ae",):
        return generic
    weighted = has_rows * need_weight[None, :]
    total = weighted.sum(axis=1)
    use_condition = rng.random(n) < 1 - np.exp(-P.CONDITION_DIAGNOSIS_PER_WEIGHT * total)
    cum = np.cumsum(weighted, axis=1)
    pick = (cum < (rng.random(n) * total)[:, None]).sum(axis=1)
    pick = np.minimum(pick, has_rows.shape[1] - 1)
    return np.where(use_condition, mix.condition_code_index[pick], generic)


def _activity(
    rng: np.random.Generator,
    world: World,
    people: People,
    model: FittedModel,
    mix: DiagnosisMix,
    s: YearState,
    buffers: Buffers,
) -> None:
    cm = model.conditions
    male = people.male[s.idx]
    exposure = (s.end - s.start + 1) / 365.25
    eol = s.died
    n_places = len(world.places)
    practice_provider = 4 * n_places + 1 + people.practice[s.idx]

    def rate(kind: str) -> FloatArray:
        log_rate = model.activity_intercept[kind] + activity_log_rate(kind, s.age, male, s.need)
        if kind == "mental_health":
            log_rate = log_rate + mental_health_boost(cm, s.has)
        return np.exp(log_rate) * exposure

    def contacts(
        kind: str,
        pod: str,
        lam: FloatArray,
        provider: IntArray,
        unit_cost: float,
        noise_shape: float,
    ) -> None:
        rows, day = _place_days(rng, rng.poisson(lam), s.start, s.end)
        buffers.add_events(
            person=s.idx[rows],
            pod=np.int8(POD_INDEX[pod]),
            provider=provider[rows],
            start=day,
            end=day,
            units=np.float64(1.0),
            cost_gbp=unit_cost * _noise(rng, noise_shape, rows.shape[0]),
        )

    costs = P.UNIT_COST_GBP
    contacts(
        "gp",
        "gp_appointment",
        rate("gp") * _style(world, people, s, "gp_access"),
        practice_provider,
        costs["gp_appointment"],
        12,
    )
    contacts(
        "community",
        "community_contact",
        rate("community") * np.where(eol, 3.0, 1.0),
        4 * people.place[s.idx] + 1,
        costs["community_contact"],
        6,
    )
    contacts(
        "mental_health",
        "mental_health_contact",
        rate("mental_health"),
        4 * people.place[s.idx] + 2,
        costs["mental_health_contact"],
        4,
    )

    # A&E attendances, with a diagnosis.
    rows, day = _place_days(
        rng, rng.poisson(rate("ae") * _style(world, people, s, "ae_use")), s.start, s.end
    )
    buffers.add_events(
        person=s.idx[rows],
        pod=np.int8(POD_INDEX["ae_attendance"]),
        provider=4 * people.place[s.idx[rows]],
        start=day,
        end=day,
        units=np.float64(1.0),
        diagnosis=_diagnoses(rng, mix, "ae", s.has[rows], cm.need_weight),
        cost_gbp=costs["ae_attendance"] * _noise(rng, 3, rows.shape[0]),
    )

    # Outpatients: first attendances and follow-ups, shaped by the practice's referrals.
    lam = rate("outpatient") * _style(world, people, s, "outpatient_referral")
    rows, day = _place_days(rng, rng.poisson(lam), s.start, s.end)
    first = rng.random(rows.shape[0]) < P.OUTPATIENT_FIRST_SHARE
    buffers.add_events(
        person=s.idx[rows],
        pod=np.where(
            first, POD_INDEX["outpatient_first"], POD_INDEX["outpatient_follow_up"]
        ).astype(np.int8),
        provider=_acute_or_tertiary(rng, people, s, rows, n_places, 0.05),
        start=day,
        end=day,
        units=np.float64(1.0),
        diagnosis=_diagnoses(rng, mix, "outpatient", s.has[rows], cm.need_weight),
        cost_gbp=np.where(first, costs["outpatient_first"], costs["outpatient_follow_up"])
        * _noise(rng, 5, rows.shape[0]),
    )

    _elective(rng, people, model, mix, s, buffers, rate("elective"), n_places, exposure)
    _emergency(
        rng,
        world,
        people,
        model,
        mix,
        s,
        buffers,
        rate("emergency")
        * _style(world, people, s, "emergency_admission")
        * np.where(eol, 1.8, 1.0),
    )


def _acute_or_tertiary(
    rng: np.random.Generator,
    people: People,
    s: YearState,
    rows: IntArray,
    n_places: int,
    tertiary_share: float,
) -> IntArray:
    acute = 4 * people.place[s.idx[rows]]
    return np.where(rng.random(rows.shape[0]) < tertiary_share, 4 * n_places, acute)


def _elective(
    rng: np.random.Generator,
    people: People,
    model: FittedModel,
    mix: DiagnosisMix,
    s: YearState,
    buffers: Buffers,
    lam: FloatArray,
    n_places: int,
    exposure: FloatArray,
) -> None:
    cm = model.conditions
    costs = P.UNIT_COST_GBP
    rows, day = _place_days(rng, rng.poisson(lam), s.start, s.end)
    n = rows.shape[0]
    day_case = rng.random(n) < P.DAY_CASE_SHARE
    los = np.where(day_case, 0, 1 + rng.poisson(2.0, size=n))
    cost = np.where(
        day_case,
        costs["day_case"],
        costs["elective_inpatient_fixed"] + costs["elective_inpatient_per_day"] * los,
    )
    buffers.add_events(
        person=s.idx[rows],
        pod=np.where(day_case, POD_INDEX["day_case"], POD_INDEX["elective_inpatient"]).astype(
            np.int8
        ),
        provider=_acute_or_tertiary(rng, people, s, rows, n_places, P.TERTIARY_ELECTIVE_SHARE),
        start=day,
        end=day + los,
        los=los,
        diagnosis=_diagnoses(rng, mix, "elective", s.has[rows], cm.need_weight),
        units=np.float64(1.0),
        cost_gbp=cost * _noise(rng, 5, n),
    )
    oa = s.has[:, cm.index("OA")]
    base = np.asarray(P.JOINT_REPLACEMENT_AGE)[age_band_index(s.age)] * np.where(oa, 6.0, 1.0)
    for k, (proc, diag) in enumerate(JOINT_DIAGNOSIS.items()):
        lam_j = np.exp(model.joint_intercept[proc]) * base * exposure
        rows, day = _place_days(rng, rng.poisson(lam_j), s.start, s.end)
        n = rows.shape[0]
        los = 1 + rng.poisson(2.5, size=n)
        buffers.add_events(
            person=s.idx[rows],
            pod=np.int8(POD_INDEX["elective_inpatient"]),
            provider=_acute_or_tertiary(rng, people, s, rows, n_places, P.TERTIARY_ELECTIVE_SHARE),
            start=day,
            end=day + los,
            los=los,
            diagnosis=np.full(n, mix.codes.index(diag)),
            procedure=np.full(n, k),
            units=np.float64(1.0),
            cost_gbp=(costs["joint_replacement"] + 300 * los) * _noise(rng, 8, n),
        )


def _emergency_los(rng: np.random.Generator, age: FloatArray) -> IntArray:
    """Length of stay: a quarter go home the same day; the rest stay longer with age."""
    n = age.shape[0]
    mean = np.where(age >= 85, 10.5, np.where(age >= 65, 7.5, 4.0))
    stay = 1 + np.floor(rng.gamma(1.3, (mean - 1) / 1.3, size=n)).astype(np.int64)
    return np.where(rng.random(n) < 0.28, 0, stay)


def _emergency(
    rng: np.random.Generator,
    world: World,
    people: People,
    model: FittedModel,
    mix: DiagnosisMix,
    s: YearState,
    buffers: Buffers,
    lam: FloatArray,
) -> None:
    cm = model.conditions
    costs = P.UNIT_COST_GBP
    rows, day = _place_days(rng, rng.poisson(lam), s.start, s.end)
    # End of life: an admission ending in death for hospital deaths, and half of all
    # decedents have another admission in their last 90 days.
    hospital_death = s.died & (people.place_of_death[s.idx] == DEATH_INDEX["hospital"])
    hd = np.flatnonzero(hospital_death)
    terminal_los = np.minimum(
        rng.geometric(1 / 9, size=hd.shape[0]) - 1, s.death_day[hd] - s.start[hd]
    )
    extra = np.flatnonzero(s.died & (rng.random(s.idx.shape[0]) < 0.5))
    extra_start = np.maximum(s.start[extra], s.death_day[extra] - 90)
    e_rows, e_day = _place_days(
        rng, np.ones(extra.shape[0], dtype=np.int64), extra_start, s.death_day[extra]
    )
    e_rows = extra[e_rows]
    los = np.concatenate(
        [_emergency_los(rng, s.age[rows]), terminal_los, _emergency_los(rng, s.age[e_rows])]
    )
    rows = np.concatenate([rows, hd, e_rows])
    day = np.concatenate([day, s.death_day[hd] - terminal_los, e_day])
    # Readmissions within 30 days of discharge, likelier with more need.
    discharge = day + los
    readmit = rng.random(rows.shape[0]) < _sigmoid(
        P.READMISSION_LOGIT_INTERCEPT + P.READMISSION_LOGIT_NEED * s.need[rows]
    )
    gap = 1 + np.floor(29 * rng.random(rows.shape[0]) ** 1.5).astype(np.int64)
    r_day = discharge + gap
    readmit &= r_day <= s.end[rows]
    r_rows = rows[readmit]
    rows = np.concatenate([rows, r_rows])
    day = np.concatenate([day, r_day[readmit]])
    los = np.concatenate([los, _emergency_los(rng, s.age[r_rows])])
    # No stay runs past death.
    end = np.minimum(day + los, np.where(s.died[rows], s.death_day[rows], np.iinfo(np.int64).max))
    day = np.minimum(day, end)
    los = end - day
    n = rows.shape[0]
    buffers.add_events(
        person=s.idx[rows],
        pod=np.int8(POD_INDEX["emergency_admission"]),
        provider=4 * people.place[s.idx[rows]],
        start=day,
        end=end,
        los=los,
        diagnosis=_diagnoses(rng, mix, "emergency", s.has[rows], cm.need_weight),
        units=np.float64(1.0),
        cost_gbp=(costs["emergency_admission_fixed"] + costs["emergency_admission_per_day"] * los)
        * _noise(rng, 6, n),
    )


def _social_care(
    rng: np.random.Generator,
    people: People,
    cm: object,
    s: YearState,
    buffers: Buffers,
    home_care_before: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    from commissioning.synthetic.model import fitted_model

    codes = fitted_model().conditions.codes
    costs = P.UNIT_COST_GBP
    idx = s.idx
    care_day = people.care_home_day[idx]
    # Care home placements: a row a person a year while in the home.
    in_care = care_day <= s.end
    rows = np.flatnonzero(in_care)
    start = np.maximum(s.start[rows], care_day[rows])
    end = s.end[rows]
    weeks = (end - start + 1) / 7
    nursing = people.care_home_nursing[idx[rows]]
    weekly = np.where(nursing, costs["nursing_care_per_week"], costs["residential_care_per_week"])
    buffers.add_events(
        person=idx[rows],
        pod=np.where(nursing, POD_INDEX["nursing_care"], POD_INDEX["residential_care"]).astype(
            np.int8
        ),
        provider=4 * people.place[idx[rows]] + 3,
        start=start,
        end=end,
        units=np.round(weeks, 2),
        cost_gbp=weeks * weekly * _noise(rng, 40, rows.shape[0]),
    )
    # Home care: packages persist from year to year; none once in a care home.
    logit = _care_home_logit(s.age, s.need, s.has, codes, P.HOME_CARE_LOGIT_INTERCEPT)
    logit = logit + np.where(home_care_before[idx], 3.5, 0.0)
    gets = (s.age >= 18) & (care_day > s.start) & (rng.random(idx.shape[0]) < _sigmoid(logit))
    rows = np.flatnonzero(gets)
    continuing = home_care_before[idx[rows]]
    span = s.end[rows] - s.start[rows] + 1
    start = np.where(
        continuing,
        s.start[rows],
        s.start[rows] + np.floor(rng.random(rows.shape[0]) * span).astype(np.int64),
    )
    end = np.minimum(s.end[rows], care_day[rows] - 1)
    keep = end >= start
    rows, start, end = rows[keep], start[keep], end[keep]
    hours_per_week = rng.gamma(3.0, P.HOME_CARE_HOURS_PER_WEEK_MEAN / 3.0, size=rows.shape[0])
    hours = np.round(hours_per_week * (end - start + 1) / 7, 1)
    buffers.add_events(
        person=idx[rows],
        pod=np.int8(POD_INDEX["home_care"]),
        provider=4 * people.place[idx[rows]] + 3,
        start=start,
        end=end,
        units=hours,
        cost_gbp=hours * costs["home_care_per_hour"] * _noise(rng, 40, rows.shape[0]),
    )
    received = np.zeros_like(home_care_before)
    received[idx[rows]] = True
    return received


def _experience(
    rng: np.random.Generator, world: World, people: People, s: YearState, buffers: Buffers
) -> None:
    adult = np.flatnonzero((s.age >= 16) & (rng.random(s.idx.shape[0]) < P.EXPERIENCE_SAMPLE_SHARE))
    practice = people.practice[s.idx[adult]]
    latent = world.practice_experience[practice] + rng.standard_normal(adult.shape[0])
    response = 1 + np.searchsorted(np.asarray(P.EXPERIENCE_CUTS), latent)
    span = s.end[adult] - s.start[adult] + 1
    day = s.start[adult] + np.floor(rng.random(adult.shape[0]) * span).astype(np.int64)
    buffers.experience["person"].append(s.idx[adult])
    buffers.experience["practice"].append(practice)
    buffers.experience["day"].append(day)
    buffers.experience["response"].append(response)
