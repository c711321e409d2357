"""``commissioning contract ...``: the contract lifecycle from the command line.

Every command translates options and calls one service of
:mod:`commissioning.operations` (or the contract checks, planning and stress test); no
calculation lives here. A signed contract is settled as signed: nothing here re-plans it.
Planning from the data (``budget --propose``) writes a *new version* to review, register
and sign. Mistakes exit with status 2 and one line per problem, never a traceback.

The record store is the store's DuckDB file unless ``--records`` names another address
(``postgresql://...`` for many users). The ledger key comes from the environment variable
``COMMISSIONING_LEDGER_KEY`` (or the key file in the settings); ``--demo`` uses the demo's
key, for the demo store only.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from commissioning.cli.config import ConfigError, ledger_key, load_settings
from commissioning.contracts.check import check_contract_file
from commissioning.contracts.load import ContractError, load_contract
from commissioning.contracts.stress import run_stress
from commissioning.contracts.versions import compare_versions, content_hash, describe_changes
from commissioning.operations import disputes, measurements, register, runs
from commissioning.operations.base import (
    DEMO_LEDGER_KEY,
    OperationError,
    Operations,
    closed_periods,
)
from commissioning.operations.base import open_operations as _open_operations
from commissioning.operations.calendar import calendar
from commissioning.operations.due import deltas
from commissioning.operations.exports import (
    contract_statement,
    payment_file,
    verify_audit_file,
    write_audit_file,
)
from commissioning.reports.formatting import gbp
from commissioning.settlement.ledger import LedgerError
from commissioning.settlement.lines import parse_period, period_label
from commissioning.settlement.money import format_gbp, to_gbp, to_pence
from commissioning.settlement.statement import reconciles, statement_csv, statement_html
from commissioning.store.records import RecordStoreError, open_records

F = TypeVar("F", bound=Callable[..., Any])
MAX_PENCE = 10**14  # £1,000,000,000,000: larger than any health budget

contract_app = typer.Typer(
    help="Outcome-based contracts: check and stress-test a file, plan a new version from the "
    "data, register and sign versions, certify measured values, settle periods through "
    "review and approval, handle disputes, close periods, write statements, payment files "
    "and audit files, and verify the ledger.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="The contract file (TOML)")]
ContractArg = Annotated[str, typer.Argument(help="The contract id, as in the register")]
ByOpt = Annotated[str, typer.Option("--by", help="Who is doing this (a person's name)")]
RecordsOpt = Annotated[
    str | None,
    typer.Option(
        "--records",
        help="The record store: a DuckDB file or postgresql://... (default: the store file)",
    ),
]
DemoOpt = Annotated[
    bool, typer.Option("--demo", help="Use the demo ledger key (synthetic demo store only)")
]
PeriodOpt = Annotated[
    str, typer.Option("--period", help="Period, e.g. Y1Q2, or Y1YE for the year-end")
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def friendly(func: F) -> F:
    """One clear line and exit code 2 for every refused operation."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (OperationError, LedgerError, RecordStoreError, ConfigError, ContractError) as exc:
            _fail(str(exc))
        except ValueError as exc:
            _fail(str(exc))
        return None

    return wrapper  # type: ignore[return-value]


def _ledger_key(demo: bool) -> bytes:
    return ledger_key(load_settings(), DEMO_LEDGER_KEY if demo else None)


def _ops(records: str | None, demo: bool) -> Operations:
    settings = load_settings()
    address = records or str(settings.store.path)
    if (
        not address.startswith(("postgresql://", "postgres://"))
        and not Path(address.removeprefix("duckdb://")).exists()
    ):
        raise ConfigError(f"{address}: no record store — load data first or give --records")
    anchor = settings.ledger.anchor or Path(
        address.removeprefix("duckdb://") + ".ledger-anchor.jsonl"
        if not address.startswith("postgres")
        else "commissioning.ledger-anchor.jsonl"
    )
    return _open_operations(open_records(address), _ledger_key(demo), anchor)


def _period(text: str) -> tuple[int, int]:
    return parse_period(text)


def _money_pence(text: str) -> int:
    try:
        pence = to_pence(text.replace(",", "").replace("£", ""))
    except Exception:
        raise ValueError(f"'{text}' is not an amount — write pounds, e.g. 1234.56") from None
    if not 0 <= pence <= MAX_PENCE:
        raise ValueError(f"'{text}' must be between £0 and £1,000,000,000,000")
    return pence


def to_gbp_text(pence: int) -> str:
    """Pence as a plain pounds string, e.g. 123456 -> '1234.56'."""
    return str(to_gbp(pence))


# -- files: check, diff, stress, plan ---------------------------------------------------------


@contract_app.command("check")
def check(file: FileArg) -> None:
    """Check a contract file: every field, rule, measure, curve and budget; print warnings."""
    report = check_contract_file(file)
    for w in report.warnings:
        typer.echo(f"warning {w}")
    if not report.ok or report.contract is None:
        typer.echo(f"{file} has {len(report.problems)} problem(s):", err=True)
        for p in report.problems:
            typer.echo(f"  - {p}", err=True)
        raise typer.Exit(2)
    c = report.contract
    typer.echo(
        f"{c.id} {c.version}: passes its checks ({c.form.type}, {c.duration_years} years, "
        f"{len(c.outcomes.measures)} measures, content hash {content_hash(c)[:16]})"
    )


def _load(file: Path) -> Any:
    try:
        return load_contract(file)
    except ContractError as exc:
        typer.echo(f"{file} has {len(exc.problems)} problem(s):", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from None


@contract_app.command("diff")
def diff(old: FileArg, new: FileArg) -> None:
    """Compare two versions of a contract: every field that changed, old and new."""
    before, after = _load(old), _load(new)
    typer.echo(
        f"{before.id} {before.version} ({content_hash(before)[:12]}) -> "
        f"{after.id} {after.version} ({content_hash(after)[:12]})"
    )
    typer.echo(describe_changes(compare_versions(before, after)))


@contract_app.command("simulate")
def simulate(
    file: FileArg,
    runs_: Annotated[int, typer.Option("--runs", min=100, help="Simulated lives")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 0,
) -> None:
    """Stress-test the contract exactly as written in the file (Monte Carlo)."""
    contract = _load(file)
    typer.echo(
        f"stress test of {contract.id} {contract.version} as written in {file} (content hash "
        f"{content_hash(contract)[:12]}; baseline "
        f"{gbp(float(contract.finance.baseline_budget_gbp))})"
    )
    result = run_stress(contract, n_runs=runs_, seed=seed)
    for key, value in result.summary().items():
        text = f"{value:.1%}" if key.startswith("p_") else f"{gbp(value)}"
        typer.echo(f"{key}: {text}")
    typer.echo("drivers: " + ", ".join(f"{n} {rho:+.2f}" for n, rho in result.drivers))


@contract_app.command("budget")
@friendly
def budget(
    file: FileArg,
    store: Annotated[Path | None, typer.Option("--store", help="The store's DuckDB file")] = None,
    propose: Annotated[
        Path | None, typer.Option("--propose", help="Write the planned version to this file")
    ] = None,
) -> None:
    """Plan the capitated budget from the cohort's spend in the store. The file is not
    changed: ``--propose`` writes a new version to review, register and sign."""
    from commissioning.contracts.cohort import fetch_place_data
    from commissioning.data.queries import activity_years
    from commissioning.scenarios.worked import plan_version, proposed_version
    from commissioning.store.duckdb_store import connect, ibis_tables

    contract = _load(file)
    path = store or load_settings().store.path
    if not Path(path).exists():
        _fail(f"{path}: no store — load data first or give --store")
    con = connect(path, read_only=True)
    tables = ibis_tables(con)
    years = activity_years(tables)
    if len(years) < 2:
        _fail("the store holds fewer than two financial years of activity")
    planned = plan_version(contract, fetch_place_data(tables, years))
    con.close()
    p = planned.plan
    typer.echo(f"cohort: {planned.rule} — {p.people:,} people, base year {p.base_year}")
    typer.echo(
        f"baseline spend {gbp(p.spend_gbp)}: {gbp(p.per_person_gbp)} per person, "
        f"{gbp(p.risk_adjusted_per_person_gbp)} per need-weighted person"
    )
    typer.echo(
        f"demographic change {p.demographic_growth:+.2%} a year, cost growth "
        f"{p.cost_growth:.1%}, cap ±{p.cap:.0%}"
    )
    for row in p.trajectory.to_dict("records"):
        typer.echo(
            f"  year {int(row['year'])}: do nothing {gbp(row['do_nothing_gbp'])}, target "
            f"{gbp(row['target_gbp'])}, allocation {format_gbp(int(row['allocation_pence']))}"
        )
    if propose is not None:
        propose.write_text(proposed_version(planned.contract), encoding="utf-8")
        typer.echo(
            f"proposed version {planned.contract.version} written to {propose} — review it "
            f"with 'contract diff {file} {propose}', then register and sign it"
        )
    else:
        typer.echo(f"{file} is unchanged; --propose FILE writes the planned version")


# -- the register -----------------------------------------------------------------------------


@contract_app.command("register")
@friendly
def register_cmd(
    file: FileArg, by: ByOpt, records: RecordsOpt = None, demo: DemoOpt = False
) -> None:
    """Register a contract file as a draft version (its exact text, by content hash)."""
    report = check_contract_file(file)
    if not report.ok:
        problems = "\n".join(f"  - {p}" for p in report.problems)
        _fail(f"{file} does not pass its checks:\n{problems}")
    ops = _ops(records, demo)
    v = register.register_version(ops, file.read_text(encoding="utf-8"), str(file), by)
    typer.echo(
        f"{v.contract.id} {v.contract.version} registered (content hash {v.content_hash[:16]}); "
        f"awaiting signatures from {', '.join(v.unsigned_parties) or 'nobody'}"
    )


@contract_app.command("sign")
@friendly
def sign_cmd(
    contract_id: ContractArg,
    version: Annotated[str, typer.Option("--version", help="The version signed")],
    party: Annotated[str, typer.Option("--party", help="The party signing")],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Sign a registered version for one party."""
    v = register.sign(_ops(records, demo), contract_id, version, party, by)
    state = "signed by every party" if v.signed else f"awaiting {', '.join(v.unsigned_parties)}"
    typer.echo(f"{contract_id} {version}: {party} signed ({by}); {state}")


@contract_app.command("status")
@friendly
def status_cmd(
    contract_id: Annotated[
        str | None, typer.Argument(help="A contract id (all if omitted)")
    ] = None,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the register as JSON on standard output.")
    ] = False,
) -> None:
    """The register: versions, signatures, periods and runs."""
    ops = _ops(records, demo)
    ids = [contract_id] if contract_id else register.contract_ids(ops)
    if as_json:
        typer.echo(json.dumps([_status_json(ops, cid) for cid in ids], indent=2, default=str))
        return
    for cid in ids:
        typer.echo(f"{cid}: {register.status(ops, cid)}")
        found = register.versions(ops, cid)
        for v in found:
            eff = v.contract.effective_from or v.contract.start_date
            sigs = ", ".join(f"{p} ({s[0]})" for p, s in v.signatures.items()) or "none"
            typer.echo(
                f"  version {v.contract.version} {v.content_hash[:12]} from {eff}: signed by {sigs}"
            )
        if not found or not any(v.signed for v in found):
            continue
        all_runs = runs.runs(ops, cid)
        closed = closed_periods(ops, cid)
        for p in calendar(found[0].contract):
            mine = [r for r in all_runs if (r.year, r.quarter) == (p.year, p.quarter)]
            if not mine:
                continue
            state = "closed" if (p.year, p.quarter) in closed else "open"
            if p.is_year_end and any(r.status == "posted" for r in mine):
                state += _year_end_currency(ops, cid, p)
            text = "; ".join(
                f"run {r.run_id} {r.status} {format_gbp(r.gross_pence)}"
                + (f" awaiting {', '.join(r.awaiting)}" if r.awaiting else "")
                for r in mine
            )
            typer.echo(f"  {p.label} ({p.start} to {p.end}) {state}: {text}")


def _status_json(ops: Operations, contract_id: str) -> dict[str, Any]:
    """One contract's register entry: its state, versions with signatures, and its runs
    (money in pence, as the ledger keeps it)."""
    found = register.versions(ops, contract_id)
    closed = closed_periods(ops, contract_id)
    return {
        "contract_id": contract_id,
        "status": register.status(ops, contract_id),
        "versions": [
            {
                "version": v.contract.version,
                "content_hash": v.content_hash,
                "effective_from": v.contract.effective_from or v.contract.start_date,
                "signed": v.signed,
                "signatures": {
                    party: {"signed_by": by, "signed_at": at}
                    for party, (by, at) in v.signatures.items()
                },
            }
            for v in found
        ],
        "runs": [
            {
                "run_id": r.run_id,
                "period": period_label(r.year, r.quarter),
                "status": r.status,
                "gross_pence": r.gross_pence,
                "awaiting": list(r.awaiting),
                "period_closed": (r.year, r.quarter) in closed,
            }
            for r in runs.runs(ops, contract_id)
        ],
    }


def _year_end_currency(ops: Operations, contract_id: str, when: Any) -> str:
    """'' when a posted year-end still stands, else a note that a later change (a restated
    value or outturn, a new version, a correction) has put it out of date."""
    try:
        due, _ = runs.compute_due(ops, contract_id, when.year, when.quarter)
    except OperationError:
        return ", out of date: settle its quarters and the year-end again"
    posted = [
        ln
        for ln in ops.ledger.lines(contract_id=contract_id)
        if (ln.year, ln.quarter) == (when.year, when.quarter)
    ]
    if deltas(due.lines, posted, "check", when):
        return ", out of date: settle the year-end again"
    return ""


# -- measured values ----------------------------------------------------------------------------


@contract_app.command("measure")
@friendly
def measure_cmd(
    contract_id: ContractArg,
    period: PeriodOpt,
    value: Annotated[str, typer.Option("--value", help="The value (pounds for an outturn)")],
    by: ByOpt,
    kind: Annotated[
        str, typer.Option("--kind", help="indicator, outturn, activity, ...")
    ] = "indicator",
    key: Annotated[str, typer.Option("--key", help="Indicator id, point of delivery, ...")] = "",
    source: Annotated[str, typer.Option("--source", help="Where the value comes from")] = "",
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Submit a measured value for a period (it pays once another person certifies it)."""
    year, quarter = _period(period)
    m = measurements.submit(
        _ops(records, demo), contract_id, year, quarter, kind, key, value, by, source
    )
    what = f"{m.kind} {m.key}".strip()
    restates = f", restating measurement {m.supersedes}" if m.supersedes else ""
    typer.echo(f"measurement {m.measurement_id}: {what} {m.period} = {m.value} submitted{restates}")


@contract_app.command("measure-from-store")
@friendly
def measure_from_store_cmd(
    contract_id: ContractArg,
    year: Annotated[int, typer.Option("--year", min=1, max=15, help="Contract year")],
    by: ByOpt,
    store: Annotated[Path | None, typer.Option("--store", help="The store's DuckDB file")] = None,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Submit a contract year's outcome values measured from the store (annual measures);
    another person certifies them before they pay."""
    from commissioning.operations.from_data import submit_from_data
    from commissioning.store.duckdb_store import connect, ibis_tables

    ops = _ops(records, demo)
    path = store or load_settings().store.path
    if not Path(path).exists():
        _fail(f"{path}: no store — load data first or give --store")
    same_file = records is None or Path(records.removeprefix("duckdb://")) == Path(path)
    con = ops.store.conn if same_file and ops.store.dialect == "duckdb" else connect(path)
    submitted, left = submit_from_data(ops, ibis_tables(con), contract_id, year, by)
    for m in submitted:
        typer.echo(f"measurement {m.measurement_id}: {m.key} {m.period} = {m.value} submitted")
    for note in left:
        typer.echo(f"not submitted — {note}")
    if submitted:
        typer.echo("next: another person certifies each (contract certify N --by <name>)")


@contract_app.command("certify")
@friendly
def certify_cmd(
    measurement_id: Annotated[int, typer.Argument(help="The measurement's number")],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Certify a submitted value (not by the person who submitted it)."""
    m = measurements.certify(_ops(records, demo), measurement_id, by)
    typer.echo(f"measurement {m.measurement_id}: {m.kind} {m.key} {m.period} = {m.value} certified")


# -- settlement runs ------------------------------------------------------------------------------


def _show_run(run: runs.Run) -> None:
    typer.echo(
        f"run {run.run_id} {run.period} {run.status}: {len(run.lines)} lines, gross "
        f"{format_gbp(run.gross_pence)}"
    )
    for ln in run.lines:
        typer.echo(
            f"  {ln.kind:<18} {ln.payer} -> {ln.payee}: {format_gbp(ln.amount_pence)}  "
            f"{ln.description}"
        )
    if run.awaiting:
        typer.echo(
            f"  awaiting certified values (nothing paid on them yet): {', '.join(run.awaiting)}"
        )


@contract_app.command("settle")
@friendly
def settle_cmd(
    contract_id: ContractArg,
    period: PeriodOpt,
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Draft a settlement run for a period under the signed terms. Posts nothing."""
    year, quarter = _period(period)
    run = runs.draft_run(_ops(records, demo), contract_id, year, quarter, by)
    _show_run(run)
    typer.echo(f"next: contract review {run.run_id} --by <reviewer>")


@contract_app.command("review")
@friendly
def review_cmd(
    run_id: Annotated[int, typer.Argument()],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Review a drafted run (someone other than who drafted it)."""
    _show_run(runs.review_run(_ops(records, demo), run_id, by))


@contract_app.command("approve")
@friendly
def approve_cmd(
    run_id: Annotated[int, typer.Argument()],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Approve a reviewed run, within the approver's delegated limit."""
    _show_run(runs.approve_run(_ops(records, demo), run_id, by))


@contract_app.command("post")
@friendly
def post_cmd(
    run_id: Annotated[int, typer.Argument()],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Post an approved run to the ledger (refused if anything changed since the draft)."""
    ops = _ops(records, demo)
    _show_run(runs.post_run(ops, run_id, by))
    typer.echo(f"ledger head: {ops.ledger.head()}")


@contract_app.command("withdraw")
@friendly
def withdraw_cmd(
    run_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason", help="Why")],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Withdraw a run that is not yet posted."""
    _show_run(runs.withdraw_run(_ops(records, demo), run_id, by, reason))


@contract_app.command("close")
@friendly
def close_cmd(
    contract_id: ContractArg,
    period: PeriodOpt,
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Close and lock a settled period."""
    year, quarter = _period(period)
    runs.close_period(_ops(records, demo), contract_id, year, quarter, by)
    typer.echo(f"{contract_id} {period_label(year, quarter)} closed")


@contract_app.command("approver")
@friendly
def approver_cmd(
    name: Annotated[str, typer.Argument(help="The approver's name")],
    limit: Annotated[str, typer.Option("--limit", help="Delegated limit in pounds")],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Name a finance approver and the delegated limit of the runs they may approve."""
    runs.add_approver(_ops(records, demo), name, to_gbp_text(_money_pence(limit)), by)
    typer.echo(f"{name}: finance approver up to {format_gbp(_money_pence(limit))} a run")


# -- disputes ---------------------------------------------------------------------------------


@contract_app.command("dispute")
@friendly
def dispute_cmd(
    line_id: Annotated[str, typer.Argument(help="The ledger line (id on the statement)")],
    party: Annotated[str, typer.Option("--party", help="The party raising it")],
    amount: Annotated[str, typer.Option("--amount", help="The amount disputed, in pounds")],
    reason: Annotated[str, typer.Option("--reason", help="Why")],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Dispute an amount of a posted line; it is held until the dispute is resolved."""
    d = disputes.raise_dispute(
        _ops(records, demo), line_id, party, _money_pence(amount), reason, by
    )
    typer.echo(f"dispute {d.dispute_id}: {format_gbp(d.amount_pence)} of line {line_id} held")


@contract_app.command("resolve")
@friendly
def resolve_cmd(
    dispute_id: Annotated[int, typer.Argument()],
    agreed: Annotated[str, typer.Option("--agreed", help="What the line should net to (£)")],
    resolution: Annotated[str, typer.Option("--resolution", help="What was agreed")],
    by: ByOpt,
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Resolve a dispute; any difference posts as a correction and the hold is released."""
    d = disputes.resolve_dispute(
        _ops(records, demo), dispute_id, _money_pence(agreed), resolution, by
    )
    fix = f"correction {d.correction_line_id}" if d.correction_line_id else "no correction needed"
    typer.echo(f"dispute {d.dispute_id} resolved: {fix}")


# -- what leaves: statements, payments, audit ------------------------------------------


@contract_app.command("statement")
@friendly
def statement_cmd(
    contract_id: ContractArg,
    party: Annotated[str, typer.Option("--party", help="Party id")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the statement")],
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Write a party's statement (HTML and CSV) from the ledger. Reads only."""
    ops = _ops(records, demo)
    parties = {p.id for p in register.find_version(ops, contract_id).contract.parties}
    if party not in parties:
        _fail(f"'{party}' is not a party — use one of {', '.join(sorted(parties))}")
    st = contract_statement(ops, contract_id, party)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{contract_id}_{party}.html").write_text(statement_html(st), encoding="utf-8")
    (out / f"{contract_id}_{party}.csv").write_text(statement_csv(st), encoding="utf-8")
    verified = st.verification is not None and st.verification.ok
    if not verified:
        state = "CANNOT BE TRUSTED: the ledger does not verify"
    elif reconciles(st, ops.ledger):
        state = "reconciles to the verified ledger"
    else:
        state = "DOES NOT reconcile to the ledger"
    typer.echo(
        f"{party}: received {format_gbp(st.received_pence)}, paid "
        f"{format_gbp(st.paid_pence)}, net {format_gbp(st.net_pence)}; {state}"
    )
    if st.verification is not None:
        typer.echo(st.verification.summary())
        for p in st.verification.problems:
            typer.echo(f"  - {p}")
        if not st.verification.ok:
            raise typer.Exit(1)


@contract_app.command("verify")
@friendly
def verify_cmd(records: RecordsOpt = None, demo: DemoOpt = False) -> None:
    """Verify the ledger: every hash, the chain, every MAC and the anchor. Reads only;
    exit status 1 if anything does not verify."""
    ops = _ops(records, demo)
    check = ops.ledger.verify()
    seals = ops.broken_seals()
    typer.echo(check.summary())
    typer.echo(
        "records verified: every version, signature, value, run, approver, closure and "
        "dispute is as the application wrote it"
        if not seals
        else f"RECORDS DO NOT VERIFY: {len(seals)} row(s) changed outside the application"
    )
    for p in seals:
        typer.echo(f"  - {p}")
    if check.anchored_entries is None and ops.ledger.anchor is not None:
        typer.echo(
            f"warning: no anchor at {ops.ledger.anchor.path} — entries removed from the end "
            "of the ledger could not be seen; keep the anchor file the postings write"
        )
    for p in check.problems:
        typer.echo(f"  - {p}")
    if not check.ok or seals:
        raise typer.Exit(1)


@contract_app.command("payments")
@friendly
def payments_cmd(
    contract_id: ContractArg,
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write")],
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Write the payment lines of posted runs for a finance system (held amounts shown)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = payment_file(_ops(records, demo), contract_id)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"{len(text.splitlines()) - 1} payment lines written to {out}")


@contract_app.command("audit")
@friendly
def audit_cmd(
    contract_id: ContractArg,
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write")],
    records: RecordsOpt = None,
    demo: DemoOpt = False,
) -> None:
    """Write the audit file of a contract: versions, signatures, runs, disputes, ledger."""
    path = write_audit_file(_ops(records, demo), contract_id, out)
    typer.echo(f"audit file written to {path}; check it with 'contract verify-audit {path}'")


@contract_app.command("verify-audit")
@friendly
def verify_audit_cmd(
    file: Annotated[Path, typer.Argument(help="An audit file")],
    with_key: Annotated[
        bool, typer.Option("--with-key", help="Also check every MAC with the ledger key")
    ] = False,
    demo: DemoOpt = False,
) -> None:
    """Check an audit file on its own, without the database."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"{file}: cannot read the audit file ({exc})")
    check = verify_audit_file(data, _ledger_key(demo) if with_key or demo else None)
    typer.echo(check.summary())
    for p in check.problems:
        typer.echo(f"  - {p}")
    if not check.ok:
        raise typer.Exit(1)


@contract_app.command("scenarios")
@friendly
def scenarios(
    out: Annotated[Path, typer.Option("--out", help="Folder for the reports")],
    store: Annotated[Path | None, typer.Option("--store", help="The store's DuckDB file")] = None,
) -> None:
    """Run every worked scenario on the store (demo ledger key) and write the reports."""
    from commissioning.data.queries import activity_years
    from commissioning.reports.contract_report import write_contract_report, write_contracts_index
    from commissioning.scenarios.worked import run_scenarios
    from commissioning.store.duckdb_store import connect, ibis_tables
    from commissioning.store.records import wrap_duckdb

    path = store or load_settings().store.path
    if not Path(path).exists():
        _fail(f"{path}: no store — load data first or give --store")
    con = connect(path)
    tables = ibis_tables(con)
    ops = _open_operations(wrap_duckdb(con), DEMO_LEDGER_KEY, Path(f"{path}.ledger-anchor.jsonl"))
    results = run_scenarios(tables, ops, activity_years(tables))
    for r in results:
        write_contract_report(r, out)
        typer.echo(
            f"{r.spec.scenario_id}: {r.cohort_size:,} people, "
            f"{gbp(r.annual_budget_gbp)} a year — {r.verdict} ({r.verdict_reason})"
        )
    typer.echo(str(write_contracts_index(results, out)))
    con.close()
