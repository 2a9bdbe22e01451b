"""A small staffed world for the case API tests: queues, staff of every role, bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.cases import services
from casevault.cases.models import QueueRole
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database
from casevault.identity import Staff, issue_token

STAFF = {
    "ada": Role.ADMIN,
    "sam": Role.SUPERVISOR,
    "alice": Role.AGENT,
    "bob": Role.AGENT,
    "carol": Role.AGENT,
    "sec": Role.SECURITY_OFFICER,
}
# billing: alice and bob work it, sam supervises it; network: carol only.
QUEUES = {
    "billing": {"alice": QueueRole.MEMBER, "bob": QueueRole.MEMBER, "sam": QueueRole.SUPERVISOR},
    "network": {"carol": QueueRole.MEMBER},
}


@dataclass
class World:
    """The test client plus one bearer token per staff member; `as_(name)` issues requests as them."""

    client: TestClient
    db: Database
    keyring: Keyring
    tokens: dict[str, str] = field(default_factory=dict)
    staff_ids: dict[str, Any] = field(default_factory=dict)

    def as_(self, username: str) -> Caller:
        return Caller(self.client, {"Authorization": f"Bearer {self.tokens[username]}"})

    def new_customer(self, name: str, email: str, phone: str | None = None, country: str = "GB") -> str:
        body = {"name": name, "email": email, "country": country}
        if phone:
            body["phone"] = phone
        response = self.as_("ada").post("/customers", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["reference"])

    def new_case(
        self,
        customer: str,
        description: str,
        *,
        by: str = "alice",
        queue: str = "billing",
        subject: str = "Invoice question",
        assignee: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"customer": customer, "queue": queue, "subject": subject, "description": description}
        if assignee:
            body["assignee"] = assignee
        response = self.as_(by).post("/cases", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["number"])


@dataclass
class Caller:
    client: TestClient
    headers: dict[str, str]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get("/api/v1" + path, headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post("/api/v1" + path, headers=self.headers, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.patch("/api/v1" + path, headers=self.headers, **kwargs)


def build_world(client: TestClient, db: Database, key_provider: LocalKeyFile) -> World:
    """Staff, queues and tokens, created directly through the services as the platform."""
    keyring = Keyring(key_provider)
    result = World(client=client, db=db, keyring=keyring)
    operator = Actor.system("test-setup")
    with db.unit_of_work() as session:
        staff = {}
        for username, role in STAFF.items():
            member = Staff(username=username, display_name=username.title(), role=role)
            session.add(member)
            session.flush()
            staff[username] = member
            result.staff_ids[username] = member.id
            _, secret = issue_token(session, member, name="test", scopes=["*"], ttl=timedelta(hours=1))
            result.tokens[username] = secret
        for queue_name, members in QUEUES.items():
            queue = services.create_queue(session, name=queue_name, actor=operator)
            session.flush()
            for username, queue_role in members.items():
                services.add_queue_member(session, queue, staff[username], role=queue_role, actor=operator)
    return result
