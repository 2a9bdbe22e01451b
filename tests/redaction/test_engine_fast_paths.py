"""Shortcuts taken for speed give the results of the long way: overlaps, spans, address scans, phone validation."""

from __future__ import annotations

import random
from collections.abc import Callable

import phonenumbers
import pytest
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType

from casevault.redaction.engine import _resolve_overlaps
from casevault.redaction.recognizers import AddressRecognizer, Doc, phone
from casevault.redaction.recognizers import address as address_module
from casevault.redaction.spans import Span, new_span

Found = Callable[[str], list[tuple[str, str]]]


def _overlaps_the_long_way(spans: list[Span]) -> list[Span]:
    """The general algorithm alone, without the no-overlap shortcut."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda span: (-(span.end - span.start), -span.score, span.start)):
        if all(other.end <= span.start or span.end <= other.start for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda span: span.start)


def test_overlap_resolution_shortcut_keeps_the_same_spans() -> None:
    rng = random.Random(4)
    for _ in range(3000):
        spans = []
        for _ in range(rng.randint(0, 8)):
            start = rng.randint(0, 60)
            spans.append(Span(start, start + rng.randint(1, 12), rng.choice("AB"), rng.choice([0.5, 0.9]), "r"))
        assert _resolve_overlaps(spans) == _overlaps_the_long_way(spans)


def test_new_span_builds_the_same_frozen_span() -> None:
    built = new_span(3, 9, "EMAIL_ADDRESS", 0.9, "email")
    assert built == Span(3, 9, "EMAIL_ADDRESS", 0.9, "email")
    assert hash(built) == hash(Span(3, 9, "EMAIL_ADDRESS", 0.9, "email"))
    assert repr(built) == "Span(start=3, end=9, entity_type='EMAIL_ADDRESS', score=0.9, recognizer='email')"
    with pytest.raises(AttributeError):
        built.start = 4  # type: ignore[misc]


ADDRESSES = [
    "Send it to 1600 Pennsylvania Avenue NW, Washington, DC 20500 please.",
    "Ich wohne in der Hauptstraße 12, 10115 Berlin.",
    "Adresse : 8 rue de la Paix, 75002 Paris",
    "Flat 3, 22 Baker Street, London NW1 6XE",
    "PSC 1234, Box 5678, APO AE 09876",
    "Storgatan 141, 111 52 Stockholm",
    "Rua das Flores, 47, São Paulo, 01310-100",
    "54 Chuo-dori, Tokyo 100-0005",
    "nothing here but Main Street talk and 42 apples",
]


def test_address_literal_prefilter_finds_what_scanning_every_pattern_finds() -> None:
    recognizer = AddressRecognizer()
    for text in ADDRESSES:
        doc = Doc(text)
        everything: list[tuple[int, int, str, float, str]] = []
        for pattern in address_module._PATTERNS:
            recognizer._scan(pattern, doc, everything)
        assert recognizer.find(doc) == everything
    assert sum(bool(recognizer.find(Doc(text))) for text in ADDRESSES) == len(ADDRESSES) - 1


def _shared_code_numbers() -> list[str]:
    """National and international forms of example numbers (and near misses) for regions sharing a code."""
    rng = random.Random(13)
    kinds = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE, PhoneNumberType.VOIP]
    numbers = []
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        if len(regions) < 2:
            continue
        for region in regions:
            for kind in kinds:
                example = phonenumbers.example_number_for_type(region, kind)
                if example is None:
                    continue
                significant = phonenumbers.national_significant_number(example)
                numbers.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL))
                for _ in range(4):
                    digits = list(significant)
                    for _ in range(rng.randint(0, 2)):
                        digits[rng.randrange(len(digits))] = rng.choice("0123456789")
                    body = "".join(digits)
                    numbers.extend(["0" + body, body, f"+{code} {body}"])
    return numbers


@pytest.mark.parametrize(
    "regions", [("GB", "DE", "FR", "AU", "IN", "JP"), ("US", "IN"), ("GB",), ("AU",), ("RU",), ("NO",), ("IT",)]
)
def test_phone_fast_path_agrees_for_country_codes_shared_by_regions(
    regions: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    validate = phone._valid_somewhere.__wrapped__
    numbers = _shared_code_numbers()
    fast = [validate(number, regions) for number in numbers]
    monkeypatch.setattr(phone, "_FAST_PARSE", False)
    slow = [validate(number, regions) for number in numbers]
    assert [number for number, a, b in zip(numbers, fast, slow, strict=True) if a != b] == []
    assert any(slow)
    assert not all(slow)


@pytest.mark.parametrize("number", ["01624 756789", "01481 256789", "07781 123456", "01534 456789"])
def test_crown_dependency_numbers_are_found_in_national_form(found: Found, number: str) -> None:
    # +44 is shared by GB, GG, IM and JE: these Isle of Man, Guernsey and Jersey numbers are valid, not for GB.
    assert found(f"please call {number} tonight") == [("PHONE_NUMBER", number)]
