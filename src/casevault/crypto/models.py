"""Wrapped per-owner (per-customer) data keys. Deleting a row crypto-shreds everything sealed under it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from casevault.db.base import Base, UTCDateTime, utcnow

__all__ = ["DataKey"]


class DataKey(Base):
    """A 256-bit data key wrapped by the key provider's KEK; the plaintext key never touches storage."""

    __tablename__ = "data_keys"

    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
