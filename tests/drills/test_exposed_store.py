"""The exposed-store drill: it must find a planted plaintext value exactly, and nothing on a sealed store.

A small demo dataset is seeded once per module through the real services (SQLite); each test that plants
something works on its own copy of that data directory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casevault.access.actor import Actor
from casevault.cases import services
from casevault.cases.models import Customer
from casevault.cli import app
from casevault.cli.server import init_data_dir
from casevault.config import Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database
from casevault.demo import DemoSize, generate, seed_demo
from casevault.drills import ExposedStoreReport, run_exposed_store_drill
from casevault.drills.matcher import ValueMatcher

SMALL = DemoSize(organizations=18, customers=24, cases=40)
# Structured PII the redactor and sealing must always keep out of plain text, whatever the names lexicon knows.
STRUCTURED_KINDS = (
    "customer.email",
    "customer.phone",
    "contact.email",
    "contact.phone",
    "vault.EMAIL_ADDRESS",
    "vault.PHONE_NUMBER",
    "vault.IP_ADDRESS",
    "vault.IBAN_CODE",
    "vault.CREDIT_CARD",
)

runner = CliRunner()


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("seeded") / "data"
    settings = Settings(data_dir=data_dir)
    init_data_dir(settings)
    db = Database(settings.resolved_database_url)
    seed_demo(db, Keyring(LocalKeyFile(settings.resolved_key_file)), size=SMALL, seed=7)
    db.dispose()
    return data_dir


@pytest.fixture
def data_dir(seeded_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(seeded_dir, copy)
    return copy


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


def _drill(data_dir: Path, **kwargs: object) -> ExposedStoreReport:
    settings = _settings(data_dir)
    keyring = Keyring(LocalKeyFile(settings.resolved_key_file))
    return run_exposed_store_drill(settings, keyring=keyring, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def customer_email(data_dir: Path) -> Iterator[str]:
    settings = _settings(data_dir)
    db = Database(settings.resolved_database_url)
    keyring = Keyring(LocalKeyFile(settings.resolved_key_file))
    with db.sessions() as session:
        customer = session.scalars(select(Customer).order_by(Customer.reference)).first()
        assert customer is not None
        yield services.open_customer(session, keyring, customer).email
    db.dispose()


def _in(report: ExposedStoreReport, source: str, kind: str | None = None) -> list[tuple[int, str]]:
    """(offset, encoding) of the findings in `source`, optionally only those whose kinds include `kind`."""
    return [
        (f.offset, f.encoding)
        for f in report.findings
        if f.source == source and (kind is None or kind in f.kind.split("+"))
    ]


def test_structured_pii_never_appears_in_plain_text(seeded_dir: Path) -> None:
    report = _drill(seeded_dir)

    assert report.values_searched > 300
    assert {kind: report.found_by_kind.get(kind, 0) for kind in STRUCTURED_KINDS} == dict.fromkeys(STRUCTURED_KINDS, 0)
    assert {source.name for source in report.sources} >= {"casevault.db"}


def test_seeded_store_has_no_plaintext_pii(seeded_dir: Path) -> None:
    report = _drill(seeded_dir)

    assert report.found_by_kind == {}


def test_finds_exactly_the_planted_value_in_a_log(data_dir: Path, customer_email: str) -> None:
    before = _drill(data_dir)
    log = data_dir / "logs" / "casevault.log"
    log.parent.mkdir()
    prefix = b"2026-11-22 INFO casevault.access POST /api/v1/cases 201 for "
    log.write_bytes(prefix + customer_email.encode() + b"\n")

    after = _drill(data_dir)

    assert _in(after, "logs/casevault.log", "customer.email") == [(len(prefix), "utf-8")]
    # Anything else reported in the log lies inside the planted email (e.g. a first name it contains).
    planted = range(len(prefix), len(prefix) + len(customer_email))
    assert all(offset in planted for offset, _ in _in(after, "logs/casevault.log"))
    assert [f for f in after.findings if f.source != "logs/casevault.log"] == before.findings


def test_finds_upper_case_and_utf16_copies_in_a_backup(data_dir: Path, customer_email: str) -> None:
    backup = data_dir / "backups" / "export.bin"
    backup.parent.mkdir()
    backup.write_bytes(b"\x00" * 10 + customer_email.upper().encode() + b"\x00" + customer_email.encode("utf-16-le"))

    report = _drill(data_dir)

    offset_utf16 = 10 + len(customer_email) + 1
    assert _in(report, "backups/export.bin", "customer.email") == [(10, "utf-8"), (offset_utf16, "utf-16-le")]


def test_key_material_is_left_out_and_never_reported(data_dir: Path) -> None:
    report = _drill(data_dir)

    assert report.excluded == [str((data_dir / "keys").resolve())]
    assert all(not source.name.startswith("keys") for source in report.sources)


def test_running_the_drill_writes_no_value_anywhere(data_dir: Path) -> None:
    first = _drill(data_dir)
    second = _drill(data_dir)

    assert second.findings_total == first.findings_total
    assert second.values_found == first.values_found


def test_values_file_mode_reports_kinds_and_skips_short_values(data_dir: Path, tmp_path: Path) -> None:
    (data_dir / "notes.txt").write_text("call back jane.roe@example.org today", encoding="utf-8")
    values = tmp_path / "values.txt"
    values.write_text("planted\tjane.roe@example.org\nabsent@example.org\nabc\n\n", encoding="utf-8")

    report = run_exposed_store_drill(_settings(data_dir), values_file=values)

    assert report.value_source == "values-file"
    assert report.values_total == 3
    assert report.values_searched == 2
    assert report.values_skipped_short == 1
    assert _in(report, "notes.txt", "planted") == [(10, "utf-8")]
    assert report.found_by_kind == {"planted": 1}


def test_cli_json_names_place_and_kind_but_never_the_value(data_dir: Path, customer_email: str) -> None:
    (data_dir / "leak.log").write_text(f"user={customer_email}\n", encoding="utf-8")

    result = runner.invoke(app, ["drill", "exposed-store", "--data-dir", str(data_dir), "--format", "json"])

    assert result.exit_code == 1
    assert customer_email not in result.output
    document = json.loads(result.stdout)
    in_leak = [(f["offset"], f["kind"].split("+")) for f in document["findings"] if f["source"] == "leak.log"]
    assert [offset for offset, kinds in in_leak if "customer.email" in kinds] == [5]
    assert document["clean"] is False


def test_cli_exits_zero_on_a_clean_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    init_data_dir(_settings(data_dir))

    result = runner.invoke(app, ["drill", "exposed-store", "--data-dir", str(data_dir)])

    assert result.exit_code == 0, result.output
    assert "No PII value appears in plain text" in result.output


def test_cli_refuses_a_missing_data_dir(tmp_path: Path) -> None:
    result = runner.invoke(app, ["drill", "exposed-store", "--data-dir", str(tmp_path / "nope")])

    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.split())  # rich wraps long lines


@pytest.mark.postgres
def test_postgresql_store_is_searched_through_pg_dump(pg_database: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_database)
    init_data_dir(settings)
    keyring = Keyring(LocalKeyFile(settings.resolved_key_file))
    db = Database(pg_database)
    dataset = generate(DemoSize(organizations=4, customers=4, cases=4), seed=3)
    seed_demo(db, keyring, dataset=dataset)
    leaked = dataset.customers[0].email
    with db.unit_of_work() as session:
        # An operator pastes a customer's email into an organisation name: a clear column.
        services.create_organization(
            session, name=f"Org of {leaked}", country="DE", sector="retail", actor=Actor.cli("t")
        )
    db.dispose()

    report = run_exposed_store_drill(settings, keyring=keyring)

    dump = [source for source in report.sources if source.origin == "pg_dump"]
    assert len(dump) == 1
    assert dump[0].size > 10_000
    assert [f.source for f in report.findings if "customer.email" in f.kind.split("+")] == [dump[0].name]


def test_matcher_finds_a_value_across_chunk_boundaries_once() -> None:
    matcher = ValueMatcher(["needle@example.com"])
    data = b"x" * 30 + b"NEEDLE@example.com" + b"y" * 30 + b"needle@example.com"

    matches = list(matcher.scan(data, chunk_size=16))

    assert [(m.offset, m.encoding) for m in matches] == [(30, "utf-8"), (78, "utf-8")]


def test_matcher_finds_escaped_forms_of_multi_line_text() -> None:
    value = 'Zoë said "hi"\nLine two'
    matcher = ValueMatcher([value])
    # As JSON writes it (ASCII escapes), and as pg_dump's COPY writes it (newline escaped, quotes as-is).
    data = json.dumps({"v": value}).encode() + b" | " + 'Zoë said "hi"\\nLine two'.encode()

    encodings = sorted(m.encoding for m in matcher.scan(data))

    assert encodings == ["copy-escaped", "json"]


def test_names_match_only_as_whole_words_but_emails_match_anywhere() -> None:
    matcher = ValueMatcher(["Anders", "anders@example.org"], whole_words=[True, False])
    data = b"Nils Andersen | 2anders | Anders, | xanders@example.org | " + "Anders".encode("utf-16-le") + b"\x00"

    found = [(m.value_index, m.offset, m.encoding) for m in matcher.scan(data)]

    assert found == [(0, 26, "utf-8"), (1, 37, "utf-8"), (0, 58, "utf-16-le")]


def test_values_of_a_crypto_shredded_customer_are_counted_as_unreadable(data_dir: Path) -> None:
    settings = _settings(data_dir)
    db = Database(settings.resolved_database_url)
    keyring = Keyring(LocalKeyFile(settings.resolved_key_file))
    with db.unit_of_work() as session:
        customer = session.scalars(select(Customer).order_by(Customer.reference)).first()
        assert customer is not None
        assert keyring.shred(session, customer.id)
    db.dispose()

    report = _drill(data_dir)

    # Name, email and phone of the customer and of its two contacts, at least.
    assert report.values_unreadable >= 9
