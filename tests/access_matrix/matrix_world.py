"""The authorization matrix: its table (matrix.csv), the seeded world it runs against, and request templates."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.cases import services
from casevault.cases.models import Queue, QueueRole
from casevault.crypto import Keyring
from casevault.db import Database
from casevault.identity import Staff, issue_token

MATRIX = Path(__file__).with_name("matrix.csv")
ROLES = ("anonymous", "agent", "supervisor", "security_officer", "admin")
RELATIONS = ("own", "other", "unassigned", "none")
NOT_APPLICABLE = "-"
# Expected outcomes: a status class for success, exact codes for refusals (they are the point of the table).
OUTCOMES = {"2xx", "401", "403", "404", "409", "422", "429", NOT_APPLICABLE}

# username -> (role, {queue: queue role}). The callers are agnes, sven, sol and ada; otto and tara own the
# "other" and "none" cases; vic is the account security officers contain.
STAFF: dict[str, tuple[Role, dict[str, QueueRole]]] = {
    "agnes": (Role.AGENT, {"billing": QueueRole.MEMBER}),
    "sven": (Role.SUPERVISOR, {"billing": QueueRole.SUPERVISOR}),
    "otto": (Role.AGENT, {"billing": QueueRole.MEMBER}),
    "tara": (Role.AGENT, {"tech": QueueRole.MEMBER}),
    "vic": (Role.AGENT, {"tech": QueueRole.MEMBER}),
    "sol": (Role.SECURITY_OFFICER, {}),
    "ada": (Role.ADMIN, {}),
}
CALLERS = {"agent": "agnes", "supervisor": "sven", "security_officer": "sol", "admin": "ada"}


@dataclass(frozen=True)
class Row:
    """One line of matrix.csv: an endpoint, the caller's relation to the object, and the outcome per role."""

    method: str
    path: str
    relation: str
    expected: dict[str, str]
    note: str = ""

    @property
    def endpoint(self) -> tuple[str, str]:
        return self.method, self.path


def load_matrix(path: Path = MATRIX) -> list[Row]:
    """Read the table; rejects unknown roles, relations and outcomes so a typo cannot silence a check."""
    rows: list[Row] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(line for line in handle if not line.startswith("#"))
        for line in reader:
            relation = line["relation"]
            if relation not in (*RELATIONS, NOT_APPLICABLE):
                raise ValueError(f"unknown relation {relation!r} in {line}")
            expected = {role: line[role].strip() for role in ROLES}
            unknown = set(expected.values()) - OUTCOMES
            if unknown:
                raise ValueError(f"unknown outcome {sorted(unknown)} in {line}")
            rows.append(Row(line["method"].upper(), line["path"], relation, expected, (line.get("note") or "").strip()))
    return rows


def outcome_class(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)


@dataclass
class MatrixWorld:
    """Everything seeded: tokens per caller role, and one case (with its own customer) per caller and relation."""

    db: Database
    keyring: Keyring
    tokens: dict[str, str] = field(default_factory=dict)
    staff: dict[str, uuid.UUID] = field(default_factory=dict)
    # (role, relation) -> (case number, customer reference)
    objects: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def case_for_relation(self, role: str, relation: str, *, fresh: bool) -> tuple[str, str]:
        """The case (and its customer) the caller of `role` has `relation` to; `fresh` makes a new one, so a
        request that changes the case leaves the shared ones as they were."""
        if not fresh:
            return self.objects[(role, relation)]
        with self.db.unit_of_work() as session:
            return _new_case(session, self.keyring, _assignee(role, relation), _queue(relation))


def _queue(relation: str) -> str:
    return "tech" if relation == "none" else "billing"


def _assignee(role: str, relation: str) -> str | None:
    if relation == "own":
        return CALLERS[role]
    return {"other": "otto", "unassigned": None, "none": "tara"}[relation]


_SETUP = Actor.system("matrix-setup")


def _new_case(session: Any, keyring: Keyring, assignee: str | None, queue_name: str) -> tuple[str, str]:
    customer = services.create_customer(
        session,
        keyring=keyring,
        name="Matrix Customer",
        email=f"matrix-{uuid.uuid4().hex[:8]}@example.org",
        country="DE",
        actor=_SETUP,
    )
    queue = session.query(Queue).filter_by(name=queue_name).one()
    staff = session.query(Staff).filter_by(username=assignee).one() if assignee else None
    case = services.create_case(
        session,
        keyring=keyring,
        customer=customer,
        queue=queue,
        subject="Matrix case",
        description="Router keeps dropping the line.",
        assignee=staff,
        actor=_SETUP,
    )
    return case.number, customer.reference


def seed(db: Database, keyring: Keyring) -> MatrixWorld:
    """Queues, staff with all-scope tokens, and one case per (caller role, relation)."""
    world = MatrixWorld(db=db, keyring=keyring)
    with db.unit_of_work() as session:
        members: dict[str, Staff] = {}
        for username, (role, _queues) in STAFF.items():
            staff = Staff(username=username, display_name=username.title(), role=role)
            session.add(staff)
            session.flush()
            members[username] = staff
            world.staff[username] = staff.id
            if username in CALLERS.values():
                _, secret = issue_token(session, staff, name="matrix", scopes=["*"], ttl=timedelta(hours=2))
                world.tokens[next(r for r, u in CALLERS.items() if u == username)] = secret
        for queue_name in ("billing", "tech"):
            queue = services.create_queue(session, name=queue_name, actor=_SETUP)
            session.flush()
            for username, (_role, queues) in STAFF.items():
                if queue_name in queues:
                    services.add_queue_member(session, queue, members[username], role=queues[queue_name], actor=_SETUP)
        session.flush()
        for role in CALLERS:
            for relation in RELATIONS:
                if relation == "own" and role not in ("agent", "supervisor"):
                    continue
                world.objects[(role, relation)] = _new_case(
                    session, keyring, _assignee(role, relation), _queue(relation)
                )
    return world


@dataclass(frozen=True)
class Target:
    """What one request is about: the case and customer for the row's relation (None where none applies)."""

    role: str
    case: str | None
    customer: str | None


def _uuid(_target: Target) -> str:
    return str(uuid.uuid4())


# How to fill each path parameter. A new parameter name fails the test until it is added here.
PATH_VALUES: dict[str, Callable[[Target], str]] = {
    "number": lambda target: target.case or "CV-2026-999999",
    "reference": lambda target: target.customer or "CUST-MISSING000",
    "name": lambda _target: "billing",
    "session_id": _uuid,
    "request_id": _uuid,
    "incident_id": _uuid,
    "grant_id": _uuid,
    "break_glass_id": _uuid,
    "alert_id": _uuid,
}

# Valid request bodies, so an allowed caller gets 2xx rather than 422. Endpoints not listed send no body.
BODIES: dict[tuple[str, str], Callable[[Target], dict[str, Any]]] = {
    ("POST", "/api/v1/auth/login"): lambda _t: {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "x" * 12},
    ("POST", "/api/v1/auth/mfa/totp"): lambda _t: {"code": "123456"},
    ("POST", "/api/v1/auth/mfa/webauthn/register"): lambda _t: {"credential": {}},
    ("POST", "/api/v1/auth/mfa/webauthn/authenticate"): lambda _t: {"credential": {}},
    ("POST", "/api/v1/auth/recovery"): lambda _t: {"code": "abcd-efgh-ijkl"},
    ("POST", "/api/v1/auth/step-up"): lambda _t: {"code": "123456"},
    ("POST", "/api/v1/auth/password"): lambda _t: {"current_password": "x" * 12, "new_password": "y" * 16},
    ("POST", "/api/v1/auth/mfa-resets"): lambda _t: {"username": "otto", "reason": "lost phone, verified by phone"},
    ("POST", "/api/v1/cases"): lambda t: {
        "customer": t.customer,
        "queue": "billing",
        "subject": "Follow-up",
        "description": "Line drops again.",
    },
    ("POST", "/api/v1/cases/{number}/reveal"): lambda _t: {
        "field": "customer.email",
        "reason": "confirm identity on call",
    },
    ("POST", "/api/v1/cases/{number}/assign"): lambda _t: {"assignee": "otto"},
    ("POST", "/api/v1/cases/{number}/status"): lambda _t: {"status": "pending"},
    ("POST", "/api/v1/cases/{number}/resolve"): lambda _t: {"resolution": "Replaced the router."},
    ("PATCH", "/api/v1/cases/{number}/remarks"): lambda _t: {"remarks": "Prefers email."},
    ("POST", "/api/v1/cases/{number}/notes"): lambda _t: {"body": "Called back, no answer."},
    ("POST", "/api/v1/organizations"): lambda _t: {"name": "Matrix GmbH", "country": "DE", "sector": "retail"},
    ("POST", "/api/v1/customers"): lambda _t: {
        "name": "New Customer",
        "email": f"new-{uuid.uuid4().hex[:8]}@example.org",
        "country": "FR",
    },
    ("POST", "/api/v1/customers/{reference}/contacts"): lambda _t: {
        "kind": "billing",
        "name": "Billing Person",
        "email": f"billing-{uuid.uuid4().hex[:8]}@example.org",
    },
    ("POST", "/api/v1/queues"): lambda _t: {"name": f"q-{uuid.uuid4().hex[:8]}"},
    ("POST", "/api/v1/queues/{name}/members"): lambda _t: {"username": "otto", "role": "member"},
    ("POST", "/api/v1/incidents/blast-radius"): lambda _t: {"actor": "vic"},
    ("POST", "/api/v1/incidents"): lambda _t: {"actor": "vic", "reason": "matrix check of incident recording"},
    ("POST", "/api/v1/incidents/contain"): lambda _t: {"actor": "vic", "reason": "matrix check of containment"},
    ("POST", "/api/v1/incidents/{incident_id}/notifications"): lambda _t: {},
    ("POST", "/api/v1/access/grants"): lambda t: {"case": t.case, "reason": "customer called about this case"},
    ("POST", "/api/v1/access/break-glass"): lambda t: {"case": t.case, "reason": "fraud investigation, urgent"},
    ("POST", "/api/v1/access/break-glass/{break_glass_id}/review"): lambda _t: {"note": "reviewed, justified"},
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): lambda _t: {"note": "looking into it with the team"},
    ("POST", "/api/v1/alerts/{alert_id}/close"): lambda _t: {"note": "checked: the agent was on shift"},
}
# Query parameters an endpoint needs to do its work (otherwise allowed callers would get 422).
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/api/v1/cases/search"): {"q": "router"},
    ("GET", "/api/v1/customers/lookup"): {"email": "someone@example.org"},
}
# Endpoints about one case given in the body rather than the path: the relation applies to them too.
CASE_IN_BODY = {("POST", "/api/v1/access/grants"), ("POST", "/api/v1/access/break-glass")}
# Endpoints that take a customer reference in the body: given one the caller has no case of (see matrix.csv).
CUSTOMER_IN_BODY = {("POST", "/api/v1/cases")}
