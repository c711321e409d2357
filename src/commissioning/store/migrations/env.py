"""Alembic's environment for the record store: it migrates the connection it is handed
(``config.attributes["connection"]``, from :func:`commissioning.store.migrate.upgrade`),
in one transaction."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
