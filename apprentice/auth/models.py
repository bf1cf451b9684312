"""Records kept for signing in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from apprentice.db import Base, UTCDateTime, utcnow


class SignInFailure(Base):
    """One failed sign-in, kept for throttling.

    Counted in the database so that every worker process sees the same count.
    Rows older than the throttle window are pruned as new ones arrive.
    """

    __tablename__ = "apprentice_sign_in_failures"
    __table_args__ = (
        Index("ix_apprentice_sign_in_failures_email_at", "email", "created_at"),
        Index("ix_apprentice_sign_in_failures_address_at", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The e-mail as typed (normalised), whether or not such a person exists,
    # so that throttling does not reveal which accounts exist.
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
