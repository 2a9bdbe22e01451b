"""Free text stored twice: sealed under the customer's key (for reveal) and redacted (for views and search).

Besides the redactor's own recognizers, the values the platform already knows about the case's customer (its
name, email and phone, and those of its contacts) are always redacted where they appear: a name the lexicons
do not know is still that customer's name.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache

from casevault.crypto.keyring import OwnerKey, aad_for
from casevault.redaction import RedactionFailed, Redactor, Tokenize
from casevault.redaction.recognizers import Doc, Found

__all__ = [
    "WITHHELD",
    "KnownValue",
    "KnownValuesRecognizer",
    "ProtectedText",
    "known_values",
    "open_tokens",
    "protect_text",
    "redactor",
    "seal_tokens",
]

log = logging.getLogger("casevault.cases")

# Stored instead of the redacted text when redaction fails: the plaintext must never take its place.
WITHHELD = "[WITHHELD: text could not be redacted]"


_MIN_NAME_PART = 3
_PHONE_CORE_DIGITS = 7
_PHONE_SEPARATORS = r"[\s().-]{0,3}"


@dataclass(frozen=True, slots=True)
class KnownValue:
    """A pattern for one value the platform holds about the customer, and the entity type to report."""

    entity_type: str
    pattern: re.Pattern[str] = field(repr=False)

    def __repr__(self) -> str:
        return f"KnownValue({self.entity_type})"


def known_values(name: str | None, email: str | None, phone: str | None) -> list[KnownValue]:
    """Patterns for a person's name (whole, and each part of 3+ letters), email and phone (any formatting)."""
    found: list[KnownValue] = []
    if email:
        found.append(KnownValue("EMAIL_ADDRESS", re.compile(re.escape(email.strip()), re.IGNORECASE)))
    if name:
        parts = name.split()
        if len(parts) > 1:
            whole = r"\s+".join(re.escape(part) for part in parts)
            found.append(KnownValue("PERSON", re.compile(whole, re.IGNORECASE)))
        # Parts alone ("Thanks, Haruto"), case-sensitive so that a name like "Will" spares the verb "will".
        found.extend(
            KnownValue("PERSON", re.compile(re.escape(part)))
            for part in parts
            if len(part.strip(".,'-")) >= _MIN_NAME_PART
        )
    digits = "".join(char for char in phone or "" if char.isdigit())
    if len(digits) >= _PHONE_CORE_DIGITS:
        # The last digits in any grouping, plus whatever prefix (country or trunk code) stands right before.
        core = _PHONE_SEPARATORS.join(digits[-_PHONE_CORE_DIGITS:])
        found.append(KnownValue("PHONE_NUMBER", re.compile(r"(?:\+?\d[\d\s().-]{0,10})?" + core)))
    return found


_KNOWN: ContextVar[tuple[KnownValue, ...]] = ContextVar("casevault_known_values", default=())


class KnownValuesRecognizer:
    """A recognizer for the values set for the current call (a context variable), so one Redactor serves all."""

    name = "known-values"
    entities = frozenset({"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        for known in _KNOWN.get():
            for match in known.pattern.finditer(text):
                start, end = match.span()
                # Whole words only: "Ann" must not take a bite out of "Annual".
                if (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
                    continue
                found.append((start, end, known.entity_type, 1.0, self.name))
            doc.check_deadline()
        return found


@cache
def redactor() -> Redactor:
    """The process's one Redactor (building one loads lexicons; calls are thread-safe and stateless)."""
    return Redactor(extra_recognizers=[KnownValuesRecognizer()])


@dataclass(frozen=True, slots=True)
class ProtectedText:
    """The sealed ciphertext, the redacted text, and the token map that links the two (for the vault)."""

    sealed: bytes
    redacted: str
    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    withheld: bool = False

    def __repr__(self) -> str:
        return f"ProtectedText(chars={len(self.redacted)}, tokens={len(self.tokens)}, withheld={self.withheld})"


def protect_text(
    owner_key: OwnerKey,
    *,
    table: str,
    column: str,
    row_id: uuid.UUID,
    text: str,
    known: Sequence[KnownValue] = (),
) -> ProtectedText:
    """Seal `text` bound to its row and column, and redact it with the owner's deterministic tokens.

    `known` values (the customer's own name, email, phone…) are redacted even where no recognizer sees them.
    """
    sealed = owner_key.seal(text, aad_for(table, f"{column}_sealed", row_id))
    scope = _KNOWN.set(tuple(known))
    try:
        result = redactor().redact(text, operator=Tokenize(owner_key.token_key))
    except RedactionFailed as exc:
        # Fail closed: the recognizer name is safe to log, the text is not.
        log.warning("redaction failed for %s.%s (recognizer %s); text withheld", table, column, exc.recognizer)
        return ProtectedText(sealed=sealed, redacted=WITHHELD, withheld=True)
    finally:
        _KNOWN.reset(scope)
    return ProtectedText(sealed=sealed, redacted=result.text, tokens=dict(result.tokens))


def seal_tokens(owner_key: OwnerKey, vault_id: uuid.UUID, tokens: dict[str, str]) -> bytes:
    """The token -> original map, sealed and bound to its vault row."""
    payload = json.dumps(tokens, sort_keys=True, ensure_ascii=False)
    return owner_key.seal(payload, aad_for("redaction_vaults", "tokens_sealed", vault_id))


def open_tokens(owner_key: OwnerKey, vault_id: uuid.UUID, sealed: bytes) -> dict[str, str]:
    """Open a token map sealed by seal_tokens (only an audited reveal should need this)."""
    loaded = json.loads(owner_key.open(sealed, aad_for("redaction_vaults", "tokens_sealed", vault_id)))
    if not isinstance(loaded, dict):
        raise ValueError("token map has an unexpected shape")
    return {str(key): str(value) for key, value in loaded.items()}
