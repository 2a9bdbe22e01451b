"""row-level security: the database's own wall around case data (PostgreSQL only)

Every read of cases, notes, redaction vaults, contacts and customers is filtered by the staff member bound to
the transaction (`set_config('casevault.staff_id', …, true)`, see casevault.access.rls.bind_actor). With nothing
bound, the application role sees no rows. The scope is the one in the Cedar policies (access/policies/):
cases assigned to me, unassigned cases in my queues, every case in the queues I supervise (supervisors only);
child rows follow their case; customers and contacts are visible only through a visible case.

The migrating (owning) role is subject to the policies too (FORCE ROW LEVEL SECURITY); it sees everything only
in a transaction that sets `casevault.system = 'on'` (system jobs and the CLI). That setting has no effect for
any other role. Superusers bypass row-level security by design: never run the application as one.

Revision ID: 0005_access
Revises: 0004_identity
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_access"
down_revision: str | None = "0004_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "casevault_app"

# The role may already exist (created by 0002_audit, by an operator, or by a migration of another database in the
# same cluster). A role that bypasses row-level security would make every policy here decorative: refuse it.
_CREATE_APP_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'casevault_app') THEN
        BEGIN
            CREATE ROLE casevault_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created concurrently by another migration run
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'casevault_app' AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'casevault_app is a superuser or has BYPASSRLS: row-level security would not apply to it';
    END IF;
END
$$
"""

# Who is acting: the bound staff member, only while active and in a role that works cases. Written inline (no
# SQL functions): the sub-selects become init plans, run once per statement, and a prepared statement caches
# them with the rest of the plan; current_setting() is STABLE, so it is read at execution, never baked in.
_BOUND_ID = "NULLIF(current_setting('casevault.staff_id', true), '')::uuid"
_ACTIVE_WORKER = "s.status = 'active' AND s.role IN ('agent', 'supervisor')"
# S608 below: every fragment is a constant of this module; nothing comes from input.
_ACTING_STAFF = f"(SELECT s.id FROM staff s WHERE s.id = {_BOUND_ID} AND {_ACTIVE_WORKER})"  # noqa: S608
_QUEUES_OF = "ARRAY(SELECT m.queue_id FROM queue_memberships m JOIN staff s ON s.id = m.staff_id WHERE {where})"
_MEMBER_QUEUES = _QUEUES_OF.format(where=f"m.staff_id = {_BOUND_ID} AND {_ACTIVE_WORKER}")
_SUPERVISED_QUEUES = _QUEUES_OF.format(
    where=f"m.staff_id = {_BOUND_ID} AND m.role = 'supervisor' AND s.status = 'active' AND s.role = 'supervisor'"
)

# Column comparisons against per-statement values and small arrays of queue ids, never a per-row EXISTS over
# memberships: the planner keeps using ix_cases_assignee_status / ix_cases_queue_status (docs/adr/0550-…).
CASE_SCOPE = (
    f"assignee_id = {_ACTING_STAFF}"
    f" OR (assignee_id IS NULL AND queue_id = ANY ({_MEMBER_QUEUES}))"
    f" OR queue_id = ANY ({_SUPERVISED_QUEUES})"
)
# Child rows: one primary-key or indexed probe into cases, itself filtered by the cases policy.
_VISIBLE_CASE = "EXISTS (SELECT 1 FROM cases c WHERE c.id = {table}.case_id)"
_VISIBLE_CUSTOMER = "EXISTS (SELECT 1 FROM cases c WHERE c.customer_id = {table}.{column})"
# Creating rows exposes nothing; any active staff member may (the Cedar policies decide who may create what).
_STAFF_BOUND = f"EXISTS (SELECT 1 FROM staff s WHERE s.id = {_BOUND_ID} AND s.status = 'active')"  # noqa: S608
_SYSTEM = "current_setting('casevault.system', true) = 'on'"

# table -> (who may see/change existing rows, who may insert)
_SCOPES: dict[str, tuple[str, str]] = {
    "cases": (CASE_SCOPE, _STAFF_BOUND),
    "notes": (_VISIBLE_CASE.format(table="notes"), _VISIBLE_CASE.format(table="notes")),
    "redaction_vaults": (
        _VISIBLE_CASE.format(table="redaction_vaults"),
        _VISIBLE_CASE.format(table="redaction_vaults"),
    ),
    # A new customer or contact has no case yet, so it cannot be checked against one.
    "customers": (_VISIBLE_CUSTOMER.format(table="customers", column="id"), _STAFF_BOUND),
    "contacts": (_VISIBLE_CUSTOMER.format(table="contacts", column="customer_id"), _STAFF_BOUND),
}
_READ_ONLY_FOR_POLICIES = ["staff", "queue_memberships"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_CREATE_APP_ROLE)
    for table in _READ_ONLY_FOR_POLICIES:
        op.execute(f"GRANT SELECT ON {table} TO {APP_ROLE}")
    for table, (scope, insert_check) in _SCOPES.items():
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING ({scope})")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({insert_check})")
        # An update may move a row out of my scope (reassigning a case); the row had to be visible to start with.
        op.execute(f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({scope}) WITH CHECK ({_STAFF_BOUND})")
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({scope})")
        # System jobs and the CLI, as the owning role only (the role running this migration).
        op.execute(
            f"CREATE POLICY {table}_system ON {table} FOR ALL TO CURRENT_USER USING ({_SYSTEM}) WITH CHECK ({_SYSTEM})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _SCOPES:
        for suffix in ("system", "delete", "update", "insert", "read"):
            op.execute(f"DROP POLICY IF EXISTS {table}_{suffix} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # The role is cluster-wide and may serve other databases, and its grants may come from other migrations
    # (0002_audit grants the application role its tables): both are left in place.
