"""The workbench on PostgreSQL with a connection per worker thread, served by uvicorn:
the pages work, and many simultaneous approvals and postings of one run post it once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from web_world import (
    ICB_CONTRACT,
    ICB_PROVIDER,
    build_world,
    csrf_of,
    fresh_database,
    served,
)

from commissioning.operations import runs
from commissioning.store.records import open_records
from commissioning.web.demo import DEMO_PASSWORD

pytestmark = pytest.mark.postgres


def _signed_in(url: str, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303
    return client, csrf_of(client.get("/").text)


def test_simultaneous_approvals_and_postings_post_a_run_once(
    postgres_dsn: str, tmp_path: Path
) -> None:
    dsn = fresh_database(postgres_dsn)
    world = build_world(tmp_path, store=open_records(dsn), share=False)
    with served(world.app) as url:
        manager, _ = _signed_in(url, "cat.manager")
        assert manager.get(f"/contracts/{ICB_CONTRACT}").status_code == 200
        provider, _ = _signed_in(url, "pat.provider")
        statement = provider.get(f"/api/v1/contracts/{ICB_CONTRACT}/statements/{ICB_PROVIDER}")
        assert statement.status_code == 200 and statement.json()["verified"]
        reviewer, csrf = _signed_in(url, "rob.reviewer")
        step = f"/api/v1/contracts/{ICB_CONTRACT}/runs/2/"
        assert reviewer.post(step + "review", headers={"X-CSRF-Token": csrf}).status_code == 200
        before = len(world.ops.ledger.lines(contract_id=ICB_CONTRACT))

        approvers = [_signed_in(url, "fay.finance") for _ in range(6)]

        def approve_and_post(who: tuple[httpx.Client, str]) -> tuple[int, int]:
            client, token = who
            headers = {"X-CSRF-Token": token}
            approved = client.post(step + "approve", headers=headers).status_code
            posted = client.post(step + "post", headers=headers).status_code
            return approved, posted

        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(approve_and_post, approvers))
    assert sorted(a for a, _ in results).count(200) == 1, results
    assert sorted(p for _, p in results).count(200) == 1, results
    assert all(code in (200, 409) for pair in results for code in pair), results
    run = runs.get_run(world.ops, 2)
    assert run.status == "posted"
    after = world.ops.ledger.lines(contract_id=ICB_CONTRACT)
    assert len(after) - before == len(run.lines)
    assert len({ln.line_id for ln in after}) == len(after)
    assert world.ops.ledger.verify().ok
