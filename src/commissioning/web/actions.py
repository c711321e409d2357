"""What each form and API action does: check who may, then call one service.

Every refusal by a service (an :class:`~commissioning.operations.base.OperationError`,
with its reason) becomes a 409 with that reason; nothing is half done, because each
service runs in one transaction.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from commissioning.access.accounts import AccessError
from commissioning.access.policy import Principal
from commissioning.contracts.load import ContractError, loads_contract
from commissioning.decide import records
from commissioning.operations import disputes, measurements, register, runs
from commissioning.operations.base import OperationError
from commissioning.settlement.ledger import LedgerError
from commissioning.settlement.lines import parse_period
from commissioning.settlement.money import to_pence
from commissioning.web.services import Services
from commissioning.web.views import Refused, contract_access, require, run_of

RUN_ACTIONS = ("review", "approve", "post")
_PERMISSION = {"review": "review_run", "approve": "approve_run", "post": "post_run"}
#: File names a data manager may upload (a canonical table's name and a known format).
UPLOAD_NAME = re.compile(r"^(places|gp_practices|people|activity)\.(csv|parquet)$")
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def _service(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except (OperationError, LedgerError, AccessError) as exc:
        raise Refused(409, str(exc)) from None
    except ValueError as exc:
        raise Refused(400, str(exc)) from None


def draft_run(svc: Services, who: Principal, contract_id: str, period: str) -> runs.Run:
    """Draft the settlement run of a period (a contract manager of the commissioner)."""
    access = contract_access(svc, who, contract_id)
    if not access.may(who, "draft_run"):
        raise Refused(403, "only the commissioner's contract manager drafts runs")
    try:
        year, quarter = parse_period(period.strip())
    except ValueError as exc:
        raise Refused(400, str(exc)) from None
    run: runs.Run = _service(runs.draft_run, svc.ops, contract_id, year, quarter, who.display_name)
    return run


def run_action(
    svc: Services, who: Principal, contract_id: str, run_id: int, action: str
) -> runs.Run:
    """Review, approve or post a run (approval within the approver's delegated limit)."""
    if action not in RUN_ACTIONS:
        raise Refused(404, "no such action — review, approve or post")
    access = contract_access(svc, who, contract_id)
    if not access.may(who, _PERMISSION[action]):
        raise Refused(403, f"a {who.role_name.lower()} cannot {action} runs")
    run_of(svc, contract_id, run_id)
    call = {"review": runs.review_run, "approve": runs.approve_run, "post": runs.post_run}[action]
    done: runs.Run = _service(call, svc.ops, run_id, who.display_name)
    return done


def certify_value(
    svc: Services, who: Principal, contract_id: str, measurement_id: int
) -> measurements.Measurement:
    """Certify a submitted value of the contract (someone other than who submitted it)."""
    access = contract_access(svc, who, contract_id)
    if not access.may(who, "certify_value"):
        raise Refused(403, f"a {who.role_name.lower()} cannot certify values")
    m = measurements.get(svc.ops, measurement_id)
    if m is None or m.contract_id != contract_id:
        raise Refused(404, f"no value {measurement_id} of this contract")
    done: measurements.Measurement = _service(
        measurements.certify, svc.ops, measurement_id, who.display_name
    )
    return done


def raise_dispute(
    svc: Services,
    who: Principal,
    contract_id: str,
    line_id: str,
    party_id: str,
    amount_gbp: str,
    reason: str,
) -> disputes.Dispute:
    """Dispute an amount of a posted line, for a party the organisation holds."""
    access = contract_access(svc, who, contract_id)
    if not access.may(who, "raise_dispute"):
        raise Refused(403, f"a {who.role_name.lower()} cannot raise disputes")
    if party_id not in access.held:
        raise Refused(403, "your organisation is not that party of the contract")
    line = svc.ops.ledger.get(line_id)
    if line is None or line.contract_id != contract_id or not access.sees_line(line):
        raise Refused(404, "no such posted line of this contract")
    try:
        pence = to_pence(amount_gbp.replace(",", "").replace("£", "").strip())
    except ArithmeticError:
        raise Refused(
            400, f"'{amount_gbp}' is not an amount — write pounds, e.g. 1234.56"
        ) from None
    dispute: disputes.Dispute = _service(
        disputes.raise_dispute, svc.ops, line_id, party_id, pence, reason, who.display_name
    )
    return dispute


def resolve_dispute(
    svc: Services,
    who: Principal,
    contract_id: str,
    dispute_id: int,
    agreed_gbp: str,
    resolution: str,
) -> disputes.Dispute:
    """The commissioner's finance approver resolves a dispute: what the line should net
    to, and why (any difference is posted as a correction)."""
    access = contract_access(svc, who, contract_id)
    if not access.may(who, "resolve_dispute"):
        raise Refused(403, "only the commissioner's finance approver resolves disputes")
    try:
        found = disputes.get_dispute(svc.ops, dispute_id)
    except OperationError:
        raise Refused(404, f"no dispute {dispute_id} of this contract") from None
    if found.contract_id != contract_id:
        raise Refused(404, f"no dispute {dispute_id} of this contract")
    pence = _pence(agreed_gbp)
    done: disputes.Dispute = _service(
        disputes.resolve_dispute, svc.ops, dispute_id, pence, resolution, who.display_name
    )
    return done


def register_variation(
    svc: Services, who: Principal, contract_id: str, text: str, filename: str
) -> register.Version:
    """The commissioner's contract manager registers a new version of the contract (a
    variation): checked, stored as written, to be signed by every party."""
    access = contract_access(svc, who, contract_id)
    if not access.may(who, "register_version"):
        raise Refused(403, "only the commissioner's contract manager registers versions")
    try:
        named = loads_contract(text, "upload").id
    except ContractError as exc:
        raise Refused(400, str(exc)) from None
    if named != contract_id:
        raise Refused(400, "the file is a different contract — upload a version of this one")
    source = f"uploaded by {who.display_name}: {Path(filename).name[:100]}"
    version: register.Version = _service(
        register.register_version, svc.ops, text, source, who.display_name
    )
    return version


def sign_version(
    svc: Services, who: Principal, contract_id: str, version: str, party_id: str
) -> register.Version:
    """Sign a version for a party the organisation holds (a commissioner party by its
    contract manager, a provider party by the provider)."""
    access = contract_access(svc, who, contract_id)
    if not access.may(who, "sign_version") or party_id not in access.held:
        raise Refused(403, "you can sign only for a party your organisation holds")
    commissioner = access.party_roles.get(party_id) == "commissioner"
    if commissioner != (who.role == "contract_manager"):
        raise Refused(403, "the commissioner's contract manager or the provider signs for it")
    signed: register.Version = _service(
        register.sign, svc.ops, contract_id, version, party_id, who.display_name
    )
    return signed


def close_period(svc: Services, who: Principal, contract_id: str, period: str) -> None:
    """The commissioner's finance approver closes a settled period (its values lock)."""
    access = contract_access(svc, who, contract_id)
    if not access.may(who, "close_period"):
        raise Refused(403, "only the commissioner's finance approver closes periods")
    try:
        year, quarter = parse_period(period.strip())
    except ValueError as exc:
        raise Refused(400, str(exc)) from None
    _service(runs.close_period, svc.ops, contract_id, year, quarter, who.display_name)


def _pence(amount_gbp: str) -> int:
    try:
        return int(to_pence(amount_gbp.replace(",", "").replace("£", "").strip()))
    except ArithmeticError:
        raise Refused(400, "the amount is not a number of pounds — write it like 1234.56") from None


def add_user(
    svc: Services,
    who: Principal,
    username: str,
    display_name: str,
    role: str,
    password: str,
    approval_limit_gbp: str = "",
) -> Principal:
    """An administrator adds a person to their own organisation; a finance approver is
    given their delegated limit in the same step."""
    require(who, "manage_users")
    if role == "finance_approver" and not approval_limit_gbp.strip():
        raise Refused(400, "give the finance approver's delegated limit in pounds")
    added: Principal = _service(
        svc.accounts.add_user, username, display_name, who.org_id, role, who.display_name, password
    )
    if role == "finance_approver":
        _service(runs.add_approver, svc.ops, display_name, approval_limit_gbp, who.display_name)
    return added


def record_measure(
    svc: Services,
    who: Principal,
    measure: int,
    status: str,
    value: str,
    measured_on: str,
    source: str,
    note: str,
) -> int:
    """A commissioner records one measure of effective commissioning for its own
    organisation (with an audit row)."""
    require(who, "record_measures")
    if not who.is_commissioner:
        raise Refused(403, "only a commissioner records its measures")
    try:
        when = date.fromisoformat(measured_on.strip())
    except ValueError:
        raise Refused(400, "date: give the date as YYYY-MM-DD") from None
    record_id: int = _service(
        records.record_measure,
        svc.accounts.store,
        who.org_id,
        measure,
        status,
        value,
        when,
        source,
        note,
        who.display_name,
    )
    return record_id


def _own_user(svc: Services, who: Principal, user_id: int) -> None:
    require(who, "manage_users")
    if svc.accounts.user_org(user_id) != who.org_id:
        raise Refused(404, f"no user {user_id} in your organisation")


def unlock_user(svc: Services, who: Principal, user_id: int) -> None:
    """An administrator lifts a lock-out in their own organisation."""
    _own_user(svc, who, user_id)
    svc.accounts.unlock(user_id)


def switch_user(svc: Services, who: Principal, user_id: int, active: bool) -> None:
    """An administrator switches an account of their organisation off (its sessions and
    tokens end at once) or on again; never their own."""
    _own_user(svc, who, user_id)
    if user_id == who.user_id:
        raise Refused(409, "you cannot switch off your own account — ask another administrator")
    svc.accounts.set_active(user_id, active)


def issue_token(svc: Services, who: Principal, user_id: int, name: str) -> str:
    """An administrator issues a token for a system to act as a person of their
    organisation; it is shown once and only its hash is kept."""
    _own_user(svc, who, user_id)
    if not name.strip():
        raise Refused(400, "say what the token is for, e.g. 'finance system'")
    if svc.accounts.principal(user_id) is None:
        raise Refused(409, "the account is switched off")
    return svc.accounts.issue_token(user_id, name.strip())


def load_upload(svc: Services, who: Principal, filename: str, content: bytes) -> dict[str, Any]:
    """A data manager uploads one canonical file; it is checked and loaded (pseudonymised
    at the door) into their population's store. The uploaded file is kept under a new
    random name in the upload folder; the name sent is used only to say which table."""
    require(who, "manage_data")
    settings = svc.settings
    if (
        settings.analytical_store is None
        or settings.uploads is None
        or settings.pseudonymisation_key is None
        or settings.population_org != who.org_id
    ):
        raise Refused(404, "your organisation has no data store in this workbench")
    name = Path(filename.replace("\\", "/")).name
    if name != filename or not UPLOAD_NAME.match(name):
        raise Refused(
            400,
            "name the file after its table: places, gp_practices, people or activity, "
            "with .csv or .parquet (no folders)",
        )
    if not content:
        raise Refused(400, "the file is empty")
    if len(content) > MAX_UPLOAD_BYTES:
        raise Refused(400, "the file is larger than 200 MB — load it with 'commissioning load'")
    from commissioning.data.load import LoadError, Source, load_files

    settings.uploads.mkdir(parents=True, exist_ok=True)
    kept = settings.uploads / f"{secrets.token_hex(8)}-{name}"
    kept.write_bytes(content)
    table = name.split(".")[0]
    try:
        with svc.analytical() as con:
            reports = load_files(con, [Source(kept, table)], settings.pseudonymisation_key, None)
    except LoadError as exc:
        kept.unlink(missing_ok=True)  # nothing was loaded from it
        raise Refused(400, str(exc).replace(kept.name, name)) from None
    return {
        "files": [
            {
                "file_name": name,
                "table": r.table,
                "rows_read": r.rows_read,
                "rows_loaded": r.rows_loaded,
                "rows_rejected": r.rows_rejected,
                "already_loaded": r.already_loaded,
            }
            for r in reports
        ]
    }
