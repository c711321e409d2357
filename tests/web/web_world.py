"""The workbench's test world: the demo's organisations, people and live contracts in a
record store in memory, with the first quarter of both contracts settled and the second
drafted, and a small folder of analyses. Imported by the web tests (pytest puts this
folder on ``sys.path``).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from commissioning.access.accounts import Accounts
from commissioning.operations import disputes, measurements, runs
from commissioning.operations.base import DEMO_LEDGER_KEY, Operations, open_operations
from commissioning.store.records import RecordStore, open_records
from commissioning.web.app import create_app
from commissioning.web.demo import DEMO_PASSWORD, ICB, build_demo_world
from commissioning.web.services import WebSettings

HOME = "NVL"
ICB_CONTRACT, COUNCIL_CONTRACT = "frail-elderly-alliance", "mk-substance-misuse"
ICB_PROVIDER, COUNCIL_PROVIDER = "community-trust", "recovery-prime"
#: The person who plays each role, in the ICB (own) world.
ROLE_USERS = {
    "analyst": "ann.analyst",
    "contract_manager": "cat.manager",
    "finance_approver": "fay.finance",
    "provider": "pat.provider",
    "data_manager": "dan.data",
    "admin": "ada.admin",
}
#: A pseudonymised person id in the analyst's person-level list.
PERSON_ID = "0f3a9c27be51d4e8a6c2"


@dataclass
class World:
    app: FastAPI
    store: RecordStore
    ops: Operations
    accounts: Accounts
    reports: Path

    def client(self, username: str | None = None) -> TestClient:
        """A browser: signed in as ``username`` through the sign-in form, or anonymous."""
        client = TestClient(self.app, base_url="http://testserver")
        if username is not None:
            sign_in(client, username, DEMO_PASSWORD)
        return client


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str) -> int:
    """Sign in through the form; returns the status of the form's answer."""
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return response.status_code


def _settle(ops: Operations, contract_id: str, certifier: str, team: tuple[str, str, str]) -> None:
    drafter, reviewer, approver = team
    for m in measurements.listing(ops, contract_id):
        if m.status == "submitted":
            measurements.certify(ops, m.measurement_id, certifier)
    run = runs.draft_run(ops, contract_id, 1, 1, drafter)
    runs.review_run(ops, run.run_id, reviewer)
    runs.approve_run(ops, run.run_id, approver)
    runs.post_run(ops, run.run_id, approver)
    runs.draft_run(ops, contract_id, 1, 2, drafter)
    provider_line = next(
        ln for ln in ops.ledger.lines(contract_id=contract_id) if ln.payee != ln.payer
    )
    disputes.raise_dispute(
        ops, provider_line.line_id, provider_line.payee, 100, "test world", certifier
    )


def write_reports(root: Path) -> None:
    """A small folder of analyses as the demo writes them: the published pack and the
    restricted folder beside it."""
    folder = root / "published"
    restricted = root / "restricted"
    folder.mkdir(parents=True, exist_ok=True)
    restricted.mkdir(parents=True, exist_ok=True)
    (folder / "needs.html").write_text(
        "<!doctype html><html lang='en'><title>Needs</title><h1>Needs assessment</h1></html>"
    )
    (folder / "assets").mkdir(exist_ok=True)
    (folder / "assets" / "report.css").write_text("body { color: #212b32; }\n")
    (folder / "spc.csv").write_text(
        "indicator_id,title,variation_icon,variation,quarters\n"
        "emergency_admissions,Emergency admissions,special_cause_concerning_high,x,16\n"
        "mortality_under_75,Deaths under 75,common_cause,x,16\n"
    )
    (folder / "manifest.json").write_text(
        '{"threshold": 8, "files": {"needs.html": {"kind": "page"}, '
        '"spc.csv": {"kind": "table"}, "../restricted/who_would_gain_most.csv": {"kind": "table"}}}'
    )
    (restricted / "who_would_gain_most.csv").write_text(
        f"person_id,age_years,sex,risk,gain_score\n{PERSON_ID},91,M,0.73,0.59\n"
    )
    (restricted / "person_year.parquet").write_bytes(b"PAR1 person-level: never served")


def build_world(
    tmp: Path, store: RecordStore | None = None, settle: bool = True, share: bool = True
) -> World:
    """The world, on ``store`` (a fresh in-memory DuckDB by default); ``settle=False``
    leaves it as the demo does: first quarters' values awaiting certification;
    ``share=False`` has the server open its own connections (one a worker thread)."""
    store = store or open_records("duckdb:///:memory:")
    ops = open_operations(store, DEMO_LEDGER_KEY)
    accounts = Accounts(store)
    build_demo_world(ops, accounts, HOME)
    if settle:
        team = ("Cat Manager", "Rob Reviewer", "Fay Finance")
        _settle(ops, ICB_CONTRACT, "Pat Provider", team)
        _settle(
            ops, COUNCIL_CONTRACT, "Rae Recovery", ("Col Council", "Cat Manager", "Vic Council")
        )
    reports = tmp / "reports"
    write_reports(reports)
    settings = WebSettings(
        records=store.address,
        ledger_key=DEMO_LEDGER_KEY,
        reports=reports,
        population_org=ICB,
        uploads=tmp / "uploads",
        analytical_store=tmp / "analytical.duckdb",
        pseudonymisation_key=b"web-test-pseudonymisation-key",
        secure_cookies=False,
        published={
            "population": {
                "years": [2024],
                "rows": [{"place_code": HOME, "people": [17730]}],
                "threshold": 8,
                "rounded_to": 5,
            }
        },
    )
    app = create_app(settings, store if share else None)
    return World(app, store, ops, accounts, reports)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free local port, in a thread; yields its address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def fresh_database(postgres_dsn: str) -> str:
    """A new, empty database on the test session's PostgreSQL server; its address."""
    import uuid

    import psycopg

    name = "w" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return postgres_dsn.rsplit("/", 1)[0] + "/" + name
