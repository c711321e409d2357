"""Small-number suppression for published tables of counts.

Primary suppression hides counts from 1 to ``threshold - 1`` (1-7 by default, "< 8").
Secondary suppression then hides further cells so that no hidden count can be worked out
by subtraction: every row and column whose sum is known (a margin of totals in the
table, or totals published elsewhere) must hide either no cell or at least two, and no
hidden cell may be fixed by the known sums taken together. The
smallest visible cell of the line is hidden next, interior cells before totals. Visible
counts can then be rounded to the nearest ``round_to``.

References: Office for National Statistics, "Statistical disclosure control" guidance
(primary and secondary suppression); NHS Digital, "Hospital Episode Statistics analysis
guide" (suppress 1-7); OpenSAFELY ehrql ``measures`` disclosure control.
See ``docs/methods/suppression.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Counts below this (and above zero) are suppressed: "< 8".
DEFAULT_THRESHOLD = 8


Cell = tuple[int, int]
Line = tuple[list[Cell], Cell | None]  # the line's cells and its total cell, if any


def _lines(
    shape: tuple[int, int], total_r: int | None, total_c: int | None, elsewhere: bool
) -> tuple[list[Line], list[Line]]:
    """Rows then columns, and the subset of them whose sums are known (the constraints)."""
    rows, cols = shape
    row_lines: list[Line] = [
        ([(r, c) for c in range(cols)], None if total_c is None else (r, total_c))
        for r in range(rows)
    ]
    col_lines: list[Line] = [
        ([(r, c) for r in range(rows)], None if total_r is None else (total_r, c))
        for c in range(cols)
    ]
    constraints = [line for line in row_lines if total_c is not None or elsewhere] + [
        line for line in col_lines if total_r is not None or elsewhere
    ]
    return row_lines + col_lines, constraints


def _determined_cells(hidden: np.ndarray, lines: list[Line]) -> list[Cell]:
    # Each line is a linear constraint: its interior cells sum to its total cell, or to a
    # total assumed published elsewhere. A hidden cell is recoverable when its unit vector
    # lies in the row space of the constraints restricted to the hidden cells.
    cells: list[Cell] = [(int(r), int(c)) for r, c in zip(*np.nonzero(hidden), strict=True)]
    position = {cell: k for k, cell in enumerate(cells)}
    system = np.zeros((len(lines), len(cells)))
    for i, (line, total) in enumerate(lines):
        for cell in line:
            if cell in position:
                system[i, position[cell]] = -1.0 if cell == total else 1.0
    rank = np.linalg.matrix_rank(system) if cells else 0
    found = []
    for k, cell in enumerate(cells):
        unit = np.zeros((1, len(cells)))
        unit[0, k] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.append(cell)
    return found


def pinned_cells(
    values: np.ndarray, hidden: np.ndarray, lines: list[Line], sensitive: np.ndarray
) -> list[Cell]:
    """Hidden sensitive cells an outsider can pin to one whole number from what is
    published: the visible cells, the sums of ``lines`` (each line's cells add up to its
    total cell, or to a sum published elsewhere) and that counts are never negative.
    Linear programming bounds, the "feasibility interval" of each hidden cell (Hundepool
    et al., *Statistical Disclosure Control*, Wiley 2012, chapter 4): the smallest and
    largest value it can take; fewer than one apart, the cell is given away. Unlike a
    rank test, this sees a cell forced by other cells being zero (``a + b = 1`` with
    ``b + c = 0``)."""
    from scipy.optimize import linprog

    cells: list[Cell] = [(int(r), int(c)) for r, c in zip(*np.nonzero(hidden), strict=True)]
    if not cells:
        return []
    position = {cell: k for k, cell in enumerate(cells)}
    a_eq = np.zeros((len(lines), len(cells)))
    b_eq = np.zeros(len(lines))
    for i, (line, total) in enumerate(lines):
        known = 0.0
        for cell in line:
            sign = -1.0 if cell == total else 1.0
            if cell in position:
                a_eq[i, position[cell]] = sign
            else:
                known += sign * values[cell]
        if total is None:  # the line's sum is published elsewhere
            b_eq[i] = float(sum(values[cell] for cell in line)) - known
        else:
            b_eq[i] = -known
    found = []
    for cell in cells:
        if not sensitive[cell]:
            continue
        k = position[cell]
        objective = np.zeros(len(cells))
        objective[k] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if low.status == 0 and high.status == 0 and (-high.fun - low.fun) < 1 - 1e-9:
            found.append(cell)
    return found


def _hide_next(values: np.ndarray, hidden: np.ndarray, line: Line, is_total: np.ndarray) -> bool:
    visible = [cell for cell in line[0] if not hidden[cell]]
    if not visible:
        return False
    hidden[min(visible, key=lambda cell: (is_total[cell], values[cell]))] = True
    return True


def suppress_small_counts(
    counts: pd.DataFrame,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    round_to: int | None = None,
    total_row: object | None = None,
    total_column: object | None = None,
    totals_published_elsewhere: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hide small counts and any count that could be recovered from the others.

    ``counts`` holds non-negative whole numbers; ``total_row``/``total_column`` name a
    margin of totals if the frame has one. Rows and columns without a margin are treated
    as having known sums only with ``totals_published_elsewhere``; a line of one cell
    then cannot be protected (suppress its published total too). Zeros are not hidden by
    the primary rule. The
    result is ``(masked, mask)``: ``masked`` is a float frame with NaN where hidden (and,
    with ``round_to``, the visible counts rounded half up to that multiple); ``mask`` is
    True where hidden.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be 1 or more, got {threshold}")
    values = counts.to_numpy(dtype=np.float64)
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError("counts must be non-negative numbers with no missing values")
    total_r = None if total_row is None else int(counts.index.get_loc(total_row))  # type: ignore[arg-type]
    total_c = None if total_column is None else int(counts.columns.get_loc(total_column))  # type: ignore[arg-type]
    is_total = np.zeros(values.shape, dtype=bool)
    if total_r is not None:
        is_total[total_r, :] = True
    if total_c is not None:
        is_total[:, total_c] = True

    primary = (values > 0) & (values < threshold)
    hidden = primary.copy()
    lines, constraints = _lines(values.shape, total_r, total_c, totals_published_elsewhere)
    changed = True
    while changed:
        changed = False
        for line in constraints:
            if sum(hidden[cell] for cell in line[0]) == 1:
                changed |= _hide_next(values, hidden, line, is_total)
        if changed:
            continue
        exposed = _determined_cells(hidden, constraints) or pinned_cells(
            values, hidden, constraints, primary
        )
        for r, c in exposed:
            if _hide_next(values, hidden, lines[r], is_total) or _hide_next(
                values, hidden, lines[len(values) + c], is_total
            ):
                changed = True
                break

    shown = values.copy()
    if round_to is not None:
        shown = np.floor(shown / round_to + 0.5) * round_to
    shown[hidden] = np.nan
    mask = pd.DataFrame(hidden, index=counts.index, columns=counts.columns)
    return pd.DataFrame(shown, index=counts.index, columns=counts.columns), mask
