"""Authentication and permission are answered (and audited) before input validation, on every kind of route.

API routes authenticate on the endpoint's worker thread (UnitOfWorkRoute); a request whose input is invalid
must still get 401/403 and its denial row first, never a 422 that tells an outsider what the input lacked.
"""

from __future__ import annotations

from case_world import World
from sqlalchemy import select

from casevault.audit.models import AuditEvent


def _denials(world: World) -> list[tuple[str, str | None]]:
    with world.db.sessions() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.reason).where(AuditEvent.outcome == "denied").order_by(AuditEvent.seq)
        ).all()
    return [(action, reason) for action, reason in rows]


def test_unknown_token_with_invalid_body_is_401_and_audited(world: World) -> None:
    response = world.client.post(
        "/api/v1/cases", json={"queue": "billing"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] != "invalid"
    assert "fields" not in response.json()["error"]
    assert _denials(world) == [("token.rejected", "unknown, expired or revoked token")]


def test_missing_permission_with_invalid_body_is_403_and_audited(world: World) -> None:
    response = world.as_("sec").post("/cases", json={"queue": "billing"})
    assert response.status_code == 403
    assert "fields" not in response.json()["error"]
    assert _denials(world) == [("access.denied", "role or token lacks case:create")]


def test_missing_permission_with_invalid_query_is_403(world: World) -> None:
    assert world.as_("sec").get("/organizations", params={"limit": 0}).status_code == 403
    assert _denials(world) == [("access.denied", "role or token lacks organization:manage")]


def test_permitted_caller_with_invalid_body_gets_422_and_no_denial(world: World) -> None:
    response = world.as_("alice").post("/cases", json={"queue": "billing"})
    assert response.status_code == 422
    assert {f["field"] for f in response.json()["error"]["fields"]} == {
        "body.customer",
        "body.subject",
        "body.description",
    }
    assert _denials(world) == []


def test_deferred_authentication_still_reaches_the_endpoint_as_the_actor(world: World) -> None:
    customer = world.new_customer("Ines Duarte", "ines@example.pt", country="PT")
    created = world.as_("alice").post(
        "/cases", json={"customer": customer, "queue": "billing", "subject": "Refund", "description": "Where is it?"}
    )
    assert created.status_code == 201
    number = created.json()["number"]
    assert world.as_("alice").get(f"/cases/{number}").status_code == 200
    # carol does not work the billing queue: the same deferred actor is refused by the access layer (404).
    assert world.as_("carol").get(f"/cases/{number}").status_code == 404
