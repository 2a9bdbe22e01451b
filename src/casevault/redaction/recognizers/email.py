"""EMAIL_ADDRESS, including obfuscated forms: spaced or spelled-out at/dot, bracketed, %40, fullwidth."""

from __future__ import annotations

import re

import re2

from casevault.redaction.recognizers.base import Doc, Found, Hit, char_after, char_before, words
from casevault.redaction.recognizers.tlds import ALL_TLDS, CCTLDS, SECOND_LEVEL_LABELS, SPACED_TLDS, WORDLIKE_TLDS

__all__ = ["EmailRecognizer", "canonical_email"]

_DOT_WORD = r"(?:\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}|<\s*dot\s*>)"
_AT_WORD = r"(?:\[\s*(?:@|at)\s*\]|\(\s*(?:@|at)\s*\)|\{\s*(?:@|at)\s*\}|<\s*at\s*>)"
_LOCAL_ATOM = r"[A-Za-z0-9_+\-'!#$&*=?^`{|}~]+"
# Unbounded repeats on purpose: RE2 expands counted ones ({0,61}) into huge automata that scan 10x slower.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
# Separators captured so validation can tell how the address was written.
_LOCAL_SEP = rf"(?:\.|[ \t]*{_DOT_WORD}[ \t]*|[ \t]+(?i:dot)[ \t]+)"
_AT = rf"(?:[ \t]*(?:@|%40)[ \t]*|[ \t]*{_AT_WORD}[ \t]*|[ \t]+(?i:at)[ \t]+)"
_DOMAIN_SEP = rf"(?:[ \t]*\.[ \t]*|[ \t]*{_DOT_WORD}[ \t]*|[ \t]+(?i:dot)[ \t]+|[ \t]+)"
# Bounded word counts: a rejected candidate is retried from the next word, so an unbounded domain
# ("x at x at x ...") would make the whole scan quadratic.
_PATTERN = re2.compile(
    rf"({_LOCAL_ATOM}(?:{_LOCAL_SEP}{_LOCAL_ATOM}){{0,6}})"
    rf"({_AT})"
    rf"({_LABEL}(?:{_DOMAIN_SEP}{_LABEL}){{1,6}})",
)
_LOCAL_CHARS = frozenset("_+-'!#$&*=?^`{|}~")


def _is_local_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in _LOCAL_CHARS)


_PLAIN_AT_STOP = words(
    """look looking available here there us me him her them site website page docs online home office
    work login log sign signed it this that one which what located based arrive arrived be is are was
    meet see check me staff people someone anyone everyone nobody team support email mail"""
)
_EMAIL_CUES = ("mail", "contact", "reach", "write", "address", "send", "cc", "from", "to:", "reply")


def _is_dot(separator: str) -> bool:
    stripped = separator.strip().lower()
    return stripped != ""  # anything but bare whitespace is an explicit dot ("." "[.]" "dot")


def canonical_email(value: str) -> str:
    """The address written plainly and lowercased, so obfuscated and plain forms tokenize alike."""
    match = _PATTERN.search(value)
    if match is None:
        return value.strip().lower()
    local = re2.sub(rf"{_LOCAL_SEP}", ".", match.group(1))
    domain_parts = split_domain(match.group(3))[::2]
    return f"{local}@{'.'.join(domain_parts)}".lower()


# Two disjoint character classes, each repeated: every character is consumed once, no backtracking.
_RUNS = re.compile(r"[A-Za-z0-9\-]+|[^A-Za-z0-9\-]+")


def split_domain(domain: str) -> list[str]:
    """[label, separator, label, ...] for a matched domain; a spelled-out "dot" belongs to the separator."""
    runs = _RUNS.findall(domain)
    parts: list[str] = []
    for position, text in enumerate(runs):
        is_label = position % 2 == 0  # the domain pattern starts with a label, and runs alternate
        spelled_dot = is_label and text.lower() == "dot" and 0 < position < len(runs) - 1
        if is_label and not spelled_dot:
            parts.append(text)
        elif len(parts) % 2 == 0:
            parts[-1] += text  # extend the current separator
        else:
            parts.append(text)
    return parts


class EmailRecognizer:
    """Finds email addresses written plainly or obfuscated, validating the TLD and the obfuscation style."""

    name = "email"
    entities = frozenset({"EMAIL_ADDRESS"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        position = 0
        while True:
            match = doc.search(_PATTERN, position)
            if match is None:
                return found
            span = self._validate(text, match)
            if span is not None:
                found.append(span)
                position = span[1]
            else:
                # Retry from the next word: "me at bob at gmail.com" must still find "bob at gmail.com".
                position = match.start(1) + 1
                while position < len(text) and _is_local_char(text[position]):
                    position += 1

    def _validate(self, text: str, match: Hit) -> Found | None:
        start = match.start(1)
        if char_before(text, start) in ".@%" or char_before(text, start).isalnum():
            return None
        at = match.group(2)
        at_core = at.strip().lower()
        plain_at = at_core == "at"
        spaced_at = at_core in ("@", "%40") and at != at_core
        domain = match.group(3)
        domain_start = match.start(3)
        parts = split_domain(domain)
        # parts alternates label, separator, label, ...; keep the longest prefix ending in a known TLD, but
        # after a whitespace-only separator stop at the first TLD ("@contoso com so we" ends at "com").
        local = match.group(1)
        local_looks_like_address = any(char in local for char in "._+-0123456789") or local != local.lower()
        offset = 0
        best_end = -1
        best_explicit_dots = False
        spelled_dot = False
        saw_space_sep = False
        previous_tld = ""
        for index, part in enumerate(parts):
            if index % 2 == 1:
                if _is_dot(part):
                    spelled_dot = spelled_dot or part.strip() != "."
                elif best_end >= 0:
                    # "@acme co za": a second-level label followed by a country code is one suffix.
                    # Only in a domain already written with spaces: "x@acme.com as soon" ends at "com".
                    following = parts[index + 1].lower() if index + 1 < len(parts) else ""
                    if not (saw_space_sep and previous_tld in SECOND_LEVEL_LABELS and following in CCTLDS):
                        break
                    saw_space_sep = True
                else:
                    saw_space_sep = True
                offset += len(part)
                continue
            label_end = offset + len(part)
            if part.lower() in ("at", "dot"):
                break
            if index >= 2:
                tld = part.lower()
                if (part.islower() or part.isupper()) and self._tld_allowed(
                    tld,
                    spaced=saw_space_sep,
                    # Right after the first domain label, or after "co"/"com"… in a two-level suffix.
                    adjacent=index == 2 or previous_tld in SECOND_LEVEL_LABELS,
                    symbol_at=not plain_at,
                    address_like=local_looks_like_address,
                ):
                    best_end = label_end
                    best_explicit_dots = not saw_space_sep
                    previous_tld = tld
            offset = label_end
        if best_end < 0:
            return None
        end = domain_start + best_end
        if char_after(text, end).isalnum() or (char_after(text, end) == "@"):
            return None
        if not any(char.isalpha() for char in local):
            return None  # "1.2 at build.com" is a version, not an address
        if plain_at or spaced_at or not best_explicit_dots:
            # Looser forms need more evidence that this is an address and not prose ("look at contoso.com").
            local_obfuscated = local != local.replace(" ", "")
            cue = any(cue in text[max(0, start - 40) : start].lower() for cue in _EMAIL_CUES)
            if plain_at:
                if local.lower() in _PLAIN_AT_STOP and not cue:
                    return None
                if not (spelled_dot or local_obfuscated or local_looks_like_address or cue):
                    return None
            if not best_explicit_dots and not (spelled_dot or cue or local_looks_like_address or spaced_at):
                return None
        score = 1.0 if (not plain_at and not spaced_at and best_explicit_dots) else 0.9
        return (start, end, "EMAIL_ADDRESS", score, self.name)

    @staticmethod
    def _tld_allowed(tld: str, *, spaced: bool, adjacent: bool, symbol_at: bool, address_like: bool) -> bool:
        """Dotted domains take any known TLD; spaced ones ("@contoso com") a stricter set, since prose has spaces.

        After an "@" symbol every country code counts too ("@acme za"), except those that are also words
        ("in", "it"), which need a local part that looks like an address ("kavya_reddy @acme in").
        """
        if not spaced:
            return tld in ALL_TLDS
        if tld in SPACED_TLDS:
            return True
        if not (symbol_at and adjacent) or tld not in CCTLDS:
            return False
        return tld not in WORDLIKE_TLDS or address_like
