"""Database plumbing: declarative base, portable column types, engine and unit of work."""

from casevault.db.base import Base, Sealed, utcnow
from casevault.db.session import Database

__all__ = ["Base", "Database", "Sealed", "utcnow"]
