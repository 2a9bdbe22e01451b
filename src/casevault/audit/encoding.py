"""The canonical, versioned byte encoding of an audit event; its SHA-256 (with the previous hash) chains the log.

Encoding v1 is the text of a composite (row) literal in PostgreSQL's syntax, `(v1,v2,…)`: a NULL is empty, a
value that is empty or contains a space, quote, backslash, parenthesis or comma is double-quoted with quotes
and backslashes doubled. That syntax is unambiguous, so the encoding is injective. The row holds every stored
column in a fixed order, then the subject count and the subjects' own row literals (sorted, so their storage
order does not matter). PostgreSQL produces the same bytes with `ROW(…)::text` in one call (see verify.py),
which is what makes a 10-million-event verify fast; Python produces them for record() and for SQLite.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ENCODING_VERSION",
    "GENESIS_HASH",
    "canonical_json",
    "chain_hash",
    "encode_event",
    "encode_subject",
    "timestamp_text",
]

ENCODING_VERSION = 1
GENESIS_HASH = b"\x00" * 32


_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only, no NaN: one text per value, stored as is so verify can hash it."""
    if not value and isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return _JSON.encode(value)


def timestamp_text(value: datetime) -> str:
    """PostgreSQL's timestamptz output in UTC with DateStyle ISO: 2026-11-22 16:45:37.1234+00 (zeros trimmed)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime in an audit event")
    utc = value.astimezone(UTC)
    text = f"{utc:%Y-%m-%d %H:%M:%S}"
    if utc.microsecond:
        text += "." + f"{utc.microsecond:06d}".rstrip("0")
    return text + "+00"


# Characters that make PostgreSQL's record_out quote a value (isspace() in the C locale, and the syntax).
_NEEDS_QUOTES = re.compile(r'[ \t\n\x0b\x0c\r"\\(),]')


def _quote(value: str | None) -> str:
    if value is None:
        return ""
    if value and _NEEDS_QUOTES.search(value) is None:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '""') + '"'


def _row(values: Iterable[str | None]) -> str:
    return "(" + ",".join(map(_quote, values)) + ")"


def _uuid_text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def encode_subject(customer_id: uuid.UUID | None, case_id: uuid.UUID | None, exposure: str) -> str:
    """One subject's row literal; subjects are sorted by this text before they are hashed."""
    return _row((_uuid_text(customer_id), _uuid_text(case_id), exposure))


def encode_event(
    *,
    version: int,
    seq: int,
    occurred_at: datetime,
    actor_id: uuid.UUID | None,
    actor_label: str,
    session_ref: str | None,
    ip_prefix: str | None,
    action: str,
    outcome: str,
    reason: str | None,
    target_type: str | None,
    target_id: str | None,
    fields_json: str,
    detail_json: str,
    subjects: Iterable[str],
) -> bytes:
    """The canonical bytes of one event; `subjects` are encode_subject() texts in any order."""
    if version != ENCODING_VERSION:
        raise ValueError(f"unknown audit encoding version {version}")
    ordered: Sequence[str] = sorted(subjects)
    q = _quote
    # Digits, UUIDs and the timestamp have a fixed shape: the timestamp always contains a space (so it is
    # always quoted) and never a quote or backslash; digits and UUIDs never need quoting. Saves a regex each.
    text = (
        f'({version},{seq},"{timestamp_text(occurred_at)}",{_uuid_text(actor_id) or ""},{q(actor_label)},'
        f"{q(session_ref)},{q(ip_prefix)},{q(action)},{q(outcome)},{q(reason)},{q(target_type)},{q(target_id)},"
        f"{q(fields_json)},{q(detail_json)},{len(ordered)},{q(''.join(ordered))})"
    )
    return text.encode("utf-8")


def chain_hash(prev_hash: bytes, payload: bytes) -> bytes:
    """SHA-256(previous hash || canonical event bytes)."""
    return hashlib.sha256(prev_hash + payload).digest()
