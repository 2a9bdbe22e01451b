"""Console pages over the ASGI app on seeded demo data: sign-in steps, CSRF, scope, redaction and the CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from console_world import (
    CASE_LINK,
    CSRF,
    Seeded,
    api,
    console_client,
    fresh,
    items,
    password_step,
    seed_demo,
    sign_in,
)
from fastapi.testclient import TestClient

from casevault.web import CONTENT_SECURITY_POLICY
from casevault.web.console import PAGE_SIZE
from casevault.web.rendering import Segment, segments


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed_demo(tmp_path_factory.mktemp("console-pages") / "demo", cases=30, customers=8)


@pytest.fixture(scope="module")
def app_client(seeded: Seeded) -> Iterator[TestClient]:
    with console_client(seeded) as client:
        yield client


def _sign_in(client: TestClient, seeded: Seeded, username: str, *, step_ahead: int = 0) -> None:
    # Each TOTP step signs in once per account; a second browser uses the next step (inside the ±1 window).
    landing = sign_in(client, seeded, username, step_ahead=step_ahead)
    # Everyone starts at the queue; security officers, who work no cases, at the audit trail.
    assert landing == ("/security/audit" if username == "sofia" else "/queue")


@pytest.fixture(scope="module")
def alice(app_client: TestClient, seeded: Seeded) -> TestClient:
    _sign_in(app_client, seeded, "alice")
    return app_client


def _numbers(client: TestClient, seeded: Seeded, username: str) -> set[str]:
    return {str(item["number"]) for item in items(client, seeded, username, "/cases?limit=100")}


def test_unsigned_visitor_is_sent_to_sign_in_and_every_page_has_the_csp(app_client: TestClient) -> None:
    client = fresh(app_client)
    for path in ("/", "/queue", "/cases/CV-2026-000001"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert client.get("/queue").headers["location"] == "/sign-in"
    form = client.get("/sign-in")
    assert form.status_code == 200
    assert form.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in form.text
    assert " style=" not in form.text
    assert client.get("/static/console.css").headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_sign_in_form_needs_its_own_csrf_token(app_client: TestClient, seeded: Seeded) -> None:
    client = fresh(app_client)
    client.get("/sign-in")
    response = client.post("/sign-in", data={"username": "bruno", "password": seeded.password, "csrf_token": "forged"})
    assert response.status_code == 400
    assert "casevault_session" not in response.cookies


def test_wrong_password_shows_the_form_again_without_a_session(app_client: TestClient) -> None:
    client = fresh(app_client)
    token = CSRF.search(client.get("/sign-in").text)
    assert token is not None
    response = client.post(
        "/sign-in", data={"username": "dana", "password": "not-the-password-at-all", "csrf_token": token[1]}
    )
    assert response.status_code == 401
    assert "Username or password is incorrect." in response.text
    assert "casevault_session" not in response.cookies


def test_a_password_only_session_sees_only_the_code_page(app_client: TestClient, seeded: Seeded) -> None:
    client = fresh(app_client)
    assert password_step(client, "bruno", seeded.password) == "/sign-in/code"
    case_of_bruno = sorted(_numbers(client, seeded, "bruno"))[0]
    for path in ("/queue", f"/cases/{case_of_bruno}", "/cases/CV-2026-999999"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in/code"
    code_page = client.get("/sign-in/code")
    assert code_page.status_code == 200
    assert "bruno" in code_page.text
    wrong = client.post("/sign-in/code", data={"code": "000000", "csrf_token": CSRF.findall(code_page.text)[0]})
    assert wrong.status_code == 401
    assert "not accepted" in wrong.text


def test_my_queue_lists_my_cases_and_the_team_queue_my_scope(alice: TestClient, seeded: Seeded) -> None:
    page = alice.get("/queue")
    assert page.status_code == 200
    mine = api(alice, seeded, "alice", "/cases?limit=100&assignee=me")["items"]
    assert isinstance(mine, list)
    assert set(CASE_LINK.findall(page.text)) == {item["number"] for item in mine}
    team = alice.get("/team")
    assert team.status_code == 200
    assert set(CASE_LINK.findall(team.text)) == _numbers(alice, seeded, "alice")
    closed = alice.get("/queue?status=closed")
    assert closed.status_code == 200
    badges = re.findall(r'class="badge badge-(\w+)"', closed.text)
    assert set(badges) <= {"closed"}
    bad = alice.get("/queue?status=exploded")
    assert bad.status_code == 422
    assert bad.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_case_page_shows_chips_and_masked_customer_never_tokens(alice: TestClient, seeded: Seeded) -> None:
    number = sorted(_numbers(alice, seeded, "alice"))[0]
    detail = api(alice, seeded, "alice", f"/cases/{number}")
    page = alice.get(f"/cases/{number}")
    assert page.status_code == 200
    description = str(detail["description"])
    tokens = re.findall(r"\[([A-Z_]+):[0-9a-f]+\]", description)
    assert tokens, "the demo description should carry redaction tokens"
    for entity_type in set(tokens):
        assert f"chip-{entity_type.lower().replace('_', '-')}" in page.text
    # Tokens are shown as chips, not as raw text (and clear values never reach the page at all).
    assert not re.search(r"\[[A-Z_]+:[0-9a-f]+\]", page.text)
    customer = detail["customer"]
    assert isinstance(customer, dict)
    assert customer["email"] in page.text
    assert "***" in customer["email"]


def _open_case(client: TestClient, seeded: Seeded, username: str) -> str:
    listed = items(client, seeded, username, "/cases?limit=100")
    numbers = sorted(str(item["number"]) for item in listed if item["status"] != "closed")
    assert numbers, f"the demo should give {username} a case that is not closed"
    return numbers[0]


def test_internal_note_needs_the_form_csrf_token_and_is_redacted(alice: TestClient, seeded: Seeded) -> None:
    number = _open_case(alice, seeded, "alice")
    before = api(alice, seeded, "alice", f"/cases/{number}/notes")["items"]
    assert isinstance(before, list)
    text = "Customer asked for replies at kim.lee@example.org only."

    forged = alice.post(f"/cases/{number}/notes", data={"body": text, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert api(alice, seeded, "alice", f"/cases/{number}/notes")["items"] == before
    empty = alice.post(
        f"/cases/{number}/notes",
        data={"body": "   ", "csrf_token": CSRF.findall(alice.get(f"/cases/{number}").text)[-1]},
    )
    assert empty.status_code == 400
    assert "Write something first." in empty.text

    token = CSRF.findall(alice.get(f"/cases/{number}").text)[-1]
    added = alice.post(f"/cases/{number}/notes", data={"body": text, "csrf_token": token})
    assert added.status_code == 303
    assert added.headers["location"] == f"/cases/{number}#notes"
    after = api(alice, seeded, "alice", f"/cases/{number}/notes")["items"]
    assert isinstance(after, list)
    assert len(after) == len(before) + 1
    assert after[-1]["visibility"] == "internal"
    assert "kim.lee@example.org" not in after[-1]["body"]
    page = alice.get(f"/cases/{number}")
    assert "kim.lee@example.org" not in page.text
    assert "Customer asked for replies at" in page.text


def test_public_reply_and_status_change_go_through_the_case_services(alice: TestClient, seeded: Seeded) -> None:
    number = _open_case(alice, seeded, "alice")
    page = alice.get(f"/cases/{number}")
    token = CSRF.findall(page.text)[-1]
    replied = alice.post(
        f"/cases/{number}/notes", data={"body": "We are on it.", "visibility": "public", "csrf_token": token}
    )
    assert replied.status_code == 303
    notes = api(alice, seeded, "alice", f"/cases/{number}/notes")["items"]
    assert isinstance(notes, list)
    assert (notes[-1]["visibility"], notes[-1]["body"]) == ("public", "We are on it.")
    assert 'class="note note-public"' in alice.get(f"/cases/{number}").text

    offered = re.findall(r'<option value="(\w+)">', page.text)
    assert offered
    assert "resolved" not in offered
    target = "pending" if "pending" in offered else offered[0]
    moved = alice.post(f"/cases/{number}/status", data={"status": target, "csrf_token": token})
    assert moved.status_code == 303
    assert api(alice, seeded, "alice", f"/cases/{number}")["status"] == target
    # The same move again is not a transition the case allows from its new status.
    again = alice.post(f"/cases/{number}/status", data={"status": target, "csrf_token": token})
    assert again.status_code == 409
    assert "That status change is not allowed." in again.text


def test_out_of_scope_missing_and_malformed_cases_look_the_same(alice: TestClient, seeded: Seeded) -> None:
    mine = _numbers(alice, seeded, "alice")
    theirs = sorted(_numbers(alice, seeded, "gus") - mine)
    assert theirs, "the demo should give gus a case alice cannot read"
    pages = [alice.get(f"/cases/{number}") for number in (theirs[0], "CV-2026-999999", "not-a-case")]
    for page in pages:
        assert page.status_code == 404
        assert "Nothing here" in page.text
        assert page.headers["x-request-id"] in page.text
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert alice.post(f"/cases/{theirs[0]}/notes", data={"body": "x", "csrf_token": "x"}).status_code == 403


def test_a_form_stuffed_with_fields_is_refused_not_crashed(alice: TestClient, seeded: Seeded) -> None:
    number = _open_case(alice, seeded, "alice")
    token = CSRF.findall(alice.get(f"/cases/{number}").text)[-1]
    stuffed = {f"field{index}": "x" for index in range(60)} | {"body": "hello", "csrf_token": token}
    response = alice.post(f"/cases/{number}/notes", data=stuffed)
    assert response.status_code == 403
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.fixture(scope="module")
def maria(app_client: TestClient, seeded: Seeded) -> TestClient:
    client = fresh(app_client)
    _sign_in(client, seeded, "maria")
    return client


def test_team_queue_pages_through_a_supervisors_cases(maria: TestClient, seeded: Seeded) -> None:
    client = maria
    expected = _numbers(client, seeded, "maria")
    assert len(expected) > PAGE_SIZE, "the demo should give the supervisor more than one page"
    first = client.get("/team")
    assert len(CASE_LINK.findall(first.text)) == PAGE_SIZE
    assert 'href="/team?page=2"' in first.text
    second = client.get("/team?page=2")
    assert 'href="/team?page=1"' in second.text
    assert set(CASE_LINK.findall(first.text)) | set(CASE_LINK.findall(second.text)) == expected


def test_a_security_officer_sees_no_case_in_the_queue(app_client: TestClient, seeded: Seeded) -> None:
    # Officers hold case:read for break-glass only: their own scope holds no case.
    client = fresh(app_client)
    _sign_in(client, seeded, "sofia")
    response = client.get("/queue")
    assert response.status_code == 200
    assert not CASE_LINK.findall(response.text)
    # The header still shows who is signed in, with a working sign-out form.
    assert "sofia" in response.text
    assert 'action="/sign-out"' in response.text


def test_sign_out_ends_the_session(app_client: TestClient, seeded: Seeded) -> None:
    client = fresh(app_client)
    _sign_in(client, seeded, "chen")
    queue = client.get("/queue")
    assert queue.status_code == 200
    response = client.post("/sign-out", data={"csrf_token": CSRF.findall(queue.text)[0]})
    assert response.status_code == 303
    assert client.get("/queue").headers["location"] == "/sign-in"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("plain words", [Segment("plain words")]),
        (
            "mail [EMAIL_ADDRESS:6bbca656e2cd] now",
            [
                Segment("mail "),
                Segment("6bbca6", entity_type="EMAIL_ADDRESS", token="[EMAIL_ADDRESS:6bbca656e2cd]"),
                Segment(" now"),
            ],
        ),
        ("[PERSON:a6e4]", [Segment("a6e4", entity_type="PERSON", token="[PERSON:a6e4]")]),
        # Not a token: lower-case type, or no hex digest; left as text.
        ("[email:abcd] [PERSON:zz]", [Segment("[email:abcd] [PERSON:zz]")]),
    ],
)
def test_redacted_text_splits_into_text_and_chips(text: str, expected: list[Segment]) -> None:
    assert segments(text) == expected


def test_my_sessions_lists_and_revokes_another_browser(app_client: TestClient, seeded: Seeded) -> None:
    laptop, other = fresh(app_client), fresh(app_client)
    _sign_in(laptop, seeded, "dana")
    _sign_in(other, seeded, "dana", step_ahead=1)
    page = laptop.get("/account/sessions")
    assert page.status_code == 200
    revoke_urls = re.findall(r'action="(/account/sessions/[0-9a-f-]+/revoke)"', page.text)
    assert len(revoke_urls) == 2
    assert page.text.count("this session") == 1
    token = CSRF.findall(page.text)[-1]
    # The row without the "this session" badge is the other browser's; revoke it.
    rows = page.text.split("<tr")[2:]
    other_url = next(url for url, row in zip(revoke_urls, rows, strict=True) if "this session" not in row)
    assert laptop.post(other_url, data={"csrf_token": token}).status_code == 303
    assert other.get("/queue").headers["location"] == "/sign-in"
    assert len(re.findall(r"/revoke\"", laptop.get("/account/sessions").text)) == 1

    own_url = next(url for url in revoke_urls if url != other_url)
    signed_out = laptop.post(own_url, data={"csrf_token": token})
    assert signed_out.headers["location"] == "/sign-in"
    assert laptop.get("/queue").headers["location"] == "/sign-in"
