"""Parameters of the synthetic population generator.

Every number that shapes the synthetic world is here, named and documented, so
that a reader can see what was assumed and change it. National targets the
generator is tuned to are in :mod:`commissioning.synthetic.calibration` with
their sources (``docs/synthetic.md``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PlaceSpec(BaseModel):
    """A place and how it differs from an average English place."""

    model_config = ConfigDict(frozen=True)

    place_code: str
    place_name: str
    rurality: Literal["urban", "mixed", "rural"]
    population_share: float = Field(gt=0, description="Share of all synthetic people")
    age_tilt: float = Field(
        0.0, description="Positive for an older population, negative for a younger one"
    )
    deprivation_shift: float = Field(
        0.0, description="Positive for a more deprived population, negative for a less"
    )
    gp_access: float = Field(1.0, gt=0, description="Place-wide GP appointment multiplier")
    ae_use: float = Field(1.0, gt=0, description="Place-wide A&E attendance multiplier")
    knee_gain_shift: float = Field(
        0.0, description="Added to the mean EQ-5D gain after knee replacement"
    )


DEFAULT_PLACES: tuple[PlaceSpec, ...] = (
    PlaceSpec(place_code="NVL", place_name="Northvale", rurality="mixed", population_share=0.25),
    PlaceSpec(
        place_code="ASH",
        place_name="Ashdown",
        rurality="urban",
        population_share=0.0833,
        age_tilt=-0.30,
        deprivation_shift=0.5,
    ),
    PlaceSpec(
        place_code="BRK",
        place_name="Brackenfield",
        rurality="rural",
        population_share=0.0833,
        age_tilt=0.35,
        deprivation_shift=-0.6,
    ),
    PlaceSpec(
        place_code="CAS",
        place_name="Castlemere",
        rurality="urban",
        population_share=0.0833,
        age_tilt=-0.15,
        deprivation_shift=0.9,
    ),
    PlaceSpec(
        place_code="DUN",
        place_name="Dunmoor",
        rurality="rural",
        population_share=0.0833,
        age_tilt=0.40,
        deprivation_shift=-0.2,
    ),
    PlaceSpec(
        place_code="ELM",
        place_name="Elmstead",
        rurality="mixed",
        population_share=0.0833,
        age_tilt=0.10,
        deprivation_shift=-0.4,
    ),
    # Fenwick's practices offer fewer appointments and its people use A&E more: a place-level
    # style a benchmark of GP access or A&E attendance should find.
    PlaceSpec(
        place_code="FEN",
        place_name="Fenwick",
        rurality="urban",
        population_share=0.0833,
        age_tilt=-0.35,
        deprivation_shift=0.3,
        gp_access=0.75,
        ae_use=1.35,
    ),
    PlaceSpec(
        place_code="GRY",
        place_name="Greyhaven",
        rurality="mixed",
        population_share=0.0833,
        age_tilt=0.25,
        deprivation_shift=0.4,
        knee_gain_shift=0.05,
    ),
    PlaceSpec(
        place_code="HOL",
        place_name="Holmbridge",
        rurality="mixed",
        population_share=0.0833,
        age_tilt=0.0,
        deprivation_shift=-0.8,
    ),
    PlaceSpec(
        place_code="IVY",
        place_name="Ivydale",
        rurality="urban",
        population_share=0.0833,
        age_tilt=-0.10,
        deprivation_shift=0.0,
    ),
)


class SyntheticParameters(BaseModel):
    """What to generate: how many people, where, for how long, from which seed."""

    model_config = ConfigDict(frozen=True)

    seed: int = Field(20261123, description="Seed: the same seed gives the same bytes")
    people: int = Field(200_000, ge=100, description="People registered at the start")
    years: int = Field(4, ge=1, le=15, description="Financial years to simulate")
    first_year: int = Field(2021, description="First financial year (2021 is April 2021 on)")
    places: tuple[PlaceSpec, ...] = DEFAULT_PLACES
    people_per_practice: int = Field(7_000, ge=500)
    people_per_small_area: int = Field(1_600, ge=100)
    home_practice_referral_multiplier: float = Field(
        1.6, description="Planted: one home practice refers to outpatients this much more"
    )
    home_practice_low_value_multiplier: float = Field(
        3.0, gt=0, description="Low-value procedures of the home place's third practice"
    )
    home_practice_admission_multiplier: float = Field(
        1.45, description="Planted: one home practice's patients are admitted this much more"
    )
    practice_spread_sd: float = Field(
        0.07, ge=0, description="Ordinary practice-to-practice spread (log scale)"
    )


# --- Demography -----------------------------------------------------------------------------

AGE_BAND_SHARES: tuple[tuple[int, int, float], ...] = (
    # (first age, last age, per cent of population): ONS mid-2021 estimates for England,
    # rounded (ONS, "Population estimates for the UK, England, Wales, Scotland and Northern
    # Ireland: mid-2021"), with children a little up and 65-79 a little down so that the
    # registered population, after years of births, moves and ageing, averages the targets.
    (0, 4, 5.6),
    (5, 9, 6.2),
    (10, 14, 6.2),
    (15, 19, 5.6),
    (20, 24, 6.0),
    (25, 29, 6.6),
    (30, 34, 6.9),
    (35, 39, 6.7),
    (40, 44, 6.4),
    (45, 49, 6.4),
    (50, 54, 6.9),
    (55, 59, 6.7),
    (60, 64, 5.8),
    (65, 69, 4.9),
    (70, 74, 4.9),
    (75, 79, 3.6),
    (80, 84, 2.6),
    (85, 89, 1.4),
    (90, 100, 0.9),
)
MALE_SHARE = 0.49
BIRTHS_PER_1000 = 10.5  # ONS births in England and Wales 2021: about 10.4 per 1,000
IN_MIGRATION_PER_1000 = 45.0  # registrations moving in each year (GP list turnover)
IN_MIGRATION_FAMILY_SHARE = 0.3  # the rest are young adults (ages weighted around 28)
OUT_MIGRATION_PROBABILITY = 0.045  # x1.9 for ages 18-35, x0.3 for 65+, x0.7 otherwise

# --- Latent need ----------------------------------------------------------------------------

NEED_PERSISTENT_SD = 0.45  # person's lasting frailty or resilience
NEED_TRANSIENT_SD = 0.60  # year-to-year part, AR(1)
NEED_AR1 = 0.60  # persistence of the transient part: regression to the mean
NEED_DEPRIVATION_PER_DECILE = 0.075

# --- Mortality: Gompertz hazard, then scaled to the national crude rate --------------------
GOMPERTZ_LOG_INTERCEPT = -10.45
GOMPERTZ_SLOPE_PER_YEAR = 0.093
INFANT_MORTALITY = 0.0035
DEATH_NEED_EFFECT = 0.45

TERMINAL_STAY_MEAN_DAYS = 14
"""Mean stay of the admission ending in a death in hospital (geometric)."""
LAST_YEAR_EXTRA_ADMISSIONS = 0.8
"""Emergency admissions a person has in their last twelve months on top of the year's
rate (Poisson mean), dated nearer the death the likelier (the day before death less 365 ×
u², u uniform), possibly in the financial year before the death's."""
LAST_YEAR_STAY_MULTIPLIER = 2.3
"""Emergency stays in the last year of life against others at the same age."""

MALE_DEATH_RATIO = 1.35
"""Men's yearly chance of death against women's at the same age and need (ONS national
life tables: about 1.3 to 1.5 through adult life)."""
YOUNG_ADULT_EXCESS_DEATHS = 0.0003
"""Yearly deaths from external causes (accidents, suicide, drugs) added at ages 15 to 44,
doubled for men: the hump a Gompertz curve alone misses."""
HOME_CARE_SETTLING_YEARS = 4
"""Years of home care replayed before the first year, so packages are already running."""
CARE_HOME_DEATH_MULTIPLIER = 6.0
"""Yearly chance of death of a care-home resident against someone of the same age and
need living elsewhere: residents are frailer than their recorded conditions show (about a
half die each year, many after a short stay)."""
ONSET_TARGET_ADJUSTMENT = {"DEM": 1.2}
"""Conditions whose onset is fitted to a prevalence above the target: the reference
population has no deaths, but people with dementia die sooner than others (more so in
care homes), so without the margin recorded prevalence falls year by year below the
target; measured on generated populations."""
CARE_HOME_EXCESS_DEATH_SHARE = 0.12
"""Share of all deaths that are care-home residents' excess over others of the same age
and need, measured on generated populations; the rest of the death rate is scaled down
by it so that the crude death rate still meets its target."""

PLACE_OF_DEATH_IF_IN_CARE = {"care_home": 0.78, "hospital": 0.19, "hospice": 0.01, "other": 0.02}
PLACE_OF_DEATH_OTHERWISE = {"hospital": 0.53, "home": 0.33, "hospice": 0.08, "other": 0.06}

# --- Activity ------------------------------------------------------------------------------
AGE_BANDS_FOR_RATES: tuple[int, ...] = (0, 5, 15, 25, 45, 65, 75, 85)
"""Lower bounds of the bands used for age shapes below."""

ActivityKind = Literal[
    "gp", "community", "mental_health", "ae", "emergency", "elective", "outpatient"
]

ACTIVITY_MODEL: dict[str, dict[str, object]] = {
    # rate_per_1000: mean yearly events for the reference population (before readmissions
    # and end-of-life activity are added); age: relative rate by AGE_BANDS_FOR_RATES;
    # need: log-rate per unit of need; female: rate ratio for women.
    "gp": {
        "rate_per_1000": 5_500,
        "age": (1.3, 0.55, 0.7, 0.8, 1.0, 1.4, 1.8, 2.0),
        "need": 0.45,
        "female": 1.25,
    },
    "community": {
        "rate_per_1000": 1_600,
        "age": (0.6, 0.2, 0.15, 0.2, 0.4, 1.0, 2.5, 6.0),
        "need": 0.7,
        "female": 1.1,
    },
    "mental_health": {
        "rate_per_1000": 520,
        "age": (0.05, 0.4, 1.0, 1.0, 0.8, 0.6, 0.9, 1.5),
        "need": 0.4,
        "female": 1.0,
    },
    "ae": {
        "rate_per_1000": 420,
        "age": (1.5, 0.7, 1.1, 0.9, 0.8, 0.9, 1.3, 2.2),
        "need": 0.6,
        "female": 1.0,
    },
    "emergency": {
        "rate_per_1000": 92,
        "age": (1.2, 0.35, 0.5, 0.5, 0.6, 0.8, 1.1, 1.7),
        "need": 0.6,
        "female": 1.0,
    },
    "elective": {
        "rate_per_1000": 136,
        "age": (0.15, 0.15, 0.3, 0.6, 1.2, 2.0, 2.1, 1.3),
        "need": 0.45,
        "female": 1.05,
    },
    "outpatient": {
        "rate_per_1000": 1_800,
        "age": (0.5, 0.4, 0.5, 0.7, 1.1, 1.7, 2.0, 1.7),
        "need": 0.55,
        "female": 1.15,
    },
}

MENTAL_HEALTH_CONDITION_BOOST = {
    "SMI": 2.0,
    "DEP": 1.0,
    "ANX": 0.6,
    "SUB": 1.5,
    "DEM": 1.2,
    "LD": 0.8,
}

DAY_CASE_SHARE = 0.82

LowValueProcedure = tuple[str, str, int, int, str, float]
LOW_VALUE_PROCEDURES: dict[str, LowValueProcedure] = {
    # name: (OPCS-4 code, ICD-10 diagnosis, youngest age, oldest age, condition needed,
    #        yearly procedures per 1,000 eligible people at a typical practice).
    # Interventions of NHS England's Evidence-Based Interventions programme (lists 1 and 2):
    # not to be routinely commissioned, or only when criteria are met.
    "knee arthroscopy for osteoarthritis": ("W85.1", "M17.9", 45, 110, "OA", 4.0),
    "injection for low back pain without sciatica": ("A52.1", "M54.5", 18, 110, "", 0.5),
    "grommets for glue ear": ("D15.1", "H65.9", 1, 12, "", 1.5),
    "tonsillectomy for recurrent tonsillitis": ("F34.1", "J03.9", 3, 40, "", 0.8),
    "carpal tunnel release": ("A65.1", "G56.0", 30, 90, "", 1.2),
}
"""Low-value elective procedures, as day cases costing about £1,100. Practices differ in
how often their patients have them (log-normal, standard deviation 0.45 on the log scale:
the unwarranted variation the EBI programme targets), and one practice of the home place
refers three times as many (``home_practice_low_value_multiplier``)."""
LOW_VALUE_PRACTICE_SD = 0.45
LOW_VALUE_UNIT_COST_GBP = 1_100.0
OUTPATIENT_FIRST_SHARE = 0.35
TERTIARY_ELECTIVE_SHARE = 0.15
CONDITION_DIAGNOSIS_PER_WEIGHT = 0.35
"""Chance an admission's primary diagnosis is one of the person's conditions rises as
1 - exp(-0.35 x summed need weights of their conditions)."""

# Hip and knee replacement: elective inpatient spells with PROMs (NJR 2022: about 100,000
# of each a year in England, 1.8 per 1,000).
JOINT_REPLACEMENT_PER_1000 = {"hip_replacement": 1.8, "knee_replacement": 1.9}
JOINT_REPLACEMENT_AGE = (0, 0, 0.01, 0.05, 0.8, 3.0, 3.2, 1.2)
PROMS_RESPONSE = 0.75
PROMS_PRE_MEAN = {"hip_replacement": 0.35, "knee_replacement": 0.42}
PROMS_GAIN_MEAN = {"hip_replacement": 0.485, "knee_replacement": 0.335}
PROMS_SD = 0.22

# Readmissions: chance an emergency admission is followed within 30 days by another.
READMISSION_LOGIT_INTERCEPT = -2.6
READMISSION_LOGIT_NEED = 0.5

# --- Unit costs (£), national cost collection 2021/22 order of magnitude ------------------
UNIT_COST_GBP = {
    "gp_appointment": 40.0,
    "community_contact": 95.0,
    "mental_health_contact": 200.0,
    "ae_attendance": 190.0,
    "emergency_admission_fixed": 900.0,
    "emergency_admission_per_day": 330.0,
    "elective_inpatient_fixed": 2_200.0,
    "elective_inpatient_per_day": 450.0,
    "joint_replacement": 6_500.0,
    "day_case": 900.0,
    "outpatient_first": 200.0,
    "outpatient_follow_up": 135.0,
    "home_care_per_hour": 22.0,
    "residential_care_per_week": 800.0,
    "nursing_care_per_week": 950.0,
}

# --- Social care ---------------------------------------------------------------------------
HOME_CARE_LOGIT_INTERCEPT = -6.5
HOME_CARE_HOURS_PER_WEEK_MEAN = 9.0
CARE_HOME_ENTRY_LOGIT_INTERCEPT = -8.45
CARE_HOME_NURSING_SHARE = 0.4
SOCIAL_CARE_AGE_LOGIT = {65: 1.5, 75: 2.6, 85: 3.4}
SOCIAL_CARE_NEED_LOGIT = 1.2
SOCIAL_CARE_CONDITION_LOGIT = {"DEM": 1.6, "LD": 4.2, "PD": 0.8, "STIA": 0.6}

# --- Experience survey ---------------------------------------------------------------------
EXPERIENCE_SAMPLE_SHARE = 0.04
EXPERIENCE_PRACTICE_SD = 0.25
EXPERIENCE_CUTS = (-2.2, -1.5, -0.6, 0.55)
"""Cut points of the latent response for answers 1..5 (about 73% answer 4 or 5)."""
