"""The console's second slice over the ASGI app: case work, the reveal dialog with step-up, JIT access and
break-glass, the security officer's pages and first-sign-in enrolment. Every check reads the effect back through
the API (or the audit trail), never through the page alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from console_world import (
    BASE_URL,
    CASE_LINK,
    Seeded,
    add_newcomer,
    api,
    code_for,
    csrf,
    fresh,
    items,
    password_step,
    seed_demo,
    sign_in,
)
from fastapi.testclient import TestClient

from casevault.app import create_app
from casevault.config import Settings
from casevault.web import CONTENT_SECURITY_POLICY

NEW_PASSWORD = "plum-orbit-canal-42"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    data_dir = tmp_path_factory.mktemp("console-work") / "demo"
    world = seed_demo(data_dir, cases=40, customers=10)
    add_newcomer(data_dir, NEW_PASSWORD)
    return world


@pytest.fixture(scope="module")
def app_client(seeded: Seeded) -> Iterator[TestClient]:
    settings = Settings(data_dir=seeded.data_dir, demo=True, cookie_secure=False)
    with TestClient(create_app(settings), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


_SIGNED_IN: dict[tuple[int, str], TestClient] = {}


def _signed_in(app_client: TestClient, seeded: Seeded, username: str) -> TestClient:
    """One signed-in browser per person and app: a TOTP step signs an account in only once."""
    key = (id(app_client), username)
    if key not in _SIGNED_IN:
        client = fresh(app_client)
        sign_in(client, seeded, username)
        _SIGNED_IN[key] = client
    return _SIGNED_IN[key]


def _workable(client: TestClient, seeded: Seeded, username: str) -> str:
    numbers = sorted(
        str(i["number"]) for i in items(client, seeded, username, "/cases?limit=100") if i["status"] != "closed"
    )
    assert numbers, f"the demo should give {username} a case that is not closed"
    return numbers[0]


def _outside(client: TestClient, seeded: Seeded, username: str, owner: str) -> str:
    """A case `owner` can read and `username` cannot."""
    mine = {str(i["number"]) for i in items(client, seeded, username, "/cases?limit=100")}
    theirs = sorted(
        str(i["number"]) for i in items(client, seeded, owner, "/cases?limit=100") if i["number"] not in mine
    )
    assert theirs, f"the demo should give {owner} a case {username} cannot read"
    return theirs[0]


def _events(client: TestClient, seeded: Seeded, query: str) -> list[dict[str, object]]:
    found = api(client, seeded, "sofia", f"/audit/events?{query}")["events"]
    assert isinstance(found, list)
    return found


# ------------------------------------------------------------------------------------------------ case work


def test_team_queue_filters_by_priority_and_searches_redacted_text_only(app_client: TestClient, seeded: Seeded) -> None:
    maria = _signed_in(app_client, seeded, "maria")
    urgent = maria.get("/team?priority=high")
    assert urgent.status_code == 200
    expected = {str(i["number"]) for i in items(maria, seeded, "maria", "/cases?limit=100") if i["priority"] == "high"}
    shown = set(CASE_LINK.findall(urgent.text))
    assert shown == set(sorted(expected, reverse=True)[:20]) or shown <= expected
    assert set(re.findall(r'class="priority priority-(\w+)"', urgent.text)) <= {"high"}

    # A word of one case's redacted subject finds it; the clear value behind a token finds nothing.
    summary = items(maria, seeded, "maria", "/cases?limit=100")[0]
    word = max(re.sub(r"\[[A-Z_]+:[0-9a-f]+\]", " ", str(summary["subject"])).split(), key=len)
    found = maria.get("/team", params={"q": word})
    assert found.status_code == 200
    assert summary["number"] in CASE_LINK.findall(found.text)
    assert "matching your search" in found.text


def test_supervisor_assigns_to_a_member_and_to_me_then_resolves(app_client: TestClient, seeded: Seeded) -> None:
    maria = _signed_in(app_client, seeded, "maria")
    billing = [
        i for i in items(maria, seeded, "maria", "/cases?limit=100&queue=billing") if i["status"] in ("new", "open")
    ]
    assert billing, "the demo should have an open billing case"
    number = str(billing[0]["number"])
    page = maria.get(f"/cases/{number}")
    assert page.status_code == 200
    assert '<option value="alice"' in page.text
    token = csrf(page.text)

    assert maria.post(f"/cases/{number}/assign", data={"assignee": "alice", "csrf_token": token}).status_code == 303
    assert api(maria, seeded, "maria", f"/cases/{number}")["assignee"] == "alice"
    # Someone outside the case's queue is refused with the form shown again, and nothing changes.
    outsider = maria.post(f"/cases/{number}/assign", data={"assignee": "mateo", "csrf_token": token})
    assert outsider.status_code == 400
    assert "member of the case" in outsider.text
    assert maria.post(f"/cases/{number}/assign", data={"assignee": "@me", "csrf_token": token}).status_code == 303
    assert api(maria, seeded, "maria", f"/cases/{number}")["assignee"] == "maria"

    empty = maria.post(f"/cases/{number}/resolve", data={"resolution": "  ", "csrf_token": token})
    assert empty.status_code == 400
    assert "Say how the case was resolved." in empty.text
    text = "Refund issued; confirmed by mail to pat.quinn@example.org."
    assert maria.post(f"/cases/{number}/resolve", data={"resolution": text, "csrf_token": token}).status_code == 303
    detail = api(maria, seeded, "maria", f"/cases/{number}")
    assert detail["status"] == "resolved"
    assert "pat.quinn@example.org" not in str(detail["resolution"])
    assert "Refund issued" in str(detail["resolution"])
    resolved = maria.get(f"/cases/{number}")
    assert "pat.quinn@example.org" not in resolved.text
    assert 'action="/cases/' + number + '/resolve"' not in resolved.text


def test_an_agent_gets_no_assign_form_and_cannot_assign(app_client: TestClient, seeded: Seeded) -> None:
    chen = _signed_in(app_client, seeded, "chen")
    number = _workable(chen, seeded, "chen")
    page = chen.get(f"/cases/{number}")
    assert 'action="/cases/' + number + '/assign"' not in page.text
    refused = chen.post(f"/cases/{number}/assign", data={"assignee": "@me", "csrf_token": csrf(page.text)})
    assert refused.status_code == 403


# ------------------------------------------------------------------------------------------------ reveal


def test_reveal_asks_for_a_reason_and_a_step_up_then_shows_the_value_and_audits_it(
    app_client: TestClient, seeded: Seeded
) -> None:
    hana = _signed_in(app_client, seeded, "hana")
    number = _workable(hana, seeded, "hana")
    email = "tess.vale@example.net"
    page = hana.get(f"/cases/{number}")
    added = hana.post(
        f"/cases/{number}/notes", data={"body": f"Reach me at {email} please.", "csrf_token": csrf(page.text)}
    )
    assert added.status_code == 303
    body = str(items(hana, seeded, "hana", f"/cases/{number}/notes")[-1]["body"])
    token = re.search(r"\[EMAIL_ADDRESS:[0-9a-f]+\]", body)
    assert token is not None, body

    # The chip links to the dialog; the sign-in's own second factor is no step-up, so the dialog asks for a code.
    case_page = hana.get(f"/cases/{number}")
    assert f"/cases/{number}/reveal?token=" in case_page.text
    dialog = hana.get(f"/cases/{number}/reveal", params={"token": token.group(0)})
    assert dialog.status_code == 200
    assert 'id="reveal-code"' in dialog.text
    assert "20 reveals left this hour" in dialog.text
    form = {"token": token.group(0), "csrf_token": csrf(dialog.text)}

    short = hana.post(f"/cases/{number}/reveal", data={**form, "reason": "because"})
    assert short.status_code == 400
    assert "at least 15 characters" in short.text
    reason = "Customer asked us to confirm the address on file"
    asked = hana.post(f"/cases/{number}/reveal", data={**form, "reason": reason})
    assert asked.status_code == 200
    assert 'id="reveal-code"' in asked.text
    assert email not in asked.text
    assert reason in asked.text  # kept, so the agent only adds the code
    wrong = hana.post(f"/cases/{number}/reveal", data={**form, "reason": reason, "code": "000000"})
    assert wrong.status_code == 400
    assert email not in wrong.text

    shown = hana.post(
        f"/cases/{number}/reveal", data={**form, "reason": reason, "code": code_for(seeded, "hana", step_ahead=1)}
    )
    assert shown.status_code == 200, shown.text
    assert f'id="revealed-value" aria-label="Revealed email address">{email}</output>' in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert "19 reveals left this hour" in shown.text
    assert "set-cookie" in shown.headers  # the step-up rotated the session

    # Within the step-up window the next reveal needs no code (the rotated session's CSRF token is on the page).
    again = hana.get(f"/cases/{number}/reveal", params={"token": token.group(0)})
    assert 'id="reveal-code"' not in again.text
    second = hana.post(
        f"/cases/{number}/reveal", data={"token": token.group(0), "reason": reason, "csrf_token": csrf(again.text)}
    )
    assert second.status_code == 200
    assert "18 reveals left this hour" in second.text

    revealed = _events(hana, seeded, "action=pii.revealed&actor=hana")
    allowed = [e for e in revealed if e["outcome"] == "allowed" and e["target_id"] == number]
    assert len(allowed) == 2
    assert allowed[0]["fields"] == [token.group(0)]
    assert email not in str(revealed)
    assert reason not in str(revealed)
    assert _events(hana, seeded, "action=step_up.succeeded&actor=hana")


def test_reveal_of_a_customer_field_and_of_another_queue_case(app_client: TestClient, seeded: Seeded) -> None:
    farah = _signed_in(app_client, seeded, "farah")
    number = _workable(farah, seeded, "farah")
    page = farah.get(f"/cases/{number}")
    assert "?field=customer.email" in page.text
    foreign = _outside(farah, seeded, "farah", "nils")
    outside = farah.get(f"/cases/{foreign}/reveal", params={"field": "customer.email"})
    assert outside.status_code == 404
    assert "Nothing here" in outside.text
    bogus = farah.get(f"/cases/{number}/reveal", params={"field": "customer.password"})
    assert bogus.status_code == 422


# ------------------------------------------------------------------------------------------------ access


def test_jit_request_is_approved_by_the_queue_supervisor_then_the_case_opens(
    app_client: TestClient, seeded: Seeded
) -> None:
    ivan = _signed_in(app_client, seeded, "ivan")
    wanted = _outside(ivan, seeded, "ivan", "nils")
    refused = ivan.get(f"/cases/{wanted}")
    assert refused.status_code == 404
    assert f'href="/access?case={wanted}"' in refused.text
    form = ivan.get(f"/access?case={wanted}")
    assert f'value="{wanted}"' in form.text
    short = ivan.post("/access/requests", data={"case": wanted, "reason": "pls", "csrf_token": csrf(form.text)})
    assert short.status_code == 400
    reason = "Customer escalated by phone, shipping queue is unstaffed tonight"
    sent = ivan.post("/access/requests", data={"case": wanted, "reason": reason, "csrf_token": csrf(form.text)})
    assert sent.status_code == 303
    mine = ivan.get("/access")
    assert "badge-grant-pending" in mine.text
    assert ivan.get("/access/inbox").status_code == 403

    # Maria supervises other queues: the request is not hers to decide.
    maria = _signed_in(app_client, seeded, "maria")
    assert wanted not in maria.get("/access/inbox").text

    nils = _signed_in(app_client, seeded, "nils")
    inbox = nils.get("/access/inbox")
    assert inbox.status_code == 200
    assert f"Approve {wanted}" in inbox.text
    assert 'name="code"' in inbox.text
    grant_id = re.search(r'action="/access/inbox/([0-9a-f-]{36})/approve"', inbox.text)
    assert grant_id is not None
    without_code = nils.post(f"/access/inbox/{grant_id[1]}/approve", data={"csrf_token": csrf(inbox.text)})
    assert without_code.status_code == 401
    assert ivan.get(f"/cases/{wanted}").status_code == 404
    approved = nils.post(
        f"/access/inbox/{grant_id[1]}/approve",
        data={"csrf_token": csrf(inbox.text), "code": code_for(seeded, "nils", step_ahead=1)},
    )
    assert approved.status_code == 303
    grants = items(nils, seeded, "ivan", "/access/grants")
    assert [(g["case"], g["state"], g["approved_by"]) for g in grants] == [(wanted, "approved", "nils")]

    opened = ivan.get(f"/cases/{wanted}")
    assert opened.status_code == 200
    assert wanted in opened.text


def test_break_glass_needs_a_code_shows_a_banner_everywhere_and_waits_for_review(
    app_client: TestClient, seeded: Seeded
) -> None:
    lena = _signed_in(app_client, seeded, "lena")
    wanted = _outside(lena, seeded, "lena", "maria")
    page = lena.get("/access")
    assert 'id="glass-code"' in page.text
    reason = "Customer reports fraud in progress, supervisor unreachable"
    no_code = lena.post("/access/break-glass", data={"case": wanted, "reason": reason, "csrf_token": csrf(page.text)})
    assert no_code.status_code == 401
    assert "Break-glass is active" not in lena.get("/access").text
    broke = lena.post(
        "/access/break-glass",
        data={
            "case": wanted,
            "reason": reason,
            "code": code_for(seeded, "lena", step_ahead=1),
            "csrf_token": csrf(page.text),
        },
    )
    assert broke.status_code == 303
    assert broke.headers["location"] == f"/cases/{wanted}"
    for path in (f"/cases/{wanted}", "/queue", "/account/sessions", "/cases/CV-2026-999999"):
        shown = lena.get(path)
        assert "Break-glass is active" in shown.text, path
        assert f'href="/cases/{wanted}"' in shown.text

    sofia = _signed_in(app_client, seeded, "sofia")
    alerts = sofia.get("/security/alerts")
    assert alerts.status_code == 200
    assert "break_glass.started" in alerts.text
    review = re.search(r'action="/security/break-glass/([0-9a-f-]{36})/review"', alerts.text)
    assert review is not None
    done = sofia.post(
        f"/security/break-glass/{review[1]}/review",
        data={"note": "Checked with the customer: fraud was real", "csrf_token": csrf(alerts.text)},
    )
    assert done.status_code == 303
    rows = api(sofia, seeded, "sofia", "/access/break-glass")["items"]
    assert isinstance(rows, list)
    assert [(r["case"], r["reviewed_by"]) for r in rows] == [(wanted, "sofia")]


# ------------------------------------------------------------------------------------------------ security officer


def test_audit_trail_filters_and_shows_the_chain_status(app_client: TestClient, seeded: Seeded) -> None:
    sofia = _signed_in(app_client, seeded, "sofia")
    trail = sofia.get("/security/audit")
    assert trail.status_code == 200
    assert "Chain verified" in trail.text
    assert trail.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    signins = sofia.get("/security/audit", params={"action": "signin.succeeded", "actor": "sofia"})
    actions = set(re.findall(r'<code class="action">([a-z_.]+)</code>', signins.text))
    assert actions == {"signin.succeeded"}
    later = sofia.get("/security/audit", params={"since": "2999-01-01T00:00"})
    assert "No events match." in later.text
    bad = sofia.get("/security/audit", params={"since": "yesterday"})
    assert bad.status_code == 422
    # The queries are themselves audited.
    assert _events(sofia, seeded, "action=audit.queried&actor=sofia")

    alice = _signed_in(app_client, seeded, "alice")
    assert alice.get("/security/audit").status_code == 403
    assert alice.get("/security/charts").status_code == 403


def test_charts_are_inline_svg_without_style_attributes(app_client: TestClient, seeded: Seeded) -> None:
    agent = next(name for name in ("omar", "nina", "mateo") if items(app_client, seeded, name, "/cases?limit=5"))
    reader = _signed_in(app_client, seeded, agent)
    opened = reader.get(f"/cases/{items(reader, seeded, agent, '/cases?limit=5')[0]['number']}")
    assert opened.status_code == 200
    sofia = _signed_in(app_client, seeded, "sofia")
    charts = sofia.get("/security/charts", params={"agent": agent, "window": "24h"})
    assert charts.status_code == 200
    assert '<svg class="chart chart-line"' in charts.text
    assert "<polyline" in charts.text
    assert 'class="bar"' in charts.text
    assert f"Customers exposed by {agent}" in charts.text
    assert " style=" not in charts.text
    assert "<script>" not in charts.text
    blast = _events(sofia, seeded, "action=audit.queried&actor=sofia")
    assert any(e["target_type"] == "blast_radius" for e in blast)
    unknown = sofia.get("/security/charts", params={"agent": "nobody-here"})
    assert "No staff account has that username." in unknown.text


# ------------------------------------------------------------------------------------------------ enrolment


def test_first_sign_in_enrols_totp_with_a_qr_code_and_shows_recovery_codes(
    app_client: TestClient, seeded: Seeded
) -> None:
    client = fresh(app_client)
    assert password_step(client, "newbie", NEW_PASSWORD) == "/sign-in/enrol"
    assert client.get("/queue").headers["location"] == "/sign-in/code"
    assert client.get("/sign-in/code").headers["location"] == "/sign-in/enrol"
    page = client.get("/sign-in/enrol")
    assert page.status_code == 200
    started = client.post("/sign-in/enrol/totp", data={"csrf_token": csrf(page.text)})
    assert started.status_code == 200
    assert 'src="data:image/svg+xml' in started.text
    assert started.headers["cache-control"] == "no-store"
    secret = re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', started.text)
    assert secret is not None
    done = client.post("/sign-in/code", data={"code": pyotp.TOTP(secret[1]).now(), "csrf_token": csrf(started.text)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([^<]+)</code></li>", done.text)
    assert len(codes) >= 8
    assert client.get("/queue").status_code == 200
