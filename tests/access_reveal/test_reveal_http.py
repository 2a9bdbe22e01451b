"""POST /api/v1/cases/{number}/reveal over the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from audit_rows import events, exposures, whole_trail_text
from reveal_world import CONTACT, CUSTOMER, IN_TEXT_EMAIL, REASON, TOKEN, World

from casevault.db import Database


def _token_in_description(world: World) -> str:
    alice = world.person("alice")
    detail = alice.get(f"/cases/{world.cases['billing']}")
    assert detail.status_code == 200, detail.text
    assert IN_TEXT_EMAIL not in detail.text  # masked by default
    match = TOKEN.search(detail.json()["description"])
    assert match is not None
    return match.group(0)


def test_reveal_a_token_returns_the_exact_value_and_audits_without_it(
    world: World, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    token = _token_in_description(world)
    alice = world.person("alice")
    number = world.cases["billing"]

    with caplog.at_level(logging.DEBUG):
        response = alice.post(f"/cases/{number}/reveal", json={"token": token, "reason": REASON})

    assert response.status_code == 200, response.text
    assert response.json() == {"case": number, "entity_type": "EMAIL_ADDRESS", "target": token, "value": IN_TEXT_EMAIL}
    assert response.headers["cache-control"] == "no-store"
    [event] = events(db, "pii.revealed", "allowed")
    assert event.actor_label == "alice"
    assert event.target_id == number
    assert event.fields == [token]
    assert event.detail["entity_type"] == "EMAIL_ADDRESS"
    assert event.detail["token"] == token
    assert event.detail["reason_length"] == len(REASON)
    assert event.detail["break_glass"] is False
    assert exposures(db, event) == ["revealed"]
    trail = whole_trail_text(db)
    assert IN_TEXT_EMAIL not in trail
    assert REASON not in trail  # the reason's length, never its text
    assert IN_TEXT_EMAIL not in caplog.text
    assert REASON not in caplog.text


STRUCTURED = [
    ("customer.email", CUSTOMER["email"], "EMAIL_ADDRESS"),
    ("customer.phone", CUSTOMER["phone"], "PHONE_NUMBER"),
    ("customer.name", CUSTOMER["name"], "PERSON"),
    ("contact:{contact}.email", CONTACT["email"], "EMAIL_ADDRESS"),
    ("contact:{contact}.phone", CONTACT["phone"], "PHONE_NUMBER"),
]


def test_reveal_structured_fields(world: World, db: Database) -> None:
    supervisor = world.person("sam")  # supervises the billing queue
    for field, expected, entity in STRUCTURED:
        target = field.format(contact=world.contact_id)
        response = supervisor.post(f"/cases/{world.cases['billing']}/reveal", json={"field": target, "reason": REASON})
        assert response.status_code == 200, response.text
        assert (response.json()["value"], response.json()["entity_type"]) == (expected, entity)
        assert events(db, "pii.revealed", "allowed")[-1].detail["field"] == target
    trail = whole_trail_text(db)
    assert not [expected for _field, expected, _entity in STRUCTURED if expected in trail]


def test_reveal_without_a_recent_step_up_is_401(world: World, db: Database) -> None:
    stale = world.person("alice", stepped_up=False)
    response = stale.post(f"/cases/{world.cases['billing']}/reveal", json={"field": "customer.email", "reason": REASON})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "step_up_required"
    assert CUSTOMER["email"] not in response.text
    assert events(db, "pii.revealed", "allowed") == []
    assert [e.detail["route"] for e in events(db, "step_up.required")] == ["/cases/{number}/reveal"]


def test_reveal_with_an_api_token_is_403(world: World, db: Database) -> None:
    response = world.token("alice").post(
        f"/cases/{world.cases['billing']}/reveal", json={"field": "customer.email", "reason": REASON}
    )
    assert response.status_code == 403
    assert CUSTOMER["email"] not in response.text
    assert events(db, "pii.revealed", "allowed") == []


def test_reveal_out_of_scope_looks_like_a_missing_case(world: World, db: Database) -> None:
    carol = world.person("carol")  # network queue only
    out_of_scope = carol.post(
        f"/cases/{world.cases['billing']}/reveal", json={"field": "customer.email", "reason": REASON}
    )
    missing = carol.post("/cases/CV-2026-999999/reveal", json={"field": "customer.email", "reason": REASON})
    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.json()["error"]["message"] == missing.json()["error"]["message"]
    [denied, _missing] = events(db, "pii.revealed", "denied")
    assert denied.target_id == world.cases["billing"]
    # Security officers see no case content without break-glass, reveal included: their scope is empty, so the
    # case looks missing to them too.
    sofia = world.person("sofia")
    response = sofia.post(f"/cases/{world.cases['billing']}/reveal", json={"field": "customer.email", "reason": REASON})
    assert response.status_code == 404
    assert events(db, "pii.revealed", "allowed") == []


BAD_REQUESTS: list[tuple[dict[str, str], int]] = [
    ({"field": "customer.email", "reason": "need it"}, 422),  # reason under 15 characters
    ({"field": "customer.email", "reason": "               x"}, 422),  # blank padding does not count
    ({"field": "customer.email"}, 422),
    ({"field": "customer.iban", "reason": REASON}, 422),
    ({"token": "not-a-token", "reason": REASON}, 422),
    ({"token": "[EMAIL_ADDRESS:0123456789ab]", "field": "customer.email", "reason": REASON}, 422),
    ({"reason": REASON}, 422),
    ({"token": "[EMAIL_ADDRESS:0123456789ab]", "reason": REASON}, 404),  # not a token of this case
    ({"field": "contact:7d1f3a52-8a3c-4a57-9d0e-2c7e0f0a9b11.email", "reason": REASON}, 404),
]


def test_bad_reveal_requests(world: World, db: Database) -> None:
    alice = world.person("alice")
    for body, status in BAD_REQUESTS:
        response = alice.post(f"/cases/{world.cases['billing']}/reveal", json=body)
        assert response.status_code == status, (body, response.text)
    assert events(db, "pii.revealed", "allowed") == []


def test_a_contact_of_another_customer_is_not_revealed_through_this_case(world: World, db: Database) -> None:
    # The contact belongs to the billing case's customer; carol's own network case has another customer.
    carol = world.person("carol")
    response = carol.post(
        f"/cases/{world.cases['network']}/reveal",
        json={"field": f"contact:{world.contact_id}.email", "reason": REASON},
    )
    assert response.status_code == 404
    assert CONTACT["email"] not in response.text
