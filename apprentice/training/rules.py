"""Who may do what in the apprenticeship loop: one place for every permission rule.

The views ask these before showing a button and the services ask them again
before changing anything, so a rule cannot be skipped by posting directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select

from apprentice.db import db_session
from apprentice.people.models import Role, StaffProfile
from apprentice.training.models import Pairing


def pairings_between(mentor_id: int, apprentice_id: int) -> list[Pairing]:
    return list(db_session().scalars(
        select(Pairing).where(Pairing.mentor_id == mentor_id,
                              Pairing.apprentice_id == apprentice_id)
    ))


def mentor_covers(mentor: StaffProfile, apprentice_id: int, area_ids: Iterable[int],
                  day: date, pairings: Iterable[Pairing] | None = None) -> bool:
    """True when ``mentor`` has a pairing with the apprentice that is current on
    ``day`` and covers every one of ``area_ids``. Nobody mentors themselves.

    ``pairings``: the mentor's pairings, when the caller already has them (a
    queue of many entries asks once, not once per entry).
    """
    if mentor.id == apprentice_id or not mentor.active or not mentor.has_role(Role.MENTOR):
        return False
    if pairings is None:
        pairings = pairings_between(mentor.id, apprentice_id)
    areas = set(area_ids)
    return any(
        pairing.mentor_id == mentor.id and pairing.apprentice_id == apprentice_id
        and pairing.current_on(day) and all(pairing.covers_area(a) for a in areas)
        for pairing in pairings
    )


def mentors_now(viewer: StaffProfile, apprentice_id: int, day: date,
                pairings: Iterable[Pairing] | None = None) -> bool:
    """A coordinator, or a mentor with a pairing with the apprentice current on ``day``
    (any area): who may see the apprentice's page. ``pairings``: the viewer's pairings
    with the apprentice, when the caller has them already."""
    if is_coordinator(viewer):
        return True
    if pairings is None:
        pairings = pairings_between(viewer.id, apprentice_id)
    return any(p.mentor_id == viewer.id and p.apprentice_id == apprentice_id
               and p.current_on(day) for p in pairings)


def is_coordinator(person: StaffProfile | None) -> bool:
    return person is not None and person.has_role(Role.COORDINATOR)
