"""Sign-in with OpenID Connect against a local stand-in identity provider over real HTTP:
the code flow with PKCE succeeds for a registered person and is refused when the ID token
is for another client, carries the wrong nonce, is signed with an unpublished key, or
names someone the workbench does not know."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from oidc_standin import CLIENT_ID, CLIENT_SECRET, StandIn
from web_world import World, served

from commissioning.web.app import create_app
from commissioning.web.demo import ICB
from commissioning.web.services import OidcSettings, WebSettings


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    provider = StandIn()
    with served(provider.app) as url:  # type: ignore[arg-type]
        provider.issuer = url
        yield provider


@pytest.fixture
def client(world: World, standin: StandIn) -> Iterator[TestClient]:
    if world.accounts.user_for_subject("nhs-identity-0001") is None:
        world.accounts.add_user(
            "olive.oidc", "Olive Oidc", ICB, "analyst", "setup", oidc_subject="nhs-identity-0001"
        )
    settings = WebSettings(
        records=world.store.address,
        ledger_key=world.ops.ledger.key,
        secure_cookies=False,
        oidc=OidcSettings(
            issuer=standin.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri="http://testserver/sign-in/oidc/callback",
        ),
    )
    standin.mode, standin.subject = "honest", "nhs-identity-0001"
    yield TestClient(create_app(settings, world.store), base_url="http://testserver")


def _round_trip(client: TestClient) -> httpx.Response:
    start = client.get("/sign-in/oidc", follow_redirects=False)
    assert start.status_code == 303
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["location"])
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def test_a_registered_person_signs_in_with_the_identity_provider(client: TestClient) -> None:
    response = _round_trip(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    me = client.get("/api/v1/me").json()
    assert me["username"] == "olive.oidc" and me["organisation"] == ICB


@pytest.mark.parametrize("mode", ["wrong_audience", "wrong_nonce", "unpublished_key"])
def test_a_token_that_does_not_verify_signs_nobody_in(
    client: TestClient, standin: StandIn, mode: str
) -> None:
    standin.mode = mode
    response = _round_trip(client)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    assert client.get("/api/v1/me").status_code == 401


def test_someone_the_workbench_does_not_know_is_refused(
    client: TestClient, standin: StandIn
) -> None:
    standin.subject = "nhs-identity-9999"
    response = _round_trip(client)
    assert response.status_code == 403
    assert client.get("/api/v1/me").status_code == 401


def test_an_answer_with_another_state_is_refused(client: TestClient) -> None:
    start = client.get("/sign-in/oidc", follow_redirects=False)
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    back = urlsplit(at_provider.headers["location"])
    forged = back.query.split("&state=")[0] + "&state=forged"
    assert client.get(f"{back.path}?{forged}", follow_redirects=False).status_code == 400
    assert client.get("/api/v1/me").status_code == 401
