"""Writing to a customer (filing a case, adding a contact) needs the reach reading it needs.

A new case answers with the customer's masked name and email and stays readable by the queue, so filing one for
any customer reference would be a way around case-scoped visibility (the 2021 vector: reach customers' contacts).
"""

from __future__ import annotations

from case_world import World
from sqlalchemy import select

from casevault.audit import AuditEvent


def _denials(world: World, username: str, action: str) -> list[tuple[str | None, str | None]]:
    with world.db.sessions() as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.actor_label == username, AuditEvent.action == action, AuditEvent.outcome == "denied")
            .order_by(AuditEvent.seq)
        )
        return [(event.target_id, event.reason) for event in rows]


def test_agents_file_cases_only_for_customers_they_can_already_reach_or_brand_new_ones(world: World) -> None:
    fresh = world.new_customer("Ines Duarte", "ines@example.pt", country="PT")
    # The first case of a customer with none yet: nothing of theirs is reachable any other way.
    first = world.new_case(fresh, "Cannot sign in", by="carol", queue="network")
    assert world.as_("carol").get(f"/cases/{first}").status_code == 200
    # A second one while the first is readable: fine.
    world.new_case(fresh, "Still cannot sign in", by="carol", queue="network")

    # alice cannot read any case of this customer (network queue), so she cannot file one for it either,
    # in her own queue or theirs, and what she gets looks like a customer that does not exist.
    body = {"customer": fresh, "queue": "billing", "subject": "Refund", "description": "please refund"}
    refused = world.as_("alice").post("/cases", json=body)
    missing = world.as_("alice").post("/cases", json={**body, "customer": "CUST-ZZZZ9999"})
    assert refused.status_code == missing.status_code == 404
    assert refused.json()["error"]["message"] == missing.json()["error"]["message"]
    assert world.as_("alice").post("/cases", json={**body, "queue": "network"}).status_code == 404
    assert _denials(world, "alice", "case.created") == [
        (fresh, "no readable case of this customer"),
        ("CUST-ZZZZ9999", "no such customer"),
        (fresh, "no readable case of this customer"),
    ]
    # Admins manage customers everywhere (and read no case content).
    assert world.as_("ada").post("/cases", json=body).status_code == 201


def test_supervisors_add_contacts_only_to_customers_of_cases_they_can_read(world: World) -> None:
    billing = world.new_customer("Mateo Ruiz", "mateo@example.es", country="ES")
    world.new_case(billing, "Invoice twice", by="alice")
    network = world.new_customer("Yuki Sato", "yuki@example.jp", country="JP")
    world.new_case(network, "Router resets", by="carol", queue="network")
    contact = {"kind": "billing", "name": "Ana Ruiz", "email": "ana@example.es"}

    assert world.as_("sam").post(f"/customers/{billing}/contacts", json=contact).status_code == 201
    assert world.as_("sam").post(f"/customers/{network}/contacts", json=contact).status_code == 404
    assert _denials(world, "sam", "contact.created") == [(network, "no readable case of this customer")]
    # No first-contact exception: a customer without cases is the admin's to complete.
    lonely = world.new_customer("Nobody Yet", "nobody@example.es", country="ES")
    assert world.as_("sam").post(f"/customers/{lonely}/contacts", json=contact).status_code == 404
    assert world.as_("ada").post(f"/customers/{network}/contacts", json=contact).status_code == 201
    assert world.as_("alice").post(f"/customers/{billing}/contacts", json=contact).status_code == 403
