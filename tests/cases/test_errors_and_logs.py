"""Bad input gets 422 with field names, unknown things 404, big bodies 413; no PII ever reaches a log line."""

from __future__ import annotations

import logging

import pytest
from case_world import World
from sqlalchemy import select

from casevault.cases import text as case_text
from casevault.cases.models import Case
from casevault.cases.text import WITHHELD
from casevault.crypto import aad_for
from casevault.redaction import RedactionFailed


def test_bad_input_is_422_with_fields_unknown_is_404_big_is_413(world: World) -> None:
    customer = world.new_customer("Eva Novak", "eva@example.cz", country="CZ")
    alice = world.as_("alice")

    missing = alice.post("/cases", json={"customer": customer, "queue": "billing"})
    assert missing.status_code == 422
    error = missing.json()["error"]
    assert error["code"] == "invalid"
    assert {f["field"] for f in error["fields"]} == {"body.subject", "body.description"}
    assert len(error["request_id"]) == 32

    secret_subject = "eva@example.cz " * 30
    too_long = alice.post(
        "/cases", json={"customer": customer, "queue": "billing", "subject": secret_subject, "description": "x"}
    )
    assert too_long.status_code == 422
    assert [f["field"] for f in too_long.json()["error"]["fields"]] == ["body.subject"]
    assert "eva@example.cz" not in too_long.text

    extra = alice.post(
        "/cases",
        json={"customer": customer, "queue": "billing", "subject": "s", "description": "d", "status": "closed"},
    )
    assert [f["field"] for f in extra.json()["error"]["fields"]] == ["body.status"]

    bad_customer = world.as_("ada").post("/customers", json={"name": "A", "email": "not-an-email", "country": "gb"})
    assert {f["field"] for f in bad_customer.json()["error"]["fields"]} == {"body.email", "body.country"}
    assert "not-an-email" not in bad_customer.text

    unknown_queue = alice.post(
        "/cases", json={"customer": customer, "queue": "nope", "subject": "s", "description": "d"}
    )
    assert unknown_queue.status_code == 422
    assert unknown_queue.json()["error"]["message"] == "queue: unknown"

    # Unknown objects are 404, oversized bodies 413.
    for path in ("/cases/CV-2026-000000", "/cases/not-a-case/notes", "/customers/CUST-NOPE"):
        response = alice.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert alice.post("/cases/CV-2026-000000/notes", json={"body": "x"}).status_code == 404
    assert world.as_("sam").post("/cases/CV-2026-000000/assign", json={"assignee": "bob"}).status_code == 404

    huge = {"customer": "CUST-X", "queue": "billing", "subject": "s", "description": "a" * 1_200_000}
    response = alice.post("/cases", json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    # NUL characters (which PostgreSQL text cannot store) are refused or never looked up: no 500 anywhere.
    number = world.new_case(customer, "Hinge squeaks")
    nul = "a\u0000b"
    assert (
        alice.post(
            "/cases", json={"customer": customer, "queue": "billing", "subject": nul, "description": "d"}
        ).status_code
        == 422
    )
    assert alice.post(f"/cases/{number}/notes", json={"body": nul}).status_code == 422
    assert alice.patch(f"/cases/{number}/remarks", json={"remarks": nul}).status_code == 422
    assert alice.get("/cases/CV-2026-0000%00").status_code == 404
    assert alice.get("/customers/CUST%00").status_code == 404
    assert alice.get("/cases", params={"assignee": nul}).status_code == 422
    assert alice.get("/cases/search", params={"q": "hinge\u0000"}).json()["total"] == 1
    assert (
        world.as_("ada").post("/organizations", json={"name": nul, "country": "GB", "sector": "x"}).status_code == 422
    )
    assert world.as_("ada").post("/queues/billing/members", json={"username": nul}).status_code == 422
    assert world.as_("ada").post("/queues/bil%00ling/members", json={"username": "bob"}).status_code == 422

    # Under the body limit but over the field limit: 422, not stored.
    long_note = alice.post("/cases/CV-2026-000000/notes", json={"body": "a" * 20_001})
    assert long_note.status_code == 422
    assert long_note.json()["error"]["fields"][0]["field"] == "body.body"


def test_no_pii_in_logs_across_the_api(world: World, caplog: pytest.LogCaptureFixture) -> None:
    name, email, phone = "Hiroshi Tanaka", "h.tanaka@example.jp", "+81 3 1234 5678"
    contact_email = "keiri@example.jp"
    caplog.set_level(logging.DEBUG)
    customer = world.new_customer(name, email, phone=phone, country="JP")
    admin, alice, sam = world.as_("ada"), world.as_("alice"), world.as_("sam")
    admin.post(
        f"/customers/{customer}/contacts", json={"kind": "billing", "name": "Keiko Sato", "email": contact_email}
    )
    number = world.new_case(customer, f"{name} says: mail {email}, phone {phone}", subject=f"Call {phone}")
    sam.post(f"/cases/{number}/assign", json={"assignee": "alice"})
    alice.post(f"/cases/{number}/notes", json={"body": f"left voicemail on {phone}"})
    alice.patch(f"/cases/{number}/remarks", json={"remarks": f"prefers {email}"})
    alice.get(f"/cases/{number}")
    alice.get(f"/cases/{number}/notes")
    alice.get("/cases", params={"q": email})
    alice.get("/cases/search", params={"q": email})
    alice.get("/customers/lookup", params={"email": email})
    world.as_("bob").get("/customers/lookup", params={"email": contact_email})
    alice.get(f"/customers/{customer}")
    world.as_("bob").get(f"/cases/{email}")  # a PII value in the path of a denied request
    alice.post("/cases", json={"customer": customer, "queue": "billing", "subject": email * 20, "description": "x"})
    alice.post(f"/cases/{number}/resolve", json={"resolution": f"emailed {email}"})

    # The test client logs full request URLs itself (httpx); the server's own logs are what must stay clean.
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "casevault.access" for r in server_records)
    logged = "\n".join(record.getMessage() for record in server_records)
    for value in (name, email, phone, contact_email, "Keiko Sato", "h.tanaka", "1234 5678"):
        assert value not in logged, value


def test_redaction_failure_withholds_the_text_but_keeps_it_sealed(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenRedactor:
        def redact(self, text: str, operator: object = None) -> object:
            raise RedactionFailed("email", "timed out")

    customer = world.new_customer("Ines Costa", "ines@example.pt", country="PT")
    monkeypatch.setattr(case_text, "redactor", lambda: BrokenRedactor())
    caplog.set_level(logging.WARNING)
    description = "Contact ines@example.pt about the broken hinge"
    number = world.new_case(customer, description)
    case = world.as_("alice").get(f"/cases/{number}").json()
    assert case["description"] == WITHHELD
    assert case["subject"] == WITHHELD
    assert world.as_("alice").get("/cases/search", params={"q": "hinge"}).json()["items"] == []
    assert "redaction failed for cases.description (recognizer email)" in caplog.text
    assert "ines@example.pt" not in caplog.text
    with world.db.sessions() as session:
        stored = session.scalars(select(Case).where(Case.number == number)).one()
        owner_key = world.keyring.for_owner(session, stored.customer_id)
        assert owner_key.open(stored.description_sealed, aad_for("cases", "description_sealed", stored.id)) == (
            description
        )
