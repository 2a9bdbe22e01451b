"""IP_ADDRESS (v4 incl. defanged and spaced forms, v6 incl. zones and IPv4-mapped), MAC_ADDRESS and URL."""

from __future__ import annotations

import ipaddress

import re2

from casevault.redaction.recognizers.base import Doc, Found, char_after, char_before, word_before
from casevault.redaction.recognizers.tlds import ALL_TLDS, BARE_DOMAIN_TLDS

__all__ = ["IpRecognizer", "MacRecognizer", "UrlRecognizer", "canonical_ip"]

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_V4_DOT = r"(?:[ \t]?\.[ \t]?|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|[ \t]\[\.\][ \t])"
_V4 = re2.compile(rf"{_OCTET}(?:{_V4_DOT}{_OCTET}){{3}}")
_V6 = re2.compile(
    r"(?:[0-9A-Fa-f]{1,4}|:)?:(?:[0-9A-Fa-f]{0,4}:){1,7}"
    r"(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}|[0-9A-Fa-f]{1,4})?"
    r"(?:%[0-9A-Za-z._\-]{1,32})?"
)
_VERSION_WORDS = frozenset({"version", "ver", "v", "build", "release", "firmware", "fw", "kb", "patch", "rev"})


def canonical_ip(value: str) -> str:
    """The address with defanging and spaces removed, in the standard textual form."""
    cleaned = value.replace("[.]", ".").replace("(.)", ".").replace("{.}", ".")
    cleaned = cleaned.replace("[dot]", ".").replace("(dot)", ".").replace(" ", "").replace("\t", "")
    try:
        return str(ipaddress.ip_address(cleaned))
    except ValueError:
        return cleaned.lower()


class IpRecognizer:
    """IPv4 (plain, defanged `1.2.3[.]4`, spaced) and IPv6, rejecting version numbers and longer dotted runs."""

    name = "ip"
    entities = frozenset({"IP_ADDRESS"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        if "." in text or "[" in text or "(" in text:
            for start, end in doc.spans(_V4):
                before, after = char_before(text, start), char_after(text, end)
                if before.isalnum() or before in "._-" or after.isalnum() or after in "_":
                    continue
                if after == "." and char_after(text, end + 1).isdigit():
                    continue
                if word_before(text, start) in _VERSION_WORDS:
                    continue
                spaced = " " in text[start:end] or "\t" in text[start:end]
                found.append((start, end, "IP_ADDRESS", 0.85 if spaced else 0.95, self.name))
        if "::" in text or text.count(":") >= 4:
            for start, end in doc.spans(_V6):
                value = text[start:end]
                if value.count(":") < 2 or char_before(text, start).isalnum() or char_before(text, start) == ":":
                    continue
                if char_after(text, end).isalnum() or char_after(text, end) in ":":
                    continue
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    continue
                found.append((start, end, "IP_ADDRESS", 0.95, self.name))
        return found


_MAC = re2.compile(r"[0-9A-Fa-f]{2}(?:[:\-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}")


class MacRecognizer:
    """MAC addresses in colon, dash or Cisco dotted notation, with one consistent separator."""

    name = "mac"
    entities = frozenset({"MAC_ADDRESS"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        for start, end in doc.spans(_MAC):
            value = text[start:end]
            if (
                char_before(text, start).isalnum()
                or char_before(text, start) in ":-."
                or char_after(text, end).isalnum()
            ):
                continue
            if char_after(text, end) in ":-." and char_after(text, end + 1).isalnum():
                continue
            separators = {char for char in value if not char.isalnum()}
            if len(separators) != 1:
                continue
            found.append((start, end, "MAC_ADDRESS", 0.9, self.name))
        return found


_BARE_TLD_ALT = "|".join(sorted(BARE_DOMAIN_TLDS, key=len, reverse=True))
_URL = re2.compile(
    r"(?i:(?:https?|hxxps?|ftps?|sftp|wss?)(?::|\[:\])//|www\d?(?:\.|\[\.\]))[^\s<>\"'{}|\\^`]+"
    r"|(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.|\[\.\]))+"
    rf"(?:{_BARE_TLD_ALT})(?::[0-9]{{2,5}})?(?:/[^\s<>\"'{{}}|\\^`]*)?"
)
_TRAILING = ".,;:!?)]}'\"»>*"


class UrlRecognizer:
    """Web addresses with a scheme or `www.`, and bare domains with a common TLD; never inside an email."""

    name = "url"
    entities = frozenset({"URL"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        if "." not in text and "[.]" not in text:
            return found
        for start, end in doc.spans(_URL):
            before = char_before(text, start)
            if before.isalnum() or before in "@.-_%/\\":
                continue
            while end > start and text[end - 1] in _TRAILING:
                # Keep a closing bracket that has its opening partner inside the URL (wiki links).
                if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
                    break
                end -= 1
            value = text[start:end]
            if "@" in value.split("/", 3)[-1] and "://" not in value:
                continue  # an email address, not a URL
            lowered = value.lower()
            has_scheme = "//" in lowered[:12] or lowered.startswith("www")
            if not has_scheme:
                host = lowered.split("/", 1)[0].split(":", 1)[0].replace("[.]", ".")
                labels = host.split(".")
                tld = labels[-1]
                if len(labels) < 2 or tld not in ALL_TLDS or not value.split("/", 1)[0].rsplit(".", 1)[-1].islower():
                    continue
                if all(label.isdigit() for label in labels[:-1]):
                    continue
                if char_after(text, end) == "@" or char_before(text, start) == "@":
                    continue
            found.append((start, end, "URL", 0.9 if has_scheme else 0.6, self.name))
        return found
