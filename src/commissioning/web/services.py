"""What the server holds: the record store (through contract operations and access), the
analyst's report folder and the analytical store, and the settings of the web server.

DuckDB (one user on one machine) shares one connection, used one request at a time.
PostgreSQL (many users) gives each worker thread its own connection.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from commissioning.access.accounts import Accounts
from commissioning.operations.base import Operations, open_operations
from commissioning.store.records import RecordStore, open_records

T = TypeVar("T")
CACHE_SIZE = 2048
#: A ledger and record verification shown on a page is at most this old.
VERIFY_SECONDS = 60


@dataclass(frozen=True)
class OidcSettings:
    """An OpenID Connect identity provider (e.g. an NHS organisation's)."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid profile email"
    label: str = "Sign in with your organisation"


@dataclass(frozen=True)
class WebSettings:
    """How the workbench is served."""

    records: str
    ledger_key: bytes
    anchor: Path | None = None
    #: The folder the analyses were written to (needs, indicators, benchmarking): read
    #: by analysts of the commissioner whose population it is, never served to the public.
    reports: Path | None = None
    #: The organisation whose population the analytical store and the reports describe.
    population_org: str | None = None
    #: Where uploads are kept before loading (never inside a served folder).
    uploads: Path | None = None
    #: The DuckDB file of the analytical store that uploads load into (None: no uploads).
    analytical_store: Path | None = None
    #: The pseudonymisation key uploads are loaded with.
    pseudonymisation_key: bytes | None = None
    secure_cookies: bool = True
    oidc: OidcSettings | None = None
    demo_sign_ins: tuple[tuple[str, str, str], ...] = ()
    published: dict[str, object] = field(default_factory=dict)


class Services:
    """The operations context and the access services for the current thread."""

    def __init__(self, settings: WebSettings, store: RecordStore | None = None) -> None:
        self.settings = settings
        self._shared = store
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._analytical_lock = threading.Lock()
        if store is None and not settings.records.startswith(("postgresql://", "postgres://")):
            self._shared = open_records(settings.records)
        self.accounts  # noqa: B018 - create the tables at start, not on the first request

    def _store(self) -> RecordStore:
        if self._shared is not None:
            return self._shared
        store = getattr(self._local, "store", None)
        if store is None:
            store = open_records(self.settings.records)
            self._local.store = store
        return store

    @property
    def ops(self) -> Operations:
        """Contract operations over this thread's record store."""
        ops = getattr(self._local, "ops", None)
        if ops is None:
            with self._lock:
                ops = open_operations(self._store(), self.settings.ledger_key, self.settings.anchor)
            self._local.ops = ops
        return ops

    @property
    def accounts(self) -> Accounts:
        """Access services over this thread's record store."""
        accounts = getattr(self._local, "accounts", None)
        if accounts is None:
            with self._lock:
                accounts = Accounts(self._store())
            self._local.accounts = accounts
        return accounts

    @contextmanager
    def analytical(self) -> Iterator[Any]:
        """A DuckDB connection to the analytical store (with its tables), used by one
        request at a time: the record store's own connection when both are the same file,
        else a connection opened for the request."""
        from commissioning.store.duckdb_store import connect, ensure_tables

        path = self.settings.analytical_store
        if path is None:
            raise LookupError("no analytical store")
        store = self.ops.store
        same = store.dialect == "duckdb" and store.address.removeprefix("duckdb://") == str(path)
        if same:
            with store._lock:
                ensure_tables(store.conn)
                yield store.conn
            return
        with self._analytical_lock:
            con = connect(path)
            try:
                yield con
            finally:
                con.close()

    def records_version(self) -> tuple[Any, ...]:
        """What changes whenever anything a page shows changes: every service records an
        event in the audit log; links of parties to organisations are counted and dated,
        and locked accounts counted. One query."""
        row = self.ops.store.one(
            "SELECT (SELECT coalesce(max(event_id), 0) FROM contract_events), "
            "(SELECT count(*) FROM party_orgs), "
            "(SELECT coalesce(max(linked_at), '') FROM party_orgs), "
            "(SELECT count(*) FROM users WHERE locked_until IS NOT NULL)"
        )
        return tuple(row or ())

    def cached(self, key: tuple[Any, ...], make: Callable[[], T], verify: bool = False) -> T:
        """``make()``, kept until the records change (``verify``: and for at most
        :data:`VERIFY_SECONDS`, so a change made behind the application is seen)."""
        full = (*key, self.records_version())
        if verify:
            full = (*full, int(time.monotonic() // VERIFY_SECONDS))
        with self._cache_lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                value: T = self._cache[full]
                return value
        value = make()
        with self._cache_lock:
            self._cache[full] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return value
