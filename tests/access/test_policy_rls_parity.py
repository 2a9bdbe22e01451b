"""Both walls agree: the Cedar decision for every person × case, from facts loaded out of the database, equals
the expected scope, and on PostgreSQL equals what row-level security lets the application role see."""

from __future__ import annotations

import pytest
from access_world import CASES, EXPECTED_CASES, STAFF, World, seed
from sqlalchemy import select, text

from casevault.access import Actor, AuthMethod, Permission
from casevault.access.policy import CaseFacts, load_staff_facts, shared_engine
from casevault.access.rls import APP_ROLE, bind_actor, bound_staff_id
from casevault.cases.models import Case, QueueRole
from casevault.db import Database
from casevault.identity.models import StaffStatus


def actor_for(world: World, name: str) -> Actor:
    return Actor(staff_id=world.staff[name], username=name, role=STAFF[name][0], method=AuthMethod.SESSION)


def cedar_scope(database: Database, world: World, name: str) -> set[str]:
    engine = shared_engine()
    reverse = {value: key for key, value in world.cases.items()}
    with database.sessions() as session:
        facts = load_staff_facts(session, actor_for(world, name))
        assert facts is not None
        cases = session.scalars(select(Case)).all()
        return {reverse[row.id] for row in cases if engine.authorize(facts, Permission.CASE_READ, CaseFacts.of(row))}


def test_staff_facts_and_case_decisions_from_the_database(db: Database) -> None:
    world = seed(db)
    with db.sessions() as session:
        for name, (role, status, memberships) in STAFF.items():
            facts = load_staff_facts(session, actor_for(world, name))
            assert facts is not None
            assert facts.role == role
            assert facts.suspended == (status is StaffStatus.SUSPENDED)
            assert facts.queues == {world.queues[queue] for queue in memberships}
            assert facts.supervises == {
                world.queues[queue] for queue, queue_role in memberships.items() if queue_role is QueueRole.SUPERVISOR
            }
        assert load_staff_facts(session, Actor.system()) is None
        stranger = Actor(staff_id=world.queues["tech"], username="x", role=None, method=AuthMethod.TOKEN)
        assert load_staff_facts(session, stranger) is None
        # On SQLite binding is a no-op: the access functions are the only wall there.
        bind_actor(session, actor_for(world, "alice"))
        if db.dialect == "sqlite":
            assert bound_staff_id(session) is None
    for name, expected in EXPECTED_CASES.items():
        assert cedar_scope(db, world, name) == expected, name
    assert set(CASES) == set(world.cases)


@pytest.mark.postgres
def test_row_level_security_matches_the_policies(pg_world: tuple[Database, World]) -> None:
    database, world = pg_world
    reverse = {value: key for key, value in world.cases.items()}
    for name in STAFF:
        with database.sessions() as session:
            bind_actor(session, actor_for(world, name))
            session.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
            visible = {reverse[case_id] for case_id in session.scalars(select(Case.id))}
            session.rollback()
        assert visible == cedar_scope(database, world, name) == EXPECTED_CASES[name], name


def test_staff_facts_are_loaded_once_per_session(sqlite_database: str) -> None:
    database = Database(sqlite_database)
    world = seed(database)
    alice = actor_for(world, "alice")
    with database.sessions() as session:
        before = load_staff_facts(session, alice)
        with database.unit_of_work() as other:
            other.execute(text("DELETE FROM queue_memberships"))
        assert load_staff_facts(session, alice) is before  # same request: the facts it started with
    with database.sessions() as session:
        fresh = load_staff_facts(session, alice)
        assert fresh is not None
        assert fresh.queues == frozenset()
    database.dispose()
