"""Sign-in with an OpenID Connect identity provider (an NHS organisation's, or any other),
by the authorisation code flow with PKCE (OpenID Connect Core 1.0, section 3.1; RFC 7636).

The provider is configuration (:class:`~commissioning.web.services.OidcSettings`): its
issuer address, this workbench's client id and secret and its redirect address. The state,
nonce and PKCE verifier travel in a short-lived cookie signed with a key derived from the
ledger key; the ID token's signature is checked against the provider's published keys,
and its issuer, audience, expiry and nonce against what was sent. A person signs in only
if an administrator has registered their subject (``oidc_subject``) in an organisation: an
identity provider says who someone is, not what they may see here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import warnings
from typing import Any

import authlib.deprecate  # noqa: F401 - sets its own "always" filter, replaced below
import httpx

with warnings.catch_warnings():  # authlib asks for httpx2, which is not released yet
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from commissioning.web.auth import services
from commissioning.web.services import OidcSettings
from commissioning.web.views import Refused

router = APIRouter()
STATE_COOKIE = "cw_oidc"
STATE_SECONDS = 600
_DISCOVERY: dict[str, tuple[float, dict[str, Any]]] = {}


def _settings(request: Request) -> OidcSettings:
    oidc = services(request).settings.oidc
    if oidc is None:
        raise Refused(404, "sign-in with an identity provider is not set up here")
    return oidc


def _serializer(request: Request) -> URLSafeTimedSerializer:
    key = hmac.new(services(request).settings.ledger_key, b"oidc-state", hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt="commissioning-oidc")


def discovery(issuer: str) -> dict[str, Any]:
    """The provider's metadata (cached for an hour)."""
    cached = _DISCOVERY.get(issuer)
    if cached and time.monotonic() - cached[0] < 3600:
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    meta: dict[str, Any] = httpx.get(url, timeout=10).raise_for_status().json()
    if meta.get("issuer") != issuer:
        raise Refused(502, "the identity provider's metadata names another issuer")
    _DISCOVERY[issuer] = (time.monotonic(), meta)
    return meta


@router.get("/sign-in/oidc")
def start(request: Request) -> Response:
    """Send the browser to the identity provider."""
    oidc = _settings(request)
    meta = discovery(oidc.issuer)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    client = OAuth2Client(
        oidc.client_id,
        oidc.client_secret,
        scope=oidc.scope,
        redirect_uri=oidc.redirect_uri,
        code_challenge_method="S256",
    )
    url, _ = client.create_authorization_url(
        meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        _serializer(request).dumps({"state": state, "nonce": nonce, "verifier": verifier}),
        max_age=STATE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=services(request).settings.secure_cookies,
        path="/sign-in/oidc",
    )
    return response


@router.get("/sign-in/oidc/callback")
def callback(request: Request, code: str = "", state: str = "") -> Response:
    """Check what the provider sent back, then start a session for the registered person."""
    from commissioning.web.pages import start_session_response

    oidc = _settings(request)
    svc = services(request)
    try:
        sent = _serializer(request).loads(
            request.cookies.get(STATE_COOKIE, ""), max_age=STATE_SECONDS
        )
    except BadSignature:
        raise Refused(
            400, "the sign-in took too long or was not started here — try again"
        ) from None
    if not code or not hmac.compare_digest(str(sent["state"]), state):
        raise Refused(400, "the identity provider's answer does not match — try again")
    meta = discovery(oidc.issuer)
    client = OAuth2Client(
        oidc.client_id, oidc.client_secret, redirect_uri=oidc.redirect_uri, timeout=10
    )
    try:
        token = client.fetch_token(
            meta["token_endpoint"], code=code, code_verifier=sent["verifier"]
        )
        keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"], timeout=10).json())
        decoded = jwt.decode(token["id_token"], keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": oidc.issuer},
            aud={"essential": True, "value": oidc.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": sent["nonce"]},
        ).validate(decoded.claims)
    except (JoseError, KeyError, ValueError, httpx.HTTPError) as exc:
        svc.accounts.log(None, "GET", "/sign-in/oidc", "sign_in_failed", 401, str(exc)[:200])
        raise Refused(401, "the identity provider's answer could not be verified") from None
    subject = str(decoded.claims["sub"])
    who = svc.accounts.user_for_subject(subject)
    if who is None:
        svc.accounts.log(None, "GET", "/sign-in/oidc", "sign_in_failed", 403, username=subject)
        raise Refused(403, "you are not registered in this workbench — ask its administrator")
    session, _ = svc.accounts.start_session(who.user_id)
    svc.accounts.log(who, "GET", "/sign-in/oidc", "sign_in", 303, "identity provider")
    response = start_session_response(request, session)
    response.delete_cookie(STATE_COOKIE, path="/sign-in/oidc")
    return response
