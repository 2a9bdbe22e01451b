"""CREDIT_CARD (Luhn + brand ranges), IBAN_CODE (mod-97 + country length), US_SSN and CRYPTO wallets."""

from __future__ import annotations

import functools
import hashlib
import operator
import re

import re2

from casevault.redaction.recognizers.base import Doc, Found, char_after, char_before, word_before, words

__all__ = ["CardRecognizer", "CryptoRecognizer", "IbanRecognizer", "SsnRecognizer", "iban_ok", "luhn_ok"]

# Groups of 3-6 digits (cards are printed 4-4-4-4, 4-6-5 or 4-6-4) or one compact run.
_DIGIT_RUNS = re.compile(r"[0-9]+")  # a single character class: linear time
_CARD = re2.compile(r"\b[0-9]{3,6}(?:[ \t]?[\-./]?[ \t]?[0-9]{3,6}){1,5}\b|\b[0-9]{13,19}\b")
_DECOY_WORDS = words(
    """order invoice case ticket ref reference id kb po sku serial tracking build version error code
    confirmation transaction txn batch job request req no nr number item part model imei account acct
    customer cust member policy claim shipment parcel"""
)


def luhn_ok(digits: str) -> bool:
    """Luhn checksum over a string of digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_brand_ok(digits: str) -> bool:
    length = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return length in (13, 16, 19)  # Visa
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return length == 16  # Mastercard, including the 2-series
    if two in (34, 37):
        return length == 15  # American Express
    if digits.startswith("6011") or two == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= six <= 622925:
        return 16 <= length <= 19  # Discover
    if 3500 <= four <= 3599:
        return 16 <= length <= 19  # JCB (3528-3589 issued; the 35 range kept whole for recall)
    if 300 <= int(digits[:3]) <= 305 or two in (36, 38, 39) or digits.startswith("3095"):
        return 14 <= length <= 19  # Diners Club
    if two == 62 or two == 81:
        return 16 <= length <= 19  # UnionPay
    if two in (50, 56, 57, 58, 63, 67) or digits.startswith("6759"):
        return 12 <= length <= 19  # Maestro
    return False


class CardRecognizer:
    """Payment card numbers, compact or grouped by spaces, dashes, dots or slashes."""

    name = "credit_card"
    entities = frozenset({"CREDIT_CARD"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        position = 0
        while (match := doc.search_span(_CARD, position)) is not None:
            start, end = match
            # Rescan from the next group when this match is rejected or only its prefix is a card, so a
            # second number written right after the first ("4111 ... 1111 5500 ...") is not skipped.
            position = start + 1
            before = char_before(text, start)
            if before.isalnum() or before in "_" or (before in "-#/" and char_before(text, start - 1).isalnum()):
                continue
            value = text[start:end]
            groups = _DIGIT_RUNS.findall(value)  # the pattern admits ASCII only, so [0-9] is isdigit here
            if any(len(group) < 3 for group in groups[:-1]):
                continue  # cards are written in groups of 4-6 digits, not "1 2 3"
            if sum(map(len, groups)) < 13:
                continue  # no prefix tried below can hold the 13 digits of the shortest card
            # A grouped card may run into following digits; try the whole run, then prefixes at group breaks.
            candidates = [len(value)] + [i for i in range(len(value) - 1, 12, -1) if not value[i].isdigit()]
            for cut in candidates:
                piece = value[:cut].rstrip(" \t-./")
                digits = "".join(_DIGIT_RUNS.findall(piece))
                if not 13 <= len(digits) <= 19 or char_after(text, start + len(piece)).isalnum():
                    continue
                if luhn_ok(digits) and _card_brand_ok(digits) and len(set(digits)) > 1:
                    score = 0.6 if word_before(text, start) in _DECOY_WORDS else 0.95
                    found.append((start, start + len(piece), "CREDIT_CARD", score, self.name))
                    position = start + len(piece)
                    break
        return found


_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
_IBAN = re2.compile(r"(?i:[a-z]{2}[0-9]{2}(?:[ \t\-]?[a-z0-9])+)")


def iban_ok(compact: str) -> bool:
    """Country length and ISO 7064 mod-97 check of an IBAN without separators."""
    compact = compact.upper()
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


class IbanRecognizer:
    """IBANs, compact or in groups; the country's length bounds the match so trailing words are not eaten."""

    name = "iban"
    entities = frozenset({"IBAN_CODE"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        for match in doc.finditer(_IBAN):
            start = match.start()
            if char_before(text, start).isalnum():
                continue
            expected = _IBAN_LENGTHS.get(text[start : start + 2].upper())
            if expected is None:
                continue
            taken = 0
            index = start
            limit = match.end()
            while index < limit and taken < expected:
                if text[index].isalnum():
                    taken += 1
                index += 1
            if taken != expected or char_after(text, index).isalnum():
                continue
            compact = "".join(char for char in text[start:index] if char.isalnum())
            if iban_ok(compact):
                found.append((start, index, "IBAN_CODE", 1.0, self.name))
        return found


_SSN = re2.compile(r"\b[0-9]{3}([ \-.]?)[0-9]{2}([ \-.]?)[0-9]{4}")
_SSN_CUES = ("ssn", "social security", "ss#", "ss #", "social sec", "tax id", "tin")


class SsnRecognizer:
    """US Social Security numbers with valid area/group/serial; undelimited ones need a nearby cue."""

    name = "us_ssn"
    entities = frozenset({"US_SSN"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        for match in doc.finditer(_SSN):
            start, end = match.span()
            if char_before(text, start).isalnum() or char_after(text, end).isalnum():
                continue
            glued = char_before(text, start) in "-./+" or char_after(text, end) in "-/."
            sentence_end = char_after(text, end) == "." and not char_after(text, end + 1).isalnum()
            if glued and not sentence_end:
                continue  # part of a longer dotted or dashed number
            first, second = match.group(1), match.group(2)
            if first != second:
                continue
            digits = match.group().replace(first, "") if first else match.group()
            area, group, serial = digits[:3], digits[3:5], digits[5:]
            if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
                continue
            cue = any(cue in text[max(0, start - 40) : start].lower() for cue in _SSN_CUES)
            if not first and not cue:
                continue
            found.append((start, end, "US_SSN", 0.95 if cue else 0.8, self.name))
        return found


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_CRYPTO = re2.compile(
    r"\b(?:[13][1-9A-HJ-NP-Za-km-z]{25,}|(?i:bc1)[02-9ac-hj-np-zAC-HJ-NP-Z]{8,}|0x[0-9a-fA-F]{40,})\b"
)
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _base58check_ok(value: str) -> bool:
    number = 0
    for char in value:
        number = number * 58 + _BASE58.index(char)
    raw = number.to_bytes(25, "big") if number.bit_length() <= 200 else b""
    if len(raw) != 25:
        return False
    return hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4] == raw[-4:]


_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
# The BIP-173 polymod step XORs in generator[i] for every bit i set in the top five bits: precomputed per value.
_BECH32_STEP = tuple(
    functools.reduce(operator.xor, (_BECH32_GENERATOR[bit] for bit in range(5) if top >> bit & 1), 0)
    for top in range(32)
)


def _bech32_ok(value: str) -> bool:
    value = value.lower()
    hrp, data = value[:2], value[3:]
    checksum = 1
    values = [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]
    values += [_BECH32.index(char) for char in data]
    for value_ in values:
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value_ ^ _BECH32_STEP[checksum >> 25]
    return checksum in (1, 0x2BC830A3)  # bech32 and bech32m constants


class CryptoRecognizer:
    """Bitcoin (base58check, bech32/bech32m) and Ethereum addresses."""

    name = "crypto"
    entities = frozenset({"CRYPTO"})

    def find(self, doc: Doc) -> list[Found]:
        text = doc.text
        found: list[Found] = []
        for start, end in doc.spans(_CRYPTO):
            if char_before(text, start).isalnum() or char_after(text, end).isalnum():
                continue
            value = text[start:end]
            if value.startswith("0x"):
                ok = len(value) == 42
            elif value[:3].lower() == "bc1":
                ok = 11 <= len(value) <= 90 and (value.islower() or value.isupper()) and _bech32_ok(value)
            else:
                ok = 26 <= len(value) <= 35 and _base58check_ok(value)
            if ok:
                found.append((start, end, "CRYPTO", 0.95, self.name))
        return found
