"""Hostile input: ReDoS-style strings finish inside the default time budget; long inputs keep exact offsets."""

from __future__ import annotations

import pytest

from casevault.redaction import Redactor

SIZE = 100_000
HOSTILE = {
    "digits and spaces": "1 " * (SIZE // 2),
    "digits and dashes": "1-" * (SIZE // 2),
    "digits and dots": "1." * (SIZE // 2),
    "at signs": "a@" * (SIZE // 2),
    "spelled at": "x at " * (SIZE // 5),
    "spelled dot": "x dot " * (SIZE // 6),
    "bracketed at": "[at]" * (SIZE // 4),
    "dots": "a." * (SIZE // 2),
    "colons": "a:" * (SIZE // 2),
    "capitalised words": "Aa " * (SIZE // 3),
    "place list": "Paris, " * (SIZE // 7),
    "house numbers": "1 Main " * (SIZE // 7),
    "password labels": "password: " * (SIZE // 10),
    "unterminated key": "-----BEGIN PRIVATE KEY-----" + "A" * SIZE,
    "astral and accents": "é😀" * (SIZE // 2),
    "one long word": "a" * SIZE,
    "url without end": "https://" + "a" * SIZE,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_completes_within_the_budget(redactor: Redactor, text: str) -> None:
    # The redactor raises RedactionFailed when it overruns its budget (2 s + 10 s/MB): returning at all
    # shows the scan stayed linear. Every returned span must lie inside the text.
    spans = redactor.detect(text)
    assert all(0 <= span.start < span.end <= len(text) for span in spans)


def test_entities_across_the_chunk_boundary_of_a_long_input_are_found_exactly(redactor: Redactor) -> None:
    filler = "The printer in the lobby jams again after the update. "
    head = filler * (1_000_000 // len(filler))
    head = head[: 1_000_000 - 10]  # the email starts 10 characters before the first chunk ends
    text = head + "ann.lee@contoso.com and later é " + filler * 500 + " call +44 20 7946 0958"
    got = [(span.entity_type, text[span.start : span.end]) for span in redactor.detect(text)]
    assert got == [("EMAIL_ADDRESS", "ann.lee@contoso.com"), ("PHONE_NUMBER", "+44 20 7946 0958")]
