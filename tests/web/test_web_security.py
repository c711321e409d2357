"""Attacks a workbench must withstand: session fixation, cross-site request forgery on
every form, injection and scripting payloads in every input, path traversal in uploads,
brute force, and person-level data leaking into public pages or addresses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_web_access import MATRIX, _path
from web_world import (
    ICB_CONTRACT,
    ICB_PROVIDER,
    PERSON_ID,
    ROLE_USERS,
    World,
    csrf_of,
    sign_in,
)

from commissioning.access.accounts import MAX_FAILED
from commissioning.web.app import route_table
from commissioning.web.demo import DEMO_PASSWORD

PAYLOADS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "'; DROP TABLE users; --",
    "{{7*7}}",
]
#: A payload that reached the page as markup (escaped text such as ``&lt;img`` is harmless).
SCRIPTS = re.compile(r"<script>alert|<img src=x", re.IGNORECASE)


# -- sessions ----------------------------------------------------------------------------------
def test_a_session_id_planted_before_sign_in_is_never_used(world: World) -> None:
    client = TestClient(world.app)
    client.cookies.set("cw_session", "attacker-chosen-session-id")
    assert sign_in(client, "cat.manager", DEMO_PASSWORD) == 303
    issued = [c.value for c in client.cookies.jar if c.name == "cw_session"]
    assert any(v != "attacker-chosen-session-id" for v in issued)
    attacker = TestClient(world.app)
    attacker.cookies.set("cw_session", "attacker-chosen-session-id")
    assert attacker.get("/api/v1/me").status_code == 401


def test_signing_in_again_ends_the_earlier_session(world: World) -> None:
    client = world.client("cat.manager")
    first = client.cookies.get("cw_session")
    assert sign_in(client, "cat.manager", DEMO_PASSWORD) == 303
    second = client.cookies.get("cw_session")
    assert first != second
    replay = TestClient(world.app)
    replay.cookies.set("cw_session", str(first))
    assert replay.get("/api/v1/me").status_code == 401


def test_signing_out_ends_the_session_and_needs_the_csrf_token(world: World) -> None:
    client = world.client("cat.manager")
    token = client.cookies.get("cw_session")
    assert client.post("/sign-out", data={}, follow_redirects=False).status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # a forged sign-out did nothing
    csrf = csrf_of(client.get("/").text)
    assert (
        client.post("/sign-out", data={"csrf_token": csrf}, follow_redirects=False).status_code
        == 303
    )
    stolen = TestClient(world.app)
    stolen.cookies.set("cw_session", str(token))
    assert stolen.get("/api/v1/me").status_code == 401


def test_cookies_are_httponly_samesite_and_secure_when_served_beyond_this_machine(
    world: World, tmp_path: Path
) -> None:
    from commissioning.web.app import create_app
    from commissioning.web.services import WebSettings

    settings = WebSettings(
        records=world.store.address, ledger_key=world.ops.ledger.key, secure_cookies=True
    )
    client = TestClient(create_app(settings, world.store), base_url="https://testserver")
    page = client.get("/sign-in")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    response = client.post(
        "/sign-in",
        data={
            "username": "ann.analyst",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    session = [c for c in response.headers.get_list("set-cookie") if c.startswith("cw_session=")]
    assert session and all(k in session[0].lower() for k in ("httponly", "secure", "samesite=lax"))


def test_pages_carry_a_strict_content_security_policy(world: World) -> None:
    response = world.client().get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    signed_in = world.client("cat.manager").get("/contracts")
    assert signed_in.headers["cache-control"] == "no-store"


# -- CSRF ----------------------------------------------------------------------------------------
POSTS = sorted(route for route in MATRIX if route[0] == "POST")


@pytest.mark.parametrize("route", POSTS, ids=str)
@pytest.mark.parametrize("token", ["missing", "wrong"])
def test_every_form_and_action_refuses_a_forged_request(
    world: World, route: tuple[str, str], token: str
) -> None:
    case = MATRIX[route]
    role = next(iter(sorted(case.allowed)), "contract_manager")
    client = world.client(None if route[1] == "/sign-in" else ROLE_USERS.get(role, "cat.manager"))
    path = _path(route[1], case.own)
    before = world.store.one("SELECT count(*) FROM contract_events")
    headers = {} if token == "missing" else {"X-CSRF-Token": "forged"}
    if path.startswith("/api/"):
        response = client.post(path, json=case.body or {}, headers=headers)
    else:
        data = dict(case.body or {})
        if token == "wrong":
            data["csrf_token"] = "forged"
        response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 403, f"{route}: {response.status_code}"
    assert "did not come from this site" in response.text
    assert world.store.one("SELECT count(*) FROM contract_events") == before


def test_the_routes_that_change_things_are_exactly_the_posts() -> None:
    """Nothing changes state on GET (so no link can act for someone)."""
    from test_web_access import MATRIX as matrix

    changing = {r for r in matrix if r[0] not in ("GET", "POST", "MOUNT")}
    assert not changing


def test_a_system_token_needs_no_csrf_token_and_a_revoked_one_is_refused(world: World) -> None:
    row = world.store.one("SELECT user_id FROM users WHERE username = 'cat.manager'")
    assert row is not None
    token = world.accounts.issue_token(int(row[0]), "test system")
    client = TestClient(world.app)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json()["username"] == "cat.manager"
    response = client.post(
        f"/api/v1/contracts/{ICB_CONTRACT}/runs", json={"period": "Y9Q9"}, headers=headers
    )
    assert response.status_code == 400  # reached the service: no such period
    world.accounts.revoke_token(token)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


# -- injection and scripting ---------------------------------------------------------------------
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_addresses_find_nothing_and_are_not_reflected(
    world: World, payload: str
) -> None:
    client = world.client("cat.manager")
    for template in ("/contracts/{x}", "/api/v1/contracts/{x}", "/contracts/{x}/runs/1"):
        response = client.get(template.replace("{x}", payload))
        assert response.status_code in (404, 422), (template, response.status_code)
        assert not SCRIPTS.search(response.text)
    admin = world.client("ada.admin")
    response = admin.get("/audit", params={"user": payload, "text": payload, "since": payload})
    assert response.status_code == 200 and not SCRIPTS.search(response.text.split("</form>")[1])
    assert "<script>alert" not in response.text


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_forms_are_stored_as_text_and_shown_escaped(world: World, payload: str) -> None:
    provider = world.client("pat.provider")
    page = provider.get(f"/contracts/{ICB_CONTRACT}")
    line = next(
        ln
        for ln in world.ops.ledger.lines(contract_id=ICB_CONTRACT)
        if ICB_PROVIDER in (ln.payer, ln.payee)
    )
    response = provider.post(
        f"/contracts/{ICB_CONTRACT}/disputes",
        data={
            "line_id": line.line_id,
            "party_id": ICB_PROVIDER,
            "amount": "0.01",
            "reason": payload,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    shown = provider.get(f"/contracts/{ICB_CONTRACT}").text
    assert payload not in shown or not SCRIPTS.search(payload)
    assert "<script>alert" not in shown and "<img src=x" not in shown
    stored = world.store.one(
        "SELECT reason FROM disputes WHERE reason = ? ORDER BY dispute_id DESC", [payload]
    )
    assert stored is not None and stored[0] == payload  # kept exactly, as text
    assert world.store.one("SELECT count(*) FROM users")[0] > 0  # type: ignore[index]
    # Sign-in with the payload as the name and the password is refused, nothing more.
    assert sign_in(TestClient(world.app), payload, payload) == 401


def test_a_person_added_with_a_script_for_a_name_is_shown_as_text(world: World) -> None:
    admin = world.client("ada.admin")
    csrf = csrf_of(admin.get("/admin/users").text)
    response = admin.post(
        "/admin/users",
        data={
            "username": "xss.person",
            "display_name": "<script>alert('name')</script>",
            "role": "analyst",
            "password": "a long enough password",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = admin.get("/admin/users").text
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page
    assert "<script>alert('name')" not in page


# -- uploads -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "../places.csv",
        "..\\..\\places.csv",
        "/tmp/places.csv",
        "places.csv/../../x.csv",
        "places.csv\x00.exe",
        "people.exe",
        "notes.csv",
    ],
)
def test_upload_names_cannot_reach_outside_the_upload_folder(
    world: World, tmp_path: Path, name: str
) -> None:
    client = world.client("dan.data")
    csrf = csrf_of(client.get("/data").text)
    before = {p.resolve() for p in Path("/tmp").glob("*.csv")}
    response = client.post(
        "/data/upload",
        data={"csrf_token": csrf},
        files={"file": (name, b"place_code,place_name\nAAA,A\n", "text/csv")},
    )
    assert response.status_code == 400, (name, response.status_code)
    assert "name the file after its table" in response.text
    assert {p.resolve() for p in Path("/tmp").glob("*.csv")} == before


def test_a_good_upload_is_kept_under_a_new_name_and_loaded(world: World) -> None:
    client = world.client("dan.data")
    csrf = csrf_of(client.get("/data").text)
    response = client.post(
        "/data/upload",
        data={"csrf_token": csrf},
        files={
            "file": (
                "places.csv",
                b"place_code,place_name,rurality,is_home\nZZZ,Zedtown,urban,0\n,,,\n",
                "text/csv",
            )
        },
    )
    assert response.status_code == 200, response.text[-500:]
    assert "rows read" in response.text
    uploads = world.app.state.services.settings.uploads
    kept = sorted(uploads.glob("*-places.csv"), key=lambda p: p.stat().st_mtime)
    assert kept and all(p.parent == uploads for p in kept)
    loads = client.get("/api/v1/data/loads").json()
    assert any(row["file_name"] == kept[-1].name for row in loads["loads"])
    row = loads["loads"][0]
    assert row["rows_read"] == row["rows_loaded"] + row["rows_rejected"]


def test_analyses_are_served_by_name_only(world: World) -> None:
    client = world.client("ann.analyst")
    assert client.get("/analysis/reports/needs.html").status_code == 200
    table = client.get("/analysis/reports/spc.csv")  # a table the manifest lists
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    for name in (
        "person_year.parquet",
        "..%2Fneeds.html",
        "%2E%2E%2Fetc%2Fpasswd",
        "who_would_gain_most.csv",  # restricted, and not listed
        "..%2Frestricted%2Fwho_would_gain_most.csv",  # listed by a forged manifest: not served
        "manifest.json",
    ):
        assert client.get(f"/analysis/reports/{name}").status_code == 404, name


# -- brute force ---------------------------------------------------------------------------------
def test_repeated_wrong_passwords_lock_the_account_until_an_administrator_unlocks_it(
    world: World,
) -> None:
    admin = world.client("ada.admin")
    csrf = csrf_of(admin.get("/admin/users").text)
    admin.post(
        "/admin/users",
        data={
            "username": "lock.target",
            "display_name": "Lock Target",
            "role": "analyst",
            "password": "the right password",
            "csrf_token": csrf,
        },
    )
    attacker = TestClient(world.app)
    for _ in range(MAX_FAILED):
        assert sign_in(attacker, "lock.target", "a guessed password") == 401
    assert sign_in(attacker, "lock.target", "the right password") == 401  # locked
    log = admin.get("/api/v1/audit", params={"user": "lock.target"}).json()
    assert sum(r["category"] == "sign_in_failed" for r in log) >= MAX_FAILED + 1
    users = admin.get("/api/v1/admin/users").json()
    target = next(u for u in users if u["username"] == "lock.target")
    assert target["locked_until"]
    page = admin.get("/admin/users").text
    admin.post(f"/admin/users/{target['user_id']}/unlock", data={"csrf_token": csrf_of(page)})
    assert sign_in(TestClient(world.app), "lock.target", "the right password") == 303


# -- person-level data ---------------------------------------------------------------------------
PSEUDONYM = re.compile(r"\b[0-9a-f]{20}\b")


def test_public_pages_hold_no_person_level_data(world: World) -> None:
    public = world.client()
    for path in (
        "/",
        "/public/contracts",
        "/public/population",
        "/api/v1/public/contracts",
        "/api/v1/public/population",
        "/api/openapi.json",
    ):
        text = public.get(path).text
        assert PERSON_ID not in text and not PSEUDONYM.search(text), path
    for path in ("/analysis/people", "/api/v1/analysis/people", "/analysis/reports/needs.html"):
        response = public.get(path, follow_redirects=False)
        assert response.status_code in (303, 401) and PERSON_ID not in response.text


def test_no_address_carries_a_person(world: World) -> None:
    """Person-level views are chosen by role, never by an id in the address: no route takes
    a person, and no address in the access log holds a pseudonym."""
    for _method, path in route_table(world.app):
        assert "person" not in path.lower() or path.endswith("/people"), path
    analyst = world.client("ann.analyst")
    assert PERSON_ID in analyst.get("/analysis/people").text
    admin = world.client("ada.admin")
    log = admin.get("/api/v1/audit", params={"category": "person_level"}).json()
    assert log, "the person-level view was not logged"
    paths = [r["path"] for r in admin.get("/api/v1/audit").json()]
    assert not any(PSEUDONYM.search(p) for p in paths)


def test_switching_an_account_off_ends_its_session_and_tokens_at_once(tmp_path: Path) -> None:
    from web_world import build_world

    world = build_world(tmp_path)
    admin = world.client("ada.admin")
    manager = world.client("cat.manager")
    assert manager.get("/api/v1/me").status_code == 200
    users = admin.get("/api/v1/admin/users").json()
    cat = next(u for u in users if u["username"] == "cat.manager")
    ada = next(u for u in users if u["username"] == "ada.admin")
    page = admin.get("/admin/users")
    issued = admin.post(
        f"/admin/users/{cat['user_id']}/tokens",
        data={"name": "contract system", "csrf_token": csrf_of(page.text)},
    )
    token = re.search(r"<code>(cmt_[^<]+)</code>", issued.text)
    assert token is not None
    system = TestClient(world.app)
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert system.get("/api/v1/me", headers=bearer).json()["username"] == "cat.manager"
    assert admin.get("/admin/users").text.count(token.group(1)) == 0  # shown once only
    csrf = csrf_of(admin.get("/admin/users").text)
    own = admin.post(
        f"/admin/users/{ada['user_id']}/active", data={"active": "no", "csrf_token": csrf}
    )
    assert own.status_code == 409
    off = admin.post(
        f"/admin/users/{cat['user_id']}/active",
        data={"active": "no", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert manager.get("/api/v1/me").status_code == 401
    assert system.get("/api/v1/me", headers=bearer).status_code == 401
    assert sign_in(TestClient(world.app), "cat.manager", DEMO_PASSWORD) == 401
