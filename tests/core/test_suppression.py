"""Small-number suppression: primary, secondary (by subtraction) and rounding."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissioning.core.suppression import suppress_small_counts


def _with_margins(interior: pd.DataFrame) -> pd.DataFrame:
    table = interior.copy()
    table["Total"] = table.sum(axis=1)
    table.loc["Total"] = table.sum(axis=0)
    return table


def test_primary_hides_one_to_seven_only():
    counts = pd.DataFrame({"a": [0, 1, 7, 8], "b": [0, 7, 1, 8]})
    masked, mask = suppress_small_counts(counts)
    assert mask.to_numpy().tolist() == [[False, False], [True, True], [True, True], [False, False]]
    assert masked.loc[0, "a"] == 0 and masked.loc[3, "b"] == 8
    assert masked.isna().equals(mask)


def test_secondary_hides_next_smallest_in_row_with_total():
    #        a   b   c  Total
    # GP1    3  20  50     73   -> 3 hidden, then 20 (next smallest), not the total
    counts = pd.DataFrame({"a": [3], "b": [20], "c": [50], "Total": [73]}, index=["GP1"])
    _, mask = suppress_small_counts(counts, total_column="Total")
    assert mask.loc["GP1"].tolist() == [True, True, False, False]


def test_secondary_with_row_and_column_totals():
    interior = pd.DataFrame(
        {"female": [4, 30, 41], "male": [25, 33, 60]}, index=["0-17", "18-64", "65+"]
    )
    table = _with_margins(interior)
    _, mask = suppress_small_counts(table, total_row="Total", total_column="Total")
    assert mask.loc["0-17", "female"]
    # Row 0-17 and column female each need a second hidden cell ...
    assert mask.loc["0-17"].sum() >= 2 and mask["female"].sum() >= 2
    # ... and the grand total stays visible.
    assert not mask.loc["Total", "Total"]
    _assert_nothing_recoverable(table.to_numpy(float), mask.to_numpy(), total_r=3, total_c=2)


def test_rounding_to_nearest_five():
    counts = pd.DataFrame({"a": [12, 13, 100], "b": [22, 0, 8]})
    masked, mask = suppress_small_counts(counts, round_to=5)
    assert not mask.to_numpy().any()
    assert masked["a"].tolist() == [10, 15, 100]
    assert masked["b"].tolist() == [20, 0, 10]


def test_configurable_threshold_and_validation():
    counts = pd.DataFrame({"a": [9, 11], "b": [30, 40]})
    _, mask = suppress_small_counts(counts, threshold=10)
    assert mask["a"].tolist() == [True, False]  # no totals known: primary rule only
    _, mask = suppress_small_counts(counts, threshold=10, totals_published_elsewhere=True)
    assert mask.to_numpy().all()  # 9 is hidden, so 11 and 30, and then 40
    with pytest.raises(ValueError, match="non-negative"):
        suppress_small_counts(pd.DataFrame({"a": [-1]}))
    with pytest.raises(ValueError, match="threshold"):
        suppress_small_counts(counts, threshold=0)


def test_empty_and_single_cell():
    masked, mask = suppress_small_counts(pd.DataFrame({"a": []}, dtype=float))
    assert masked.empty and mask.empty
    masked, mask = suppress_small_counts(pd.DataFrame({"a": [5]}))
    assert mask.iloc[0, 0] and np.isnan(masked.iloc[0, 0])


def _assert_nothing_recoverable(values, hidden, total_r=None, total_c=None):
    """Independent check: null space of the line-sum equations over the hidden cells.

    A hidden cell is recoverable by subtraction iff every solution of the homogeneous
    system gives it the same value, i.e. the null space has a zero in that coordinate.
    """
    cells = [tuple(c) for c in np.argwhere(hidden)]
    if not cells:
        return
    rows, cols = values.shape
    equations = []
    for r in range(rows):
        line = np.zeros(len(cells))
        for k, (rr, c) in enumerate(cells):
            if rr == r:
                line[k] = -1.0 if total_c is not None and c == total_c else 1.0
        equations.append(line)
    for c in range(cols):
        line = np.zeros(len(cells))
        for k, (r, cc) in enumerate(cells):
            if cc == c:
                line[k] = -1.0 if total_r is not None and r == total_r else 1.0
        equations.append(line)
    _, singular, vt = np.linalg.svd(np.array(equations))
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]
    for k, cell in enumerate(cells):
        assert null_space.shape[0] > 0 and np.abs(null_space[:, k]).max() > 1e-9, (
            f"hidden cell {cell} can be recovered from the others"
        )


def tables(min_size: int) -> st.SearchStrategy[list[list[int]]]:
    return st.integers(min_value=min_size, max_value=4).flatmap(
        lambda rows: st.integers(min_value=min_size, max_value=4).flatmap(
            lambda cols: st.lists(
                st.lists(st.integers(min_value=0, max_value=40), min_size=cols, max_size=cols),
                min_size=rows,
                max_size=rows,
            )
        )
    )


@settings(max_examples=100, deadline=None)
@given(data=st.data(), threshold=st.sampled_from([3, 8, 10]), margins=st.booleans())
def test_suppression_never_reveals_a_small_count(data, threshold, margins):
    # With margins the totals are in the table; without, every row and column total is
    # taken as published elsewhere (lines of one cell could not then be protected).
    cells = data.draw(tables(1 if margins else 2))
    interior = pd.DataFrame(cells, columns=[f"c{i}" for i in range(len(cells[0]))])
    table = _with_margins(interior) if margins else interior
    kwargs = (
        {"total_row": "Total", "total_column": "Total"}
        if margins
        else {"totals_published_elsewhere": True}
    )
    masked, mask = suppress_small_counts(table, threshold=threshold, **kwargs)
    shown = masked.to_numpy()[~mask.to_numpy()]
    # No visible count under the threshold (zeros may show) ...
    assert not np.any((shown > 0) & (shown < threshold))
    # ... no line with exactly one hidden cell ...
    hidden = mask.to_numpy()
    assert not np.any(hidden.sum(axis=0) == 1) and not np.any(hidden.sum(axis=1) == 1)
    # ... and no hidden cell recoverable from the row and column sums together.
    rows, cols = hidden.shape
    _assert_nothing_recoverable(
        table.to_numpy(float),
        hidden,
        total_r=rows - 1 if margins else None,
        total_c=cols - 1 if margins else None,
    )
