"""The canonical data model (C1): every table, column, type, unit and meaning.

One declarative registry drives three things, so they cannot drift apart:
the DuckDB tables of the store, the row-level validation of the loader, and
the reference page ``docs/data-model.md`` (generated, and checked by a test).

Words follow the NHS Data Dictionary where it has one (``point_of_delivery``,
``ods_code``, ``lsoa``, ``spell``); units are in column names (``cost_gbp``,
``los_days``).  People are known only by ``person_id``, a keyed pseudonym made
from the NHS number at the door (see :mod:`commissioning.data.pseudonymise`);
input files carry ``nhs_number`` instead, and it never reaches the store.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

DType = Literal["string", "integer", "double", "decimal", "date"]

DUCKDB_TYPES: dict[DType, str] = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "double": "DOUBLE",
    "decimal": "DECIMAL(14, 2)",
    "date": "DATE",
}


#: Code formats checked on loading: column -> (regular expression, what it should look like).
FORMATS: dict[str, tuple[str, str]] = {
    "lsoa_code": (
        r"^[EWS]0[0-9]{7}$",
        "a small-area (LSOA or data zone) code such as E01000001",
    ),
    "practice_code": (r"^[A-Z][0-9]{5}$", "a GP practice ODS code such as A81001"),
    "provider_code": (r"^[A-Z0-9]{3,6}$", "an ODS organisation code such as RAA or A81001"),
}
#: Dates before this are not plausible in any extract.
EARLIEST_DATE = "1900-01-01"
#: No one alive is older than this (the oldest people in the UK are about 115).
OLDEST_ALIVE = 115


@dataclass(frozen=True)
class Column:
    """One column: its type, unit, meaning and the values it may take."""

    name: str
    dtype: DType
    meaning: str
    unit: str = ""
    required: bool = True
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    #: A file may leave the column out altogether (it is read as empty): for columns added
    #: after files were first written, so older files still load.
    may_be_absent: bool = False


@dataclass(frozen=True)
class Table:
    """A canonical table; ``primary_key`` makes loads idempotent."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    synthetic_only: bool = False
    checks: tuple[tuple[str, str], ...] = field(default=())
    """Row checks across columns: (SQL condition that must hold, reason if not)."""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


SEX_CODES = ("M", "F")
"""Person phenotypic sex: M (NHS Data Dictionary code 1, male), F (code 2, female)."""

PLACE_OF_DEATH_CODES = ("hospital", "home", "care_home", "hospice", "other")

RURALITY_CODES = ("urban", "mixed", "rural")

POINTS_OF_DELIVERY: dict[str, str] = {
    # point_of_delivery: setting
    "gp_appointment": "primary_care",
    "community_contact": "community",
    "mental_health_contact": "mental_health",
    "ae_attendance": "ae",
    "emergency_admission": "admitted_patient_care",
    "elective_inpatient": "admitted_patient_care",
    "day_case": "admitted_patient_care",
    "outpatient_first": "outpatient",
    "outpatient_follow_up": "outpatient",
    "home_care": "social_care",
    "residential_care": "social_care",
    "nursing_care": "social_care",
}
SETTINGS = tuple(dict.fromkeys(POINTS_OF_DELIVERY.values()))

COST_RANGE_GBP: dict[str, tuple[int, int]] = {
    # point_of_delivery: (lowest, highest) plausible cost of one event, in pounds
    "gp_appointment": (0, 500),
    "community_contact": (0, 1_000),
    "mental_health_contact": (0, 5_000),
    "ae_attendance": (0, 5_000),
    "emergency_admission": (5, 500_000),
    "elective_inpatient": (5, 500_000),
    "day_case": (5, 50_000),
    "outpatient_first": (0, 5_000),
    "outpatient_follow_up": (0, 5_000),
    "home_care": (0, 250_000),
    "residential_care": (0, 1_000_000),
    "nursing_care": (0, 1_000_000),
}
"""The plausible cost of one ``activity`` row for each point of delivery (£, both ends
included): a row outside its range is rejected.

These are deliberately wide plausibility bounds, not tariffs or prices. They are set
from the orders of magnitude of the NHS National Cost Collection (the National
Schedule of NHS Costs 2022/23: most outpatient and A&E attendances cost tens to
hundreds of pounds, day cases hundreds to a few thousand, elective and non-elective
spells hundreds to tens of thousands, with long critical care spells reaching hundreds
of thousands) and, for GP appointments and social care, the PSSRU Unit Costs of Health
and Social Care 2023 (a GP appointment tens of pounds; home care tens of pounds an
hour; a care home placement about £1,000 to £2,000 a week, specialist placements
several times that). A social care row is a package over a period (up to a year or
more), so its ceiling is that of a year of the costliest care.

The floors are low on purpose: they catch an amount given in thousands of pounds
(``2.2`` for a £2,200 spell). Zero is allowed where unpriced contacts are ordinary and
where the synthetic generator's cost noise reaches below a pound (an A&E attendance at
25p in the default population). Every row the generator writes lies well inside its
range (a test checks).
"""

UNITS_BY_POINT_OF_DELIVERY: dict[str, str] = {
    "home_care": "hours of care",
    "residential_care": "weeks of placement",
    "nursing_care": "weeks of placement",
}
"""What ``activity.units`` counts; every other point of delivery counts contacts (1)."""

PROMS_PROCEDURES = ("hip_replacement", "knee_replacement")

ICD10_PATTERN = r"^[A-Z][0-9]{2}(\.?[0-9A-Z]{0,2})?$"
#: Columns holding an ICD-10 code, checked against ``ICD10_PATTERN`` by the loader.
ICD10_COLUMNS = ("primary_diagnosis", "secondary_diagnosis", "external_cause")
NHS_NUMBER_PATTERN = r"^[0-9]{10}$"


@cache
def condition_codes() -> tuple[str, ...]:
    """Codes of the long-term conditions, in the order of ``conditions.csv``."""
    return tuple(row["condition_code"] for row in condition_rows())


@cache
def condition_rows() -> tuple[dict[str, str], ...]:
    """Rows of the packaged condition list (``core/data/conditions.csv``)."""
    text = resources.files("commissioning.core").joinpath("data/conditions.csv").read_text()
    return tuple(csv.DictReader(text.splitlines()))


def _person_key(meaning: str = "Keyed pseudonym of the person's NHS number") -> Column:
    return Column("person_id", "string", meaning)


_BIRTH_MONTH_START = (
    "TRY_CAST(concat(birth_year, '-', lpad(CAST(birth_month AS VARCHAR), 2, '0'), '-01') AS DATE)"
)

PLACES = Table(
    name="places",
    description="Places: the areas a commissioner plans for (for example an ICB sub-location "
    "or a local authority) and their peers.",
    columns=(
        Column("place_code", "string", "Code of the place"),
        Column("place_name", "string", "Name of the place"),
        Column("rurality", "string", "Rural-urban character of the place", codes=RURALITY_CODES),
        Column(
            "is_home",
            "integer",
            "1 for the commissioner's own place, 0 for a peer",
            minimum=0,
            maximum=1,
        ),
    ),
    primary_key=("place_code",),
)

GP_PRACTICES = Table(
    name="gp_practices",
    description="GP practices (general medical practices) and the place they belong to.",
    columns=(
        Column("practice_code", "string", "ODS code of the GP practice"),
        Column("practice_name", "string", "Name of the GP practice"),
        Column("place_code", "string", "Place the practice belongs to"),
    ),
    primary_key=("practice_code",),
)

PEOPLE = Table(
    name="people",
    description="People registered with a GP practice: one row a person. Identified only by "
    "a pseudonym; date of birth is kept to the month.",
    columns=(
        _person_key(),
        Column("birth_year", "integer", "Year of birth", minimum=1900, maximum=2100),
        Column("birth_month", "integer", "Month of birth (1 to 12)", minimum=1, maximum=12),
        Column("sex", "string", "Person phenotypic sex (M male, F female)", codes=SEX_CODES),
        Column("lsoa_code", "string", "Lower layer super output area of residence (small area)"),
        Column(
            "imd_decile",
            "integer",
            "Index of Multiple Deprivation decile of the small area (1 most deprived, "
            "10 least deprived)",
            minimum=1,
            maximum=10,
        ),
        Column("practice_code", "string", "ODS code of the registered GP practice"),
        Column("registration_date", "date", "Date the registration with the practice began"),
        Column(
            "deregistration_date",
            "date",
            "Date the registration ended (moved away), if it did",
            required=False,
        ),
        Column("death_date", "date", "Date of death, if the person has died", required=False),
        Column(
            "place_of_death",
            "string",
            "Place of death, if the person has died",
            required=False,
            codes=PLACE_OF_DEATH_CODES,
        ),
    ),
    primary_key=("person_id",),
    checks=(
        (
            f"registration_date >= {_BIRTH_MONTH_START}",
            "registration_date is before the month of birth",
        ),
        (
            "deregistration_date IS NULL OR deregistration_date >= registration_date",
            "deregistration_date is before registration_date",
        ),
        (
            f"death_date IS NULL OR death_date >= {_BIRTH_MONTH_START}",
            "death_date is before the month of birth",
        ),
        (
            "death_date IS NULL OR registration_date <= death_date",
            "registration_date is after death_date",
        ),
        (
            f"death_date IS NOT NULL OR birth_year >= year(current_date) - {OLDEST_ALIVE}",
            f"alive and older than {OLDEST_ALIVE}: check birth_year or the missing death_date",
        ),
        (
            "(death_date IS NULL) = (place_of_death IS NULL)",
            "place_of_death must be given exactly when death_date is",
        ),
    ),
)

CONDITIONS = Table(
    name="conditions",
    description="Long-term conditions recorded for a person, with the date of first diagnosis. "
    "The list of conditions and their ICD-10 code groups is in core/data/conditions.csv.",
    columns=(
        _person_key(),
        Column(
            "condition_code", "string", "Long-term condition (see the condition list)", codes=()
        ),  # filled from conditions.csv at validation time
        Column("diagnosis_date", "date", "Date the condition was first diagnosed"),
    ),
    primary_key=("person_id", "condition_code"),
)

ACTIVITY = Table(
    name="activity",
    description="Activity events: every contact, attendance, admission (a hospital spell) and "
    "social care package, with its setting, point of delivery, provider, dates and cost.",
    columns=(
        Column("activity_id", "string", "Identifier of the event in its source system"),
        _person_key(),
        Column("setting", "string", "Setting of care", codes=SETTINGS),
        Column(
            "point_of_delivery",
            "string",
            "Point of delivery within the setting",
            codes=tuple(POINTS_OF_DELIVERY),
        ),
        Column("provider_code", "string", "ODS code of the provider (organisation) of care"),
        Column(
            "start_date",
            "date",
            "Date the event began (admission, appointment, arrival, package start)",
        ),
        Column(
            "end_date",
            "date",
            "Date the event ended (discharge, package end); equals start_date for a contact",
        ),
        Column(
            "los_days",
            "integer",
            "Length of stay of an admission in days (discharge date "
            "minus admission date; 0 for a day case or same-day spell)",
            unit="days",
            required=False,
            minimum=0,
            maximum=3650,
        ),
        Column("primary_diagnosis", "string", "Primary diagnosis, ICD-10 code", required=False),
        Column(
            "secondary_diagnosis",
            "string",
            "First secondary diagnosis, ICD-10 code (hospital data: the second diagnosis "
            "position that is not an external cause)",
            required=False,
            may_be_absent=True,
        ),
        Column(
            "external_cause",
            "string",
            "External cause of an injury, ICD-10 chapter XX code (V01 to Y98), e.g. W19 for "
            "a fall; in hospital data it is coded in a secondary position",
            required=False,
            may_be_absent=True,
        ),
        Column("procedure_code", "string", "Main procedure, OPCS-4 code", required=False),
        Column(
            "units",
            "double",
            "Quantity delivered: 1 for a contact, attendance or spell; "
            "hours for home care; weeks for residential and nursing placements",
            unit="contacts, hours or weeks",
            minimum=0,
        ),
        Column(
            "cost_gbp",
            "decimal",
            "Cost of the event to the commissioner",
            unit="£",
            minimum=0,
        ),  # and within the range of its point of delivery: COST_RANGE_GBP
    ),
    primary_key=("activity_id",),
    checks=(
        ("end_date >= start_date", "end_date is before start_date"),
        (
            "(point_of_delivery || '|' || setting) IN ("
            + ", ".join(f"'{pod}|{setting}'" for pod, setting in POINTS_OF_DELIVERY.items())
            + ")",
            "setting does not match point_of_delivery",
        ),
        (
            "los_days IS NULL OR los_days = date_diff('day', start_date, end_date)",
            "los_days does not equal end_date minus start_date",
        ),
    ),
)

PROMS = Table(
    name="proms",
    description="Patient reported outcome measures for hip and knee replacement: EQ-5D-3L "
    "index before and six months after the operation.",
    columns=(
        _person_key(),
        Column("activity_id", "string", "The elective admission in which the operation was done"),
        Column("procedure", "string", "Procedure", codes=PROMS_PROCEDURES),
        Column("operation_date", "date", "Date of the operation"),
        Column(
            "eq5d_index_pre",
            "double",
            "EQ-5D-3L index before the operation",
            unit="index (-0.594 to 1)",
            minimum=-0.594,
            maximum=1,
        ),
        Column(
            "eq5d_index_post",
            "double",
            "EQ-5D-3L index six months after",
            unit="index (-0.594 to 1)",
            minimum=-0.594,
            maximum=1,
        ),
    ),
    primary_key=("activity_id",),
)

EXPERIENCE = Table(
    name="experience",
    description="Patient experience survey responses (in the style of the GP Patient Survey "
    "question 'overall, how would you describe your experience of your GP practice?').",
    columns=(
        _person_key(),
        Column("practice_code", "string", "ODS code of the GP practice the answer is about"),
        Column("survey_date", "date", "Date of the response"),
        Column("question_code", "string", "Question asked", codes=("overall_experience",)),
        Column(
            "response",
            "integer",
            "Answer from 1 (very poor) to 5 (very good)",
            minimum=1,
            maximum=5,
        ),
    ),
    primary_key=("person_id", "survey_date", "question_code"),
)

SYNTHETIC_PERSON_YEAR = Table(
    name="synthetic_person_year",
    description="Ground truth kept by the synthetic population generator, one row a person and "
    "financial year: the latent need and the true chance of an emergency admission. Never "
    "present in real data; used to judge methods against the truth.",
    columns=(
        _person_key(),
        Column(
            "year",
            "integer",
            "Financial year, by the calendar year it starts in (2022 is April 2022 to March 2023)",
        ),
        Column("need_index", "double", "Latent need (log scale; 0 is the population mean)"),
        Column(
            "expected_emergency_admissions",
            "double",
            "Expected number of emergency admissions in the year (Poisson mean, for the "
            "time the person was registered), before readmissions and end-of-life admissions",
            unit="admissions",
        ),
        Column(
            "p_emergency_admission",
            "double",
            "True probability of at least one emergency admission in the year",
            unit="probability",
            minimum=0,
            maximum=1,
        ),
    ),
    primary_key=("person_id", "year"),
    synthetic_only=True,
)

SYNTHETIC_PRACTICE_EFFECTS = Table(
    name="synthetic_practice_effects",
    description="Practice styles planted by the synthetic generator: the multiplier each "
    "practice applies to a kind of activity. A benchmark should find the large ones.",
    columns=(
        Column("practice_code", "string", "ODS code of the GP practice"),
        Column(
            "effect",
            "string",
            "Activity the style changes",
            codes=(
                "gp_access",
                "outpatient_referral",
                "emergency_admission",
                "ae_use",
                "low_value_procedures",
            ),
        ),
        Column("multiplier", "double", "Rate multiplier against a typical practice", unit="ratio"),
        Column(
            "planted",
            "integer",
            "1 where the effect was planted on purpose, 0 for the "
            "ordinary practice-to-practice spread",
            minimum=0,
            maximum=1,
        ),
    ),
    primary_key=("practice_code", "effect"),
    synthetic_only=True,
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        PLACES,
        GP_PRACTICES,
        PEOPLE,
        CONDITIONS,
        ACTIVITY,
        PROMS,
        EXPERIENCE,
        SYNTHETIC_PERSON_YEAR,
        SYNTHETIC_PRACTICE_EFFECTS,
    )
}
"""Every canonical table, in load order (dimensions before facts)."""

PERSON_TABLES = tuple(name for name, t in TABLES.items() if "person_id" in t.column_names)


def money_columns(table: Table) -> list[str]:
    """The columns of a table that hold amounts of money (``DECIMAL``, in pounds)."""
    return [c.name for c in table.columns if c.dtype == "decimal"]


def allowed_codes(table: Table, column: Column) -> tuple[str, ...]:
    """The values a coded column may take (the condition list is read from its data file)."""
    if table.name == "conditions" and column.name == "condition_code":
        return condition_codes()
    return column.codes


def create_table_sql(table: Table) -> str:
    """DuckDB ``CREATE TABLE IF NOT EXISTS`` statement for a canonical table.

    The table's key is kept by the loader, not by an index: a load rejects, with a
    reason, a row whose key is already in the store or on an earlier line of its file.
    An index over the keys of tens of millions of events would have to be built on every
    insert and held in memory until the commit. (Stores made before this keep their
    index, which slows their loads but does no other harm.)"""
    cols = ",\n  ".join(
        f"{c.name} {DUCKDB_TYPES[c.dtype]}{'' if not c.required else ' NOT NULL'}"
        for c in table.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n  {cols}\n)"
