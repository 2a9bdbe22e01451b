"""The exposed-store drill: what would an attacker who copied the data store read in plain text?

It gathers every byte an exposed deployment gives away (the SQLite file with its WAL and SHM, or a `pg_dump` of
the PostgreSQL database, plus search index, logs and backups: every file under the data directory except the key
material, which in production lives in a KMS/HSM), learns every PII value the system holds by decrypting it
with the operator's key (or reads them from a list the operator supplies), and searches the bytes for them.
The report says how many values appear and where (file, offset, kind), never the values; nothing is written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from casevault.config import Settings
from casevault.crypto.keyring import Keyring
from casevault.db.session import Database
from casevault.drills.errors import DrillError
from casevault.drills.matcher import ValueMatcher
from casevault.drills.values import KnownValues, decrypt_known_values, read_values_file

__all__ = [
    "MIN_VALUE_LENGTH",
    "CollectedSource",
    "DrillError",
    "ExposedStoreReport",
    "Finding",
    "run_exposed_store_drill",
]

MIN_VALUE_LENGTH = 5
_MAX_FINDINGS_KEPT = 10_000
_PG_DUMP_TIMEOUT_SECONDS = 900


@dataclass(frozen=True, slots=True)
class CollectedSource:
    """One blob an attacker would get: a file under the data directory, or the database dump."""

    name: str
    size: int
    origin: str  # "file" or "pg_dump"


@dataclass(frozen=True, slots=True)
class Finding:
    """A PII value in plain text: where, and what kind of value (never the value itself)."""

    source: str
    offset: int
    kind: str
    encoding: str


@dataclass(frozen=True)
class ExposedStoreReport:
    """The drill's result; safe to print, log or store: it holds no PII."""

    data_dir: str
    value_source: str  # "decrypted" or "values-file"
    sources: list[CollectedSource]
    excluded: list[str]
    values_total: int
    values_searched: int
    values_skipped_short: int
    values_skipped_clear: int
    values_unreadable: int  # sealed values the key could not open (shredded customer, tampering)
    searched_by_kind: dict[str, int]
    values_found: int
    found_by_kind: dict[str, int]
    findings_total: int
    findings: list[Finding] = field(repr=False)
    bytes_scanned: int
    seconds: float

    @property
    def clean(self) -> bool:
        """True when no PII value appears in plain text anywhere."""
        return self.findings_total == 0

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "data_dir": self.data_dir,
            "value_source": self.value_source,
            "clean": self.clean,
            "sources": [{"name": s.name, "size": s.size, "origin": s.origin} for s in self.sources],
            "excluded": self.excluded,
            "values_total": self.values_total,
            "values_searched": self.values_searched,
            "values_skipped_short": self.values_skipped_short,
            "values_skipped_clear": self.values_skipped_clear,
            "values_unreadable": self.values_unreadable,
            "min_value_length": MIN_VALUE_LENGTH,
            "searched_by_kind": self.searched_by_kind,
            "values_found": self.values_found,
            "found_by_kind": self.found_by_kind,
            "findings_total": self.findings_total,
            "findings_listed": len(self.findings),
            "findings": [
                {"source": f.source, "offset": f.offset, "kind": f.kind, "encoding": f.encoding} for f in self.findings
            ],
            "bytes_scanned": self.bytes_scanned,
            "seconds": round(self.seconds, 3),
        }


def run_exposed_store_drill(
    settings: Settings,
    *,
    keyring: Keyring | None = None,
    values_file: Path | None = None,
) -> ExposedStoreReport:
    """Collect the exposed bytes, learn the PII values (decrypted with `keyring`, or from `values_file`), search."""
    started = time.perf_counter()
    if values_file is not None:
        known = read_values_file(values_file)
        value_source = "values-file"
    else:
        if keyring is None:
            raise DrillError("a keyring (the operator's key) or a values file is needed to learn the PII values")
        db = Database(settings.resolved_database_url)
        try:
            known = decrypt_known_values(db, keyring)
        finally:
            db.dispose()
        value_source = "decrypted"

    unreadable = known.unreadable
    searchable = _searchable(known)
    values = [value for value, _ in searchable.values]
    matcher = ValueMatcher(values, whole_words=[bool(_NAME_LIKE.fullmatch(value)) for value in values])
    # Only the matcher holds the values from here on; the report refers to them by kind.
    kinds = [kind for _, kind in searchable.values]
    skipped_short, skipped_clear = searchable.skipped_short, searchable.skipped_clear
    del known, searchable, values

    excluded = _excluded_paths(settings)
    sources: list[CollectedSource] = []
    findings: list[Finding] = []
    findings_total = 0
    found_values: set[int] = set()
    bytes_scanned = 0
    for source, data, origin in _collect(settings, excluded):
        sources.append(CollectedSource(source, len(data), origin))
        bytes_scanned += len(data)
        for match in matcher.scan(data):
            findings_total += 1
            found_values.add(match.value_index)
            if len(findings) < _MAX_FINDINGS_KEPT:
                findings.append(Finding(source, match.offset, kinds[match.value_index], match.encoding))

    return ExposedStoreReport(
        data_dir=str(settings.data_dir.resolve()),
        value_source=value_source,
        sources=sources,
        excluded=[str(path) for path in excluded],
        values_total=len(kinds) + skipped_short + skipped_clear,
        values_searched=len(kinds),
        values_skipped_short=skipped_short,
        values_skipped_clear=skipped_clear,
        values_unreadable=unreadable,
        searched_by_kind=dict(sorted(Counter(kinds).items())),
        values_found=len(found_values),
        found_by_kind=dict(sorted(Counter(kinds[index] for index in found_values).items())),
        findings_total=findings_total,
        findings=findings,
        bytes_scanned=bytes_scanned,
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True, slots=True)
class _Searchable:
    values: list[tuple[str, str]] = field(repr=False)  # (value, kinds joined by "+")
    skipped_short: int
    skipped_clear: int


def _searchable(known: KnownValues) -> _Searchable:
    """Distinct values long enough to search (shorter ones match by chance) that are not clear business data."""
    clear_words = _clear_word_runs(known.clear_terms)
    kinds_of: dict[str, set[str]] = defaultdict(set)
    short: set[str] = set()
    in_clear: set[str] = set()
    for value, kind in known:
        cleaned = value.strip()
        if len(cleaned) < MIN_VALUE_LENGTH:
            short.add(cleaned)
        elif cleaned in in_clear or (_NAME_LIKE.fullmatch(cleaned) and _words(cleaned) in clear_words):
            in_clear.add(cleaned)
        else:
            kinds_of[cleaned].add(kind)
    values = [(value, "+".join(sorted(kinds))) for value, kinds in kinds_of.items()]
    return _Searchable(values, len(short), len(in_clear))


# Only name-like values (letters, spaces, hyphens, apostrophes, dots) can be excused as clear business data;
# an email or phone number pasted into an organisation name is a leak like any other.
_NAME_LIKE = re.compile(r"[^\W\d_]+(?:[ '\-.]+[^\W\d_]+)*\.?")
_WORD = re.compile(r"[^\W\d_]+")


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.casefold() for word in _WORD.findall(text))


def _clear_word_runs(terms: list[str]) -> set[tuple[str, ...]]:
    """Every run of consecutive words of every term: "Crestview Labs Ltd" gives (crestview,), (crestview, labs)…"""
    runs: set[tuple[str, ...]] = set()
    for term in terms:
        words = _words(term)
        for start in range(len(words)):
            for end in range(start + 1, len(words) + 1):
                runs.add(words[start:end])
    return runs


def _excluded_paths(settings: Settings) -> list[Path]:
    """The key material: in production it is in a KMS/HSM, not on the exposed store."""
    key_file = settings.resolved_key_file.resolve()
    data_dir = settings.data_dir.resolve()
    if key_file.parent != data_dir and key_file.parent.is_relative_to(data_dir):
        return [key_file.parent]
    return [key_file]


def _collect(settings: Settings, excluded: list[Path]) -> Iterator[tuple[str, bytes, str]]:
    data_dir = settings.data_dir.resolve()
    seen: set[Path] = set()
    for path in _walk(data_dir, excluded):
        seen.add(path)
        yield str(path.relative_to(data_dir)), _read(path), "file"
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        # A SQLite file outside the data directory is part of the store all the same.
        main_file = Path(url.database).resolve()
        for path in (main_file, Path(f"{main_file}-wal"), Path(f"{main_file}-shm"), Path(f"{main_file}-journal")):
            if path.is_file() and path not in seen:
                yield str(path), _read(path), "file"
    elif url.get_backend_name() == "postgresql":
        yield f"pg_dump:{url.database}", _pg_dump(settings.resolved_database_url), "pg_dump"


def _walk(root: Path, excluded: Iterable[Path]) -> Iterator[Path]:
    excluded_set = set(excluded)
    for directory, subdirs, files in os.walk(root, followlinks=False):
        here = Path(directory)
        subdirs[:] = sorted(d for d in subdirs if (here / d) not in excluded_set)
        for name in sorted(files):
            path = here / name
            if path not in excluded_set and path.is_file() and not path.is_symlink():
                yield path


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DrillError(f"cannot read {path}: {exc.strerror}") from exc


def _pg_dump(database_url: str) -> bytes:
    """A plain-format dump held in memory only: the drill must not write the data anywhere."""
    executable = shutil.which("pg_dump")
    if executable is None:
        raise DrillError("pg_dump not found; install the PostgreSQL client (Debian: postgresql-client)")
    url = make_url(database_url)
    env = dict(os.environ)
    if url.password is not None:
        # Through the environment, not argv: other users can read a process's command line.
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    try:
        completed = subprocess.run(  # noqa: S603 - fixed executable, URL passed as one argument
            [executable, "--no-owner", "--no-privileges", "--format=plain", f"--dbname={target}"],
            capture_output=True,
            env=env,
            timeout=_PG_DUMP_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DrillError("pg_dump timed out") from exc
    if completed.returncode != 0:
        first_line = completed.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise DrillError(f"pg_dump failed: {first_line[0] if first_line else 'exit ' + str(completed.returncode)}")
    return completed.stdout
