"""A published benchmark mean cannot give back a peer's suppressed value."""

from __future__ import annotations

import math

import pandas as pd

from commissioning.benchmarking.compare import PeerComparison, opportunity
from commissioning.indicators.library import default_library


def _comparison(home_suppressed: bool = False) -> PeerComparison:
    ind = default_library().get("emergency_admissions")
    table = pd.DataFrame(
        {
            "place_code": ["HOME", "P1", "P2", "P3"],
            "numerator": [900.0, 800.0, 3.0, 700.0],
            "value": [120.0, 100.0, 2.0, 110.0],
            "suppressed": [home_suppressed, False, True, False],
            "is_home": [True, False, False, False],
        }
    )
    return PeerComparison(ind, table, None, 1.0, "HOME")


def test_suppressed_peers_are_left_out_of_both_means() -> None:
    out = opportunity(_comparison(), cost_per_event_gbp=None, best=5)
    assert list(out["benchmark_value"]) == [105.0, 105.0]  # (100 + 110) / 2, not with P2
    assert all("P2" not in used for used in out["peers_used"])
    assert out["peers_used"].iloc[1] == "P1, P3"


def test_a_suppressed_home_place_gets_no_figures() -> None:
    out = opportunity(_comparison(home_suppressed=True))
    assert all(math.isnan(v) for v in out["home_value"])
    assert all(math.isnan(v) for v in out["gap"])
    assert all(math.isnan(v) for v in out["opportunity_events"])
