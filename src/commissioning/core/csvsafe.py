"""CSV files that are safe to open in a spreadsheet.

* **Formula injection** (OWASP, "CSV Injection"): a text cell beginning with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is run as a formula by Excel and LibreOffice.
  Such cells are written with a leading apostrophe, which the spreadsheet shows as text.
  Numbers (a negative amount is a number, not a formula) are left as they are.
* **Money as exact decimals**: a column of pounds (named ``*_gbp``) is written to the
  penny, so arithmetic in floating point never shows as 58021.369999999995.

Every CSV the project writes goes through :func:`write_csv` or :func:`csv_text`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def safe_cell(value: Any) -> Any:
    """A cell as it may be written: text that a spreadsheet would run is made inert."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _money(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.2f}"
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell made inert and pounds to the penny."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if str(name).endswith("_gbp") and pd.api.types.is_float_dtype(column):
            out[name] = column.map(_money)
        elif column.dtype == object or pd.api.types.is_string_dtype(column):
            out[name] = column.map(safe_cell)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` (no index) as a safe CSV file."""
    target = Path(path)
    safe = safe_frame(frame)
    breaks = any(
        safe[c].map(lambda v: isinstance(v, str) and "\r" in v).any()
        for c in safe.columns
        if safe[c].dtype == object
    )
    safe.to_csv(target, index=False, quoting=csv.QUOTE_NONNUMERIC if breaks else csv.QUOTE_MINIMAL)
    return target


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows as safe CSV text."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue()


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`safe_cell`. Rows end in
    ``\n``; a cell holding a line break of either kind is quoted (the standard writer
    quotes only the characters of its own line ending, and would split a ``\r``)."""

    def __init__(self, stream: Any) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")
        self._quoted = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        cells = [safe_cell(v) for v in row]
        breaks = any(isinstance(c, str) and "\r" in c for c in cells)
        (self._quoted if breaks else self._writer).writerow(cells)
