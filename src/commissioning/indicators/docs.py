"""The indicator reference generated from the library, so the docs cannot drift from it.

:func:`library_markdown` renders every indicator of a library with the specification it
implements, how the published indicator is standardised, what this implementation does,
and what it adapts, then the code lists with the source of each. ``docs/indicators.md``
holds it between the markers of :mod:`commissioning.core.docs`;
:func:`write_indicator_docs` refreshes it and a test checks that it is current. Pure
except for :func:`write_indicator_docs`.
"""

from __future__ import annotations

from pathlib import Path

from commissioning.core.docs import END, START
from commissioning.indicators.library import Indicator, Library, default_library

REGENERATE = (
    'python -c "from commissioning.indicators.docs import write_indicator_docs; '
    'write_indicator_docs()"'
)
POLARITY = {
    "higher_is_better": "higher is better",
    "lower_is_better": "lower is better",
    "neither": "neither",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "–"


def _statistic(ind: Indicator) -> str:
    if ind.measure == "rate" and ind.standardisation == "direct":
        return f"rate {ind.unit}, directly standardised (ESP2013)"
    if ind.measure == "rate" and ind.standardisation == "indirect":
        return f"rate {ind.unit}, indirectly standardised by age and sex"
    return f"{ind.measure.replace('_', ' ')}, {ind.unit}"


def library_markdown(library: Library | None = None) -> str:
    """Markdown tables: the indicators (what, specification, adaptation), the code lists."""
    lib = library or default_library()
    lines = [
        "| id | title | tier | kind | statistic here | polarity |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for ind in lib.indicators:
        lines.append(
            f"| `{ind.id}` | {_cell(ind.title)} | {ind.tier} | {ind.kind} | "
            f"{_cell(_statistic(ind))} | {POLARITY[ind.polarity]} |"
        )
    lines += ["", "### The specification each follows, and what is adapted", ""]
    lines += [
        "| id | specification (body, version) | published standardisation | adapted here |",
        "| --- | --- | --- | --- |",
    ]
    for ind in lib.indicators:
        if ind.spec is None:
            named, std = ind.source, "–"
        else:
            spec = ind.spec
            named = f"{spec.framework} {spec.indicator}: {spec.title} ({spec.body}, {spec.version})"
            std = spec.standardisation
        adapted = ind.adapted or "followed as published"
        lines.append(f"| `{ind.id}` | {_cell(named)} | {_cell(std)} | {_cell(adapted)} |")
    lines += ["", "### Code lists", ""]
    lines += ["| name | title | codes | source |", "| --- | --- | --- | --- |"]
    for name, codes in lib.codelists.items():
        shown = ", ".join(codes.prefixes[:12]) + (" ..." if len(codes.prefixes) > 12 else "")
        for prefix, needs in codes.secondary_rules.items():
            shown += f"; {prefix} only with a secondary diagnosis {', '.join(needs)}"
        lines.append(
            f"| `{name}` | {_cell(codes.title)} | {len(codes.prefixes)}: {_cell(shown)} | "
            f"{_cell(codes.source)} |"
        )
    return "\n".join(lines) + "\n"


def write_indicator_docs(path: Path = Path("docs/indicators.md")) -> None:
    """Replace the generated part of ``path`` with :func:`library_markdown`."""
    text = path.read_text(encoding="utf-8")
    head, found, rest = text.partition(START)
    _body, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"the markers {START} and {END} are missing from {path}")
    path.write_text(f"{head}{START}\n{library_markdown()}{END}{tail}", encoding="utf-8")
