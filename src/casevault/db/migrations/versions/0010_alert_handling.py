"""alert handling: who acknowledged or closed an alert, when, and their note (redacted)

Security officers acknowledge and close alerts from the console or the API (`detection.services.handle_alert`).
The note is free text typed under pressure, so it is stored redacted like every reason (ADR 0563) and audited
by its length only. The application role already holds UPDATE on `alerts` (0002_audit's default privileges).

Revision ID: 0010_alert_handling
Revises: 0009_incident_read_path
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import casevault.db.base

revision: str = "0010_alert_handling"
down_revision: str | None = "0009_incident_read_path"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handled_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("handled_at", casevault.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("note_redacted", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("note_redacted")
        batch_op.drop_column("handled_at")
        batch_op.drop_column("handled_by_id")
