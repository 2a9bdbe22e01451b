"""Value types the redactor returns: spans found in a text and the result of redacting it."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RedactionResult", "Span"]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """One detected entity: character offsets into the original text (end exclusive), never the value itself."""

    start: int
    end: int
    entity_type: str
    score: float
    recognizer: str


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """Redacted text, the spans replaced, and for tokenizing operators the token -> original value map."""

    text: str
    spans: list[Span]
    tokens: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        # The redacted text can still carry context and `tokens` holds the originals: show sizes only.
        return f"RedactionResult(chars={len(self.text)}, spans={len(self.spans)}, tokens={len(self.tokens)})"
