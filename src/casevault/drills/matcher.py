"""Multi-pattern search of raw bytes for known values, by Aho-Corasick (pyahocorasick, in C).

Bytes are searched as latin-1 text (one code point per byte) after an ASCII-only lower-casing that is applied to
the haystack and the patterns alike, so an exact match is always found and ASCII case differences are too.
Each value is searched in the encodings a store is likely to hold it in: UTF-8, UTF-16-LE, JSON-escaped and
PostgreSQL COPY-escaped (how pg_dump writes newlines and tabs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import ahocorasick  # type: ignore[import-not-found]  # the C extension ships no type stubs

__all__ = ["Match", "ValueMatcher", "encodings_of"]

_CHUNK = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Match:
    """Value number `value_index` found at byte `offset`, in `encoding`."""

    value_index: int
    offset: int
    encoding: str


def encodings_of(value: str) -> dict[str, bytes]:
    """The byte forms a value may take in a data store, keyed by encoding name; duplicates removed."""
    forms: dict[str, bytes] = {"utf-8": value.encode("utf-8")}
    forms["utf-16-le"] = value.encode("utf-16-le")
    json_form = json.dumps(value, ensure_ascii=True)[1:-1].encode("ascii")
    json_utf8 = json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8")
    copy_form = (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t").encode("utf-8")
    )
    for name, form in (("json", json_form), ("json-utf-8", json_utf8), ("copy-escaped", copy_form)):
        if form not in forms.values():
            forms[name] = form
    return forms


def _is_word_byte(byte: int) -> bool:
    """ASCII letters and digits, and any byte of a multi-byte UTF-8 character."""
    return byte >= 0x80 or (0x30 <= byte <= 0x39) or (0x41 <= byte <= 0x5A) or (0x61 <= byte <= 0x7A)


def _inside_a_word(data: bytes, offset: int, length: int, encoding: str) -> bool:
    """True when the match continues a longer word on either side ("Anders" in "Andersen")."""
    width = 2 if encoding == "utf-16-le" else 1
    before, after = offset - width, offset + length
    if before >= 0 and _is_word_byte(data[before]) and (width == 1 or data[before + 1] == 0):
        return True
    return after + width <= len(data) and _is_word_byte(data[after]) and (width == 1 or data[after + 1] == 0)


class ValueMatcher:
    """An automaton over every byte form of every value; `scan` yields matches with byte offsets.

    Values flagged in `whole_words` (names) only match as whole words: "Anders" inside "Andersen", or a name
    run into a neighbouring column's bytes, is not that name. Emails, phones and the like match anywhere.
    """

    def __init__(self, values: Sequence[str], *, whole_words: Sequence[bool] | None = None) -> None:
        self._automaton = ahocorasick.Automaton()
        self._longest = 1
        for index, value in enumerate(values):
            whole = bool(whole_words[index]) if whole_words is not None else False
            for encoding, form in encodings_of(value).items():
                key = form.lower().decode("latin-1")
                # Two values with the same lowered form are one pattern; keep the first, it is reported either way.
                if key not in self._automaton:
                    self._automaton.add_word(key, (index, encoding, len(form), whole))
                    self._longest = max(self._longest, len(form))
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    @property
    def pattern_count(self) -> int:
        return len(self._automaton)

    def scan(self, data: bytes, *, chunk_size: int = _CHUNK) -> Iterator[Match]:
        """Every occurrence of every pattern in `data`, in chunks so memory stays bounded for large files."""
        if self._empty:
            return
        overlap = self._longest - 1
        start = 0
        while start < len(data):
            end = min(len(data), start + chunk_size)
            window = data[max(0, start - overlap) : end]
            base = max(0, start - overlap)
            haystack = window.lower().decode("latin-1")
            for last, (index, encoding, length, whole) in self._automaton.iter(haystack):
                offset = base + last - length + 1
                # A match wholly inside the overlap was already reported with the previous chunk.
                if start > 0 and offset + length <= start:
                    continue
                if whole and _inside_a_word(data, offset, length, encoding):
                    continue
                yield Match(index, offset, encoding)
            start = end
