"""Ibis schemas of the canonical tables, for spec tests written as small literal tables."""

from __future__ import annotations

from commissioning.core.schema import TABLES

_IBIS_TYPES = {
    "string": "string",
    "integer": "int64",
    "double": "float64",
    "decimal": "float64",
    "date": "date",
}


def schema(table: str) -> dict[str, str]:
    """Column name to Ibis type, in the data model's order (money as float for tests)."""
    return {c.name: _IBIS_TYPES[c.dtype] for c in TABLES[table].columns}


PEOPLE_SCHEMA = schema("people")
ACTIVITY_SCHEMA = schema("activity")
