"""The HTML pages: each gathers its data from :mod:`commissioning.web.views` (or acts
through :mod:`commissioning.web.actions`) and renders a template. Nothing is computed here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commissioning.access.accounts import SignInError, log_csv
from commissioning.access.policy import ROLES, Principal
from commissioning.web import actions, views
from commissioning.web.auth import (
    PRESIGN_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    new_presign_token,
    principal,
    services,
)
from commissioning.web.views import Refused, require

router = APIRouter()
MAX_CONTRACT_BYTES = 1024 * 1024
Who = Annotated[Principal | None, Depends(principal)]
Csrf = Depends(check_csrf)
#: Messages shown after an action (only these: nothing from the request is echoed).
DONE = {
    "drafted": "The run was drafted. Another person reviews it next.",
    "reviewed": "The run was reviewed. A finance approver approves it next.",
    "approved": "The run was approved. It can now be posted to the ledger.",
    "posted": "The run was posted to the ledger.",
    "certified": "The value was certified.",
    "disputed": "The dispute was raised; the amount is held until it is resolved.",
    "user_added": "The user was added.",
    "registered": "The new version was registered. Every party signs it next.",
    "signed": "The version was signed.",
    "resolved": "The dispute was resolved; any correction was posted to the ledger.",
    "closed": "The period was closed: its values and runs are locked.",
    "unlocked": "The account was unlocked.",
    "switched_off": "The account was switched off; its sessions and tokens have ended.",
    "switched_on": "The account was switched on again.",
    "measure_recorded": "The measure was recorded; the portfolio reads it from now on.",
}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in the site's layout."""
    who = principal(request)
    done = request.query_params.get("done", "")
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request,
        template,
        {
            "who": who,
            "csrf": getattr(request.state, "csrf", None),
            "done": DONE.get(done, ""),
            "oidc": request.app.state.services.settings.oidc,
            **context,
        },
        status_code=status,
    )
    return response


def signed_in(who: Principal | None) -> Principal:
    """The person; 401 (sent to the sign-in page) if nobody is signed in."""
    if who is None:
        raise Refused(401, "sign in first")
    return who


# -- public ----------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home(request: Request, who: Who) -> HTMLResponse:
    """The public front page, or the person's own home page with what needs them."""
    if who is None:
        return render(request, "public_home.html", sign_ins=_demo_sign_ins(request))
    svc = services(request)
    return render(request, "home.html", items=views.attention(svc, who))


@router.get("/public/contracts", response_class=HTMLResponse)
def public_contracts(request: Request) -> HTMLResponse:
    """The published register of signed contracts."""
    return render(
        request, "public_contracts.html", contracts=views.public_register(services(request))
    )


@router.get("/public/population", response_class=HTMLResponse)
def public_population(request: Request) -> HTMLResponse:
    """The published population figures (suppressed and rounded)."""
    return render(
        request, "public_population.html", table=views.public_population(services(request))
    )


def _demo_sign_ins(request: Request) -> tuple[tuple[str, str, str], ...]:
    return services(request).settings.demo_sign_ins


# -- sign-in ---------------------------------------------------------------------------------
@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    """The sign-in form, with a fresh CSRF token in its own cookie."""
    token = new_presign_token()
    response = render(request, "sign_in.html", presign=token, error="")
    _set_presign(request, response, token)
    return response


def _cookie(
    request: Request, response: Response, name: str, value: str, samesite: Literal["lax", "strict"]
) -> None:
    """An HttpOnly cookie for the whole site, Secure unless served on this machine only."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite=samesite,
        secure=request.app.state.services.settings.secure_cookies,
        path="/",
    )


def _set_presign(request: Request, response: Response, token: str) -> None:
    _cookie(request, response, PRESIGN_COOKIE, token, "strict")


@router.post("/sign-in", dependencies=[Csrf])
def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Check the password, then start a new session (never the one the browser had)."""
    svc = services(request)
    try:
        who = svc.accounts.authenticate(username, password)
    except SignInError as exc:
        svc.accounts.log(None, "POST", "/sign-in", "sign_in_failed", 401, username=username)
        token = new_presign_token()
        response = render(request, "sign_in.html", status=401, presign=token, error=str(exc))
        _set_presign(request, response, token)
        return response
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        svc.accounts.end_session(old)  # the session before sign-in is never carried on
    token, _ = svc.accounts.start_session(who.user_id)
    svc.accounts.log(who, "POST", "/sign-in", "sign_in", 303)
    return start_session_response(request, token)


def start_session_response(request: Request, token: str) -> Response:
    """Send the browser home with the new session's cookie."""
    response = RedirectResponse("/", status_code=303)
    _cookie(request, response, SESSION_COOKIE, token, "lax")
    response.delete_cookie(PRESIGN_COOKIE, path="/")
    return response


@router.post("/sign-out", dependencies=[Csrf])
def sign_out(request: Request, who: Who) -> Response:
    """End the session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        services(request).accounts.end_session(token)
    if who is not None:
        services(request).accounts.log(who, "POST", "/sign-out", "sign_out", 303)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- contracts -------------------------------------------------------------------------------
@router.get("/contracts", response_class=HTMLResponse)
def contract_list(request: Request, who: Who) -> HTMLResponse:
    """The contracts of the person's organisation."""
    rows = views.contract_register(services(request), signed_in(who))
    return render(request, "contracts.html", contracts=rows)


@router.get("/contracts/{contract_id}", response_class=HTMLResponse)
def contract(request: Request, who: Who, contract_id: str) -> HTMLResponse:
    """Terms, versions, values, runs, statements, disputes and the ledger's state."""
    page = views.contract_page(services(request), signed_in(who), contract_id)
    return render(request, "contract.html", c=page)


@router.get("/contracts/{contract_id}/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, who: Who, contract_id: str, run_id: int) -> HTMLResponse:
    """One settlement run and its lines."""
    page = views.run_page(services(request), signed_in(who), contract_id, run_id)
    return render(request, "run.html", r=page)


@router.get("/contracts/{contract_id}/statements/{party_id}", response_class=HTMLResponse)
def statement(request: Request, who: Who, contract_id: str, party_id: str) -> HTMLResponse:
    """A party's statement from the verified ledger."""
    page = views.statement_page(services(request), signed_in(who), contract_id, party_id)
    return render(request, "statement.html", s=page)


def _back(contract_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/contracts/{quote(contract_id)}?done={done}", status_code=303)


@router.post("/contracts/{contract_id}/runs", dependencies=[Csrf])
def draft(
    request: Request, who: Who, contract_id: str, period: Annotated[str, Form(max_length=10)]
) -> Response:
    """Draft the run of a period."""
    actions.draft_run(services(request), signed_in(who), contract_id, period)
    return _back(contract_id, "drafted")


@router.post("/contracts/{contract_id}/runs/{run_id}/{action}", dependencies=[Csrf])
def run_step(request: Request, who: Who, contract_id: str, run_id: int, action: str) -> Response:
    """Review, approve or post a run."""
    actions.run_action(services(request), signed_in(who), contract_id, run_id, action)
    return _back(contract_id, {"review": "reviewed", "approve": "approved"}.get(action, "posted"))


@router.post("/contracts/{contract_id}/values/{measurement_id}/certify", dependencies=[Csrf])
def certify(request: Request, who: Who, contract_id: str, measurement_id: int) -> Response:
    """Certify a submitted value."""
    actions.certify_value(services(request), signed_in(who), contract_id, measurement_id)
    return _back(contract_id, "certified")


@router.post("/contracts/{contract_id}/disputes", dependencies=[Csrf])
def dispute(
    request: Request,
    who: Who,
    contract_id: str,
    line_id: Annotated[str, Form(max_length=200)],
    party_id: Annotated[str, Form(max_length=100)],
    amount: Annotated[str, Form(max_length=30)],
    reason: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Dispute an amount of a posted line."""
    actions.raise_dispute(
        services(request), signed_in(who), contract_id, line_id, party_id, amount, reason
    )
    return _back(contract_id, "disputed")


@router.post("/contracts/{contract_id}/disputes/{dispute_id}/resolve", dependencies=[Csrf])
def resolve(
    request: Request,
    who: Who,
    contract_id: str,
    dispute_id: int,
    agreed: Annotated[str, Form(max_length=30)],
    resolution: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Resolve a dispute."""
    actions.resolve_dispute(
        services(request), signed_in(who), contract_id, dispute_id, agreed, resolution
    )
    return _back(contract_id, "resolved")


@router.post("/contracts/{contract_id}/versions", dependencies=[Csrf])
async def register_version(
    request: Request, who: Who, contract_id: str, file: Annotated[UploadFile, File()]
) -> Response:
    """Register a new version (a variation) from a contract file."""
    person = signed_in(who)
    content = await file.read(MAX_CONTRACT_BYTES + 1)
    if len(content) > MAX_CONTRACT_BYTES:
        raise Refused(400, "a contract file is at most 1 MB")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the contract file is not UTF-8 text") from None
    await run_in_threadpool(
        actions.register_variation,
        services(request),
        person,
        contract_id,
        text,
        file.filename or "contract.toml",
    )
    return _back(contract_id, "registered")


@router.post("/contracts/{contract_id}/versions/{version}/sign", dependencies=[Csrf])
def sign(
    request: Request,
    who: Who,
    contract_id: str,
    version: str,
    party_id: Annotated[str, Form(max_length=100)],
) -> Response:
    """Sign a version for a party."""
    actions.sign_version(services(request), signed_in(who), contract_id, version, party_id)
    return _back(contract_id, "signed")


@router.post("/contracts/{contract_id}/periods/{period}/close", dependencies=[Csrf])
def close(request: Request, who: Who, contract_id: str, period: str) -> Response:
    """Close a settled period."""
    actions.close_period(services(request), signed_in(who), contract_id, period)
    return _back(contract_id, "closed")


# -- analysis --------------------------------------------------------------------------------
@router.get("/analysis", response_class=HTMLResponse)
def analysis(request: Request, who: Who) -> HTMLResponse:
    """The population's analyses and its indicators' variation icons."""
    svc, person = services(request), signed_in(who)
    return render(
        request,
        "analysis.html",
        reports=views.analysis_reports(svc, person),
        spc=views.spc_table(svc, person),
    )


@router.get("/analysis/reports/assets/{name}")
def analysis_asset(request: Request, who: Who, name: str) -> FileResponse:
    """The pack's shared stylesheet or chart library."""
    path, media_type = views.analysis_asset_path(services(request), signed_in(who), name)
    return FileResponse(path, media_type=media_type)


@router.get("/analysis/reports/{name}")
def analysis_report(request: Request, who: Who, name: str) -> FileResponse:
    """One page of the pack, or one of its published tables (CSV)."""
    path, media_type = views.analysis_report_path(services(request), signed_in(who), name)
    return FileResponse(path, media_type=media_type)


@router.get("/analysis/people", response_class=HTMLResponse)
def people(request: Request, who: Who) -> HTMLResponse:
    """The pseudonymised people who would gain most (person-level: logged)."""
    return render(request, "people.html", p=views.people(services(request), signed_in(who)))


# -- data ------------------------------------------------------------------------------------
@router.get("/data", response_class=HTMLResponse)
def data(request: Request, who: Who) -> HTMLResponse:
    """Loads, rejects and the upload form."""
    return render(
        request, "data.html", d=views.data_loads(services(request), signed_in(who)), result=None
    )


@router.post("/data/upload", dependencies=[Csrf], response_class=HTMLResponse)
async def upload(request: Request, who: Who, file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Check and load one uploaded file."""
    person = signed_in(who)
    require(person, "manage_data")
    content = await file.read(actions.MAX_UPLOAD_BYTES + 1)
    svc = services(request)
    result = actions.load_upload(svc, person, file.filename or "", content)
    return render(request, "data.html", d=views.data_loads(svc, person), result=result)


# -- portfolio -------------------------------------------------------------------------------
@router.get("/portfolio/measures", response_class=HTMLResponse)
def measures(request: Request, who: Who) -> HTMLResponse:
    """The measures of effective commissioning people record, and the form to record one."""
    m = views.effectiveness_measures(services(request), signed_in(who))
    return render(request, "measures.html", m=m)


@router.post("/portfolio/measures", dependencies=[Csrf])
def record_measure(
    request: Request,
    who: Who,
    measure: Annotated[int, Form()],
    status: Annotated[str, Form(max_length=20)],
    value: Annotated[str, Form(max_length=1000)],
    measured_on: Annotated[str, Form(max_length=10)],
    source: Annotated[str, Form(max_length=1000)],
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Record one measure's value, date, source and note."""
    actions.record_measure(
        services(request), signed_in(who), measure, status, value, measured_on, source, note
    )
    return RedirectResponse("/portfolio/measures?done=measure_recorded", status_code=303)


# -- administration --------------------------------------------------------------------------
@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, who: Who) -> HTMLResponse:
    """The people of the administrator's organisation."""
    person = require(signed_in(who), "manage_users")
    rows = services(request).accounts.users(person.org_id)
    return render(request, "users.html", users=rows, roles=ROLES, token=None)


@router.post("/admin/users", dependencies=[Csrf])
def add_user(
    request: Request,
    who: Who,
    username: Annotated[str, Form(max_length=63)],
    display_name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=40)],
    password: Annotated[str, Form(max_length=1000)],
    approval_limit: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    """Add a person to the administrator's organisation."""
    actions.add_user(
        services(request), signed_in(who), username, display_name, role, password, approval_limit
    )
    return RedirectResponse("/admin/users?done=user_added", status_code=303)


@router.post("/admin/users/{user_id}/unlock", dependencies=[Csrf])
def unlock(request: Request, who: Who, user_id: int) -> Response:
    """Lift a lock-out."""
    actions.unlock_user(services(request), signed_in(who), user_id)
    return RedirectResponse("/admin/users?done=unlocked", status_code=303)


@router.post("/admin/users/{user_id}/active", dependencies=[Csrf])
def switch(
    request: Request, who: Who, user_id: int, active: Annotated[str, Form(max_length=5)]
) -> Response:
    """Switch an account off or on."""
    on = active == "yes"
    actions.switch_user(services(request), signed_in(who), user_id, on)
    return RedirectResponse(
        f"/admin/users?done={'switched_on' if on else 'switched_off'}", status_code=303
    )


@router.post("/admin/users/{user_id}/tokens", dependencies=[Csrf], response_class=HTMLResponse)
def token(
    request: Request, who: Who, user_id: int, name: Annotated[str, Form(max_length=100)]
) -> HTMLResponse:
    """Issue a system token (shown once, on this page only)."""
    person = signed_in(who)
    issued = actions.issue_token(services(request), person, user_id, name)
    rows = services(request).accounts.users(person.org_id)
    return render(request, "users.html", users=rows, roles=ROLES, token=issued)


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, who: Who, query: Annotated[views.LogQuery, Depends()]) -> HTMLResponse:
    """Search the access log of the organisation."""
    rows = views.access_log(services(request), signed_in(who), query)
    return render(request, "audit.html", rows=rows, query=query)


@router.get("/audit/export")
def audit_export(
    request: Request, who: Who, query: Annotated[views.LogQuery, Depends()]
) -> Response:
    """The access log search as CSV."""
    rows = views.access_log(services(request), signed_in(who), query, limit=100_000)
    return Response(
        log_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="access-log.csv"'},
    )
