"""incident records (blast-radius parameters and the audit-chain head they were computed against)

Revision ID: 0006_incident
Revises: 0005_access
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import casevault.db.base

revision: str = "0006_incident"
down_revision: str | None = "0005_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("report", "containment", name="incidentkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", casevault.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_label", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("subject_staff_id", sa.Uuid(), nullable=False),
        sa.Column("subject_username", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("sessions", sa.JSON(), nullable=False),
        sa.Column("window_since", casevault.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("window_until", casevault.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("checkpoint_seq", sa.BigInteger(), nullable=True),
        sa.Column("chain_ok", sa.Boolean(), nullable=True),
        sa.Column("chain_message", sa.String(length=200), nullable=True),
        sa.Column("report_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("customers_affected", sa.Integer(), nullable=False),
        sa.Column("customers_revealed", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("contained_at", casevault.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_subject_created", ["subject_staff_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_incidents_subject_created")
    op.drop_table("incidents")
