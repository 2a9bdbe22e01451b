"""Full-text search over redacted case text only: SQLite FTS5 or a PostgreSQL tsvector GIN index.

The search document of a case concatenates the redacted subject, description, resolution, remarks and note
bodies; the sealed originals never reach it, so an exposed index holds tokens, not PII.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, bindparam, func, insert, literal_column, select, text
from sqlalchemy.orm import Session

from casevault.cases.models import Case, CaseSearchDocument, Note
from casevault.db.base import utcnow
from casevault.db.statements import FixedStatement

__all__ = [
    "DIALECT_SEARCH_OBJECTS",
    "MAX_QUERY_TERMS",
    "include_in_schema_check",
    "match_cases",
    "new_search_document",
    "query_terms",
    "refresh_search_document",
]

MAX_QUERY_TERMS = 16

# Dialect-specific objects created by migration 0003 but absent from the models (alembic cannot describe an
# FTS5 table or a PostgreSQL-only generated tsvector column portably); schema comparison must skip them.
DIALECT_SEARCH_OBJECTS = frozenset(
    {
        "case_search_fts",
        "case_search_fts_config",
        "case_search_fts_data",
        "case_search_fts_docsize",
        "case_search_fts_idx",
        "ix_case_search_documents_tsv",
        "body_tsv",
    }
)

_TERM = re.compile(r"\S+")
_WORD = re.compile(r"\w+")


def include_in_schema_check(name: str | None, type_: str, parent_names: object) -> bool:
    """An alembic `include_name` hook: False for the search index objects above, True otherwise."""
    if name == "body_tsv":
        return type_ != "column"
    return name not in DIALECT_SEARCH_OBJECTS


def query_terms(query: str) -> list[str]:
    """Whitespace-separated terms that contain at least one word character (at most MAX_QUERY_TERMS)."""
    return [term for term in _TERM.findall(query.replace("\x00", " ")) if _WORD.search(term)][:MAX_QUERY_TERMS]


def _case_parts(case: Case) -> list[str | None]:
    # The case number is not personal and is what people paste into a search box.
    return [
        case.number,
        case.subject_redacted,
        case.description_redacted,
        case.resolution_redacted,
        case.remarks_redacted,
    ]


_INSERT_DOCUMENT = FixedStatement(
    insert(CaseSearchDocument).values(
        case_id=bindparam("case_id"), body=bindparam("body"), updated_at=bindparam("updated_at")
    )
)


def new_search_document(case: Case) -> tuple[FixedStatement, dict[str, object]]:
    """The INSERT of a new case's search document (it has no notes yet), for the caller to run with its rows."""
    body = "\n".join(part for part in _case_parts(case) if part)
    return _INSERT_DOCUMENT, {"case_id": case.id, "body": body, "updated_at": utcnow()}


def refresh_search_document(session: Session, case: Case) -> None:
    """Rebuild the case's search document from its redacted fields and notes (in the caller's transaction)."""
    parts = _case_parts(case)
    session.flush()
    notes = session.scalars(select(Note.body_redacted).where(Note.case_id == case.id).order_by(Note.created_at))
    body = "\n".join(part for part in [*parts, *notes] if part)
    document = session.scalars(select(CaseSearchDocument).where(CaseSearchDocument.case_id == case.id)).first()
    if document is None:
        session.add(CaseSearchDocument(case_id=case.id, body=body, updated_at=utcnow()))
    else:
        document.body = body
        document.updated_at = utcnow()


def match_cases(session: Session, terms: Sequence[str]) -> Select[uuid.UUID]:
    """A select of the ids of cases whose redacted text contains every term (each term as a phrase)."""
    if session.get_bind().dialect.name == "sqlite":
        return _match_sqlite(terms)
    return _match_postgresql(terms)


def _match_sqlite(terms: Sequence[str]) -> Select[uuid.UUID]:
    # Each term becomes a quoted FTS5 phrase, so user input can never be parsed as query syntax.
    expression = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
    matching_rowids = text("SELECT rowid FROM case_search_fts WHERE case_search_fts MATCH :expression").bindparams(
        expression=expression
    )
    return select(CaseSearchDocument.case_id).where(
        CaseSearchDocument.id.in_(matching_rowids.columns(literal_column("rowid")))
    )


def _match_postgresql(terms: Sequence[str]) -> Select[uuid.UUID]:
    config: ColumnElement[str] = literal_column("'simple'::regconfig")
    query: ColumnElement[object] | None = None
    for term in terms:
        phrase = func.phraseto_tsquery(config, term)
        query = phrase if query is None else query.op("&&")(phrase)
    # The generated column from migration 0003 (GIN-indexed); it is not mapped because SQLite has no such column.
    vector: ColumnElement[object] = literal_column("case_search_documents.body_tsv")
    return select(CaseSearchDocument.case_id).where(vector.op("@@")(query))
