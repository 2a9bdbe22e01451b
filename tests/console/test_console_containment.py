"""The incidents page beyond the blast radius: contain an account from the browser after a fresh second factor,
see every recorded incident listed, and check a recorded one again. Effects are read back through the API and
through the contained person's own browser."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from console_world import Seeded, api, code_for, console_client, csrf, fresh, seed_demo, sign_in
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_demo(tmp_path_factory.mktemp("console-contain") / "demo", cases=20, customers=6)


@pytest.fixture(scope="module")
def app_client(seeded: Seeded) -> Iterator[TestClient]:
    with console_client(seeded) as client:
        yield client


def _contain(client: TestClient, page: str, **form: str) -> tuple[int, str, str]:
    response = client.post("/security/incidents/contain", data={"csrf_token": csrf(page), **form})
    return response.status_code, response.text, response.headers.get("location", "")


def test_contain_from_the_console_list_and_check_again(app_client: TestClient, seeded: Seeded) -> None:
    omar = fresh(app_client)
    sign_in(omar, seeded, "omar")
    assert omar.get("/queue").status_code == 200

    sofia = fresh(app_client)
    sign_in(sofia, seeded, "sofia")
    page = sofia.get("/security/incidents")
    assert page.status_code == 200
    assert "No incident recorded yet." in page.text
    assert 'id="contain-code"' in page.text  # the sign-in's own factor is no step-up

    reason = "Phishing reports name this agent"
    status, text, _ = _contain(sofia, page.text, account="omar", reason="short")
    assert status == 422
    assert "Give a reason of at least" in text
    status, _, _ = _contain(sofia, page.text, account="omar", reason="x" * 201)
    assert status == 400  # longer than an incident's reason may be: refused as a bad form
    status, text, _ = _contain(sofia, page.text, account="omar", reason=reason)
    assert status == 401
    assert "Confirm with the code from your authenticator app to contain an account." in text
    assert omar.get("/queue").status_code == 200  # nothing happened yet

    status, text, location = _contain(
        sofia, page.text, account="omar", reason=reason, code=code_for(seeded, "sofia", step_ahead=1)
    )
    assert status == 303, text
    incident_id = location.rsplit("/", 1)[1]
    assert location == f"/security/incidents/{incident_id}"

    # omar's browser session is over, and the account was suspended (read back through the API).
    assert omar.get("/queue").status_code in (303, 401)
    stored = api(sofia, seeded, "sofia", f"/incidents/{incident_id}")
    assert (stored["kind"], stored["account"]) == ("containment", "omar")
    assert stored["contained_at"] is not None
    suspended = api(sofia, seeded, "sofia", "/audit/events?action=staff.suspended&actor=sofia")["events"]
    assert isinstance(suspended, list)
    assert [event["target_id"] for event in suspended] == [stored["staff_id"]]

    # Now stepped up: the form asks for no code, and refusals say why.
    page = sofia.get("/security/incidents")
    assert 'id="contain-code"' not in page.text
    status, text, _ = _contain(sofia, page.text, account="nobody-here", reason=reason)
    assert status == 404
    assert "No staff account has that username." in text
    status, text, _ = _contain(sofia, page.text, account="sofia", reason=reason)
    assert status == 422
    assert "You cannot contain your own account" in text

    # The recorded incidents are listed, newest first, with a link to each.
    rows = re.findall(r'<a href="/security/incidents/([0-9a-f-]{36})">', page.text)
    assert rows == [incident_id]
    assert '<span class="badge incident-containment">containment</span>' in page.text

    # Checking it again recomputes the report at the recorded chain head: still exact.
    shown = sofia.get(f"/security/incidents/{incident_id}")
    checked = sofia.post(f"/security/incidents/{incident_id}/verify", data={"csrf_token": csrf(shown.text)})
    assert checked.status_code == 200
    assert "Still exact" in checked.text
    assert "Does not match" not in checked.text
    verified = api(sofia, seeded, "sofia", "/audit/events?action=audit.verified&actor=sofia")["events"]
    assert isinstance(verified, list)
    assert any(event["target_id"] == incident_id for event in verified)

    # Without the form token nothing happens; agents have no such page.
    assert sofia.post(f"/security/incidents/{incident_id}/verify", data={}).status_code == 403
    agent = fresh(app_client)
    sign_in(agent, seeded, "alice")
    token = csrf(agent.get("/queue").text)
    assert agent.post("/security/incidents/contain", data={"csrf_token": token}).status_code == 403
