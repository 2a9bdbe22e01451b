"""Table tests: every recognizer with positive examples (exact spans) and decoys that must stay untouched."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Found = Callable[[str], list[tuple[str, str]]]

POSITIVE = [
    # EMAIL_ADDRESS, plain and obfuscated
    ("Contact john.smith@contoso.com today", "EMAIL_ADDRESS", "john.smith@contoso.com"),
    ("Mail XYZ @contoso com please", "EMAIL_ADDRESS", "XYZ @contoso com"),
    ("write to john dot smith at contoso dot com", "EMAIL_ADDRESS", "john dot smith at contoso dot com"),
    ("addr: j.doe [at] example [dot] org.", "EMAIL_ADDRESS", "j.doe [at] example [dot] org"),
    ("addr a.b(at)example(dot)de ok", "EMAIL_ADDRESS", "a.b(at)example(dot)de"),
    ("use ops {at} contoso {dot} io", "EMAIL_ADDRESS", "ops {at} contoso {dot} io"),
    ("fullwidth ｊｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ here", "EMAIL_ADDRESS", "ｊｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
    ("zero\u200bwidth jo\u200bhn@contoso.com end", "EMAIL_ADDRESS", "jo\u200bhn@contoso.com"),
    ("encoded bob%40contoso.com in a link", "EMAIL_ADDRESS", "bob%40contoso.com"),
    ("<a href='mailto:ann@contoso.co.uk'>", "EMAIL_ADDRESS", "ann@contoso.co.uk"),
    ("email me at bob at gmail.com", "EMAIL_ADDRESS", "bob at gmail.com"),
    ("spaced user @ example . com ok", "EMAIL_ADDRESS", "user @ example . com"),
    # country-code domains written with spaces (the 2019 leak's form, seen in the exposed-store drill)
    ("write x @nimbuslabs co za today", "EMAIL_ADDRESS", "x @nimbuslabs co za"),
    ("mail kavya_reddy @silverlineenergy in please", "EMAIL_ADDRESS", "kavya_reddy @silverlineenergy in"),
    ("mail thabo.n @acme co za.", "EMAIL_ADDRESS", "thabo.n @acme co za"),
    ("use j.smith @contoso co uk now", "EMAIL_ADDRESS", "j.smith @contoso co uk"),
    ("reach me at jan.k @firma pl or call", "EMAIL_ADDRESS", "jan.k @firma pl"),
    ("mail refunds.desk@northwind-mail.com as soon as you can", "EMAIL_ADDRESS", "refunds.desk@northwind-mail.com"),
    ("mail ops@acme.co in the morning", "EMAIL_ADDRESS", "ops@acme.co"),
    # PHONE_NUMBER
    ("call +1 415-555-0132 ext. 12 now", "PHONE_NUMBER", "+1 415-555-0132 ext. 12"),
    ("call (415) 555.0132 please", "PHONE_NUMBER", "(415) 555.0132"),
    ("office 020 7946 0958.", "PHONE_NUMBER", "020 7946 0958"),
    ("uk mobile +44 7700 900123", "PHONE_NUMBER", "+44 7700 900123"),
    ("Tel. 030 12345678 (Berlin)", "PHONE_NUMBER", "030 12345678"),
    ("tél 01 55 66 90 74 merci", "PHONE_NUMBER", "01 55 66 90 74"),
    ("fr 03.55.68.35.37 ok", "PHONE_NUMBER", "03.55.68.35.37"),
    ("ca +1 (604) 555-0198", "PHONE_NUMBER", "+1 (604) 555-0198"),
    ("au (02) 9374 4000", "PHONE_NUMBER", "(02) 9374 4000"),
    ("in +91 98765 43210", "PHONE_NUMBER", "+91 98765 43210"),
    ("jp 03-1234-5678", "PHONE_NUMBER", "03-1234-5678"),
    ("mixed 415 - 555 . 0132 call", "PHONE_NUMBER", "415 - 555 . 0132"),
    # IP_ADDRESS
    ("login from 203.0.113.54, not me", "IP_ADDRESS", "203.0.113.54"),
    ("defanged 198.51.100[.]7 seen", "IP_ADDRESS", "198.51.100[.]7"),
    ("spaced 10 . 0 . 0 . 1 seen", "IP_ADDRESS", "10 . 0 . 0 . 1"),
    ("v6 2001:db8::8a2e:370:7334.", "IP_ADDRESS", "2001:db8::8a2e:370:7334"),
    ("zone fe80::1ff:fe23:4567:890a%eth0 up", "IP_ADDRESS", "fe80::1ff:fe23:4567:890a%eth0"),
    ("mapped ::ffff:192.0.2.128 ok", "IP_ADDRESS", "::ffff:192.0.2.128"),
    # CREDIT_CARD
    ("visa 4111 1111 1111 1111 exp 12/27", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("mc 5500-0000-0000-0004.", "CREDIT_CARD", "5500-0000-0000-0004"),
    ("mc2 2221.0000.0000.0009 x", "CREDIT_CARD", "2221.0000.0000.0009"),
    ("amex 3782 822463 10005 ok", "CREDIT_CARD", "3782 822463 10005"),
    ("discover 6011111111111117", "CREDIT_CARD", "6011111111111117"),
    ("jcb 3530 1113 3330 0000", "CREDIT_CARD", "3530 1113 3330 0000"),
    # IBAN_CODE
    ("IBAN DE89 3704 0044 0532 0130 00 Thanks", "IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
    ("iban GB82WEST12345698765432.", "IBAN_CODE", "GB82WEST12345698765432"),
    ("FR14 2004 1010 0505 0001 3M02 606 merci", "IBAN_CODE", "FR14 2004 1010 0505 0001 3M02 606"),
    # US_SSN
    ("SSN 219-09-9999.", "US_SSN", "219-09-9999"),
    ("my ssn is 219 09 9999", "US_SSN", "219 09 9999"),
    ("social security number 219099999", "US_SSN", "219099999"),
    # URL
    ("see https://contoso.com/reset?id=5).", "URL", "https://contoso.com/reset?id=5"),
    ("visit www.example.org, thanks", "URL", "www.example.org"),
    ("defanged hxxp://evil[.]com/x now", "URL", "hxxp://evil[.]com/x"),
    ("the portal contoso.com/login is down", "URL", "contoso.com/login"),
    # MAC_ADDRESS
    ("mac 00:1A:2B:3C:4D:5E ok", "MAC_ADDRESS", "00:1A:2B:3C:4D:5E"),
    ("mac 00-1a-2b-3c-4d-5e ok", "MAC_ADDRESS", "00-1a-2b-3c-4d-5e"),
    ("cisco 0011.2233.4455 ok", "MAC_ADDRESS", "0011.2233.4455"),
    # CRYPTO
    ("btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 sent", "CRYPTO", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
    ("bech32 bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.", "CRYPTO", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("eth 0x52908400098527886E0F7030069857D2E4169EE7 ok", "CRYPTO", "0x52908400098527886E0F7030069857D2E4169EE7"),
    # CREDENTIAL
    ("my password is hunter2!, thanks", "CREDENTIAL", "hunter2"),
    ("pwd: S3cr3t#1; user=bob", "CREDENTIAL", "S3cr3t#1"),
    ("Password=Pa55w0rd;Server=x", "CREDENTIAL", "Pa55w0rd"),
    ("key AKIAIOSFODNN7EXAMPLE leaked", "CREDENTIAL", "AKIAIOSFODNN7EXAMPLE"),
    ("gh ghp_" + "a1" * 18 + " leaked", "CREDENTIAL", "ghp_" + "a1" * 18),
    ("stripe sk_live_" + "x7" * 12 + " oops", "CREDENTIAL", "sk_live_" + "x7" * 12),
    ("dsn postgres://app:s3cret@db.internal:5432/prod.", "CREDENTIAL", "postgres://app:s3cret@db.internal:5432/prod"),
    ("Authorization: Bearer abcdefghijklmnop1234", "CREDENTIAL", "Bearer abcdefghijklmnop1234"),
    (
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIBabc\n-----END RSA PRIVATE KEY-----\nbye",
        "CREDENTIAL",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBabc\n-----END RSA PRIVATE KEY-----",
    ),
    # PERSON
    ("Hi Sarah,\nthanks", "PERSON", "Sarah"),
    ("My name is Sarah Connor and I", "PERSON", "Sarah Connor"),
    ("Dear Mr. Thompson, your order", "PERSON", "Thompson"),
    ("Customer: Jean-Pierre Dubois called", "PERSON", "Jean-Pierre Dubois"),
    ("I forwarded it to Maria Garcia yesterday", "PERSON", "Maria Garcia"),
    ("Best regards,\nDavid Miller", "PERSON", "David Miller"),
    ("escalated to Kim Smith re billing", "PERSON", "Kim Smith"),
    # LOCATION
    ("I live in Austin, TX now", "LOCATION", "Austin"),
    ("shipped from Berlin yesterday", "LOCATION", "Berlin"),
    ("customer based in Germany", "LOCATION", "Germany"),
    ("we moved to New York last year", "LOCATION", "New York"),
    # names outside the lexicon, recognised by what stands around them
    ("Please add Róisín Walsh (r.walsh@example.ie) as billing contact", "PERSON", "Róisín Walsh"),
    ("Please add Thabo Dlamini to the account", "PERSON", "Thabo Dlamini"),
    ("Contact Pieter van der Merwe today", "PERSON", "Pieter van der Merwe"),
    # STREET_ADDRESS
    (
        "Ship to 1600 Pennsylvania Ave NW, Washington, DC 20500 please",
        "STREET_ADDRESS",
        "1600 Pennsylvania Ave NW, Washington, DC 20500",
    ),
    ("at 10 Downing Street, London SW1A 2AA.", "STREET_ADDRESS", "10 Downing Street, London SW1A 2AA"),
    (
        "Address: 9791 Regina Mountains\nAndreaborough, VT 62139\nThanks",
        "STREET_ADDRESS",
        "9791 Regina Mountains\nAndreaborough, VT 62139",
    ),
    ("Flat 5\nBuckley Skyway\nWest Glen\nW8G 7JR\nbye", "STREET_ADDRESS", "Flat 5\nBuckley Skyway\nWest Glen\nW8G 7JR"),
    ("Lieferung: Musterstraße 12, 10115 Berlin bitte", "STREET_ADDRESS", "Musterstraße 12, 10115 Berlin"),
    ("an Alte Gasse 3-5\n60311 Frankfurt am Main", "STREET_ADDRESS", "Alte Gasse 3-5\n60311 Frankfurt am Main"),
    ("chez 12 rue de la Paix, 75002 Paris merci", "STREET_ADDRESS", "12 rue de la Paix, 75002 Paris"),
    ("au 122 rue des Lilas, 69002 Lyon merci", "STREET_ADDRESS", "122 rue des Lilas, 69002 Lyon"),
    ("au 59, boulevard de Labbé, 30109 Larochedan.", "STREET_ADDRESS", "59, boulevard de Labbé, 30109 Larochedan"),
    # street-first layouts of the rest of Europe, and Latin American, Commonwealth and Japanese ones
    ("to Storgatan 141, 111 52 Stockholm now", "STREET_ADDRESS", "Storgatan 141, 111 52 Stockholm"),
    ("to ul. Piotrkowska 130, 90-001 Łódź now", "STREET_ADDRESS", "ul. Piotrkowska 130, 90-001 Łódź"),
    ("to Kerkstraat 121, 1015 CJ Amsterdam now", "STREET_ADDRESS", "Kerkstraat 121, 1015 CJ Amsterdam"),
    ("to Calle de Alcalá 73, 28013 Madrid now", "STREET_ADDRESS", "Calle de Alcalá 73, 28013 Madrid"),
    ("to Via Roma 226, 20121 Milano now", "STREET_ADDRESS", "Via Roma 226, 20121 Milano"),
    ("to Rua das Flores, 47, São Paulo, 01310-100 now", "STREET_ADDRESS", "Rua das Flores, 47, São Paulo, 01310-100"),
    ("to 33 Yonge Street, Toronto, ON M5V 2T6 now", "STREET_ADDRESS", "33 Yonge Street, Toronto, ON M5V 2T6"),
    ("to 162 George Street, Sydney NSW 2000 now", "STREET_ADDRESS", "162 George Street, Sydney NSW 2000"),
    ("to 209 Grafton Street, Dublin D02 X285 now", "STREET_ADDRESS", "209 Grafton Street, Dublin D02 X285"),
    ("to 54 Chuo-dori, Tokyo 100-0005 now", "STREET_ADDRESS", "54 Chuo-dori, Tokyo 100-0005"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "entity", "value"), POSITIVE)
def test_positive_example_found_with_exact_span(found: Found, text: str, entity: str, value: str) -> None:
    assert (entity, value) in found(text)


DECOYS = [
    "Order ORD-2026-884213 shipped",
    "order #4839201948 and invoice INV-552310",
    "Running version 10.0.19041.1 (build 22631)",
    "version 1.2.3.4 of the agent",
    "request id 3f2b8c1e-9a4d-4e6b-8f21-7c5d9e0a1b2c failed",
    "installed KB5005565 then KB4023057",
    "error 0x80070005 and 0x800f0922",
    "charged $1,249.99 and €89,00 on 2026-11-22",
    "case CV-2026-000123 escalated",
    "at 14:32:05 the std::vector threw",
    "port 8443 and 12 GB of RAM",
    "The Windows Update page says Reading failed",
    "Please check the Settings page and reply",
    "sha256 5e8073a1b2c3d4e5 matched",
    "tracking 1Z999AA10123456784 delivered",
    "look at the docs at contoso internal wiki",
    "thanks @john in advance",
    "ping @team it is down again",
    "ask @maria to be on the call",
    "the code I!$c^@Ks38K if you need to check",
    "Windows 11 Pro 23H2, build 22631 ran fine",
    "Section 4, 12345 units shipped",
    "password was reset yesterday",
    "See setup.py and config.json and Node.js",
]


@pytest.mark.parametrize("text", DECOYS)
def test_decoy_is_not_flagged(found: Found, text: str) -> None:
    assert found(text) == []


def test_url_never_takes_the_domain_inside_an_email(found: Found) -> None:
    text = "write to ann@contoso.com or see contoso.com"
    assert found(text) == [("EMAIL_ADDRESS", "ann@contoso.com"), ("URL", "contoso.com")]


def test_two_phone_numbers_side_by_side_are_split(found: Found) -> None:
    text = "tel 06570 70499 or 0555 1234"
    assert [value for entity, value in found(text) if entity == "PHONE_NUMBER"] == ["06570 70499", "0555 1234"]


def test_invalid_checksums_are_rejected(found: Found) -> None:
    text = "card 4111 1111 1111 1112, iban DE89 3704 0044 0532 0130 01, btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"
    assert found(text) == []


def test_invalid_ssn_areas_are_rejected(found: Found) -> None:
    assert found("ssn 000-12-3456 or 666-12-3456 or 912-12-3456") == []
