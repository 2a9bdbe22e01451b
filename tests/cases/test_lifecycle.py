"""The case lifecycle over HTTP: create, assign, status changes, notes, remarks, resolve, reopen, close."""

from __future__ import annotations

import re

from case_world import World

EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0912"


def test_full_lifecycle_returns_only_redacted_and_masked_values(world: World) -> None:
    admin, alice, sam = world.as_("ada"), world.as_("alice"), world.as_("sam")

    organization = admin.post("/organizations", json={"name": "Contoso Ltd", "country": "GB", "sector": "Retail"})
    assert organization.status_code == 201
    org_id = organization.json()["id"]
    assert admin.get("/organizations").json()["items"][0]["name"] == "Contoso Ltd"

    created = admin.post(
        "/customers",
        json={"name": "Jane Doe", "email": EMAIL, "phone": PHONE, "country": "GB", "organization_id": org_id},
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["email"] == "j***@e***.com"
    assert customer["phone"] == "+44 ••• ••• 12"
    assert customer["name"] == "J*** D***"
    reference = customer["reference"]

    contact = admin.post(
        f"/customers/{reference}/contacts",
        json={"kind": "billing", "name": "Max Payne", "email": "billing@contoso.co.uk", "phone": "+1 415 555 0199"},
    )
    assert contact.status_code == 201
    assert contact.json()["email"] == "b***@c***.co.uk"
    assert contact.json()["phone"] == "+1 ••• ••• 99"

    opened = alice.post(
        "/cases",
        json={
            "customer": reference,
            "queue": "billing",
            "subject": "Refund for Jane Doe",
            "description": f"Please refund me, write to {EMAIL} or call {PHONE}. The invoice total is wrong.",
            "priority": "high",
        },
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    number = case["number"]
    assert re.fullmatch(r"CV-\d{4}-\d{6}", number)
    assert case["status"] == "new"
    assert case["assignee"] is None
    assert case["customer"] == {"reference": reference, "name": "J*** D***", "email": "j***@e***.com"}
    assert EMAIL not in case["description"]
    assert PHONE not in case["description"]
    assert re.search(r"\[EMAIL_ADDRESS:[0-9a-f]{12}\]", case["description"])
    assert "invoice total is wrong" in case["description"]
    assert "Jane" not in case["subject"]

    assigned = sam.post(f"/cases/{number}/assign", json={"assignee": "alice"})
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == "alice"
    assert assigned.json()["status"] == "open"

    assert alice.post(f"/cases/{number}/status", json={"status": "pending"}).json()["status"] == "pending"
    public = alice.post(f"/cases/{number}/notes", json={"body": f"Replied to {EMAIL}", "visibility": "public"})
    assert public.status_code == 201
    assert EMAIL not in public.json()["body"]
    assert public.json()["author"] == "alice"
    internal = alice.post(f"/cases/{number}/notes", json={"body": "Customer seems upset"})
    assert internal.json()["visibility"] == "internal"
    notes = alice.get(f"/cases/{number}/notes").json()["items"]
    assert [note["visibility"] for note in notes] == ["public", "internal"]

    remarks = alice.patch(f"/cases/{number}/remarks", json={"remarks": f"VIP, phone {PHONE}"})
    assert remarks.status_code == 200
    assert PHONE not in remarks.json()["remarks"]
    assert "VIP" in remarks.json()["remarks"]

    resolved = alice.post(f"/cases/{number}/resolve", json={"resolution": f"Refund sent to {EMAIL}."})
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["status"] == "resolved"
    assert body["resolved_at"] is not None
    assert EMAIL not in body["resolution"]

    # Resolving twice is a conflict; RESOLVED is not reachable through /status.
    assert alice.post(f"/cases/{number}/resolve", json={"resolution": "again"}).status_code == 409
    reopened = alice.post(f"/cases/{number}/status", json={"status": "open"})
    assert reopened.json()["status"] == "open"
    assert reopened.json()["resolved_at"] is None
    assert alice.post(f"/cases/{number}/status", json={"status": "resolved"}).status_code == 409
    assert alice.post(f"/cases/{number}/status", json={"status": "closed"}).json()["status"] == "closed"
    conflict = alice.post(f"/cases/{number}/status", json={"status": "open"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["message"] == "status cannot change from closed to open"

    cleared = alice.patch(f"/cases/{number}/remarks", json={"remarks": None})
    assert cleared.json()["remarks"] is None

    fetched = alice.get(f"/cases/{number}").json()
    assert fetched["status"] == "closed"
    assert fetched["priority"] == "high"
    customer_view = alice.get(f"/customers/{reference}").json()
    assert customer_view["email"] == "j***@e***.com"
    assert [c["kind"] for c in customer_view["contacts"]] == ["billing"]

    # Numbers are consecutive within the year.
    numbers = [number] + [world.new_case(reference, f"Printer {i} is jammed") for i in range(2)]
    sequence = [int(value.rsplit("-", 1)[1]) for value in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]
    assert len({value.split("-")[1] for value in numbers}) == 1

    # The OpenAPI document describes every case route.
    paths = world.client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/cases", "/api/v1/cases/search", "/api/v1/cases/{number}/notes", "/api/v1/customers/lookup"):
        assert path in paths
