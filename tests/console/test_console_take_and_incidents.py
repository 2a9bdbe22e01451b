"""The console's third slice over the ASGI app: agents take and release work, the team queue filters by queue, and
the security officer runs a blast radius, records it as an incident and exports the notifications after a
step-up. Every effect is read back through the API or the audit trail.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from console_world import (
    CASE_LINK,
    Seeded,
    api,
    code_for,
    console_client,
    csrf,
    fresh,
    items,
    seed_demo,
    sign_in,
)
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_demo(tmp_path_factory.mktemp("console-take") / "demo", cases=40, customers=10)


@pytest.fixture(scope="module")
def app_client(seeded: Seeded) -> Iterator[TestClient]:
    with console_client(seeded) as client:
        yield client


_SIGNED_IN: dict[str, TestClient] = {}


def _signed_in(app_client: TestClient, seeded: Seeded, username: str) -> TestClient:
    """One signed-in browser per person: a TOTP step signs an account in only once."""
    if username not in _SIGNED_IN:
        client = fresh(app_client)
        sign_in(client, seeded, username)
        _SIGNED_IN[username] = client
    return _SIGNED_IN[username]


def _unassigned_of(client: TestClient, seeded: Seeded, username: str) -> list[str]:
    listed = items(client, seeded, username, "/cases?limit=100&assignee=none")
    return sorted(str(i["number"]) for i in listed if i["status"] not in ("closed",))


def _taker(app_client: TestClient, seeded: Seeded) -> tuple[str, str]:
    """An agent with an unassigned, open case in one of its queues, and that case."""
    for name in ("dana", "bruno", "emeka", "gus", "jo"):
        found = _unassigned_of(app_client, seeded, name)
        if found:
            return name, found[0]
    pytest.fail("the demo should leave an unassigned case in some agent's queue")


# ------------------------------------------------------------------------------------------------ take / release


def test_an_agent_takes_a_case_from_the_team_queue_and_releases_it_from_the_case(
    app_client: TestClient, seeded: Seeded
) -> None:
    name, number = _taker(app_client, seeded)
    agent = _signed_in(app_client, seeded, name)
    team = agent.get("/team", params={"assignee": "none"})
    assert team.status_code == 200
    assert f'action="/cases/{number}/take"' in team.text
    assert f'aria-label="Take {number}"' in team.text
    # Only unassigned cases get a Take button; none is offered for a case someone else holds.
    takes = set(re.findall(r'action="/cases/(CV-\d{4}-\d+)/take"', team.text))
    assert takes <= set(_unassigned_of(agent, seeded, name))

    back = "/team?assignee=none"
    taken = agent.post(f"/cases/{number}/take", data={"csrf_token": csrf(team.text), "next": back})
    assert taken.status_code == 303
    assert taken.headers["location"] == back
    assert api(agent, seeded, name, f"/cases/{number}")["assignee"] == name
    assert number in CASE_LINK.findall(agent.get("/queue").text)

    page = agent.get(f"/cases/{number}")
    assert 'id="release-case"' in page.text
    assert 'id="take-case"' not in page.text
    again = agent.post(f"/cases/{number}/take", data={"csrf_token": csrf(page.text)})
    assert again.status_code == 409
    assert "The case is already assigned." in again.text

    released = agent.post(f"/cases/{number}/release", data={"csrf_token": csrf(page.text)})
    assert released.status_code == 303
    assert released.headers["location"] == f"/cases/{number}"
    assert api(agent, seeded, name, f"/cases/{number}")["assignee"] is None
    assert 'id="take-case"' in agent.get(f"/cases/{number}").text
    # An off-site `next` is ignored: the console only ever sends the browser to its own pages.
    retaken = agent.post(f"/cases/{number}/take", data={"csrf_token": csrf(page.text), "next": "https://evil.example/"})
    assert retaken.headers["location"] == f"/cases/{number}"

    trail = api(agent, seeded, "sofia", f"/audit/events?action=case.assigned&actor={name}")["events"]
    assert isinstance(trail, list)
    assert [e["outcome"] for e in trail if e["target_id"] == number][:3] == ["allowed", "allowed", "allowed"]


def test_take_needs_the_form_token_and_a_security_officer_cannot_take(app_client: TestClient, seeded: Seeded) -> None:
    name, number = _taker(app_client, seeded)
    agent = _signed_in(app_client, seeded, name)
    forged = agent.post(f"/cases/{number}/take", data={"csrf_token": "not-the-token"})
    assert forged.status_code == 403
    sofia = _signed_in(app_client, seeded, "sofia")
    page = sofia.get("/security/alerts")
    refused = sofia.post(f"/cases/{number}/take", data={"csrf_token": csrf(page.text)})
    assert refused.status_code == 403
    assert "request-id" in refused.text


def test_team_queue_filters_by_one_of_my_queues(app_client: TestClient, seeded: Seeded) -> None:
    maria = _signed_in(app_client, seeded, "maria")
    page = maria.get("/team")
    queues = re.findall(r'<option value="([a-z-]+)" >', page.text.split('id="queue"')[1].split("</select>")[0])
    assert len(queues) >= 2, "maria should work more than one queue in the demo"
    chosen = queues[0]
    filtered = maria.get("/team", params={"queue": chosen})
    assert filtered.status_code == 200
    assert f'<option value="{chosen}" selected>' in filtered.text
    expected = {str(i["number"]) for i in items(maria, seeded, "maria", f"/cases?limit=100&queue={chosen}")}
    shown = set(CASE_LINK.findall(filtered.text))
    assert shown
    assert shown <= expected
    cells = re.findall(r"</span></td>\s*<td>([a-z-]+)</td>", filtered.text)
    assert set(cells) == {chosen}
    assert maria.get("/team", params={"queue": "no-such-queue"}).status_code == 422


# ------------------------------------------------------------------------------------------------ incidents


def test_blast_radius_page_records_an_incident_and_exports_notifications_after_a_step_up(
    app_client: TestClient, seeded: Seeded
) -> None:
    name, number = _taker(app_client, seeded)
    agent = _signed_in(app_client, seeded, name)
    assert agent.get(f"/cases/{number}").status_code == 200  # at least one customer opened by this agent

    sofia = _signed_in(app_client, seeded, "sofia")
    assert 'href="/security/incidents"' in sofia.get("/security/alerts").text
    report = sofia.get("/security/incidents", params={"account": name, "model": "account"})
    assert report.status_code == 200, report.text
    assert f"Blast radius of {name}" in report.text
    assert 'class="bar"' in report.text
    assert " style=" not in report.text
    levels = dict(re.findall(r'<li class="level-(\w+)"><strong>(\d+)</strong>', report.text))
    assert set(levels) == {"revealed", "written", "opened", "listed"}
    affected = len(re.findall(r'<span class="badge exposure-', report.text))
    assert affected >= 1
    assert sum(int(count) for count in levels.values()) == affected

    unknown = sofia.get("/security/incidents", params={"account": "nobody-here"})
    assert unknown.status_code == 404
    assert "No staff account has that username." in unknown.text

    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', report.text))
    short = sofia.post("/security/incidents", data={**hidden, "reason": "too short"})
    assert short.status_code == 422
    recorded = sofia.post("/security/incidents", data={**hidden, "reason": "Agent laptop reported stolen today"})
    assert recorded.status_code == 303
    incident_id = recorded.headers["location"].rsplit("/", 1)[1]
    stored = api(sofia, seeded, "sofia", f"/incidents/{incident_id}")
    assert stored["account"] == name
    assert stored["customers_affected"] == affected

    page = sofia.get(f"/security/incidents/{incident_id}")
    assert page.status_code == 200
    assert 'id="export-code"' in page.text  # the sign-in's own factor is no step-up
    without = sofia.post(f"/security/incidents/{incident_id}/notifications", data={"csrf_token": csrf(page.text)})
    assert without.status_code == 401
    assert "text/csv" not in without.headers["content-type"]
    download = sofia.post(
        f"/security/incidents/{incident_id}/notifications",
        data={"csrf_token": csrf(page.text), "code": code_for(seeded, "sofia", step_ahead=1)},
    )
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    assert download.headers["cache-control"] == "no-store"
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == affected
    exported = api(sofia, seeded, "sofia", "/audit/events?action=export.created&actor=sofia")["events"]
    assert isinstance(exported, list)
    assert any(e["target_id"] == incident_id and e["outcome"] == "allowed" for e in exported)

    # An agent has no incident pages at all.
    assert agent.get("/security/incidents").status_code == 403
    assert agent.get(f"/security/incidents/{incident_id}").status_code == 403
