"""Incident records, re-verification, broken chains, containment and the notification export (library API)."""

from __future__ import annotations

import csv
import io
import json
import logging

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from incident_world import BILLING_C1, CUSTOMERS, Tamper, World
from sqlalchemy import func, select

from casevault.access.actor import Actor, AuthMethod
from casevault.access.roles import Role
from casevault.audit import AuditAction, AuditEvent, AuditSubject, Outcome
from casevault.crypto import Keyring
from casevault.db import Database
from casevault.detection import Alert
from casevault.errors import InvalidInput, PermissionDenied
from casevault.identity.models import ApiToken, Staff, StaffSession, StaffStatus, TotpFactor
from casevault.incident import (
    BlastModel,
    ExportFormat,
    Incident,
    IncidentChanged,
    IncidentKind,
    build_query,
    contain_account,
    export_notifications,
    get_incident,
    record_incident,
    render,
    run_blast_radius,
    verify_incident,
)

OPERATOR = Actor.cli("investigator")


def _record(db: Database, keys: list[Ed25519PublicKey] | None = None, **params: object) -> Incident:
    with db.unit_of_work() as session:
        query = build_query(session, actor_name="mallory", **params)  # type: ignore[arg-type]
        report = run_blast_radius(session, query, actor=OPERATOR, keys=keys)
        return record_incident(session, report, reason="phishing reports from customers", actor=OPERATOR)


def _actions_after(db: Database, seq: int) -> list[str]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)))


def test_reasons_are_stored_redacted_and_audited_by_length_only(world: World, db: Database) -> None:
    reason = "Jane Okafor (jane.okafor@example.com) reported a phishing mail from our billing address"
    with db.unit_of_work() as session:
        before = session.scalar(select(func.max(AuditEvent.seq))) or 0
        contain_account(session, account="mallory", reason=reason, actor=OPERATOR)
    with db.unit_of_work() as session:
        [incident] = session.scalars(select(Incident)).all()
        events = session.scalars(select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert "jane.okafor@example.com" not in incident.reason
    assert "<EMAIL_ADDRESS>" in incident.reason
    assert "reported a phishing mail" in incident.reason
    for event in events:
        text = json.dumps([event.reason, event.detail])
        assert "okafor" not in text.lower(), event.action
    [recorded] = [event for event in events if event.action == str(AuditAction.INCIDENT_RECORDED)]
    assert recorded.detail["reason_length"] == len(reason)


def test_incident_keeps_parameters_head_and_digest(
    world: World, db: Database, audit_keys: list[Ed25519PublicKey]
) -> None:
    incident = _record(db, audit_keys, model=BlastModel.SCREEN, sessions=[world.ref_two], since=world.times["e1"])
    with db.unit_of_work() as session:
        stored = get_incident(session, incident.id)
        head = session.scalar(select(func.max(AuditEvent.seq)))
        recorded = session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.INCIDENT_RECORDED)).one()
    assert stored.kind is IncidentKind.REPORT
    assert (stored.model, stored.sessions, stored.window_since) == ("screen", [world.ref_two], world.times["e1"])
    assert stored.subject_staff_id == world.mallory
    assert stored.created_by_label == "cli:investigator"
    assert stored.reason == "phishing reports from customers"
    # The head is the chain as it stood before the incident's own audit events.
    assert head is not None
    assert stored.head_seq == world.seqs["e10"]
    assert stored.head_seq < head
    assert (stored.customers_affected, stored.customers_revealed) == (4, 1)
    assert stored.chain_ok is True
    assert recorded.target_id == str(incident.id)
    assert recorded.detail["digest"] == stored.report_digest.hex()


def test_incident_verifies_later_and_detects_rewrites(
    world: World, db: Database, keyring: Keyring, audit_keys: list[Ed25519PublicKey], tamper: Tamper
) -> None:
    incident = _record(db, audit_keys)
    with db.unit_of_work() as session:
        result = verify_incident(session, get_incident(session, incident.id), actor=OPERATOR, keys=audit_keys)
    assert result.ok
    assert result.digest_matches
    assert result.head_intact
    # Someone with database access downgrades the reveal of c1's email to a mere "opened".
    tamper("UPDATE audit_subjects SET exposure = 'opened' WHERE event_seq = %s", world.seqs["e3"])
    with db.unit_of_work() as session:
        result = verify_incident(session, get_incident(session, incident.id), actor=OPERATOR, keys=audit_keys)
    assert not result.ok
    assert not result.digest_matches
    assert result.recomputed.chain.broken
    assert result.recomputed.chain.first_bad_seq == world.seqs["e3"]
    assert result.recomputed.chain.affects_window
    # Customers are not notified from a report the trail no longer gives.
    with db.unit_of_work() as session, pytest.raises(IncidentChanged):
        export_notifications(session, keyring, get_incident(session, incident.id), actor=OPERATOR)


def test_broken_chain_is_reported_prominently_not_raised(
    world: World, db: Database, audit_keys: list[Ed25519PublicKey], tamper: Tamper
) -> None:
    tamper("UPDATE audit_events SET reason = 'nothing to see' WHERE seq = %s", world.seqs["e7"])
    with db.unit_of_work() as session:
        report = run_blast_radius(session, build_query(session, actor_name="mallory"), actor=OPERATOR, keys=audit_keys)
    assert report.chain.broken
    assert report.chain.problem == "edited"
    assert report.chain.first_bad_seq == world.seqs["e7"]
    assert report.chain.affects_window
    assert "WARNING: AUDIT CHAIN BROKEN (edited at seq" in report.summary
    assert "figures may be incomplete" in report.summary
    # Still a full report.
    assert len(report.customers) == 4
    # A window that ends before the broken event was fully verified.
    with db.unit_of_work() as session:
        query = build_query(session, actor_name="mallory", until=world.times["e5"])
        report = run_blast_radius(session, query, actor=OPERATOR, keys=audit_keys)
    assert report.chain.broken
    assert not report.chain.affects_window
    assert "after the window" in report.summary


def test_containment_suspends_revokes_resets_and_records(
    world: World, db: Database, audit_keys: list[Ed25519PublicKey]
) -> None:
    with db.unit_of_work() as session:
        before = session.scalar(select(func.max(AuditEvent.seq))) or 0
        result = contain_account(session, account="mallory", reason="stolen session", actor=OPERATOR, keys=audit_keys)
    assert (result.sessions_revoked, result.tokens_revoked, result.already_suspended) == (2, 1, False)
    assert len(result.report.customers) == 4
    with db.unit_of_work() as session:
        staff = session.get(Staff, world.mallory)
        assert staff is not None
        assert staff.status is StaffStatus.SUSPENDED
        sessions = session.scalars(select(StaffSession).where(StaffSession.staff_id == world.mallory)).all()
        assert all(row.revoked_at is not None for row in sessions)
        assert {row.revoked_reason for row in sessions} == {"incident containment"}
        token = session.get(ApiToken, world.token_id)
        assert token is not None
        assert token.revoked_at is not None
        assert session.get(TotpFactor, world.mallory) is None
        incident = get_incident(session, result.incident.id)
        assert incident.kind is IncidentKind.CONTAINMENT
        assert incident.contained_at is not None
        assert incident.reason == "stolen session"
        assert session.scalars(select(Alert).where(Alert.subject_staff_id == world.mallory)).one().kind == "mfa.reset"
        bob = session.get(Staff, world.bob)
        assert bob is not None
        assert bob.status is StaffStatus.ACTIVE
    actions = _actions_after(db, before)
    for expected in (
        AuditAction.STAFF_SUSPENDED,
        AuditAction.SESSION_REVOKED,
        AuditAction.TOKEN_REVOKED,
        AuditAction.MFA_RESET,
        AuditAction.INCIDENT_RECORDED,
    ):
        assert str(expected) in actions


def test_containment_refuses_unknown_account_and_empty_reason(lite_world: World, lite_db: Database) -> None:
    from casevault.incident import UnknownAccount

    with lite_db.unit_of_work() as session, pytest.raises(UnknownAccount):
        contain_account(session, account="nobody", reason="x", actor=OPERATOR)
    with lite_db.unit_of_work() as session, pytest.raises(InvalidInput):
        contain_account(session, account="mallory", reason="  ", actor=OPERATOR)


def test_notification_export_opens_contacts_and_is_audited(
    world: World, db: Database, keyring: Keyring, caplog: pytest.LogCaptureFixture
) -> None:
    incident = _record(db, model=BlastModel.SCREEN)
    caplog.set_level(logging.DEBUG)
    with db.unit_of_work() as session:
        before = session.scalar(select(func.max(AuditEvent.seq))) or 0
        records = export_notifications(session, keyring, get_incident(session, incident.id), actor=OPERATOR)
    by_reference = {item.customer_reference: item for item in records}
    assert set(by_reference) == {world.references[key] for key in ("c1", "c2", "c3", "c4", "c5", "c6")}
    for key, (country, _org, email, phone) in CUSTOMERS.items():
        item = by_reference[world.references[key]]
        assert (item.contact_email, item.contact_phone, item.country) == (email, phone, country)
    c1 = by_reference[world.references["c1"]]
    assert c1.billing_contact_emails == (BILLING_C1,)
    assert by_reference[world.references["c2"]].billing_contact_emails == ()
    assert c1.exposure == "revealed"
    assert c1.fields_revealed == ("email (EMAIL_ADDRESS)",)
    assert c1.cases == (world.case_numbers["c1"],)
    assert "(email address)" in c1.guidance
    assert c1.first_exposed == world.times["e1"].isoformat().replace("+00:00", "Z")
    c3 = by_reference[world.references["c3"]]
    assert c3.fields_revealed == ("description (PHONE_NUMBER)",)
    assert by_reference[world.references["c4"]].exposure == "listed"
    assert "no personal details were shown" in by_reference[world.references["c4"]].guidance
    # Nothing decrypted reached a log or a repr.
    assert "example" not in caplog.text
    assert "example" not in repr(records)
    # The export is audited, with every notified customer as a revealed subject of the exporter.
    with db.unit_of_work() as session:
        export = session.scalars(select(AuditEvent).where(AuditEvent.seq > before)).one()
        subjects = session.scalars(select(AuditSubject).where(AuditSubject.event_seq == export.seq)).all()
    assert (export.action, export.outcome, export.target_id) == ("export.created", "allowed", str(incident.id))
    assert export.detail == {"kind": "customer_notifications", "format": "csv", "records": 6}
    assert {s.customer_id for s in subjects} == set(world.customers.values())
    assert {s.exposure for s in subjects} == {"revealed"}
    assert "example" not in json.dumps(export.detail)


def test_export_renders_csv_and_json(lite_world: World, lite_db: Database, keyring: Keyring) -> None:
    incident = _record(lite_db)
    with lite_db.unit_of_work() as session:
        records = export_notifications(session, keyring, get_incident(session, incident.id), actor=OPERATOR)
    rows = list(csv.DictReader(io.StringIO(render(records, ExportFormat.CSV))))
    assert len(rows) == 4
    c2 = next(row for row in rows if row["customer_reference"] == lite_world.references["c2"])
    assert c2["contact_email"] == "ben.c2@example.org"
    assert c2["contact_phone"] == ""
    assert c2["exposure"] == "opened"
    assert (
        c2["fields_masked"]
        == "body; contacts (CONTACT_DETAILS); email (EMAIL_ADDRESS); name (PERSON); phone (PHONE_NUMBER)"
    )
    c1 = next(row for row in rows if row["customer_reference"] == lite_world.references["c1"])
    assert c1["contact_phone"] == "+1 202 555 0101"  # a phone keeps its '+'; formulas would not
    assert c1["billing_contact_emails"] == "billing.c1@example.com"
    parsed = json.loads(render(records, ExportFormat.JSON))
    assert [item["customer_reference"] for item in parsed] == [item.customer_reference for item in records]


def test_export_refused_to_tokens_and_audited(lite_world: World, lite_db: Database, keyring: Keyring) -> None:
    incident = _record(lite_db)
    token_actor = Actor(lite_world.officer, "sofia", Role.SECURITY_OFFICER, AuthMethod.TOKEN, "token:0000000000000000")
    with lite_db.unit_of_work() as session, pytest.raises(PermissionDenied):
        export_notifications(session, keyring, get_incident(session, incident.id), actor=token_actor)
    with lite_db.unit_of_work() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "export.created")).one()
    assert denied.outcome == Outcome.DENIED
