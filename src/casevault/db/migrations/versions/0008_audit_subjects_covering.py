"""audit subjects: covering index by event for blast-radius queries (PostgreSQL)

Revision ID: 0008_audit_subjects_covering
Revises: 0007_grants
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_audit_subjects_covering"
down_revision: str | None = "0007_grants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ["customer_id", "case_id", "exposure"]


def upgrade() -> None:
    # SQLite has no INCLUDE; its plain index on event_seq stays as it is.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_audit_subjects_event_seq", table_name="audit_subjects")
    op.create_index("ix_audit_subjects_event_seq", "audit_subjects", ["event_seq"], postgresql_include=_COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_audit_subjects_event_seq", table_name="audit_subjects")
    op.create_index("ix_audit_subjects_event_seq", "audit_subjects", ["event_seq"])
