"""The workbench's load: people signing in and reading their dashboards, contract pages
and the API (run by bench_web_load.py as its own locust process)."""

from __future__ import annotations

import os
import random
import re

import gevent
from locust import HttpUser, between, events, task

PASSWORD = "synthetic-demo-only"
CONTRACT = "frail-elderly-alliance"
PEOPLE = ["cat.manager", "fay.finance", "rob.reviewer", "pat.provider", "ann.analyst"]


#: Seconds in which everyone signs in (Argon2 is slow on purpose), before measuring starts.
WARM_UP = float(os.environ.get("WEB_LOAD_WARM_UP", "15"))


@events.init.add_listener
def measure_after_warm_up(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    """Forget the warm-up's figures: the steady state is what is measured."""

    def reset() -> None:
        gevent.sleep(WARM_UP)
        if environment.runner is not None:
            environment.runner.stats.reset_all()

    gevent.spawn(reset)


class Person(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.username = random.choice(PEOPLE)
        page = self.client.get("/sign-in", name="sign-in form")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        self.client.post(
            "/sign-in",
            data={"username": self.username, "password": PASSWORD, "csrf_token": token.group(1)},
            name="sign in",
        )

    @task(4)
    def dashboard(self) -> None:
        self.client.get("/", name="dashboard: home")

    @task(2)
    def contracts(self) -> None:
        if self.username == "ann.analyst":
            self.client.get("/analysis", name="dashboard: analysis")
        else:
            self.client.get("/contracts", name="dashboard: contracts")

    @task(2)
    def contract(self) -> None:
        if self.username != "ann.analyst":
            self.client.get(f"/contracts/{CONTRACT}", name="contract page")

    @task(2)
    def api(self) -> None:
        self.client.get("/api/v1/attention", name="api: attention")

    @task(1)
    def static(self) -> None:
        self.client.get("/static/site.css", name="baseline: static file")
