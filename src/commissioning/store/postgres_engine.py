"""PostgreSQL as an engine for the analyses: Ibis's PostgreSQL backend, made to accept
what the portable queries write.

The queries count with a boolean cast to a number (``(age >= 65).cast("int64").sum()``),
which DuckDB and Spark accept. PostgreSQL casts a boolean to ``integer`` only, not to
``bigint`` or ``double precision``, so here such a cast goes through ``integer`` first.
The queries stay engine-neutral; the engine's quirk is dealt with once, at the edge.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

import ibis.expr.datatypes as dt
from ibis.backends.postgres import Backend
from ibis.backends.sql.compilers.postgres import PostgresCompiler


class _Compiler(PostgresCompiler):
    def visit_Cast(self, op: Any, *, arg: Any, to: dt.DataType) -> Any:
        if op.arg.dtype.is_boolean() and to.is_numeric() and not to.is_int32():
            arg = self.cast(arg, dt.int32)
        return super().visit_Cast(op, arg=arg, to=to)

    visit_TryCast = visit_Cast


class PortablePostgres(Backend):
    """Ibis's PostgreSQL backend with the cast above."""

    compiler = _Compiler()


def connect_postgres(url: str) -> PortablePostgres:
    """Connect to ``postgresql://user:password@host:port/database`` (or ``postgres://``)."""
    parts = urlparse(url)
    kwargs: dict[str, Any] = {"database": parts.path.lstrip("/") or None}
    if parts.username:
        kwargs["user"] = unquote(parts.username)
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    if parts.hostname:
        kwargs["host"] = parts.hostname
    if parts.port:
        kwargs["port"] = parts.port
    backend: PortablePostgres = PortablePostgres().connect(**kwargs)
    return backend
