"""Envelope encryption: per-owner data keys (AES-256-GCM), wrapped by a KeyProvider, plus blind indexes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
import uuid
from collections import OrderedDict
from threading import Lock

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.crypto.models import DataKey
from casevault.crypto.providers import KeyProvider, UnwrapError

__all__ = [
    "KeyMismatch",
    "KeyShredded",
    "Keyring",
    "OwnerKey",
    "SealError",
    "aad_for",
    "normalize_email",
    "require_matching_key",
]

_SEALED_VERSION = b"\x01"
_CACHE_SIZE = 4096


class SealError(RuntimeError):
    """A sealed value failed authentication: wrong row, wrong column, wrong key, or tampered bytes."""


class KeyMismatch(RuntimeError):
    """The key provider cannot open this database's data keys: it is not the key the data was sealed with."""


class KeyShredded(RuntimeError):
    """The owner's data key was destroyed; everything sealed under it is unrecoverable by design."""


def aad_for(table: str, column: str, row_id: uuid.UUID | str) -> bytes:
    """Associated data binding a ciphertext to its table, column and row, so it cannot be moved."""
    return f"{table}/{column}/{row_id}".encode()


def normalize_email(value: str) -> str:
    """Canonical form used for blind-index lookups (NFKC, trimmed, lower-case)."""
    return unicodedata.normalize("NFKC", value).strip().lower()


class OwnerKey:
    """One owner's unwrapped data key; seals and opens values bound to their location."""

    __slots__ = ("_aead", "_token_key", "owner_id")

    def __init__(self, owner_id: uuid.UUID, key: bytes) -> None:
        self.owner_id = owner_id
        self._aead = AESGCM(key)
        self._token_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"casevault/redaction-token/v1"
        ).derive(key)

    def seal(self, plaintext: str, aad: bytes) -> bytes:
        """AES-256-GCM with a random 96-bit nonce; output is version || nonce || ciphertext+tag."""
        nonce = secrets.token_bytes(12)
        return _SEALED_VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), aad)

    def open(self, sealed: bytes, aad: bytes) -> str:
        """Decrypt a value sealed by seal() with the same associated data."""
        if not sealed.startswith(_SEALED_VERSION) or len(sealed) < 29:
            raise SealError("sealed value has an unknown format")
        try:
            return self._aead.decrypt(sealed[1:13], sealed[13:], aad).decode("utf-8")
        except InvalidTag as exc:
            raise SealError("sealed value failed authentication") from exc

    @property
    def token_key(self) -> bytes:
        """Key for the owner's deterministic redaction tokens; shredded together with the data key."""
        return self._token_key

    def __repr__(self) -> str:
        return f"OwnerKey(owner_id={self.owner_id!s})"


class Keyring:
    """Creates, unwraps and caches per-owner data keys; computes blind indexes under a provider MAC key."""

    def __init__(self, provider: KeyProvider) -> None:
        self._provider = provider
        self._index_key = provider.mac_key("blind-index")
        self._cache: OrderedDict[uuid.UUID, OwnerKey] = OrderedDict()
        self._lock = Lock()

    @property
    def provider(self) -> KeyProvider:
        return self._provider

    def create(self, session: Session, owner_id: uuid.UUID) -> OwnerKey:
        """Generate and store a wrapped data key for a new owner (in the caller's transaction)."""
        key = AESGCM.generate_key(256)
        session.add(
            DataKey(
                owner_id=owner_id,
                wrapped=self._provider.wrap(key, context=_context(owner_id)),
                kek_id=self._provider.key_id,
            )
        )
        owner_key = OwnerKey(owner_id, key)
        self._remember(owner_key)
        return owner_key

    def for_owner(self, session: Session, owner_id: uuid.UUID) -> OwnerKey:
        """The owner's data key, unwrapped once and cached; KeyShredded if it was destroyed."""
        with self._lock:
            cached = self._cache.get(owner_id)
            if cached is not None:
                self._cache.move_to_end(owner_id)
                return cached
        row = session.get(DataKey, owner_id)
        if row is None:
            raise KeyShredded(f"no data key for owner {owner_id}")
        owner_key = OwnerKey(owner_id, self._provider.unwrap(row.wrapped, context=_context(owner_id)))
        self._remember(owner_key)
        return owner_key

    def shred(self, session: Session, owner_id: uuid.UUID) -> bool:
        """Destroy the owner's data key; returns False when there was none."""
        with self._lock:
            self._cache.pop(owner_id, None)
        row = session.get(DataKey, owner_id)
        if row is None:
            return False
        session.delete(row)
        return True

    def blind_index(self, purpose: str, value: str) -> bytes:
        """HMAC-SHA256 of a normalised value, for exact lookups without storing the value."""
        message = purpose.encode("utf-8") + b"\x00" + value.encode("utf-8")
        return hmac.new(self._index_key, message, hashlib.sha256).digest()

    def email_index(self, email: str) -> bytes:
        """Blind index of an email address (case- and width-insensitive)."""
        return self.blind_index("email", normalize_email(email))

    def forget_cached(self) -> None:
        """Drop every unwrapped key from memory (e.g. after a key rotation)."""
        with self._lock:
            self._cache.clear()

    def _remember(self, owner_key: OwnerKey) -> None:
        with self._lock:
            self._cache[owner_key.owner_id] = owner_key
            self._cache.move_to_end(owner_key.owner_id)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)

    def __repr__(self) -> str:
        return f"Keyring(provider={self._provider!r})"


def _context(owner_id: uuid.UUID) -> bytes:
    return b"casevault/data-key/" + owner_id.bytes


def require_matching_key(session: Session, provider: KeyProvider) -> None:
    """Unwrap one stored data key with `provider`, so a wrong key file stops start-up instead of every request."""
    sample = session.scalars(select(DataKey).limit(1)).first()
    if sample is None:
        return
    try:
        Keyring(provider).for_owner(session, sample.owner_id)
    except UnwrapError as exc:
        raise KeyMismatch(
            f"the key file (key id {provider.key_id}) is not the key this database was sealed with "
            f"(data keys wrapped by key id {sample.kek_id}); use the data directory's own key file"
        ) from exc
