"""STREET_ADDRESS, whole (street, number, city and postcode): US, UK, German, French, and the common layouts of
the rest of Europe, Latin America, Canada, Australia, India, Japan, Singapore and South Africa."""

from __future__ import annotations

import re2

from casevault.redaction.recognizers.base import Doc, Found, char_after, char_before

__all__ = ["AddressRecognizer"]

# USPS street suffixes (the list Faker's en_US provider also uses) plus common abbreviations and UK forms.
_EN_SUFFIXES = """Alley Avenue Branch Bridge Brook Brooks Burg Burgs Bypass Camp Canyon Cape Causeway Center Centers
Circle Circles Cliff Cliffs Club Common Corner Corners Course Court Courts Cove Coves Creek Crescent
Crest Crossing Crossroad Curve Dale Dam Divide Drive Drives Estate Estates Expressway Extension
Extensions Fall Falls Ferry Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort
Freeway Garden Gardens Gateway Glen Glens Green Greens Grove Groves Harbor Harbors Haven Heights
Highway Hill Hills Hollow Inlet Island Islands Isle Junction Junctions Key Keys Knoll Knolls Lake
Lakes Land Landing Lane Light Lights Loaf Lock Locks Lodge Loop Mall Manor Manors Meadow Meadows
Mews Mill Mills Mission Motorway Mount Mountain Mountains Neck Orchard Oval Overpass Park Parks
Parkway Parkways Pass Passage Path Pike Pine Pines Place Plain Plains Plaza Point Points Port Ports
Prairie Radial Ramp Ranch Rapid Rapids Rest Ridge Ridges River Road Roads Route Row Rue Run Shoal
Shoals Shore Shores Skyway Spring Springs Spur Spurs Square Squares Station Stravenue Stream Street
Streets Summit Terrace Throughway Trace Track Trafficway Trail Tunnel Turnpike Underpass Union
Unions Valley Valleys Via Viaduct View Views Village Villages Ville Vista Walk Walks Wall Way Ways
Well Wells Close Rise Parade Wharf Yard Hill Embankment Broadway Boulevard
St Ave Av Rd Blvd Ln Dr Ct Pl Ter Terr Cir Pkwy Hwy Sq Trl Cres Cl Gdns Gr Pk Sta Xing Ctr Ext Expy Fwy
Hts Jct Ldg Mnr Mtn Pt Rdg Rte Spg Tpke Vly Vw Vlg"""
_EN_SUFFIX_ALT = "|".join(sorted(set(_EN_SUFFIXES.split()), key=len, reverse=True))
_CAP = r"\p{Lu}[\p{L}\p{M}'’.\-]*"
_SEP = r"[ \t]*(?:,[ \t]*\n?|\n)[ \t]*"
_SECONDARY = r"(?:(?:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|Bldg|Building|#)\.?[ \t]*#?[0-9A-Za-z\-]{1,6})"
_US_LOCALITY = rf"(?:{_SEP}(?:{_CAP}[ \t]+)*{_CAP},?[ \t]+[A-Z]{{2}}\b(?:[ \t]+[0-9]{{5}}(?:-[0-9]{{4}})?\b)?)"
_UK_POSTCODE = r"[A-Z]{1,2}[0-9][A-Z0-9]?[ \t]?[0-9][A-Z]{2}"
_UK_LOCALITY = rf"(?:(?:{_SEP}(?:{_CAP}[ \t]+)*{_CAP})*(?:{_SEP}|[ \t]+){_UK_POSTCODE})"
# City (optionally a state or province code), then a postcode of a common national shape: AU/ZA/SG/IN digits,
# JP 123-4567, Irish Eircode, Canadian A1A 1A1.
_INTL_POSTCODE = (
    r"(?:[0-9]{4,6}|[0-9]{3}-[0-9]{4}|[A-Z][0-9]{2}[ \t]?[A-Z0-9]{4}|[A-Z][0-9][A-Z][ \t]?[0-9][A-Z][0-9])\b"
)
_INTL_LOCALITY = rf"(?:{_SEP}(?:{_CAP}[ \t]+)*{_CAP}(?:,?[ \t]+[A-Z]{{2,3}})?(?:{_SEP}|[ \t]+){_INTL_POSTCODE})"
_EN_STREET = (
    rf"(?:[NSEW]\.?[ \t]+|(?:North|South|East|West)[ \t]+)?(?:{_CAP}[ \t]+|[0-9]{{1,3}}(?:st|nd|rd|th)[ \t]+)+"
    rf"(?:{_EN_SUFFIX_ALT})\b\.?(?:[ \t]+(?:NW|NE|SW|SE|N|S|E|W)\b\.?)?"
)
_EN = (
    rf"(?:(?:{_SECONDARY}|(?:Studio|Flat|Apartment)[ \t]+[0-9]+[A-Za-z]?),?(?:[ \t]*\n[ \t]*|[ \t]+))?"
    rf"(?:[0-9]{{1,6}}[A-Za-z]?(?:-[0-9]{{1,4}})?,?[ \t]+{_EN_STREET}"
    rf"|(?:Studio|Flat|Apartment)[ \t]+[0-9]+[A-Za-z]?{_SEP}{_EN_STREET})"
    rf"(?:,?[ \t]+{_SECONDARY})?"
    # The most specific locality first: RE2 takes the first alternative that matches, not the longest.
    rf"(?:{_INTL_LOCALITY}|{_US_LOCALITY}|{_UK_LOCALITY})?"
)
# Japanese romanised streets ("54 Chuo-dori, Tokyo 100-0005").
_JP = rf"[0-9]{{1,4}}[ \t]+\p{{Lu}}\p{{L}}*-(?:dori|dōri|machi|chō|cho|suji){_INTL_LOCALITY}?"
_PARTICLES = r"(?:de|del|la|las|los|da|das|do|dos|di|della|dei|delle|van|der|den|von|y|e)"
# Street name first, then number, then postcode and city: ES, IT, NL, SE, PL, PT, MX and most of Europe
# ("Storgatan 141, 111 52 Stockholm", "ul. Piotrkowska 130, 00-001 Warszawa"). The postcode is the anchor.
_STREET_FIRST = (
    r"(?:(?:ul|al|pl|os)\.[ \t]+)?\p{Lu}[\p{L}'’.\-]*"
    rf"(?:[ \t]+(?:{_PARTICLES}[ \t]+)*\p{{Lu}}[\p{{L}}'’.\-]*){{0,4}}"
    r"[ \t]+[0-9]{1,4}[A-Za-z]?[ \t]*,[ \t]*"
    r"(?:[0-9]{5}|[0-9]{3}[ \t][0-9]{2}|[0-9]{2}-[0-9]{3}|[0-9]{4}[ \t]?[A-Z]{2})"
    rf"[ \t]+\p{{Lu}}[\p{{L}}'’\-]*(?:[ \t]+(?:{_PARTICLES}[ \t]+)?\p{{Lu}}[\p{{L}}'’\-]*){{0,3}}"
)
# Spanish, Portuguese and Italian street types lead the name, so the type is the anchor and the postcode optional
# ("Rua das Flores, 47, São Paulo, 01310-100", "Avenida Reforma 194, 06600 Ciudad de México").
_ROMANCE = (
    r"\b(?:Rua|Avenida|Av\.|Travessa|Alameda|Calle|Carrer|Paseo|Plaza|Via|Viale|Corso|Piazza|Largo)"
    rf"(?:[ \t]+(?:{_PARTICLES}[ \t]+)*\p{{Lu}}[\p{{L}}'’.\-]*){{1,5}}"
    r",?[ \t]+[0-9]{1,5}[A-Za-z]?\b"
    r"(?:[ \t]*,[ \t]*(?:[0-9]{5}(?:-[0-9]{3})?[ \t]+)?\p{Lu}[\p{L}'’\-]*"
    rf"(?:[ \t]+(?:{_PARTICLES}[ \t]+)?\p{{Lu}}[\p{{L}}'’\-]*){{0,3}}"
    r"(?:[ \t]*,[ \t]*[0-9]{5}(?:-[0-9]{3})?)?)?"
)
_MILITARY = (
    r"(?:(?:PSC|Unit)[ \t]+[0-9]{4},?[ \t]+Box[ \t]+[0-9]{4}|(?:USNS|USNV|USS|USCGC)[ \t]+\p{Lu}\p{L}+)"
    r"[ \t]*,?[ \t]*\n?[ \t]*(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+[0-9]{5}"
)
_DE_SUFFIX = (
    r"(?i:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer|chaussee|markt|steig|pfad|graben|promenade)"
)
_DE = (
    rf"(?:\p{{Lu}}[\p{{L}}.\-]*{_DE_SUFFIX}"
    r"|(?:\p{Lu}[\p{L}\-]*[ \t]+)+(?:Straße|Strasse|Str\.|Weg|Gasse|Allee|Platz|Ring|Damm|Ufer))"
    r"[ \t]+[0-9]{1,4}[a-zA-Z]?(?:[ \t]?[\-/][ \t]?[0-9]{1,4}[a-zA-Z]?)?"
    rf"(?:{_SEP}(?:D-)?[0-9]{{5}}[ \t]+\p{{Lu}}[\p{{L}}\-]*"
    r"(?:[ \t]+(?:(?:am|an|im|in|ob|bei|vor|der)[ \t]+)?\p{Lu}[\p{L}\-]*)*)?"
)
_FR_TYPES = (
    r"(?i:rue|avenue|av\.|boulevard|bd|chemin|allée|allee|impasse|place|quai|route|cours|passage|square|voie"
    r"|faubourg|chaussée|sentier|résidence|cité)"
)
# Longer particles first: RE2 takes the first alternative that fits, so "de" must not stop "des Lilas" half-way.
_FR_WORDS = r"(?:[ \t]+(?:des|de|du|la|les|le|l'|d'|en|sur|aux|au|à|\p{Lu}[\p{L}'’\-]*))+"
_FR_LOCALITY = (
    r"(?:[ \t]*(?:,[ \t]*\n?|\n)[ \t]*[0-9]{5}[ \t]+\p{Lu}[\p{L}'’\-]*(?:[ \t]+\p{Lu}[\p{L}'’\-]*)*"
    r"(?:[ \t]+CEDEX(?:[ \t]+[0-9]{1,2})?)?)"
)
_FR = (
    # The house number may be missing, but then the postcode line must follow.
    rf"(?:[0-9]{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+{_FR_TYPES}"
    rf"{_FR_WORDS}"
    rf"(?:{_FR_LOCALITY}|{_INTL_LOCALITY})?|\b{_FR_TYPES}{_FR_WORDS}{_FR_LOCALITY})"
)


def _compile(pattern: str) -> re2._Regexp:
    options = re2.Options()
    # Unicode letter classes make big automata; give the DFA room so RE2 does not fall back to the slower NFA.
    options.max_mem = 64 << 20
    options.log_errors = False
    return re2.compile(pattern, options)


_PATTERNS = tuple(_compile(pattern) for pattern in (_MILITARY, _EN, _DE, _FR, _JP, _STREET_FIRST, _ROMANCE))
# Literals a pattern cannot match without (each alternative of its anchor contains one), so a plain substring
# test skips most scans: few texts hold an APO address, a Japanese street or a Romance street type.
_MILITARY_NEEDS = ("PO",)  # APO, FPO, DPO
_JP_NEEDS = ("-dori", "-dōri", "-machi", "-chō", "-cho", "-suji")
_ROMANCE_NEEDS = (
    "Rua", "Av", "Travessa", "Alameda", "Calle", "Carrer", "Paseo", "Plaza", "Via", "Corso", "Piazza", "Largo",
)  # fmt: skip
_NEEDS: tuple[tuple[str, ...], ...] = (_MILITARY_NEEDS, (), (), (), _JP_NEEDS, (), _ROMANCE_NEEDS)


class AddressRecognizer:
    """Street addresses anchored on a house number and a street type, extended over city and postcode."""

    name = "address"
    entities = frozenset({"STREET_ADDRESS"})

    def find(self, doc: Doc) -> list[Found]:
        found: list[Found] = []
        text = doc.text
        for pattern, needs in zip(_PATTERNS, _NEEDS, strict=True):
            if not needs or any(literal in text for literal in needs):
                self._scan(pattern, doc, found)
        return found

    def _scan(self, pattern: re2._Regexp, doc: Doc, found: list[Found]) -> None:
        text = doc.text
        for start, end in doc.spans(pattern):
            if char_before(text, start).isalnum():
                continue
            while end > start and text[end - 1] in " \t\n,":
                end -= 1
            if char_after(text, end).isalnum() and text[end - 1].isalnum():
                continue
            value = text[start:end]
            has_locality = "\n" in value or "," in value or any(char.isdigit() for char in value[-5:])
            found.append((start, end, "STREET_ADDRESS", 0.9 if has_locality else 0.7, self.name))
