"""The name pass decides what a run of capitalised words needs from its words alone, and caches that.

Its shortcut (`_inert`: these words yield nothing whatever surrounds them) must never hide a name or a place:
with the shortcut switched off every run goes through the full segment logic, as before plans existed, and
both must find exactly the same spans in every context.
"""

from __future__ import annotations

import random

import pytest

from casevault.redaction.lexicons import load_lexicons
from casevault.redaction.recognizers import Doc, NameAndPlaceRecognizer
from casevault.redaction.recognizers import names as names_module


def _vocabulary() -> list[str]:
    lex = load_lexicons()
    rng = random.Random(21)
    firsts = rng.sample(sorted(lex.first_names), 40)
    lasts = rng.sample(sorted(lex.last_names), 40)
    places = rng.sample(sorted(lex.places), 60)  # single and multi-word places, countries, regions
    heads = rng.sample(sorted({place.split()[0] for place in lex.places if " " in place}), 20)
    common = rng.sample(sorted(names_module.COMMON_WORDS), 60)
    made_up = ["Zyxol", "Qwarn", "Brelk", "Ship", "Wi-Fi", "I'm", "See", "Studio", "Flat", "Good", "Friday"]
    shapes = ["SSN", "MFA", "IBAN", "GB", "AWS", "KB", "A", "J.", "Q", "X", "INV-", "McDonald", "O'Neil"]
    leaders = ["Hi", "Dear", "Hello", "Thanks", "Mr", "Mrs.", "Dr", "Dr.", "Herr", "Mme", "Sir"]
    particles = ["van", "der", "de", "la", "bin", "st."]
    hyphened = [f"{firsts[0]}-{firsts[1]}", f"{lasts[0]}-{lasts[1]}", f"{lasts[2]}-Zyxol"]
    dotted = [f"{word}." for word in (firsts[2], lasts[3], "Paris", "Then", "The")]
    possessive = [f"{firsts[3]}'s", f"{lasts[4]}’s", "Zyxol's", "Friday's"]
    return (
        firsts + lasts + places + heads + common + made_up + shapes + leaders + particles
        + hyphened + dotted + possessive
    )  # fmt: skip


BEFORE = [
    "", "ok ", "my name is ", "Customer: ", "Hi, ", "spoke with ", "in ", "based in ", "Regards,\n", "this is ",
    "escalated to ", "order 42 ", "x", "I'm ", "from: ", "moved to ", "colleague ",
]  # fmt: skip
AFTER = [
    "", ".", ",", " (jane.doe@contoso.com)", " <ann at acme dot com>", ", CA", ", Germany", " van der Berg",
    " de la Cruz said", "'s laptop", ", 10115", " and then", ":",
]  # fmt: skip


def _texts(count: int) -> list[str]:
    rng = random.Random(5)
    vocabulary = _vocabulary()
    texts = []
    for _ in range(count):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 5))]
        separator = rng.choice([" ", " ", " ", "\t", ". ", "  "])
        texts.append(rng.choice(BEFORE) + separator.join(words) + rng.choice(AFTER))
    return texts


def test_inert_shortcut_never_hides_a_name_or_place() -> None:
    texts = _texts(6000)
    planned = NameAndPlaceRecognizer()
    expected_found = [planned.find(Doc(text)) for text in texts]
    assert sum(map(len, expected_found)) > 2000  # the sample holds many names and places

    unplanned = NameAndPlaceRecognizer(inert_shortcut=False)
    assert unplanned._plan_for("Our IT") is not names_module._SKIP  # the switch really turns the shortcut off
    assert [unplanned.find(Doc(text)) for text in texts] == expected_found


def test_runs_judged_inert_yield_nothing_in_any_context() -> None:
    recognizer = NameAndPlaceRecognizer()
    rng = random.Random(9)
    vocabulary = _vocabulary()
    inert_runs = contexts = 0
    for _ in range(3000):
        run = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 4)))
        if recognizer._plan_for(run) is not names_module._SKIP:
            continue
        inert_runs += 1
        for before in BEFORE:
            for after in AFTER:
                text = before + run + after
                start = len(before)
                doc = Doc(text)
                if (start, start + len(run)) not in set(doc.spans(names_module._RUN)):
                    continue  # the context joined the run ("I'm " before it, " van der Berg" after it)
                inside = [f for f in recognizer.find(doc) if f[0] < start + len(run) and f[1] > start]
                assert inside == [], (text, inside)
                contexts += 1
    assert inert_runs > 300
    assert contexts > 30_000


def test_cached_plans_give_the_same_spans_as_fresh_ones() -> None:
    texts = _texts(2000)
    recognizer = NameAndPlaceRecognizer()
    first = [recognizer.find(Doc(text)) for text in texts]  # fills the plan cache
    assert recognizer._plans
    assert [recognizer.find(Doc(text)) for text in texts] == first


def test_plan_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names_module, "_MAX_PLANS", 100)
    recognizer = NameAndPlaceRecognizer()
    text = " ".join(f"Zq{index:05d}x" for index in range(1000)) + " " + "Abc " * 50 + "Xyz" * 40
    recognizer.find(Doc(text))
    assert 0 < len(recognizer._plans) <= 100
    assert all(len(run) <= names_module._PLANNED_RUN_CHARS for run in recognizer._plans)
