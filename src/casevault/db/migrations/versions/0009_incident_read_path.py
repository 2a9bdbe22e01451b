"""incident read path: what a security officer's blast radius and notification export may read under RLS

Row-level security (0005_access) shows a security officer no case, customer or contact: their scope holds none.
An incident report still needs each affected customer's reference, country and sector and the number and customer of
each case involved, and the notification export needs the sealed contact channel. These SECURITY DEFINER functions
return exactly those columns for the ids asked, and only when the transaction is bound to an active security
officer (or is a system/CLI transaction of the owning role); anyone else gets `insufficient_privilege`.

They run as the owning role with `casevault.incident_reader = 'on'` for their own query only, which opens a
SELECT-only policy for the owning role and nobody else: the application role setting it changes nothing.
PostgreSQL only (SQLite has no RLS; the access functions are its only wall).

Revision ID: 0009_incident_read_path
Revises: 0008_audit_subjects_covering
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_incident_read_path"
down_revision: str | None = "0008_audit_subjects_covering"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "casevault_app"
_TABLES = ["customers", "cases", "contacts"]

_READER_SETTING = "current_setting('casevault.incident_reader', true) = 'on'"

# Who may call: the system/CLI (owning role, system flag) or an active security officer bound to the transaction.
_GUARD = """
    -- IS NOT TRUE, not NOT: an unset setting makes the test NULL, and NULL must refuse too.
    IF (
        current_setting('casevault.system', true) = 'on'
        OR EXISTS (
            SELECT 1 FROM staff s
            WHERE s.id = NULLIF(current_setting('casevault.staff_id', true), '')::uuid
              AND s.status = 'active' AND s.role = 'security_officer'
        )
    ) IS NOT TRUE THEN
        RAISE EXCEPTION 'incident read path: not a security officer' USING ERRCODE = 'insufficient_privilege';
    END IF;
"""

# name -> (arguments, returned columns, query); every query reads only the rows whose ids were passed in.
_FUNCTIONS: dict[str, tuple[str, str, str]] = {
    "incident_customer_facts": (
        "ids uuid[]",
        "id uuid, reference varchar, country varchar, sector varchar",
        "SELECT c.id, c.reference, c.country, o.sector FROM customers c"
        " LEFT JOIN organizations o ON o.id = c.organization_id WHERE c.id = ANY (ids)",
    ),
    "incident_case_facts": (
        "ids uuid[]",
        "id uuid, number varchar, customer_id uuid",
        "SELECT k.id, k.number, k.customer_id FROM cases k WHERE k.id = ANY (ids)",
    ),
    "incident_customer_channels": (
        "ids uuid[]",
        "id uuid, email_sealed bytea, phone_sealed bytea",
        "SELECT c.id, c.email_sealed, c.phone_sealed FROM customers c WHERE c.id = ANY (ids)",
    ),
    "incident_billing_contacts": (
        "ids uuid[]",
        "customer_id uuid, id uuid, email_sealed bytea, created_at timestamptz",
        "SELECT t.customer_id, t.id, t.email_sealed, t.created_at FROM contacts t"
        " WHERE t.customer_id = ANY (ids) AND t.kind = 'billing'",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        op.execute(f"CREATE POLICY {table}_incident ON {table} FOR SELECT TO CURRENT_USER USING ({_READER_SETTING})")
    for name, (arguments, columns, query) in _FUNCTIONS.items():
        op.execute(
            f"""
            CREATE FUNCTION {name}({arguments}) RETURNS TABLE ({columns})
            LANGUAGE plpgsql VOLATILE SECURITY DEFINER
            SET search_path = public, pg_temp
            AS $fn$
            BEGIN
                {_GUARD}
                -- Not a SET clause: PostgreSQL 15 lets only superusers put a custom setting there. RETURN QUERY
                -- runs the query to completion here, so the flag is off again before anything else runs.
                PERFORM set_config('casevault.incident_reader', 'on', true);
                RETURN QUERY {query};
                PERFORM set_config('casevault.incident_reader', '', true);
            END
            $fn$
            """
        )
        op.execute(f"REVOKE ALL ON FUNCTION {name}({arguments}) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}({arguments}) TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, (arguments, _columns, _query) in _FUNCTIONS.items():
        op.execute(f"DROP FUNCTION IF EXISTS {name}({arguments})")
    for table in _TABLES:
        op.execute(f"DROP POLICY IF EXISTS {table}_incident ON {table}")
