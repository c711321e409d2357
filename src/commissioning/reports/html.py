"""Self-contained HTML pages: inline styles, no scripts or fonts from the network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

_env = Environment(
    loader=PackageLoader("commissioning.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


@dataclass
class TableBlock:
    """A table for people: a caption, column headings and rows of formatted text."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    note: str = ""
    flags: Sequence[str] = field(default_factory=list)
    """Per row: '' or a CSS class ('miss', 'hit') to colour the row."""


@dataclass
class FigureBlock:
    """A chart: a Plotly figure, with a plain-language note on what it shows."""

    figure: Any  # plotly.graph_objects.Figure
    note: str = ""

    def html(self) -> str:
        return str(
            self.figure.to_html(
                full_html=False,
                include_plotlyjs=False,
                config={"displaylogo": False, "responsive": True},
            )
        )


@dataclass
class Section:
    title: str
    intro: str = ""
    tables: list[TableBlock] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    figures: list[FigureBlock] = field(default_factory=list)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def render_page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """A self-contained page: charts carry their library inline, so it opens offline."""
    has_figures = any(s.figures for s in sections)
    return _env.get_template("page.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=sections,
        plotly_js=_plotly_js() if has_figures else "",
    )


def write_page(path: Path, title: str, subtitle: str, sections: Sequence[Section]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(title, subtitle, sections), encoding="utf-8")
    return path
