"""Every route x every role x own and other organisation: allowed, or refused with no data.

The matrix below is the access policy written out by hand. A route the application
answers that is not in the matrix fails the first test, so a new page or endpoint cannot
be added without saying who may use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_world import (
    COUNCIL_CONTRACT,
    COUNCIL_PROVIDER,
    ICB_CONTRACT,
    ICB_PROVIDER,
    PERSON_ID,
    ROLE_USERS,
    World,
    build_world,
    csrf_of,
    fresh_database,
)

from commissioning.store.records import open_records
from commissioning.web.app import route_table


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> World:
    """The matrix runs on both record stores: DuckDB shared by the server, and PostgreSQL
    with a connection per worker thread."""
    tmp = tmp_path_factory.mktemp(f"access-{request.param}")
    if request.param == "duckdb":
        return build_world(tmp)
    dsn = fresh_database(request.getfixturevalue("postgres_dsn"))
    return build_world(tmp, store=open_records(dsn), share=False)


ROLES = ("public", *ROLE_USERS)
EVERYONE = frozenset(ROLES)
SIGNED_IN = frozenset(ROLE_USERS)
CONTRACT_ROLES = frozenset({"contract_manager", "finance_approver", "provider"})
COMMISSIONER_RUN = frozenset({"contract_manager", "finance_approver"})


@dataclass(frozen=True)
class Case:
    """Who may use a route on their own organisation's things; on another organisation's
    things nobody may (unless ``shared``: the route has no organisation's things)."""

    allowed: frozenset[str]
    own: dict[str, str] = field(default_factory=dict)
    other: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    shared: bool = False
    #: A body for one role in particular (e.g. the party it signs for).
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)


def _contract(own: str, other: str, **extra: str) -> tuple[dict[str, str], dict[str, str]]:
    return {"contract_id": own, **extra}, {"contract_id": other, **extra}


C = _contract(ICB_CONTRACT, COUNCIL_CONTRACT)
RUN = ({**C[0], "run_id": "1"}, {**C[1], "run_id": "3"})
PARTY = ({**C[0], "party_id": ICB_PROVIDER}, {**C[1], "party_id": COUNCIL_PROVIDER})
VALUE = ({**C[0], "measurement_id": "1"}, {**C[1], "measurement_id": "5"})
STEP = (
    {**RUN[0], "run_id": "2", "action": "approve"},
    {**RUN[1], "run_id": "4", "action": "approve"},
)
DISPUTE = {"line_id": "PLACEHOLDER_LINE", "party_id": ICB_PROVIDER, "amount": "0", "reason": "x"}
DISPUTE_API = {
    "line_id": "PLACEHOLDER_LINE",
    "party_id": ICB_PROVIDER,
    "amount_gbp": "0",
    "reason": "x",
}

MATRIX: dict[tuple[str, str], Case] = {
    ("GET", "/"): Case(EVERYONE, shared=True),
    ("GET", "/sign-in"): Case(EVERYONE, shared=True),
    # Anyone may try; a wrong password is refused (401) with nothing but the form.
    ("POST", "/sign-in"): Case(frozenset(), body={"username": "x", "password": "y"}, shared=True),
    ("POST", "/sign-out"): Case(EVERYONE, shared=True),
    ("GET", "/sign-in/oidc"): Case(frozenset(), shared=True),  # not set up in this world
    ("GET", "/sign-in/oidc/callback"): Case(frozenset(), shared=True),
    ("GET", "/public/contracts"): Case(EVERYONE, shared=True),
    ("GET", "/public/population"): Case(EVERYONE, shared=True),
    ("GET", "/api/v1/public/contracts"): Case(EVERYONE, shared=True),
    ("GET", "/api/v1/public/population"): Case(EVERYONE, shared=True),
    ("GET", "/api/openapi.json"): Case(EVERYONE, shared=True),
    ("MOUNT", "/static"): Case(EVERYONE, own={"path": "site.css"}, shared=True),
    ("GET", "/api/v1/me"): Case(SIGNED_IN, shared=True),
    ("GET", "/api/v1/attention"): Case(SIGNED_IN, shared=True),
    ("GET", "/contracts"): Case(CONTRACT_ROLES, shared=True),
    ("GET", "/api/v1/contracts"): Case(CONTRACT_ROLES, shared=True),
    ("GET", "/contracts/{contract_id}"): Case(CONTRACT_ROLES, *C),
    ("GET", "/api/v1/contracts/{contract_id}"): Case(CONTRACT_ROLES, *C),
    ("GET", "/contracts/{contract_id}/runs/{run_id}"): Case(CONTRACT_ROLES, *RUN),
    ("GET", "/api/v1/contracts/{contract_id}/runs/{run_id}"): Case(CONTRACT_ROLES, *RUN),
    ("GET", "/contracts/{contract_id}/statements/{party_id}"): Case(
        frozenset({"provider"}), *PARTY
    ),
    ("GET", "/api/v1/contracts/{contract_id}/statements/{party_id}"): Case(
        frozenset({"provider"}), *PARTY
    ),
    ("POST", "/contracts/{contract_id}/runs"): Case(
        frozenset({"contract_manager"}), *C, body={"period": "Y9Q9"}
    ),
    ("POST", "/api/v1/contracts/{contract_id}/runs"): Case(
        frozenset({"contract_manager"}), *C, body={"period": "Y9Q9"}
    ),
    ("POST", "/contracts/{contract_id}/runs/{run_id}/{action}"): Case(
        frozenset({"finance_approver"}), *STEP
    ),
    ("POST", "/api/v1/contracts/{contract_id}/runs/{run_id}/{action}"): Case(
        frozenset({"finance_approver"}), *STEP
    ),
    ("POST", "/contracts/{contract_id}/values/{measurement_id}/certify"): Case(
        frozenset({"contract_manager", "provider"}), *VALUE
    ),
    ("POST", "/api/v1/contracts/{contract_id}/values/{measurement_id}/certify"): Case(
        frozenset({"contract_manager", "provider"}), *VALUE
    ),
    ("POST", "/contracts/{contract_id}/disputes"): Case(frozenset({"provider"}), *C, body=DISPUTE),
    ("POST", "/api/v1/contracts/{contract_id}/disputes"): Case(
        frozenset({"provider"}), *C, body=DISPUTE_API
    ),
    ("POST", "/contracts/{contract_id}/disputes/{dispute_id}/resolve"): Case(
        frozenset({"finance_approver"}),
        {**C[0], "dispute_id": "1"},
        {**C[1], "dispute_id": "2"},
        body={"agreed": "-1", "resolution": "x"},
    ),
    ("POST", "/api/v1/contracts/{contract_id}/disputes/{dispute_id}/resolve"): Case(
        frozenset({"finance_approver"}),
        {**C[0], "dispute_id": "1"},
        {**C[1], "dispute_id": "2"},
        body={"agreed_gbp": "-1", "resolution": "x"},
    ),
    ("POST", "/contracts/{contract_id}/versions"): Case(frozenset({"contract_manager"}), *C),
    ("POST", "/api/v1/contracts/{contract_id}/versions"): Case(
        frozenset({"contract_manager"}), *C, body={"text": "not a contract"}
    ),
    ("POST", "/contracts/{contract_id}/versions/{version}/sign"): Case(
        frozenset({"contract_manager", "provider"}),
        {**C[0], "version": "1.0"},
        {**C[1], "version": "1.0"},
        body={"party_id": "place-ccg"},
        bodies={"provider": {"party_id": ICB_PROVIDER}},
    ),
    ("POST", "/api/v1/contracts/{contract_id}/versions/{version}/sign"): Case(
        frozenset({"contract_manager", "provider"}),
        {**C[0], "version": "1.0"},
        {**C[1], "version": "1.0"},
        body={"party_id": "place-ccg"},
        bodies={"provider": {"party_id": ICB_PROVIDER}},
    ),
    ("POST", "/contracts/{contract_id}/periods/{period}/close"): Case(
        frozenset({"finance_approver"}), {**C[0], "period": "Y1Q1"}, {**C[1], "period": "Y1Q1"}
    ),
    ("POST", "/api/v1/contracts/{contract_id}/periods/{period}/close"): Case(
        frozenset({"finance_approver"}), {**C[0], "period": "Y1Q1"}, {**C[1], "period": "Y1Q1"}
    ),
    ("GET", "/analysis"): Case(frozenset({"analyst"}), shared=True),
    ("GET", "/api/v1/analysis/reports"): Case(frozenset({"analyst"}), shared=True),
    ("GET", "/analysis/reports/{name}"): Case(
        frozenset({"analyst"}), {"name": "needs.html"}, {"name": "person_year.parquet"}
    ),
    ("GET", "/analysis/reports/assets/{name}"): Case(
        frozenset({"analyst"}), {"name": "report.css"}, {"name": "plotly.min.js"}
    ),
    ("GET", "/analysis/people"): Case(frozenset({"analyst"}), shared=True),
    ("GET", "/api/v1/analysis/people"): Case(frozenset({"analyst"}), shared=True),
    ("GET", "/portfolio/measures"): Case(frozenset({"analyst", "contract_manager"}), shared=True),
    ("POST", "/portfolio/measures"): Case(
        frozenset({"analyst", "contract_manager"}),
        body={
            "measure": "7",
            "status": "met",
            "value": "31 of 40",
            "measured_on": "2025-02-14",
            "source": "survey",
        },
        shared=True,
    ),
    ("GET", "/data"): Case(frozenset({"data_manager"}), shared=True),
    ("GET", "/api/v1/data/loads"): Case(frozenset({"data_manager"}), shared=True),
    ("POST", "/data/upload"): Case(frozenset({"data_manager"}), shared=True),
    ("GET", "/admin/users"): Case(frozenset({"admin"}), shared=True),
    ("GET", "/api/v1/admin/users"): Case(frozenset({"admin"}), shared=True),
    ("POST", "/admin/users"): Case(
        frozenset({"admin"}),
        body={
            "username": "new.person",
            "display_name": "N P",
            "role": "analyst",
            "password": "short",
        },
        shared=True,
    ),
    ("POST", "/admin/users/{user_id}/unlock"): Case(
        frozenset({"admin"}), {"user_id": "1"}, {"user_id": "PLACEHOLDER_COUNCIL_USER"}
    ),
    ("POST", "/admin/users/{user_id}/active"): Case(
        frozenset({"admin"}),
        {"user_id": "PLACEHOLDER_SELF"},  # switching oneself off is refused (409)
        {"user_id": "PLACEHOLDER_COUNCIL_USER"},
        body={"active": "no"},
    ),
    ("POST", "/admin/users/{user_id}/tokens"): Case(
        frozenset({"admin"}),
        {"user_id": "1"},
        {"user_id": "PLACEHOLDER_COUNCIL_USER"},
        body={"name": "matrix"},
    ),
    ("GET", "/audit"): Case(frozenset({"admin"}), shared=True),
    ("GET", "/audit/export"): Case(frozenset({"admin"}), shared=True),
    ("GET", "/api/v1/audit"): Case(frozenset({"admin"}), shared=True),
}


#: What must never appear in a refused answer, nor in any answer to the wrong party.
def secrets_of(world: World) -> list[str]:
    return [
        "Care for frail older people",
        "Substance misuse services",
        "Third-sector recovery prime contractor",
        "£",
        PERSON_ID,
    ]


def test_every_route_is_in_the_matrix(world: World) -> None:
    routes = route_table(world.app)
    missing = routes - set(MATRIX)
    stale = set(MATRIX) - routes
    assert not missing, f"routes with no access rule in the matrix: {sorted(missing)}"
    assert not stale, f"matrix rows for routes that no longer exist: {sorted(stale)}"


def _path(template: str, params: dict[str, str]) -> str:
    path = template
    for key, value in params.items():
        path = path.replace("{" + key + "}", value)
    return path


def _user_id(world: World, username: str) -> str:
    row = world.store.one("SELECT user_id FROM users WHERE username = ?", [username])
    assert row is not None
    return str(row[0])


def _council_user(world: World) -> str:
    return _user_id(world, "col.council")


def _provider_line(world: World) -> str:
    lines = world.ops.ledger.lines(contract_id=ICB_CONTRACT)
    return next(ln.line_id for ln in lines if ICB_PROVIDER in (ln.payer, ln.payee))


def _request(
    world: World, client: TestClient, role: str, method: str, template: str, case: Case, own: bool
) -> Any:
    params = case.own if own else (case.other or case.own)
    params = {
        k: (
            _council_user(world)
            if v == "PLACEHOLDER_COUNCIL_USER"
            else _user_id(world, ROLE_USERS.get(role, "ada.admin"))
            if v == "PLACEHOLDER_SELF"
            else v
        )
        for k, v in params.items()
    }
    if method == "MOUNT":
        return client.get(template + "/" + params["path"], follow_redirects=False)
    path = _path(template, params)
    if method == "GET":
        return client.get(path, follow_redirects=False)
    body = {
        k: (_provider_line(world) if v == "PLACEHOLDER_LINE" else v)
        for k, v in case.bodies.get(role, case.body or {}).items()
    }
    case = Case(case.allowed, case.own, case.other, body, case.shared)
    headers = {}
    csrf = client.cookies.get("cw_presign") if role == "public" else getattr(client, "csrf", "")
    if path.startswith("/api/"):
        headers["X-CSRF-Token"] = csrf or ""
        return client.post(path, json=case.body or {}, headers=headers, follow_redirects=False)
    if template == "/data/upload":
        return client.post(
            path,
            data={"csrf_token": csrf or ""},
            files={"file": ("places.csv", b"place_code,place_name\n", "text/csv")},
            follow_redirects=False,
        )
    if template.endswith("/versions"):
        return client.post(
            path,
            data={"csrf_token": csrf or ""},
            files={"file": ("v2.toml", b"not a contract", "text/plain")},
            follow_redirects=False,
        )
    return client.post(
        path, data={**(case.body or {}), "csrf_token": csrf or ""}, follow_redirects=False
    )


@pytest.fixture(scope="module")
def clients(world: World) -> dict[str, TestClient]:
    out = {}
    for role in ROLES:
        client = world.client(None if role == "public" else ROLE_USERS[role])
        page = client.get("/sign-in" if role == "public" else "/")
        client.csrf = csrf_of(page.text)  # type: ignore[attr-defined]
        out[role] = client
    return out


REFUSED = {401, 403, 404}


def _refused(response: Any, path: str) -> bool:
    if response.status_code in REFUSED:
        return True
    # A page for signed-in people sends the public to the sign-in form.
    return response.status_code == 303 and response.headers.get("location") == "/sign-in"


@pytest.mark.parametrize("route", sorted(MATRIX, key=lambda r: (r[1], r[0])), ids=str)
@pytest.mark.parametrize("role", ROLES)
def test_access(
    world: World, clients: dict[str, TestClient], route: tuple[str, str], role: str
) -> None:
    method, template = route
    case = MATRIX[route]
    sides = [True] if case.shared else [True, False]
    for own in sides:
        client = clients[role]
        if template == "/sign-out":  # a browser of its own: the shared session lives on
            client = world.client(None if role == "public" else ROLE_USERS[role])
            page = client.get("/sign-in" if role == "public" else "/")
            client.csrf = csrf_of(page.text)  # type: ignore[attr-defined]
        response = _request(world, client, role, method, template, case, own)
        allowed = role in case.allowed and own
        where = f"{role} {method} {template} ({'own' if own else 'other'} organisation)"
        if allowed:
            assert not _refused(response, template), f"{where} was refused: {response.status_code}"
            assert response.status_code < 500, f"{where} failed: {response.status_code}"
            if method in ("GET", "MOUNT"):
                assert response.status_code == 200, f"{where}: {response.status_code}"
        else:
            assert _refused(response, template), f"{where} was not refused: {response.status_code}"
            body = response.text
            for secret in secrets_of(world):
                assert secret not in body, f"{where}: the refusal shows '{secret}'"


#: What one organisation's people must never see of the other's, on the pages that list
#: "your organisation's" things.
OTHER_ORG = ["Substance misuse services", "Col Council", "col.council", COUNCIL_CONTRACT]


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("contract_manager", "/contracts"),
        ("contract_manager", "/api/v1/contracts"),
        ("contract_manager", "/"),
        ("finance_approver", "/api/v1/attention"),
        ("provider", "/contracts"),
        ("provider", "/api/v1/contracts"),
        ("admin", "/admin/users"),
        ("admin", "/api/v1/admin/users"),
        ("admin", "/audit"),
        ("admin", "/api/v1/audit"),
        ("admin", "/audit/export"),
    ],
)
def test_lists_hold_only_your_organisation(
    clients: dict[str, TestClient], role: str, path: str
) -> None:
    response = clients[role].get(path)
    assert response.status_code == 200
    # The access log lists the addresses its own people asked for, the other
    # organisation's contract among them (refused); never the other's people.
    hidden = OTHER_ORG[:3] if path.startswith(("/audit", "/api/v1/audit")) else OTHER_ORG
    for text in hidden:
        assert text not in response.text, f"{role} {path} shows '{text}'"


def test_the_council_sees_its_own_contract_and_not_the_icbs(world: World) -> None:
    council = world.client("col.council")
    listing = council.get("/api/v1/contracts").json()
    assert [c["contract_id"] for c in listing] == [COUNCIL_CONTRACT]
    assert council.get(f"/contracts/{ICB_CONTRACT}").status_code == 404
    own = council.get(f"/api/v1/contracts/{COUNCIL_CONTRACT}").json()
    assert own["title"].startswith("Substance misuse services")


def test_a_provider_sees_only_its_own_lines_of_a_run(world: World) -> None:
    """The alliance's run pays four partners; a partner sees its own lines only."""
    provider = world.client("pat.provider").get(f"/api/v1/contracts/{ICB_CONTRACT}/runs/1").json()
    commissioner = (
        world.client("cat.manager").get(f"/api/v1/contracts/{ICB_CONTRACT}/runs/1").json()
    )
    assert provider["lines"] and commissioner["lines"]
    assert all(ICB_PROVIDER in (ln["payer"], ln["payee"]) for ln in provider["lines"])
    assert len(provider["lines"]) < len(commissioner["lines"])
    assert provider["gross"] == "" and commissioner["gross"].startswith("£")
