"""The JSON API: everything the pages show, under the same checks (OpenAPI at
``/api/openapi.json``). Systems sign in with ``Authorization: Bearer <token>``; a browser
session may call it too, sending its CSRF token as ``X-CSRF-Token`` on changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from commissioning.access.policy import Principal
from commissioning.web import actions, views
from commissioning.web.auth import check_csrf, principal, services
from commissioning.web.views import Refused, require

api = APIRouter(prefix="/api/v1")
Who = Annotated[Principal | None, Depends(principal)]
Csrf = Depends(check_csrf)


def signed_in(who: Principal | None) -> Principal:
    """The caller; 401 if none."""
    if who is None:
        raise Refused(401, "sign in, or send a token: Authorization: Bearer <token>")
    return who


class DraftRun(BaseModel):
    period: str = Field(max_length=10, examples=["Y1Q2"])


class NewDispute(BaseModel):
    line_id: str = Field(max_length=200)
    party_id: str = Field(max_length=100)
    amount_gbp: str = Field(max_length=30, examples=["1234.56"])
    reason: str = Field(max_length=2000)


@api.get("/me")
def me(who: Who) -> dict[str, Any]:
    """Who the caller is."""
    p = signed_in(who)
    return {
        "username": p.username,
        "name": p.display_name,
        "organisation": p.org_id,
        "role": p.role,
    }


@api.get("/attention")
def attention(request: Request, who: Who) -> list[dict[str, str]]:
    """What needs the caller's attention."""
    return views.attention(services(request), signed_in(who))


@api.get("/public/contracts")
def public_contracts(request: Request) -> list[dict[str, Any]]:
    """The published register of signed contracts."""
    return views.public_register(services(request))


@api.get("/public/population")
def public_population(request: Request) -> dict[str, Any] | None:
    """The published population figures (suppressed and rounded)."""
    return views.public_population(services(request))


@api.get("/contracts")
def contracts(request: Request, who: Who) -> list[dict[str, Any]]:
    """The contracts of the caller's organisation."""
    return views.contract_register(services(request), signed_in(who))


@api.get("/contracts/{contract_id}")
def contract(request: Request, who: Who, contract_id: str) -> dict[str, Any]:
    """One contract as the contract page shows it."""
    return views.contract_page(services(request), signed_in(who), contract_id)


@api.get("/contracts/{contract_id}/runs/{run_id}")
def run(request: Request, who: Who, contract_id: str, run_id: int) -> dict[str, Any]:
    """One settlement run."""
    return views.run_page(services(request), signed_in(who), contract_id, run_id)


@api.get("/contracts/{contract_id}/statements/{party_id}")
def statement(request: Request, who: Who, contract_id: str, party_id: str) -> dict[str, Any]:
    """A party's statement."""
    return views.statement_page(services(request), signed_in(who), contract_id, party_id)


@api.post("/contracts/{contract_id}/runs", dependencies=[Csrf], status_code=201)
def draft(request: Request, who: Who, contract_id: str, body: DraftRun) -> dict[str, Any]:
    """Draft the run of a period."""
    person = signed_in(who)
    done = actions.draft_run(services(request), person, contract_id, body.period)
    return views.run_page(services(request), person, contract_id, done.run_id)


@api.post("/contracts/{contract_id}/runs/{run_id}/{action}", dependencies=[Csrf])
def run_step(
    request: Request, who: Who, contract_id: str, run_id: int, action: str
) -> dict[str, Any]:
    """Review, approve or post a run."""
    person = signed_in(who)
    actions.run_action(services(request), person, contract_id, run_id, action)
    return views.run_page(services(request), person, contract_id, run_id)


@api.post("/contracts/{contract_id}/values/{measurement_id}/certify", dependencies=[Csrf])
def certify(request: Request, who: Who, contract_id: str, measurement_id: int) -> dict[str, Any]:
    """Certify a submitted value."""
    m = actions.certify_value(services(request), signed_in(who), contract_id, measurement_id)
    return {"measurement_id": m.measurement_id, "status": m.status, "certified_by": m.certified_by}


@api.post("/contracts/{contract_id}/disputes", dependencies=[Csrf], status_code=201)
def dispute(request: Request, who: Who, contract_id: str, body: NewDispute) -> dict[str, Any]:
    """Dispute an amount of a posted line."""
    d = actions.raise_dispute(
        services(request),
        signed_in(who),
        contract_id,
        body.line_id,
        body.party_id,
        body.amount_gbp,
        body.reason,
    )
    return {"dispute_id": d.dispute_id, "status": d.status, "amount_pence": d.amount_pence}


class Resolution(BaseModel):
    agreed_gbp: str = Field(max_length=30, examples=["1234.56"])
    resolution: str = Field(max_length=2000)


class NewVersion(BaseModel):
    text: str = Field(max_length=1024 * 1024, description="The contract file (TOML)")


class Signature(BaseModel):
    party_id: str = Field(max_length=100)


@api.post("/contracts/{contract_id}/disputes/{dispute_id}/resolve", dependencies=[Csrf])
def resolve(
    request: Request, who: Who, contract_id: str, dispute_id: int, body: Resolution
) -> dict[str, Any]:
    """Resolve a dispute (any correction is posted)."""
    d = actions.resolve_dispute(
        services(request), signed_in(who), contract_id, dispute_id, body.agreed_gbp, body.resolution
    )
    return {"dispute_id": d.dispute_id, "status": d.status, "agreed_pence": d.agreed_pence}


@api.post("/contracts/{contract_id}/versions", dependencies=[Csrf], status_code=201)
def register_version(
    request: Request, who: Who, contract_id: str, body: NewVersion
) -> dict[str, Any]:
    """Register a new version (a variation) of the contract."""
    v = actions.register_variation(services(request), signed_in(who), contract_id, body.text, "api")
    return {"version": v.contract.version, "content_hash": v.content_hash}


@api.post("/contracts/{contract_id}/versions/{version}/sign", dependencies=[Csrf])
def sign(
    request: Request, who: Who, contract_id: str, version: str, body: Signature
) -> dict[str, Any]:
    """Sign a version for a party."""
    v = actions.sign_version(services(request), signed_in(who), contract_id, version, body.party_id)
    return {"version": v.contract.version, "unsigned": v.unsigned_parties}


@api.post("/contracts/{contract_id}/periods/{period}/close", dependencies=[Csrf])
def close(request: Request, who: Who, contract_id: str, period: str) -> dict[str, str]:
    """Close a settled period."""
    actions.close_period(services(request), signed_in(who), contract_id, period)
    return {"closed": period}


@api.get("/analysis/reports")
def analysis_reports(request: Request, who: Who) -> dict[str, Any]:
    """The population's analyses and its indicators' variation icons."""
    svc, person = services(request), signed_in(who)
    return {
        "reports": views.analysis_reports(svc, person),
        "spc": views.spc_table(svc, person),
    }


@api.get("/analysis/people")
def people(request: Request, who: Who) -> dict[str, Any]:
    """The pseudonymised people who would gain most (person-level: logged)."""
    return views.people(services(request), signed_in(who))


@api.get("/data/loads")
def loads(request: Request, who: Who) -> dict[str, Any]:
    """Loads and rejected rows, with reasons."""
    return views.data_loads(services(request), signed_in(who))


@api.get("/admin/users")
def users(request: Request, who: Who) -> list[dict[str, Any]]:
    """The people of the administrator's organisation."""
    person = require(signed_in(who), "manage_users")
    return services(request).accounts.users(person.org_id)


@api.get("/audit")
def audit(
    request: Request, who: Who, query: Annotated[views.LogQuery, Depends()]
) -> list[dict[str, Any]]:
    """Search the organisation's access log."""
    return views.access_log(services(request), signed_in(who), query)
