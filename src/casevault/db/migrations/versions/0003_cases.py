"""case search index and case services

The search document table is portable; the full-text index over it is dialect-specific: an FTS5 table kept
in step by triggers on SQLite, a GIN-indexed generated tsvector column on PostgreSQL. Both index only the
redacted text the services write into `case_search_documents.body`.
On PostgreSQL that text is also kept as a stored generated tsvector (`body_tsv`) with a GIN index on it.

Revision ID: 0003_cases
Revises: 0002_audit
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import casevault.db.base

revision: str = "0003_cases"
down_revision: str | None = "0002_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_FTS = [
    # External-content FTS5 over the documents table: the text is stored once, the index follows by triggers.
    """CREATE VIRTUAL TABLE case_search_fts USING fts5(
        body, content='case_search_documents', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER case_search_documents_ai AFTER INSERT ON case_search_documents BEGIN
        INSERT INTO case_search_fts(rowid, body) VALUES (new.id, new.body);
    END""",
    """CREATE TRIGGER case_search_documents_ad AFTER DELETE ON case_search_documents BEGIN
        INSERT INTO case_search_fts(case_search_fts, rowid, body) VALUES ('delete', old.id, old.body);
    END""",
    """CREATE TRIGGER case_search_documents_au AFTER UPDATE ON case_search_documents BEGIN
        INSERT INTO case_search_fts(case_search_fts, rowid, body) VALUES ('delete', old.id, old.body);
        INSERT INTO case_search_fts(rowid, body) VALUES (new.id, new.body);
    END""",
]

_POSTGRES_TSV = [
    # A stored tsvector: whatever plan the optimiser picks (index scan or per-row filter), nothing re-parses text.
    "ALTER TABLE case_search_documents ADD COLUMN body_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, body)) STORED",
    "CREATE INDEX ix_case_search_documents_tsv ON case_search_documents USING gin (body_tsv)",
]


def upgrade() -> None:
    op.create_table(
        "case_search_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", casevault.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_search_documents_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_search_documents")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_search_documents_case_id")),
    )
    dialect = op.get_bind().dialect.name
    statements = _SQLITE_FTS if dialect == "sqlite" else _POSTGRES_TSV if dialect == "postgresql" else []
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("case_search_documents_au", "case_search_documents_ad", "case_search_documents_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS case_search_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_case_search_documents_tsv")
        op.execute("ALTER TABLE case_search_documents DROP COLUMN IF EXISTS body_tsv")
    op.drop_table("case_search_documents")
