"""Properties over generated text: spans are sorted, disjoint, in bounds, and operators keep the rest intact."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casevault.redaction import Mask, Redactor, ReplaceWithType

PIECES = st.sampled_from(
    [
        "john.smith@contoso.com",
        "XYZ @contoso com",
        "+1 415-555-0132",
        "4111 1111 1111 1111",
        "203.0.113.54",
        "Hi Sarah,",
        "in Berlin",
        "ORD-2026-884213",
        "0x80070005",
        " ",
        "\n",
        ", ",
    ]
)
# Pieces joined by spaces: entities glued to each other ("a@b.comc@d.com") are not a goal.
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=12).map(" ".join)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(text=TEXTS)
def test_spans_are_sorted_disjoint_and_inside_the_text(redactor: Redactor, text: str) -> None:
    spans = redactor.detect(text)
    assert all(0 <= span.start < span.end <= len(text) for span in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


@FAST
@given(text=TEXTS)
def test_mask_changes_only_detected_characters(redactor: Redactor, text: str) -> None:
    result = redactor.redact(text, operator=Mask())
    assert len(result.text) == len(text)
    inside = {index for span in result.spans for index in range(span.start, span.end)}
    assert all(result.text[i] == text[i] for i in range(len(text)) if i not in inside)


@FAST
@given(text=TEXTS)
def test_replacing_with_type_removes_every_detected_value(redactor: Redactor, text: str) -> None:
    result = redactor.redact(text, operator=ReplaceWithType())
    for span in result.spans:
        value = text[span.start : span.end]
        if len(value.strip()) >= 6:
            assert value not in result.text
