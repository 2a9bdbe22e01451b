"""just-in-time access grants and break-glass sessions; row-level security opens the cases they cover

The two tables hold references and redacted reasons only. On PostgreSQL the application role may read and write
them, and the `cases_read` policy of 0005_access gains two arms: cases covered by the bound staff member's
approved, unexpired grants, and by its unexpired break-glass sessions (security officers included: break-glass
is their only way to case content). Notes, redaction vaults, customers and contacts follow their case as before.

Revision ID: 0007_grants
Revises: 0006_incident
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import casevault.db.base

revision: str = "0007_grants"
down_revision: str | None = "0006_incident"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "casevault_app"

# Copied from 0005_access (a migration is a snapshot: it must not change when a later one does).
_BOUND_ID = "NULLIF(current_setting('casevault.staff_id', true), '')::uuid"
_ACTIVE_WORKER = "s.status = 'active' AND s.role IN ('agent', 'supervisor')"
_ACTING_STAFF = f"(SELECT s.id FROM staff s WHERE s.id = {_BOUND_ID} AND {_ACTIVE_WORKER})"  # noqa: S608
_QUEUES_OF = "ARRAY(SELECT m.queue_id FROM queue_memberships m JOIN staff s ON s.id = m.staff_id WHERE {where})"
_MEMBER_QUEUES = _QUEUES_OF.format(where=f"m.staff_id = {_BOUND_ID} AND {_ACTIVE_WORKER}")
_SUPERVISED_QUEUES = _QUEUES_OF.format(
    where=f"m.staff_id = {_BOUND_ID} AND m.role = 'supervisor' AND s.status = 'active' AND s.role = 'supervisor'"
)
CASE_SCOPE_0005 = (
    f"assignee_id = {_ACTING_STAFF}"
    f" OR (assignee_id IS NULL AND queue_id = ANY ({_MEMBER_QUEUES}))"
    f" OR queue_id = ANY ({_SUPERVISED_QUEUES})"
)
# Same shape as the scope arms (an array computed once per statement), so the planner keeps its indexes.
_GRANT_LIVE = f"g.requester_id = {_BOUND_ID} AND g.status = 'approved' AND g.expires_at > now() AND {_ACTIVE_WORKER}"
_GLASS_LIVE = (
    f"b.staff_id = {_BOUND_ID} AND b.expires_at > now()"
    " AND s.status = 'active' AND s.role IN ('agent', 'supervisor', 'security_officer')"
)
_GLASS_JOIN = "break_glass_sessions b JOIN staff s ON s.id = b.staff_id"
_GRANTED = f"SELECT g.case_id FROM access_grants g JOIN staff s ON s.id = g.requester_id WHERE {_GRANT_LIVE}"  # noqa: S608
_BROKEN_GLASS = f"SELECT b.case_id FROM {_GLASS_JOIN} WHERE {_GLASS_LIVE}"  # noqa: S608
CASE_SCOPE = f"{CASE_SCOPE_0005} OR id = ANY (ARRAY({_GRANTED})) OR id = ANY (ARRAY({_BROKEN_GLASS}))"


def upgrade() -> None:
    op.create_table(
        "access_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("requester_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("case_number", sa.String(length=20), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("reason_redacted", sa.String(length=500), nullable=False),
        sa.Column("reason_length", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "approved", "revoked", name="grantstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("requested_at", casevault.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approver_id", sa.Uuid(), nullable=True),
        sa.Column("approved_at", casevault.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", casevault.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", casevault.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["approver_id"], ["staff.id"], name=op.f("fk_access_grants_approver_id_staff")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_access_grants_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_access_grants_customer_id_customers")),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_access_grants_queue_id_queues")),
        sa.ForeignKeyConstraint(["requester_id"], ["staff.id"], name=op.f("fk_access_grants_requester_id_staff")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["staff.id"], name=op.f("fk_access_grants_revoked_by_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_grants")),
    )
    op.create_index("ix_access_grants_queue_status", "access_grants", ["queue_id", "status"], unique=False)
    op.create_index("ix_access_grants_requester_status", "access_grants", ["requester_id", "status"], unique=False)
    op.create_table(
        "break_glass_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("case_number", sa.String(length=20), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("reason_redacted", sa.String(length=500), nullable=False),
        sa.Column("reason_length", sa.Integer(), nullable=False),
        sa.Column("started_at", casevault.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", casevault.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("reviewer_id", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", casevault.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note_redacted", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_break_glass_sessions_case_id_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_break_glass_sessions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["queue_id"], ["queues.id"], name=op.f("fk_break_glass_sessions_queue_id_queues")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["staff.id"], name=op.f("fk_break_glass_sessions_reviewer_id_staff")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_break_glass_sessions_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_sessions")),
    )
    op.create_index("ix_break_glass_reviewed", "break_glass_sessions", ["reviewed_at"], unique=False)
    op.create_index("ix_break_glass_staff_expires", "break_glass_sessions", ["staff_id", "expires_at"], unique=False)

    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("access_grants", "break_glass_sessions"):
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {APP_ROLE}")
    op.execute(f"ALTER POLICY cases_read ON cases USING ({CASE_SCOPE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER POLICY cases_read ON cases USING ({CASE_SCOPE_0005})")
    op.drop_index("ix_break_glass_staff_expires", table_name="break_glass_sessions")
    op.drop_index("ix_break_glass_reviewed", table_name="break_glass_sessions")
    op.drop_table("break_glass_sessions")
    op.drop_index("ix_access_grants_requester_status", table_name="access_grants")
    op.drop_index("ix_access_grants_queue_status", table_name="access_grants")
    op.drop_table("access_grants")
