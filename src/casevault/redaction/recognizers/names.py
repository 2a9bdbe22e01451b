"""PERSON and LOCATION from lexicons plus context cues: one pass over runs of capitalised words."""

from __future__ import annotations

import re2

from casevault.redaction.lexicons import Lexicons, load_lexicons
from casevault.redaction.recognizers.base import Doc, Found, words

__all__ = ["NameAndPlaceRecognizer"]

_PARTICLES = r"(?:van|von|der|den|de|del|della|di|da|du|le|la|bin|ibn|al|dos|das|do|ten|ter|st\.)"
_RUN = re2.compile(
    r"\p{Lu}[\p{L}\p{M}'’\-]*\.?"
    rf"(?:[ \t]+(?:{_PARTICLES}[ \t]+){{0,2}}\p{{Lu}}[\p{{L}}\p{{M}}'’\-]*\.?)*"
)
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


class NameAndPlaceRecognizer:
    """Finds people's names and place names in runs of capitalised words, using lexicons and nearby cues."""

    name = "lexicon"
    entities = frozenset({"PERSON", "LOCATION"})

    def __init__(self, lexicons: Lexicons | None = None, *, people: bool = True, places: bool = True) -> None:
        self._lex = lexicons or load_lexicons()
        self._people = people
        self._places = places
        self._all_names = self._lex.first_names | self._lex.last_names
        # First words of multi-word places: a longer lookup is only worth trying when the run starts with one.
        self._place_heads = frozenset(name.split()[0] for name in self._lex.places if len(name.split()) > 1)

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        lex = self._lex
        all_names = self._all_names
        places = lex.places
        for chunk in doc.span_chunks(_RUN):  # lists of spans: no generator step per run
            for start, end in chunk:
                run = text[start:end]
                if " " in run or "\t" in run:
                    self._analyse(text, start, run, found)
                    continue
                # Most runs are one capitalised word ("The", "Please", "Windows"): decide those cheaply.
                name = run.rstrip(".")
                word = name[:-2] if name.endswith(("'s", "’s")) else name
                unknown = word not in all_names and word not in places and word.lower() not in _LEADERS
                if unknown and (word in COMMON_WORDS or not _person_cue_before(text, start)):
                    continue
                if name.lower() in _LEADERS or (word in COMMON_WORDS and name not in places):
                    continue  # what `_segment` decides first for a one-word segment, without building one
                if run[-1] == "." and len(run) > 2 and run[:-1].lower() not in _TITLES:
                    self._segment(text, [(start, end - 1, run[:-1])], found)  # as `_analyse` does for "John."
                else:
                    self._segment(text, [(start, end, run)], found)
        return found

    def _analyse(self, text: str, run_start: int, run: str, found: list[Found]) -> None:
        tokens: list[tuple[int, int, str]] = []
        position = 0
        for raw in run.split():
            offset = run.index(raw, position)
            position = offset + len(raw)
            tokens.append((run_start + offset, run_start + position, raw))
        segment: list[tuple[int, int, str]] = []
        for start, end, raw in tokens:
            word = raw.rstrip(".")
            if raw.endswith(".") and len(word) > 1 and word.lower() not in _TITLES and word[0].isupper():
                # "John. Then" ends a sentence: the dot belongs to the sentence, not the name.
                segment.append((start, end - 1, word))
                self._segment(text, segment, found)
                segment = []
                continue
            segment.append((start, end, raw))
        if segment:
            self._segment(text, segment, found)

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


# Last words of the cues above: a cheap pre-check before matching whole cue phrases.
_CUE_TAILS = frozenset({phrase.rstrip(" ,:").rsplit(" ", 1)[-1] for phrase in _PERSON_CUES} | {"is", "am", "m"})


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
    return before.endswith(_PERSON_CUES) or before.rstrip(" ,").endswith(_PERSON_CUES)


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


def _is_initial(word: str) -> bool:
    return len(word.rstrip(".")) == 1 and word[0].isupper()


def _is_place_only(word: str, lex: Lexicons) -> bool:
    return word in lex.places and word not in lex.last_names and word not in lex.first_names


# "Jane Doe (jane@…)" or "Jane Doe <jane@…>": a name written right before an address is a person.
_CONTACT_AFTER = re2.compile(r"[ \t]*[(<][^()<>\n]{0,80}?(?:@|\bat\b|＠)")
# Surname particles after a name: "Pieter van der Merwe", "Ana de la Cruz", "Omar bin Said".
_SURNAME_PARTICLES = re2.compile(
    r"(?:[ \t]+(?:van|von|de|der|den|da|di|del|della|du|le|la|bin|ibn|al|el|dos|das|ter|ten)){1,3}"
    r"[ \t]+\p{Lu}[\p{L}'’\-]*"
)


# Both look at a short slice: the RE2 binding encodes its whole input on every call, so passing `text` with
# pos/endpos would make a long text quadratic.
def _contact_follows(text: str, end: int) -> bool:
    return _CONTACT_AFTER.match(text[end : end + 90]) is not None


def _surname_particles_end(text: str, end: int) -> int:
    match = _SURNAME_PARTICLES.match(text[end : end + 60])
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
