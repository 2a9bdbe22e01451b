"""Key-encryption-key providers: the only place the master key material lives.

A provider wraps and unwraps data keys and derives MAC keys; in production it is an HSM (PKCS#11) or a cloud
KMS, so an exposed database or backup holds only wrapped keys. The local key file is for the embedded demo and
for single-host installs.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["KeyFileError", "KeyProvider", "LocalKeyFile", "UnwrapError"]

_FORMAT_VERSION = 1


class KeyFileError(RuntimeError):
    """The key file is missing, malformed or too widely readable; the message says how to fix it."""


class UnwrapError(RuntimeError):
    """A wrapped key could not be opened with this provider (wrong key, or tampered)."""


@runtime_checkable
class KeyProvider(Protocol):
    """What casevault needs from a KMS/HSM: wrap and unwrap data keys, and stable MAC keys by purpose."""

    @property
    def key_id(self) -> str:
        """Identifies the key-encryption key, stored beside each wrapped data key."""
        ...

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        """Encrypt a data key; `context` is bound as associated data and must be given again to unwrap."""
        ...

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        """Decrypt a data key wrapped by wrap() with the same context, or raise UnwrapError."""
        ...

    def mac_key(self, purpose: str) -> bytes:
        """A 32-byte key for HMACs (blind indexes, log pseudonyms, signing seeds), stable per purpose."""
        ...


class LocalKeyFile:
    """A 256-bit master key in a 0600 file; KEK and MAC keys are derived from it with HKDF-SHA256."""

    def __init__(self, path: Path) -> None:
        self._path = path
        master, key_id = self._load(path)
        self._key_id = key_id
        self._kek = AESGCM(_derive(master, b"casevault/kek/v1"))
        self._master = master

    @classmethod
    def create(cls, path: Path) -> LocalKeyFile:
        """Write a new random master key with mode 0600; refuses to overwrite an existing file."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        document = {
            "version": _FORMAT_VERSION,
            "key_id": f"local-{secrets.token_hex(8)}",
            "master": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise KeyFileError(f"key file {path} already exists; refusing to overwrite it") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        return cls(path)

    @staticmethod
    def _load(path: Path) -> tuple[bytes, str]:
        try:
            info = path.stat()
        except FileNotFoundError as exc:
            raise KeyFileError(
                f"key file {path} not found; create one with `casevault init` or point CASEVAULT_KEY_FILE at it"
            ) from exc
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"key file {path} is readable by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"run `chmod 600 {path}`"
            )
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            master = base64.b64decode(document["master"], validate=True)
            key_id = str(document["key_id"])
            version = int(document["version"])
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyFileError(f"key file {path} is not a casevault key file") from exc
        if version != _FORMAT_VERSION or len(master) != 32:
            raise KeyFileError(f"key file {path} has an unsupported format")
        return master, key_id

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._kek.encrypt(nonce, data_key, context)

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        try:
            return self._kek.decrypt(wrapped[:12], wrapped[12:], context)
        except (InvalidTag, ValueError) as exc:
            raise UnwrapError("data key cannot be unwrapped with this key provider") from exc

    def mac_key(self, purpose: str) -> bytes:
        return _derive(self._master, b"casevault/mac/v1/" + purpose.encode("utf-8"))

    def __repr__(self) -> str:
        return f"LocalKeyFile(key_id={self._key_id!r})"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
