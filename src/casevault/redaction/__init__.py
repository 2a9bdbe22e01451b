"""PII detection and redaction for support text; a plain library with no database.

`Redactor().redact(text, operator=Tokenize(key))` returns the redacted text, the spans and the token map.
"""

from __future__ import annotations

# First: decides whether the compiled modules (ADR 0105) or their Python sources are imported below.
from casevault.redaction import _native  # noqa: F401
from casevault.redaction.config import DEFAULT_ENTITIES, RedactorConfig
from casevault.redaction.engine import Redactor
from casevault.redaction.errors import RedactionFailed
from casevault.redaction.operators import Mask, Operator, ReplaceWithType, Tokenize
from casevault.redaction.spans import RedactionResult, Span

__all__ = [
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
