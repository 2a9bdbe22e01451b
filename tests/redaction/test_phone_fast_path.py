"""The phone fast path (plain digit strings validated without `phonenumbers.parse`) must agree with the parse."""

from __future__ import annotations

import random

import pytest

from casevault.redaction import Redactor
from casevault.redaction.recognizers import phone

REGION_SETS: list[tuple[str | None, ...]] = [
    (None,),
    ("GB", "DE", "FR", "AU", "IN", "JP"),
    ("US", "IN"),
    ("US", "GB", "DE", "FR", "AU", "IN", "JP", "CA"),
    ("GB",),
    ("CA",),
]


def _numbers(count: int) -> list[str]:
    rng = random.Random(8)
    numbers = []
    for _ in range(count):
        length = rng.randint(7, 15)
        digits = "".join(rng.choice("0123456789") for _ in range(length))
        form = rng.random()
        if form < 0.3:
            digits = "0" + digits[1:]  # trunk prefix, like most national numbers in the corpus
        elif form < 0.5:
            digits = rng.choice(["1", "44", "49", "33", "61", "91", "81", "7", "86", "358"]) + digits[3:]
        elif form < 0.55:
            digits = rng.choice(["00", "011", "0011", "010", "1831", "180020"]) + digits[2:]
        groups, position = [], 0
        while position < len(digits):
            size = rng.randint(2, 4)
            groups.append(digits[position : position + size])
            position += size
        text = rng.choice([" ", "-", ".", "", " - "]).join(groups)
        if rng.random() < 0.1:
            text = f"({groups[0]}) " + " ".join(groups[1:])
        if rng.random() < 0.35:
            text = "+" + text
        numbers.append(text)
    return numbers


@pytest.mark.parametrize("regions", REGION_SETS)
def test_fast_path_agrees_with_phonenumbers(regions: tuple[str | None, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    validate = phone._valid_somewhere.__wrapped__
    numbers = _numbers(2500)
    fast = [validate(number, regions) for number in numbers]
    monkeypatch.setattr(phone, "_FAST_PARSE", False)
    slow = [validate(number, regions) for number in numbers]
    disagreements = [number for number, a, b in zip(numbers, fast, slow, strict=True) if a != b]
    assert disagreements == []
    assert any(slow)  # the sample holds both valid and invalid numbers
    assert not all(slow)


def test_detect_is_identical_without_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    text = " ".join(f"call {number} or" for number in _numbers(400))
    fast = Redactor().detect(text)
    phone._valid_somewhere.cache_clear()
    monkeypatch.setattr(phone, "_FAST_PARSE", False)
    assert Redactor().detect(text) == fast
    phone._valid_somewhere.cache_clear()
