"""Who may do what (C21): organisations, people and their roles, sign-in, sessions, system
tokens, which organisation holds which party of a contract, and the access log.

Everything here lives in the record store beside the contract register (DuckDB for one
user, PostgreSQL for many), created and upgraded by Alembic migrations
(:mod:`commissioning.store.migrate`). The rules of who may see and do what are one table,
:data:`commissioning.access.policy.PERMISSIONS`, read by the web workbench on every
request. See docs/workbench.md.
"""
