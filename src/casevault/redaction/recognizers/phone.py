"""PHONE_NUMBER: a cheap candidate pattern, then validation with `phonenumbers` for likely regions."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import phonenumbers
import re2
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata
from phonenumbers import phonenumberutil as _phoneutil

from casevault.redaction.recognizers.base import Doc, Found, char_after, char_before, word_before, words
from casevault.redaction.recognizers.financial import luhn_ok

__all__ = ["PhoneRecognizer", "canonical_phone"]

_CANDIDATE = re2.compile(
    r"(?:\+|00)?[ \t]?(?:\([0-9]{1,5}\)|[0-9])"
    # A dot directly followed by a space ends a sentence, so "9200. 53 GB" does not continue the number.
    r"(?:(?:[ \t]{0,2}[\-/][ \t]{0,2}|\.|[ \t]{1,2}\.[ \t]{0,2}|[ \t]{1,2})?(?:\([0-9]{1,5}\)|[0-9])){5,}"
    r"(?:[ \t.,\-]*(?i:ext\.?|extension|x|#|poste|durchwahl|dw\.?)[ \t.:\-]*[0-9]+)?"
)
_EXTENSION = re2.compile(r"[ \t.,\-]*(?i:ext\.?|extension|x|#|poste|durchwahl|dw\.?)[ \t.:\-]*[0-9]{1,6}$")
_CUES = (
    "phone", "tel", "call", "mobile", "cell", "fax", "number", "reach", "contact", "whatsapp", "sms", "text me",
    "ph.", "ph:", "mob", "handy", "telefon", "portable", "tél", "ring", "dial", "hotline", "landline", "☎", "📞",
)  # fmt: skip
_DECOYS = words(
    """order invoice case ticket ref reference id kb po sku serial tracking build version error code
    confirmation transaction txn batch job request req nr item part model imei account acct iban card
    policy claim shipment parcel amount total price usd eur gbp"""
)
_NATIONAL_REGIONS = ("US", "GB", "DE", "FR", "AU", "IN", "JP", "CA")
# Single character classes: linear time. Candidates are ASCII (the pattern admits only ASCII), so these agree
# with str.isdigit/isalpha there; anything else takes `_validate_unicode`.
_DIGIT_RUNS = re.compile(r"[0-9]+")
# Any cue as a substring: an alternation of literals (no quantifiers) over a 40-character window.
_CUE_SEARCH = re.compile("|".join(re.escape(cue) for cue in _CUES)).search
_ALPHA_OR_HASH = re.compile(r"[A-Za-z#]")


def canonical_phone(value: str, region: str = "US") -> str:
    """E.164 form (plus extension) when the number parses, so different spellings tokenize alike."""
    try:
        number = phonenumbers.parse(_prepare(value), region)
    except phonenumbers.NumberParseException:
        return "".join(char for char in value if char.isdigit() or char == "+")
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{formatted};ext={number.extension}" if number.extension else formatted


def _prepare(value: str) -> str:
    stripped = value.strip()
    if stripped.startswith("00"):
        return "+" + stripped[2:].lstrip(" \t-.")
    return stripped


class PhoneRecognizer:
    """International and national phone numbers for common regions, with extensions."""

    name = "phone"
    entities = frozenset({"PHONE_NUMBER"})

    def __init__(self, default_region: str = "US") -> None:
        self._regions = (default_region, *(region for region in _NATIONAL_REGIONS if region != default_region))
        # A leading 0 is a trunk prefix, which North American numbers never have.
        self._trunk_regions = tuple(region for region in self._regions if region not in ("US", "CA"))
        self._nanp_first = default_region in ("US", "CA")
        # Without a trunk 0 or a "+", of our regions only North American and Indian mobile numbers are written.
        self._plain_regions = tuple(dict.fromkeys((default_region, "IN")))

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        for start, end in doc.spans(_CANDIDATE):
            value = text[start:end]
            lead = len(value) - len(value.lstrip(" \t"))
            start += lead
            value = value[lead:]
            while value and value[-1] in " \t-./":
                value = value[:-1]
            end = start + len(value)
            before = char_before(text, start)
            if before.isalnum() or before in "_-./:@#$€£" or char_after(text, end).isalnum():
                continue
            if char_after(text, end) in ".-/:" and char_after(text, end + 1).isdigit():
                continue
            span = self._validate(text, start, end, value)
            if span is not None:
                found.append(span)
            elif " " in value:
                found.extend(self._split(doc, start, value))
        return found

    def _split(self, doc: Doc, start: int, value: str) -> list[Found]:
        """Two numbers written side by side ("06570 70499 (04158) 68344"): take validated prefixes in turn.

        Linear in the candidate: each window holds at most 15 digits, and windows that cannot be a phone
        (too few digits, many one-digit groups) are skipped before any parsing.
        """
        text = doc.text
        groups: list[tuple[int, int]] = []  # (offset, end) of each space-separated group inside `value`
        position = 0
        for part in value.split(" "):
            if part:
                groups.append((position, position + len(part)))
            position += len(part) + 1
        digit_counts = [sum(char.isdigit() for char in value[a:b]) for a, b in groups]
        found: list[Found] = []
        index = 0
        while index < len(groups):
            doc.check_deadline()
            accepted: Found | None = None
            # Windows starting at this group, longest first, within phone-number size.
            digits = singles = 0
            windows: list[int] = []
            for last in range(index, len(groups)):
                digits += digit_counts[last]
                singles += digit_counts[last] == 1
                if digits > 15:
                    break
                if digits >= 7 and singles <= 2:
                    windows.append(last)
            for last in reversed(windows):
                window = value[groups[index][0] : groups[last][1]].rstrip(" -./")
                if not window or not window[-1].isdigit():
                    continue
                window_start = start + groups[index][0]
                accepted = self._validate(text, window_start, window_start + len(window), window)
                if accepted is not None:
                    index = last + 1
                    break
            if accepted is None:
                index += 1
            else:
                found.append(accepted)
        return found

    def _validate(self, text: str, start: int, end: int, value: str) -> Found | None:
        core = value
        if not value.isascii():
            return self._validate_unicode(text, start, end, value)
        if _ALPHA_OR_HASH.search(value):
            core = _EXTENSION.sub("", value).strip()
        groups = _DIGIT_RUNS.findall(core)
        digits = sum(map(len, groups))
        if not 7 <= digits <= 15:
            return None
        if sum(len(group) == 1 for group in groups) > 2:
            return None  # "1 2 3 4 5 6 7" is a list of numbers, not a phone
        return self._judge(text, start, end, core, digits)

    def _validate_unicode(self, text: str, start: int, end: int, value: str) -> Found | None:
        core = value
        if any(char.isalpha() or char == "#" for char in value):
            core = _EXTENSION.sub("", value).strip()
        digits = sum(char.isdigit() for char in core)
        if not 7 <= digits <= 15:
            return None
        groups = "".join(char if char.isdigit() else " " for char in core).split()
        if sum(len(group) == 1 for group in groups) > 2:
            return None
        return self._judge(text, start, end, core, digits)

    def _judge(self, text: str, start: int, end: int, core: str, digits: int) -> Found | None:
        if word_before(text, start) in _DECOYS:
            return None
        window = text[max(0, start - 40) : start].lower()
        cue = _CUE_SEARCH(window) is not None
        international = core.startswith(("+", "00"))
        grouped = not core.lstrip("+").isdigit()  # core holds 7+ digits, so it is never empty
        first_digit = next(char for char in core if char.isdigit())
        trunk_prefixed = first_digit == "0" and not international
        bare_nanp = not grouped and self._nanp_first and digits == 10 and _nanp_shaped(core)
        if not (international or grouped or cue or trunk_prefixed or bare_nanp):
            return None  # a bare run of digits is more often an id than a phone
        if _looks_like_date_or_version(core) or _looks_like_other_number(core, digits):
            return None
        if digits < 9 and not (cue or international):
            return None  # short local numbers are too easily confused with ids and amounts
        prepared = _prepare(core)
        score = 0.9 if (international or cue) else 0.75 if grouped or trunk_prefixed else 0.55
        if prepared.startswith("+"):
            if self._nanp_first and prepared.startswith("+1") and _nanp_shaped(prepared):
                return (start, end, "PHONE_NUMBER", score, self.name)
            regions: tuple[str | None, ...] = (None,)
        elif trunk_prefixed:
            regions = self._trunk_regions
        else:
            if self._nanp_first and _nanp_shaped(prepared):
                return (start, end, "PHONE_NUMBER", score, self.name)
            regions = self._regions if cue else self._plain_regions
        return (start, end, "PHONE_NUMBER", score, self.name) if _valid_somewhere(prepared, regions) else None


def _looks_like_other_number(core: str, digits: int) -> bool:
    """IPv4 addresses, SSNs and card numbers (Luhn-valid 13-19 digits) that other recognizers own."""
    parts = core.split(".")
    if len(parts) == 4 and all(part.isdigit() and len(part) <= 3 for part in parts):
        return True
    groups = core.replace(" ", "-").split("-")
    if [len(group) for group in groups] == [3, 2, 4] and all(group.isdigit() for group in groups):
        return True
    if 13 <= digits <= 19 and not core.startswith(("+", "00")):
        number = "".join(char for char in core if char.isdigit())
        return luhn_ok(number)
    return False


def _nanp_shaped(value: str) -> bool:
    """A North American number: area code and exchange both start 2-9 (NXX NXX XXXX), optional leading 1.

    Checked without `phonenumbers` because it is the common case and costs ~50 µs per parse there.
    """
    digits = "".join(char for char in value if char.isdigit())
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789" and digits[1:3] != "11"


@lru_cache(maxsize=8192)
def _valid_somewhere(prepared: str, regions: tuple[str | None, ...]) -> bool:
    plain = _FAST_PARSE and _plainly_written(prepared)
    digits = "".join(char for char in prepared if char.isdigit()) if plain else ""
    international = prepared.startswith("+")
    for region in regions:
        verdict = None
        if plain and (international or region is not None):
            verdict = _fast_verdict(digits, None if international else region)
        if verdict is None:
            verdict = _parse_and_validate(prepared, region)
        if verdict:
            return True
    return False


def _parse_and_validate(prepared: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(prepared, region)
    except phonenumbers.NumberParseException:
        return False
    # Validate against the country code's main region: is_valid_number would try every region sharing
    # the code (25 for +1), which costs more than the parse.
    main_region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    if phonenumbers.is_valid_number_for_region(number, main_region) or phonenumbers.is_valid_number(number):
        return True
    # Written internationally with a plausible length: redact even if the range is unassigned.
    return region is None and bool(phonenumbers.is_possible_number(number))


def _looks_like_date_or_version(core: str) -> bool:
    for separator in ".-/":
        parts = core.split(separator)
        if len(parts) == 3 and all(part.isdigit() for part in parts):
            lengths = [len(part) for part in parts]
            if lengths in ([4, 2, 2], [2, 2, 4], [1, 2, 4], [2, 1, 4], [1, 1, 4], [4, 1, 1], [4, 1, 2], [4, 2, 1]):
                return True
    return False


# The steps of `phonenumbers.parse` that matter for a plain digit string, called directly: parsing the raw
# string (normalisation, extension and RFC 3966 handling) cost more than validating the number. Present in
# phonenumbers 8.x/9.x; if a future release renames them, every number goes through `phonenumbers.parse`.
_strip_national_prefix = getattr(_phoneutil, "_maybe_strip_national_prefix_carrier_code", None)
_test_length = getattr(_phoneutil, "_test_number_length", None)
_FAST_PARSE = _strip_national_prefix is not None and _test_length is not None
_NOT_KEPT = (
    _phoneutil.ValidationResult.TOO_SHORT,
    _phoneutil.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    _phoneutil.ValidationResult.INVALID_LENGTH,
)
_PLAIN = frozenset("0123456789 -./()")


def _plainly_written(prepared: str) -> bool:
    """Digits and separators only (an optional leading "+"): no extension, letters or RFC 3966 parameters."""
    body = prepared[1:] if prepared.startswith("+") else prepared
    return bool(body) and body[0] in "0123456789(" and _PLAIN.issuperset(body)


@lru_cache(maxsize=64)
def _region_data(region: str) -> tuple[Any, Any] | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or phonenumbers.region_code_for_country_code(metadata.country_code or 0) != region:
        return None  # e.g. CA parses as the +1 main region US: leave it to phonenumbers.parse
    idd = re.compile(metadata.international_prefix) if metadata.international_prefix else None
    return metadata, idd


def _fast_verdict(digits: str, region: str | None) -> bool | None:
    """`_parse_and_validate` for a plain digit string without `phonenumbers.parse`; None when unsure.

    Mirrors `parse` for a plain digit string: country code after "+", else the region's own (declining
    whenever an international dialling prefix or the bare country code could apply), then the national-prefix
    strip and length test of `phonenumbers` itself. Validity is then decided by `phonenumbers` as before; a
    "no" is only given when no region sharing the country code could accept the number.
    """
    assert _strip_national_prefix is not None
    assert _test_length is not None
    if region is None:
        if len(digits) <= 2 or digits[0] == "0":
            return None
        country_code, national = 0, ""
        for size in (1, 2, 3):
            if int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE:
                country_code, national = int(digits[:size]), digits[size:]
                break
        if not country_code:
            return None
        main_region = phonenumbers.region_code_for_country_code(country_code)
        data = _region_data(main_region)
        if data is None:
            return None
        metadata = data[0]
    else:
        data = _region_data(region)
        if data is None:
            return None
        metadata, idd = data
        if (idd is not None and idd.match(digits)) or digits.startswith(str(metadata.country_code)):
            return None  # parse would read an international prefix or a country code here
        main_region, national = region, digits
    _carrier, stripped, _ = _strip_national_prefix(national, metadata)
    if _test_length(stripped, metadata) not in _NOT_KEPT:
        national = stripped
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    if _valid_for_region(national, main_region):
        return True
    if region is None:
        return None  # international numbers also pass on a possible length: leave that to phonenumbers
    # is_valid_number picks the region by the number itself: for a sole region that is the check just made.
    if len(COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())) == 1:
        return False
    return _valid_for_shared_code(national, metadata.country_code)


@lru_cache(maxsize=64)
def _code_regions(country_code: int) -> tuple[tuple[str, re.Pattern[str] | None], ...]:
    """The regions sharing a country code, in `phonenumbers`' order, with their leading-digits patterns."""
    regions = []
    for region in COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is not None:
            leading = re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None
            regions.append((region, leading))
    return tuple(regions)


def _valid_for_shared_code(national: str, country_code: int) -> bool:
    """`phonenumbers.is_valid_number` for a national number of a code several regions share (+44: GB, GG, IM, JE).

    As `region_code_for_number` does, the first region whose leading digits match decides, or else the first
    region (without leading digits) for which the number is valid; then the number must be valid there.
    """
    for region, leading in _code_regions(country_code):
        if leading is not None:
            if leading.match(national):
                return _valid_for_region(national, region)
        elif _valid_for_region(national, region):
            return True
    return False


_Desc = tuple[frozenset[int], "re.Pattern[str] | None"]
_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")


@lru_cache(maxsize=64)
def _region_descs(region: str) -> tuple[_Desc, tuple[_Desc, ...]]:
    """The general description and the number-type descriptions `phonenumbers` validates against, compiled."""
    metadata = PhoneMetadata.metadata_for_region(region, None)
    assert metadata is not None

    def compiled(desc: Any) -> _Desc:
        if desc is None:
            return frozenset(), re.compile(r"(?!)")  # phonenumbers treats a missing description as no match
        pattern = desc.national_number_pattern
        return frozenset(desc.possible_length), re.compile(pattern) if pattern else None

    # Fixed line and mobile first: most numbers are one of them, and `_valid_for_region` stops at the first
    # type that matches (the answer does not depend on the order).
    types = [metadata.fixed_line]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.append(metadata.mobile)
    types += [getattr(metadata, name) for name in _TYPES]
    return compiled(metadata.general_desc), tuple(compiled(desc) for desc in types)


def _desc_matches(national: str, desc: _Desc) -> bool:
    lengths, pattern = desc
    if lengths and len(national) not in lengths:
        return False
    return pattern is not None and pattern.fullmatch(national) is not None


def _valid_for_region(national: str, region: str) -> bool:
    """`phonenumbers.is_valid_number_for_region` for a number of that region's own country code.

    Its `_number_type_helper` with the patterns compiled once: valid when the general description and
    any number type match. Bounded input (at most 17 digits), so the backtracking `re` here is safe.
    """
    general, types = _region_descs(region)
    return _desc_matches(national, general) and any(_desc_matches(national, desc) for desc in types)
