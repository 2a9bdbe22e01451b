"""Errors raised by the redactor; messages name the recognizer, never the text."""

from __future__ import annotations

__all__ = ["RedactionFailed"]


class RedactionFailed(Exception):
    """A recognizer raised or ran over its time budget, so the whole text must be withheld."""

    def __init__(self, recognizer: str, reason: str) -> None:
        super().__init__(f"redaction failed in recognizer {recognizer!r}: {reason}")
        self.recognizer = recognizer
        self.reason = reason
