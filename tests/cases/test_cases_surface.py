"""The package's public surface, the access functions used as a library, and the routes' discipline."""

from __future__ import annotations

import ast
import inspect as pyinspect
import uuid

import pytest
from case_world import World
from fastapi.routing import APIRoute
from sqlalchemy import select

import casevault.cases
from casevault.access.actor import Actor, AuthMethod
from casevault.access.roles import Role
from casevault.audit import AuditEvent
from casevault.cases import access, api, services
from casevault.cases.masking import mask_email, mask_name, mask_phone
from casevault.cases.models import Contact, Customer
from casevault.cases.text import known_values, protect_text
from casevault.crypto import OwnerKey
from casevault.errors import NotFound


def test_public_api_is_pinned() -> None:
    assert sorted(casevault.cases.__all__) == sorted(
        [
            "Case", "CasePage", "CaseStatus", "Contact", "ContactKind", "Customer", "InvalidTransition", "Note",
            "NoteVisibility", "Organization", "Priority", "Queue", "QueueRole", "add_contact", "add_note",
            "add_queue_member", "assign_case", "can_read_case", "case_for", "change_status", "contact_for",
            "create_case", "create_customer", "create_organization", "create_queue", "customer_for",
            "customers_by_email", "get_case", "list_cases", "open_customer", "organization_for", "resolve_case",
            "search_cases", "update_remarks", "visible_cases",
        ]
    )  # fmt: skip
    for name in casevault.cases.__all__:
        assert hasattr(casevault.cases, name), name


def test_routes_never_query_tables_directly() -> None:
    """Protected reads go through cases.access; the route module has no query of its own."""
    tree = ast.parse(pyinspect.getsource(api))
    calls = {
        node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"execute", "scalars", "scalar", "get", "query"} - {"get"} or False
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "select" not in names
    for route in api.router.routes:
        assert isinstance(route, APIRoute)
        assert any(getattr(dep.call, "__casevault_permission__", None) for dep in route.dependant.dependencies), (
            route.path
        )


def test_masking_forms() -> None:
    assert mask_email("john.smith@example.com") == "j***@e***.com"
    assert mask_email("a@mail.example.co.uk") == "a***@m***.co.uk"
    assert mask_email("broken") == "***"
    assert mask_phone("+44 20 7946 0912") == "+44 ••• ••• 12"
    assert mask_phone("(555) 010-9988") == "••• ••• 88"
    assert mask_name("Maria de la Cruz") == "M*** d*** l***"


def test_contact_and_organization_access_functions(world: World) -> None:
    admin = world.as_("ada")
    org_id = admin.post("/organizations", json={"name": "Fabrikam", "country": "DE", "sector": "manufacturing"}).json()[
        "id"
    ]
    reference = world.new_customer("Jonas Weber", "jonas@example.de", country="DE")
    admin.post(
        f"/customers/{reference}/contacts", json={"kind": "billing", "name": "Lea Vogel", "email": "l@example.de"}
    )
    world.new_case(reference, "Machine stopped", assignee="alice")
    linked = admin.post(
        "/customers", json={"name": "Ute Kahl", "email": "ute@example.de", "country": "DE", "organization_id": org_id}
    ).json()["reference"]

    def staff_actor(username: str, role: Role) -> Actor:
        return Actor(staff_id=world.staff_ids[username], username=username, role=role, method=AuthMethod.TOKEN)

    alice, bob = staff_actor("alice", Role.AGENT), staff_actor("bob", Role.AGENT)
    with world.db.unit_of_work() as session:
        customer = session.scalars(select(Customer).where(Customer.reference == reference)).one()
        contact = session.scalars(select(Contact).where(Contact.customer_id == customer.id)).one()
        assert access.contact_for(session, alice, contact.id).id == contact.id
        with pytest.raises(NotFound):
            access.contact_for(session, bob, contact.id)
        opened = services.open_customer(session, world.keyring, contact)
        assert opened.email == "l@example.de"
        assert "l@example.de" not in repr(opened)
        # Agents reach an organisation only through a readable case of one of its customers.
        with pytest.raises(NotFound):
            access.organization_for(session, alice, uuid.UUID(org_id))
        ada = staff_actor("ada", Role.ADMIN)
        assert str(access.organization_for(session, ada, uuid.UUID(org_id)).id) == org_id
    world.new_case(linked, "Invoice copy", assignee="alice")
    with world.db.unit_of_work() as session:
        assert str(access.organization_for(session, alice, uuid.UUID(org_id)).id) == org_id
    with world.db.sessions() as session:
        outcomes = [
            (e.actor_label, e.action, e.outcome)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action.in_(["contact.viewed", "organization.viewed"]))
            )
        ]
    assert outcomes == [
        ("alice", "contact.viewed", "allowed"),
        ("bob", "contact.viewed", "denied"),
        ("alice", "organization.viewed", "denied"),
        ("ada", "organization.viewed", "allowed"),
        ("alice", "organization.viewed", "allowed"),
    ]


def test_known_values_are_redacted_as_whole_words_in_any_phone_format() -> None:
    owner_key = OwnerKey(uuid.uuid4(), bytes(range(32)))
    known = known_values("Ann Quorvath", "ann.q@example.org", "+1 (415) 555-0199")
    text = "Annual review: Ann Quorvath (ANN QUORVATH) called from 415.555.0199; ann is lowercase. Will do."
    protected = protect_text(
        owner_key, table="cases", column="description", row_id=uuid.uuid4(), text=text, known=known
    )
    redacted = protected.redacted
    assert "Annual review" in redacted  # "Ann" only as a whole word
    assert "Quorvath" not in redacted
    assert "QUORVATH" not in redacted  # the full name matches in any case…
    assert "ann is lowercase" in redacted  # …a single part only as written
    assert "555" not in redacted
    assert "0199" not in redacted
    person_tokens = [token for token, value in protected.tokens.items() if value == "Ann Quorvath"]
    assert len(person_tokens) == 1
    assert redacted.count(person_tokens[0]) == 2  # both spellings, one token
    # Nothing is remembered between calls: without `known`, an unknown surname passes the lexicons.
    plain = protect_text(owner_key, table="cases", column="description", row_id=uuid.uuid4(), text="Quorvath rang")
    assert "Quorvath" in plain.redacted
