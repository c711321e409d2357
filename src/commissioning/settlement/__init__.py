"""Secure stage: settlement in exact money, risk and gain share, the append-only ledger and
statements (C16)."""
