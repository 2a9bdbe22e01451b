"""Just-in-time grants over HTTP: request, self-approval refused, another supervisor approves, use, expiry, revoke."""

from __future__ import annotations

from datetime import timedelta

from audit_rows import events
from reveal_world import CUSTOMER, REASON, World
from sqlalchemy import update

from casevault.access.models import AccessGrant
from casevault.db import Database
from casevault.db.base import utcnow


def _request(world: World, who: str, case: str) -> str:
    response = world.person(who).post("/access/grants", json={"case": case, "reason": REASON})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["state"], body["requester"], body["case"], body["expires_at"]) == ("pending", who, case, None)
    return str(body["id"])


def test_grant_lifecycle(world: World, db: Database) -> None:
    billing = world.cases["billing"]
    carol = world.person("carol")  # network agent: the billing case is out of scope
    assert carol.get(f"/cases/{billing}").status_code == 404

    grant_id = _request(world, "carol", billing)
    # A pending request opens nothing.
    assert carol.get(f"/cases/{billing}").status_code == 404
    assert [g["id"] for g in carol.get("/access/grants").json()["items"]] == [grant_id]

    # The requester cannot approve (agents lack the permission), nor can a supervisor of another queue.
    assert carol.post(f"/access/grants/{grant_id}/approve").status_code == 403
    nina = world.person("nina")  # supervises network, not billing
    assert nina.get("/access/grants", params={"view": "to_approve"}).json()["items"] == []
    assert nina.post(f"/access/grants/{grant_id}/approve").status_code == 403
    # Approving needs a fresh second factor; a token never has one.
    assert world.person("sam", stepped_up=False).post(f"/access/grants/{grant_id}/approve").status_code == 401
    assert world.token("sam").post(f"/access/grants/{grant_id}/approve").status_code == 403

    sam = world.person("sam")  # supervises billing
    assert [g["id"] for g in sam.get("/access/grants", params={"view": "to_approve"}).json()["items"]] == [grant_id]
    approved = sam.post(f"/access/grants/{grant_id}/approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["state"], approved.json()["approved_by"]) == ("approved", "sam")
    assert sam.post(f"/access/grants/{grant_id}/approve").status_code == 409  # not pending any more

    # While the grant lives, carol reads the case, its customer and may reveal; every use names the grant.
    opened = carol.get(f"/cases/{billing}")
    assert opened.status_code == 200, opened.text
    assert events(db, "case.viewed", "allowed")[-1].detail == {"via": f"grant:{grant_id}"}
    customer = opened.json()["customer"]["reference"]
    assert carol.get(f"/customers/{customer}").status_code == 200
    assert events(db, "customer.viewed", "allowed")[-1].detail == {"via": f"grant:{grant_id}"}
    revealed = carol.post(f"/cases/{billing}/reveal", json={"field": "customer.email", "reason": REASON})
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["value"] == CUSTOMER["email"]
    assert events(db, "pii.revealed", "allowed")[-1].detail["via"] == f"grant:{grant_id}"
    assert billing in [case["number"] for case in carol.get("/cases").json()["items"]]

    # Revoked: access ends at once.
    revoked = sam.post(f"/access/grants/{grant_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    assert carol.get(f"/cases/{billing}").status_code == 404
    assert billing not in [case["number"] for case in carol.get("/cases").json()["items"]]
    assert sam.post(f"/access/grants/{grant_id}/revoke").status_code == 409
    assert [e.action for e in events(db, "grant.approved", "allowed")] == ["grant.approved"]
    assert len(events(db, "grant.revoked", "allowed")) == 1


def test_self_approval_is_refused_by_policy(world: World, db: Database) -> None:
    # sam supervises billing; the network case is outside his scope, so he asks like anyone else.
    network = world.cases["network"]
    grant_id = _request(world, "sam", network)
    sam = world.person("sam")
    refused = sam.post(f"/access/grants/{grant_id}/approve")
    assert refused.status_code == 403
    [denial] = events(db, "grant.approved", "denied")
    assert "guard.no-self-approval" in (denial.reason or "")
    assert sam.get(f"/cases/{network}").status_code == 404
    # A supervisor of the network queue approves.
    assert world.person("omar").post(f"/access/grants/{grant_id}/approve").status_code == 200
    assert sam.get(f"/cases/{network}").status_code == 200


def test_grants_expire(world: World, db: Database) -> None:
    billing = world.cases["billing"]
    grant_id = _request(world, "carol", billing)
    assert world.person("sam").post(f"/access/grants/{grant_id}/approve").status_code == 200
    carol = world.person("carol")
    assert carol.get(f"/cases/{billing}").status_code == 200

    with db.unit_of_work() as session:
        session.execute(update(AccessGrant).values(expires_at=utcnow() - timedelta(seconds=1)))

    assert carol.get(f"/cases/{billing}").status_code == 404
    assert carol.post(f"/cases/{billing}/reveal", json={"field": "customer.email", "reason": REASON}).status_code == 404
    [mine] = carol.get("/access/grants").json()["items"]
    assert mine["state"] == "expired"


def test_requests_need_a_real_reason_and_an_existing_case(world: World) -> None:
    carol = world.person("carol")
    assert carol.post("/access/grants", json={"case": world.cases["billing"], "reason": "pls"}).status_code == 422
    assert carol.post("/access/grants", json={"case": "CV-2026-999999", "reason": REASON}).status_code == 404
    # Security officers use break-glass, not grants (no grant:request permission).
    assert (
        world.person("sofia")
        .post("/access/grants", json={"case": world.cases["billing"], "reason": REASON})
        .status_code
        == 403
    )
