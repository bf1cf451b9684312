"""Pairings as the permission checks read them: plain data, kept per process.

Every write form asks who the person is paired with (the quick log's mentors and its
check, a verify, a sign-off). Pairings, and the mentors' names, activity and roles,
change a few times a day; so they are read once per structure version
(apprentice.core.versions.kept_with_structure) as frozen copies, not as ORM rows per
request. The rule they answer to stays in one place: :class:`PairingTerms`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import bindparam, select

from apprentice.core.versions import kept_with_structure
from apprentice.db import db_session
from apprentice.people.kept import KeptPerson
from apprentice.people.models import Role, StaffProfile, StaffRole
from apprentice.training.models import Pairing, PairingArea, PairingTerms


@dataclass(frozen=True)
class KeptPairing(PairingTerms):
    id: int
    apprentice_id: int
    mentor_id: int
    starts_on: date
    ends_on: date | None
    area_ids: frozenset[int]
    mentor: KeptPerson  # as a pairing's checks read them, and a form lists them


@cache
def _queries():
    """The statements, built once per process; the person's id is bound when run."""
    person = bindparam("person_id")
    pairings = (select(Pairing.id, Pairing.apprentice_id, Pairing.mentor_id, Pairing.starts_on,
                       Pairing.ends_on, StaffProfile.name, StaffProfile.active)
                .join(StaffProfile, StaffProfile.id == Pairing.mentor_id)
                .order_by(Pairing.starts_on.desc(), Pairing.id.desc()))
    ids = bindparam("ids", expanding=True)
    return (pairings.where(Pairing.mentor_id == person),
            pairings.where(Pairing.apprentice_id == person),
            select(PairingArea.pairing_id, PairingArea.area_id)
            .where(PairingArea.pairing_id.in_(ids)),
            select(StaffRole.staff_id, StaffRole.role).where(StaffRole.staff_id.in_(ids)))


@kept_with_structure
def _pairings(as_mentor: bool, person_id: int) -> tuple[KeptPairing, ...]:
    by_mentor, by_apprentice, areas_of, roles_of = _queries()
    session = db_session()
    rows = session.execute(by_mentor if as_mentor else by_apprentice,
                           {"person_id": person_id}).all()
    if not rows:
        return ()
    areas: dict[int, set[int]] = defaultdict(set)
    for pairing_id, area_id in session.execute(areas_of, {"ids": [r.id for r in rows]}):
        areas[pairing_id].add(area_id)
    roles: dict[int, set[Role]] = defaultdict(set)
    for staff_id, role in session.execute(roles_of,
                                          {"ids": sorted({r.mentor_id for r in rows})}):
        roles[staff_id].add(Role(role))
    mentors = {r.mentor_id: KeptPerson(r.mentor_id, r.name, r.active,
                                         frozenset(roles[r.mentor_id])) for r in rows}
    return tuple(KeptPairing(r.id, r.apprentice_id, r.mentor_id, r.starts_on, r.ends_on,
                             frozenset(areas[r.id]), mentors[r.mentor_id]) for r in rows)


def of_mentor(mentor_id: int) -> tuple[KeptPairing, ...]:
    """The mentor's pairings, any date, newest first."""
    return _pairings(True, mentor_id)


def of_apprentice(apprentice_id: int) -> tuple[KeptPairing, ...]:
    """The apprentice's pairings, any date, newest first."""
    return _pairings(False, apprentice_id)


def between(mentor_id: int, apprentice_id: int) -> tuple[KeptPairing, ...]:
    """The pairings of this mentor with this apprentice."""
    return tuple(p for p in of_mentor(mentor_id) if p.apprentice_id == apprentice_id)
