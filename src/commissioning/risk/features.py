"""Prediction pairs: this year's person-year features and next year's outcome.

A pair is a person registered in year t and in year t+1 (so alive at the start of
t+1). Features come from year t only (conditions as diagnosed by 31 March, use and cost
in the year); the outcome is at least one emergency admission in year t+1; the oracle
is the generator's true probability of that outcome **for year t+1** (the year being
predicted), present only in synthetic data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from commissioning.population.codes import condition_columns

FEATURES: tuple[str, ...] = (
    "age_years",  # the first three columns feed the PARR-like baseline
    "male",
    "emergency_admissions",
    "imd_decile",
    *condition_columns(),
    "condition_count",
    "cms_score",
    "efi_deficits",
    "acsc_emergency_admissions",
    "elective_admissions",
    "emergency_bed_days",
    "bed_days",
    "ae_events",
    "primary_care_events",
    "community_events",
    "mental_health_events",
    "outpatient_events",
    "social_care_events",
    "emergency_cost_gbp",
    "social_care_cost_gbp",
    "total_cost_gbp",
)


def feature_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's features (float columns, in :data:`FEATURES` order) from person-years."""
    f = frame.assign(male=(frame.sex == "M").astype(np.float64))
    return f[list(FEATURES)].astype(np.float64)


def prediction_pairs(
    frame: pd.DataFrame, feature_years: Sequence[int], truth: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Rows of year-t features for people also registered in t+1, with the outcome.

    ``frame`` is the person-year table (pandas) covering every t and t+1. Adds
    ``outcome_year``, ``outcome`` (1 if any emergency admission in t+1),
    ``next_emergency_admissions`` and, given ``truth`` (synthetic_person_year),
    ``oracle_p`` (its p_emergency_admission for t+1).
    """
    nxt = frame[["person_id", "year", "emergency_admissions"]].rename(
        columns={"year": "outcome_year", "emergency_admissions": "next_emergency_admissions"}
    )
    cur = frame[frame.year.isin(list(feature_years))].assign(outcome_year=lambda d: d.year + 1)
    pairs = cur.merge(nxt, on=["person_id", "outcome_year"], how="inner")
    pairs["outcome"] = (pairs.next_emergency_admissions > 0).astype(np.int64)
    if truth is not None:
        t = truth[["person_id", "year", "p_emergency_admission"]].rename(
            columns={"year": "outcome_year", "p_emergency_admission": "oracle_p"}
        )
        pairs = pairs.merge(t, on=["person_id", "outcome_year"], how="left")
    return pairs.sort_values(["year", "person_id"]).reset_index(drop=True)


def person_split(person_id: pd.Series, test_share: float, salt: str = "risk-split") -> pd.Series:
    """True for people in the test set: a keyed hash of the person, so the split is
    stable across years and runs and no person is in both sets."""
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be between 0 and 1, got {test_share}")
    key = salt.encode()

    def bucket(pid: str) -> float:
        digest = hashlib.blake2b(str(pid).encode(), key=key, digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    return person_id.map(bucket) < test_share
