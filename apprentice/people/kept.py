"""People as the write forms' checks read them: name, activity and roles, kept per process.

A form's service checks its author again after its write turn (still active? still
an apprentice?), and names them in the audit record. Those facts change a few times a
day, so they are kept under the structure version
(apprentice.core.versions.kept_with_structure) as frozen copies: under the write lock a
check reads the version, one small statement, instead of the person's row and roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, select

from apprentice.core.versions import kept_with_structure
from apprentice.db import db_session, id_of
from apprentice.people.models import Role, SignedInPerson, StaffProfile, StaffRole


@dataclass(frozen=True)
class KeptPerson(SignedInPerson):
    """A person as the permission predicates read them (``id``, ``active``,
    ``has_role``) and as a form or an audit record names them."""

    id: int
    name: str
    active: bool
    roles: frozenset[Role]


@cache
def _query():
    """The person's name, activity and roles, a row per role (built once per process)."""
    return (select(StaffProfile.name, StaffProfile.active, StaffRole.role)
            .outerjoin(StaffRole, StaffRole.staff_id == StaffProfile.id)
            .where(StaffProfile.id == bindparam("id")))


@kept_with_structure
def kept_person(person_id: int) -> KeptPerson | None:
    """The person as the structure version this transaction sees stands for them; None
    for no such person."""
    rows = db_session().execute(_query(), {"id": person_id}).all()
    if not rows:
        return None
    return KeptPerson(person_id, rows[0].name, rows[0].active,
                      frozenset(Role(row.role) for row in rows if row.role))


def now(person) -> KeptPerson | None:
    """``person`` (a profile, the sign-in's facts, a kept person) as they stand in this
    transaction: after a write turn, as they are under the lock."""
    return kept_person(id_of(person))
