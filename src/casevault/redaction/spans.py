"""Value types the redactor returns: spans found in a text and the result of redacting it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

__all__ = ["RedactionResult", "Span", "new_span"]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """One detected entity: character offsets into the original text (end exclusive), never the value itself."""

    start: int
    end: int
    entity_type: str
    score: float
    recognizer: str


# The slots' own setters, in field order. A frozen dataclass's `__init__` goes through `object.__setattr__`
# once per field, which measured twice as slow; the engine builds ~8 spans per ticket.
_NEW = object.__new__
_SET_START, _SET_END, _SET_TYPE, _SET_SCORE, _SET_RECOGNIZER = (getattr(Span, f.name).__set__ for f in fields(Span))


def new_span(start: int, end: int, entity_type: str, score: float, recognizer: str) -> Span:
    """`Span(start, end, entity_type, score, recognizer)`, built faster: the same frozen object."""
    span = _NEW(Span)
    _SET_START(span, start)
    _SET_END(span, end)
    _SET_TYPE(span, entity_type)
    _SET_SCORE(span, score)
    _SET_RECOGNIZER(span, recognizer)
    return span


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """Redacted text, the spans replaced, and for tokenizing operators the token -> original value map."""

    text: str
    spans: list[Span]
    tokens: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        # The redacted text can still carry context and `tokens` holds the originals: show sizes only.
        return f"RedactionResult(chars={len(self.text)}, spans={len(self.spans)}, tokens={len(self.tokens)})"
