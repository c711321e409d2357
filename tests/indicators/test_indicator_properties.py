"""Property: every indicator value lies within its own interval (95% inside 99.8%)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from commissioning.indicators.compute import Aggregates, summarise
from commissioning.indicators.library import default_library

LIB = default_library()
BANDS = {"life_expectancy": 20, "direct": 19}


@st.composite
def aggregates(draw: st.DrawFn) -> tuple[str, Aggregates]:
    ind = draw(st.sampled_from(LIB.indicators))
    groups = draw(st.integers(1, 4))
    bands = BANDS.get(ind.measure, BANDS.get(ind.standardisation, 1))
    rows_n, rows_d = [], []
    for g in range(groups):
        for b in range(bands):
            den = draw(st.integers(1, 5000))
            if ind.measure == "life_expectancy":
                num = draw(st.integers(1, den))
            elif ind.measure == "proportion":
                num = draw(st.integers(0, den))
            else:
                num = draw(st.integers(0, 3 * den))
            n = den if ind.measure in ("proportion", "mean", "mean_per_person") else num
            value = float(num) if ind.measure != "mean" else num / 1000.0
            spread = draw(st.floats(1.0, 3.0))
            rows_n.append(
                {
                    "group": f"g{g}",
                    "band": b,
                    "sex": "P",
                    "numerator": value,
                    "n": n,
                    "sum_sq": value**2 / max(n, 1) * spread,
                }
            )
            rows_d.append({"group": f"g{g}", "band": b, "sex": "P", "denominator": float(den)})
    return ind.id, Aggregates(pd.DataFrame(rows_n), pd.DataFrame(rows_d))


@settings(max_examples=150, deadline=None)
@given(aggregates())
def test_value_lies_within_its_interval(case: tuple[str, Aggregates]) -> None:
    ind_id, agg = case
    out = summarise(LIB.get(ind_id), agg)
    ok = out["value"].notna() & out["lower"].notna()
    assert (out["suppressed"] | ok | out["value"].isna()).all()  # no interval: suppressed
    v = out.loc[ok]
    tol = 1e-9 * np.maximum(1.0, v["value"].abs())
    assert (v["lower"] <= v["value"] + tol).all()
    assert (v["value"] <= v["upper"] + tol).all()
    assert (v["lower_99_8"] <= v["lower"] + tol).all()
    assert (v["upper"] <= v["upper_99_8"] + tol).all()
