"""England comparators: published national values and the Fingertips comparison.

The national (England) value of an indicator comes from a dated data file shipped with the
package, ``indicators/data/england.csv``: one row per indicator ``id`` of the library and
area (England, or a region where one was found), with the period, the value in the
library's own unit, its interval where published, the national indicator it is, the
publisher, the table or page it was read from, the date it was published and a note.
Nothing is fetched at run time. An indicator with no row has no England value, and the
pages say so rather than show an invented one. See ``docs/methods/england-comparison.md``.

:func:`compare_with_england` is the comparison that OHID's Fingertips profiles show
("better, similar or worse than England"): the area's 95% confidence interval against the
England value, read with the indicator's polarity (Public Health England, *Technical
Guide: RAG rating indicator values*, 2017; Fingertips, Public Health Outcomes Framework,
"Further information: colour shading").
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from commissioning.indicators.library import Library, Polarity, default_library

ENGLAND = "England"
#: Columns of ``england.csv``, in order.
COLUMNS = (
    "indicator_id",
    "area",
    "period",
    "value",
    "lower",
    "upper",
    "unit",
    "national_indicator",
    "publisher",
    "source",
    "url",
    "published",
    "note",
)
Verdict = Literal["better", "similar", "worse", "higher", "lower", "not compared"]
VERDICTS: tuple[Verdict, ...] = ("better", "similar", "worse", "higher", "lower", "not compared")
_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class NationalValue(BaseModel):
    """One published value of an indicator for England (or a region), in the library's
    unit, with where it was read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator_id: str = Field(min_length=1)
    area: str = Field(min_length=1)
    period: str = Field(min_length=1)
    value: float
    lower: float | None = None
    upper: float | None = None
    unit: str = Field(min_length=1)
    national_indicator: str = Field(min_length=3)
    publisher: str = Field(min_length=2)
    source: str = Field(min_length=3)
    url: str = Field(pattern=r"^https?://")
    published: str = ""
    note: str = ""

    @field_validator("value", "lower", "upper")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("published")
    @classmethod
    def _date(cls, value: str) -> str:
        if value and not _DATE.match(value):
            raise ValueError(
                f"published {value!r} is not a date; write YYYY-MM-DD (or YYYY-MM when the "
                "source gives only the month), or leave it empty when the source does not say"
            )
        return value

    @model_validator(mode="after")
    def _interval(self) -> NationalValue:
        if (self.lower is None) != (self.upper is None):
            raise ValueError("give both lower and upper, or neither")
        if (
            self.lower is not None
            and self.upper is not None
            and not self.lower <= self.value <= self.upper
        ):
            raise ValueError(
                f"the value {self.value:g} is not between lower {self.lower:g} and "
                f"upper {self.upper:g}; check the columns"
            )
        return self


class NationalValuesError(ValueError):
    """A national values file that does not validate; the message names the row, the
    indicator and the fix."""


class NationalValues:
    """The validated national values, looked up by indicator id and area."""

    def __init__(self, values: Iterable[NationalValue]) -> None:
        self.values = tuple(values)
        self._by_key = {(v.indicator_id, v.area): v for v in self.values}

    def get(self, indicator_id: str, area: str = ENGLAND) -> NationalValue | None:
        """The value for ``indicator_id`` in ``area``, or None when none is shipped."""
        return self._by_key.get((indicator_id, area))

    def england(self, indicator_id: str) -> NationalValue | None:
        return self.get(indicator_id, ENGLAND)

    @property
    def ids(self) -> list[str]:
        """Indicator ids with an England value."""
        return [v.indicator_id for v in self.values if v.area == ENGLAND]

    def frame(self) -> pd.DataFrame:
        """Every row as a table with the columns of ``england.csv``."""
        return pd.DataFrame([v.model_dump() for v in self.values], columns=list(COLUMNS))


def _number(text: str) -> float | None:
    text = text.strip().replace(",", "")
    return float(text) if text else None


def parse_national_values(text: str, library: Library | None = None) -> NationalValues:
    """Validate the CSV text of a national values file against ``library``.

    Every row must name an indicator of the library (keyed by its ``id``), in that
    indicator's unit, once per area. Errors name the row, the indicator and the fix.
    """
    lib = library or default_library()
    reader = csv.DictReader(io.StringIO(text))
    header = tuple(reader.fieldnames or ())
    if header != COLUMNS:
        raise NationalValuesError(
            f"national values file: the columns are {', '.join(header) or '(none)'}; "
            f"they must be, in order: {', '.join(COLUMNS)}"
        )
    problems: list[str] = []
    values: list[NationalValue] = []
    seen: set[tuple[str, str]] = set()
    for line, row in enumerate(reader, start=2):
        ident = (row.get("indicator_id") or "").strip()
        where = f"row {line} ({ident or 'no indicator_id'})"
        if ident not in lib.ids:
            problems.append(
                f"{where}: indicator_id {ident!r} is not in the indicator library; use the "
                f"library's id (one of {', '.join(lib.ids)}) or remove the row"
            )
            continue
        try:
            fields: dict[str, object] = {k: (v or "").strip() for k, v in row.items()}
            for column in ("value", "lower", "upper"):
                fields[column] = _number(str(fields[column]))
            value = NationalValue.model_validate(fields)
        except (ValidationError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                for err in exc.errors():
                    field = ".".join(str(p) for p in err["loc"]) or "row"
                    problems.append(f"{where}: {field}: {err['msg']}")
            else:
                problems.append(f"{where}: a number column holds text ({exc}); write a number")
            continue
        unit = lib.get(ident).unit
        if value.unit != unit:
            problems.append(
                f"{where}: unit {value.unit!r} is not the library's unit {unit!r}; convert the "
                "published value to the library's unit and write that unit"
            )
            continue
        key = (value.indicator_id, value.area)
        if key in seen:
            problems.append(f"{where}: a second row for area {value.area!r}; keep one")
            continue
        seen.add(key)
        values.append(value)
    if problems:
        raise NationalValuesError("national values file is not valid:\n  " + "\n  ".join(problems))
    return NationalValues(values)


def load_national_values(
    path: Path | None = None, library: Library | None = None
) -> NationalValues:
    """The national values at ``path``, or the packaged ``england.csv`` when none is given."""
    if path is None and library is None:
        return default_national_values()
    text = _packaged_text() if path is None else path.read_text(encoding="utf-8")
    return parse_national_values(text, library)


def _packaged_text() -> str:
    return (
        resources.files("commissioning.indicators")
        .joinpath("data/england.csv")
        .read_text(encoding="utf-8")
    )


@cache
def default_national_values() -> NationalValues:
    """The packaged ``indicators/data/england.csv``, checked against the built-in library."""
    return parse_national_values(_packaged_text())


# --- the comparison -----------------------------------------------------------------------


def _missing(x: float | None) -> bool:
    return x is None or not math.isfinite(float(x))


def compare_with_england(
    value: float | None,
    lower: float | None,
    upper: float | None,
    england: float | None,
    polarity: Polarity,
    *,
    suppressed: bool = False,
) -> Verdict:
    """Better, similar or worse than England, as Fingertips shows it.

    The area differs significantly from England when its 95% confidence interval
    (``lower`` to ``upper``) excludes the England value: an interval wholly above England
    is "higher", wholly below "lower"; an interval that includes it (touching counts) is
    "similar". With the indicator's polarity, higher is "better" where higher is better
    and "worse" where lower is better; an indicator with no better direction keeps
    "higher" or "lower". No verdict ("not compared") when the area's value is suppressed
    or missing, has no interval, or no England value is shipped. The England value is
    taken as fixed, as Fingertips does when it compares an area with England.
    """
    if suppressed or any(_missing(x) for x in (value, lower, upper, england)):
        return "not compared"
    assert lower is not None and upper is not None and england is not None
    if lower > england:
        side: Verdict = "higher"
    elif upper < england:
        side = "lower"
    else:
        return "similar"
    if polarity == "neither":
        return side
    good = "higher" if polarity == "higher_is_better" else "lower"
    return "better" if side == good else "worse"


def compare_frame(
    frame: pd.DataFrame,
    library: Library | None = None,
    national: NationalValues | None = None,
) -> pd.DataFrame:
    """``frame`` (columns indicator_id, value, lower, upper, suppressed, as from
    ``compute_all``) with the England value, its interval, period and source, and the
    verdict of :func:`compare_with_england` for each row."""
    lib = library or default_library()
    nat = national or default_national_values()
    out = frame.copy()
    rows = []
    for _, r in out.iterrows():
        ind = lib.get(str(r["indicator_id"]))
        eng = nat.england(ind.id)
        rows.append(
            {
                "england_value": np.nan if eng is None else eng.value,
                "england_lower": np.nan if eng is None or eng.lower is None else eng.lower,
                "england_upper": np.nan if eng is None or eng.upper is None else eng.upper,
                "england_period": "" if eng is None else eng.period,
                "england_source": "" if eng is None else f"{eng.publisher}: {eng.source}",
                "verdict": compare_with_england(
                    r["value"],
                    r["lower"],
                    r["upper"],
                    None if eng is None else eng.value,
                    ind.polarity,
                    suppressed=bool(r["suppressed"]),
                ),
            }
        )
    extra = pd.DataFrame(
        rows,
        index=out.index,
        columns=[
            "england_value",
            "england_lower",
            "england_upper",
            "england_period",
            "england_source",
            "verdict",
        ],
    )
    for column in extra.columns:
        out[column] = extra[column]
    return out
