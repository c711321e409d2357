"""Concurrent settlement on PostgreSQL: several processes settle the same contract at once.

Each process drafts, reviews, approves and posts the same periods in its own order of
attempts, retrying when it finds its run stale or withdrawn. Whatever the interleaving,
the ledger must hold each quarter's capitation exactly once, its sequence numbers must run
1..n without a gap, and it must verify.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ops_cases import KEY, contract_data, operations, register_signed

from commissioning.operations import runs
from commissioning.operations.base import OperationError, open_operations
from commissioning.store.records import open_records

PEOPLE = ("Cat Manager", "Rob Reviewer", "Fay Finance")


def _worker(dsn: str, periods: list[tuple[int, int]], start_at: float) -> int:
    """Settle ``periods`` (in order), retrying; returns how many runs it posted. Every
    worker starts at ``start_at`` so that they contend."""
    ops = open_operations(open_records(dsn), KEY)
    time.sleep(max(0.0, start_at - time.time()))
    posted = 0
    for year, quarter in periods:
        for _ in range(60):
            try:
                run = runs.draft_run(ops, "home-first", year, quarter, PEOPLE[0])
                runs.review_run(ops, run.run_id, PEOPLE[1])
                runs.approve_run(ops, run.run_id, PEOPLE[2])
                runs.post_run(ops, run.run_id, PEOPLE[2])
                posted += 1
                break
            except OperationError:
                continue
    ops.store.close()
    return posted


def _fresh_database(postgres_dsn: str) -> str:
    import psycopg

    name = "c" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return postgres_dsn.rsplit("/", 1)[0] + "/" + name


@pytest.mark.postgres
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    workers=st.integers(min_value=2, max_value=4), quarters=st.integers(min_value=1, max_value=4)
)
def test_concurrent_runs_never_post_twice_nor_leave_a_gap(
    postgres_dsn: str, workers: int, quarters: int
) -> None:
    dsn = _fresh_database(postgres_dsn)
    ops = operations(open_records(dsn))
    register_signed(ops, contract_data())
    periods = [(1, q) for q in range(1, quarters + 1)]
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        start_at = time.time() + 4.0
        results = pool.starmap(_worker, [(dsn, periods, start_at) for _ in range(workers)])
    assert sum(results) >= quarters  # every period was posted at least once
    statuses = [r[0] for r in ops.store.query("SELECT status FROM settlement_runs")]
    assert statuses.count("posted") == sum(results)
    lines = ops.ledger.lines(contract_id="home-first")
    # Each quarter's £250,000 capitation exactly once, whatever the interleaving.
    assert sorted((ln.quarter, ln.amount_pence) for ln in lines) == [
        (q, 25_000_000) for q in range(1, quarters + 1)
    ]
    seqs = [int(r[0]) for r in ops.store.query("SELECT seq FROM settlement_ledger ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert ops.ledger.verify().ok
    ops.store.close()
