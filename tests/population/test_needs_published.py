"""What the needs report publishes gives no small count back: rates from few events,
intervals and per-head figures of hidden counts, and counts of small segments are hidden."""

from __future__ import annotations

import numpy as np
import pandas as pd

from commissioning.reports.needs_report import (
    PREVALENCE_DERIVED,
    suppress,
    suppress_rates,
    suppress_segments,
    suppress_spend,
)


def test_a_rate_from_few_events_is_hidden_with_its_spend_and_the_row_total() -> None:
    frame = pd.DataFrame(
        {
            "group": ["big", "tiny"],
            "year": [2024, 2024],
            "population": [1000, 5],
            "ae_per_1000": [3.0, 200.0],  # 3 events: a small count behind a rate
            "ae_per_head_gbp": [0.5, 40.0],
            "primary_care_per_1000": [5000.0, 4000.0],
            "primary_care_per_head_gbp": [150.0, 140.0],
            "spend_gbp": [150_500.0, 900.0],
            "spend_per_head_gbp": [150.5, 180.0],
        }
    )
    out = suppress_rates(frame)
    big = out.iloc[0]
    assert np.isnan(big.ae_per_1000) and np.isnan(big.ae_per_head_gbp)
    assert np.isnan(big.spend_gbp) and np.isnan(big.spend_per_head_gbp)  # no subtraction
    assert big.primary_care_per_1000 == 5000.0  # 5,000 events: shown
    tiny = out.iloc[1]
    assert tiny[["population", "primary_care_per_1000", "spend_gbp"]].isna().all()
    assert frame.loc[0, "ae_per_1000"] == 3.0  # the caller's frame is untouched


def test_a_hidden_prevalence_count_takes_its_intervals_with_it() -> None:
    frame = pd.DataFrame(
        {
            "group": ["A", "B"],
            "condition": ["af", "af"],
            "cases": [3.0, 400.0],
            "population": [1000, 20000],
            **{c: [0.3, 2.0] for c in PREVALENCE_DERIVED},
        }
    )
    out = suppress(frame, ["cases"], PREVALENCE_DERIVED)
    assert out.loc[0, ["cases", *PREVALENCE_DERIVED]].isna().all()
    assert out.loc[1, PREVALENCE_DERIVED].notna().all()


def test_a_small_segment_hides_every_figure_made_from_it() -> None:
    frame = pd.DataFrame(
        {
            "year": [2024, 2024, 2024],
            "segment": ["End of life", "Healthy", "Frailty"],
            "people": [2.0, 15000.0, 900.0],
            "deaths": [2.0, 10.0, 40.0],
            "emergency_admissions": [3, 800, 500],
            "bed_days": [20, 3000, 4000],
            "spend_gbp": [50_000.0, 9_000_000.0, 3_000_000.0],
            "spend_per_head_gbp": [25_000.0, 600.0, 3333.3],
            "share_of_spend": [0.004, 0.75, 0.246],
        }
    )
    out = suppress_segments(frame)
    hidden = out[out.segment == "End of life"].iloc[0]
    assert hidden[["people", "spend_gbp", "spend_per_head_gbp", "share_of_spend"]].isna().all()
    assert out.loc[out.segment == "Healthy", "spend_per_head_gbp"].iloc[0] == 600.0


def test_spend_from_few_events_is_hidden() -> None:
    frame = pd.DataFrame(
        {
            "year": [2024, 2024],
            "provider_code": ["RAA", "RZZ"],
            "events": [1200, 4],
            "spend_gbp": [1e6, 3000.0],
            "share_of_spend": [0.997, 0.003],
        }
    )
    out = suppress_spend(frame)
    assert out.iloc[1][["events", "spend_gbp", "share_of_spend"]].isna().all()
    assert out.iloc[0].spend_gbp == 1e6
