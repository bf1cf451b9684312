"""Share links: an apprentice's portfolio, readable by someone without an account.

A :class:`ShareLink` holds what the apprentice decided (whose portfolio, for whom, until
when, all of it or signed-off only) and, once withdrawn, who withdrew it and when. The
link's secret is never stored: only the SHA-256 hash of its token, so someone who reads
the database (a backup, a report run against it) cannot open anybody's portfolio.

Views are counted in :class:`ShareLinkViews`, a table of its own: a visit is traffic,
not a change anyone made, and keeping it apart lets the access tests prove that opening
a page changes no other row.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apprentice.db import Base, UTCDateTime, utcnow
from apprentice.people.models import StaffProfile


class LinkState(StrEnum):
    """Where a link stands on a given day (the list's State column)."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ShareLink(Base):
    """A link to one person's portfolio, made by them, working until ``expires_on``
    (that day included) unless revoked first."""

    __tablename__ = "apprentice_share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"), index=True)
    label: Mapped[str] = mapped_column(String(120))  # whom it is for, in the owner's words
    # hex SHA-256 of the token (sharing.services.hash_token); the token itself is shown
    # once, when the link is made, and kept nowhere.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    signed_only: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_staff.id"), default=None)

    person: Mapped[StaffProfile] = relationship(foreign_keys=[person_id])
    revoked_by: Mapped[StaffProfile | None] = relationship(foreign_keys=[revoked_by_id])
    counter: Mapped[ShareLinkViews] = relationship(lazy="joined", back_populates="link")

    def state_on(self, today: date) -> LinkState:
        if self.revoked_at is not None:
            return LinkState.REVOKED
        return LinkState.EXPIRED if self.expires_on < today else LinkState.ACTIVE

    @property
    def views(self) -> int:
        return self.counter.views if self.counter is not None else 0

    @property
    def last_viewed_at(self) -> datetime | None:
        return self.counter.last_viewed_at if self.counter is not None else None


class ShareLinkViews(Base):
    """How often a link was opened, and when last; one row per link, made with it and
    counted up by a single UPDATE per visit (sharing.services.open_link)."""

    __tablename__ = "apprentice_share_link_views"

    link_id: Mapped[int] = mapped_column(ForeignKey("apprentice_share_links.id"),
                                         primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    link: Mapped[ShareLink] = relationship(back_populates="counter")
