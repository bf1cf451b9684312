"""The procedures knowledge base: a wiki of the library's own procedures.

A procedure's current text lives on :class:`Procedure`; every save is a
:class:`ProcedureRevision` (never changed afterwards), so the history can be
read, compared and restored. A proposal by someone who may not publish is a
revision too, waiting for a mentor or coordinator.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apprentice.competencies.models import Competency, CompetencyArea
from apprentice.db import Base, UTCDateTime, one_of, utcnow
from apprentice.people.models import StaffProfile

REVIEW_INTERVAL_DAYS = 90  # a new procedure's: how long until it should be checked again


class ProcedureStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class RevisionState(StrEnum):
    PUBLISHED = "published"   # became the procedure's text when saved (or when accepted)
    PROPOSED = "proposed"     # waiting for someone who may publish
    DECLINED = "declined"


class Procedure(Base):
    __tablename__ = "apprentice_procedures"
    __table_args__ = (one_of("status", ProcedureStatus, name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(500), default="")  # comma-separated, lower case
    status: Mapped[str] = mapped_column(String(10), default=ProcedureStatus.DRAFT.value)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("apprentice_staff.id"), default=None)
    review_interval_days: Mapped[int] = mapped_column(Integer,
                                                      default=REVIEW_INTERVAL_DAYS)
    review_by: Mapped[date | None] = mapped_column(Date, default=None)
    # The number of the revision the current text came from: an edit started
    # from an older number is refused instead of overwriting someone's change.
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    # Where an imported procedure came from, so importing again updates it.
    source_key: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[StaffProfile | None] = relationship()
    competency_links: Mapped[list[ProcedureCompetency]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    area_links: Mapped[list[ProcedureArea]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]

    def needs_review(self, today: date) -> bool:
        return (self.status == ProcedureStatus.PUBLISHED.value and self.review_by is not None
                and self.review_by < today)


class ProcedureRevision(Base):
    """One saved version of a procedure: never changed once written."""

    __tablename__ = "apprentice_procedure_revisions"
    __table_args__ = (
        UniqueConstraint("procedure_id", "number", name="uq_apprentice_procedure_revisions_n"),
        one_of("state", RevisionState, name="state_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_procedures.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[str] = mapped_column(String(10), default=RevisionState.PUBLISHED.value)
    based_on: Mapped[int] = mapped_column(Integer, default=0)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("apprentice_staff.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[StaffProfile | None] = relationship()


class ProcedureCompetency(Base):
    __tablename__ = "apprentice_procedure_competencies"

    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_procedures.id", ondelete="CASCADE"), primary_key=True)
    competency_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_competencies.id"), primary_key=True, index=True)
    competency: Mapped[Competency] = relationship(lazy="joined")


class ProcedureArea(Base):
    __tablename__ = "apprentice_procedure_areas"

    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_procedures.id", ondelete="CASCADE"), primary_key=True)
    area_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_competency_areas.id"), primary_key=True, index=True)
    area: Mapped[CompetencyArea] = relationship(lazy="joined")


class IndexChange(Base):
    """A procedure whose search entry must be brought up to date: one row per change, in
    an append-only log that every server's index replica reads (apprentice/kb/changelog.py).

    Written in the same transaction as the change. The id comes from the database and
    only grows (SQLite's AUTOINCREMENT never hands out an id again, even after the
    oldest rows are pruned); a replica's cursor is an id, never a time.
    """

    __tablename__ = "apprentice_index_changes"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(Integer)


class IndexReplica(Base):
    """One server's search index (its index folder) and how far it has read the log.

    ``applied_upto``: every change up to this id is in the index; for a replica being
    built for the first time (``glossary_id`` None), only a floor that keeps pruning off
    the changes its build will need. ``rebuild_floor``: while a rebuild runs, the cursor
    it started from, so that pruning keeps what the new index will need although
    the old one keeps moving on. ``last_seen_at`` tells live replicas from servers gone
    for good (the server's clock, compared only with a time-to-live of days).
    """

    __tablename__ = "apprentice_index_replicas"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # in the folder's file
    location: Mapped[str] = mapped_column(String(500), default="")  # host:folder, for people
    applied_upto: Mapped[int] = mapped_column(Integer, default=0)
    # The glossary version the index was built with (0: the shipped list; None: not built).
    glossary_id: Mapped[int | None] = mapped_column(Integer, default=None)
    rebuild_floor: Mapped[int | None] = mapped_column(Integer, default=None)
    built_from: Mapped[int | None] = mapped_column(Integer, default=None)  # the log's newest id
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GlossaryVersion(Base):
    """One saved version of the library's search glossary; the newest is in use.

    Kept whole, one row per save, so a coordinator can see who changed the
    vocabulary and go back to an earlier list.
    """

    __tablename__ = "apprentice_glossary_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(300), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("apprentice_staff.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[StaffProfile | None] = relationship()
