"""What every recognizer looks like, and the scanning helpers they share."""

from __future__ import annotations

import bisect
import math
import re
import time
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import re2

__all__ = [
    "BudgetExceeded",
    "Doc",
    "Found",
    "Hit",
    "Recognizer",
    "char_after",
    "char_before",
    "word_before",
    "words",
]

# (start, end, entity_type, score, recognizer name) in the scanned text; turned into `Span`s by the engine.
Found = tuple[int, int, str, float, str]
_NON_ASCII = re.compile(r"[^\x00-\x7f]")  # a single character class: linear time on any input
_UNANCHORED = re2._Anchor.UNANCHORED
_CHUNK_SPANS = 4096


class BudgetExceeded(Exception):
    """The scan passed its deadline; the engine turns this into `RedactionFailed` (fail closed)."""


class Doc:
    """A text prepared for RE2: encoded to UTF-8 once, with byte <-> character offset conversion.

    RE2 works on bytes; its str API re-encodes the whole text on every call, which cost us 3-7x.
    """

    __slots__ = ("_byte_at", "_char_at", "_shift", "data", "deadline", "text")

    def __init__(self, text: str, deadline: float = math.inf) -> None:
        self.text = text
        # A time.perf_counter() value; scans check it as they go, so hostile input cannot run unbounded.
        self.deadline = deadline
        if text.isascii():
            self.data = text.encode("ascii")
            self._char_at: array[int] | None = None
            self._byte_at: array[int] = array("q")
            self._shift: array[int] = array("q")
            return
        self.data = text.encode("utf-8")
        # For every non-ASCII character: its char index and byte index; offsets in between shift linearly.
        chars = array("q")
        bytes_ = array("q")
        shift = array("q")  # extra UTF-8 bytes up to and including each non-ASCII character
        extra = 0
        for match in _NON_ASCII.finditer(text):
            index = match.start()
            chars.append(index)
            bytes_.append(index + extra)
            extra += len(match.group().encode("utf-8")) - 1
            shift.append(extra)
        self._char_at = chars
        self._byte_at = bytes_
        self._shift = shift

    def to_char(self, byte_offset: int) -> int:
        """Character offset of a byte offset that falls on a character boundary."""
        if self._char_at is None or byte_offset < 0:
            return byte_offset
        index = bisect.bisect_left(self._byte_at, byte_offset)
        return byte_offset - self._shift[index - 1] if index else byte_offset

    def to_byte(self, char_offset: int) -> int:
        """Byte offset of a character offset."""
        if self._char_at is None:
            return char_offset
        index = bisect.bisect_left(self._char_at, char_offset)
        if index == 0:
            return char_offset
        previous_char, previous_byte = self._char_at[index - 1], self._byte_at[index - 1]
        return previous_byte + len(self.text[previous_char].encode("utf-8")) + (char_offset - previous_char - 1)

    def check_deadline(self) -> None:
        """Raise `BudgetExceeded` once the deadline has passed (call it from loops that do real work)."""
        if time.perf_counter() > self.deadline:
            raise BudgetExceeded

    def _raw(self, pattern: Any, byte_pos: int) -> Iterator[Sequence[tuple[int, int]]]:
        """Byte spans (all groups) of successive matches, straight from the RE2 object.

        google-re2's `finditer` wraps every match in Python objects; calling the compiled RE2 directly halves
        the per-match cost on the hot patterns. The public API is the fallback if the wrapper changes. RE2 returns
        a list of spans and the fallback a tuple: hence Sequence, which compiled code (ADR 0105) does not check.
        """
        compiled = getattr(pattern, "_regexp", None)
        data = self.data
        end = len(data)
        if compiled is None or not hasattr(compiled, "Match"):
            for match in pattern.finditer(data, byte_pos):
                yield tuple(match.span(group) for group in range(pattern.groups + 1))
            return
        position = byte_pos
        count = 0
        while position <= end:
            spans = compiled.Match(_UNANCHORED, data, position, end)
            start, stop = spans[0]
            if start < 0:
                return
            count += 1
            if count & 31 == 0:
                self.check_deadline()
            yield spans
            position = stop if stop > start else stop + 1

    def finditer(self, pattern: Any, pos: int = 0) -> Iterator[Hit]:
        """Matches of a compiled RE2 pattern, with character offsets."""
        for spans in self._raw(pattern, self.to_byte(pos) if pos else 0):
            yield Hit(self, spans)

    def spans(self, pattern: Any) -> Iterator[tuple[int, int]]:
        """(start, end) character offsets of every match; cheaper than `finditer` for hot loops."""
        compiled = getattr(pattern, "_regexp", None)
        if self._char_at is None and compiled is not None and hasattr(compiled, "Match"):
            # ASCII text, the common case: one generator around the RE2 call, no offset conversion.
            match, data, position, end, count = compiled.Match, self.data, 0, len(self.data), 0
            while position <= end:
                span = match(_UNANCHORED, data, position, end)[0]
                start, stop = span
                if start < 0:
                    return
                count += 1
                if count & 31 == 0:
                    self.check_deadline()
                yield span
                position = stop if stop > start else stop + 1
            return
        if self._char_at is None:
            for spans in self._raw(pattern, 0):
                yield spans[0]
            return
        # Matches come in text order, so a pointer into the non-ASCII table replaces a bisect per offset.
        byte_at, shift, count, seen = self._byte_at, self._shift, len(self._byte_at), 0
        for spans in self._raw(pattern, 0):
            start, end = spans[0]
            while seen < count and byte_at[seen] < start:
                seen += 1
            char_start = start - shift[seen - 1] if seen else start
            while seen < count and byte_at[seen] < end:
                seen += 1
            yield char_start, end - shift[seen - 1] if seen else end

    def span_chunks(self, pattern: Any) -> Iterator[list[tuple[int, int]]]:
        """`spans` in lists of up to 4,096: for patterns with many matches per text (name runs) this saves a
        generator step per match while memory stays bounded on hostile input."""
        compiled = getattr(pattern, "_regexp", None)
        if self._char_at is not None or compiled is None or not hasattr(compiled, "Match"):
            chunk: list[tuple[int, int]] = []
            for span in self.spans(pattern):
                chunk.append(span)
                if len(chunk) == _CHUNK_SPANS:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
            return
        match, data, position, end = compiled.Match, self.data, 0, len(self.data)
        found: list[tuple[int, int]] = []
        while position <= end:
            span = match(_UNANCHORED, data, position, end)[0]
            start, stop = span
            if start < 0:
                break
            found.append(span)
            if len(found) & 31 == 0:
                self.check_deadline()
                if len(found) == _CHUNK_SPANS:
                    yield found
                    found = []
            position = stop if stop > start else stop + 1
        if found:
            yield found

    def search_span(self, pattern: Any, pos: int = 0) -> tuple[int, int] | None:
        """(start, end) character offsets of the first match at or after character `pos`, or None.

        `search` without building a `Hit`: for loops that restart the search after each candidate.
        """
        compiled = getattr(pattern, "_regexp", None)
        if self._char_at is None and compiled is not None and hasattr(compiled, "Match"):
            if pos > len(self.data):
                return None
            span: tuple[int, int] = compiled.Match(_UNANCHORED, self.data, pos, len(self.data))[0]
            return span if span[0] >= 0 else None
        hit = self.search(pattern, pos)
        return hit.span() if hit is not None else None

    def search(self, pattern: Any, pos: int = 0) -> Hit | None:
        """First match of a compiled RE2 pattern at or after character `pos`."""
        for spans in self._raw(pattern, self.to_byte(pos)):
            return Hit(self, spans)
        return None


class Hit:
    """One RE2 match seen through character offsets of the original `str`."""

    __slots__ = ("_doc", "_spans")

    def __init__(self, doc: Doc, spans: Sequence[tuple[int, int]]) -> None:
        self._doc = doc
        self._spans = spans

    def span(self, group: int = 0) -> tuple[int, int]:
        start, end = self._spans[group]
        if start < 0 or self._doc._char_at is None:
            return start, end
        return self._doc.to_char(start), self._doc.to_char(end)

    def start(self, group: int = 0) -> int:
        return self.span(group)[0]

    def end(self, group: int = 0) -> int:
        return self.span(group)[1]

    def group(self, group: int = 0) -> str:
        start, end = self.span(group)
        return "" if start < 0 else self._doc.text[start:end]


class Recognizer(Protocol):
    """Finds entities of some types in normalised text."""

    name: str
    entities: frozenset[str]

    def find(self, doc: Doc) -> list[Found]:
        """Return every candidate in `doc` that passed validation."""
        ...


def char_before(text: str, index: int) -> str:
    """The character before `index`, or a space at the start of the text."""
    return text[index - 1] if index > 0 else " "


def char_after(text: str, index: int) -> str:
    """The character at `index`, or a space past the end of the text."""
    return text[index] if index < len(text) else " "


def word_before(text: str, index: int, window: int = 24) -> str:
    """The last word (lowercased, letters only) ending before `index`, looking back at most `window` chars."""
    chunk = text[max(0, index - window) : index].rstrip(" \t:#.-(")
    end = len(chunk)
    start = end
    while start > 0 and chunk[start - 1].isalpha():
        start -= 1
    return chunk[start:end].lower()


def words(text: str) -> frozenset[str]:
    """A set from a whitespace-separated word list (keeps long lexicons readable)."""
    return frozenset(text.split())
