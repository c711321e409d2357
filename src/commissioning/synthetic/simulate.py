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
JOINT_DIAGNOSIS = {"hip_replacement": "M16.9", "knee_replacement": "M17.9"}
#: OPCS-4 codes of procedures: primary total hip and knee replacement, then the low-value
#: procedures of ``parameters.LOW_VALUE_PROCEDURES``.
PROCEDURES = ("W37.1", "W40.1", *(v[0] for v in P.LOW_VALUE_PROCEDURES.values()))
LOW_VALUE_DIAGNOSES = tuple(v[1] for v in P.LOW_VALUE_PROCEDURES.values())
EVENT_COLUMNS = (
    "person",
    "pod",
    "provider",
    "start",
    "end",
    "los",
    "diagnosis",
    "secondary",
    "cause",
    "procedure",
    "units",
    "cost_gbp",
)


#: Age groups of the diagnosis mix: under 1, 1-15, 16-44, 45-64, 65-84, 85 and over.
DIAGNOSIS_AGE_EDGES = (1, 16, 45, 65, 85)
#: How common a diagnosis is in each age group, relative to its weight, by the shape of
#: its age curve (column ``age_profile`` of ``core/data/diagnoses.csv``). Hip fractures
#: ("frail") fall mostly on people over 80; pregnancy codes on women of 15 to 49 (with the
#: list's own ``sex``, ``min_age`` and ``max_age`` limits); neonatal codes under one.
AGE_PROFILES: dict[str, tuple[float, ...]] = {
    "flat": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    "adult": (0.0, 0.2, 1.0, 1.2, 1.2, 1.0),
    "young": (0.0, 1.5, 1.2, 0.5, 0.3, 0.2),
    "older": (0.1, 0.1, 0.4, 1.0, 2.5, 4.0),
    "frail": (0.0, 0.05, 0.08, 0.5, 5.0, 18.0),
    "child": (4.0, 3.0, 0.6, 0.5, 0.5, 0.6),
    "child_and_older": (4.0, 2.0, 0.5, 0.6, 1.5, 3.0),
    "reproductive": (0.0, 0.05, 1.0, 0.1, 0.0, 0.0),
}
#: External causes of injury (ICD-10 chapter XX) given to an injury (chapter S or T):
#: falls (W00-W19) and others. The chance an injury is a fall rises with age: most
#: injuries of older people are falls (Public Health England, falls fact sheet 2017).
FALL_CAUSES = ("W01", "W06", "W10", "W18", "W19")
OTHER_CAUSES = ("W22", "W54", "X59", "V43", "W25")
EXTERNAL_CAUSES = FALL_CAUSES + OTHER_CAUSES
FALL_SHARE_BY_AGE_GROUP = (0.5, 0.35, 0.3, 0.5, 0.85, 0.93)


def diagnosis_age_group(age: FloatArray) -> IntArray:
    """Index of the diagnosis mix's age group for ages in years."""
    return np.searchsorted(np.asarray(DIAGNOSIS_AGE_EDGES), age, side="right").astype(np.int64)


@dataclass
class DiagnosisMix:
    """The diagnosis list: codes, and for each kind of activity the chance of each code in
    each group of sex (0 female, 1 male) and age (``diagnosis_age_group``)."""

    codes: list[str]
    weights: dict[str, FloatArray]  # kind -> (2 sexes, 6 age groups, codes)
    condition_code_index: npt.NDArray[np.intp]
    min_age: FloatArray  # a code, the youngest age it is given at
    max_age: FloatArray  # a code, the age it is no longer given at (exclusive)

    def is_injury(self) -> npt.NDArray[np.bool_]:
        return np.array([c[:1] in ("S", "T") for c in self.codes])


def diagnosis_mix(condition_icd10: tuple[str, ...]) -> DiagnosisMix:
    """Read ``core/data/diagnoses.csv``: a row per code (or per code and sex), with a
    weight for each kind of activity, limits of sex and age, and an age profile."""
    text = resources.files("commissioning.core").joinpath("data/diagnoses.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    codes = list(dict.fromkeys(r["icd10_code"] for r in rows))
    wanted = (*condition_icd10, *JOINT_DIAGNOSIS.values(), *LOW_VALUE_DIAGNOSES)
    extra = list(dict.fromkeys(c for c in wanted if c not in codes))
    groups = len(DIAGNOSIS_AGE_EDGES) + 1
    low_age = (0, *DIAGNOSIS_AGE_EDGES)
    high_age = (*(e - 1 for e in DIAGNOSIS_AGE_EDGES), 200)
    weights = {}
    for kind in ("emergency", "elective", "outpatient", "ae"):
        w = np.zeros((2, groups, len(codes) + len(extra)))
        for r in rows:
            base = float(r[f"weight_{kind}"])
            profile = np.asarray(AGE_PROFILES[r["age_profile"]])
            lo = int(r["min_age"]) if r["min_age"] else 0
            hi = int(r["max_age"]) if r["max_age"] else 200
            # An age group counts if it overlaps the code's age limits.
            allowed = np.array([lo <= high_age[g] and low_age[g] <= hi for g in range(groups)])
            for sex, letter in enumerate(("F", "M")):
                if r["sex"] and r["sex"] != letter:
                    continue
                w[sex, :, codes.index(r["icd10_code"])] += base * profile * allowed
        total = w.sum(axis=2, keepdims=True)
        weights[kind] = w / np.where(total > 0, total, 1.0)
    min_age = np.zeros(len(codes) + len(extra))
    max_age = np.full(len(codes) + len(extra), np.inf)
    for code in codes:
        own = [r for r in rows if r["icd10_code"] == code]
        min_age[codes.index(code)] = min(int(r["min_age"] or 0) for r in own)
        max_age[codes.index(code)] = max(
            (int(r["max_age"]) + 1 if r["max_age"] else np.inf) for r in own
        )
    codes = codes + extra
    cond_index = np.array([codes.index(c) for c in condition_icd10])
    return DiagnosisMix(codes, weights, cond_index, min_age, max_age)


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
    transient: FloatArray  # this year's transient part of need


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
    first_day = day_number(params.first_year, 4, 1)
    _settle_care_homes(rng, people, model, dep_all, first_day)
    # Low-value procedures draw on a generator of their own, so that the rest of the
    # population does not change with them.
    low_value_rng = np.random.default_rng([params.seed, 21])
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
        _activity(rng, world, people, model, mix, state, buffers, low_value_rng, first_day)
        home_care_before = _social_care(
            rng, people, cm, state, buffers, home_care_before, settle=y == 0
        )
        _experience(rng, world, people, state, buffers)
    _admissions_before_later_deaths(rng, people, model, mix, state, buffers, first_day)
    return buffers, mix


def _settle_care_homes(
    rng: np.random.Generator,
    people: People,
    model: FittedModel,
    dep_all: FloatArray,
    first_day: int,
    years_back: int = 30,
) -> None:
    """Give the starting population the care-home residents it would have in a steady
    state, so that residents and their costs do not climb from nothing in the first years.

    For everyone registered on the first day, each of the ``years_back`` years before is
    replayed with the same entry chance as the simulation (age, need, conditions then).
    An entry ``k`` years ago is kept with the chance a resident survives those years
    relative to someone living elsewhere (the person is alive on the first day), so long
    stays are as rare as the residents' higher death rate makes them.
    """
    codes = model.conditions.codes
    present = np.flatnonzero(
        (people.registration_day <= first_day) & (people.exit_day >= first_day)
    )
    age_now = (first_day - people.birth_day[present]) / 365.25
    ld = codes.index("LD")
    entered = np.zeros(present.shape[0], dtype=bool)
    for k in range(years_back, 0, -1):
        day = first_day - int(k * 365.25)
        age = age_now - k
        has = people.onset_day[present] <= day
        eligible = ~entered & ((age >= 65) | (has[:, ld] & (age >= 18)))
        if not eligible.any():
            continue
        transient = rng.standard_normal(present.shape[0]) * P.NEED_TRANSIENT_SD
        need = raw_need(
            people.persistent[present],
            transient,
            has @ model.conditions.need_weight,
            dep_all[present],
        )
        need = need - model.need_centre
        logit = _care_home_logit(age, need, has, codes, P.CARE_HOME_ENTRY_LOGIT_INTERCEPT)
        q = model.death_scale * gompertz(age_now, people.male[present])
        q = np.minimum(0.9, q * np.exp(P.DEATH_NEED_EFFECT * need))
        excess = np.minimum(0.9, q * P.CARE_HOME_DEATH_MULTIPLIER)
        survives = ((1 - excess) / (1 - q)) ** (k - 0.5)  # entered mid-year
        enters = eligible & (rng.random(present.shape[0]) < _sigmoid(logit) * survives)
        entered |= enters
        who = present[enters]
        people.care_home_day[who] = day + np.floor(rng.random(who.shape[0]) * 365).astype(np.int64)
        people.care_home_nursing[who] = rng.random(who.shape[0]) < P.CARE_HOME_NURSING_SHARE


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
    in_care = people.care_home_day[idx] <= start
    q = model.death_scale * gompertz(age, people.male[idx]) * np.exp(P.DEATH_NEED_EFFECT * need)
    q = np.minimum(0.9, q * np.where(in_care, P.CARE_HOME_DEATH_MULTIPLIER, 1.0))
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
        idx,
        start,
        end,
        full_end,
        age,
        need,
        has,
        died,
        np.where(died, death_day, NEVER),
        q,
        transient,
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
    age: FloatArray,
    male: npt.NDArray[np.bool_],
) -> IntArray:
    """A primary diagnosis an event: one of the person's conditions (likelier the more and
    heavier they are; not for A&E) or a code of the list, drawn for the person's sex and
    age group."""
    n = has_rows.shape[0]
    generic = np.zeros(n, dtype=np.int64)
    group = diagnosis_age_group(age)
    sex = male.astype(np.int64)
    todo = np.ones(n, dtype=bool)
    # Draw within the sex and age group, and draw again where the person's exact age is
    # outside the code's limits (an age group can straddle them).
    for _ in range(8):
        u: FloatArray = np.asarray(rng.random(n), dtype=np.float64)
        for s_ in (0, 1):
            for g in range(mix.weights[kind].shape[1]):
                sel = np.flatnonzero(todo & (sex == s_) & (group == g))
                if sel.shape[0]:
                    cum: FloatArray = np.cumsum(mix.weights[kind][s_, g])
                    top = float(cum[-1])
                    generic[sel] = np.minimum(
                        np.searchsorted(cum, u[sel] * top, side="right"), cum.shape[0] - 1
                    )
        todo = (age < mix.min_age[generic]) | (age >= mix.max_age[generic])
        if not todo.any():
            break
    generic[todo] = mix.codes.index("R69")  # illness unspecified: never outside limits
    if kind in ("ae",):
        return generic
    weighted = has_rows * need_weight[None, :]
    total = weighted.sum(axis=1)
    use_condition = rng.random(n) < 1 - np.exp(-P.CONDITION_DIAGNOSIS_PER_WEIGHT * total)
    cum = np.cumsum(weighted, axis=1)
    pick = (cum < (rng.random(n) * total)[:, None]).sum(axis=1)
    pick = np.minimum(pick, has_rows.shape[1] - 1)
    return np.where(use_condition, mix.condition_code_index[pick], generic)


def _secondary(
    rng: np.random.Generator, mix: DiagnosisMix, has_rows: npt.NDArray[np.bool_], primary: IntArray
) -> IntArray:
    """A secondary diagnosis an admission: one of the person's conditions, at random, other
    than the primary; none (-1) for people without another condition."""
    n = has_rows.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    codes = np.broadcast_to(mix.condition_code_index[None, :], has_rows.shape)
    other = has_rows & (codes != primary[:, None])
    count = other.sum(axis=1)
    k = np.floor(rng.random(n) * count).astype(np.int64)
    pick = (np.cumsum(other, axis=1) <= k[:, None]).sum(axis=1)
    pick = np.minimum(pick, has_rows.shape[1] - 1)
    return np.where(count > 0, mix.condition_code_index[pick], -1)


def _external_cause(
    rng: np.random.Generator, mix: DiagnosisMix, primary: IntArray, age: FloatArray
) -> IntArray:
    """An external cause for each injury (index into ``EXTERNAL_CAUSES``; -1 otherwise):
    a fall with the chance of the person's age group, else another cause."""
    n = primary.shape[0]
    injury = mix.is_injury()[primary]
    fall = rng.random(n) < np.asarray(FALL_SHARE_BY_AGE_GROUP)[diagnosis_age_group(age)]
    which_fall = rng.integers(len(FALL_CAUSES), size=n)
    which_other = len(FALL_CAUSES) + rng.integers(len(OTHER_CAUSES), size=n)
    return np.where(injury, np.where(fall, which_fall, which_other), -1)


def _age_on(people: People, s: YearState, rows: IntArray, day: IntArray) -> FloatArray:
    """Age in years of each event's person on the event's day."""
    return np.asarray((day - people.birth_day[s.idx[rows]]) / 365.25, dtype=np.float64)


def _activity(
    rng: np.random.Generator,
    world: World,
    people: People,
    model: FittedModel,
    mix: DiagnosisMix,
    s: YearState,
    buffers: Buffers,
    low_value_rng: np.random.Generator,
    first_day: int,
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
    age = _age_on(people, s, rows, day)
    dx = _diagnoses(rng, mix, "ae", s.has[rows], cm.need_weight, age, male[rows])
    buffers.add_events(
        person=s.idx[rows],
        pod=np.int8(POD_INDEX["ae_attendance"]),
        provider=4 * people.place[s.idx[rows]],
        start=day,
        end=day,
        units=np.float64(1.0),
        diagnosis=dx,
        cause=_external_cause(rng, mix, dx, age),
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
        diagnosis=_diagnoses(
            rng,
            mix,
            "outpatient",
            s.has[rows],
            cm.need_weight,
            _age_on(people, s, rows, day),
            male[rows],
        ),
        cost_gbp=np.where(first, costs["outpatient_first"], costs["outpatient_follow_up"])
        * _noise(rng, 5, rows.shape[0]),
    )

    _elective(rng, people, model, mix, s, buffers, rate("elective"), n_places, exposure)
    _low_value(low_value_rng, world, people, model, mix, s, buffers, exposure)
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
        first_day,
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
    male = people.male[s.idx[rows]]
    age = _age_on(people, s, rows, day)
    dx = _diagnoses(rng, mix, "elective", s.has[rows], cm.need_weight, age, male)
    buffers.add_events(
        person=s.idx[rows],
        pod=np.where(day_case, POD_INDEX["day_case"], POD_INDEX["elective_inpatient"]).astype(
            np.int8
        ),
        provider=_acute_or_tertiary(rng, people, s, rows, n_places, P.TERTIARY_ELECTIVE_SHARE),
        start=day,
        end=day + los,
        los=los,
        diagnosis=dx,
        secondary=_secondary(rng, mix, s.has[rows], dx),
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
            secondary=_secondary(rng, mix, s.has[rows], np.full(n, mix.codes.index(diag))),
            procedure=np.full(n, k),
            units=np.float64(1.0),
            cost_gbp=(costs["joint_replacement"] + 300 * los) * _noise(rng, 8, n),
        )


def _low_value(
    rng: np.random.Generator,
    world: World,
    people: People,
    model: FittedModel,
    mix: DiagnosisMix,
    s: YearState,
    buffers: Buffers,
    exposure: FloatArray,
) -> None:
    """Low-value elective procedures (``parameters.LOW_VALUE_PROCEDURES``) as day cases at
    the person's acute trust, at a rate set by their practice's style."""
    codes = model.conditions.codes
    style = world.practice_style["low_value_procedures"][people.practice[s.idx]]
    age = s.age
    for k, (_, diagnosis, youngest, oldest, condition, per_1000) in enumerate(
        P.LOW_VALUE_PROCEDURES.values()
    ):
        eligible = (age >= youngest) & (age < oldest + 1)
        if condition:
            eligible &= s.has[:, codes.index(condition)]
        lam = np.where(eligible, per_1000 / 1000 * style * exposure, 0.0)
        rows, day = _place_days(rng, rng.poisson(lam), s.start, s.end)
        if condition:  # never before the condition is diagnosed
            day = np.maximum(day, people.onset_day[s.idx[rows], codes.index(condition)])
            keep = day <= s.end[rows]
            rows, day = rows[keep], day[keep]
        on_day = _age_on(people, s, rows, day)  # within the ages on the day itself
        keep = (on_day >= youngest) & (on_day < oldest + 1)
        rows, day = rows[keep], day[keep]
        n = rows.shape[0]
        buffers.add_events(
            person=s.idx[rows],
            pod=np.int8(POD_INDEX["day_case"]),
            provider=4 * people.place[s.idx[rows]],
            start=day,
            end=day,
            los=np.zeros(n, dtype=np.int64),
            diagnosis=np.full(n, mix.codes.index(diagnosis)),
            secondary=np.full(n, -1),
            procedure=np.full(n, len(JOINT_DIAGNOSIS) + k),
            units=np.float64(1.0),
            cost_gbp=P.LOW_VALUE_UNIT_COST_GBP * _noise(rng, 8, n),
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
    first_day: int,
) -> None:
    rows, day = _place_days(rng, rng.poisson(lam), s.start, s.end)
    # End of life: an admission ending in death for hospital deaths, and extra admissions
    # in the last twelve months, with longer stays.
    hospital_death = s.died & (people.place_of_death[s.idx] == DEATH_INDEX["hospital"])
    hd = np.flatnonzero(hospital_death)
    registered = people.registration_day[s.idx]
    terminal_los = np.minimum(
        rng.geometric(1 / P.TERMINAL_STAY_MEAN_DAYS, size=hd.shape[0]) - 1,
        s.death_day[hd] - np.maximum(registered[hd], first_day),  # within the data
    )
    # Admissions of the last year of life, which may fall in the year before the death's
    # (the time of year of a death says nothing of the twelve months before it): more of
    # them the nearer the death.
    e_rows, e_day = _last_year_admissions(rng, registered, s.died, s.death_day, first_day)
    los = np.concatenate(
        [_emergency_los(rng, s.age[rows]), terminal_los, _emergency_los(rng, s.age[e_rows])]
    )
    # Stays in the last year of life are longer than others at the same age.
    in_last_year = np.concatenate([s.died[rows], np.ones(hd.shape[0] + e_rows.shape[0], bool)])
    los = np.where(in_last_year, np.round(los * P.LAST_YEAR_STAY_MULTIPLIER).astype(np.int64), los)
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
    _add_emergency(rng, people, model, mix, s, buffers, rows, day, end)


def _last_year_admissions(
    rng: np.random.Generator,
    registered: IntArray,
    dies: npt.NDArray[np.bool_],
    death_day: IntArray,
    first_day: int,
) -> tuple[IntArray, IntArray]:
    """Rows and days of the extra emergency admissions of the last twelve months of those
    who die (``dies``): a Poisson number each, dated nearer the death the likelier, never
    before registration nor before the first day of the data."""
    dying = np.flatnonzero(dies)
    counts = rng.poisson(P.LAST_YEAR_EXTRA_ADMISSIONS, size=dying.shape[0])
    rows = np.repeat(dying, counts)
    earliest = np.maximum(np.maximum(registered[rows], death_day[rows] - 364), first_day)
    window = np.maximum(death_day[rows] - earliest, 0)
    day = death_day[rows] - np.floor(window * rng.random(rows.shape[0]) ** 2).astype(np.int64)
    return rows, day


def _admissions_before_later_deaths(
    rng: np.random.Generator,
    people: People,
    model: FittedModel,
    mix: DiagnosisMix,
    s: YearState,
    buffers: Buffers,
    first_day: int,
) -> None:
    """After the last year: the people who would die in the year after it have their
    last twelve months' admissions in the data too. Their deaths are drawn (with this
    year's chance) only to place those admissions; the deaths themselves fall after the
    data end, so the last year is not short of them."""
    alive = ~s.died & (s.end == s.full_end)
    dies = alive & (rng.random(s.idx.shape[0]) < s.q)
    death_day = s.full_end + 1 + np.floor(rng.random(s.idx.shape[0]) * 365).astype(np.int64)
    registered = people.registration_day[s.idx]
    rows, day = _last_year_admissions(rng, registered, dies, death_day, first_day)
    keep = day <= s.full_end[rows]
    rows, day = rows[keep], day[keep]
    los = _emergency_los(rng, s.age[rows])
    los = np.round(los * P.LAST_YEAR_STAY_MULTIPLIER).astype(np.int64)
    _add_emergency(rng, people, model, mix, s, buffers, rows, day, day + los)


def _add_emergency(
    rng: np.random.Generator,
    people: People,
    model: FittedModel,
    mix: DiagnosisMix,
    s: YearState,
    buffers: Buffers,
    rows: IntArray,
    day: IntArray,
    end: IntArray,
) -> None:
    """Emergency admissions of the year's rows from ``day`` to ``end``: diagnoses, the
    provider and the cost."""
    cm = model.conditions
    costs = P.UNIT_COST_GBP
    los = end - day
    n = rows.shape[0]
    age = _age_on(people, s, rows, day)
    dx = _diagnoses(
        rng, mix, "emergency", s.has[rows], cm.need_weight, age, people.male[s.idx[rows]]
    )
    buffers.add_events(
        person=s.idx[rows],
        pod=np.int8(POD_INDEX["emergency_admission"]),
        provider=4 * people.place[s.idx[rows]],
        start=day,
        end=end,
        los=los,
        diagnosis=dx,
        secondary=_secondary(rng, mix, s.has[rows], dx),
        cause=_external_cause(rng, mix, dx, age),
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
    settle: bool = False,
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
    if settle:
        # The first year starts as if packages had run before it (a package continues with
        # odds raised by e^3.5), not with nobody having had one: the same chain is run for
        # a few earlier years, with this year's transient need drawn afresh for each.
        had = np.zeros(idx.shape[0], dtype=bool)
        lasting = s.need - s.transient
        entry = P.CARE_HOME_ENTRY_LOGIT_INTERCEPT
        for _ in range(P.HOME_CARE_SETTLING_YEARS):
            need = lasting + rng.standard_normal(idx.shape[0]) * P.NEED_TRANSIENT_SD
            earlier = _care_home_logit(s.age, need, s.has, codes, P.HOME_CARE_LOGIT_INTERCEPT)
            earlier = earlier + np.where(had, 3.5, 0.0)
            # A package ends when its holder dies or moves into a care home.
            moves = _sigmoid(_care_home_logit(s.age, need, s.has, codes, entry)) * (s.age >= 65)
            ends = rng.random(idx.shape[0]) < np.minimum(0.95, s.q + moves)
            had = (s.age >= 18) & (rng.random(idx.shape[0]) < _sigmoid(earlier)) & ~ends
        home_care_before = home_care_before.copy()
        home_care_before[idx] = had & (care_day > s.start)
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
