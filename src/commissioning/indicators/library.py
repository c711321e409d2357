"""The indicator library (C9): indicators as data, validated by typed models.

Each indicator is an entry in ``indicators/library.toml``: what it counts (a declarative
filter compiled to Ibis, or a named computation for the few that cannot be pure data),
over which population, how it is standardised, which way is better, its unit, its tier
in the hierarchy of outcomes and the national indicator it imitates. Code lists (for
example the chronic ambulatory care sensitive conditions) live in the same file.

The three tiers follow the hierarchy of outcomes in NHS Confederation and PwC (2014),
after Porter (2010): tier 1 is health status achieved or retained (survival, degree of
health or recovery); tier 2 is the process of recovery (time to recovery and return to
normal activities, and the disutility of care: complications, errors, extra treatment);
tier 3 is the sustainability of health (recurrences and the long-term consequences of
care). Process measures (activity, spend) carry ``kind = "process"`` and sit outside
the hierarchy; they are given the tier of the outcome they are most often read against.
See ``docs/indicators.md``.
"""

from __future__ import annotations

import csv
import io
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from commissioning.core.schema import PLACE_OF_DEATH_CODES, POINTS_OF_DELIVERY, PROMS_PROCEDURES

Measure = Literal["rate", "proportion", "mean", "mean_per_person", "life_expectancy"]
Standardisation = Literal["none", "direct", "indirect"]
Polarity = Literal["higher_is_better", "lower_is_better", "neither"]
Source = Literal["activity", "deaths", "proms", "experience"]
Value = Literal["count", "cost_gbp", "units", "los_days", "eq5d_gain"]

#: Named computations for definitions that cannot be a filter alone (see ``frames.py``).
COMPUTATIONS = (
    "readmission_30_days",
    "at_home_91_days",
    "days_at_home",
    "life_expectancy",
)


class CodeList(BaseModel):
    """ICD-10 code prefixes (``"J45"`` matches J45 and J45.9) and where the list comes from.

    Prefixes are kept without dots (``"I24.0"`` is ``"I240"``) and compared with the
    diagnosis without its dot. ``file`` names a CSV of ``indicators/data/codelists/``
    (columns code, condition and secondary_in) read instead of ``prefixes``; a code with
    ``secondary_in`` counts only when the secondary diagnosis starts with one of those
    prefixes (``secondary_rules``), as J20 for COPD in NHS OF 2.3.i.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    prefixes: tuple[str, ...] = Field(min_length=1)
    secondary_rules: dict[str, tuple[str, ...]] = {}
    source: str

    @model_validator(mode="before")
    @classmethod
    def _from_file(cls, data: object) -> object:
        if isinstance(data, dict) and "file" in data:
            data = dict(data)
            rows = codelist_rows(str(data.pop("file")))
            data["prefixes"] = tuple(r["code"] for r in rows)
            data["secondary_rules"] = {
                r["code"]: tuple(r["secondary_in"].split(";")) for r in rows if r["secondary_in"]
            }
        return data

    @field_validator("prefixes")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not prefix[:1].isalpha() or prefix != prefix.upper():
                raise ValueError(
                    f"code prefix {prefix!r} must start with an upper-case ICD-10 chapter letter "
                    "(for example 'J45'); fix the code list"
                )
        return tuple(p.replace(".", "") for p in value)


def codelist_rows(name: str) -> list[dict[str, str]]:
    """Rows (code without its dot, condition, secondary_in) of a packaged code list CSV.

    Lines starting with ``#`` are the header comment (source, publisher, version)."""
    path = resources.files("commissioning.indicators").joinpath("data", "codelists", name)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ValueError(
            f"code list file {name!r} is not in commissioning/indicators/data/codelists/"
        ) from None
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    rows = []
    for row in csv.DictReader(io.StringIO(body)):
        rows.append(
            {
                "code": row["code"].strip().replace(".", ""),
                "condition": row.get("condition", "").strip(),
                "secondary_in": row.get("secondary_in", "").strip().replace(".", ""),
            }
        )
    return rows


def codelist_header(name: str) -> list[str]:
    """The header comment of a packaged code list CSV, without the ``#``."""
    path = resources.files("commissioning.indicators").joinpath("data", "codelists", name)
    return [
        line.lstrip("#").strip()
        for line in path.read_text("utf-8").splitlines()
        if line.startswith("#")
    ]


class Specification(BaseModel):
    """The published definition an indicator implements.

    ``body`` publishes it, ``indicator`` is its number or code in that framework,
    ``title`` its published name and ``version`` the specification's version or date.
    ``standardisation`` says in words how the published indicator is standardised.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    body: str = Field(min_length=2)
    framework: str = Field(min_length=2)
    indicator: str = Field(min_length=1)
    title: str = Field(min_length=3)
    version: str = Field(min_length=4)
    standardisation: str = "none"
    url: str = ""

    @property
    def label(self) -> str:
        """For example ``NHS Outcomes Framework 2.3.i (NHS Digital, February 2021)``."""
        return f"{self.framework} {self.indicator}: {self.title} ({self.body}, {self.version})"


class Filter(BaseModel):
    """Which records count: compiled to an Ibis filter by ``frames.records``.

    ``source`` picks the table (activity events, deaths from the people table, PROMs
    records or survey responses); every other field narrows it. Ages are in completed
    years on 1 October of the financial year the record falls in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source = "activity"
    point_of_delivery: tuple[str, ...] = ()
    diagnosis_in: str | None = None
    age_min: int | None = Field(None, ge=0, le=120)
    age_max: int | None = Field(None, ge=0, le=120)
    sex: Literal["M", "F"] | None = None
    cause_in: str | None = None
    place_of_death_in: tuple[str, ...] = ()
    procedure: str | None = None
    response_min: int | None = Field(None, ge=1, le=5)
    value: Value = "count"

    @field_validator("point_of_delivery", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("point_of_delivery")
    @classmethod
    def _known_pod(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pod in value:
            if pod not in POINTS_OF_DELIVERY:
                raise ValueError(
                    f"unknown point_of_delivery {pod!r}; use one of {', '.join(POINTS_OF_DELIVERY)}"
                )
        return value

    @field_validator("place_of_death_in")
    @classmethod
    def _known_place(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for place in value:
            if place not in PLACE_OF_DEATH_CODES:
                raise ValueError(
                    f"unknown place_of_death {place!r}; "
                    f"use one of {', '.join(PLACE_OF_DEATH_CODES)}"
                )
        return value

    @field_validator("procedure")
    @classmethod
    def _known_procedure(cls, value: str | None) -> str | None:
        if value is not None and value not in PROMS_PROCEDURES:
            raise ValueError(
                f"unknown procedure {value!r}; use one of {', '.join(PROMS_PROCEDURES)}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Filter:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError(
                f"age_min ({self.age_min}) is above age_max ({self.age_max}); swap them"
            )
        if self.source != "activity" and (
            self.point_of_delivery or self.diagnosis_in or self.cause_in
        ):
            raise ValueError(
                "point_of_delivery, diagnosis_in and cause_in apply only to source = 'activity'; "
                "remove them or change source"
            )
        if self.place_of_death_in and self.source != "deaths":
            raise ValueError("place_of_death_in applies only to source = 'deaths'")
        if self.procedure and self.source != "proms":
            raise ValueError("procedure applies only to source = 'proms'")
        if self.response_min and self.source != "experience":
            raise ValueError("response_min applies only to source = 'experience'")
        if self.value == "eq5d_gain" and self.source != "proms":
            raise ValueError("value = 'eq5d_gain' needs source = 'proms'")
        if self.value in ("cost_gbp", "units", "los_days") and self.source != "activity":
            raise ValueError(f"value = {self.value!r} needs source = 'activity'")
        return self


class PopulationFilter(BaseModel):
    """The mid-year population a rate is per (or the people a per-person mean is over)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age_min: int | None = Field(None, ge=0, le=120)
    age_max: int | None = Field(None, ge=0, le=120)
    sex: Literal["M", "F"] | None = None


class Indicator(BaseModel):
    """One indicator: its definition, statistics and place in the outcomes hierarchy.

    ``measure`` sets the statistic: ``rate`` (numerator records per mid-year population,
    exact Poisson/Byar intervals, or a DSR with Dobson limits), ``proportion`` (numerator
    records among the denominator's, Wilson), ``mean`` (mean of ``numerator.value`` over
    the records, Student's t), ``mean_per_person`` (each person's yearly total of
    ``numerator.value``, averaged over the mid-year population, zeros included) or
    ``life_expectancy`` (Chiang II).

    ``spec`` names the published definition it implements; ``adapted`` says how this
    implementation departs from it where the data cannot support the definition (empty
    when it follows the definition as published). ``source``, the one-line provenance shown
    in reports, is made from them when not given.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=3)
    description: str = ""
    measure: Measure
    numerator: Filter | None = None
    denominator: Filter | None = None
    population: PopulationFilter = PopulationFilter()
    computation: str | None = None
    standardisation: Standardisation = "none"
    polarity: Polarity
    unit: str
    multiplier: float = Field(1.0, gt=0)
    tier: Literal[1, 2, 3]
    kind: Literal["outcome", "process"]
    spec: Specification | None = None
    adapted: str = ""
    source: str = ""
    notes: str = ""

    @model_validator(mode="before")
    @classmethod
    def _provenance(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("source") and isinstance(data.get("spec"), dict):
            spec = Specification.model_validate(data["spec"])
            adapted = str(data.get("adapted", ""))
            data = {**data, "source": spec.label + (f"; adapted: {adapted}" if adapted else "")}
        return data

    @model_validator(mode="after")
    def _named(self) -> Indicator:
        if len(self.source) < 3:
            raise ValueError(
                "name the definition the indicator implements: spec = { body, framework, "
                "indicator, title, version } (or a source text)"
            )
        return self

    @field_validator("computation")
    @classmethod
    def _known_computation(cls, value: str | None) -> str | None:
        if value is not None and value not in COMPUTATIONS:
            raise ValueError(
                f"unknown computation {value!r}; use one of {', '.join(COMPUTATIONS)} "
                "or describe the records with numerator/denominator filters"
            )
        return value

    @model_validator(mode="after")
    def _complete(self) -> Indicator:
        if self.computation is None:
            if self.measure in ("rate", "mean", "mean_per_person") and self.numerator is None:
                raise ValueError(
                    f"measure {self.measure!r} needs a numerator filter, "
                    "e.g. numerator = {point_of_delivery = 'ae_attendance'}"
                )
            if self.measure == "proportion" and (
                self.numerator is None or self.denominator is None
            ):
                raise ValueError(
                    "measure 'proportion' needs a denominator filter (the records) and a numerator "
                    "filter (the condition a record must also meet)"
                )
            if self.measure == "life_expectancy":
                raise ValueError("measure 'life_expectancy' needs computation = 'life_expectancy'")
        if self.standardisation != "none" and self.measure != "rate":
            raise ValueError(
                f"standardisation {self.standardisation!r} applies only to measure 'rate'; "
                "set standardisation = 'none'"
            )
        return self


class Library(BaseModel):
    """All indicators and the code lists they use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    codelists: dict[str, CodeList] = {}
    indicators: tuple[Indicator, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Library:
        seen: set[str] = set()
        for ind in self.indicators:
            if ind.id in seen:
                raise ValueError(f"indicator id {ind.id!r} is used twice; ids must be unique")
            seen.add(ind.id)
            for part in (ind.numerator, ind.denominator):
                for field, name in (
                    ("diagnosis_in", part.diagnosis_in if part else None),
                    ("cause_in", part.cause_in if part else None),
                ):
                    if name and name not in self.codelists:
                        raise ValueError(
                            f"indicator {ind.id!r}: {field} = {name!r} is not a code "
                            f"list; add [codelists.{name}] or use one of "
                            f"{', '.join(self.codelists) or '(none defined)'}"
                        )
        return self

    def get(self, indicator_id: str) -> Indicator:
        """The indicator with this id (``KeyError`` naming the known ids if absent)."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(f"no indicator {indicator_id!r}; known: {', '.join(self.ids)}")

    @property
    def ids(self) -> list[str]:
        return [ind.id for ind in self.indicators]


class LibraryError(ValueError):
    """A library file that does not validate; the message names each field and the fix."""


def parse_library(text: str) -> Library:
    """Validate the TOML text of a library; errors name the entry, the field and the fix."""
    data = tomllib.loads(text)
    try:
        return Library.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = list(err["loc"])
            where = ".".join(str(p) for p in loc)
            if len(loc) >= 2 and loc[0] == "indicators" and isinstance(loc[1], int):
                entries = data.get("indicators", [])
                ident = entries[loc[1]].get("id", "?") if loc[1] < len(entries) else "?"
                where = f"indicator {ident!r}: " + ".".join(str(p) for p in loc[2:])
            lines.append(f"{where}: {err['msg']}")
        raise LibraryError("indicator library is not valid:\n  " + "\n  ".join(lines)) from None


def load_library(path: Path | None = None) -> Library:
    """The library at ``path``, or the packaged ``library.toml`` when none is given."""
    if path is None:
        return default_library()
    return parse_library(path.read_text(encoding="utf-8"))


@cache
def default_library() -> Library:
    """The built-in library shipped in ``commissioning/indicators/library.toml``."""
    text = resources.files("commissioning.indicators").joinpath("library.toml").read_text("utf-8")
    return parse_library(text)
