"""Staff profiles and the roles they hold in the programme."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apprentice.db import Base, UTCDateTime, one_of, utcnow


class Role(StrEnum):
    """What a person does in the programme; one person may hold several."""

    APPRENTICE = "apprentice"
    MENTOR = "mentor"
    COORDINATOR = "coordinator"

    @property
    def label(self) -> str:
        return {
            Role.APPRENTICE: "Apprentice (support staff)",
            Role.MENTOR: "Mentor (librarian)",
            Role.COORDINATOR: "Coordinator",
        }[self]


ROLE_VALUES = tuple(role.value for role in Role)


def new_session_token() -> str:
    """A random token that is part of the sign-in cookie; changing it signs a person out."""
    return secrets.token_urlsafe(24)


class SignedInPerson:
    """What Flask-Login and the permission predicates ask of someone signed in: a
    profile, or the session's plain facts (apprentice.auth.services.SignedIn). Both have
    ``active`` and ``roles``; ``get_id`` is each one's own."""

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def has_role(self, *roles: Role) -> bool:
        """True if the person holds any of ``roles``."""
        return bool(self.roles.intersection(roles))


class StaffProfile(SignedInPerson, Base):
    """A member of staff known to apprentice.

    In standalone mode this is also the signed-in user (it implements the
    Flask-Login user interface). In host mode the host's user is mapped to a
    profile by e-mail. Profiles are deactivated, never deleted: what a person
    logged and signed off stays on record.
    """

    __tablename__ = "apprentice_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored normalised (see people.services.normalise_email) so it is unique
    # whatever the case somebody types.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    job_title: Mapped[str] = mapped_column(String(120), default="")
    branch: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    password_must_change: Mapped[bool] = mapped_column(Boolean, default=False)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    role_grants: Mapped[list[StaffRole]] = relationship(
        back_populates="staff",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="StaffRole.staff_id",
    )

    @property
    def roles(self) -> set[Role]:
        return {Role(grant.role) for grant in self.role_grants}

    def get_id(self) -> str:
        """The id a sign-in starts with: id, session token and the time now (see
        apprentice/auth/sessions.py); a new token ends every session of this person."""
        from apprentice.auth.sessions import sign_in_id

        return sign_in_id(self.id, self.session_token)

    def end_sessions(self) -> None:
        """End every session of this person: each cookie they hold, copied or
        remembered, names the old token and is refused from now on (auth/sessions.py).
        The caller commits, with the change that calls for it."""
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<StaffProfile {self.id} {self.email}>"


def acts(person: StaffProfile | None) -> bool:
    """Someone signed in whose profile is active: deactivated people act as nobody,
    whatever roles they still hold. Every feature's permission module starts here."""
    return person is not None and person.active


def acts_as(person: StaffProfile | None, *roles: Role) -> bool:
    """``person`` acts (:func:`acts`) and holds one of ``roles``."""
    return acts(person) and person.has_role(*roles)


def is_coordinator(person: StaffProfile | None) -> bool:
    """Whether ``person`` acts as a coordinator."""
    return acts_as(person, Role.COORDINATOR)


class StaffRole(Base):
    """One role held by one person, with who granted it and when."""

    __tablename__ = "apprentice_staff_roles"
    __table_args__ = (
        one_of("role", Role, name="role_known"),
    )

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_staff.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("apprentice_staff.id", ondelete="SET NULL"), default=None
    )

    staff: Mapped[StaffProfile] = relationship(
        back_populates="role_grants", foreign_keys=[staff_id]
    )
