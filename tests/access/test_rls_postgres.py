"""PostgreSQL row-level security (migration 0005_access): the second wall, tested with raw SQL.

PostgreSQL only: SQLite has no row-level security. The module seeds one database as the superuser (which
bypasses row-level security); the tests query it as the non-owner application role `casevault_app` and never
commit data, so they cannot disturb each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from access_world import EXPECTED_CASES, STAFF, World, admin, database_url, seed
from alembic import command
from sqlalchemy import Connection, event, select, text
from sqlalchemy.exc import DataError, ProgrammingError

from casevault.access import Actor, AuthMethod, Role
from casevault.access.rls import APP_ROLE, bind_actor, bound_staff_id
from casevault.access.serving_role import serving_role_problem
from casevault.cases.models import Case
from casevault.db import Database
from casevault.db.base import utcnow
from casevault.db.migrate import alembic_config, upgrade
from casevault.identity import Staff, authenticate_token, issue_token

pytestmark = pytest.mark.postgres


PROTECTED = ("cases", "notes", "redaction_vaults", "contacts", "customers")


def _as_app(connection: Connection, staff_id: uuid.UUID | None = None, *, system: bool = False) -> None:
    connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
    if staff_id is not None:
        connection.execute(text("SELECT set_config('casevault.staff_id', :id, true)"), {"id": str(staff_id)})
    if system:
        connection.execute(text("SELECT set_config('casevault.system', 'on', true)"))


def _visible_ids(connection: Connection, table: str, column: str = "id") -> set[uuid.UUID]:
    return set(connection.execute(text(f"SELECT {column} FROM {table}")).scalars())  # noqa: S608 (fixed names)


def _names(ids: set[uuid.UUID], by: dict[str, uuid.UUID]) -> set[str]:
    reverse = {value: key for key, value in by.items()}
    return {reverse[value] for value in ids}


def test_app_role_without_binding_sees_no_rows(pg_world: tuple[Database, World]) -> None:
    database, _world = pg_world
    with database.engine.connect() as connection:
        everything = {table: len(_visible_ids(connection, table)) for table in PROTECTED}
        assert all(count > 0 for count in everything.values())  # the superuser sees the seeded rows
        _as_app(connection)
        for table in PROTECTED:
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table  # noqa: S608


def test_app_role_is_not_exempt_from_row_level_security(pg_world: tuple[Database, World]) -> None:
    database, _world = pg_world
    with database.engine.connect() as connection:
        role = connection.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :name"), {"name": APP_ROLE}
        ).one()
        assert (role.rolsuper, role.rolbypassrls) == (False, False)
        flags = connection.execute(
            text(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE relname = ANY(:names) AND relkind = 'r'"
            ),
            {"names": list(PROTECTED)},
        ).all()
        assert {row.relname: (row.relrowsecurity, row.relforcerowsecurity) for row in flags} == dict.fromkeys(
            PROTECTED, (True, True)
        )


@pytest.mark.parametrize("person", sorted(EXPECTED_CASES))
def test_each_person_sees_exactly_their_scope(pg_world: tuple[Database, World], person: str) -> None:
    database, world = pg_world
    expected = EXPECTED_CASES[person]
    expected_case_ids = {world.cases[name] for name in expected}
    # Admins manage every customer (and read no case); for everyone else customers and contacts are reachable
    # only through a visible case (every seeded customer has one).
    admins_all = STAFF[person][0] == Role.ADMIN
    expected_customers = set(world.customers.values()) if admins_all else {world.customers[name] for name in expected}
    with database.engine.connect() as connection:
        _as_app(connection, world.staff[person])
        assert _names(_visible_ids(connection, "cases"), world.cases) == expected
        # Child rows follow their case.
        assert _visible_ids(connection, "notes", "case_id") == expected_case_ids
        assert _visible_ids(connection, "redaction_vaults", "case_id") == expected_case_ids
        assert _visible_ids(connection, "customers") == expected_customers
        assert _visible_ids(connection, "contacts", "customer_id") == expected_customers


def _customer_without_case(connection: Connection, like: uuid.UUID) -> uuid.UUID:
    """A copy of customer `like` with no case, inserted in the connection's (never committed) transaction."""
    new_id = uuid.uuid4()
    connection.execute(
        text("CREATE TEMP TABLE new_customer ON COMMIT DROP AS SELECT * FROM customers WHERE id = :id"), {"id": like}
    )
    connection.execute(text("UPDATE new_customer SET id = :id, reference = 'CUST-NOCASE01'"), {"id": new_id})
    connection.execute(text("INSERT INTO customers SELECT * FROM new_customer"))
    return new_id


@pytest.mark.parametrize(
    ("person", "sees_it"), [("alice", True), ("sue", True), ("adam", True), ("olga", False), ("sam", False)]
)
def test_a_customer_without_cases_is_visible_to_who_may_file_its_first_case(
    pg_world: tuple[Database, World], person: str, sees_it: bool
) -> None:
    database, world = pg_world
    with database.engine.connect() as connection:
        new_customer = _customer_without_case(connection, world.customers["bob-tech"])
        _as_app(connection, world.staff[person])
        assert (new_customer in _visible_ids(connection, "customers")) is sees_it
        # A customer with a case stays behind its case: alice never sees bob's customer.
        if person == "alice":
            assert world.customers["bob-tech"] not in _visible_ids(connection, "customers")


def test_case_facts_give_ids_to_bound_active_staff_only(pg_world: tuple[Database, World]) -> None:
    database, world = pg_world
    facts = text("SELECT id, queue_id, customer_id FROM casevault_case_facts(:number)")
    with database.engine.connect() as connection:
        number = connection.execute(
            text("SELECT number FROM cases WHERE id = :id"), {"id": world.cases["bob-tech"]}
        ).scalar_one()
        _as_app(connection, world.staff["alice"])
        # Outside alice's scope: the case itself stays hidden, its ids are what a grant request needs.
        assert connection.execute(text("SELECT count(*) FROM cases WHERE number = :n"), {"n": number}).scalar_one() == 0
        row = connection.execute(facts, {"number": number}).one()
        assert row.id == world.cases["bob-tech"]
        assert connection.execute(facts, {"number": "CV-2026-999999"}).all() == []
        # The call leaves the transaction as it found it: still not the system.
        assert connection.execute(text("SELECT current_setting('casevault.system', true)")).scalar_one() in ("", None)
    for who in (None, "sam"):  # nobody bound; a suspended agent
        with database.engine.connect() as connection:
            _as_app(connection, None if who is None else world.staff[who])
            assert connection.execute(facts, {"number": number}).all() == []


def test_lookup_by_email_index_returns_only_in_scope_customers(pg_world: tuple[Database, World]) -> None:
    database, world = pg_world
    index_of_bobs_case = bytes([list(world.cases).index("bob-tech")]) * 32
    with database.engine.connect() as connection:
        _as_app(connection, world.staff["alice"])
        query = text("SELECT id FROM customers WHERE email_index = :index")
        assert connection.execute(query, {"index": index_of_bobs_case}).all() == []
        own = bytes([list(world.cases).index("alice-tech")]) * 32
        assert connection.execute(query, {"index": own}).scalar_one() == world.customers["alice-tech"]


def test_system_setting_is_ignored_for_the_app_role(pg_world: tuple[Database, World]) -> None:
    database, _world = pg_world
    with database.engine.connect() as connection:
        _as_app(connection, system=True)
        assert connection.execute(text("SELECT count(*) FROM cases")).scalar_one() == 0


def test_unknown_staff_id_sees_nothing_and_a_malformed_one_fails(pg_world: tuple[Database, World]) -> None:
    database, _world = pg_world
    with database.engine.connect() as connection:
        _as_app(connection, uuid.uuid4())
        assert connection.execute(text("SELECT count(*) FROM cases")).scalar_one() == 0
    with database.engine.connect() as connection:
        connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        connection.execute(text("SELECT set_config('casevault.staff_id', 'not-a-uuid', true)"))
        with pytest.raises(DataError, match="invalid input syntax for type uuid"):
            connection.execute(text("SELECT count(*) FROM cases"))


def test_writes_are_confined_to_the_scope(pg_world: tuple[Database, World]) -> None:
    database, world = pg_world
    with database.engine.connect() as connection:
        _as_app(connection, world.staff["alice"])
        update = text("UPDATE cases SET priority = 'high' WHERE id = :id")
        assert connection.execute(update, {"id": world.cases["bob-tech"]}).rowcount == 0
        assert connection.execute(update, {"id": world.cases["alice-tech"]}).rowcount == 1
        note = text(
            "INSERT INTO notes (id, case_id, visibility, body_sealed, body_redacted, created_at) "
            "VALUES (:id, :case_id, 'internal', '\\x00', 'n', now())"
        )
        connection.execute(note, {"id": uuid.uuid4(), "case_id": world.cases["alice-tech"]})
        with pytest.raises(ProgrammingError, match="row-level security"):
            connection.execute(note, {"id": uuid.uuid4(), "case_id": world.cases["bob-tech"]})


def test_bind_actor_filters_orm_queries_and_survives_a_commit(pg_world: tuple[Database, World]) -> None:
    database, world = pg_world
    alice = Actor(staff_id=world.staff["alice"], username="alice", role=Role.AGENT, method=AuthMethod.SESSION)
    with database.sessions() as session:
        bind_actor(session, alice)
        assert bound_staff_id(session) == str(world.staff["alice"])
        session.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        numbers = set(session.scalars(select(Case.id)))
        assert numbers == {world.cases[name] for name in EXPECTED_CASES["alice"]}
        session.commit()
        # A new transaction is bound again by the session hook, never left open to everything.
        assert bound_staff_id(session) == str(world.staff["alice"])
        session.rollback()


def test_token_lookup_binds_its_owner_and_a_refused_token_binds_nobody(pg_world: tuple[Database, World]) -> None:
    database, world = pg_world
    with database.sessions() as session:
        alice = session.get(Staff, world.staff["alice"])
        assert alice is not None
        _, live = issue_token(session, alice, name="rls", scopes=["case:read"], ttl=timedelta(hours=1))
        _, expired = issue_token(session, alice, name="old", scopes=["case:read"], ttl=timedelta(seconds=1))
        session.flush()
        # The lookup itself binds (ADR 0459): an expired token of alice's binds nobody...
        assert authenticate_token(session, expired, now=utcnow() + timedelta(minutes=5)) is None
        assert bound_staff_id(session) is None
        # ...a live one binds alice, and bind_actor keeps that binding.
        actor = authenticate_token(session, live)
        assert actor is not None
        assert bound_staff_id(session) == str(world.staff["alice"])
        bind_actor(session, actor)
        session.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        assert set(session.scalars(select(Case.id))) == {world.cases[name] for name in EXPECTED_CASES["alice"]}
        session.rollback()


def test_system_actor_binds_no_staff(pg_world: tuple[Database, World]) -> None:
    database, _world = pg_world
    with database.sessions() as session:
        bind_actor(session, Actor.system())
        assert bound_staff_id(session) is None
        assert session.execute(text("SELECT current_setting('casevault.system', true)")).scalar_one() == "on"
        session.rollback()
        # An actor that is neither staff nor the platform binds nobody and is not the system either.
        bind_actor(session, Actor(staff_id=None, username="anon", role=None, method=AuthMethod.SESSION))
        assert bound_staff_id(session) is None
        assert session.execute(text("SELECT current_setting('casevault.system', true)")).scalar_one() == "off"


@pytest.fixture
def owner_database(pg_template: str) -> Iterator[Database]:
    """A database owned and migrated by an ordinary (non-superuser) role, as in production."""
    suffix = uuid.uuid4().hex[:10]
    owner, name = f"cv_owner_{suffix}", f"cv_test_owner_{suffix}"
    admin(f'CREATE ROLE "{owner}" LOGIN')
    admin(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    database = Database(database_url(name, user=owner))
    try:
        upgrade(database)
        yield database
    finally:
        database.dispose()
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin(f'DROP ROLE IF EXISTS "{owner}"')


def test_owner_is_forced_through_the_policies_and_needs_the_system_setting(owner_database: Database) -> None:
    with owner_database.sessions() as session:
        bind_actor(session, Actor.system())
        session.execute(text("SELECT 1"))
        session.commit()
    # Seeding as the owner works only as the system (FORCE ROW LEVEL SECURITY applies to the owner too).
    with pytest.raises(ProgrammingError, match="row-level security"):
        seed(owner_database)
    _enable_system_on_connect(owner_database)
    world = seed(owner_database)
    with owner_database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM cases")).scalar_one() == len(world.cases)
        connection.execute(text("SELECT set_config('casevault.system', 'off', true)"))
        assert connection.execute(text("SELECT count(*) FROM cases")).scalar_one() == 0
        connection.execute(text("SELECT set_config('casevault.staff_id', :id, true)"), {"id": str(world.staff["bob"])})
        assert connection.execute(text("SELECT count(*) FROM cases")).scalar_one() == len(EXPECTED_CASES["bob"])
    assert set(STAFF) == set(world.staff)


def _enable_system_on_connect(database: Database) -> None:
    """Every new transaction on this engine runs as the system (what a CLI unit of work does via bind_actor)."""

    @event.listens_for(database.engine, "begin")
    def _system(connection: Connection) -> None:
        connection.exec_driver_sql("SELECT set_config('casevault.system', 'on', true)")


def test_migration_downgrades_and_upgrades_cleanly(pg_database: str) -> None:
    database = Database(pg_database)

    def protected_tables() -> set[str]:
        with database.engine.connect() as connection:
            return set(
                connection.execute(
                    text("SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity AND relkind = 'r'")
                ).scalars()
            )

    try:
        assert protected_tables() == set(PROTECTED)
        with database.engine.begin() as connection:
            config = alembic_config(pg_database)
            config.attributes["connection"] = connection
            command.downgrade(config, "0004_identity")
        assert protected_tables() == set()
        upgrade(database)
        assert protected_tables() == set(PROTECTED)
    finally:
        database.dispose()


def test_the_request_functions_see_past_the_policies_under_a_non_superuser_owner(owner_database: Database) -> None:
    # SECURITY DEFINER runs them as this owner, whom FORCE ROW LEVEL SECURITY binds: they must switch to the system.
    _enable_system_on_connect(owner_database)
    world = seed(owner_database)
    with owner_database.engine.connect() as connection:
        number = connection.execute(
            text("SELECT number FROM cases WHERE id = :id"), {"id": world.cases["bob-tech"]}
        ).scalar_one()
    superuser = _superuser_on(owner_database)
    with superuser.engine.connect() as connection:
        _as_app(connection, world.staff["alice"])
        facts = connection.execute(text("SELECT id FROM casevault_case_facts(:n)"), {"n": number}).scalar_one()
        assert facts == world.cases["bob-tech"]
        has_none = text("SELECT casevault_customer_has_no_case(:id)")
        assert connection.execute(has_none, {"id": world.customers["bob-tech"]}).scalar_one() is False
        assert connection.execute(text("SELECT current_setting('casevault.system', true)")).scalar_one() in ("", None)
    superuser.dispose()


def _superuser_on(database: Database) -> Database:
    return Database(database.engine.url.set(username="postgres").render_as_string(hide_password=False))


def test_serving_as_the_schema_owner_is_refused_and_as_the_app_role_accepted(owner_database: Database) -> None:
    with owner_database.engine.connect() as connection:
        problem = serving_role_problem(connection)
    assert problem is not None
    assert "owns the schema" in problem
    superuser = _superuser_on(owner_database)
    with superuser.engine.connect() as connection:
        problem = serving_role_problem(connection)
        assert problem is not None
        assert "bypasses row-level security" in problem
        connection.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        assert serving_role_problem(connection) is None
    superuser.dispose()
