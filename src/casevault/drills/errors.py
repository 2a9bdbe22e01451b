"""Errors of the drills."""

from __future__ import annotations

__all__ = ["DrillError"]


class DrillError(RuntimeError):
    """The drill cannot run (no pg_dump, unreadable values file…); the message says what to do."""
