"""A deterministic generator of realistic support data full of PII, for the demo and the drills.

The same seed gives the same organisations, customers, staff and case text. Text carries PII the way real
tickets do: names, emails (some obfuscated, `jane @example com`), phone numbers in the customer's national and
international formats, IPv4/IPv6 addresses (some defanged), street addresses, card and IBAN fragments.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from typing import TypeVar

import phonenumbers

from casevault.access.roles import Role
from casevault.cases.models import CaseStatus, ContactKind, NoteVisibility, Priority, QueueRole
from casevault.demo.lexicon import COUNTRIES, ORG_WORDS, SECTORS, Country

__all__ = [
    "CaseData",
    "ContactData",
    "CustomerData",
    "DemoDataset",
    "DemoSize",
    "NoteData",
    "OrganizationData",
    "QueueData",
    "StaffData",
    "generate",
]


@dataclass(frozen=True, slots=True)
class DemoSize:
    """How much data to make; the defaults meet the demo's promise (≥ 200 customers, ≥ 2,000 cases)."""

    organizations: int = 90
    customers: int = 240
    cases: int = 2000
    agents_per_queue: int = 3


@dataclass(frozen=True, slots=True)
class OrganizationData:
    name: str
    country: str
    sector: str
    domain: str


@dataclass(frozen=True, slots=True)
class ContactData:
    kind: ContactKind
    name: str = field(repr=False)
    email: str = field(repr=False)
    phone: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CustomerData:
    organization: int  # index into DemoDataset.organizations
    country: str
    name: str = field(repr=False)
    email: str = field(repr=False)
    phone: str = field(repr=False)
    contacts: tuple[ContactData, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class QueueData:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class StaffData:
    username: str
    display_name: str
    role: Role
    queues: tuple[tuple[str, QueueRole], ...] = ()


@dataclass(frozen=True, slots=True)
class NoteData:
    visibility: NoteVisibility
    body: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CaseData:
    customer: int  # index into DemoDataset.customers
    queue: str
    priority: Priority
    status: CaseStatus
    assignee: str | None  # staff username
    subject: str = field(repr=False)
    description: str = field(repr=False)
    notes: tuple[NoteData, ...] = field(repr=False)
    resolution: str | None = field(repr=False)
    remarks: str | None = field(repr=False)
    # Every PII literal written into this case's text, as (kind, text exactly as written): for recall checks.
    written_pii: tuple[tuple[str, str], ...] = field(repr=False)


@dataclass(frozen=True)
class DemoDataset:
    organizations: list[OrganizationData]
    customers: list[CustomerData]
    queues: list[QueueData]
    staff: list[StaffData]
    cases: list[CaseData]

    def pii_values(self) -> list[tuple[str, str]]:
        """Every PII value the dataset contains, as (kind, value): structured fields and literals in text."""
        values: list[tuple[str, str]] = []
        for customer in self.customers:
            values += [("customer.name", customer.name), ("customer.email", customer.email)]
            values.append(("customer.phone", customer.phone))
            for contact in customer.contacts:
                values += [("contact.name", contact.name), ("contact.email", contact.email)]
                values.append(("contact.phone", contact.phone))
        for case in self.cases:
            values += [(f"text.{kind}", literal) for kind, literal in case.written_pii]
        return values

    def __repr__(self) -> str:
        return (
            f"DemoDataset(organizations={len(self.organizations)}, customers={len(self.customers)}, "
            f"cases={len(self.cases)}, staff={len(self.staff)})"
        )


QUEUES: tuple[QueueData, ...] = (
    QueueData("billing", "Invoices, refunds, payment failures and billing contacts"),
    QueueData("technical", "Sign-in, API, network and integration problems"),
    QueueData("accounts", "Account changes, users, closures and data exports"),
    QueueData("security", "Suspicious access, lockouts and abuse reports"),
    QueueData("shipping", "Orders, deliveries and returns"),
)

# Agents per queue are named so a demo user can guess the role from the username.
_AGENT_NAMES: tuple[tuple[str, str], ...] = (
    ("alice", "Alice Hart"),
    ("bruno", "Bruno Keller"),
    ("chen", "Chen Wei"),
    ("dana", "Dana Ortiz"),
    ("emeka", "Emeka Obi"),
    ("farah", "Farah Haddad"),
    ("gus", "Gus Lindqvist"),
    ("hana", "Hana Kobayashi"),
    ("ivan", "Ivan Petrov"),
    ("jo", "Jo Fletcher"),
    ("kofi", "Kofi Mensah"),
    ("lena", "Lena Novak"),
    ("mateo", "Mateo Ruiz"),
    ("nina", "Nina Berg"),
    ("omar", "Omar Aziz"),
)
_SUPERVISORS: tuple[tuple[str, str], ...] = (("maria", "Maria Costa"), ("nils", "Nils Andersen"))
_SECURITY_OFFICER = ("sofia", "Sofia Grant")
_ADMIN = ("admin", "Ada Morgan")

_STATUS_WEIGHTS: tuple[tuple[CaseStatus, int], ...] = (
    (CaseStatus.NEW, 15),
    (CaseStatus.OPEN, 30),
    (CaseStatus.PENDING, 20),
    (CaseStatus.RESOLVED, 20),
    (CaseStatus.CLOSED, 15),
)
_PRIORITY_WEIGHTS: tuple[tuple[Priority, int], ...] = (
    (Priority.LOW, 20),
    (Priority.NORMAL, 55),
    (Priority.HIGH, 20),
    (Priority.URGENT, 5),
)
_T = TypeVar("_T")

_IBAN_PATTERNS = {
    "GB": "NWBK99999999999999",
    "IE": "AIBK99999999999999",
    "NL": "ABNA9999999999",
    "IT": "X9999999999999999999999",
}
_IPV4_FIRST_OCTETS = (31, 46, 62, 78, 81, 85, 92, 109, 151, 176, 188, 193, 203, 212, 217)


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if char.isascii() and (char.isalnum() or char in " -'"))


def _slug(text: str) -> str:
    return "".join(char for char in _ascii(text).lower() if char.isalnum())


class _Faker:
    """The generator's random source and PII formatters (bundled lists, phonenumbers for valid numbers)."""

    def __init__(self, seed: int) -> None:
        # Demo data, not secrets: a seeded PRNG is the point (the same seed gives the same dataset).
        self.rng = random.Random(seed)  # noqa: S311

    def pick(self, items: tuple[str, ...] | list[str]) -> str:
        return self.rng.choice(items)

    def person(self, country: Country) -> str:
        return f"{self.pick(country.first_names)} {self.pick(country.last_names)}"

    def email(self, name: str, domain: str) -> str:
        first, _, last = name.partition(" ")
        local = self.rng.choice(
            (
                f"{_slug(first)}.{_slug(last)}",
                f"{_slug(first)[0]}{_slug(last)}",
                f"{_slug(first)}{self.rng.randrange(10, 99)}",
                f"{_slug(first)}_{_slug(last)}",
            )
        )
        return f"{local}@{domain}"

    def phone(self, region: str) -> phonenumbers.PhoneNumber:
        kind = self.rng.choice((phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE))
        example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
        if example is None:
            raise ValueError(f"phonenumbers has no example number for region {region}")
        national = str(example.national_number)
        keep = max(2, len(national) - 5)
        for _ in range(40):
            digits = national[:keep] + "".join(str(self.rng.randrange(10)) for _ in range(len(national) - keep))
            candidate = phonenumbers.parse(f"+{example.country_code}{digits}")
            if phonenumbers.is_valid_number(candidate):
                return candidate
        return example

    def phone_text(self, number: phonenumbers.PhoneNumber, style: str) -> str:
        formats = {
            "national": phonenumbers.PhoneNumberFormat.NATIONAL,
            "international": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            "e164": phonenumbers.PhoneNumberFormat.E164,
        }
        return str(phonenumbers.format_number(number, formats[style]))

    def ipv4(self) -> str:
        octets = (self.rng.choice(_IPV4_FIRST_OCTETS), *(self.rng.randrange(1, 255) for _ in range(3)))
        return ".".join(str(octet) for octet in octets)

    def ipv6(self) -> str:
        groups = [f"{self.rng.randrange(0x10000):x}" for _ in range(4)]
        return f"2a02:{self.rng.randrange(0x1000, 0xFFFF):x}:{':'.join(groups)}::{self.rng.randrange(1, 0xFFFF):x}"

    def address(self, country: Country) -> str:
        city, postcode = self.rng.choice(country.cities)
        return country.address_format.format(
            number=self.rng.randrange(1, 240), street=self.pick(country.streets), postcode=postcode, city=city
        )

    def card(self) -> str:
        prefix = self.rng.choice(("4", "51", "52", "53", "54", "55"))
        body = prefix + "".join(str(self.rng.randrange(10)) for _ in range(15 - len(prefix)))
        digits = body + str(_luhn_check_digit(body))
        return " ".join(digits[i : i + 4] for i in range(0, 16, 4))

    def iban(self, country: Country) -> str | None:
        if country.iban_country is None:
            return None
        pattern = _IBAN_PATTERNS.get(country.code, "9" * country.iban_bban_length)
        bban = "".join(str(self.rng.randrange(10)) if char == "9" else char for char in pattern)
        check = 98 - int(_iban_digits(bban + country.code + "00")) % 97
        compact = f"{country.code}{check:02d}{bban}"
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))

    def obfuscate_email(self, email: str) -> str:
        local, _, domain = email.partition("@")
        labels = domain.split(".")
        return self.rng.choice(
            (
                f"{local} @{' '.join(labels)}",
                f"{local}(at){'(dot)'.join(labels)}",
                f"{local} [at] {' [dot] '.join(labels)}",
                f"{local} at {' dot '.join(labels)}",
            )
        )

    def defang(self, ip: str) -> str:
        head, _, tail = ip.rpartition(".")
        return f"{head}[.]{tail}"


def _luhn_check_digit(body: str) -> int:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def _iban_digits(text: str) -> str:
    return "".join(str(int(char, 36)) for char in text)


def _weighted(rng: random.Random, choices: tuple[tuple[_T, int], ...]) -> _T:
    return rng.choices([value for value, _ in choices], weights=[weight for _, weight in choices])[0]


def generate(size: DemoSize | None = None, *, seed: int = 2026) -> DemoDataset:
    """Build the whole dataset in memory; deterministic for a given seed and size."""
    size = size or DemoSize()
    fake = _Faker(seed)
    rng = fake.rng

    organizations: list[OrganizationData] = []
    used_names: set[str] = set()
    for index in range(size.organizations):
        # Cycling countries and sectors guarantees the spread the demo promises, whatever the seed.
        country = COUNTRIES[index % len(COUNTRIES)]
        sector = SECTORS[index % len(SECTORS)]
        while True:
            word = fake.pick(ORG_WORDS)
            second = rng.choice(("Systems", "Health", "Logistics", "Retail", "Labs", "Partners", "Energy", "Foods"))
            base = f"{word} {second}"
            if base not in used_names:
                used_names.add(base)
                break
        organizations.append(
            OrganizationData(
                name=f"{base} {fake.pick(country.org_suffixes)}",
                country=country.code,
                sector=sector,
                domain=f"{_slug(base)}.{country.email_tld}",
            )
        )

    countries = {country.code: country for country in COUNTRIES}
    customers: list[CustomerData] = []
    phones: dict[int, phonenumbers.PhoneNumber] = {}
    for index in range(size.customers):
        org_index = index % len(organizations)
        org = organizations[org_index]
        country = countries[org.country]
        name = fake.person(country)
        number = fake.phone(country.code)
        phones[index] = number
        contacts = tuple(
            ContactData(
                kind=kind,
                name=(contact_name := fake.person(country)),
                email=fake.email(contact_name, org.domain),
                phone=fake.phone_text(fake.phone(country.code), "international"),
            )
            for kind in (ContactKind.BILLING, ContactKind.TECHNICAL)
        )
        customers.append(
            CustomerData(
                organization=org_index,
                country=country.code,
                name=name,
                email=fake.email(name, org.domain),
                phone=fake.phone_text(number, "international"),
                contacts=contacts,
            )
        )

    staff = _staff(size)
    agents_by_queue: dict[str, list[str]] = {queue.name: [] for queue in QUEUES}
    for member in staff:
        for queue_name, queue_role in member.queues:
            if queue_role is QueueRole.MEMBER:
                agents_by_queue[queue_name].append(member.username)

    display_names = {member.username: member.display_name for member in staff}
    cases: list[CaseData] = []
    for _ in range(size.cases):
        customer_index = rng.randrange(len(customers))
        customer = customers[customer_index]
        context = _TextContext(
            fake,
            customer,
            organizations[customer.organization],
            countries[customer.country],
            phones[customer_index],
        )
        template = rng.choice(_CASE_TEMPLATES)
        status = _weighted(rng, _STATUS_WEIGHTS)
        assignee = None if status is CaseStatus.NEW else rng.choice(agents_by_queue[template.queue])
        context.values["agent"] = display_names[assignee].split()[0] if assignee else "Support team"
        subject = context.fill(template.subject)
        description = context.fill(template.description)
        notes: list[NoteData] = []
        if status is not CaseStatus.NEW:
            for _ in range(rng.randrange(1, 4)):
                visibility = rng.choice((NoteVisibility.PUBLIC, NoteVisibility.INTERNAL))
                pool = _PUBLIC_REPLIES if visibility is NoteVisibility.PUBLIC else _INTERNAL_NOTES
                notes.append(NoteData(visibility, context.fill(rng.choice(pool))))
        resolution = (
            context.fill(rng.choice(_RESOLUTIONS)) if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) else None
        )
        remarks = context.fill(rng.choice(_REMARKS)) if rng.random() < 0.15 else None
        cases.append(
            CaseData(
                customer=customer_index,
                queue=template.queue,
                priority=_weighted(rng, _PRIORITY_WEIGHTS),
                status=status,
                assignee=assignee,
                subject=subject,
                description=description,
                notes=tuple(notes),
                resolution=resolution,
                remarks=remarks,
                written_pii=tuple(sorted(context.written)),
            )
        )
    return DemoDataset(organizations, customers, list(QUEUES), staff, cases)


def _staff(size: DemoSize) -> list[StaffData]:
    staff: list[StaffData] = []
    names = iter(_AGENT_NAMES)
    for queue in QUEUES:
        for _ in range(size.agents_per_queue):
            username, display = next(names)
            staff.append(StaffData(username, display, Role.AGENT, ((queue.name, QueueRole.MEMBER),)))
    half = (len(QUEUES) + 1) // 2
    for position, (username, display) in enumerate(_SUPERVISORS):
        supervised = QUEUES[:half] if position == 0 else QUEUES[half:]
        staff.append(
            StaffData(username, display, Role.SUPERVISOR, tuple((q.name, QueueRole.SUPERVISOR) for q in supervised))
        )
    staff.append(StaffData(*_SECURITY_OFFICER, Role.SECURITY_OFFICER))
    staff.append(StaffData(*_ADMIN, Role.ADMIN))
    return staff


class _TextContext:
    """Fills a template's {placeholders} for one case, remembering every PII literal it wrote."""

    def __init__(
        self,
        fake: _Faker,
        customer: CustomerData,
        org: OrganizationData,
        country: Country,
        phone: phonenumbers.PhoneNumber,
    ) -> None:
        rng = fake.rng
        billing, technical = customer.contacts
        email = customer.email
        other_name = fake.person(country)
        iban = fake.iban(country) or fake.iban(COUNTRIES[2])  # non-IBAN countries pay into a German account
        assert iban is not None
        self.written: set[tuple[str, str]] = set()
        self._pii = {
            "name": ("PERSON", customer.name),
            "first": ("PERSON", customer.name.split()[0]),
            "email": ("EMAIL_ADDRESS", email),
            "email_obf": ("EMAIL_ADDRESS", fake.obfuscate_email(email)),
            "phone_national": ("PHONE_NUMBER", fake.phone_text(phone, "national")),
            "phone_intl": ("PHONE_NUMBER", fake.phone_text(phone, rng.choice(("international", "e164")))),
            "ip": ("IP_ADDRESS", fake.ipv4()),
            "ip2": ("IP_ADDRESS", fake.ipv4()),
            "ip_defanged": ("IP_ADDRESS", fake.defang(fake.ipv4())),
            "ipv6": ("IP_ADDRESS", fake.ipv6()),
            "address": ("STREET_ADDRESS", fake.address(country)),
            "card_full": ("CREDIT_CARD", fake.card()),
            "iban": ("IBAN_CODE", iban),
            "billing_name": ("PERSON", billing.name),
            "billing_email": ("EMAIL_ADDRESS", billing.email),
            "billing_email_obf": ("EMAIL_ADDRESS", fake.obfuscate_email(billing.email)),
            "tech_name": ("PERSON", technical.name),
            "tech_email": ("EMAIL_ADDRESS", technical.email),
            "tech_phone": ("PHONE_NUMBER", technical.phone),
            "new_name": ("PERSON", other_name),
            "new_email": ("EMAIL_ADDRESS", fake.email(other_name, org.domain)),
        }
        self.values = {
            "org": org.name,
            "card_last4": f"{rng.randrange(10000):04d}",
            "iban_last4": iban.replace(" ", "")[-4:],
            "invoice": f"INV-{rng.randrange(100000, 999999)}",
            "order": f"SO-{rng.randrange(1000000, 9999999)}",
            "amount": f"{rng.randrange(20, 2000)}.{rng.randrange(100):02d}",
            "date": f"{rng.randrange(1, 28)} {rng.choice(('March', 'April', 'May', 'June', 'July'))}",
            "ref": f"FIN-{rng.randrange(1000, 9999)}",
            "agent": "Support team",
        }

    def fill(self, template: str) -> str:
        values = dict(self.values)
        for key, (kind, literal) in self._pii.items():
            if "{" + key + "}" in template:
                values[key] = literal
                self.written.add((kind, literal))
        return template.format(**values)


@dataclass(frozen=True, slots=True)
class _CaseTemplate:
    queue: str
    subject: str
    description: str


_CASE_TEMPLATES: tuple[_CaseTemplate, ...] = (
    _CaseTemplate(
        "technical",
        "Cannot log in to the portal",
        "Hi, this is {name} from {org}. Since this morning none of our users can log in to the portal. I'm "
        "connecting from {ip} and get error 403 every time. You can reach me on {phone_national} or at {email}.",
    ),
    _CaseTemplate(
        "technical",
        "VPN drops every 20 minutes",
        "Our VPN gateway at {ip} has been dropping connections every 20 minutes since the update on {date}. "
        "Our technical contact {tech_name} ({tech_email}, {tech_phone}) has the logs. Please call back, urgent.",
    ),
    _CaseTemplate(
        "billing",
        "Double charge on invoice {invoice}",
        "Hello support, I was charged twice on invoice {invoice}. The card ending in {card_last4} shows two "
        "debits of {amount}. Please refund one to our account {iban}.\n\nRegards,\n{name}",
    ),
    _CaseTemplate(
        "billing",
        "Billing address change",
        "Please update our billing address to {address}. From now on invoices should go to {billing_name}, "
        "{billing_email_obf}. Thanks, {name}",
    ),
    _CaseTemplate(
        "accounts",
        "Password reset email never arrives",
        "I can't reset my password. The reset email never arrives at {email_obf}. My mobile is {phone_intl} if "
        "you need to verify me. {name}",
    ),
    _CaseTemplate(
        "security",
        "Suspicious sign-in to our account",
        "We think someone accessed our account from {ip_defanged}, which is not one of ours. Please lock the "
        "user {email} and send the audit log to {tech_email}. Call me on {phone_intl}.",
    ),
    _CaseTemplate(
        "shipping",
        "Order {order} delivered to the wrong address",
        "Order {order} was delivered to our old office. It should have gone to {address}. Please contact me "
        "at {phone_national}.\n{name}",
    ),
    _CaseTemplate(
        "technical",
        "TLS handshake failure on the API",
        "Our developer {tech_name} gets a TLS handshake failure when calling the API from {ipv6}. Could someone "
        "take a look? Reply to {tech_email} please.",
    ),
    _CaseTemplate(
        "accounts",
        "Close account and refund remaining credit",
        "We would like to close our account and have the remaining credit refunded to IBAN {iban}. Account "
        "holder: {name}, {address}.",
    ),
    _CaseTemplate(
        "billing",
        "Card payment keeps failing",
        "Payment failed with card {card_full}, exp 09/28. We tried three times from {ip}. Please advise.\n"
        "{name}, {phone_intl}",
    ),
    _CaseTemplate(
        "accounts",
        "Add a second billing contact",
        "Please add {new_name} ({new_email}) as a billing contact for {org}; she replaces {billing_name} "
        "({billing_email}) from next month.",
    ),
    _CaseTemplate(
        "accounts",
        "Data export keeps timing out",
        "The data export we requested keeps timing out. The job was started by {email} from {ip}. Could you "
        "send the file to {email_obf} instead? Thanks, {first}",
    ),
    _CaseTemplate(
        "security",
        "Locked out after MFA reset request",
        "Someone called your support line pretending to be me and asked for an MFA reset. I did not. My real "
        "number is {phone_intl}, email {email}. Please check sign-ins from {ip} and {ip2}. {name}",
    ),
    _CaseTemplate(
        "shipping",
        "Return label for damaged delivery",
        "The parcel for order {order} arrived damaged. Please send a return label to {email} and collect from "
        "{address}. Phone {phone_national}, ask for {first}.",
    ),
)

_PUBLIC_REPLIES: tuple[str, ...] = (
    "Hi {first}, thanks for getting in touch. I've reset the sessions for {email}; please try again and let "
    "us know. Kind regards, {agent}",
    "Hello {first}, we've issued the refund to the account ending {iban_last4}; it should arrive in 3-5 "
    "working days. {agent}",
    "Hi {first}, could you confirm the number we should call? We have {phone_intl} on file.",
    "Thanks {first}, we're escalating this to our network team and will update you tomorrow. {agent}",
    "Hi {first}, the address is now {address}; you'll see it on your next invoice. {agent}",
    "Hello {first}, we've sent the details to {tech_email} as requested. {agent}",
)

_INTERNAL_NOTES: tuple[str, ...] = (
    "Called {name} on {phone_national}, identity verified with the last 4 of the card ({card_last4}). "
    "Waiting on finance.",
    "Sign-in attempts from {ip} and {ip2} in the auth log; looks like credential stuffing. Told the customer "
    "to rotate passwords.",
    "Third ticket this month. Their tech contact {tech_name} ({tech_phone}) is the better person to call.",
    "Duplicate charge confirmed; refund to {iban} requested from finance (ref {ref}).",
    "Escalated to L2. Reproduced with a test account, so not specific to {email}.",
    "Customer asked us to use {billing_email} for anything about invoices.",
)

_RESOLUTIONS: tuple[str, ...] = (
    "Refund issued to {iban}; customer confirmed by phone ({phone_intl}).",
    "Session store cleared; {name} confirmed access is restored.",
    "Gateway at {ip} updated to the fixed firmware; no drops for 48 hours.",
    "Address updated to {address}.",
    "No fault found on our side; advised the customer on browser settings.",
)

_REMARKS: tuple[str, ...] = (
    "Key account: call {phone_intl} before closing anything.",
    "Customer prefers email at {email}.",
    "Billing disputes go to {billing_name} only.",
)
