"""HTML pages of the reports.

A page of the published pack (:func:`publish_page`) links the pack's one stylesheet and
one copy of the chart library in ``assets/``, says the date the data runs to, the period
it covers and the day it was made, and leads back to the index. A page written on its own
(:func:`write_page`) carries its styles and chart library inline, so it opens offline.
Nothing is fetched from the network.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

if TYPE_CHECKING:
    from commissioning.reports.publish import Outputs

_env = Environment(
    loader=PackageLoader("commissioning.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)

_FIGURE = re.compile(
    r"^(suppressed|–|-|n/a|[-+−]?£?[\d,]+(\.\d+)?%?( to [-+−]?£?[\d,]+(\.\d+)?%?)?"
    r"|[-+]?£?[\d,.]+ \([^)]*\))$"
)
RESTRICTED_MARKING = "RESTRICTED: person-level or unpublished working data. Not for publication."


_LETTERS = str.maketrans("0123456789abcdef", "ghijklmnopqrstuv")


@dataclass
class TableBlock:
    """A table for people: a caption, column headings and rows of formatted text (a cell
    may be :class:`markupsafe.Markup`, for an icon). The first cell of a row heads it."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    note: str = ""
    flags: Sequence[str] = field(default_factory=list)
    """Per row: '' or a CSS class ('miss', 'hit') to colour the row."""

    def numeric(self) -> list[bool]:
        """Per column: True if every filled cell is a figure (set right, in tabular
        digits); text columns stay left."""
        out = []
        for j in range(len(self.columns)):
            cells = [str(r[j]).strip() for r in self.rows if j < len(r) and str(r[j]).strip()]
            out.append(j > 0 and bool(cells) and all(_FIGURE.match(c) for c in cells))
        return out


@dataclass
class FigureBlock:
    """A chart: a Plotly figure, with a plain-language note on what it shows. The note,
    after the chart's title, is the chart's text alternative."""

    figure: Any  # plotly.graph_objects.Figure
    note: str = ""

    def html(self) -> str:
        return str(
            self.figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                config={"displaylogo": False, "responsive": True},
                div_id=self.div_id(),
            )
        )

    def div_id(self) -> str:
        """The chart's element id, made from the chart itself, in letters only: Plotly's
        default is a random UUID, which made pages differ from run to run and, now and
        then, held ten digits that passed the NHS number check at the publication gate."""
        digest = hashlib.sha256((self.figure.to_json() + self.note).encode()).hexdigest()
        return "chart-" + digest[:20].translate(_LETTERS)

    def text(self) -> str:
        title = self.figure.layout.title.text if self.figure.layout.title else None
        parts = [f"Chart: {title}." if title else "Chart."]
        if self.note:
            parts.append(self.note)
        return " ".join(parts)


@dataclass
class Section:
    title: str
    intro: str = ""
    tables: list[TableBlock] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    figures: list[FigureBlock] = field(default_factory=list)


def stylesheet() -> str:
    return resources.files("commissioning.reports").joinpath("templates/report.css").read_text()


def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def render_page(
    title: str,
    subtitle: str,
    sections: Sequence[Section],
    *,
    meta: Sequence[str] = (),
    back: str | None = None,
    marking: str | None = None,
    css_href: str | None = None,
    plotly_src: str | None = None,
    footer: str = "",
) -> str:
    """A page: with ``css_href``/``plotly_src`` it links the shared assets, otherwise it
    carries them inline."""
    has_figures = any(s.figures for s in sections)
    return _env.get_template("page.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=sections,
        meta=list(meta),
        back=back,
        marking=marking,
        css_href=css_href,
        css="" if css_href else stylesheet(),
        plotly_src=plotly_src if has_figures else None,
        plotly_js=plotly_js() if has_figures and not plotly_src else "",
        footer=footer,
    )


def write_page(path: Path, title: str, subtitle: str, sections: Sequence[Section]) -> Path:
    """A self-contained page at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(title, subtitle, sections), encoding="utf-8")
    return path


def _dated(d: Any) -> str:
    return f"{d.day} {d:%B %Y}"


def page_meta(outputs: Outputs) -> list[str]:
    meta = []
    if outputs.as_at is not None:
        meta.append(f"Data as at {_dated(outputs.as_at)}")
    if outputs.period:
        meta.append(f"Covers {outputs.period}")
    meta.append(f"Made on {_dated(outputs.made_on)}")
    return meta


def publish_page(
    outputs: Outputs,
    name: str,
    title: str,
    subtitle: str,
    sections: Sequence[Section],
    *,
    index: bool = False,
) -> Path:
    """A page of the published pack, through the publication gate."""
    depth = name.count("/")
    up = "../" * depth
    css = outputs.asset("report.css", stylesheet())
    has_figures = any(s.figures for s in sections)
    js = outputs.asset("plotly.min.js", plotly_js()) if has_figures else None
    html = render_page(
        title,
        subtitle,
        sections,
        meta=page_meta(outputs),
        back=None if index else f"{up}index.html",
        css_href=up + css,
        plotly_src=up + js if js else None,
        footer=f"Counts from 1 to {outputs.threshold - 1} are suppressed, with any figure "
        "that would give them back. Published from the commissioning workbench.",
    )
    return outputs.page(name, html)


def restricted_page(
    outputs: Outputs, name: str, title: str, subtitle: str, sections: Sequence[Section]
) -> Path:
    """A working page in the restricted folder, marked as such on its face."""
    path = outputs.restricted_path(name)
    up = "../" * name.count("/")
    has_figures = any(s.figures for s in sections)
    html = render_page(
        title,
        subtitle,
        sections,
        meta=page_meta(outputs),
        back=None if name == "index.html" else f"{up}index.html",
        marking=RESTRICTED_MARKING,
        css_href=up + _restricted_asset(outputs, "report.css", stylesheet()),
        plotly_src=up + _restricted_asset(outputs, "plotly.min.js", plotly_js())
        if has_figures
        else None,
    )
    path.write_text(html, encoding="utf-8")
    return path


def _restricted_asset(outputs: Outputs, name: str, content: str) -> str:
    path = outputs.restricted_path(f"assets/{name}")
    if not path.exists() or path.stat().st_size != len(content.encode("utf-8")):
        path.write_text(content, encoding="utf-8")
    return f"assets/{name}"
