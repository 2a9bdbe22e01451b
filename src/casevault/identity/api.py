"""HTTP routes of this capability, mounted under /api/v1 by create_app()."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
