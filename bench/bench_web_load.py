"""Load on the web workbench: 50 people at once on dashboards, contract pages and the API
for 60 seconds, then many simultaneous approvals of one run.

The server is started as its own process (``commissioning serve --demo``) on the demo
store (``--store``; by default a small demo population is made first), and locust runs as
another process (importing it beside the data stack can deadlock). Prints the requests,
failures, median and 95th-percentile response time of each kind of request, and the ratio
of the dashboards' 95th percentile to that of the static stylesheet under the same load
(the baseline: the server's own overhead). Goal: no failures, dashboard pages under
300 ms at the 95th percentile. Then it races several approvers to approve and post one
run through the API and checks the run was posted once.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PASSWORD = "synthetic-demo-only"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_store(people: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="web-load-"))
    print(f"making a demo of {people:,} people in {folder} ...", flush=True)
    subprocess.run(
        [
            str(BIN / "commissioning"),
            "demo",
            "--out",
            str(folder),
            "--people",
            str(people),
            "--years",
            "2",
            "--no-serve",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return folder / "restricted" / "commissioning.duckdb"


def start_server(store: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            str(BIN / "commissioning"),
            "serve",
            "--demo",
            "--store",
            str(store),
            "--reports",
            str(store.parent.parent),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        cwd=store.parent,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not start")


WARM_UP = 15


def run_locust(url: str, users: int, seconds: int, out: Path) -> list[dict[str, str]]:
    """``users`` people sign in over the warm-up, then ``seconds`` are measured."""
    subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 5)),
            "-t",
            f"{seconds + WARM_UP}s",
            "--host",
            url,
            "--csv",
            str(out),
            "--only-summary",
        ],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "WEB_LOAD_WARM_UP": str(WARM_UP)},
    )
    with open(f"{out}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def signed_in(url: str, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=60)
    page = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post(
        "/sign-in", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    home = client.get("/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf is not None
    return client, csrf.group(1)


def approval_race(url: str, approvers: int) -> tuple[int, int, str]:
    """Draft and review a run, then race approvers to approve and post it."""
    contract = "frail-elderly-alliance"
    provider, pcsrf = signed_in(url, "pat.provider")
    detail = provider.get(f"/api/v1/contracts/{contract}").json()
    for value in detail["values"]:
        if value["status"] == "submitted":
            provider.post(
                f"/api/v1/contracts/{contract}/values/{value['measurement_id']}/certify",
                headers={"X-CSRF-Token": pcsrf},
            )
    manager, mcsrf = signed_in(url, "cat.manager")
    periods = detail["periods"]
    done = {r["period"] for r in detail["runs"] if r["status"] in ("posted", "draft", "reviewed")}
    period = next(p for p in periods if p not in done)
    run = manager.post(
        f"/api/v1/contracts/{contract}/runs",
        json={"period": period},
        headers={"X-CSRF-Token": mcsrf},
    ).json()
    reviewer, rcsrf = signed_in(url, "rob.reviewer")
    step = f"/api/v1/contracts/{contract}/runs/{run['run_id']}/"
    reviewer.post(step + "review", headers={"X-CSRF-Token": rcsrf})
    people = [signed_in(url, "fay.finance") for _ in range(approvers)]

    def go(who: tuple[httpx.Client, str]) -> tuple[int, int]:
        client, csrf = who
        a = client.post(step + "approve", headers={"X-CSRF-Token": csrf}).status_code
        p = client.post(step + "post", headers={"X-CSRF-Token": csrf}).status_code
        return a, p

    with ThreadPoolExecutor(max_workers=approvers) as pool:
        results = list(pool.map(go, people))
    final = manager.get(f"/api/v1/contracts/{contract}").json()
    posted_lines = [ln["line_id"] for ln in final["posted_lines"]]
    assert len(posted_lines) == len(set(posted_lines)), "a line was posted twice"
    return (
        sum(a == 200 for a, _ in results),
        sum(p == 200 for _, p in results),
        next(r["status"] for r in final["runs"] if r["run_id"] == run["run_id"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, help="a demo store (default: make one)")
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    args, _ = parser.parse_known_args()
    store = args.store.resolve() if args.store else make_store(args.people)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(store, port)
    try:
        out = Path(tempfile.mkdtemp(prefix="locust-")) / "load"
        rows = run_locust(url, args.users, args.seconds, out)
        print(
            f"\n{args.users} people, measured for {args.seconds} s after a {WARM_UP} s warm-up "
            f"in which they sign in, on {url} (store {store})"
        )
        print(f"{'request':<28}{'count':>8}{'failures':>10}{'median ms':>11}{'p95 ms':>8}")
        p95 = {}
        failures = 0
        for r in rows:
            name = r["Name"]
            if r["95%"] == "N/A":  # nothing of this kind after the warm-up (sign-in)
                continue
            failures += int(r["Failure Count"]) if name != "Aggregated" else 0
            p95[name] = float(r["95%"])
            print(
                f"{name:<28}{r['Request Count']:>8}{r['Failure Count']:>10}"
                f"{r['Median Response Time']:>11}{r['95%']:>8}"
            )
        dashboards = max((v for k, v in p95.items() if k.startswith("dashboard")), default=0.0)
        baseline = p95.get("baseline: static file", float("nan"))
        print(
            f"\ndashboards p95 {dashboards:.0f} ms; static file p95 {baseline:.0f} ms; "
            f"ratio {dashboards / baseline:.1f}x"
        )
        goal = failures == 0 and dashboards < 300
        print(f"goal (no failures, dashboards under 300 ms at p95): {'met' if goal else 'NOT met'}")
        approved, posted, status = approval_race(url, approvers=10)
        print(
            f"approval race, 10 approvers at once: {approved} approved, {posted} posted, "
            f"run {status}; no line posted twice"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("COMMISSIONING_QUIET", "1")
    main()
