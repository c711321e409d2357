"""Reference text generated from the code, so the docs cannot drift from it.

:func:`data_model_markdown` renders the canonical data model of
:mod:`commissioning.core.schema` (every table and column, the points of delivery and
the condition list) as Markdown.  ``docs/data-model.md`` holds it between two markers
under a hand-written introduction; :func:`write_data_model` refreshes it and a test
checks that it is current.  Pure except for :func:`write_data_model`.
"""

from __future__ import annotations

from pathlib import Path

from commissioning.core.schema import (
    COST_RANGE_GBP,
    DUCKDB_TYPES,
    POINTS_OF_DELIVERY,
    TABLES,
    UNITS_BY_POINT_OF_DELIVERY,
    Column,
    Table,
    allowed_codes,
    condition_rows,
)

START = "<!-- generated: start -->"
END = "<!-- generated: end -->"
REGENERATE = 'python -c "from commissioning.core.docs import write_data_model; write_data_model()"'


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ") or "–"


def _number(value: float) -> str:
    return f"{value:g}"


def _allowed(table: Table, col: Column) -> str:
    """The values a column may take, as the loader checks them."""
    if col.name == "person_id":
        return "pseudonym, 20 hex characters (in files: `nhs_number`, 10 digits, modulus 11)"
    codes = allowed_codes(table, col)
    if codes:
        return ", ".join(f"`{c}`" for c in codes)
    if col.name == "primary_diagnosis" or col.name == "secondary_diagnosis":
        return "ICD-10 code, e.g. `J18.9`"
    if col.name == "external_cause":
        return "ICD-10 external cause code (V01 to Y98), e.g. `W19`"
    if col.name == "cost_gbp" and "point_of_delivery" in table.column_names:
        return "≥ 0, and within the plausible range of its point of delivery (see below)"
    if col.minimum is not None and col.maximum is not None:
        return f"{_number(col.minimum)} to {_number(col.maximum)}"
    if col.minimum is not None:
        return f"≥ {_number(col.minimum)}"
    if col.maximum is not None:
        return f"≤ {_number(col.maximum)}"
    if col.dtype == "date":
        return "date, YYYY-MM-DD"
    return ""


def table_markdown(table: Table) -> str:
    """One table's reference: description, key, columns and row checks."""
    title = f"### `{table.name}`" + (" (synthetic only)" if table.synthetic_only else "")
    lines = [title, "", table.description, ""]
    key = ", ".join(f"`{k}`" for k in table.primary_key)
    lines += [f"Key: {key} (no two rows share it: the loader rejects a repeat).", ""]
    lines += [
        "| column | type | unit | required | allowed values or range | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for col in table.columns:
        cells = (
            f"`{col.name}`",
            f"`{DUCKDB_TYPES[col.dtype]}`",
            _cell(col.unit),
            "yes"
            if col.required
            else ("no (column may be left out)" if col.may_be_absent else "no"),
            _cell(_allowed(table, col)),
            _cell(col.meaning),
        )
        lines.append("| " + " | ".join(cells) + " |")
    if table.checks:
        lines += ["", "Checks across columns (the reason a row is rejected if one fails):", ""]
        lines += [f"- {reason}" for _condition, reason in table.checks]
    return "\n".join(lines) + "\n"


def points_of_delivery_markdown() -> str:
    """Each point of delivery, its setting, what ``activity.units`` counts for it and the
    plausible cost of one event (the loader rejects a cost outside it)."""
    lines = [
        "| point of delivery | setting | `units` counts | plausible `cost_gbp` of one event (£) |",
        "| --- | --- | --- | --- |",
    ]
    for pod, setting in POINTS_OF_DELIVERY.items():
        unit = UNITS_BY_POINT_OF_DELIVERY.get(pod, "events (1 for each)")
        low, high = COST_RANGE_GBP[pod]
        lines.append(f"| `{pod}` | `{setting}` | {unit} | {low:,} to {high:,} |")
    lines += [
        "",
        "The cost ranges are deliberately wide plausibility bounds, not tariffs: orders of "
        "magnitude from the National Cost Collection (National Schedule of NHS Costs 2022/23) "
        "and the PSSRU Unit Costs of Health and Social Care 2023 (`COST_RANGE_GBP` in "
        "`core/schema.py`).",
    ]
    return "\n".join(lines) + "\n"


def conditions_markdown() -> str:
    """The long-term condition list of ``core/data/conditions.csv``."""
    lines = [
        "| code | condition | ICD-10 groups | QOF register |",
        "| --- | --- | --- | --- |",
    ]
    for row in condition_rows():
        groups = ", ".join(row["icd10_groups"].split(";"))
        register = row["qof_register"] or "– (not a QOF register)"
        lines.append(
            f"| `{row['condition_code']}` | {row['condition_name']} | {groups} | {register} |"
        )
    return "\n".join(lines) + "\n"


def data_model_markdown() -> str:
    """The generated part of ``docs/data-model.md``: every table, then the code lists."""
    parts = ["## Tables", ""]
    parts += [table_markdown(t) for t in TABLES.values()]
    parts += ["## Points of delivery", "", points_of_delivery_markdown()]
    parts += ["## Long-term conditions", "", conditions_markdown()]
    return "\n".join(parts)


def _split(text: str) -> tuple[str, str, str]:
    head, found, rest = text.partition(START)
    body, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"the markers {START} and {END} are missing")
    return head, body, tail


def generated_part(text: str) -> str:
    """The text between the markers (without the newline after the start marker)."""
    return _split(text)[1].removeprefix("\n")


def write_data_model(path: Path = Path("docs/data-model.md")) -> None:
    """Replace the generated part of ``path`` with :func:`data_model_markdown`."""
    head, _body, tail = _split(path.read_text(encoding="utf-8"))
    path.write_text(f"{head}{START}\n{data_model_markdown()}{END}{tail}", encoding="utf-8")
