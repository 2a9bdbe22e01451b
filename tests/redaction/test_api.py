"""The public surface: exports, value types, operators, tokens and configuration."""

from __future__ import annotations

import hashlib
import hmac
import itertools

import pytest

import casevault.redaction as redaction
from casevault.redaction import (
    Mask,
    RedactionResult,
    Redactor,
    RedactorConfig,
    Span,
    Tokenize,
)

KEY = b"k" * 32
TICKET = (
    "Hi Sarah,\nCustomer John Smith (john.smith@contoso.com) called from +1 415-555-0132.\n"
    "Card 4111 1111 1111 1111, IP 203.0.113.54.\nThanks,\nDavid Miller"
)


def test_public_api_is_pinned() -> None:
    assert sorted(redaction.__all__) == [
        "DEFAULT_ENTITIES",
        "Mask",
        "Operator",
        "RedactionFailed",
        "RedactionResult",
        "Redactor",
        "RedactorConfig",
        "ReplaceWithType",
        "Span",
        "Tokenize",
    ]


def test_detect_returns_sorted_non_overlapping_spans_into_the_original_text(redactor: Redactor) -> None:
    spans = redactor.detect(TICKET)
    assert [(s.entity_type, TICKET[s.start : s.end]) for s in spans] == [
        ("PERSON", "Sarah"),
        ("PERSON", "John Smith"),
        ("EMAIL_ADDRESS", "john.smith@contoso.com"),
        ("PHONE_NUMBER", "+1 415-555-0132"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("IP_ADDRESS", "203.0.113.54"),
        ("PERSON", "David Miller"),
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert all(0 < s.score <= 1 and s.recognizer for s in spans)


def test_span_is_frozen_and_its_repr_has_no_value(redactor: Redactor) -> None:
    span = next(s for s in redactor.detect(TICKET) if s.entity_type == "EMAIL_ADDRESS")
    assert "john" not in repr(span)
    assert "contoso" not in repr(span)
    with pytest.raises(AttributeError):
        span.start = 0  # type: ignore[misc]


def test_detect_batch_matches_detect(redactor: Redactor) -> None:
    texts = [TICKET, "", "nothing here", "ssn 219-09-9999"]
    assert redactor.detect_batch(texts) == [redactor.detect(text) for text in texts]


def test_replace_with_type_is_the_default_operator(redactor: Redactor) -> None:
    result = redactor.redact("mail bob@contoso.com now")
    assert result.text == "mail <EMAIL_ADDRESS> now"
    assert result.tokens == {}
    assert result.spans == [Span(5, 20, "EMAIL_ADDRESS", 1.0, "email")]


def test_mask_keeps_length_and_line_breaks(redactor: Redactor) -> None:
    text = "Address: 10 Downing Street\nLondon SW1A 2AA"
    result = redactor.redact(text, operator=Mask())
    assert len(result.text) == len(text)
    assert result.text == "Address: " + "*" * 17 + "\n" + "*" * 15


def test_tokenize_is_keyed_hmac_of_the_canonical_value(redactor: Redactor) -> None:
    result = redactor.redact("mail Bob@Contoso.com now", operator=Tokenize(KEY))
    digest = hmac.new(KEY, b"EMAIL_ADDRESS\0bob@contoso.com", hashlib.sha256).hexdigest()[:12]
    token = f"[EMAIL_ADDRESS:{digest}]"
    assert result.text == f"mail {token} now"
    assert result.tokens == {token: "Bob@Contoso.com"}


def test_obfuscated_and_plain_forms_of_one_email_share_a_token(redactor: Redactor) -> None:
    operator = Tokenize(KEY)
    plain = redactor.redact("x john.smith@contoso.com", operator=operator)
    spelled = redactor.redact("x john dot smith at contoso dot com", operator=operator)
    spaced = redactor.redact("x John.Smith @contoso com", operator=operator)
    assert set(plain.tokens) == set(spelled.tokens) == set(spaced.tokens)


def test_one_phone_number_written_two_ways_shares_a_token(redactor: Redactor) -> None:
    operator = Tokenize(KEY)
    first = redactor.redact("call (415) 555-0132", operator=operator)
    second = redactor.redact("call +1 415.555.0132", operator=operator)
    assert set(first.tokens) == set(second.tokens)


def test_tokens_differ_between_keys_and_entity_types(redactor: Redactor) -> None:
    text = "mail bob@contoso.com"
    first = redactor.redact(text, operator=Tokenize(KEY)).text
    second = redactor.redact(text, operator=Tokenize(b"q" * 32)).text
    assert first != second
    assert Tokenize(KEY).replace("PERSON", "x") != Tokenize(KEY).replace("LOCATION", "x")


def test_tokenize_rejects_short_keys_and_hides_the_key() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Tokenize(b"short")
    assert "kkkk" not in repr(Tokenize(KEY))
    assert len(Tokenize(KEY, hex_chars=20).replace("US_SSN", "219-09-9999")) == len("[US_SSN:]") + 20


def test_result_repr_shows_no_values(redactor: Redactor) -> None:
    result = redactor.redact(TICKET, operator=Tokenize(KEY))
    assert isinstance(result, RedactionResult)
    assert "john" not in repr(result).lower()
    assert "4111" not in repr(result)
    assert repr(result) == f"RedactionResult(chars={len(result.text)}, spans=7, tokens=7)"


def test_redacted_text_contains_none_of_the_values(redactor: Redactor) -> None:
    result = redactor.redact(TICKET, operator=Tokenize(KEY))
    for value in ("Sarah", "John Smith", "john.smith", "415-555-0132", "4111", "203.0.113.54", "David"):
        assert value not in result.text
    assert sorted(result.tokens.values()) == sorted(TICKET[s.start : s.end] for s in result.spans)


def test_allow_list_and_allow_domains_keep_the_companys_own_addresses() -> None:
    config = RedactorConfig(allow_list=frozenset({"help@casevault.example"}), allow_domains=frozenset({"contoso.com"}))
    redactor = Redactor(config)
    text = "from help@casevault.example to ann@support.contoso.com and bob@fabrikam.com, see https://contoso.com/x"
    assert [text[s.start : s.end] for s in redactor.detect(text)] == ["bob@fabrikam.com"]


def test_deny_list_terms_are_always_redacted() -> None:
    redactor = Redactor(RedactorConfig(deny_list={"Project Falcon": "PROJECT"}))
    assert redactor.redact("status of project falcon?").text == "status of <PROJECT>?"


def test_entity_selection_and_thresholds() -> None:
    text = "Hi Sarah, mail bob@contoso.com from 203.0.113.54"
    only_email = Redactor(RedactorConfig(entities=frozenset({"EMAIL_ADDRESS"})))
    assert [s.entity_type for s in only_email.detect(text)] == ["EMAIL_ADDRESS"]
    strict = Redactor(RedactorConfig(thresholds={"PERSON": 0.99}))
    assert "PERSON" not in {s.entity_type for s in strict.detect(text)}


def test_no_date_or_driver_licence_noise_by_default(redactor: Redactor) -> None:
    assert redactor.detect("On 2026-11-22 at 10:30 licence D1234567 was renewed") == []


def test_offsets_survive_zero_width_and_fullwidth_characters(redactor: Redactor) -> None:
    text = "é\u200b😀 write ｂｏｂ＠ｃｏｎｔｏｓｏ．ｃｏｍ or a\u200bn\u200bn@x.org, ip 203.0.113.54"
    got = [(s.entity_type, text[s.start : s.end]) for s in redactor.detect(text)]
    assert got == [
        ("EMAIL_ADDRESS", "ｂｏｂ＠ｃｏｎｔｏｓｏ．ｃｏｍ"),
        ("EMAIL_ADDRESS", "a\u200bn\u200bn@x.org"),
        ("IP_ADDRESS", "203.0.113.54"),
    ]
