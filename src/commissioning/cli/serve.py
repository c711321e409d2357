"""``commissioning serve`` and ``commissioning access ...``: the web workbench and the
people, organisations and contract parties behind it.

The server runs on the store the other commands use (its DuckDB file, or ``--records``
for a PostgreSQL record store). The first administrator of an installation is made here,
on the command line; after that, administrators add people in the workbench.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from commissioning.access.accounts import AccessError, Accounts
from commissioning.cli.config import ConfigError, ledger_key, load_settings, pseudonymisation_key

access_app = typer.Typer(
    help="Organisations, people and which organisation holds which party of a contract.",
    no_args_is_help=True,
)
RecordsOpt = Annotated[
    str | None,
    typer.Option("--records", help="The record store: a DuckDB file or postgresql://..."),
]
ByOpt = Annotated[str, typer.Option("--by", help="Who is doing this (a person's name)")]
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _records(records: str | None) -> str:
    settings = load_settings()
    return records or str(settings.store.path)


def _accounts(records: str | None) -> Accounts:
    from commissioning.store.records import open_records

    return Accounts(open_records(_records(records)))


def _friendly(call: Callable[[], object]) -> object:
    try:
        return call()
    except (AccessError, ConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@access_app.command("add-org")
def add_org(
    org_id: Annotated[str, typer.Argument(help="A short id, e.g. northvale-icb")],
    name: Annotated[str, typer.Option("--name", help="The organisation's name")],
    kind: Annotated[str, typer.Option("--kind", help="icb, council or provider")],
    by: ByOpt,
    places: Annotated[
        str, typer.Option("--places", help="Place codes whose population it commissions, a,b")
    ] = "",
    records: RecordsOpt = None,
) -> None:
    """Add an organisation (an ICB, a council or a provider)."""
    accounts = _accounts(records)
    place_list = [p.strip() for p in places.split(",") if p.strip()]
    _friendly(lambda: accounts.add_organisation(org_id, name, kind, by, place_list))
    typer.echo(f"organisation {org_id} added")


@access_app.command("add-user")
def add_user(
    username: Annotated[str, typer.Argument(help="The user name they sign in with")],
    name: Annotated[str, typer.Option("--name", help="The person's name")],
    org: Annotated[str, typer.Option("--org", help="Their organisation's id")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="analyst, contract_manager, finance_approver, provider, data_manager or admin",
        ),
    ],
    by: ByOpt,
    oidc_subject: Annotated[
        str | None,
        typer.Option("--oidc-subject", help="Their subject at the identity provider"),
    ] = None,
    records: RecordsOpt = None,
) -> None:
    """Add a person; the password is asked for (not echoed) unless they sign in only with
    the identity provider."""
    accounts = _accounts(records)
    password = None
    if oidc_subject is None:
        password = getpass.getpass("Password (12 characters or more): ")
    _friendly(lambda: accounts.add_user(username, name, org, role, by, password, oidc_subject))
    typer.echo(f"{username} added to {org} as {role}")


@access_app.command("link")
def link(
    contract_id: Annotated[str, typer.Argument(help="The contract id, as in the register")],
    party: Annotated[str, typer.Option("--party", help="The party id in the contract")],
    org: Annotated[str, typer.Option("--org", help="The organisation that is this party")],
    by: ByOpt,
    records: RecordsOpt = None,
) -> None:
    """Say which organisation is a party of a contract (it then sees the contract)."""
    accounts = _accounts(records)
    _friendly(lambda: accounts.link_party(contract_id, party, org, by))
    typer.echo(f"{org} is party {party} of {contract_id}")


@access_app.command("token")
def token(
    username: Annotated[str, typer.Argument(help="The person the system acts for")],
    name: Annotated[str, typer.Option("--name", help="What the token is for")],
    records: RecordsOpt = None,
) -> None:
    """Issue a token for a system to call the API as this person (shown once)."""
    accounts = _accounts(records)
    row = accounts.store.one("SELECT user_id FROM users WHERE username = ?", [username])
    if row is None:
        typer.echo(f"error: no user '{username}'", err=True)
        raise typer.Exit(2)
    typer.echo(accounts.issue_token(int(row[0]), name))


def serve_workbench(
    *,
    store: Path | None,
    records: str | None,
    reports: Path | None,
    population_org: str | None,
    host: str,
    port: int,
    demo: bool,
    sign_ins: tuple[tuple[str, str, str], ...] = (),
) -> None:
    """Run the web workbench until interrupted."""
    import uvicorn

    from commissioning.operations.base import DEMO_LEDGER_KEY
    from commissioning.web.app import create_app
    from commissioning.web.services import OidcSettings, WebSettings

    settings = load_settings()
    store_path = Path(store or settings.store.path)
    address = records or str(store_path)
    key = ledger_key(settings, DEMO_LEDGER_KEY if demo else None)
    try:
        pseudo_key: bytes | None = pseudonymisation_key(settings, demo)
    except ConfigError:
        pseudo_key = None  # uploads are refused until a key is configured
    published = {}
    if store_path.exists():
        published = _published(store_path, settings.publication.suppression_threshold)
    anchor = settings.ledger.anchor or (
        Path(str(store_path) + ".ledger-anchor.jsonl")
        if not address.startswith("postgres")
        else Path("commissioning.ledger-anchor.jsonl")
    )
    oidc = None
    if settings.web.oidc is not None:
        conf = settings.web.oidc
        secret = os.environ.get(conf.client_secret_env)
        if not secret:
            raise ConfigError(
                f"[web.oidc] is set but {conf.client_secret_env} holds no client secret"
            )
        oidc = OidcSettings(
            conf.issuer, conf.client_id, secret, conf.redirect_uri, label=conf.label
        )
    reports = reports or settings.web.reports
    population_org = population_org or settings.web.population_org
    web = WebSettings(
        records=address,
        ledger_key=key,
        anchor=anchor,
        reports=reports,
        population_org=population_org,
        uploads=store_path.parent / "uploads",
        analytical_store=store_path if address == str(store_path) else None,
        pseudonymisation_key=pseudo_key,
        secure_cookies=host not in LOOPBACK,
        demo_sign_ins=sign_ins,
        published=published,
        oidc=oidc,
    )
    app = create_app(web)
    typer.echo(f"The workbench is at http://{host}:{port}/ (Ctrl+C stops it)")
    for username, what, password in sign_ins:
        typer.echo(f"  sign in as {username:<14} {what:<48} password: {password}")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _published(store_path: Path, threshold: int) -> dict[str, object]:
    """The public figures, through the small-number gate (none if the store is empty)."""
    from commissioning.data.queries import activity_years
    from commissioning.reports.published import population_by_place
    from commissioning.store.duckdb_store import connect, ibis_tables

    con = connect(store_path)
    try:
        tables = ibis_tables(con)
        years = activity_years(tables)
        if not years:
            return {}
        return {"population": population_by_place(tables, years, threshold)}
    finally:
        con.close()
