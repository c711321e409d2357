"""Each role signs in to a real server in a real Chromium (Debian's, driven by Playwright)
and does its job: the provider certifies a quarter's values, the contract manager drafts
the settlement run, a finance reviewer reviews it, the finance approver approves and posts
it, the provider reads the statement and raises a dispute, and the public sees only the
published pages. Every page is checked with axe-core (no serious or critical violation)
and photographed at desktop width and at a 390-pixel phone width, into
``artifacts/browser/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_world import ICB_CONTRACT, ICB_PROVIDER, World, build_world, served

from commissioning.operations import disputes
from commissioning.web.demo import DEMO_PASSWORD

playwright = pytest.importorskip("playwright.sync_api", reason="pip install '.[browser]'")
from axe_playwright_python.sync_playwright import Axe  # noqa: E402

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    world = build_world(tmp_path_factory.mktemp("browser"), settle=False)
    with served(world.app) as url:
        yield world, url


class Person:
    """One person's browser (its own cookies), checking and photographing each page."""

    def __init__(self, browser: object, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.axe = Axe()
        self.checked: list[str] = []

    def open(self, path: str) -> None:
        response = self.page.goto(self.url + path)
        assert response is not None and response.status == 200, (self.name, path)
        self.look(path)

    def look(self, label: str) -> None:
        """axe-core on the page, then a screenshot at each width."""
        results = self.axe.run(self.page)
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{self.name} {label}: {bad}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{self.name}-{label}".lower()).strip("-")
        for width_name, (width, height) in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.screenshot(path=str(SHOTS / f"{slug}-{width_name}.png"), full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 900})
        self.checked.append(label)

    def sign_in(self, username: str) -> None:
        self.open("/sign-in")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(self.url + "/")
        self.look("home")

    def close(self) -> None:
        self.context.close()


def test_each_role_does_its_job(site: tuple[World, str], browser: object) -> None:
    world, url = site
    contract = f"/contracts/{ICB_CONTRACT}"

    # The public: published pages only; everything else sends them to sign in.
    public = Person(browser, url, "public")
    for path in ("/", "/public/population", "/public/contracts"):
        public.open(path)
    assert "Care for frail older people" in public.page.content()  # the published register
    public.page.goto(url + contract)
    assert public.page.url == url + "/sign-in"
    public.page.goto(url + "/analysis/people")
    assert public.page.url == url + "/sign-in"
    public.close()

    # The provider certifies the first quarter's values.
    provider = Person(browser, url, "provider")
    provider.sign_in("pat.provider")
    assert "value(s) of frail-elderly-alliance to certify" in provider.page.content()
    provider.open(contract)
    buttons = provider.page.get_by_role("button", name=re.compile(r"^Certify value"))
    assert buttons.count() == 4
    while buttons.count():
        buttons.first.click()
        provider.page.wait_for_load_state()
    assert "The value was certified." in provider.page.content()
    provider.look("contract-certified")

    # The contract manager drafts the quarter's settlement run.
    manager = Person(browser, url, "contract-manager")
    manager.sign_in("cat.manager")
    manager.open(contract)
    manager.page.get_by_label("Draft the run of a period").select_option("Y1Q1")
    manager.page.get_by_role("button", name="Draft run").click()
    assert "The run was drafted." in manager.page.content()
    manager.look("contract-drafted")
    manager.open(f"{contract}/runs/1")

    # A finance colleague reviews it; the finance approver approves and posts it.
    reviewer = Person(browser, url, "finance-reviewer")
    reviewer.sign_in("rob.reviewer")
    reviewer.open(contract)
    reviewer.page.get_by_role("button", name="Review run 1").click()
    assert "The run was reviewed." in reviewer.page.content()
    approver = Person(browser, url, "finance-approver")
    approver.sign_in("fay.finance")
    assert "Run 1 (Y1Q1) awaiting approval" in approver.page.content()
    approver.open(contract)
    approver.page.get_by_role("button", name="Approve run 1").click()
    assert "The run was approved." in approver.page.content()
    approver.page.get_by_role("button", name="Post run 1").click()
    assert "The run was posted to the ledger." in approver.page.content()
    approver.look("contract-posted")
    assert world.ops.ledger.verify().ok

    # The provider reads its statement and disputes part of a line.
    provider.open(f"{contract}/statements/{ICB_PROVIDER}")
    statement = provider.page.content()
    assert "Built from the verified ledger" in statement and "£" in statement
    provider.open(contract)
    provider.page.get_by_label("Amount disputed (£)").fill("1000.00")
    provider.page.get_by_label("Reason").fill("The falls service was closed for two weeks.")
    provider.page.get_by_role("button", name="Raise dispute").click()
    assert "The dispute was raised" in provider.page.content()
    assert "The falls service was closed for two weeks." in provider.page.content()
    provider.look("contract-disputed")

    # The finance approver resolves it (£500 of the £1,000 agreed) and closes the quarter.
    (dispute,) = disputes.disputes(world.ops, ICB_CONTRACT)
    line = world.ops.ledger.get(dispute.line_id)
    assert line is not None
    agreed = world.ops.ledger.net_of_line(line) - 50_000
    approver.open(contract)
    approver.page.get_by_label("The line should net to (£)").fill(f"{agreed / 100:.2f}")
    approver.page.get_by_label("Resolution").fill("Half the closure was agreed notice.")
    approver.page.get_by_role("button", name=f"Resolve dispute {dispute.dispute_id}").click()
    assert "The dispute was resolved" in approver.page.content()
    approver.page.get_by_role("button", name="Close Y1Q1").click()
    assert "The period was closed" in approver.page.content()
    approver.look("contract-resolved-closed")
    corrections = [
        ln for ln in world.ops.ledger.lines(contract_id=ICB_CONTRACT) if ln.corrects == line.line_id
    ]
    assert sum(ln.amount_pence for ln in corrections) == 50_000
    assert world.ops.ledger.verify().ok

    # The others' pages: analysis, data, users and the access log.
    analyst = Person(browser, url, "analyst")
    analyst.sign_in("ann.analyst")
    analyst.open("/analysis")
    assert analyst.page.get_by_role("img", name="Concerning: higher").count() == 1
    analyst.open("/analysis/people")
    data = Person(browser, url, "data-manager")
    data.sign_in("dan.data")
    data.open("/data")
    admin = Person(browser, url, "admin")
    admin.sign_in("ada.admin")
    admin.open("/admin/users")
    admin.open("/audit")
    assert "person_level" in admin.page.content()  # the analyst's view was logged
    for person in (provider, manager, reviewer, approver, analyst, data, admin):
        person.close()
    assert len(list(SHOTS.glob("*-phone.png"))) >= 20
