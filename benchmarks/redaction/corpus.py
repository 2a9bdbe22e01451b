"""Labelled support-ticket corpus generator: Faker in several locales, obfuscated forms, and decoys.

Usage: .venv/bin/python -m benchmarks.redaction.corpus --count 2000 --seed 7 --out benchmarks/out/corpus.jsonl
Each line: {"id": ..., "locale": ..., "text": ..., "spans": [[start, end, "ENTITY_TYPE"], ...]}.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import ipaddress
import json
import random
import string
from collections.abc import Callable
from pathlib import Path

import phonenumbers
from faker import Faker

LOCALES = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "en_CA": "CA", "en_AU": "AU", "en_IN": "IN"}
WORLD_CITIES = [
    "London", "Paris", "Berlin", "Munich", "Hamburg", "Lyon", "Marseille", "Toulouse", "Manchester",
    "Birmingham", "Leeds", "Glasgow", "Edinburgh", "Dublin", "Madrid", "Barcelona", "Rome", "Milan",
    "Amsterdam", "Rotterdam", "Brussels", "Vienna", "Zurich", "Geneva", "Stockholm", "Oslo", "Copenhagen",
    "Helsinki", "Warsaw", "Prague", "Budapest", "Lisbon", "Athens", "Istanbul", "New York", "Chicago",
    "Los Angeles", "San Francisco", "Seattle", "Boston", "Denver", "Atlanta", "Miami", "Toronto", "Montreal",
    "Vancouver", "Calgary", "Ottawa", "Sydney", "Melbourne", "Brisbane", "Perth", "Auckland", "Mumbai",
    "Delhi", "Bangalore", "Chennai", "Hyderabad", "Pune", "Kolkata", "Tokyo", "Osaka", "Singapore",
    "Hong Kong", "Seoul", "Dubai", "Johannesburg", "Cape Town", "Nairobi", "Lagos", "Cairo", "Mexico City",
    "Sao Paulo", "Buenos Aires", "Bogota", "Lima", "Santiago", "Frankfurt", "Cologne", "Stuttgart",
    "Düsseldorf", "Leipzig", "Dresden", "Nantes", "Bordeaux", "Lille", "Nice", "Strasbourg", "Bristol",
    "Liverpool", "Sheffield", "Cardiff", "Belfast", "Phoenix", "Dallas", "Houston", "Austin", "Portland",
    "Minneapolis", "Detroit", "Philadelphia", "Pittsburgh", "Baltimore", "Nashville", "Orlando", "Tampa",
]  # fmt: skip
COUNTRIES = [
    "Germany", "France", "Spain", "Italy", "Canada", "Australia", "India", "Japan", "Brazil", "Mexico",
    "Ireland", "Poland", "Sweden", "Norway", "Denmark", "Finland", "Portugal", "Netherlands", "Belgium",
    "Austria", "Switzerland", "United Kingdom", "United States", "Singapore", "South Africa", "New Zealand",
]  # fmt: skip

Piece = tuple[str, str | None]  # (text, entity type or None)


class Ticket:
    """Accumulates text and exact spans as pieces are appended."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[list[object]] = []
        self.length = 0

    def add(self, text: str, entity: str | None = None) -> None:
        if entity is not None:
            self.spans.append([self.length, self.length + len(text), entity])
        self.parts.append(text)
        self.length += len(text)

    def extend(self, pieces: list[Piece]) -> None:
        for text, entity in pieces:
            self.add(text, entity)

    @property
    def text(self) -> str:
        return "".join(self.parts)


class Generator:
    """Draws entity values and decoys for one locale."""

    def __init__(self, rng: random.Random, locale: str) -> None:
        self.rng = rng
        self.locale = locale
        self.region = LOCALES[locale]
        self.fake = Faker(locale)
        self.fake.seed_instance(rng.randrange(2**32))
        self.fake_us = Faker("en_US")
        self.fake_us.seed_instance(rng.randrange(2**32))

    # --- entities -------------------------------------------------------------------------------------
    def person(self) -> str:
        fake = self.fake
        return self.rng.choice([f"{fake.first_name()} {fake.last_name()}", fake.name(), fake.first_name()])

    def full_name(self) -> str:
        return f"{self.fake.first_name()} {self.fake.last_name()}"

    def email(self) -> str:
        fake, rng = self.fake, self.rng
        user = rng.choice([fake.user_name(), f"{fake.first_name()}.{fake.last_name()}".lower()])
        user = "".join(char for char in user if char.isascii() and (char.isalnum() or char in "._-")) or "user"
        domain = rng.choice([fake.free_email_domain(), fake.domain_name(), "contoso.com", "example.co.uk"])
        form = rng.random()
        name, *rest = domain.split(".")
        if form < 0.55:
            return f"{user}@{domain}"
        styles = [
            lambda: f"{user} @{domain.replace('.', ' ')}",
            lambda: f"{user} at {name} dot {' dot '.join(rest)}",
            lambda: f"{user.replace('.', ' dot ')} at {domain.replace('.', ' dot ')}",
            lambda: f"{user} [at] {name} [dot] {' [dot] '.join(rest)}",
            lambda: f"{user}(at){domain}",
            lambda: f"{user} {{at}} {name} {{dot}} {' {dot} '.join(rest)}",
            lambda: f"{user}＠{domain}",
            lambda: f"{user[:2]}\u200b{user[2:]}@{domain}",
            lambda: f"{user}%40{domain}",
            lambda: f"{user} @ {domain}",
            lambda: f"{user} AT {domain.replace('.', ' DOT ')}",
        ]
        return rng.choice(styles)()

    def phone(self) -> str:
        for _ in range(40):
            raw = self.fake.phone_number()
            try:
                number = phonenumbers.parse(raw, self.region)
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(number):
                continue
            style = self.rng.random()
            if style < 0.4:
                return raw
            if style < 0.6:
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            if style < 0.8:
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            mixed = "".join(self.rng.choice([" ", "-", "."]) if char in " -" else char for char in national)
            has_extension = number.extension is not None
            return mixed + ("" if has_extension else self.rng.choice(["", "", " ext. 204", " x31"]))
        return "+1 415-555-0132"

    def ip(self) -> str:
        rng = self.rng
        form = rng.random()
        if form < 0.55:
            return str(ipaddress.IPv4Address(rng.randrange(0x0B000000, 0xDF000000)))
        if form < 0.7:
            value = str(ipaddress.IPv4Address(rng.randrange(0x0B000000, 0xDF000000)))
            head, tail = value.rsplit(".", 1)
            return rng.choice([f"{head}[.]{tail}", value.replace(".", "[.]"), value.replace(".", " . ")])
        if form < 0.85:
            return str(ipaddress.IPv6Address(rng.randrange(2**128)))
        if form < 0.93:
            return rng.choice(["fe80::1ff:fe23:4567:890a%eth0", "fe80::a00:27ff:fe4e:66a1%en0", "2001:db8::1"])
        return "::ffff:" + str(ipaddress.IPv4Address(rng.randrange(0x0B000000, 0xDF000000)))

    def card(self) -> str:
        kind = self.rng.choice(["visa16", "mastercard", "amex", "discover", "jcb", "diners", "visa16"])
        digits = self.fake_us.credit_card_number(card_type=kind)
        if kind == "mastercard" and self.rng.random() < 0.4:
            digits = _luhn_complete(str(self.rng.randint(2221, 2720)) + _digits(self.rng, 11))
        separator = self.rng.choice(["", " ", "-", ".", " "])
        groups = [4, 6, 5] if len(digits) == 15 else [4, 6, 4] if len(digits) == 14 else [4, 4, 4, 4]
        out, index = [], 0
        for size in groups:
            out.append(digits[index : index + size])
            index += size
        return separator.join(out) if separator else digits

    def _seeded(self, locale: str) -> Faker:
        # A fresh Faker draws from Faker's shared, OS-seeded random: seed it from ours to stay deterministic.
        fake = Faker(locale)
        fake.seed_instance(self.rng.randrange(2**32))
        return fake

    def iban(self) -> str:
        country = self.rng.choice(["de_DE", "fr_FR", "en_GB", "nl_NL", "es_ES", "it_IT"])
        value = self._seeded(country).iban()
        if self.rng.random() < 0.5:
            value = " ".join(value[index : index + 4] for index in range(0, len(value), 4))
        return value

    def ssn(self) -> str:
        value = self.fake_us.ssn()
        return self.rng.choice([value, value, value.replace("-", " ")])

    def url(self) -> str:
        fake = self.fake
        return self.rng.choice(
            [fake.url() + fake.uri_path(), f"https://{fake.domain_name()}/account?id={fake.random_int(1000, 99999)}",
             f"www.{fake.domain_name()}", fake.url()]
        )  # fmt: skip

    def mac(self) -> str:
        value = self.fake.mac_address()
        return self.rng.choice([value, value.upper().replace(":", "-"), value])

    def crypto(self) -> str:
        rng = self.rng
        form = rng.random()
        if form < 0.4:
            return _base58check(bytes([rng.choice([0, 5])]) + rng.randbytes(20))
        if form < 0.7:
            return _bech32_address(rng.randbytes(20))
        return "0x" + rng.randbytes(20).hex()

    def credential(self) -> list[Piece]:
        rng = self.rng
        password = self.fake.password(length=rng.randint(8, 16), special_chars=rng.random() < 0.5)
        password = password.replace(",", "!").replace(";", "#").replace("'", "x").replace('"', "y")
        choice = rng.randrange(7)
        if choice == 0:
            return [("my password is ", None), (password, "CREDENTIAL")]
        if choice == 1:
            return [("pwd: ", None), (password, "CREDENTIAL")]
        if choice == 2:
            return [
                ("AWS key ", None),
                ("AKIA" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16)), "CREDENTIAL"),
            ]
        if choice == 3:
            return [
                ("token ", None),
                ("ghp_" + "".join(rng.choices(string.ascii_letters + string.digits, k=36)), "CREDENTIAL"),
            ]
        if choice == 4:
            host = self.fake.domain_word()
            return [("DSN ", None), (f"postgresql://app:{password}@{host}.internal:5432/prod", "CREDENTIAL")]
        if choice == 5:
            body = "\n".join("".join(rng.choices(string.ascii_letters + string.digits + "+/", k=64)) for _ in range(3))
            return [
                ("key:\n", None),
                (f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----", "CREDENTIAL"),
            ]
        return [
            ("api_key=", None),
            ("sk_live_" + "".join(rng.choices(string.ascii_letters + string.digits, k=24)), "CREDENTIAL"),
        ]

    def address(self) -> str:
        locale = self.rng.choice(["en_US", "en_GB", "de_DE", "fr_FR"])
        value = self._seeded(locale).address() if locale != self.locale else self.fake.address()
        return value if self.rng.random() < 0.5 else value.replace("\n", ", ")

    def city(self) -> str:
        return self.rng.choice(WORLD_CITIES)

    def country(self) -> str:
        return self.rng.choice(COUNTRIES)

    # --- decoys ---------------------------------------------------------------------------------------
    def decoy(self) -> str:
        rng, fake = self.rng, self.fake
        options: list[Callable[[], str]] = [
            lambda: f"order ORD-{rng.randint(2020, 2026)}-{rng.randint(100000, 999999)}",
            lambda: f"order #{rng.randint(10**8, 10**10)}",
            lambda: f"version {rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
            lambda: f"build 10.0.{rng.randint(10000, 22631)}.{rng.randint(1, 3000)}",
            lambda: f"request id {fake.uuid4()}",
            lambda: f"KB{rng.randint(4000000, 5999999)}",
            lambda: rng.choice(["error 0x80070005", "0x800f0922", "error code 0xC004F074", "HRESULT 0x80004005"]),
            lambda: f"${rng.randint(1, 9)},{rng.randint(100, 999)}.{rng.randint(10, 99)}",
            lambda: f"€{rng.randint(10, 999)},{rng.randint(10, 99)}",
            lambda: f"case CV-2026-{rng.randint(0, 999999):06d}",
            lambda: f"invoice INV-{rng.randint(100000, 999999)}",
            # Bounded, so the corpus does not change with today's date.
            lambda: f"{fake.date_between_dates(datetime.date(2015, 1, 1), datetime.date(2026, 1, 1))}",
            lambda: f"at {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
            lambda: f"tracking 1Z{''.join(rng.choices(string.ascii_uppercase + string.digits, k=16))}",
            lambda: f"serial SN{rng.randint(10**9, 10**10)}",
            lambda: f"ticket #{rng.randint(10000, 999999)}",
            lambda: f"{rng.randint(2, 64)} GB",
            lambda: f"port {rng.randint(1024, 65535)}",
            lambda: f"sha256 {hashlib.sha256(rng.randbytes(8)).hexdigest()[:16]}",
        ]
        return rng.choice(options)()


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choices(string.digits, k=count))


def _luhn_complete(partial: str) -> str:
    for check in string.digits:
        candidate = partial + check
        total = 0
        for index, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if index % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, remainder = divmod(number, 58)
        out = _B58[remainder] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


_BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_address(program: bytes) -> str:
    def polymod(values: list[int]) -> int:
        generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
        checksum = 1
        for value in values:
            top = checksum >> 25
            checksum = (checksum & 0x1FFFFFF) << 5 ^ value
            for index in range(5):
                checksum ^= generator[index] if (top >> index) & 1 else 0
        return checksum

    bits = "".join(f"{byte:08b}" for byte in program)
    data = [0] + [int(bits[index : index + 5].ljust(5, "0"), 2) for index in range(0, len(bits), 5)]
    hrp = "bc"
    expanded = [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]
    mod = polymod([*expanded, *data, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(mod >> 5 * (5 - index)) & 31 for index in range(6)]
    return hrp + "1" + "".join(_BECH[value] for value in data + checksum)


CUSTOMER_OPENERS = ["Hi", "Hello", "Dear Support", "Hey team", "Good morning", "Hallo", "Bonjour"]


def build_ticket(gen: Generator) -> Ticket:
    """One ticket: a customer message, sometimes an agent's internal note, decoys throughout."""
    rng = gen.rng
    ticket = Ticket()
    opener = rng.choice(CUSTOMER_OPENERS)
    if opener in ("Hi", "Hello", "Hallo", "Bonjour") and rng.random() < 0.5:
        ticket.extend([(f"{opener} ", None), (gen.fake.first_name(), "PERSON"), (",\n", None)])
    else:
        ticket.add(f"{opener},\n")
    sentences: list[Callable[[], list[Piece]]] = [
        lambda: [
            ("My name is ", None),
            (gen.full_name(), "PERSON"),
            (" and I can't log in since the last update.", None),
        ],
        lambda: [
            ("Please reach me at ", None),
            (gen.email(), "EMAIL_ADDRESS"),
            (" or call ", None),
            (gen.phone(), "PHONE_NUMBER"),
            (".", None),
        ],
        lambda: [("You can email me: ", None), (gen.email(), "EMAIL_ADDRESS"), (" (not my work address).", None)],
        lambda: [("My number is ", None), (gen.phone(), "PHONE_NUMBER"), (", best after 5pm.", None)],
        lambda: [
            ("I was charged twice on card ", None),
            (gen.card(), "CREDIT_CARD"),
            (" for ", None),
            (gen.decoy(), None),
            (".", None),
        ],
        lambda: [
            ("Refund to IBAN ", None),
            (gen.iban(), "IBAN_CODE"),
            (" please, ", None),
            (gen.decoy(), None),
            (".", None),
        ],
        lambda: [("For verification my SSN is ", None), (gen.ssn(), "US_SSN"), (".", None)],
        lambda: [("The login came from ", None), (gen.ip(), "IP_ADDRESS"), (" which isn't me.", None)],
        lambda: [("The router (MAC ", None), (gen.mac(), "MAC_ADDRESS"), (") drops Wi-Fi every hour.", None)],
        lambda: [("I sent the payment to ", None), (gen.crypto(), "CRYPTO"), (" by mistake.", None)],
        lambda: [("The reset link ", None), (gen.url(), "URL"), (" gives a 404.", None)],
        lambda: [("Ship the replacement to ", None), (gen.address(), "STREET_ADDRESS"), (".", None)],
        lambda: [
            ("I moved from ", None),
            (gen.city(), "LOCATION"),
            (" to ", None),
            (gen.city(), "LOCATION"),
            (" last month.", None),
        ],
        lambda: [("I'm travelling in ", None), (gen.country(), "LOCATION"), (" until Friday.", None)],
        lambda: [
            ("Here is what failed: ", None),
            (gen.decoy(), None),
            (" then ", None),
            (gen.decoy(), None),
            (".", None),
        ],
        lambda: [
            ("It says ", None),
            (gen.decoy(), None),
            (" after installing ", None),
            (gen.decoy(), None),
            (".", None),
        ],
        lambda: [("My colleague ", None), (gen.full_name(), "PERSON"), (" has the same problem.", None)],
        lambda: [*gen.credential(), (" if you need to check the account.", None)],
        lambda: [("The app crashes on Windows 11 when I open the Settings page.", None)],
        lambda: [("We are a small business, please treat this as urgent.", None)],
        lambda: [("I already tried restarting, clearing the cache and reinstalling the app, nothing changed.", None)],
        lambda: [("The error appeared right after the update on Monday and it happens on both laptops.", None)],
        lambda: [("Could you also check why the invoice shows the old company name?", None)],
        lambda: [("Our IT admin says the firewall is not the problem, see ", None), (gen.decoy(), None), (".", None)],
    ]
    for _ in range(rng.randint(5, 10)):
        ticket.extend(rng.choice(sentences)())
        ticket.add(" " if rng.random() < 0.7 else "\n")
    ticket.add(rng.choice(["\nThanks,\n", "\nBest regards,\n", "\nCheers,\n", "\nKind regards\n"]))
    ticket.add(gen.full_name(), "PERSON")
    if rng.random() < 0.6:
        notes: list[Callable[[], list[Piece]]] = [
            lambda: [
                ("Agent note: spoke with ", None),
                (gen.full_name(), "PERSON"),
                (", verified via ", None),
                (gen.phone(), "PHONE_NUMBER"),
                (". ", None),
                (gen.decoy(), None),
                (" logged.", None),
            ],
            lambda: [
                ("Internal: customer based in ", None),
                (gen.city(), "LOCATION"),
                ("; escalated to ", None),
                (gen.full_name(), "PERSON"),
                (" re ", None),
                (gen.decoy(), None),
                (".", None),
            ],
            lambda: [
                ("Resolution: reset MFA, confirmed email ", None),
                (gen.email(), "EMAIL_ADDRESS"),
                (". See ", None),
                (gen.decoy(), None),
                (".", None),
            ],
        ]
        ticket.add("\n\n---\n")
        ticket.extend(rng.choice(notes)())
    return ticket


def generate(count: int, seed: int) -> list[dict[str, object]]:
    """`count` labelled tickets, deterministic for a seed."""
    rng = random.Random(seed)
    generators = {locale: Generator(random.Random(rng.randrange(2**32)), locale) for locale in LOCALES}
    rows = []
    for index in range(count):
        locale = rng.choice(list(LOCALES))
        ticket = build_ticket(generators[locale])
        rows.append({"id": index, "locale": locale, "text": ticket.text, "spans": ticket.spans})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/corpus.jsonl"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for row in generate(args.count, args.seed):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {args.count} tickets to {args.out}")


if __name__ == "__main__":
    main()
