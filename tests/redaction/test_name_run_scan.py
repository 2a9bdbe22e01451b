"""The name pass finds runs of capitalised words with its own scan, not RE2: exactly `_RUN`'s spans, always."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from casevault.redaction.recognizers import Doc
from casevault.redaction.recognizers import names as names_module

# Pieces that exercise every branch of the pattern: capitals inside words, particles (also as prefixes of
# longer words and three in a row), dots, apostrophes, hyphens, blanks of both kinds, line breaks, digits, and
# non-ASCII letters whose Unicode classes are easy to get wrong (titlecase, combining marks, "Ⓐ" is upper but not
# a letter, fullwidth capitals, a no-break space that is not a blank).
_PIECES = [
    "Anna", "de", "la", "Cruz", "van", "der", "della", "del", "st.", "St.", "Von", "bin", "ibn", "al", "do",
    "dos", "ter", "Mc", "McDonald", "O'Neil", "Jean-Luc", "-", "'", ".", "..", "iPhone", "A", "B.", "x", "IBAN",
    "GB29", "42", "deX", "lax", "st", "st.X", "_", ",", "(", "@", "Z",
    "Ärger", "Łukasz", "ǅemal", "e\u0301", "É\u0301mile", "O’Brien", "’", "Ⓐnna", "Ａnna", "Σοφία", "Дмитрий",
    "東京", "ß", "İz", "\u00a0", "\u2019s", "ﬀ",
]  # fmt: skip
_GLUE = ["", " ", "  ", "\t", " \t ", "\n", ". ", ", "]


def _runs(text: str) -> list[tuple[int, int]]:
    return [span for chunk in names_module._run_chunks(Doc(text)) for span in chunk]


def _expected(text: str) -> list[tuple[int, int]]:
    return [span for chunk in Doc(text).span_chunks(names_module._RUN) for span in chunk]


def test_examples_match_the_pattern() -> None:
    cases = {
        "Hi Anna de la Cruz, see": [(0, 18)],
        "Anna de de de Cruz": [(0, 4), (14, 18)],
        "Pieter van der Merwe.": [(0, 21)],
        "Omar bin\tSaid st. John": [(0, 22)],
        "iPhone by McDonald O'Neil-Smith.": [(1, 6), (10, 32)],
        "Ann della": [(0, 3)],
        "A1B deX Cruz": [(0, 1), (2, 3), (6, 12)],  # a capital inside a word starts a run
        "": [],
    }
    for text, spans in cases.items():
        assert _expected(text) == spans, text  # the table itself is right
        assert _runs(text) == spans, text


def test_generated_texts_agree_with_re2() -> None:
    rng = random.Random(8)
    for _ in range(20_000):
        text = "".join(rng.choice(_PIECES) + rng.choice(_GLUE) for _ in range(rng.randint(1, 12)))
        assert _runs(text) == _expected(text), text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("AZaz' -.\t\nsdelatvnbiro1ÄéǅⒶＡ’\u0301\u00a0東")), max_size=80))
def test_any_text_agrees_with_re2(text: str) -> None:
    assert _runs(text) == _expected(text)


def test_long_texts_come_in_bounded_chunks() -> None:
    text = "Ann, " * 10_000
    chunks = list(names_module._run_chunks(Doc(text)))
    assert [len(chunk) for chunk in chunks] == [4096, 4096, 1808]
    assert [span for chunk in chunks for span in chunk] == _expected(text)
