"""Recording a measure of effective commissioning through the workbench's form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_world import World, build_world, csrf_of

from commissioning.decide.records import stored_recorded

FORM = {
    "measure": "1",
    "status": "partly met",
    "value": "14 of 22 providers replied; 9 said local views were taken into account",
    "measured_on": "2025-03-31",
    "source": "Provider survey, March 2025",
    "note": "no survey of service users yet",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("measures"))


def _form(client: TestClient) -> tuple[str, str]:
    page = client.get("/portfolio/measures")
    assert page.status_code == 200
    return page.text, csrf_of(page.text)


def test_an_analyst_records_a_measure_and_the_portfolio_reads_it(world: World) -> None:
    client = world.client("ann.analyst")
    assert 'href="/portfolio/measures"' in client.get("/").text
    page, csrf = _form(client)
    assert '<option value="7">7. Clinical involvement with robust governance</option>' in page
    assert '<option value="2">' not in page  # computed by the workbench, not recorded
    response = client.post(
        "/portfolio/measures", data={**FORM, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/portfolio/measures?done=measure_recorded"
    after = client.get(response.headers["location"]).text
    assert "The measure was recorded" in after
    assert "<td>Provider survey, March 2025</td>" in after
    rows = world.store.query_dicts(
        "SELECT org_id, measure, status, measured_on, recorded_by FROM effectiveness_records"
    )
    assert rows[-1] == {
        "org_id": "northvale-icb",
        "measure": 1,
        "status": "partly met",
        "measured_on": "2025-03-31",
        "recorded_by": "Ann Analyst",
    }
    events = world.store.query("SELECT actor, action FROM decision_events")
    assert events[-1] == ("Ann Analyst", "record_measure")
    entry = stored_recorded(world.store, "northvale-icb").entries[1]
    assert entry.status == "partly met"
    assert entry.evidence.endswith("(Provider survey, March 2025); no survey of service users yet")


def test_a_provider_is_refused_and_nothing_is_written(world: World) -> None:
    before = world.store.query("SELECT count(*) FROM effectiveness_records")
    client = world.client("pat.provider")
    assert client.get("/portfolio/measures").status_code == 403
    csrf = csrf_of(client.get("/").text)
    response = client.post(
        "/portfolio/measures", data={**FORM, "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 403
    assert 'href="/portfolio/measures"' not in client.get("/").text  # no link in the menu
    assert world.store.query("SELECT count(*) FROM effectiveness_records") == before


def test_without_the_form_token_or_with_a_bad_entry_nothing_is_written(world: World) -> None:
    before = world.store.query("SELECT count(*) FROM effectiveness_records")
    client = world.client("cat.manager")
    _, csrf = _form(client)
    assert client.post("/portfolio/measures", data=FORM, follow_redirects=False).status_code in (
        400,
        403,
    )
    bad = client.post(
        "/portfolio/measures",
        data={**FORM, "measure": "2", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert bad.status_code == 400 and "measure: 2 is read from the workbench" in bad.text
    late = client.post(
        "/portfolio/measures",
        data={**FORM, "measured_on": "31/03/2025", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert late.status_code == 400 and "give the date as YYYY-MM-DD" in late.text
    assert world.store.query("SELECT count(*) FROM effectiveness_records") == before
