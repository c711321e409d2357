"""The contract's life through the workbench: a variation registered from a file and
signed by each side for the party it holds, and a dispute resolved with its correction."""

from __future__ import annotations

from pathlib import Path

from web_world import ICB_CONTRACT, ICB_PROVIDER, build_world, csrf_of

from commissioning.contracts.load import example_text
from commissioning.operations import register


def test_a_variation_is_registered_and_each_side_signs_for_its_own_party(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    text = example_text("frail_elderly_alliance").replace(
        'version = "1.0"', 'version = "1.1"\neffective_from = 2025-10-01'
    )
    manager = world.client("cat.manager")
    csrf = csrf_of(manager.get(f"/contracts/{ICB_CONTRACT}").text)
    response = manager.post(
        f"/contracts/{ICB_CONTRACT}/versions",
        data={"csrf_token": csrf},
        files={"file": ("frail-1.1.toml", text.encode(), "text/plain")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[-400:]
    page = manager.get(f"/contracts/{ICB_CONTRACT}").text
    assert "Sign version 1.1 for place-ccg" in page
    assert f"Sign version 1.1 for {ICB_PROVIDER}" not in page  # not the commissioner's to sign
    # Another contract's file is refused with the reason.
    other = example_text("mk_substance_misuse")
    refused = manager.post(
        f"/api/v1/contracts/{ICB_CONTRACT}/versions",
        json={"text": other},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 400 and "different contract" in refused.json()["detail"]
    # The commissioner signs for its party; the provider for its own, and only its own.
    assert (
        manager.post(
            f"/contracts/{ICB_CONTRACT}/versions/1.1/sign",
            data={"party_id": "place-ccg", "csrf_token": csrf},
            follow_redirects=False,
        ).status_code
        == 303
    )
    provider = world.client("pat.provider")
    pcsrf = csrf_of(provider.get(f"/contracts/{ICB_CONTRACT}").text)
    wrong = provider.post(
        f"/api/v1/contracts/{ICB_CONTRACT}/versions/1.1/sign",
        json={"party_id": "acute-trust"},
        headers={"X-CSRF-Token": pcsrf},
    )
    assert wrong.status_code == 403
    signed = provider.post(
        f"/api/v1/contracts/{ICB_CONTRACT}/versions/1.1/sign",
        json={"party_id": ICB_PROVIDER},
        headers={"X-CSRF-Token": pcsrf},
    )
    assert signed.status_code == 200
    version = register.find_version(world.ops, ICB_CONTRACT, "1.1")
    assert set(version.signatures) == {"place-ccg", ICB_PROVIDER}
    assert version.signatures[ICB_PROVIDER][0] == "Pat Provider"
    assert not version.signed  # the other partners have still to sign


def test_a_dispute_is_resolved_by_the_commissioners_finance_approver(tmp_path: Path) -> None:
    world = build_world(tmp_path)
    approver = world.client("fay.finance")
    csrf = csrf_of(approver.get("/").text)
    before = len(world.ops.ledger.lines(contract_id=ICB_CONTRACT))
    detail = approver.get(f"/api/v1/contracts/{ICB_CONTRACT}").json()
    (dispute,) = detail["disputes"]
    line = world.ops.ledger.get(dispute["line_id"])
    assert line is not None
    net = world.ops.ledger.net_of_line(line)
    too_much = approver.post(
        f"/api/v1/contracts/{ICB_CONTRACT}/disputes/{dispute['dispute_id']}/resolve",
        json={"agreed_gbp": f"{(net - 101) / 100:.2f}", "resolution": "more than disputed"},
        headers={"X-CSRF-Token": csrf},
    )
    assert too_much.status_code == 409 and "must be between" in too_much.json()["detail"]
    done = approver.post(
        f"/api/v1/contracts/{ICB_CONTRACT}/disputes/{dispute['dispute_id']}/resolve",
        json={"agreed_gbp": f"{(net - 100) / 100:.2f}", "resolution": "agreed in full"},
        headers={"X-CSRF-Token": csrf},
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    after = world.ops.ledger.lines(contract_id=ICB_CONTRACT)
    assert len(after) == before + 1 and after[-1].corrects == line.line_id
    assert after[-1].amount_pence == 100
    assert world.ops.ledger.verify().ok
