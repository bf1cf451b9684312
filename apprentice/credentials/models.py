"""Credentials this installation issued, and their revocations: records of people's
qualifications, so both tables are append-only (the database refuses UPDATE and
DELETE, migration 0010), like sign-offs.

An :class:`IssuedCredential` keeps the signed VC-JWT exactly as handed over (``token``):
the apprentice can download it again, and nobody can change what was attested. Its
place in the issuer's Bitstring Status List (``status_list``, ``status_index``) is fixed
when it is issued and unique. Withdrawing it adds a :class:`CredentialRevocation` with
who, when and why; the status list then shows the bit set.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apprentice.competencies.models import CompetencyArea, Framework
from apprentice.db import Base, UTCDateTime, utcnow
from apprentice.people.models import StaffProfile


class IssuedCredential(Base):
    """One OpenBadgeCredential as issued: for one area (``area_id``) or, when
    ``area_id`` is None, for the whole programme of ``framework_id``."""

    __tablename__ = "apprentice_credentials"
    __table_args__ = (
        UniqueConstraint("status_list", "status_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The credential's own id, "urn:uuid:..." (its JWT "jti").
    credential_id: Mapped[str] = mapped_column(String(45), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"), index=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("apprentice_frameworks.id"))
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_competency_areas.id"), default=None)
    # The achievement's id (a URL made from lineages: the same for every credential for
    # the same achievement) and the credential's name, as issued.
    achievement_id: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"))
    # The signing key's thumbprint (keys.IssuerKey.kid) and the VC-JWT as signed.
    kid: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
    status_list: Mapped[int] = mapped_column(Integer)
    status_index: Mapped[int] = mapped_column(Integer)

    person: Mapped[StaffProfile] = relationship(foreign_keys=[person_id])
    issued_by: Mapped[StaffProfile] = relationship(foreign_keys=[issued_by_id])
    framework: Mapped[Framework] = relationship()
    area: Mapped[CompetencyArea | None] = relationship()
    revocation: Mapped[CredentialRevocation | None] = relationship(
        back_populates="credential", lazy="joined")

    @property
    def revoked(self) -> bool:
        return self.revocation is not None


class CredentialRevocation(Base):
    """The withdrawal of one credential: at most one per credential, never undone."""

    __tablename__ = "apprentice_credential_revocations"

    credential_id: Mapped[int] = mapped_column(ForeignKey("apprentice_credentials.id"),
                                               primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int] = mapped_column(ForeignKey("apprentice_staff.id"))
    reason: Mapped[str] = mapped_column(Text)

    credential: Mapped[IssuedCredential] = relationship(back_populates="revocation")
    by: Mapped[StaffProfile] = relationship()
