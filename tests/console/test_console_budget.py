"""The read budget in the console, and the security officer handling the alerts it raises.

An app with a low soft limit (2 new customers an hour, 3 unanswered step-ups contain): past the limit the case
page asks for a code in place and opens the case once given; an agent that keeps not answering is contained and
told so plainly. The security officer then acknowledges and closes those alerts with notes, from the page and
over the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from console_world import BASE_URL, Seeded, api, code_for, csrf, fresh, items, seed_demo, sign_in
from fastapi.testclient import TestClient

from casevault.app import create_app
from casevault.config import ReadBudgetLimits, Settings

LOW = ReadBudgetLimits(opened_soft_hour=2, soft_refusals_to_contain=3)
ALERT_FORM = re.compile(r'action="/security/alerts/([0-9a-f-]{36})"')


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_demo(tmp_path_factory.mktemp("console-budget") / "demo", cases=40, customers=10)


@pytest.fixture(scope="module")
def app_client(seeded: Seeded) -> Iterator[TestClient]:
    settings = Settings(data_dir=seeded.data_dir, demo=True, cookie_secure=False, read_budgets={"agent": LOW})
    with TestClient(create_app(settings), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


def _cases_of_distinct_customers(client: TestClient, seeded: Seeded, username: str) -> list[str]:
    """One case number per customer the agent can reach (listed over its token: a list charges no opening)."""
    seen: dict[str, str] = {}
    for item in items(client, seeded, username, "/cases?limit=100"):
        seen.setdefault(str(item["customer"]), str(item["number"]))
    return sorted(seen.values())


def _agents_with_three_customers(client: TestClient, seeded: Seeded, count: int) -> list[tuple[str, list[str]]]:
    found = []
    for name in ("alice", "bruno", "chen", "dana", "emeka", "farah", "gus", "hana", "ivan", "jo"):
        cases = _cases_of_distinct_customers(client, seeded, name)
        if len(cases) >= 3:
            found.append((name, cases[:3]))
        if len(found) == count:
            return found
    pytest.fail(f"the demo should give {count} agents cases of three different customers")


@pytest.fixture(scope="module")
def agents(app_client: TestClient, seeded: Seeded) -> list[tuple[str, list[str]]]:
    return _agents_with_three_customers(app_client, seeded, 3)


def test_past_the_soft_limit_the_case_asks_for_a_code_in_place_then_opens(
    app_client: TestClient, seeded: Seeded, agents: list[tuple[str, list[str]]]
) -> None:
    name, (first, second, third) = agents[0]
    agent = fresh(app_client)
    sign_in(agent, seeded, name)
    assert agent.get(f"/cases/{first}").status_code == 200
    assert agent.get(f"/cases/{second}").status_code == 200

    asked = agent.get(f"/cases/{third}")
    assert asked.status_code == 401
    assert f"Confirm it is you to open {third}" in asked.text
    assert 'id="open-code"' in asked.text
    assert f'action="/cases/{third}/open"' in asked.text
    assert 'class="case-number"' not in asked.text  # nothing of the case is shown yet

    wrong = agent.post(f"/cases/{third}/open", data={"csrf_token": csrf(asked.text), "code": "000000"})
    assert wrong.status_code == 401
    assert "That code was not accepted" in wrong.text
    opened = agent.post(
        f"/cases/{third}/open", data={"csrf_token": csrf(asked.text), "code": code_for(seeded, name, step_ahead=1)}
    )
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/cases/{third}"
    assert "set-cookie" in opened.headers  # the step-up rotated the session
    page = agent.get(f"/cases/{third}")
    assert page.status_code == 200
    assert third in page.text

    trail = api(agent, seeded, "sofia", f"/audit/events?actor={name}&action=step_up.required")["events"]
    assert isinstance(trail, list)
    assert [e["outcome"] for e in trail] == ["denied"]
    assert api(agent, seeded, "sofia", f"/audit/events?actor={name}&action=step_up.succeeded")["events"]


def test_an_agent_that_never_answers_is_contained_and_told_so(
    app_client: TestClient, seeded: Seeded, agents: list[tuple[str, list[str]]]
) -> None:
    name, (first, second, third) = agents[1]
    agent = fresh(app_client)
    sign_in(agent, seeded, name)
    assert agent.get(f"/cases/{first}").status_code == 200
    assert agent.get(f"/cases/{second}").status_code == 200
    assert agent.get(f"/cases/{third}").status_code == 401
    assert agent.get(f"/cases/{third}").status_code == 401
    contained = agent.get(f"/cases/{third}")
    assert contained.status_code == 429
    assert "Your sessions were ended" in contained.text
    assert "security team was alerted" in contained.text
    assert contained.headers["cache-control"] == "no-store"
    assert third not in re.sub(r"<title>.*?</title>", "", contained.text)
    # The session is gone: the next page sends the browser to sign in again.
    assert agent.get("/queue").headers["location"] == "/sign-in"
    suspended = api(agent, seeded, "sofia", "/audit/events?action=staff.suspended")["events"]
    assert isinstance(suspended, list)
    assert suspended


def test_the_security_officer_acknowledges_and_closes_the_budget_alerts(
    app_client: TestClient, seeded: Seeded, agents: list[tuple[str, list[str]]]
) -> None:
    # Its own alerts, whatever ran before on this worker: a third agent reads two customers, then is refused a
    # third three times (medium alert at the first refusal, high at containment).
    name, (first, second, third) = agents[2]
    agent = fresh(app_client)
    sign_in(agent, seeded, name)
    for number, status in ((first, 200), (second, 200), (third, 401), (third, 401), (third, 429)):
        assert agent.get(f"/cases/{number}").status_code == status

    sofia = fresh(app_client)
    sign_in(sofia, seeded, "sofia")
    page = sofia.get("/security/alerts")
    assert page.status_code == 200
    assert "budget.exceeded" in page.text
    open_alerts = ALERT_FORM.findall(page.text)
    assert len(open_alerts) >= 2
    alert_id = open_alerts[0]
    token = csrf(page.text)

    short = sofia.post(f"/security/alerts/{alert_id}", data={"csrf_token": token, "handling": "close", "note": "ok"})
    assert short.status_code == 400
    assert "at least 15 characters" in short.text
    note = "Called the agent; mail from tess.vale@example.net explained the burst"
    acknowledged = sofia.post(
        f"/security/alerts/{alert_id}", data={"csrf_token": token, "handling": "acknowledge", "note": note}
    )
    assert acknowledged.status_code == 303
    assert acknowledged.headers["location"] == "/security/alerts?handled=acknowledged"
    shown = sofia.get("/security/alerts?handled=acknowledged")
    assert "Alert acknowledged." in shown.text
    assert "tess.vale@example.net" not in shown.text  # the note is stored redacted
    assert "Called the agent; mail from &lt;EMAIL_ADDRESS&gt; explained the burst" in shown.text

    closed = sofia.post(
        f"/security/alerts/{alert_id}",
        data={"csrf_token": token, "handling": "close", "note": "Burst was the month-end billing run"},
    )
    assert closed.status_code == 303
    twice = sofia.post(
        f"/security/alerts/{alert_id}",
        data={"csrf_token": token, "handling": "acknowledge", "note": "Burst was the month-end billing run"},
    )
    assert twice.status_code == 409
    assert alert_id not in ALERT_FORM.findall(twice.text)

    events = api(sofia, seeded, "sofia", "/audit/events?actor=sofia&action=alert.acknowledged")["events"]
    assert isinstance(events, list)
    assert [(e["target_id"], e["outcome"]) for e in events] == [(alert_id, "allowed")]
    assert "tess.vale" not in str(events)
    assert events[0]["detail"]["note_length"] == len(note)
    closes = api(sofia, seeded, "sofia", "/audit/events?actor=sofia&action=alert.closed")["events"]
    assert isinstance(closes, list)
    assert [e["detail"]["from"] for e in closes if e["outcome"] == "allowed"] == ["acknowledged"]

    # The same over the API, with the security officer's token; an agent's token is refused.
    other = open_alerts[1]
    body = {"note": "Checked the shift rota: expected"}
    headers = {"Authorization": f"Bearer {seeded.tokens['sofia']}"}
    done = app_client.post(f"/api/v1/alerts/{other}/close", json=body, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "closed"
    assert done.json()["note"] == body["note"]
    assert app_client.post(f"/api/v1/alerts/{other}/acknowledge", json=body, headers=headers).status_code == 409
    missing = app_client.post("/api/v1/alerts/00000000-0000-4000-8000-000000000000/close", json=body, headers=headers)
    assert missing.status_code == 404
    agent_token = {"Authorization": f"Bearer {seeded.tokens['omar']}"}
    assert app_client.post(f"/api/v1/alerts/{other}/close", json=body, headers=agent_token).status_code == 403
