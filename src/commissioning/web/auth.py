"""Who is asking: session cookies, system tokens and CSRF checks.

* A session is a random token in an HttpOnly, SameSite=Strict cookie (Secure unless served
  on this machine only); the server keeps only its hash. A new session is started at every
  sign-in, so an id planted before sign-in is worthless (session fixation).
* A system calls the API with ``Authorization: Bearer <token>``; it acts as the person the
  token was issued to and needs no CSRF token (it sends no cookie).
* Every form that changes something carries the session's CSRF token (synchroniser token
  pattern); the sign-in form, before there is a session, a double-submit token in its own
  cookie. An API call made with the session cookie sends the token as ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from commissioning.access.policy import Principal
from commissioning.web.services import Services
from commissioning.web.views import Refused

SESSION_COOKIE = "cw_session"
PRESIGN_COOKIE = "cw_presign"


def services(request: Request) -> Services:
    """The services of this application."""
    svc: Services = request.app.state.services
    return svc


def principal(request: Request) -> Principal | None:
    """The signed-in person (or the person a system token acts for), or None."""
    if hasattr(request.state, "who"):
        who: Principal | None = request.state.who
        return who
    svc = services(request)
    who = None
    request.state.csrf = None
    request.state.via_token = False
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        who = svc.accounts.token_principal(header[7:].strip())
        if who is None:
            raise Refused(401, "the token is not valid or has been revoked")
        request.state.via_token = True
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            found = svc.accounts.session(token)
            if found is not None:
                who, request.state.csrf = found
    request.state.who = who
    return who


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong."""
    who = principal(request)
    if who is not None and request.state.via_token:
        return
    expected = request.state.csrf if who is not None else request.cookies.get(PRESIGN_COOKIE)
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Refused(403, "the form has expired or did not come from this site — reload it")


def new_presign_token() -> str:
    """A CSRF token for the sign-in form."""
    return secrets.token_urlsafe(24)
