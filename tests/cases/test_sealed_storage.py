"""PII at rest: sealed under the customer's key, bound to its row and column; redacted copies use tokens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from case_world import World
from sqlalchemy import inspect, select, text, update

from casevault.cases import services
from casevault.cases.models import Case, Contact, Customer, RedactionVault
from casevault.cases.text import open_tokens
from casevault.crypto import SealError, aad_for

NAME = "Priya Raghunathan"
EMAIL = "priya.r@example.in"
PHONE = "+91 98765 43210"
DESCRIPTION_SECRET = "my router password is hunter2-zebra"


def _all_stored_values(world: World) -> list[bytes]:
    """Every value in every table of the database, as bytes (what an attacker with a dump would get)."""
    values: list[bytes] = []
    with world.db.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        for table in tables:
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - names from the catalog
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        values.append(bytes(value))
                    elif value is not None:
                        values.append(str(value).encode())
    return values


def test_raw_rows_hold_no_plaintext_pii(world: World, tmp_path: Path) -> None:
    customer = world.new_customer(NAME, EMAIL, phone=PHONE, country="IN")
    world.as_("ada").post(
        f"/customers/{customer}/contacts",
        json={"kind": "technical", "name": "Arjun Mehta", "email": "arjun.m@example.in"},
    )
    number = world.new_case(
        customer,
        f"Hi, {NAME} here ({EMAIL}, {PHONE}); {DESCRIPTION_SECRET}.",
        subject=f"Help for {EMAIL}",
        assignee="alice",
    )
    world.as_("alice").post(f"/cases/{number}/notes", json={"body": f"Called {PHONE}, spoke to {NAME}"})

    # Names no lexicon knows are still redacted when they are this customer's (or its contacts') own.
    unusual = world.new_customer("Zyxel Quorvath", "zq@example.is", phone="+354 551 2345", country="IS")
    world.as_("ada").post(
        f"/customers/{unusual}/contacts", json={"kind": "billing", "name": "Brannoc Yewdale", "email": "by@example.is"}
    )
    odd = world.new_case(
        unusual,
        "Ask Zyxel Quorvath, or just Quorvath. Brannoc Yewdale from billing rings 551-2345 daily. Annual plan.",
    )
    redacted = world.as_("alice").get(f"/cases/{odd}").json()["description"]
    for fragment in ("Zyxel", "Quorvath", "Brannoc", "Yewdale", "551-2345", "2345"):
        assert fragment not in redacted, fragment
    assert "Annual plan" in redacted
    assert redacted.count("[PERSON:") == 3

    stored = b"\n".join(_all_stored_values(world))
    # "98765 43210": the phone written without its country code (a bare 5-digit fragment can occur by chance
    # inside random token or id hex, so the needle is the whole national number).
    for needle in (EMAIL, "Arjun Mehta", "arjun.m@example.in", PHONE, NAME, "98765 43210", "Quorvath", "Yewdale"):
        assert needle.encode() not in stored, needle
    # Non-PII words survive in the redacted copy (so search and views still work).
    assert b"router password" in stored
    if world.db.dialect == "sqlite":
        # The whole file and its write-ahead log, including the FTS5 index pages.
        database_file = Path(str(world.db.engine.url.database))
        raw = database_file.read_bytes() + (database_file.with_name(database_file.name + "-wal").read_bytes())
        assert EMAIL.encode() not in raw
        assert NAME.encode() not in raw


def test_ciphertext_moved_to_another_row_or_column_fails_to_open(world: World) -> None:
    reference = world.new_customer(NAME, EMAIL, phone=PHONE, country="IN")
    first = world.new_case(reference, f"first case from {EMAIL}")
    second = world.new_case(reference, "second case about toner")
    world.as_("ada").post(
        f"/customers/{reference}/contacts",
        json={"kind": "billing", "name": "Arjun Mehta", "email": "arjun.m@example.in"},
    )
    with world.db.unit_of_work() as session:
        customer = session.scalars(select(Customer).where(Customer.reference == reference)).one()
        assert services.open_customer(session, world.keyring, customer).email == EMAIL
        contact = session.scalars(select(Contact).where(Contact.customer_id == customer.id)).one()
        # Same key, wrong row: the customer's email pasted into its contact.
        session.execute(update(Contact).where(Contact.id == contact.id).values(email_sealed=customer.email_sealed))
        # Same row, wrong column: the email pasted over the name.
        session.execute(update(Customer).where(Customer.id == customer.id).values(name_sealed=customer.email_sealed))
        cases = {c.number: c for c in session.scalars(select(Case).where(Case.number.in_([first, second])))}
        session.execute(
            update(Case).where(Case.id == cases[second].id).values(description_sealed=cases[first].description_sealed)
        )
    with world.db.sessions() as session:
        customer = session.scalars(select(Customer).where(Customer.reference == reference)).one()
        contact = session.scalars(select(Contact).where(Contact.customer_id == customer.id)).one()
        with pytest.raises(SealError):
            services.open_customer(session, world.keyring, customer)
        with pytest.raises(SealError):
            services.open_customer(session, world.keyring, contact)
        moved = session.scalars(select(Case).where(Case.number == second)).one()
        owner_key = world.keyring.for_owner(session, moved.customer_id)
        with pytest.raises(SealError):
            owner_key.open(moved.description_sealed, aad_for("cases", "description_sealed", moved.id))
        original = session.scalars(select(Case).where(Case.number == first)).one()
        opened = owner_key.open(original.description_sealed, aad_for("cases", "description_sealed", original.id))
        assert opened == f"first case from {EMAIL}"
    # The API never opens case text, and customer views fail closed (500 without detail), not with garbage.
    response = world.as_("alice").get(f"/cases/{first}")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"


def _email_tokens(text_value: str) -> list[str]:
    return re.findall(r"\[EMAIL_ADDRESS:[0-9a-f]+\]", text_value)


def test_tokens_are_per_customer_and_shredding_keeps_only_redacted_text(world: World) -> None:
    shared = "shared.person@example.com"
    first_customer = world.new_customer("Ana Souza", "ana@example.br", country="BR")
    second_customer = world.new_customer("Bo Lind", "bo@example.se", country="SE")
    one = world.new_case(first_customer, f"Forward invoices to {shared} please")
    two = world.new_case(first_customer, f"Did {shared.upper()} get the invoice?")
    three = world.new_case(second_customer, f"Please cc {shared}")

    def description(number: str) -> str:
        return str(world.as_("alice").get(f"/cases/{number}").json()["description"])

    tokens_one, tokens_two, tokens_three = (_email_tokens(description(n)) for n in (one, two, three))
    assert len(tokens_one) == 1
    assert tokens_one == tokens_two  # same customer, same value (even in another case and spelling)
    assert tokens_one != tokens_three  # another customer's key gives an unlinkable token

    # The token map is sealed per case and source, and opens to the original value.
    with world.db.sessions() as session:
        case = session.scalars(select(Case).where(Case.number == one)).one()
        vault = session.scalars(
            select(RedactionVault).where(RedactionVault.case_id == case.id, RedactionVault.source == "case.description")
        ).one()
        assert shared.encode() not in vault.tokens_sealed
        owner_key = world.keyring.for_owner(session, case.customer_id)
        assert open_tokens(owner_key, vault.id, vault.tokens_sealed) == {tokens_one[0]: shared}

    # Crypto-shredding the customer's key: cases stay readable (redacted), nothing of theirs opens or is added.
    reference = world.new_customer("Sven Olsen", "sven@example.dk", country="DK")
    number = world.new_case(reference, "Please delete my data, write to sven@example.dk", assignee="alice")
    app_keyring = world.client.app.state.runtime.keyring  # type: ignore[attr-defined]
    with world.db.unit_of_work() as session:
        customer = session.scalars(select(Customer).where(Customer.reference == reference)).one()
        assert app_keyring.shred(session, customer.id)

    case = world.as_("alice").get(f"/cases/{number}")
    assert case.status_code == 200
    assert case.json()["customer"] == {"reference": reference, "name": "[erased]", "email": "[erased]"}
    assert "[EMAIL_ADDRESS:" in case.json()["description"]
    note = world.as_("alice").post(f"/cases/{number}/notes", json={"body": "more"})
    assert note.status_code == 409
    assert note.json()["error"]["message"] == "the customer's data has been erased"
    assert world.as_("alice").get(f"/customers/{reference}").status_code == 409
    lookup = world.as_("alice").get("/customers/lookup", params={"email": "sven@example.dk"}).json()["items"]
    assert lookup == []  # the blind index survives the key; the lookup must not confirm an erased customer
