"""The published pack in a real Chromium (Debian's, driven by Playwright), opened from the
folder as a reader would open it: every page passes axe-core with no serious or critical
violation, fits a 390-pixel phone without the page scrolling sideways, prints to A4 PDF
with no table cut at the edge, says when its data runs to and leads back to the index,
loads the one shared chart library, and gives every chart a text alternative. Screenshots
and PDFs go to ``artifacts/pack/``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="pip install '.[browser]'")
from axe_playwright_python.sync_playwright import Axe  # noqa: E402

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "pack"
PAGES = [
    "index.html",
    "needs.html",
    "indicators.html",
    "benchmark.html",
    "priorities.html",
    "business_case.html",
    "pilot_evaluation.html",
    "portfolio.html",
]
#: A4 landscape less 12 mm margins, at 96 pixels an inch.
PRINT_WIDTH = round((297 - 24) / 25.4 * 96)


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


def _overflow(page: object) -> int:
    """How far the page scrolls sideways, in pixels, once the charts have redrawn for the
    width (they resize on the window's resize event; up to 5 s)."""
    fits = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    with contextlib.suppress(playwright.TimeoutError):
        page.wait_for_function(fits, timeout=5000)  # type: ignore[attr-defined]
    return int(
        page.evaluate(  # type: ignore[attr-defined]
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


@pytest.mark.parametrize("name", PAGES)
def test_each_page_reads_at_desktop_and_phone_and_prints_whole(
    pack: Path, page: object, name: str
) -> None:
    p = page
    p.goto((pack / name).as_uri())  # type: ignore[attr-defined]
    p.wait_for_load_state("load")  # type: ignore[attr-defined]
    violations = Axe().run(p).response["violations"]
    bad = [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, bad

    text = p.inner_text("body")  # type: ignore[attr-defined]
    assert "Data as at 31 March 2024" in text and "Covers financial years 2021/22" in text
    if name != "index.html":
        back = p.get_by_role("link", name=re.compile("All reports"))  # type: ignore[attr-defined]
        assert back.get_attribute("href") == "index.html"
    html = (pack / name).read_text()
    assert len(html) < 1_000_000  # the chart library is shared, not inlined
    figures = p.locator("figure")  # type: ignore[attr-defined]
    if figures.count():
        assert '<script src="assets/plotly.min.js"></script>' in html
        assert p.evaluate("typeof Plotly") == "object"  # type: ignore[attr-defined]
        for i in range(figures.count()):
            caption = figures.nth(i).locator("figcaption").inner_text()
            assert caption.startswith("Chart: ") and len(caption) > 20, caption
    headers = p.locator("thead th")  # type: ignore[attr-defined]
    assert all(headers.nth(i).get_attribute("scope") == "col" for i in range(headers.count()))
    # plain figures: no "4,422.0" counts, no shares written as fractions, no raw codes
    body = re.sub(r"\s+", " ", text)
    assert not re.search(r"\b\d{1,3}(,\d{3})+\.0\b", body)
    for code in ("social_care", "admitted_patient_care", "primary_care", "stia"):
        assert code not in body

    SHOTS.mkdir(parents=True, exist_ok=True)
    slug = name.removesuffix(".html")
    assert _overflow(p) <= 0
    p.screenshot(path=str(SHOTS / f"{slug}-desktop.png"), full_page=True)  # type: ignore[attr-defined]
    p.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    assert _overflow(p) <= 0, "the page scrolls sideways at phone width"
    p.screenshot(path=str(SHOTS / f"{slug}-phone.png"), full_page=True)  # type: ignore[attr-defined]

    p.emulate_media(media="print")  # type: ignore[attr-defined]
    p.set_viewport_size({"width": PRINT_WIDTH, "height": 900})  # type: ignore[attr-defined]
    cut = p.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll('table')]
            .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
            .map(t => t.querySelector('caption')?.innerText || '?')"""
    )
    assert cut == [], f"tables cut when printed: {cut}"
    pdf = SHOTS / f"{slug}.pdf"
    p.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)  # type: ignore[attr-defined]
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


def test_the_index_leads_to_every_page_and_its_tables(pack: Path, page: object) -> None:
    page.goto((pack / "index.html").as_uri())  # type: ignore[attr-defined]
    hrefs = {
        a.get_attribute("href")
        for a in page.locator("a").all()  # type: ignore[attr-defined]
    }
    assert {"needs.html", "indicators.html", "benchmark.html", "prevalence.csv"} <= hrefs
    for href in hrefs:
        assert (pack / href).is_file(), href  # no link to a page that is not there


def test_variation_icons_are_drawn_with_their_meaning(pack: Path, page: object) -> None:
    page.goto((pack / "indicators.html").as_uri())  # type: ignore[attr-defined]
    icons = page.locator("svg.mdc-icon")  # type: ignore[attr-defined]
    assert icons.count() >= 1
    for i in range(icons.count()):
        label = icons.nth(i).get_attribute("aria-label")
        assert label and label == icons.nth(i).locator("title").text_content()
