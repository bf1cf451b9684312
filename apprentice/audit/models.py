"""The audit trail: one append-only, hash-chained record per thing that matters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from apprentice.db import Base, UTCDateTime, utcnow


class AuditRecord(Base):
    """What happened, who did it, to what, when; and the hash linking it to the last one.

    The database refuses UPDATE and DELETE on this table (triggers, see the
    migration), and each record holds the hash of the one before it, so an
    edited, deleted or reordered record breaks the chain where it happened.
    """

    __tablename__ = "apprentice_audit"
    # The audit page filters by person (actor or object) and by date.
    __table_args__ = (Index("ix_apprentice_audit_object", "object_type", "object_id"),)

    # Assigned by the appender (last id + 1, under the append lock), not by the
    # database, so the hash can include it and the row is never updated after.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_staff.id", ondelete="RESTRICT"), default=None, index=True
    )
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[int | None] = mapped_column(Integer, default=None)
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
