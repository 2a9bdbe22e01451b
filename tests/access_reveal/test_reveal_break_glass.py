"""Break-glass over HTTP: step-up and reason, an alert at once, a webhook, marked reads, review by someone else."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from audit_rows import events, whole_trail_text
from fastapi.testclient import TestClient
from pydantic import SecretStr
from reveal_world import CUSTOMER, World
from sqlalchemy import select, update

from casevault.access.models import BreakGlassSession
from casevault.db import Database
from casevault.db.base import utcnow
from casevault.detection import Alert

URGENT = "fraud team on the phone: account takeover in progress"


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []  # noqa: RUF012 (one list per server class, reset by the fixture)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A real HTTP receiver on loopback; yields its URL and the JSON bodies it got."""
    handler = type("Receiver", (_Receiver,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", handler.received
    finally:
        server.shutdown()
        server.server_close()


def _break(world: World, who: str, case: str) -> str:
    response = world.person(who).post("/access/break-glass", json={"case": case, "reason": URGENT})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_break_glass_alerts_marks_reads_and_is_reviewed(
    world: World, db: Database, make_client: Callable[..., TestClient], webhook: tuple[str, list[dict[str, object]]]
) -> None:
    url, received = webhook
    world.client = make_client(break_glass_webhook_url=SecretStr(url))
    billing = world.cases["billing"]
    carol = world.person("carol")  # network agent: the billing case is out of scope
    assert carol.get(f"/cases/{billing}").status_code == 404

    # Refused without a fresh second factor, with a token, or without a real reason.
    body = {"case": billing, "reason": URGENT}
    assert world.person("carol", stepped_up=False).post("/access/break-glass", json=body).status_code == 401
    assert world.token("carol").post("/access/break-glass", json=body).status_code == 403
    assert carol.post("/access/break-glass", json={"case": billing, "reason": "now"}).status_code == 422
    assert carol.post("/access/break-glass", json={"case": "CV-2026-999999", "reason": URGENT}).status_code == 404
    assert events(db, "alert.raised") == []

    started = carol.post("/access/break-glass", json=body)
    assert started.status_code == 201, started.text
    glass = started.json()
    assert glass["staff"] == "carol"
    assert glass["expires_at"] > glass["started_at"]

    # The alert is raised at once, high severity, and the webhook heard about it (references only).
    with db.sessions() as session:
        [alert] = session.scalars(select(Alert).where(Alert.kind == "break_glass.started")).all()
    assert (str(alert.severity), alert.actor_label, str(alert.id)) == ("high", "carol", glass["alert_id"])
    assert alert.detail["break_glass"] == glass["id"]
    [delivered] = received
    assert (delivered["event"], delivered["break_glass"], delivered["case"]) == (
        "break_glass.started",
        glass["id"],
        billing,
    )
    assert URGENT not in json.dumps(delivered)

    # Reads under it are marked.
    assert carol.get(f"/cases/{billing}").status_code == 200
    assert events(db, "case.viewed", "allowed")[-1].detail == {"via": f"break-glass:{glass['id']}", "break_glass": True}
    notes = carol.get(f"/cases/{billing}/notes")
    assert notes.status_code == 200

    # Review: listed as unreviewed; agents cannot review; a security officer does, once.
    sofia = world.person("sofia")
    listed = sofia.get("/access/break-glass", params={"unreviewed": 1}).json()["items"]
    assert [row["id"] for row in listed] == [glass["id"]]
    note = {"note": "confirmed with the fraud team lead"}
    assert carol.post(f"/access/break-glass/{glass['id']}/review", json=note).status_code == 403
    reviewed = sofia.post(f"/access/break-glass/{glass['id']}/review", json=note)
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["reviewed_by"] == "sofia"
    assert sofia.get("/access/break-glass", params={"unreviewed": 1}).json()["items"] == []
    assert len(sofia.get("/access/break-glass").json()["items"]) == 1
    assert sofia.post(f"/access/break-glass/{glass['id']}/review", json=note).status_code == 409
    assert len(events(db, "break_glass.reviewed", "allowed")) == 1


def test_nobody_reviews_their_own_break_glass(world: World, db: Database) -> None:
    glass_id = _break(world, "sofia", world.cases["network"])  # security officers may break the glass too
    note = {"note": "it was me and it was justified"}
    assert world.person("sofia").post(f"/access/break-glass/{glass_id}/review", json=note).status_code == 403
    [denied] = events(db, "break_glass.reviewed", "denied")
    assert denied.reason == "nobody reviews their own break-glass"
    assert world.person("sven").post(f"/access/break-glass/{glass_id}/review", json=note).status_code == 200


def test_an_agent_breaks_the_glass_reveals_and_it_expires(world: World, db: Database) -> None:
    billing = world.cases["billing"]
    carol = world.person("carol")
    glass_id = _break(world, "carol", billing)
    revealed = carol.post(f"/cases/{billing}/reveal", json={"field": "customer.email", "reason": URGENT})
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["value"] == CUSTOMER["email"]
    event = events(db, "pii.revealed", "allowed")[-1]
    assert (event.detail["via"], event.detail["break_glass"]) == (f"break-glass:{glass_id}", True)
    assert CUSTOMER["email"] not in whole_trail_text(db)

    with db.unit_of_work() as session:
        session.execute(update(BreakGlassSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert carol.get(f"/cases/{billing}").status_code == 404


def test_a_failing_webhook_never_blocks_access(
    world: World, db: Database, make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    world.client = make_client(break_glass_webhook_url=SecretStr(f"http://127.0.0.1:{port}/hook"))
    with caplog.at_level(logging.WARNING, logger="casevault.access"):
        glass_id = _break(world, "carol", world.cases["billing"])
    assert world.person("carol").get(f"/cases/{world.cases['billing']}").status_code == 200
    assert "break-glass webhook failed: ConnectError" in caplog.text
    assert URGENT not in caplog.text
    assert glass_id in [row.target_id for row in events(db, "break_glass.started", "allowed")]
