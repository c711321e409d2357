"""Places, small areas, GP practices, providers and the people in them.

Everything here is drawn from one ``np.random.Generator`` in a fixed order, so
the same seed gives the same world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from commissioning.synthetic import parameters as P
from commissioning.synthetic.model import (
    FittedModel,
    deprivation_z,
    gompertz,
    national_age_weights,
    onset_age,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
NEVER = np.iinfo(np.int32).max  # a day number meaning "has not happened"
EPOCH = np.datetime64("1970-01-01", "D")


def day_number(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a calendar date."""
    return int((np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "D") - EPOCH).astype(int))


@dataclass
class World:
    """Places, areas and practices, with the styles planted in them."""

    places: tuple[P.PlaceSpec, ...]
    area_place: IntArray
    area_decile: IntArray
    area_main_practice: IntArray
    practice_place: IntArray
    practice_codes: list[str]
    practice_names: list[str]
    practice_style: dict[str, FloatArray]
    practice_planted: dict[str, npt.NDArray[np.bool_]]
    practice_experience: FloatArray
    area_codes: list[str]

    def providers(self) -> list[str]:
        """Provider codes: acute, community and mental health trusts and the council
        of each place, a tertiary centre, then every GP practice."""
        codes = []
        for i in range(len(self.places)):
            letter = _place_letter(i)
            codes += [f"R{letter}A", f"R{letter}C", f"R{letter}M", f"L{letter}C"]
        return [*codes, "RTC", *self.practice_codes]


def _place_letter(i: int) -> str:
    return "ABCDEFGHJKLMNPQRSTUVWXY"[i]


def build_world(rng: np.random.Generator, params: P.SyntheticParameters) -> World:
    """Draw small areas (with deprivation), practices and practice styles."""
    shares = np.array([p.population_share for p in params.places])
    shares = shares / shares.sum()
    area_place, area_decile, area_codes = [], [], []
    practice_place, practice_codes, practice_names = [], [], []
    area_main_practice = []
    deciles = np.arange(1, 11)
    for i, place in enumerate(params.places):
        n_people = params.people * shares[i]
        n_areas = max(4, round(n_people / params.people_per_small_area))
        n_practices = max(3, round(n_people / params.people_per_practice))
        weights = np.exp(place.deprivation_shift * 1.3 * deprivation_z(deciles))
        decile = rng.choice(deciles, size=n_areas, p=weights / weights.sum())
        first_practice = len(practice_codes)
        letter = _place_letter(i)
        for k in range(n_practices):
            practice_codes.append(f"{letter}8{i}{k + 1:03d}")
            practice_names.append(f"{place.place_name} Medical Practice {k + 1}")
            practice_place.append(i)
        for k in range(n_areas):
            area_codes.append(f"E01{i:02d}{k + 1:04d}")
            area_place.append(i)
            area_decile.append(int(decile[k]))
            area_main_practice.append(first_practice + int(rng.integers(n_practices)))

    n_pr = len(practice_codes)
    pp = np.asarray(practice_place)
    style = {}
    planted = {}
    for effect in ("gp_access", "outpatient_referral", "emergency_admission", "ae_use"):
        style[effect] = np.exp(rng.normal(0.0, params.practice_spread_sd, size=n_pr))
        planted[effect] = np.zeros(n_pr, dtype=bool)
    for i, place in enumerate(params.places):
        style["gp_access"][pp == i] *= place.gp_access
        style["ae_use"][pp == i] *= place.ae_use
        if place.gp_access != 1.0:
            planted["gp_access"][pp == i] = True
        if place.ae_use != 1.0:
            planted["ae_use"][pp == i] = True
    home = int(np.flatnonzero(pp == 0)[0])
    # Planted in the home place: its first practice refers to outpatients far more, its
    # second admits far more patients as emergencies.
    style["outpatient_referral"][home] = params.home_practice_referral_multiplier
    planted["outpatient_referral"][home] = True
    style["emergency_admission"][home + 1] = params.home_practice_admission_multiplier
    planted["emergency_admission"][home + 1] = True
    experience = rng.normal(0.0, P.EXPERIENCE_PRACTICE_SD, size=n_pr)
    experience[home + 1] -= 0.6  # the same practice is also rated worse
    return World(
        places=params.places,
        area_place=np.asarray(area_place),
        area_decile=np.asarray(area_decile),
        area_main_practice=np.asarray(area_main_practice),
        practice_place=pp,
        practice_codes=practice_codes,
        practice_names=practice_names,
        practice_style=style,
        practice_planted=planted,
        practice_experience=experience,
        area_codes=area_codes,
    )


@dataclass
class People:
    """Everyone who is ever registered during the simulated years."""

    area: IntArray
    practice: IntArray
    place: IntArray
    male: npt.NDArray[np.bool_]
    birth_day: IntArray
    registration_day: IntArray
    exit_day: IntArray  # deregistration or death, NEVER if neither
    death_day: IntArray
    deregistration_day: IntArray
    place_of_death: npt.NDArray[np.int8]  # index into PLACES_OF_DEATH, -1 if alive
    persistent: FloatArray
    onset_day: npt.NDArray[np.int32]  # people x conditions, NEVER if not in the horizon
    care_home_day: IntArray  # day of entering a care home, NEVER if not
    care_home_nursing: npt.NDArray[np.bool_]

    @property
    def size(self) -> int:
        return int(self.area.shape[0])


def _survivors_need(
    rng: np.random.Generator,
    model: FittedModel,
    age: FloatArray,
    male: npt.NDArray[np.bool_],
    candidates: int = 4,
) -> FloatArray:
    """The lasting part of need of people who have lived to ``age``.

    People with more need die sooner, so among the living the lasting part leans below
    the newborns' standard normal, more so the older they are. Drawn by sampling
    importance resampling: ``candidates`` standard normal values a person, one kept with
    weight ``exp(−H(age) · e^(β·value))``, where H is the cumulative hazard of death by
    age and sex at average need and β the effect of the lasting part on the hazard
    (directly and through the conditions it brings on, taken as four times the direct
    effect, the value that keeps the yearly death rate level on generated populations).
    Without this the starting population would grow healthier year by year as its
    neediest people died.
    """
    n = age.shape[0]
    ages = np.arange(0, 116, dtype=np.float64)
    beta = 4 * P.DEATH_NEED_EFFECT * P.NEED_PERSISTENT_SD
    hazard = np.stack(
        [
            np.cumsum(model.death_scale * gompertz(ages, np.full(ages.shape, sex, dtype=bool)))
            for sex in (False, True)
        ]
    )
    h = hazard[male.astype(np.int64), np.clip(age.astype(np.int64), 0, 115)]
    values = rng.standard_normal((n, candidates))
    log_w = -h[:, None] * np.exp(beta * values)
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    cum = np.cumsum(w, axis=1)
    pick = (cum < (rng.random(n) * cum[:, -1])[:, None]).sum(axis=1)
    return values[np.arange(n), np.minimum(pick, candidates - 1)]


def _age_weights_for(place: P.PlaceSpec) -> FloatArray:
    w = national_age_weights()
    ages = np.arange(101)
    w = w * np.exp(place.age_tilt * (ages - 40) / 40)
    return w / w.sum()


def draw_people(
    rng: np.random.Generator,
    params: P.SyntheticParameters,
    world: World,
    model: FittedModel,
    horizon_day: int,
) -> People:
    """The starting population and everyone who joins later (births and moves in)."""
    start = day_number(params.first_year, 4, 1)
    shares = np.array([p.population_share for p in params.places])
    shares = shares / shares.sum()
    n0 = params.people
    place0 = rng.choice(len(params.places), size=n0, p=shares)
    age0 = np.empty(n0)
    for i, place in enumerate(params.places):
        sel = place0 == i
        age0[sel] = rng.choice(101, size=int(sel.sum()), p=_age_weights_for(place)) + rng.random(
            int(sel.sum())
        )
    birth0 = start - np.floor(age0 * 365.25).astype(np.int64)
    years_registered = rng.exponential(9.0, size=n0)
    reg0 = np.maximum(start - np.floor(years_registered * 365.25).astype(np.int64), birth0)

    # Joiners: births and people moving in, spread over the years.
    births_place, births_day, movers_place, movers_day, movers_age = [], [], [], [], []
    young_adult = national_age_weights() * np.exp(-(((np.arange(101) - 28) / 14) ** 2))
    young_adult /= young_adult.sum()
    for y in range(params.years):
        y0 = day_number(params.first_year + y, 4, 1)
        y1 = day_number(params.first_year + y + 1, 4, 1)
        nb = int(rng.poisson(n0 * P.BIRTHS_PER_1000 / 1000))
        nm = int(rng.poisson(n0 * P.IN_MIGRATION_PER_1000 / 1000))
        births_place.append(rng.choice(len(params.places), size=nb, p=shares))
        births_day.append(rng.integers(y0, y1, size=nb))
        movers_place.append(rng.choice(len(params.places), size=nm, p=shares))
        movers_day.append(rng.integers(y0, y1, size=nm))
        # Most people moving in are young adults; some come as families of all ages.
        family = rng.random(nm) < P.IN_MIGRATION_FAMILY_SHARE
        ages = np.where(
            family,
            rng.choice(101, size=nm, p=national_age_weights()),
            rng.choice(101, size=nm, p=young_adult),
        )
        movers_age.append(ages + rng.random(nm))
    b_place = np.concatenate(births_place)
    b_day = np.concatenate(births_day)
    m_place = np.concatenate(movers_place)
    m_day = np.concatenate(movers_day)
    m_birth = m_day - np.floor(np.concatenate(movers_age) * 365.25).astype(np.int64)

    place = np.concatenate([place0, b_place, m_place]).astype(np.int64)
    birth = np.concatenate([birth0, b_day, m_birth]).astype(np.int64)
    reg = np.concatenate([reg0, b_day, m_day]).astype(np.int64)
    n = place.shape[0]

    # Small area within the place, then practice: mostly the area's nearest practice.
    area = np.empty(n, dtype=np.int64)
    for i in range(len(params.places)):
        sel = np.flatnonzero(place == i)
        candidates = np.flatnonzero(world.area_place == i)
        area[sel] = candidates[rng.integers(len(candidates), size=sel.shape[0])]
    practice = world.area_main_practice[area].copy()
    elsewhere = rng.random(n) < 0.3
    for i in range(len(params.places)):
        sel = np.flatnonzero(elsewhere & (place == i))
        candidates = np.flatnonzero(world.practice_place == i)
        practice[sel] = candidates[rng.integers(len(candidates), size=sel.shape[0])]

    male = rng.random(n) < P.MALE_SHARE
    age_at_entry = (np.maximum(reg, start) - birth) / 365.25  # age on joining the data
    persistent = _survivors_need(rng, model, age_at_entry, male)
    cm = model.conditions
    n_c = len(cm.codes)
    liability = rng.logistic(size=(n, n_c)).astype(np.float32)
    early = rng.random((n, n_c), dtype=np.float32)
    dep_z = deprivation_z(world.area_decile[area])
    onset_years = onset_age(cm, liability, early, dep_z, persistent, male)
    del liability, early
    onset_day = birth[:, None] + np.floor(onset_years * np.float32(365.25))
    onset_day = np.where(
        np.isfinite(onset_day) & (onset_day <= horizon_day), onset_day, NEVER
    ).astype(np.int32)

    never = np.full(n, NEVER, dtype=np.int64)
    return People(
        area=area,
        practice=practice,
        place=place,
        male=male,
        birth_day=birth,
        registration_day=reg,
        exit_day=never.copy(),
        death_day=never.copy(),
        deregistration_day=never.copy(),
        place_of_death=np.full(n, -1, dtype=np.int8),
        persistent=persistent,
        onset_day=onset_day,
        care_home_day=never.copy(),
        care_home_nursing=np.zeros(n, dtype=bool),
    )
