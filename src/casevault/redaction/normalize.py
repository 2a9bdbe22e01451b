"""Undo cheap obfuscation (fullwidth forms, zero-width characters) while keeping a map back to exact offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NormalizedText", "normalize"]

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
# One-to-one replacements keep offsets unchanged: fullwidth ASCII, odd spaces, look-alike @ and dots.
_ONE_TO_ONE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_ONE_TO_ONE.update(
    {
        0x3000: 0x20,  # ideographic space
        0x00A0: 0x20,
        0x2007: 0x20,
        0x2009: 0x20,
        0x202F: 0x20,
        0xFE6B: 0x40,  # small commercial at
        0x2024: 0x2E,  # one dot leader
        0x3002: 0x2E,  # ideographic full stop
        0xFF61: 0x2E,  # halfwidth ideographic full stop
    }
)
_NEEDS_WORK = re.compile("[" + _ZERO_WIDTH + "\uff01-\uff5e\u3000\u00a0\u2007\u2009\u202f\ufe6b\u2024\u3002\uff61]")
# Runs of characters to map or to drop: `str.translate` with a dict costs a lookup per character of the whole
# text, so only these runs go through it (~10x less per text that needs work).
_MAPPED_RUN = re.compile("[\uff01-\uff5e\u3000\u00a0\u2007\u2009\u202f\ufe6b\u2024\u3002\uff61]+")
_ZERO_WIDTH_RUN = re.compile("[" + _ZERO_WIDTH + "]+")


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """Text to scan plus, when characters were removed, the original offset of each scanned character."""

    text: str
    offsets: list[int] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) range of the scanned text back to the original text."""
        if self.offsets is None:
            return start, end
        return self.offsets[start], self.offsets[end - 1] + 1


def normalize(text: str) -> NormalizedText:
    """Return `text` ready to scan; the common case (nothing to undo) costs one regex search."""
    # Every character we undo is non-ASCII: an ASCII text (most of them) needs no search at all.
    if text.isascii() or _NEEDS_WORK.search(text) is None:
        return NormalizedText(text, None)
    mapped = _MAPPED_RUN.sub(_map_run, text)
    kept: list[str] = []
    offsets: list[int] = []
    position = 0
    for match in _ZERO_WIDTH_RUN.finditer(mapped):
        kept.append(mapped[position : match.start()])
        offsets.extend(range(position, match.start()))
        position = match.end()
    if not position:
        return NormalizedText(mapped, None)  # nothing dropped: offsets are unchanged
    kept.append(mapped[position:])
    offsets.extend(range(position, len(mapped)))
    return NormalizedText("".join(kept), offsets)


def _map_run(match: re.Match[str]) -> str:
    return match.group().translate(_ONE_TO_ONE)
