"""Organisations, people, sign-in with lock-out, sessions, system tokens, contract
parties and the access log — the services behind the workbench's front door.

Passwords are hashed with Argon2id (RFC 9106; argon2-cffi's defaults). Session and system
tokens are random 256-bit values; only their SHA-256 is stored, so a copy of the database
does not sign anyone in. After :data:`MAX_FAILED` failed sign-ins in a row an account is
locked for :data:`LOCK_MINUTES` minutes; the message never says whether the name exists.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from commissioning.access.policy import ORG_KINDS, ROLES, Principal
from commissioning.core.csvsafe import SafeWriter
from commissioning.store.migrate import upgrade
from commissioning.store.records import RecordStore

MAX_FAILED = 5
LOCK_MINUTES = 15
SESSION_IDLE_MINUTES = 30
SESSION_MAX_HOURS = 8
MIN_PASSWORD = 12

_HASHER = PasswordHasher()
#: Checked against when the name is unknown, so both paths take the same time.
_DUMMY_HASH = _HASHER.hash("no such user: a password nobody has")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


class AccessError(ValueError):
    """A refused access operation; the message says why (and never leaks a secret)."""


class SignInError(AccessError):
    """Sign-in refused. One message for a wrong name, a wrong password and a lock."""


Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def token_hash(token: str) -> str:
    """What is stored of a session or system token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """The access services over one record store."""

    def __init__(self, store: RecordStore, clock: Clock = _now) -> None:
        self.store = store
        self.clock = clock
        upgrade(store)

    # -- organisations -----------------------------------------------------------------------
    def add_organisation(
        self, org_id: str, name: str, kind: str, actor: str, places: Sequence[str] = ()
    ) -> None:
        """An ICB, a council or a provider; ``places`` are the place codes whose population
        a commissioner's analysts may see."""
        if not _NAME.match(org_id):
            raise AccessError(f"'{org_id}' is not an organisation id — use a-z, 0-9, . _ -")
        if kind not in ORG_KINDS:
            raise AccessError(f"unknown kind '{kind}' — use one of {', '.join(ORG_KINDS)}")
        if places and kind == "provider":
            raise AccessError("a provider commissions no population — give no places")
        with self.store.transaction() as tx:
            if tx.one("SELECT 1 FROM organisations WHERE org_id = ?", [org_id]):
                raise AccessError(f"organisation '{org_id}' exists already")
            tx.execute(
                "INSERT INTO organisations VALUES (?, ?, ?, ?, ?, ?)",
                [org_id, name, kind, ",".join(places), actor, _iso(self.clock())],
            )

    def organisation(self, org_id: str) -> dict[str, Any] | None:
        """One organisation, or None."""
        rows = self.store.query_dicts(
            "SELECT org_id, name, kind, places FROM organisations WHERE org_id = ?", [org_id]
        )
        return rows[0] if rows else None

    # -- people ------------------------------------------------------------------------------
    def add_user(
        self,
        username: str,
        display_name: str,
        org_id: str,
        role: str,
        actor: str,
        password: str | None = None,
        oidc_subject: str | None = None,
    ) -> Principal:
        """A person with one role in one organisation, signing in with a password, with an
        identity provider (``oidc_subject``), or both."""
        if not _NAME.match(username):
            raise AccessError(f"'{username}' is not a user name — use a-z, 0-9, . _ -")
        if role not in ROLES:
            raise AccessError(f"unknown role '{role}' — use one of {', '.join(ROLES)}")
        if not display_name.strip():
            raise AccessError("give the person's name")
        org = self.organisation(org_id)
        if org is None:
            raise AccessError(f"no organisation '{org_id}'")
        if role not in ORG_KINDS[org["kind"]]:
            raise AccessError(
                f"an organisation of kind '{org['kind']}' has no '{role}' role — its roles are "
                + ", ".join(sorted(ORG_KINDS[org["kind"]]))
            )
        if password is None and oidc_subject is None:
            raise AccessError("give a password or an identity-provider subject")
        hashed = None if password is None else _HASHER.hash(_check_password(password))
        with self.store.transaction() as tx:
            for column, label, value in (
                ("username", "user name", username),
                ("display_name", "name", display_name.strip()),
            ):
                if tx.one(f"SELECT 1 FROM users WHERE {column} = ?", [value]):
                    raise AccessError(f"a user with the {label} '{value}' exists already")
            user_id = tx.next_id("user_ids")
            tx.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, TRUE, 0, NULL, ?, ?)",
                [
                    user_id,
                    username,
                    display_name.strip(),
                    org_id,
                    role,
                    hashed,
                    oidc_subject,
                    actor,
                    _iso(self.clock()),
                ],
            )
        found = self.principal(user_id)
        assert found is not None
        return found

    def principal(self, user_id: int) -> Principal | None:
        """The active user ``user_id`` with their organisation, or None."""
        rows = self.store.query_dicts(
            "SELECT u.user_id, u.username, u.display_name, u.org_id, u.role, o.name, o.kind, "
            "o.places FROM users u JOIN organisations o ON o.org_id = u.org_id "
            "WHERE u.user_id = ? AND u.active",
            [user_id],
        )
        if not rows:
            return None
        r = rows[0]
        return Principal(
            user_id=int(r["user_id"]),
            username=r["username"],
            display_name=r["display_name"],
            org_id=r["org_id"],
            org_name=r["name"],
            org_kind=r["kind"],
            role=r["role"],
            places=tuple(p for p in str(r["places"]).split(",") if p),
        )

    def users(self, org_id: str) -> list[dict[str, Any]]:
        """The people of one organisation (no password hashes)."""
        return self.store.query_dicts(
            "SELECT user_id, username, display_name, role, active, failed_attempts, "
            "locked_until, oidc_subject IS NOT NULL AS single_sign_on FROM users "
            "WHERE org_id = ? ORDER BY username",
            [org_id],
        )

    def user_org(self, user_id: int) -> str | None:
        """The organisation of a user (active or not)."""
        row = self.store.one("SELECT org_id FROM users WHERE user_id = ?", [user_id])
        return None if row is None else str(row[0])

    def set_active(self, user_id: int, active: bool) -> None:
        """Switch an account off (its sessions and tokens end) or on again."""
        with self.store.transaction() as tx:
            tx.execute("UPDATE users SET active = ? WHERE user_id = ?", [active, user_id])
            if not active:
                tx.execute("DELETE FROM web_sessions WHERE user_id = ?", [user_id])
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                    [_iso(self.clock()), user_id],
                )

    def unlock(self, user_id: int) -> None:
        """Lift a lock-out."""
        self.store.execute(
            "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE user_id = ?",
            [user_id],
        )

    # -- sign-in -----------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> Principal:
        """The person whose password this is; :class:`SignInError` otherwise. Failures
        count towards the lock-out; a success clears the count."""
        refused = SignInError(
            "the name or password is not right, or the account is locked — try again, or "
            f"wait {LOCK_MINUTES} minutes after {MAX_FAILED} failed tries"
        )
        now = self.clock()
        with self.store.transaction() as tx:
            row = tx.one(
                "SELECT user_id, password_hash, failed_attempts, locked_until FROM users "
                "WHERE username = ? AND active" + tx.for_update(),
                [username],
            )
            if row is None or row[1] is None:
                _verify(_DUMMY_HASH, password)
                raise refused
            user_id, hashed, failed, locked_until = int(row[0]), str(row[1]), int(row[2]), row[3]
            if locked_until is not None and datetime.fromisoformat(locked_until) > now:
                raise refused
            if not _verify(hashed, password):
                failed += 1
                lock = _iso(now + timedelta(minutes=LOCK_MINUTES)) if failed >= MAX_FAILED else None
                tx.execute(
                    "UPDATE users SET failed_attempts = ?, locked_until = ? WHERE user_id = ?",
                    [0 if lock else failed, lock, user_id],
                )
                failure = refused
            else:
                failure = None
                tx.execute(
                    "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE user_id = ?",
                    [user_id],
                )
        if failure is not None:
            raise failure
        found = self.principal(user_id)
        assert found is not None
        return found

    def user_for_subject(self, subject: str) -> Principal | None:
        """The active person an identity provider's subject belongs to."""
        row = self.store.one("SELECT user_id FROM users WHERE oidc_subject = ?", [subject])
        return None if row is None else self.principal(int(row[0]))

    # -- sessions ----------------------------------------------------------------------------
    def start_session(self, user_id: int) -> tuple[str, str]:
        """A new session (always a new id: a session is never carried over from before
        sign-in); returns the cookie token and the session's CSRF token."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        self.store.execute(
            "INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, ?)",
            [
                token_hash(token),
                user_id,
                csrf,
                _iso(now),
                _iso(now + timedelta(hours=SESSION_MAX_HOURS)),
                _iso(now),
            ],
        )
        return token, csrf

    def session(self, token: str) -> tuple[Principal, str] | None:
        """The person and CSRF token of a live session; None if it has ended, expired
        or been idle too long."""
        digest = token_hash(token)
        row = self.store.one(
            "SELECT user_id, csrf_token, expires_at, last_seen FROM web_sessions "
            "WHERE token_hash = ?",
            [digest],
        )
        if row is None:
            return None
        now = self.clock()
        idle = now - datetime.fromisoformat(row[3]) > timedelta(minutes=SESSION_IDLE_MINUTES)
        if idle or datetime.fromisoformat(row[2]) <= now:
            self.store.execute("DELETE FROM web_sessions WHERE token_hash = ?", [digest])
            return None
        who = self.principal(int(row[0]))
        if who is None:
            return None
        if now - datetime.fromisoformat(row[3]) > timedelta(minutes=1):
            self.store.execute(
                "UPDATE web_sessions SET last_seen = ? WHERE token_hash = ?", [_iso(now), digest]
            )
        return who, str(row[1])

    def end_session(self, token: str) -> None:
        """Sign out."""
        self.store.execute("DELETE FROM web_sessions WHERE token_hash = ?", [token_hash(token)])

    # -- system tokens -----------------------------------------------------------------------
    def issue_token(self, user_id: int, name: str) -> str:
        """A token for a system acting as this person (shown once; only its hash is kept)."""
        token = "cmt_" + secrets.token_urlsafe(32)
        self.store.execute(
            "INSERT INTO api_tokens VALUES (?, ?, ?, ?, NULL)",
            [token_hash(token), user_id, name, _iso(self.clock())],
        )
        return token

    def token_principal(self, token: str) -> Principal | None:
        """The person a live system token acts for."""
        row = self.store.one(
            "SELECT user_id FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            [token_hash(token)],
        )
        return None if row is None else self.principal(int(row[0]))

    def revoke_token(self, token: str) -> None:
        """End a system token."""
        self.store.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ?",
            [_iso(self.clock()), token_hash(token)],
        )

    # -- contract parties --------------------------------------------------------------------
    def link_party(self, contract_id: str, party_id: str, org_id: str, actor: str) -> None:
        """Say which organisation is party ``party_id`` of a contract."""
        if self.organisation(org_id) is None:
            raise AccessError(f"no organisation '{org_id}'")
        with self.store.transaction() as tx:
            tx.execute(
                "DELETE FROM party_orgs WHERE contract_id = ? AND party_id = ?",
                [contract_id, party_id],
            )
            tx.execute(
                "INSERT INTO party_orgs VALUES (?, ?, ?, ?, ?)",
                [contract_id, party_id, org_id, actor, _iso(self.clock())],
            )

    def parties_held(self, contract_id: str, org_id: str) -> set[str]:
        """The parties of a contract that an organisation holds."""
        return {
            str(r[0])
            for r in self.store.query(
                "SELECT party_id FROM party_orgs WHERE contract_id = ? AND org_id = ?",
                [contract_id, org_id],
            )
        }

    def contracts_of(self, org_id: str) -> list[str]:
        """The contracts an organisation is party to."""
        return [
            str(r[0])
            for r in self.store.query(
                "SELECT DISTINCT contract_id FROM party_orgs WHERE org_id = ? ORDER BY 1",
                [org_id],
            )
        ]

    # -- the access log ----------------------------------------------------------------------
    def log(
        self,
        who: Principal | None,
        method: str,
        path: str,
        category: str,
        status: int,
        detail: str = "",
        username: str | None = None,
    ) -> None:
        """Record one sign-in, read of person-level or financial data, or action."""
        with self.store.transaction() as tx:
            log_id = tx.next_id("access_log_ids")
            tx.execute(
                "INSERT INTO access_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    log_id,
                    _iso(self.clock()),
                    who.username if who else (username or "(public)"),
                    who.org_id if who else "",
                    who.role if who else "",
                    method,
                    path[:500],
                    category,
                    status,
                    detail[:1000],
                ],
            )

    def search_log(
        self,
        org_id: str,
        username: str = "",
        category: str = "",
        since: str = "",
        until: str = "",
        text: str = "",
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """The access log of one organisation, newest first, narrowed by person, kind,
        dates (ISO, inclusive) and a piece of the path or detail. Sign-in attempts under
        a name that is no one's are kept with no organisation and are searched by name."""
        sql = (
            "SELECT log_id, logged_at AS at, username, org_id, role, method, path, category, "
            "status, detail "
            "FROM access_log WHERE (org_id = ? OR (org_id = '' AND username IN "
            "(SELECT username FROM users WHERE org_id = ?)))"
        )
        params: list[Any] = [org_id, org_id]
        for clause, value in (
            (" AND username = ?", username),
            (" AND category = ?", category),
            (" AND logged_at >= ?", since),
            (" AND logged_at <= ?", until + "T99" if until and "T" not in until else until),
        ):
            if value:
                sql += clause
                params.append(value)
        if text:
            sql += " AND (path LIKE ? OR detail LIKE ?)"
            params += [f"%{text}%", f"%{text}%"]
        sql += " ORDER BY log_id DESC LIMIT ?"
        params.append(int(limit))
        return self.store.query_dicts(sql, params)


def log_csv(rows: list[dict[str, Any]]) -> str:
    """The access log as CSV (text cells that a spreadsheet would run as a formula are
    prefixed with an apostrophe)."""
    out = io.StringIO()
    columns = ["log_id", "at", "username", "org_id", "role", "method", "path", "category"]
    columns += ["status", "detail"]
    writer = SafeWriter(out)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([r[c] for c in columns])
    return out.getvalue()


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"a password has at least {MIN_PASSWORD} characters")
    return password


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
