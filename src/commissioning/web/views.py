"""What each page and API endpoint shows, gathered from the services as plain data.

Every function takes the services and the signed-in person, checks what they may see
(:mod:`commissioning.access.policy`), and returns JSON-able data; the HTML pages and the
JSON API both call these, so they show the same thing under the same rules. A contract an
organisation is not party to is "not found" (404), never "forbidden": its existence is not
disclosed. No figure is computed here: every amount comes from a service.
"""

from __future__ import annotations

import csv
import difflib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from commissioning.access.policy import Principal, may_on_contract
from commissioning.contracts.schema import Contract
from commissioning.contracts.stress import run_stress
from commissioning.decide.portfolio import MEASURES
from commissioning.decide.records import RECORDED_MEASURES, STATUSES, measure_records
from commissioning.operations import disputes, measurements, register, runs
from commissioning.operations.base import OperationError, closed_periods
from commissioning.operations.exports import contract_statement
from commissioning.reports.publish import ASSETS, MANIFEST, PUBLISHED, RESTRICTED
from commissioning.settlement.lines import SettlementLine, period_label
from commissioning.settlement.money import format_gbp
from commissioning.web.services import Services

#: Report files an analyst may open, with what they are.
REPORTS: dict[str, str] = {
    "needs.html": "Needs assessment: population, prevalence, segments, risk, spend",
    "indicators.html": "Outcome indicators with statistical process control",
    "benchmark.html": "Benchmarking: peers, funnel plots, opportunity, practice variation",
    "portfolio.html": "The commissioning portfolio and the nine measures of effectiveness",
    "priorities.html": "Priorities for investment and disinvestment",
    "business_case.html": "Business case",
    "pilot_evaluation.html": "Did the pilot work?",
    "index.html": "The published pack",
}
#: The shared files of the report pack (its stylesheet and chart library).
REPORT_ASSETS: dict[str, str] = {"report.css": "text/css", "plotly.min.js": "text/javascript"}
#: The person-level list an analyst may see (pseudonymised; logged on every read).
PEOPLE_FILE = "who_would_gain_most.csv"


class Refused(Exception):
    """A request refused: ``status`` 403 (not your role), 404 (not yours, or no such
    thing), 400 or 409 (a refused operation, with the service's reason)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def require(who: Principal | None, permission: str) -> Principal:
    """The person, if their role carries ``permission``; else refused."""
    if who is None:
        raise Refused(401, "sign in first")
    if not who.may(permission):
        raise Refused(403, f"a {who.role_name.lower()} cannot do this")
    return who


@dataclass(frozen=True)
class ContractAccess:
    """A contract as one organisation sees it."""

    contract_id: str
    held: set[str]
    party_roles: dict[str, str]
    party_names: dict[str, str]

    def may(self, who: Principal, permission: str) -> bool:
        """May this person use ``permission`` on this contract?"""
        return may_on_contract(who, permission, self.party_roles, self.held)

    @property
    def commissioner_side(self) -> bool:
        """True if the organisation holds a commissioner party."""
        return any(self.party_roles.get(p) == "commissioner" for p in self.held)

    def sees_line(self, line: SettlementLine) -> bool:
        """A commissioner sees every line of its contract; others the lines they are on."""
        return self.commissioner_side or bool({line.payer, line.payee} & self.held)


def contract_access(svc: Services, who: Principal, contract_id: str) -> ContractAccess:
    """The contract as ``who``'s organisation sees it; 404 if it is not party to it."""
    require(who, "view_contracts")
    held = svc.accounts.parties_held(contract_id, who.org_id)
    if not held:
        raise Refused(404, "no such contract among your organisation's contracts")
    contract = register.find_version(svc.ops, contract_id).contract
    return ContractAccess(
        contract_id,
        held,
        {p.id: p.role for p in contract.parties},
        {p.id: p.name for p in contract.parties},
    )


def _line(line: SettlementLine, held: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "line_id": line.line_id,
        "period": line.period,
        "kind": line.kind,
        "key": line.key,
        "payer": line.payer,
        "payee": line.payee,
        "amount_pence": line.amount_pence,
        "amount": format_gbp(line.amount_pence),
        "description": line.description,
        "corrects": line.corrects,
        "held_pence": (held or {}).get(line.line_id, 0),
    }


def contract_register(svc: Services, who: Principal) -> list[dict[str, Any]]:
    """The contracts of the person's organisation, with their status."""
    require(who, "view_contracts")
    return svc.cached(("register", who.org_id), lambda: _contract_register(svc, who))


def _contract_register(svc: Services, who: Principal) -> list[dict[str, Any]]:
    out = []
    for contract_id in svc.accounts.contracts_of(who.org_id):
        try:
            latest = register.find_version(svc.ops, contract_id)
        except OperationError:
            continue
        c = latest.contract
        out.append(
            {
                "contract_id": contract_id,
                "title": c.title,
                "version": c.version,
                "status": register.status(svc.ops, contract_id),
                "start_date": str(c.start_date),
                "years": c.duration_years,
                "baseline_budget": format_gbp(int(c.finance.baseline_budget_gbp * 100)),
                "your_parties": sorted(svc.accounts.parties_held(contract_id, who.org_id)),
            }
        )
    return out


def _run(run: runs.Run, access: ContractAccess) -> dict[str, Any]:
    lines = [ln for ln in run.lines if access.sees_line(ln)]
    return {
        "run_id": run.run_id,
        "period": run.period,
        "status": run.status,
        "gross_pence": run.gross_pence if access.commissioner_side else None,
        "gross": format_gbp(run.gross_pence) if access.commissioner_side else "",
        "awaiting": run.awaiting,
        "prepared_by": run.prepared_by,
        "reviewed_by": run.reviewed_by,
        "approved_by": run.approved_by,
        "posted_by": run.posted_by,
        "posted_at": run.posted_at,
        "lines": [_line(ln) for ln in lines],
    }


def _value(m: measurements.Measurement) -> dict[str, Any]:
    return {
        "measurement_id": m.measurement_id,
        "period": m.period,
        "kind": m.kind,
        "key": m.key,
        "value": str(m.value),
        "status": m.status,
        "submitted_by": m.submitted_by,
        "certified_by": m.certified_by,
        "source": m.source,
    }


def contract_page(svc: Services, who: Principal, contract_id: str) -> dict[str, Any]:
    """Everything the contract page shows."""
    access = contract_access(svc, who, contract_id)
    page = svc.cached(
        ("contract", who.org_id, who.role, contract_id),
        lambda: _contract_page(svc, who, access),
    )
    return {**page, "verification": verification(svc, contract_id)}


def verification(svc: Services, contract_id: str) -> dict[str, Any]:
    """Whether the ledger and the contract's records verify (checked again at least once
    a minute, and whenever they change through the application)."""

    def check() -> dict[str, Any]:
        seals = svc.ops.broken_seals(contract_id)
        result = svc.ops.ledger.verify()
        return {
            "ledger_ok": result.ok,
            "ledger": result.summary(),
            "records_ok": not seals,
            "problems": list(result.problems) + seals,
        }

    return svc.cached(("verification", contract_id), check, verify=True)


def _contract_page(svc: Services, who: Principal, access: ContractAccess) -> dict[str, Any]:
    contract_id = access.contract_id
    ops = svc.ops
    all_versions = register.versions(ops, contract_id)
    latest = all_versions[-1]
    c = latest.contract
    diff: list[str] = []
    if len(all_versions) > 1:
        diff = list(
            difflib.unified_diff(
                all_versions[-2].file_text.splitlines(),
                latest.file_text.splitlines(),
                f"version {all_versions[-2].contract.version}",
                f"version {c.version}",
                lineterm="",
            )
        )
    held = disputes.held_by_line(ops, contract_id)
    closed = closed_periods(ops, contract_id)
    return {
        "contract_id": contract_id,
        "title": c.title,
        "status": register.status(ops, contract_id),
        "your_parties": sorted(access.held),
        "commissioner_side": access.commissioner_side,
        "parties": [
            {"id": p.id, "name": p.name, "role": p.role, "share": str(p.share or "")}
            for p in c.parties
        ],
        "terms": {
            "start_date": str(c.start_date),
            "duration_years": c.duration_years,
            "scope": c.scope.description,
            "baseline_budget": format_gbp(int(c.finance.baseline_budget_gbp * 100)),
            "years": [
                {
                    "year": y.year,
                    "basis": y.basis,
                    "budget": "" if y.budget_gbp is None else format_gbp(int(y.budget_gbp * 100)),
                    "value_at_risk": f"{y.value_at_risk:.0%}",
                    "planned_savings": f"{y.planned_savings:.1%}",
                }
                for y in c.years
            ],
            "measures": [
                {
                    "id": m.indicator_id,
                    "name": m.name,
                    "baseline": str(m.baseline),
                    "target": str(m.target),
                    "weight": str(m.weight),
                }
                for m in c.outcomes.measures
            ],
        },
        "versions": [
            {
                "version": v.contract.version,
                "content_hash": v.content_hash,
                "effective_from": str(v.contract.effective_from or v.contract.start_date),
                "registered_by": v.registered_by,
                "registered_at": v.registered_at,
                "signatures": {p: list(s) for p, s in v.signatures.items()},
                "unsigned": v.unsigned_parties,
                "you_can_sign": [
                    party
                    for party in v.unsigned_parties
                    if party in access.held
                    and access.may(who, "sign_version")
                    and (access.party_roles.get(party) == "commissioner")
                    == (who.role == "contract_manager")
                ],
            }
            for v in all_versions
        ],
        "diff": diff,
        "values": [_value(m) for m in measurements.listing(ops, contract_id)],
        "runs": [_run(r, access) for r in runs.runs(ops, contract_id)],
        "disputes": [
            {
                "dispute_id": d.dispute_id,
                "line_id": d.line_id,
                "party_id": d.party_id,
                "amount": format_gbp(d.amount_pence),
                "reason": d.reason,
                "status": d.status,
                "raised_by": d.raised_by,
                "resolution": d.resolution,
            }
            for d in disputes.disputes(ops, contract_id)
            if access.commissioner_side or d.party_id in access.held
        ],
        "posted_lines": [
            _line(ln, held)
            for ln in ops.ledger.lines(contract_id=contract_id)
            if access.sees_line(ln)
        ],
        "closed_periods": sorted(period_label(y, q) for y, q in closed),
        "closable": sorted(
            {
                r.period
                for r in runs.runs(ops, contract_id)
                if r.status == "posted" and (r.year, r.quarter) not in closed
            }
        ),
        "periods": _periods(c),
        "stress": stress(latest.content_hash, c),
        "can": {
            p: access.may(who, p)
            for p in (
                "draft_run",
                "review_run",
                "approve_run",
                "post_run",
                "certify_value",
                "raise_dispute",
                "view_statement",
                "resolve_dispute",
                "register_version",
                "close_period",
            )
        },
    }


STRESS_RUNS = 2_000
_STRESS: dict[str, dict[str, Any]] = {}
_STRESS_LOCK = threading.Lock()


def stress(content_hash: str, contract: Contract) -> dict[str, Any]:
    """The Monte Carlo stress test of a registered version (``STRESS_RUNS`` lives, seed 0:
    the same terms always give the same figures, so each version is simulated once): the
    chances that matter to each side and, year by year, the commissioner's spend against
    doing nothing and the provider's margin (medians and 5th to 95th percentiles)."""
    with _STRESS_LOCK:
        if content_hash in _STRESS:
            return _STRESS[content_hash]
    result = run_stress(contract, n_runs=STRESS_RUNS, seed=0)
    spend = np.median(result.commissioner_spend_gbp, axis=0)
    nothing = np.median(result.do_nothing_gbp, axis=0)
    margin = result.margin_percentiles((5, 50, 95))
    summary = result.summary()
    out = {
        "runs": STRESS_RUNS,
        "p_loss_beyond_reserve": f"{summary['p_loss_beyond_reserve']:.0%}",
        "p_cumulative_loss": f"{summary['p_cumulative_loss']:.0%}",
        "p_commissioner_overspend": f"{summary['p_commissioner_overspend']:.0%}",
        "reserve": format_gbp(round(summary["reserve_gbp"] * 100)),
        "years": [
            {
                "year": y + 1,
                "spend": format_gbp(round(float(spend[y])) * 100),
                "do_nothing": format_gbp(round(float(nothing[y])) * 100),
                "margin_5": format_gbp(round(float(margin[0, y])) * 100),
                "margin_50": format_gbp(round(float(margin[1, y])) * 100),
                "margin_95": format_gbp(round(float(margin[2, y])) * 100),
            }
            for y in range(contract.duration_years)
        ],
    }
    with _STRESS_LOCK:
        _STRESS[content_hash] = out
    return out


def _periods(contract: Any) -> list[str]:
    from commissioning.operations.calendar import calendar

    return [p.label for p in calendar(contract)]


def run_of(svc: Services, contract_id: str, run_id: int) -> runs.Run:
    """Run ``run_id`` if it is one of the contract's (else 404)."""
    try:
        run = runs.get_run(svc.ops, run_id)
    except OperationError:
        raise Refused(404, f"no run {run_id} of this contract") from None
    if run.contract_id != contract_id:
        raise Refused(404, f"no run {run_id} of this contract")
    return run


def run_page(svc: Services, who: Principal, contract_id: str, run_id: int) -> dict[str, Any]:
    """One settlement run, as the person's organisation sees it."""
    access = contract_access(svc, who, contract_id)
    return {"contract_id": contract_id, **_run(run_of(svc, contract_id, run_id), access)}


@dataclass(frozen=True)
class LogQuery:
    """A search of the access log: a person, a kind, dates (YYYY-MM-DD) and a piece of
    the address or detail; each empty for any."""

    user: str = ""
    category: str = ""
    since: str = ""
    until: str = ""
    text: str = ""


def access_log(
    svc: Services, who: Principal, query: LogQuery, limit: int = 500
) -> list[dict[str, Any]]:
    """The administrator's organisation's access log, newest first."""
    require(who, "view_audit")
    return svc.accounts.search_log(
        who.org_id, query.user, query.category, query.since, query.until, query.text, limit
    )


def statement_page(
    svc: Services, who: Principal, contract_id: str, party_id: str
) -> dict[str, Any]:
    """A party's statement, for the organisation that is that party."""
    access = contract_access(svc, who, contract_id)
    if not who.may("view_statement"):
        raise Refused(403, f"a {who.role_name.lower()} cannot see statements")
    if party_id not in access.held:
        raise Refused(404, "no such statement among your organisation's")
    st = contract_statement(svc.ops, contract_id, party_id)
    return {
        "contract_id": contract_id,
        "party_id": party_id,
        "party_name": access.party_names.get(party_id, party_id),
        "received": format_gbp(st.received_pence),
        "paid": format_gbp(st.paid_pence),
        "net": format_gbp(st.net_pence),
        "held": format_gbp(st.total_held_pence),
        "verified": bool(st.verification is not None and st.verification.ok),
        "verification": st.verification.summary() if st.verification else "",
        "notes": st.notes,
        "rows": [
            {
                **_line(r.line, st.held_pence),
                "counterparty": r.counterparty,
                "signed_pence": r.signed_pence,
                "signed": format_gbp(r.signed_pence),
            }
            for r in st.rows
        ],
    }


def attention(svc: Services, who: Principal) -> list[dict[str, str]]:
    """What needs the person's attention now, with a link to each."""
    return svc.cached(("attention", who.user_id), lambda: _attention(svc, who))


def _attention(svc: Services, who: Principal) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    if who.may("view_contracts"):
        for contract_id in svc.accounts.contracts_of(who.org_id):
            try:
                access = contract_access(svc, who, contract_id)
            except (Refused, OperationError):
                continue
            link = f"/contracts/{contract_id}"
            for run in runs.runs(svc.ops, contract_id):
                if run.status == "draft" and access.may(who, "review_run"):
                    if run.prepared_by != who.display_name:
                        items.append(_item(f"Run {run.run_id} ({run.period}) to review", link))
                elif run.status == "reviewed" and access.may(who, "approve_run"):
                    items.append(
                        _item(
                            f"Run {run.run_id} ({run.period}) awaiting approval: "
                            f"{format_gbp(run.gross_pence)}",
                            link,
                        )
                    )
                elif run.status == "approved" and access.may(who, "post_run"):
                    items.append(_item(f"Run {run.run_id} ({run.period}) to post", link))
            if access.may(who, "certify_value"):
                waiting = [
                    m
                    for m in measurements.listing(svc.ops, contract_id)
                    if m.status == "submitted" and m.submitted_by != who.display_name
                ]
                if waiting:
                    items.append(
                        _item(f"{len(waiting)} value(s) of {contract_id} to certify", link)
                    )
            posted = [r for r in runs.runs(svc.ops, contract_id) if r.status == "posted"]
            if posted and who.role == "provider":
                for party in sorted(access.held):
                    items.append(
                        _item(
                            f"{posted[-1].period} of {contract_id} is posted: the statement of "
                            f"{access.party_names.get(party, party)}",
                            f"{link}/statements/{party}",
                        )
                    )
            open_disputes = [
                d
                for d in disputes.disputes(svc.ops, contract_id, open_only=True)
                if access.commissioner_side or d.party_id in access.held
            ]
            if open_disputes:
                items.append(_item(f"{len(open_disputes)} open dispute(s) on {contract_id}", link))
    if who.may("view_analysis"):
        items += [_item(s["text"], "/analysis") for s in spc_signals(svc, who)]
    if who.may("manage_data"):
        try:
            recent = data_loads(svc, who)["loads"][:10]
        except Refused:
            recent = []
        rejected = [r for r in recent if int(r["rows_rejected"])]
        for r in rejected:
            items.append(
                _item(
                    f"{r['file_name']}: {int(r['rows_rejected']):,} of {int(r['rows_read']):,} "
                    "rows rejected",
                    "/data",
                )
            )
    if who.may("manage_users"):
        locked = [u for u in svc.accounts.users(who.org_id) if u["locked_until"]]
        if locked:
            items.append(_item(f"{len(locked)} locked account(s)", "/admin/users"))
    return items


def _item(text: str, link: str) -> dict[str, str]:
    return {"text": text, "link": link}


def _reports_folder(svc: Services, who: Principal, part: str = PUBLISHED) -> Path:
    """The published (or restricted) folder of the analyses of the person's population."""
    require(who, "view_analysis")
    folder = svc.settings.reports
    if folder is None or svc.settings.population_org != who.org_id:
        raise Refused(404, "your organisation has no analyses in this workbench yet")
    return folder / part


def analysis_reports(svc: Services, who: Principal) -> list[dict[str, str]]:
    """The analyses of the person's population that exist."""
    folder = _reports_folder(svc, who)
    return [
        {"name": name, "title": title, "link": f"/analysis/reports/{name}"}
        for name, title in REPORTS.items()
        if (folder / name).is_file()
    ]


def _published_tables(folder: Path) -> list[str]:
    """The CSV tables the published folder's manifest lists (names the gate checked)."""
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError):
        return []
    return [
        n
        for n, entry in files.items()
        if isinstance(entry, dict) and entry.get("kind") == "table" and "/" not in n
    ]


def analysis_report_path(svc: Services, who: Principal, name: str) -> tuple[Path, str]:
    """The file of one analysis and its media type: a page named in :data:`REPORTS`, or a
    table the published folder's manifest lists. No path from the request reaches the
    file system: the name served is the listed one."""
    folder = _reports_folder(svc, who)
    if name in REPORTS and (folder / name).is_file():
        return folder / next(n for n in REPORTS if n == name), "text/html"
    tables = _published_tables(folder)
    if name in tables and (folder / name).is_file():
        return folder / next(n for n in tables if n == name), "text/csv"
    raise Refused(404, "no such analysis")


def analysis_asset_path(svc: Services, who: Principal, name: str) -> tuple[Path, str]:
    """A shared file of the pack (stylesheet, chart library) and its media type; only the
    names in :data:`REPORT_ASSETS` are served."""
    folder = _reports_folder(svc, who) / ASSETS
    if name not in REPORT_ASSETS or not (folder / name).is_file():
        raise Refused(404, "no such file")
    known = next(n for n in REPORT_ASSETS if n == name)
    return folder / known, REPORT_ASSETS[known]


#: Making Data Count variation icons: what they say and how they look (letter, colour).
ICONS: dict[str, tuple[str, str, str]] = {
    "common_cause": ("Common cause variation", "~", "grey"),
    "special_cause_improving_high": ("Improving: higher", "H", "blue"),
    "special_cause_improving_low": ("Improving: lower", "L", "blue"),
    "special_cause_concerning_high": ("Concerning: higher", "H", "orange"),
    "special_cause_concerning_low": ("Concerning: lower", "L", "orange"),
    "special_cause_neither_high": ("Special cause: higher", "H", "purple"),
    "special_cause_neither_low": ("Special cause: lower", "L", "purple"),
}


def spc_table(svc: Services, who: Principal) -> list[dict[str, str]]:
    """The home population's indicators on XmR charts with their Making Data Count
    variation icons (as the indicator analysis wrote them)."""
    folder = _reports_folder(svc, who)
    path = folder / "spc.csv"
    if not path.is_file():
        return []
    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text, letter, colour = ICONS.get(row["variation_icon"], ("No icon", "?", "grey"))
            out.append(
                {
                    "indicator_id": row["indicator_id"],
                    "title": row["title"],
                    "variation_icon": row["variation_icon"],
                    "variation": text,
                    "icon_letter": letter,
                    "icon_colour": colour,
                    "quarters": row["quarters"],
                }
            )
    return out


def spc_signals(svc: Services, who: Principal) -> list[dict[str, str]]:
    """Indicators showing special-cause variation (improving or concerning)."""
    try:
        rows = spc_table(svc, who)
    except Refused:
        return []
    return [
        {"text": f"{r['title']}: {r['variation'].lower()} (special cause)"}
        for r in rows
        if r["variation_icon"].startswith("special_cause_")
    ]


def people(svc: Services, who: Principal, limit: int = 100) -> dict[str, Any]:
    """The pseudonymised people of the population who would gain most from proactive
    care (person-level: logged on every read)."""
    require(who, "view_people")
    folder = _reports_folder(svc, who, RESTRICTED)
    path = folder / PEOPLE_FILE
    if not path.is_file():
        raise Refused(404, "no person-level list has been written for your population")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:limit]
    columns = list(rows[0]) if rows else []
    return {"columns": columns, "rows": rows}


def effectiveness_measures(svc: Services, who: Principal) -> dict[str, Any]:
    """The measures of effective commissioning people record, and what the person's
    organisation has recorded, newest first."""
    require(who, "record_measures")
    if not who.is_commissioner:
        raise Refused(403, "only a commissioner records its measures")
    return {
        "measures": [m for m in MEASURES if m.number in RECORDED_MEASURES],
        "statuses": STATUSES,
        "rows": measure_records(svc.accounts.store, who.org_id),
    }


def public_register(svc: Services) -> list[dict[str, Any]]:
    """The published register: every signed contract's title, parties, dates, status and
    baseline budget (what a contracts register publishes; no payments, no values)."""
    out = []
    for contract_id in register.contract_ids(svc.ops):
        signed = register.signed_versions(svc.ops, contract_id)
        if not signed:
            continue
        c = signed[-1].contract
        out.append(
            {
                "contract_id": contract_id,
                "title": c.title,
                "commissioners": [p.name for p in c.parties if p.role == "commissioner"],
                "providers": [p.name for p in c.parties if p.role != "commissioner"],
                "start_date": str(c.start_date),
                "years": c.duration_years,
                "baseline_budget": format_gbp(int(c.finance.baseline_budget_gbp * 100)),
                "status": register.status(svc.ops, contract_id),
            }
        )
    return out


def public_population(svc: Services) -> dict[str, Any] | None:
    """The published population table (made when the server started, through the
    small-number gate of :mod:`commissioning.reports.published`)."""
    table = svc.settings.published.get("population")
    return table if isinstance(table, dict) else None


def data_loads(svc: Services, who: Principal) -> dict[str, Any]:
    """The loads into the population's store and the rows rejected, with reasons (the
    raw rows are not shown: they may hold identifiers)."""
    require(who, "manage_data")
    if svc.settings.analytical_store is None or svc.settings.population_org != who.org_id:
        raise Refused(404, "your organisation has no data store in this workbench")
    with svc.analytical() as con:
        loads = con.execute(
            "SELECT CAST(loaded_at AS VARCHAR) AS loaded_at, file_name, table_name, "
            "rows_read, rows_loaded, rows_rejected FROM loads ORDER BY loaded_at DESC LIMIT 200"
        )
        load_rows = [
            dict(zip([d[0] for d in loads.description], r, strict=True)) for r in loads.fetchall()
        ]
        rejects = con.execute(
            "SELECT file_name, line, table_name, reason FROM rejects ORDER BY file_name, line "
            "LIMIT 500"
        )
        reject_rows = [
            dict(zip([d[0] for d in rejects.description], r, strict=True))
            for r in rejects.fetchall()
        ]
    return {"loads": load_rows, "rejects": reject_rows}
