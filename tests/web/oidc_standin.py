"""A local stand-in for an OpenID Connect identity provider (authorisation code flow with
PKCE), served on this machine for the sign-in tests. ``mode`` makes it misbehave the ways
a test needs: another audience, a wrong nonce, a token signed with a key it does not
publish."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID, CLIENT_SECRET = "commissioning-workbench", "stand-in client secret"


class StandIn:
    def __init__(self) -> None:
        self.issuer = ""
        self.subject = "nhs-identity-0001"
        self.mode = "honest"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "standin-1"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "standin-1"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.metadata),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def metadata(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        assert q["client_id"] == CLIENT_ID and q["response_type"] == "code"
        assert q["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": q["nonce"],
            "challenge": q["code_challenge"],
            "redirect_uri": q["redirect_uri"],
        }
        return RedirectResponse(
            q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]}),
            status_code=302,
        )

    async def token(self, request: Request) -> Response:
        form = await request.form()
        auth = request.headers.get("authorization", "")
        sent = base64.b64decode(auth.removeprefix("Basic ")).decode()
        if sent != f"{CLIENT_ID}:{CLIENT_SECRET}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(str(form["code"]), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if grant is None or grant["challenge"] != challenge:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": "another-client" if self.mode == "wrong_audience" else CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": "not-the-nonce" if self.mode == "wrong_nonce" else grant["nonce"],
        }
        key = self.other_key if self.mode == "unpublished_key" else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "standin-1"}, claims, key)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "id_token": id_token,
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})
