"""The demo data generator: deterministic, spread over countries and sectors, and full of valid PII."""

from __future__ import annotations

import re

import phonenumbers
import pytest

from casevault.access.roles import Role
from casevault.cases.models import CaseStatus, NoteVisibility
from casevault.demo import DemoDataset, generate


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return generate(seed=11)


def test_same_seed_same_data_and_different_seed_different_data(dataset: DemoDataset) -> None:
    again = generate(seed=11)
    other = generate(seed=12)

    assert again.cases == dataset.cases
    assert again.customers == dataset.customers
    assert other.cases != dataset.cases


def test_meets_the_demo_promise(dataset: DemoDataset) -> None:
    assert len(dataset.customers) >= 200
    assert len(dataset.cases) >= 2000
    assert len({org.country for org in dataset.organizations}) >= 15
    assert len({org.sector for org in dataset.organizations}) >= 6
    assert len(dataset.queues) >= 4
    assert {member.role for member in dataset.staff} == set(Role)
    assert {case.status for case in dataset.cases} == set(CaseStatus)
    notes = [note for case in dataset.cases for note in case.notes]
    assert {note.visibility for note in notes} == set(NoteVisibility)
    assert all(len(customer.contacts) == 2 for customer in dataset.customers)


def test_every_agent_is_in_a_queue_and_every_assignee_is_a_member_of_the_case_queue(dataset: DemoDataset) -> None:
    members = {(m.username, q) for m in dataset.staff for q, _ in m.queues}

    assert all(m.queues for m in dataset.staff if m.role == Role.AGENT)
    assert all((case.assignee, case.queue) in members for case in dataset.cases if case.assignee)
    assert all(case.assignee is None for case in dataset.cases if case.status == CaseStatus.NEW)


def test_phone_numbers_are_valid_for_the_customer_country(dataset: DemoDataset) -> None:
    for customer in dataset.customers:
        number = phonenumbers.parse(customer.phone)
        assert phonenumbers.is_valid_number(number), customer.country
        assert phonenumbers.region_code_for_number(number) == customer.country


def test_card_numbers_pass_luhn_and_ibans_pass_mod_97(dataset: DemoDataset) -> None:
    values = dataset.pii_values()
    cards = [value for kind, value in values if kind == "text.CREDIT_CARD"]
    ibans = [value for kind, value in values if kind == "text.IBAN_CODE"]

    assert cards
    assert ibans
    for card in cards:
        digits = [int(d) for d in card.replace(" ", "")][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        assert total % 10 == 0
    for iban in ibans:
        compact = iban.replace(" ", "")
        rearranged = compact[4:] + compact[:4]
        assert int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def test_text_carries_obfuscated_and_defanged_forms(dataset: DemoDataset) -> None:
    text = "\n".join(case.description for case in dataset.cases)

    assert re.search(r"\S+ @\w+ \w+", text)  # jane @example com
    assert "(at)" in text
    assert "(dot)" in text
    assert "[at]" in text
    assert "[.]" in text  # defanged IP
    assert re.search(r"2a02:[0-9a-f:]+", text)  # IPv6


def test_repr_never_shows_personal_data(dataset: DemoDataset) -> None:
    customer = dataset.customers[0]
    case = dataset.cases[0]

    assert customer.email not in repr(customer)
    assert customer.name not in repr(customer)
    assert case.description not in repr(case)
    assert "customers=240" in repr(dataset)
