"""PERSON and LOCATION from lexicons plus context cues: one pass over runs of capitalised words."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import re2

from casevault.redaction.lexicons import Lexicons, load_lexicons
from casevault.redaction.recognizers.base import Doc, Found, words

__all__ = ["NameAndPlaceRecognizer"]

_PARTICLE_WORDS = ("van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "le", "la", "bin", "ibn", "al",
    "dos", "das", "do", "ten", "ter", "st.")  # fmt: skip
_PARTICLES = "(?:" + "|".join(re2.escape(word) for word in _PARTICLE_WORDS) + ")"
# A run of capitalised words, the unit the name pass works on. `_run_chunks` finds exactly its matches without
# an RE2 call per run; the pattern stays the definition, which the tests compare the scan with.
_RUN = re2.compile(
    r"\p{Lu}[\p{L}\p{M}'’\-]*\.?"
    rf"(?:[ \t]+(?:{_PARTICLES}[ \t]+){{0,2}}\p{{Lu}}[\p{{L}}\p{{M}}'’\-]*\.?)*"
)
# `_RUN`'s character classes for `_run_chunks`: a capital (\p{Lu}), a word character ([\p{L}\p{M}'’\-]) and a
# blank. ASCII characters are looked up in a table; any other is classified once by RE2 itself, so both agree.
_UPPER: Final = 1
_WORD: Final = 2
_BLANK: Final = 4
_ASCII_CLASS: Final = bytes(
    (_UPPER | _WORD if 65 <= code <= 90 else _WORD if 97 <= code <= 122 or code in (39, 45) else 0)
    | (_BLANK if code in (9, 32) else 0)
    for code in range(128)
)
_CAPITAL = re2.compile(r"\p{Lu}")
_WORD_CHARACTER = re2.compile(r"[\p{L}\p{M}'’\-]")
_MAX_WIDE_CLASSES = 20_000
_wide_classes: dict[int, int] = {}
_PARTICLE_SET: Final = frozenset(_PARTICLE_WORDS)
_LONGEST_PARTICLE: Final = max(len(word) for word in _PARTICLE_WORDS)
_RUN_CHUNK: Final = 4096

_GREETINGS = words(
    """hi hello hey dear thanks thank regards cheers bonjour hallo hola ciao sincerely best morning
    afternoon evening greetings welcome liebe lieber salut cordialement gruß grüße"""
)
_TITLES = words("""mr mrs ms miss mx dr prof sir madam herr frau mme mlle monsieur madame sr sra srta dott ing""")
_LEADERS = _GREETINGS | _TITLES
# Capitalised words that are names or places in some lexicon but in support text are usually something else.
COMMON_WORDS = words(
    """The This That These Those There Then Than They Their Them We Our Us You Your It Its I Me My Mine He She
    His Her Him A An And Or But Not No Yes Ok Okay Please Thanks Thank Sorry Also Just Still New Old All Any
    Some Can Could Would Will Should Shall May Might Must Did Does Do Done Is Are Was Were Be Been Being Has
    Have Had If When Where What Which Who Why How As At By For From In Into On Of Off Out Over Under Up Down
    To With Without About After Before During Since Until Upon Via Per So Such Very More Most Less Much Many
    Few Each Every Both Either Neither Other Another Same Here Now Today Tomorrow Yesterday Soon Later Again
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April June July August
    September October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Spring Summer
    Autumn Fall Winter Case Cases Ticket Order Orders Invoice Account Accounts Billing Bill Payment Payments
    Refund Error Errors Issue Issues Status Priority Subject Note Notes Resolution Description Summary Internal
    Public Reply Escalation Manager Admin Administrator Server Service Services Support Team Teams Customer
    Customers Agent Agents Client User Users Premium Pro Plus Max Mini Home Business Enterprise Basic Standard
    Free Trial Windows Office Excel Word Outlook Teams Azure Chrome Edge Safari Firefox Android Linux Mac
    Apple Google Amazon Microsoft Dell Lenovo Samsung Sony Intel Cisco Oracle Adobe Zoom Slack Jira Update
    Updates Upgrade Version Release Build Patch Device Devices Phone Email Mail Message Password Login Portal
    Web Site Page Pages Cloud Data Power Light Center Street Road Avenue Bank Card Credit Debit Visa Master
    Best Kind Warm Regards Dear Hi Hello Hey Cheers Sincerely Thanks Team Dept Department Sales Marketing
    Finance Legal Security Operations Engineering Product Products Store Shop Online Offline Mobile App Apps
    Network Router Modem Wifi Printer Laptop Desktop Monitor Screen Battery Charger Cable Box Key Keys Lock
    Grant Chase Will Mark Guy Major General Private Bishop Judge Rich Young King Page Rose Hope Faith Joy
    Amber Crystal Ruby Pearl Jade Ivy Holly Dawn Sunny Rain Storm Reading Nice Bath Split Sale Orange Of
    Normal Independence Enterprise Commerce Mission Paradise Surprise Liberty Union Victory Temple Harmony
    Ok Dates Date Time Times Week Weeks Month Months Year Years Day Days Hour Hours Minute Minutes Urgent
    High Low Medium Critical Open Closed Pending Resolved Escalated Assigned Waiting Queue Tier Level Step
    Steps First Second Third Last Next Previous Final Total Amount Price Cost Fee Tax Number Code Id Ref
    Kindly Unfortunately However Meanwhile Regarding Re Fw Fwd Attached Attachment Screenshot Log Logs
    Chat Call Calls Voicemail Text Sms Hotline Helpdesk Desk Portal Dashboard Settings Profile Report"""
)
_PERSON_CUES = (
    "my name is", "name is", "name:", "this is", "i am", "i'm", "customer:", "contact:", "agent:", "from:",
    "to:", "cc:", "signed", "regards,", "thanks,", "thank you,", "cheers,", "best,", "sincerely,", "spoke with",
    "spoke to", "talked to", "talked with", "assigned to", "handed to", "escalated to", "called by",
    "requested by", "reported by", "on behalf of", "caller:", "requester:", "owner:", "colleague",
    "manager", "husband", "wife", "son", "daughter", "mother", "father", "partner", "je suis", "ich bin",
    "ich heiße", "je m'appelle", "me llamo", "contact person", "account holder", "cardholder", "addressed to",
    "please add", "please remove", "please invite",
)  # fmt: skip
_PLACE_PREPOSITIONS = words(
    """in from to near at of around outside inside across based located live lives living moved relocated
    visiting visit travelling traveling flew flying shipped ship deliver delivered office branch store
    city town nach aus bei à en de vers"""
)
_STATE_CODES = words(
    """AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND
    OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC UK USA"""
)


# What to do with one run of capitalised words, decided from its words alone (`_plan_for`): the segments (words
# as (offset, end, raw) inside the run) to hand to `_segment`; none (`_SKIP`); or, for a word in no lexicon,
# `_AFTER_CUE`: its one segment, but only right after a person cue ("my name is Zyx").
_Segment = tuple[tuple[int, int, str], ...]
_Plan = tuple[_Segment, ...]
_SKIP: _Plan = ()
_AFTER_CUE: _Plan = (((0, 0, ""),),)  # a marker, compared by identity; its segment is built when needed
_MAX_PLANS = 50_000
_PLANNED_RUN_CHARS = 80


class NameAndPlaceRecognizer:
    """Finds people's names and place names in runs of capitalised words, using lexicons and nearby cues."""

    name = "lexicon"
    entities = frozenset({"PERSON", "LOCATION"})

    def __init__(
        self, lexicons: Lexicons | None = None, *, people: bool = True, places: bool = True, inert_shortcut: bool = True
    ) -> None:
        self._lex = lexicons or load_lexicons()
        # Off only in the test that proves the shortcut exact: a keyword rather than a monkeypatched method,
        # because compiled code (ADR 0105) calls `_inert` directly and would ignore a patch on the class.
        self._inert_shortcut = inert_shortcut
        self._people = people
        self._places = places
        self._all_names = self._lex.first_names | self._lex.last_names
        # First words of multi-word places: a longer lookup is only worth trying when the run starts with one.
        self._place_heads = frozenset(name.split()[0] for name in self._lex.places if len(name.split()) > 1)
        self._plans: dict[str, _Plan] = {}

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        plans = self._plans
        for chunk in _run_chunks(doc):  # `_RUN`'s spans in lists: no generator step per run
            for start, end in chunk:
                run = text[start:end]
                plan = plans.get(run)
                if plan is None:
                    plan = self._plan_for(run)
                if plan is _SKIP:
                    continue
                if plan is _AFTER_CUE:
                    if not _person_cue_before(text, start):
                        continue
                    plan = ((_word_segment(run),),)
                for segment in plan:
                    self._segment(text, [(start + offset, start + stop, raw) for offset, stop, raw in segment], found)
        return found

    def _plan_for(self, run: str) -> _Plan:
        """What a run needs, decided once per distinct run: most runs ("The", "Our IT", "IBAN GB") need nothing.

        Everything here depends on the run's own words and the lexicons only; what depends on the text around
        the run (cues, prepositions, a following address) is decided by `_segment` for the segments kept.
        """
        plan = self._single_word_plan(run) if " " not in run and "\t" not in run else self._multi_word_plan(run)
        if len(run) <= _PLANNED_RUN_CHARS:  # memory stays bounded on hostile input: short runs, limited count
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[run] = plan
        return plan

    def _single_word_plan(self, run: str) -> _Plan:
        lex = self._lex
        name = run.rstrip(".")
        word = name[:-2] if name.endswith(("'s", "’s")) else name
        unknown = word not in self._all_names and word not in lex.places and word.lower() not in _LEADERS
        if unknown and word in COMMON_WORDS:
            return _SKIP
        if name.lower() in _LEADERS or (word in COMMON_WORDS and name not in lex.places):
            return _SKIP  # what `_segment` decides first for a one-word segment, without building one
        if not unknown:
            return ((_word_segment(run),),)
        if not _name_shaped(word) and self._inert(run, (_word_segment(run),)):
            return _SKIP  # not in any lexicon and not name-shaped ("SSN", "MFA"): nothing, whatever the cue
        return _AFTER_CUE  # an unknown word is only a name right after a cue ("my name is")

    def _multi_word_plan(self, run: str) -> _Plan:
        segments: list[_Segment] = []
        segment: list[tuple[int, int, str]] = []
        end = 0
        for raw in run.split():
            start = run.index(raw, end)
            end = start + len(raw)
            if raw[-1] == ".":
                word = raw.rstrip(".")
                if len(word) > 1 and word.lower() not in _TITLES and word[0].isupper():
                    # "John. Then" ends a sentence: the dot belongs to the sentence, not the name.
                    segment.append((start, end - 1, word))
                    segments.append(tuple(segment))
                    segment = []
                    continue
            segment.append((start, end, raw))
        if segment:
            segments.append(tuple(segment))
        kept = tuple(segment for segment in segments if not self._inert(run, segment))
        return kept if kept else _SKIP

    def _inert(self, run: str, tokens: _Segment) -> bool:
        """True when `_segment` finds nothing in these words of `run`, whatever surrounds them.

        That holds when, after any leading greetings, no word is a title, lexicon name or place (alone or as the
        start of a longer place), the first word is not name-shaped (else a cue or greeting before it could make
        it a person) and no two name-shaped words are adjacent (else an address after them could).
        `tests/redaction/test_name_plans.py` checks this against `_segment` in every context.
        """
        if not self._inert_shortcut:
            return False
        lex = self._lex
        places = lex.places
        first_names, last_names, all_names = lex.first_names, lex.last_names, self._all_names
        index = 0
        while index < len(tokens) and tokens[index][2].rstrip(".").lower() in _GREETINGS:
            index += 1
        previous_capable = True  # the first word counts as if preceded by a name-shaped one
        for position in range(index, len(tokens)):
            start, _end, raw = tokens[position]
            name = raw.rstrip(".")
            word = _strip_possessive(raw)
            if name.lower() in _LEADERS or raw in all_names or word in all_names:
                return False
            if _in(word, first_names) or _in(word, last_names):
                return False
            # The place lookups `_place` would try from this word.
            longest = min(lex.longest_place_words, len(tokens) - position)
            if longest > 1 and raw not in self._place_heads:
                longest = 1
            for length in range(longest, 0, -1):
                if run[start : tokens[position + length - 1][1]].rstrip(".") in places:
                    return False
            capable = word not in COMMON_WORDS and _name_shaped(word)
            if capable and previous_capable:
                return False
            previous_capable = capable
        return True

    def _segment(self, text: str, tokens: list[tuple[int, int, str]], found: list[Found]) -> None:
        lex = self._lex
        if len(tokens) == 1:
            # One word ("The", "Thanks", "My"): a greeting or title alone names nobody, and a common word is
            # never a person on its own (see `_person`), so only a place lookup could still find something.
            raw = tokens[0][2]
            name = raw.rstrip(".")
            if name.lower() in _LEADERS or (_strip_possessive(raw) in COMMON_WORDS and name not in lex.places):
                return
        greeting = title = False
        index = 0
        while index < len(tokens) and tokens[index][2].rstrip(".").lower() in _LEADERS:
            word = tokens[index][2].rstrip(".").lower()
            greeting = greeting or word in _GREETINGS
            title = title or word in _TITLES
            index += 1
        first_start = tokens[index][0] if index < len(tokens) else 0
        person_cue = greeting or title or _person_cue_before(text, first_start)
        while index < len(tokens):
            consumed = self._place(text, tokens, index, found, person_cue) if self._places else 0
            if consumed:
                index += consumed
                continue
            consumed = self._person(text, tokens, index, found, person_cue, title) if self._people else 0
            if consumed:
                index += consumed
                person_cue = False
                continue
            index += 1
            person_cue = person_cue and tokens[index - 1][2] in lex.first_names

    def _place(
        self, text: str, tokens: list[tuple[int, int, str]], index: int, found: list[Found], person_cue: bool
    ) -> int:
        lex = self._lex
        longest = min(lex.longest_place_words, len(tokens) - index)
        if longest > 1 and tokens[index][2] not in self._place_heads:
            longest = 1
        for length in range(longest, 0, -1):
            start = tokens[index][0]
            end = tokens[index + length - 1][1]
            name = text[start:end].rstrip(".")
            entry = lex.places.get(name)
            if entry is None:
                continue
            end = start + len(name)
            kind, population = entry
            ambiguous = name in COMMON_WORDS or name in lex.first_names or name in lex.last_names
            previous = _previous_word(text, start)
            preposition = previous in _PLACE_PREPOSITIONS
            after = text[end : end + 24]
            followed_by_region = _followed_by_region(after, lex)
            if person_cue and (name in lex.first_names or name in lex.last_names or not preposition):
                return 0  # "escalated to Kim Smith": the cue says person, even though Kim is also a town
            if (preposition and not (name in COMMON_WORDS and kind == "city" and population < 100_000)) or (
                followed_by_region and name not in COMMON_WORDS
            ):
                score = 0.85
            elif kind in ("country", "region") and name not in COMMON_WORDS and not person_cue:
                score = 0.8
            elif not ambiguous and kind == "city" and population >= 300_000:
                score = 0.7
            else:
                return 0
            found.append((start, end, "LOCATION", score, "gazetteer"))
            return length
        return 0

    def _person(
        self,
        text: str,
        tokens: list[tuple[int, int, str]],
        index: int,
        found: list[Found],
        person_cue: bool,
        title: bool,
    ) -> int:
        lex = self._lex
        run: list[tuple[int, int, str]] = []
        for start, _end, raw in tokens[index : index + 4]:
            word = raw.rstrip(".")  # `_strip_possessive`, inlined for the hot loop
            if word.endswith(("'s", "’s")):
                word = word[:-2]
            if word in COMMON_WORDS and word not in self._all_names and not (title and not run):
                break
            # Name-shaped: one letter, an initial, or capitalised but not all capitals.
            if len(word) != 1 and not (word and word[0].isupper() and not word.isupper()) and not _is_initial(word):
                break
            run.append((start, start + len(word), word))
        if not run:
            return 0
        words = [word for _, _, word in run]
        known_first = _in(words[0], lex.first_names)
        first_common = words[0] in COMMON_WORDS
        if len(run) >= 2:
            second = words[1]
            second_known = _in(second, lex.last_names) or _in(second, lex.first_names) or _is_initial(second)
            if title or person_cue or _contact_follows(text, run[1][1]):
                score = 0.9
            elif known_first and second_known and not (first_common and second in COMMON_WORDS):
                score = 0.85
            elif known_first and not first_common and second not in COMMON_WORDS:
                score = 0.7
            elif _is_initial(words[0]) and _in(second, lex.last_names):
                score = 0.75
            else:
                run = run[:1]
                words = words[:1]
                score = 0.0
            if score:
                # Keep trailing tokens only while they still look like name parts.
                keep = 2
                while (
                    keep < len(run)
                    and (_in(words[keep], lex.last_names) or words[keep] not in COMMON_WORDS)
                    and not _is_place_only(words[keep], lex)
                ):
                    keep += 1
                end = _surname_particles_end(text, run[keep - 1][1])
                found.append((run[0][0], end, "PERSON", score, "lexicon_person"))
                return keep
        word = words[0]
        if title or person_cue:
            if word in COMMON_WORDS and not title:
                return 0
            score = 0.85 if (_in(word, lex.first_names) or _in(word, lex.last_names)) else 0.6
        elif (
            known_first
            and not first_common
            and not _sentence_initial(text, run[0][0])
            and lex.places.get(word, ("city", 0))[0] == "city"
        ):
            score = 0.55
        else:
            return 0
        found.append((run[0][0], _surname_particles_end(text, run[0][1]), "PERSON", score, "lexicon_person"))
        return 1


def _run_chunks(doc: Doc) -> Iterator[list[tuple[int, int]]]:
    """The spans of `_RUN` in `doc`, in lists of up to 4,096, exactly as `doc.span_chunks(_RUN)` gives them.

    It replaces an RE2 call per run (~22 per ticket), whose binding overhead cost more than the scan itself
    (ADR 0106); `tests/redaction/test_name_run_scan.py` compares both.
    """
    size = len(doc.text)
    position = 0
    while position < size:
        found, position = _scan_runs(doc, position)
        if found:
            yield found


def _scan_runs(doc: Doc, position: int) -> tuple[list[tuple[int, int]], int]:
    """Up to 4,096 runs from `position` on, and where to go on: a plain function, so compiled locals stay native.

    One left-to-right pass over the characters (each looked at a bounded number of times, so linear like RE2)
    following the pattern's leftmost-first choices: a run starts at the next capital, takes its word and an
    optional dot, then keeps taking blanks, up to two particles each followed by blanks, and a capitalised
    word, for as long as that whole step matches.
    """
    text = doc.text
    size = len(text)
    found: list[tuple[int, int]] = []
    while position < size:
        code = ord(text[position])
        # The hottest loop (most characters do not start a run): the ASCII table inline, no call.
        if not (_ASCII_CLASS[code] if code < 128 else _char_class(code)) & _UPPER:
            position += 1
            continue
        start = position
        end = _word_end(text, position + 1, size)
        while True:
            step = end
            while step < size and _char_class(ord(text[step])) & _BLANK:
                step += 1
            if step == end:
                break
            for _ in range(2):
                token_end = step
                limit = min(size, step + _LONGEST_PARTICLE + 1)
                while token_end < limit and not _char_class(ord(text[token_end])) & _BLANK:
                    token_end += 1
                if (
                    token_end == size
                    or not _char_class(ord(text[token_end])) & _BLANK
                    or text[step:token_end] not in _PARTICLE_SET
                ):
                    break
                step = token_end
                while step < size and _char_class(ord(text[step])) & _BLANK:
                    step += 1
            if step < size and _char_class(ord(text[step])) & _UPPER:
                end = _word_end(text, step + 1, size)
            else:
                break
        found.append((start, end))
        position = end
        if len(found) & 31 == 0:
            doc.check_deadline()
            if len(found) == _RUN_CHUNK:
                break
    return found, position


def _word_end(text: str, position: int, size: int) -> int:
    """Where a capitalised word that started before `position` ends: word characters, then an optional dot."""
    while position < size:
        code = ord(text[position])
        if not (_ASCII_CLASS[code] if code < 128 else _char_class(code)) & _WORD:
            break
        position += 1
    if position < size and text[position] == ".":
        position += 1
    return position


def _char_class(code: int) -> int:
    if code < 128:
        return _ASCII_CLASS[code]
    known = _wide_classes.get(code)
    if known is not None:
        return known
    char = chr(code)
    kind = (_UPPER if _CAPITAL.fullmatch(char) else 0) | (_WORD if _WORD_CHARACTER.fullmatch(char) else 0)
    if len(_wide_classes) >= _MAX_WIDE_CLASSES:  # bounded memory on hostile input
        _wide_classes.clear()
    _wide_classes[code] = kind
    return kind


# Last words of the cues above: a cheap pre-check before matching whole cue phrases.
_CUE_TAILS = frozenset({phrase.rstrip(" ,:").rsplit(" ", 1)[-1] for phrase in _PERSON_CUES} | {"is", "am", "m"})
# The cues by their last character: `endswith` with all 55 at once measured ~3,700 instructions a call.
_CUES_BY_LAST_CHAR: dict[str, tuple[str, ...]] = {
    last: tuple(phrase for phrase in _PERSON_CUES if phrase[-1] == last) for last in {cue[-1] for cue in _PERSON_CUES}
}


def _person_cue_before(text: str, start: int) -> bool:
    index = start - 1
    while index >= 0 and text[index] in " \t\n":
        index -= 1
    if index < 0:
        return False
    if text[index] not in ",:":
        word_end = index + 1
        while index >= 0 and (text[index].isalpha() or text[index] == "'"):
            index -= 1
        if text[index + 1 : word_end].lower() not in _CUE_TAILS:
            return False
    before = " ".join(text[max(0, start - 32) : start].lower().split())
    return _ends_with_cue(before) or _ends_with_cue(before.rstrip(" ,"))


def _ends_with_cue(before: str) -> bool:
    """`before.endswith(_PERSON_CUES)`, trying only the few cues that end in the same character."""
    cues = _CUES_BY_LAST_CHAR.get(before[-1:])
    return cues is not None and before.endswith(cues)


def _in(word: str, names: frozenset[str]) -> bool:
    if word in names:
        return True
    if "-" in word:
        parts = [part for part in word.split("-") if part]
        return bool(parts) and all(part in names for part in parts)
    return False


def _strip_possessive(raw: str) -> str:
    word = raw.rstrip(".")
    for suffix in ("'s", "’s"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _word_segment(run: str) -> tuple[int, int, str]:
    """A one-word run as a segment: "John." loses its dot (a sentence ends), "Dr." keeps it."""
    if run[-1] == "." and len(run) > 2 and run[:-1].lower() not in _TITLES:
        return (0, len(run) - 1, run[:-1])
    return (0, len(run), run)


def _name_shaped(word: str) -> bool:
    """One letter, an initial, or capitalised but not all capitals: what `_person` accepts as part of a name."""
    return len(word) == 1 or (word != "" and word[0].isupper() and not word.isupper()) or _is_initial(word)


def _is_initial(word: str) -> bool:
    return len(word.rstrip(".")) == 1 and word[0].isupper()


def _is_place_only(word: str, lex: Lexicons) -> bool:
    return word in lex.places and word not in lex.last_names and word not in lex.first_names


# "Jane Doe (jane@…)" or "Jane Doe <jane@…>": a name written right before an address is a person.
_CONTACT_AFTER = re2.compile(r"[ \t]*[(<][^()<>\n]{0,80}?(?:@|\bat\b|＠)")
# Surname particles after a name: "Pieter van der Merwe", "Ana de la Cruz", "Omar bin Said".
_SURNAME_PARTICLE_WORDS = ("van", "von", "de", "der", "den", "da", "di", "del", "della", "du", "le", "la", "bin", "ibn",
    "al", "el", "dos", "das", "ter", "ten")  # fmt: skip
_SURNAME_PARTICLES = re2.compile(
    rf"(?:[ \t]+(?:{'|'.join(_SURNAME_PARTICLE_WORDS)})){{1,3}}"
    r"[ \t]+\p{Lu}[\p{L}'’\-]*"
)


# Both look at a short slice: the RE2 binding encodes its whole input on every call, so passing `text` with
# pos/endpos would make a long text quadratic. Each first checks with plain string methods what its pattern
# needs at the start (a "(" or "<"; blanks and a particle), so the pattern runs only for the few that have it.
def _contact_follows(text: str, end: int) -> bool:
    after = text[end : end + 90]
    if after.lstrip(" \t")[:1] not in ("(", "<"):
        return False
    return _CONTACT_AFTER.match(after) is not None


def _surname_particles_end(text: str, end: int) -> int:
    after = text[end : end + 60]
    rest = after.lstrip(" \t")
    if len(rest) == len(after) or not rest.startswith(_SURNAME_PARTICLE_WORDS):
        return end
    match = _SURNAME_PARTICLES.match(after)
    return end + match.end() if match is not None else end


def _sentence_initial(text: str, start: int) -> bool:
    index = start - 1
    while index >= 0 and text[index] in " \t\"'(":
        index -= 1
    return index < 0 or text[index] in ".!?\n:;•*-"


def _previous_word(text: str, start: int) -> str:
    chunk = text[max(0, start - 20) : start].rstrip(" \t")
    end = len(chunk)
    begin = end
    while begin > 0 and chunk[begin - 1].isalpha():
        begin -= 1
    return chunk[begin:end].lower()


def _followed_by_region(after: str, lex: Lexicons) -> bool:
    if not after.startswith(","):
        return False
    rest = after[1:].strip().split()
    if not rest:
        return False
    head = rest[0].rstrip(".,;")
    if head in _STATE_CODES:
        return True
    entry = lex.places.get(head)
    return entry is not None and entry[0] in ("country", "region")
