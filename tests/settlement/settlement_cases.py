"""Small contracts for settlement spec tests, built from literal dictionaries.

Imported by the settlement tests (pytest puts this folder on ``sys.path``)."""

from __future__ import annotations

import copy
from typing import Any

from commissioning.contracts.load import contract_from_dict
from commissioning.contracts.schema import Contract

#: A ledger key for tests (the real one comes from COMMISSIONING_LEDGER_KEY).
TEST_KEY = b"test-ledger-key-not-a-secret"

CORRIDORS_2_10 = [
    {"from_share": 0, "to_share": 0.02, "provider_share": 1},
    {"from_share": 0.02, "to_share": 0.10, "provider_share": 0.5},
]

MEASURE_A = {
    "indicator_id": "a",
    "name": "Measure A",
    "tier": 3,
    "weight": 0.6,
    "baseline": 0.50,
    "target": 0.60,
    "polarity": "higher_is_better",
    "kind": "proportion",
    "curve": {"type": "linear"},
    "measured_from": "return",
    "definition": "Share of the cohort living at home a year later",
}
MEASURE_B = {
    "indicator_id": "b",
    "name": "Measure B",
    "tier": 1,
    "weight": 0.4,
    "baseline": 20,
    "target": 15,
    "polarity": "lower_is_better",
    "kind": "rate_per_1000",
    "curve": {"type": "threshold", "threshold": 1},
    "measured_from": "return",
    "definition": "Emergency admissions per 1,000 cohort",
}


def base_contract(**overrides: Any) -> dict[str, Any]:
    """A one-year capitation contract between ``icb`` and ``prov`` worth £1,000,000."""
    data: dict[str, Any] = {
        "id": "spec",
        "version": "1",
        "title": "Spec contract",
        "scope": {"kind": "population", "cohort_rule": "age >= 75"},
        "services": [{"setting": "community"}],
        "duration_years": 1,
        "start_date": "2025-04-01",
        "form": {"type": "capitation_with_outcome_incentive", "provider": "prov"},
        "parties": [
            {"id": "icb", "name": "ICB", "role": "commissioner"},
            {"id": "prov", "name": "Provider", "role": "provider"},
        ],
        "finance": {"baseline_budget_gbp": 1_000_000},
        "years": [{"year": 1, "basis": "capitation"}],
    }
    data.update(copy.deepcopy(overrides))
    return data


def make(**overrides: Any) -> Contract:
    """Build and validate a contract from :func:`base_contract` with overrides."""
    return contract_from_dict(base_contract(**overrides))
