"""Enrolment: a person on a framework's programme, with their chosen electives."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apprentice.competencies.models import CompetencyArea, Framework
from apprentice.db import Base, UTCDateTime, one_of, utcnow
from apprentice.people.models import StaffProfile


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Enrolment(Base):
    """An apprentice's programme on one framework; finished ones stay on record."""

    __tablename__ = "apprentice_enrolments"
    __table_args__ = (
        one_of("status", EnrolmentStatus, name="status_known"),
        CheckConstraint("target_date >= start_date", name="target_after_start"),
        # One active programme per person and framework (finished ones may repeat).
        Index(
            "uq_apprentice_enrolments_one_active",
            "person_id",
            "framework_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"), index=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("apprentice_frameworks.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    target_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=EnrolmentStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_staff.id", ondelete="SET NULL"), default=None
    )
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    person: Mapped[StaffProfile] = relationship(foreign_keys=[person_id])
    framework: Mapped[Framework] = relationship()
    electives: Mapped[list[ElectiveChoice]] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan"
    )

    @property
    def active(self) -> bool:
        return self.status == EnrolmentStatus.ACTIVE.value


class ElectiveChoice(Base):
    """An elective area chosen for an enrolment."""

    __tablename__ = "apprentice_enrolment_electives"

    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_enrolments.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_competency_areas.id"), primary_key=True
    )
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="electives")
    area: Mapped[CompetencyArea] = relationship()
