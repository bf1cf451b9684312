"""A personal learning statement: the apprentice's own account of what they learned.

Every save is a new :class:`StatementRevision` (the overall statement, and a
:class:`StatementSection` per competency area written about), never changed once
written: the database refuses to change or remove them (migration 0008), so the
statement a mentor or an employer read stays readable as it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apprentice.competencies.models import CompetencyArea
from apprentice.db import Base, UTCDateTime, utcnow
from apprentice.people.models import StaffProfile


class StatementRevision(Base):
    """One saved version of a person's learning statement (number 1, 2, ... per person)."""

    __tablename__ = "apprentice_statement_revisions"
    __table_args__ = (
        # Two saves from the same starting point cannot both become the next number.
        UniqueConstraint("person_id", "number", name="uq_apprentice_statement_revisions_n"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # The revision the writer started from (0: none yet): the history shows the chain.
    based_on: Mapped[int] = mapped_column(Integer, default=0)
    overall: Mapped[str] = mapped_column(Text)
    words: Mapped[int] = mapped_column(Integer, default=0)  # overall and areas together
    author_id: Mapped[int | None] = mapped_column(ForeignKey("apprentice_staff.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[StaffProfile] = relationship(foreign_keys=[person_id])
    author: Mapped[StaffProfile | None] = relationship(foreign_keys=[author_id])
    sections: Mapped[list[StatementSection]] = relationship(
        back_populates="revision", lazy="selectin", order_by="StatementSection.position")


class StatementSection(Base):
    """What a revision says about one competency area of the programme."""

    __tablename__ = "apprentice_statement_sections"

    revision_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_statement_revisions.id"), primary_key=True)
    area_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_competency_areas.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the order on the form
    body: Mapped[str] = mapped_column(Text)

    revision: Mapped[StatementRevision] = relationship(back_populates="sections")
    area: Mapped[CompetencyArea] = relationship(lazy="joined")
