"""Population intelligence: the person-year table, needs (C5), segments (C6) and
programme budgets (C8)."""

from commissioning.population.person_year import AGE_BAND_LABELS, person_year_table
from commissioning.population.rules import RuleError, compile_rule, validate_rule
from commissioning.population.segments import (
    BRIDGES_TO_HEALTH,
    Segment,
    assign_segments,
    segment_profile,
)

__all__ = [
    "AGE_BAND_LABELS",
    "BRIDGES_TO_HEALTH",
    "RuleError",
    "Segment",
    "assign_segments",
    "compile_rule",
    "person_year_table",
    "segment_profile",
    "validate_rule",
]
