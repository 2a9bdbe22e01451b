"""CREDENTIAL: secrets pasted into tickets (passwords after a label, well-known token prefixes, private keys,
connection strings with a password)."""

from __future__ import annotations

import re2

from casevault.redaction.recognizers.base import Doc, Found, words

__all__ = ["CredentialRecognizer"]

_LABELLED = re2.compile(
    r"(?i:\b(?:password|passwort|passwd|pass ?word|mot de passe|contraseña|pwd|pw|passphrase|passcode|"
    r"secret|client[_ \-]?secret|api[_ \-]?key|apikey|access[_ \-]?key|secret[_ \-]?key|auth[_ \-]?token|"
    r"access[_ \-]?token|token|pin|accountkey|sharedaccesskey)\b)"
    r"[ \t]*(?:(?i:is|was|ist|est)[ \t]*:?|[:=]|=>|->)[ \t]*[\"'`]?([^\s\"'`;,]+)"
)
_PREFIXED = re2.compile(
    r"\bAKIA[0-9A-Z]{16}\b|\bASIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}|\bgithub_pat_[A-Za-z0-9_]{22,}"
    r"|\bglpat-[A-Za-z0-9_\-]{20,}\b|\bxox[abposr]-[A-Za-z0-9\-]{10,}\b"
    r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b|\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}\b"
    r"|\bAIza[0-9A-Za-z_\-]{35}\b|\bnpm_[A-Za-z0-9]{36}\b|\bpypi-[A-Za-z0-9_\-]{50,}\b"
    r"|\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b|\bshpat_[a-fA-F0-9]{32}\b"
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r"|(?i:\bbearer)[ \t]+[A-Za-z0-9\-._~+/]{16,}=*"
    r"|-----BEGIN[ A-Z]{0,20} PRIVATE KEY(?: BLOCK)?-----(?s:.*?)-----END[ A-Z]{0,20} PRIVATE KEY(?: BLOCK)?-----"
    # A truncated key (no END line) is still a key: take the base64 body that follows the header.
    r"|-----BEGIN[ A-Z]{0,20} PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s:\-]*"
    r"|\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\"']+:[^\s@/\"']+@[^\s\"'<>]+"
)
# Words that follow "password is/was" in prose and are not secrets.
_NOT_SECRETS = words(
    """reset changed expired incorrect wrong invalid required updated correct not the a an now still being
    too weak strong locked missing empty blank same different set sent working accepted rejected valid
    protected case sensitive known unknown forgotten lost ok okay fine good bad new old correct your my his
    her their our none null undefined"""
)
_TRAILING = ".,;:!?)]}>"


class CredentialRecognizer:
    """Labelled secrets and self-identifying tokens; the label itself is left readable."""

    name = "credential"
    entities = frozenset({"CREDENTIAL"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        for match in doc.finditer(_LABELLED):
            start, end = match.span(1)
            value = match.group(1)
            while end > start + 1 and text[end - 1] in _TRAILING:
                end -= 1
            value = text[start:end]
            if value.lower() in _NOT_SECRETS or not 3 <= len(value) <= 200:
                continue
            label = text[match.start() : start].lower()
            if label.startswith(("pin", "token", "pw")) and value.isalpha() and value.islower():
                continue
            found.append((start, end, "CREDENTIAL", 0.85, self.name))
        for start, end in doc.spans(_PREFIXED):
            while end > start + 1 and text[end - 1] in _TRAILING and "KEY-----" not in text[end - 9 : end]:
                end -= 1
            found.append((start, end, "CREDENTIAL", 0.95, self.name))
        return found
