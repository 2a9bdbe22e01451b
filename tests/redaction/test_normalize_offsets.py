"""Normalisation undoes fullwidth forms, odd spaces and zero-width characters, and maps every offset back."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from casevault.redaction.normalize import normalize

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_MAPPED = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {
    "\u3000": " ", "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ", "\ufe6b": "@", "\u2024": ".",
    "\u3002": ".", "\uff61": ".",
}  # fmt: skip


def _reference(text: str) -> tuple[str, list[int] | None]:
    """Character by character, the plainest statement of what normalisation does."""
    kept = [(index, _MAPPED.get(char, char)) for index, char in enumerate(text) if char not in _ZERO_WIDTH]
    scanned = "".join(char for _, char in kept)
    return scanned, None if len(kept) == len(text) else [index for index, _ in kept]


def test_examples() -> None:
    assert (normalize("plain ascii").text, normalize("plain ascii").offsets) == ("plain ascii", None)
    assert (normalize("ｂｏｂ＠ｘ．ｃｏｍ").text, normalize("ｂｏｂ＠ｘ．ｃｏｍ").offsets) == ("bob@x.com", None)
    result = normalize("\u200ba\u200b\u200cb\u00a0é\ufeff")
    assert (result.text, result.offsets) == ("ab é", [1, 4, 5, 6])
    assert result.to_original(0, 2) == (1, 5)


def test_generated_texts_match_the_reference() -> None:
    rng = random.Random(3)
    alphabet = list("ab @.é😀") + list(_ZERO_WIDTH) + list(_MAPPED)[:20] + list(_MAPPED)[-9:]
    for _ in range(5_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        result = normalize(text)
        assert (result.text, result.offsets) == _reference(text), repr(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("a .é") + list(_ZERO_WIDTH) + ["ａ", "＠", "\u3000", "\u2024"])))
def test_any_text_matches_the_reference(text: str) -> None:
    result = normalize(text)
    assert (result.text, result.offsets) == _reference(text)
