"""Name lexicons and the place gazetteer shipped in `data/` (see scripts/redaction/build_lexicons.py)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Lexicons", "load_lexicons"]


@dataclass(frozen=True, slots=True)
class Lexicons:
    """First names, last names and places (name -> (kind, population)), all keyed by their written form."""

    first_names: frozenset[str]
    last_names: frozenset[str]
    places: dict[str, tuple[str, int]]
    longest_place_words: int


def _read(name: str) -> str:
    data = resources.files("casevault.redaction").joinpath("data").joinpath(name).read_bytes()
    return gzip.decompress(data).decode("utf-8")


@cache
def load_lexicons() -> Lexicons:
    """Load the data files once per process (about 40k names and 38k places)."""
    first = frozenset(_read("first_names.txt.gz").split())
    last = frozenset(_read("last_names.txt.gz").split())
    places: dict[str, tuple[str, int]] = {}
    longest = 1
    for line in _read("places.tsv.gz").splitlines():
        name, kind, population = line.split("\t")
        places[name] = (kind, int(population))
        longest = max(longest, name.count(" ") + 1)
    return Lexicons(first, last, places, min(longest, 4))
