"""The blast radius, customer by customer and field by field, for every model, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from incident_world import EXPECTED_ACCOUNT, EXPECTED_SCREEN, EXPECTED_SESSION_ONE, Expected, World

from casevault.access.actor import Actor
from casevault.audit import AuditAction, AuditEvent
from casevault.db import Database
from casevault.db.base import utcnow
from casevault.errors import InvalidInput
from casevault.incident import (
    BlastModel,
    BlastRadiusReport,
    UnknownAccount,
    UnknownSession,
    build_query,
    compute_blast_radius,
    run_blast_radius,
)

OFFICER = Actor.cli("investigator")


def _report(db: Database, keys: list[Ed25519PublicKey] | None = None, **params: object) -> BlastRadiusReport:
    with db.unit_of_work() as session:
        query = build_query(session, actor_name="mallory", **params)  # type: ignore[arg-type]
        return compute_blast_radius(session, query, keys=keys)


def _check(world: World, report: BlastRadiusReport, expected: dict[str, Expected]) -> None:
    got = {world.key_of(customer.customer_id): customer for customer in report.customers}
    assert sorted(got) == sorted(expected)
    session_names = {world.ref_one: "one", world.ref_two: "two"}
    ip_names = {"203.0.113.0/24": "one", "198.51.100.0/24": "two"}
    for key, (level, wrote, cases, fields, events, sessions, ips, first, last) in expected.items():
        customer = got[key]
        assert str(customer.exposure) == level, key
        assert customer.revealed is (level == "revealed"), key
        assert customer.wrote is wrote, key
        assert customer.reference == world.references[key]
        assert customer.cases == tuple(world.case_numbers[c] for c in cases), key
        assert {(f.name, f.entity_type): f.shown for f in customer.fields} == fields, key
        assert customer.events == events, key
        assert tuple(sorted(session_names[s] for s in customer.sessions)) == sessions, key
        assert tuple(sorted(ip_names[i] for i in customer.ip_prefixes)) == ips, key
        assert customer.first_seen == world.times[first], key
        assert customer.last_seen == world.times[last], key
    # Revealed customers come first.
    levels = [str(customer.exposure) for customer in report.customers]
    assert levels == sorted(levels, key=["revealed", "opened", "listed"].index)


def test_every_model_exact(world: World, db: Database, audit_keys: list[Ed25519PublicKey]) -> None:
    """One seeded database, every model: customer by customer, field by field, plus breakdowns and summary."""
    report = _report(db, keys=audit_keys)
    _check(world, report, EXPECTED_ACCOUNT)
    assert report.events == 7  # e2 e3 e4 e6 e7 e8 e10
    assert report.cases == 4
    assert {(r.key, r.customers, r.share) for r in report.by_country} == {
        ("US", 2, 0.5),
        ("GB", 1, 0.25),
        ("DE", 1, 0.25),
    }
    assert [(r.key, r.customers, r.share) for r in report.by_sector] == [("it", 3, 0.75), ("finance", 1, 0.25)]
    assert [(r.key, r.customers) for r in report.by_exposure] == [("revealed", 2), ("opened", 2), ("listed", 0)]
    assert report.summary.startswith("Account mallory (account model, all sessions)")
    assert "4 customers exposed (2 revealed, 2 opened, 0 listed) across 4 cases" in report.summary
    assert "by country US 50%, DE 25%, GB 25%" in report.summary
    assert "by sector it 75%, finance 25%" in report.summary
    assert report.chain.checked
    assert report.chain.ok is True
    assert "audit chain verified" in report.summary

    report = _report(db, model=BlastModel.SESSION, sessions=[world.ref_one])
    _check(world, report, EXPECTED_SESSION_ONE)
    assert report.query.sessions == (world.ref_one,)
    assert f"sessions {world.ref_one}" in report.summary
    assert not report.chain.checked

    report = _report(db, model=BlastModel.SCREEN)
    _check(world, report, EXPECTED_SCREEN)
    assert [(r.key, r.customers) for r in report.by_exposure] == [("revealed", 2), ("opened", 2), ("listed", 2)]
    assert {(r.key, r.customers, r.share) for r in report.by_country} == {
        ("US", 3, 0.5),
        ("GB", 1, 0.1667),
        ("DE", 1, 0.1667),
        ("CA", 1, 0.1667),
    }
    sectors = {(r.key, r.customers) for r in report.by_sector}
    assert sectors == {("it", 3), ("finance", 1), ("retail", 1), ("(no organization)", 1)}

    report = _report(db, model=BlastModel.SCREEN, sessions=[world.ref_two])
    got = {world.key_of(c.customer_id): str(c.exposure) for c in report.customers}
    assert got == {"c2": "opened", "c3": "revealed", "c4": "listed", "c6": "opened"}


def test_session_given_by_session_id(lite_world: World, lite_db: Database) -> None:
    by_ref = _report(lite_db, model=BlastModel.SESSION, sessions=[lite_world.ref_one])
    by_id = _report(lite_db, model=BlastModel.SESSION, sessions=[str(lite_world.session_one)])
    assert by_id.query.sessions == by_ref.query.sessions
    assert [c.customer_id for c in by_id.customers] == [c.customer_id for c in by_ref.customers]


def test_window_limits_events(world: World, db: Database) -> None:
    report = _report(db, since=world.times["e5"])
    got = {world.key_of(c.customer_id): c for c in report.customers}
    assert sorted(got) == ["c2", "c3", "c6"]
    # Only the note written in the window counts for c2: first and last are that event.
    assert got["c2"].first_seen == got["c2"].last_seen == world.times["e8"]
    assert {(f.name, f.shown) for f in got["c2"].fields} == {("body", "written")}
    until_report = _report(db, until=world.times["e5"])
    assert sorted(world.key_of(c.customer_id) for c in until_report.customers) == ["c1", "c2"]


def test_empty_window_gives_empty_report(lite_world: World, lite_db: Database) -> None:
    moment = lite_world.times["e1"]
    report = _report(lite_db, since=moment, until=moment)
    assert report.customers == ()
    assert report.events == 0
    assert all(row.customers == 0 for row in report.by_exposure)
    assert report.by_country == ()
    assert "no customers exposed" in report.summary


def test_later_events_do_not_change_a_pinned_head(lite_world: World, lite_db: Database) -> None:
    first = _report(lite_db)
    # Rerun with the same head after mallory reads more: identical digest.
    from incident_world import IP_ONE

    from casevault.access.actor import AuthMethod
    from casevault.access.roles import Role
    from casevault.audit import Exposure, Subject, record

    with lite_db.unit_of_work() as session:
        record(
            session,
            actor=Actor(lite_world.mallory, "mallory", Role.AGENT, AuthMethod.SESSION, lite_world.ref_one, IP_ONE),
            action=AuditAction.CASE_VIEWED,
            subjects=[Subject(lite_world.customers["c4"], lite_world.cases["c4"], Exposure.OPENED)],
            fields=["description"],
        )
    with lite_db.unit_of_work() as session:
        pinned = build_query(session, actor_name="mallory", until=first.query.until, head_seq=first.query.head_seq)
        again = compute_blast_radius(session, pinned)
    assert again.digest == first.digest
    assert len(_report(lite_db).customers) == len(first.customers) + 1


def test_unknown_actor_and_session(lite_world: World, lite_db: Database) -> None:
    with lite_db.unit_of_work() as session, pytest.raises(UnknownAccount):
        build_query(session, actor_name="nobody")
    with lite_db.unit_of_work() as session, pytest.raises(UnknownSession):
        build_query(session, actor_name="mallory", sessions=["session:ffffffffffffffff"])
    # bob's session is not mallory's.
    with lite_db.unit_of_work() as session, pytest.raises(UnknownSession):
        build_query(session, actor_name="mallory", sessions=["session:b0b0b0b0b0b0b0b0"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model": BlastModel.SESSION}, "the session model needs at least one session"),
        ({"since": utcnow(), "until": utcnow().replace(year=2000)}, "since must not be after until"),
        ({"since": utcnow().replace(tzinfo=None)}, "since must include a time zone"),
    ],
)
def test_bad_parameters(lite_world: World, lite_db: Database, params: dict[str, object], message: str) -> None:
    with lite_db.unit_of_work() as session, pytest.raises(InvalidInput) as caught:
        build_query(session, actor_name="mallory", **params)  # type: ignore[arg-type]
    assert caught.value.public_message == message


def test_running_is_audited_without_pii(lite_world: World, lite_db: Database) -> None:
    with lite_db.unit_of_work() as session:
        query = build_query(session, actor_name="mallory")
        run_blast_radius(session, query, actor=OFFICER)
    with lite_db.unit_of_work() as session:
        from sqlalchemy import select

        event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert event.action == AuditAction.AUDIT_QUERIED
    assert event.actor_label == "cli:investigator"
    assert event.target_id == str(lite_world.mallory)
    assert event.detail["customers_affected"] == 4
    assert event.detail["query"]["model"] == "account"
    assert "example" not in str(event.detail)
