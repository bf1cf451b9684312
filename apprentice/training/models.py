"""The apprenticeship loop: pairings, the shadowing log, sign-offs and revocations.

Sign-offs and revocations are records of people's qualifications: the database
refuses to UPDATE or DELETE them (triggers, see the migrations). A correction
is a new sign-off; a withdrawal is a revocation record.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apprentice.competencies.models import Competency, CompetencyArea, SupervisionLevel
from apprentice.db import Base, UTCDateTime, one_of, utcnow
from apprentice.kb.models import Procedure
from apprentice.people.models import StaffProfile

ACTIVITY_LABELS = {
    SupervisionLevel.OBSERVED: "Shadowed the mentor",
    SupervisionLevel.ASSISTED: "Assisted the mentor",
    SupervisionLevel.MENTOR_PRESENT: "Did it with the mentor present",
    SupervisionLevel.MENTOR_AVAILABLE: "Did it with the mentor available",
    SupervisionLevel.INDEPENDENT: "Did it independently",
    SupervisionLevel.CAN_TRAIN: "Taught someone",
}


def activity_label(activity: int) -> str:
    """What an entry's activity (a supervision level) is called on the log."""
    return ACTIVITY_LABELS[SupervisionLevel(activity)]


def days_waiting(submitted_at: datetime | None) -> int:
    """Whole days since an entry was submitted (in UTC, like the timestamp)."""
    return (utcnow() - submitted_at).days if submitted_at else 0


class EntryState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return {
            EntryState.DRAFT: "Draft",
            EntryState.SUBMITTED: "Waiting for review",
            EntryState.VERIFIED: "Verified",
            EntryState.RETURNED: "Returned to fix",
        }[self]


class PairingTerms:
    """What a pairing says, asked of its row or of its kept plain copy
    (apprentice.training.paired.KeptPairing): one place for the rule. Both have
    ``starts_on``, ``ends_on`` and ``area_ids``."""

    def current_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)

    def covers_area(self, area_id: int) -> bool:
        """No areas listed: the pairing covers every area."""
        return not self.area_ids or area_id in self.area_ids


class Pairing(PairingTerms, Base):
    """An apprentice shadowing a mentor, for some areas (none listed: all) and dates."""

    __tablename__ = "apprentice_pairings"
    __table_args__ = (
        CheckConstraint("apprentice_id <> mentor_id", name="not_self"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_staff.id"), default=None
    )

    apprentice: Mapped[StaffProfile] = relationship(foreign_keys=[apprentice_id])
    mentor: Mapped[StaffProfile] = relationship(foreign_keys=[mentor_id])
    area_links: Mapped[list[PairingArea]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def area_ids(self) -> set[int]:
        return {link.area_id for link in self.area_links}


class PairingArea(Base):
    __tablename__ = "apprentice_pairing_areas"

    pairing_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_pairings.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_competency_areas.id"), primary_key=True
    )
    area: Mapped[CompetencyArea] = relationship()


class LogEntry(Base):
    """One shadowing session or task, logged by the apprentice, reviewed by a mentor."""

    __tablename__ = "apprentice_log_entries"
    __table_args__ = (
        one_of("state", EntryState, name="state_known"),
        CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_in_a_day"),
        CheckConstraint("activity BETWEEN 1 AND 6", name="activity_known"),
        Index("ix_apprentice_log_entries_state_submitted", "state", "submitted_at"),
        # "Logged anything with this mentor lately?" for every pairing (coordinator's home).
        Index("ix_apprentice_log_entries_person_mentor_day", "person_id", "mentor_id",
              "occurred_on"),
        # The same form sent twice creates one entry, not two.
        UniqueConstraint("person_id", "form_token", name="uq_apprentice_log_entries_form"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"), index=True)
    mentor_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_staff.id"), default=None, index=True
    )
    occurred_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    activity: Mapped[int] = mapped_column(Integer, default=SupervisionLevel.OBSERVED)
    description: Mapped[str] = mapped_column(Text, default="")
    reflection: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default=EntryState.DRAFT.value)
    form_token: Mapped[str] = mapped_column(String(64))
    return_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_staff.id"), default=None
    )

    person: Mapped[StaffProfile] = relationship(foreign_keys=[person_id])
    mentor: Mapped[StaffProfile | None] = relationship(foreign_keys=[mentor_id])
    competency_links: Mapped[list[EntryCompetency]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    procedure_links: Mapped[list[EntryProcedure]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def entry_state(self) -> EntryState:
        return EntryState(self.state)

    @property
    def activity_label(self) -> str:
        return activity_label(self.activity)

    @property
    def editable(self) -> bool:
        """Drafts and returned entries are open; submitted and verified are locked."""
        return self.state in (EntryState.DRAFT.value, EntryState.RETURNED.value)

    @property
    def competencies(self) -> list[Competency]:
        return [link.competency for link in self.competency_links]

    @property
    def days_waiting(self) -> int:
        return days_waiting(self.submitted_at)


class EntryCompetency(Base):
    """A competency a log entry practised (the exact wording at the time)."""

    __tablename__ = "apprentice_log_entry_competencies"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_log_entries.id", ondelete="CASCADE"), primary_key=True
    )
    competency_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_competencies.id"), primary_key=True, index=True
    )
    competency: Mapped[Competency] = relationship(lazy="joined")


class EntryProcedure(Base):
    """A procedure the apprentice followed or practised in a log entry."""

    __tablename__ = "apprentice_log_entry_procedures"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_log_entries.id", ondelete="CASCADE"), primary_key=True
    )
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_procedures.id"), primary_key=True, index=True
    )
    procedure: Mapped[Procedure] = relationship(lazy="joined")


class SignOff(Base):
    """A mentor's statement that a person can do a competency at a supervision level.

    Never edited, never deleted: a correction is a newer sign-off for the same
    competency (``corrects_id``), a withdrawal a :class:`Revocation`.
    """

    __tablename__ = "apprentice_sign_offs"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 6", name="level_known"),
        CheckConstraint("person_id <> signed_by_id", name="not_self"),
        Index("ix_apprentice_sign_offs_person_lineage", "person_id", "lineage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"))
    competency_id: Mapped[int] = mapped_column(ForeignKey("apprentice_competencies.id"))
    # The competency's lineage, so progress counts it for later wordings too.
    lineage: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_sign_offs.id"), default=None
    )

    person: Mapped[StaffProfile] = relationship(foreign_keys=[person_id])
    signed_by: Mapped[StaffProfile] = relationship(foreign_keys=[signed_by_id])
    competency: Mapped[Competency] = relationship()
    evidence_links: Mapped[list[SignOffEvidence]] = relationship(lazy="selectin")
    revocation: Mapped[Revocation | None] = relationship(
        back_populates="sign_off", lazy="selectin", uselist=False
    )

    @property
    def supervision_level(self) -> SupervisionLevel:
        return SupervisionLevel(self.level)


class SignOffEvidence(Base):
    """A verified log entry a sign-off cites."""

    __tablename__ = "apprentice_sign_off_evidence"

    sign_off_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_sign_offs.id"), primary_key=True
    )
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_log_entries.id"), primary_key=True
    )
    entry: Mapped[LogEntry] = relationship()


class Revocation(Base):
    """The withdrawal of a sign-off, with who withdrew it and why."""

    __tablename__ = "apprentice_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    sign_off_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_sign_offs.id"), unique=True
    )
    reason: Mapped[str] = mapped_column(Text)
    revoked_by_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"))
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sign_off: Mapped[SignOff] = relationship(back_populates="revocation")
    revoked_by: Mapped[StaffProfile] = relationship()


class ReminderSent(Base):
    """One daily digest sent to one mentor: never twice for the same day."""

    __tablename__ = "apprentice_reminders_sent"
    __table_args__ = (UniqueConstraint("mentor_id", "day", name="uq_apprentice_reminders_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"))
    day: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
