"""Competency frameworks: framework -> areas -> competencies, and their history.

A draft framework is edited freely. Once active, nothing is edited in place
where people's evidence could point: a reworded competency is a new row with
the same ``lineage`` (the old row keeps its wording and gets ``retired_in``),
and retiring hides a row without deleting it. ``Framework.version`` counts
those changes and :class:`FrameworkChange` says what each one was.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import IntEnum, StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apprentice.db import Base, UTCDateTime, one_of, utcnow


class FrameworkStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class AreaKind(StrEnum):
    """Every required area must be completed; a set number of electives is chosen."""

    REQUIRED = "required"
    ELECTIVE = "elective"


class SupervisionLevel(IntEnum):
    """How independently a person did a task: what a mentor signs off."""

    OBSERVED = 1
    ASSISTED = 2
    MENTOR_PRESENT = 3
    MENTOR_AVAILABLE = 4
    INDEPENDENT = 5
    CAN_TRAIN = 6

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]

    @classmethod
    def from_slug(cls, slug: str) -> SupervisionLevel:
        for level in cls:
            if level.slug == slug:
                return level
        raise ValueError(f"unknown supervision level {slug!r}")


LEVEL_LABELS = {
    SupervisionLevel.OBSERVED: "Observed the mentor",
    SupervisionLevel.ASSISTED: "Assisted the mentor",
    SupervisionLevel.MENTOR_PRESENT: "Did it with the mentor present",
    SupervisionLevel.MENTOR_AVAILABLE: "Did it with the mentor available",
    SupervisionLevel.INDEPENDENT: "Does it independently",
    SupervisionLevel.CAN_TRAIN: "Can train others",
}


def new_lineage() -> str:
    return uuid.uuid4().hex


class Framework(Base):
    """A competency framework and its programme rule."""

    __tablename__ = "apprentice_frameworks"
    __table_args__ = (
        one_of("status", FrameworkStatus, name="status_known"),
        CheckConstraint("electives_required >= 0", name="electives_not_negative"),
        CheckConstraint("level_required BETWEEN 1 AND 6", name="level_known"),
        CheckConstraint(
            "area_completion_percent BETWEEN 1 AND 100", name="completion_percent_range"
        ),
        CheckConstraint("time_allowed_months >= 1", name="time_allowed_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Stable across renaming and new versions, and never a row id: what an Open Badges
    # achievement's id is made from (credentials.openbadges.achievement_id).
    lineage: Mapped[str] = mapped_column(String(32), default=new_lineage, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=FrameworkStatus.DRAFT.value)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The programme rule.
    electives_required: Mapped[int] = mapped_column(Integer, default=3)
    level_required: Mapped[int] = mapped_column(Integer, default=SupervisionLevel.INDEPENDENT)
    area_completion_percent: Mapped[int] = mapped_column(Integer, default=100)
    time_allowed_months: Mapped[int] = mapped_column(Integer, default=48)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    areas: Mapped[list[CompetencyArea]] = relationship(
        back_populates="framework",
        order_by="CompetencyArea.position",
        cascade="all, delete-orphan",
    )

    @property
    def state(self) -> FrameworkStatus:
        return FrameworkStatus(self.status)

    @property
    def level(self) -> SupervisionLevel:
        return SupervisionLevel(self.level_required)

    @property
    def current_areas(self) -> list[CompetencyArea]:
        return [area for area in self.areas if not area.retired]

    @property
    def current_electives(self) -> list[CompetencyArea]:
        """The elective areas people choose from (the rule's count is out of these)."""
        return [area for area in self.current_areas if not area.required]


class CompetencyArea(Base):
    """A competency set (LSSC's word): required, or one of the electives."""

    __tablename__ = "apprentice_competency_areas"
    __table_args__ = (
        one_of("kind", AreaKind, name="kind_known"),
        CheckConstraint("min_hours IS NULL OR min_hours >= 0", name="min_hours_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_frameworks.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    lineage: Mapped[str] = mapped_column(String(32), default=new_lineage, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(10), default=AreaKind.REQUIRED.value)
    position: Mapped[int] = mapped_column(Integer, default=0)
    min_hours: Mapped[int | None] = mapped_column(Integer, default=None)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    framework: Mapped[Framework] = relationship(back_populates="areas")
    competencies: Mapped[list[Competency]] = relationship(
        back_populates="area",
        order_by="Competency.position",
        cascade="all, delete-orphan",
    )

    @property
    def required(self) -> bool:
        return self.kind == AreaKind.REQUIRED.value

    @property
    def current_competencies(self) -> list[Competency]:
        return [c for c in self.competencies if c.retired_in is None]


class Competency(Base):
    """One statement of what a person can do, in one wording.

    Rows are never reworded once the framework is active: the new wording is a
    new row with the same ``lineage``, so evidence recorded against the old
    row keeps the words that were signed.
    """

    __tablename__ = "apprentice_competencies"
    __table_args__ = (
        Index("ix_apprentice_competencies_framework_lineage", "framework_id", "lineage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_frameworks.id", ondelete="CASCADE"), index=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_competency_areas.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(20))
    statement: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    lineage: Mapped[str] = mapped_column(String(32), default=new_lineage)
    introduced_in: Mapped[int] = mapped_column(Integer, default=1)
    retired_in: Mapped[int | None] = mapped_column(Integer, default=None)
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_competencies.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area: Mapped[CompetencyArea] = relationship(back_populates="competencies")
    framework: Mapped[Framework] = relationship()

    @property
    def current(self) -> bool:
        return self.retired_in is None


class FrameworkChange(Base):
    """One line of a framework's history: what changed, in which version, by whom."""

    __tablename__ = "apprentice_framework_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_frameworks.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_staff.id", ondelete="SET NULL"), default=None
    )
