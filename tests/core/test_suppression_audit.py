"""A disclosure audit of suppressed tables, as an outsider would run it: from the published
cells and margins, and knowing counts are whole and never negative, can any hidden count
of 1 to 7 be pinned down? Linear-programming bounds on every hidden cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from commissioning.core.suppression import suppress_small_counts


def _with_margins(interior: np.ndarray) -> pd.DataFrame:
    rows, cols = interior.shape
    full = np.zeros((rows + 1, cols + 1))
    full[:rows, :cols] = interior
    full[:rows, cols] = interior.sum(axis=1)
    full[rows, :cols] = interior.sum(axis=0)
    full[rows, cols] = interior.sum()
    return pd.DataFrame(full, index=[*range(rows), "total"], columns=[*range(cols), "total"])


def pinned(published: pd.DataFrame, truth: pd.DataFrame) -> list[tuple[int, int]]:
    """Hidden cells of 1 to 7 whose LP bounds, from the published table alone, are less
    than one apart (the outsider uses only ``published``; ``truth`` says which to test)."""
    shown = published.to_numpy()
    rows, cols = shown.shape
    unknown = [(r, c) for r in range(rows) for c in range(cols) if np.isnan(shown[r, c])]
    if not unknown:
        return []
    index = {cell: k for k, cell in enumerate(unknown)}
    equations, rhs = [], []
    lines = [[(r, c) for c in range(cols)] for r in range(rows)]
    lines += [[(r, c) for r in range(rows)] for c in range(cols)]
    for line in lines:  # the last cell of each line is its total
        row = np.zeros(len(unknown))
        known = 0.0
        for j, cell in enumerate(line):
            sign = -1.0 if j == len(line) - 1 else 1.0
            if cell in index:
                row[index[cell]] = sign
            else:
                known += sign * shown[cell]
        equations.append(row)
        rhs.append(-known)
    a_eq, b_eq = np.array(equations), np.array(rhs)
    found = []
    values = truth.to_numpy()
    for cell in unknown:
        if not 0 < values[cell] < 8:
            continue
        goal = np.zeros(len(unknown))
        goal[index[cell]] = 1.0
        low = linprog(goal, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-goal, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if low.status == 0 and high.status == 0 and -high.fun - low.fun < 1 - 1e-9:
            found.append(cell)
    return found


def test_a_cell_forced_by_zeros_elsewhere_is_protected() -> None:
    """Row 0: a + b, with b's column all zeros: a rank test misses it, non-negativity
    gives it away."""
    table = _with_margins(np.array([[1, 0, 9], [5, 0, 12], [9, 10, 11]], dtype=float))
    published, _ = suppress_small_counts(table, total_row="total", total_column="total")
    assert not pinned(published, table)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.integers(2, 4).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(
                st.sampled_from([0, 0, 1, 2, 3, 5, 7, 9, 12, 20, 40]),
                min_size=r * c,
                max_size=r * c,
            ).map(lambda v: np.array(v, dtype=float).reshape(r, c))
        )
    )
)
def test_no_hidden_small_count_can_be_pinned_down(interior: np.ndarray) -> None:
    table = _with_margins(interior)
    published, mask = suppress_small_counts(table, total_row="total", total_column="total")
    small = (table.to_numpy() > 0) & (table.to_numpy() < 8)
    assert mask.to_numpy()[small].all()  # every small count is hidden
    assert not pinned(published, table), published
