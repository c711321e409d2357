"""Shared field types for contract models, each with an error message that says the fix.

Pydantic's own messages ("Input should be less than or equal to 1") say what is wrong but
not what to write instead. These annotated types raise :class:`PydanticCustomError` with a
message a contract manager can act on; :mod:`commissioning.contracts.load` puts the field
path in front of it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError


class StrictModel(BaseModel):
    """Base for contract models: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _fraction(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise PydanticCustomError(
            "fraction", "must be between 0 and 1 — write it as a fraction, e.g. 0.5"
        )
    return value


def _money_gbp(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError(
            "money_negative", "must not be negative — write the amount in pounds, e.g. 23000000"
        )
    if value != value.quantize(Decimal("0.01")):
        raise PydanticCustomError(
            "money_places",
            "has more than two decimal places — write pounds and pence, e.g. 1234.56",
        )
    return value


def _growth(value: Decimal) -> Decimal:
    if not Decimal("-0.5") <= value <= Decimal(1):
        raise PydanticCustomError(
            "growth",
            "must be an annual growth rate between -0.5 and 1 — write 7.5% a year as 0.075",
        )
    return value


def _identifier(value: str) -> str:
    ok = value and value[0].isalpha() and all(c.isalnum() or c in "_-" for c in value)
    if not ok:
        raise PydanticCustomError(
            "identifier",
            "must start with a letter and use only letters, digits, '-' and '_', e.g. ld-prime",
        )
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("empty_text", "must not be empty — write a short description")
    return value


#: A share or proportion between 0 and 1 inclusive, as an exact Decimal.
FractionValue = Annotated[Decimal, AfterValidator(_fraction)]
#: An amount in pounds, non-negative, at most two decimal places.
MoneyGbp = Annotated[Decimal, AfterValidator(_money_gbp)]
#: An annual growth rate as a fraction (0.075 = 7.5% a year).
GrowthRate = Annotated[Decimal, AfterValidator(_growth)]
#: A machine-friendly identifier (party ids, contract ids, indicator ids).
Identifier = Annotated[str, AfterValidator(_identifier)]
#: Free text that must not be blank.
Text = Annotated[str, AfterValidator(_text)]
#: A positive whole number of people.
Count = Annotated[int, Field(ge=0)]
