"""row-level security agrees with the application for admins, first cases and access requests (PostgreSQL)

The authorization matrix, run on PostgreSQL as the application role, found three things the application and its
Cedar policies allow that the policies of 0005 refused (docs/adr/0565-...):

- admins manage customers everywhere (contacts, filing a case) but the customers and contacts policies only
  showed customers through a case in the acting staff member's scope, and admins have none;
- a customer with no case at all may get its first case from any agent or supervisor, but was invisible to them;
- a grant or break-glass request names a case outside the requester's scope, which they could not look up.

So: customers and contacts are also visible to an acting admin, and (read only) to an acting agent or supervisor
while the customer has no case (`casevault_customer_has_no_case`); an admin may insert the token maps of the case
they file; `casevault_case_facts(number)` gives a bound, active staff member the ids of one case (never its
content), which is all a request needs. Both functions are SECURITY DEFINER and switch `casevault.system` on for
their own duration only, so they see past the policies they exist to answer, and nothing else.

Revision ID: 0012_rls_admin_first_case
Revises: 0011_audit_append_function
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_rls_admin_first_case"
down_revision: str | None = "0011_audit_append_function"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "casevault_app"

_BOUND_ID = "NULLIF(current_setting('casevault.staff_id', true), '')::uuid"
# S608 below: every fragment is a constant of this module; nothing comes from input.
_ACTING_ADMIN = f"EXISTS (SELECT 1 FROM staff s WHERE s.id = {_BOUND_ID} AND s.status = 'active' AND s.role = 'admin')"  # noqa: S608
_ACTING_WORKER = (
    f"EXISTS (SELECT 1 FROM staff s WHERE s.id = {_BOUND_ID} AND s.status = 'active'"  # noqa: S608
    " AND s.role IN ('agent', 'supervisor'))"
)
_VISIBLE_CUSTOMER = "EXISTS (SELECT 1 FROM cases c WHERE c.customer_id = {table}.{column})"
_VISIBLE_CASE = "EXISTS (SELECT 1 FROM cases c WHERE c.id = redaction_vaults.case_id)"

# `casevault.system` is switched on inside the call and back before it returns (a non-superuser owner may not put a
# placeholder setting in CREATE FUNCTION ... SET); an error aborts the transaction, which undoes it as well.
_FUNCTIONS = f"""
CREATE FUNCTION casevault_customer_has_no_case(p_customer uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_system text := current_setting('casevault.system', true);
    v_none boolean;
BEGIN
    PERFORM set_config('casevault.system', 'on', true);
    v_none := NOT EXISTS (SELECT 1 FROM cases WHERE customer_id = p_customer);
    PERFORM set_config('casevault.system', coalesce(v_system, ''), true);
    RETURN v_none;
END
$fn$;

CREATE FUNCTION casevault_case_facts(p_number text)
RETURNS TABLE (id uuid, queue_id uuid, customer_id uuid, assignee_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_system text := current_setting('casevault.system', true);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM staff s WHERE s.id = {_BOUND_ID} AND s.status = 'active') THEN
        RETURN;
    END IF;
    PERFORM set_config('casevault.system', 'on', true);
    RETURN QUERY SELECT c.id, c.queue_id, c.customer_id, c.assignee_id FROM cases c WHERE c.number = p_number;
    PERFORM set_config('casevault.system', coalesce(v_system, ''), true);
END
$fn$;

REVOKE ALL ON FUNCTION casevault_customer_has_no_case(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION casevault_case_facts(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION casevault_customer_has_no_case(uuid) TO {APP_ROLE};
GRANT EXECUTE ON FUNCTION casevault_case_facts(text) TO {APP_ROLE};
"""  # noqa: S608


def _scopes(table: str, column: str) -> tuple[str, str]:
    """(who may see, who may change) rows of `table`, whose customer is `column`."""
    through_case = _VISIBLE_CUSTOMER.format(table=table, column=column)
    change = f"{through_case} OR {_ACTING_ADMIN}"
    first_case = f"{_ACTING_WORKER} AND casevault_customer_has_no_case({table}.{column})"
    return f"{change} OR ({first_case})", change


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTIONS)
    for table, column in (("customers", "id"), ("contacts", "customer_id")):
        read, change = _scopes(table, column)
        op.execute(f"ALTER POLICY {table}_read ON {table} USING ({read})")
        op.execute(f"ALTER POLICY {table}_update ON {table} USING ({change})")
        op.execute(f"ALTER POLICY {table}_delete ON {table} USING ({change})")
    vault_check = f"{_VISIBLE_CASE} OR {_ACTING_ADMIN}"
    op.execute(f"ALTER POLICY redaction_vaults_insert ON redaction_vaults WITH CHECK ({vault_check})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER POLICY redaction_vaults_insert ON redaction_vaults WITH CHECK ({_VISIBLE_CASE})")
    for table, column in (("customers", "id"), ("contacts", "customer_id")):
        through_case = _VISIBLE_CUSTOMER.format(table=table, column=column)
        for suffix in ("read", "update", "delete"):
            op.execute(f"ALTER POLICY {table}_{suffix} ON {table} USING ({through_case})")
    op.execute("DROP FUNCTION IF EXISTS casevault_case_facts(text)")
    op.execute("DROP FUNCTION IF EXISTS casevault_customer_has_no_case(uuid)")
