"""Who may do what in the apprenticeship loop: one named predicate per question.

Views ask these before showing a page or a button (templates receive the answers as
flags) and services ask them again before changing anything, so a rule cannot be
skipped by posting directly, and the page and the service cannot disagree.

The area rule of pairings holds for everything that belongs to an area: a mentor may
see or act on an entry or a sign-off only while a pairing with the apprentice covers
its areas. Coordinators see everything but sign nothing; nobody acts on their own record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from apprentice.people.models import Role, StaffProfile, acts, acts_as, is_coordinator
from apprentice.training import paired
from apprentice.training.models import EntryState, LogEntry, PairingTerms, SignOff
from apprentice.training.paired import KeptPairing

# -- the pages' doors (what a page then opens is each object's own predicate) --------------

def may_keep_log(person: StaffProfile | None) -> bool:
    """Log sessions and open one's own log: apprentices."""
    return acts_as(person, Role.APPRENTICE)


def may_review_entries(person: StaffProfile | None) -> bool:
    """Open the review queue and verify or return from it: mentors (which entries is
    :func:`may_review`'s question)."""
    return acts_as(person, Role.MENTOR)


def may_see_apprentices(person: StaffProfile | None) -> bool:
    """Open an apprentice's page and the sign-off form: mentors, and coordinators (who
    correct sign-offs). Which apprentice, area or sign-off: :func:`may_view_apprentice`,
    :func:`may_sign_off`, :func:`may_correct`."""
    return acts_as(person, Role.MENTOR, Role.COORDINATOR)


def may_manage_pairings(person: StaffProfile | None) -> bool:
    """List, create and change pairings: coordinators."""
    return is_coordinator(person)


def may_unlock_entries(person: StaffProfile | None) -> bool:
    """Reopen verified entries at all: coordinators (whose entry: :func:`may_unlock`)."""
    return is_coordinator(person)


def pairings_between(mentor_id: int, apprentice_id: int) -> tuple[KeptPairing, ...]:
    """The mentor's pairings with the apprentice, as plain data kept per process."""
    return paired.between(mentor_id, apprentice_id)


def mentor_covers(mentor: StaffProfile, apprentice_id: int, area_ids: Iterable[int],
                  day: date, pairings: Iterable[PairingTerms] | None = None) -> bool:
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


# -- apprentices ----------------------------------------------------------------------------

def may_view_apprentice(viewer: StaffProfile, apprentice_id: int, day: date,
                        pairings: Iterable[PairingTerms] | None = None) -> bool:
    """A coordinator, or a mentor with a pairing with the apprentice current on ``day``
    (any area): who may open the apprentice's page. What the page then opens is each
    object's own predicate. ``pairings``: the viewer's pairings with the apprentice."""
    if is_coordinator(viewer):
        return True
    if pairings is None:
        pairings = pairings_between(viewer.id, apprentice_id)
    return any(p.mentor_id == viewer.id and p.apprentice_id == apprentice_id
               and p.current_on(day) for p in pairings)


def may_view_record(viewer: StaffProfile | None, person_id: int, today: date | None = None,
                    pairings: Iterable[PairingTerms] | None = None) -> bool:
    """A person's record as a whole (their learning statement, their portfolio): the
    person, a coordinator, or a mentor paired with them today (what of it a mentor sees:
    :func:`areas_in_view`). ``pairings``: the viewer's pairings with the person."""
    if not acts(viewer):
        return False
    return viewer.id == person_id or may_view_apprentice(
        viewer, person_id, today or date.today(), pairings)


def areas_in_view(viewer: StaffProfile, apprentice_id: int, day: date,
                  pairings: Iterable[PairingTerms] | None = None) -> frozenset[int] | None:
    """The ids of the areas whose progress, entries and sign-offs the viewer sees on the
    apprentice's pages; None for every area (the apprentice, a coordinator, a mentor
    paired for all areas). A mentor paired for some areas sees those that a pairing
    current on ``day`` covers, and nothing of the rest: the area rule of pairings.
    ``pairings``: the viewer's pairings with the apprentice."""
    if viewer.id == apprentice_id or is_coordinator(viewer):
        return None
    if not viewer.active or not viewer.has_role(Role.MENTOR):
        return frozenset()
    if pairings is None:
        pairings = pairings_between(viewer.id, apprentice_id)
    current = [p for p in pairings if p.mentor_id == viewer.id
               and p.apprentice_id == apprentice_id and p.current_on(day)]
    if any(not p.area_ids for p in current):  # paired for every area
        return None
    return frozenset(area for p in current for area in p.area_ids)


# -- log entries ----------------------------------------------------------------------------

def _entry_areas(entry: LogEntry) -> set[int]:
    return {link.competency.area_id for link in entry.competency_links}


def may_review(mentor: StaffProfile, entry: LogEntry, today: date | None = None,
               mentor_pairings: Iterable[PairingTerms] | None = None,
               areas: Iterable[int] | None = None) -> bool:
    """A mentor paired with the apprentice, covering the entry's areas, today or on
    the day it happened. ``entry``: a LogEntry, or a row with its ``person_id`` and
    ``occurred_on``; ``areas``: its competencies' areas, when the caller read them."""
    today = today or date.today()
    areas = _entry_areas(entry) if areas is None else set(areas)
    return any(mentor_covers(mentor, entry.person_id, areas, day, mentor_pairings)
               for day in (today, entry.occurred_on))


def may_view_entry(viewer: StaffProfile, entry: LogEntry,
                   mentor_pairings: Iterable[PairingTerms] | None = None) -> bool:
    """Whoever logged it, a coordinator, or (once it is no draft) a mentor who may review
    it. ``mentor_pairings``: the viewer's pairings, when a page asks for many entries."""
    return entry.person_id == viewer.id or is_coordinator(viewer) or (
        entry.state != EntryState.DRAFT.value
        and may_review(viewer, entry, mentor_pairings=mentor_pairings))


def may_unlock(person: StaffProfile, entry: LogEntry) -> bool:
    """A coordinator reopens someone else's entry (whether it is verified is the
    service's question, with its own message)."""
    return may_unlock_entries(person) and person.id != entry.person_id


# -- sign-offs ------------------------------------------------------------------------------

def may_sign_off(mentor: StaffProfile, apprentice_id: int, area_id: int, day: date,
                 pairings: Iterable[PairingTerms] | None = None) -> bool:
    """A new sign-off: only a mentor whose pairing covers the area on ``day``
    (coordinators included: they correct and revoke, they do not sign)."""
    return mentor_covers(mentor, apprentice_id, {area_id}, day, pairings)


def may_view_sign_off(viewer: StaffProfile, record: SignOff, today: date | None = None,
                      mentor_pairings: Iterable[PairingTerms] | None = None) -> bool:
    """The apprentice it is for, whoever signed it, a coordinator, or a mentor whose
    current pairing covers the competency's area (a sign-off cites entries' text: it
    belongs to its area like they do). ``mentor_pairings``: the viewer's pairings.
    ``record``: a SignOff, or the record model's SignOffRecord (same fields read)."""
    return (record.person_id == viewer.id or record.signed_by_id == viewer.id
            or is_coordinator(viewer)
            or mentor_covers(viewer, record.person_id, {record.competency.area_id},
                             today or date.today(), mentor_pairings))


def signed_or_coordinates(person: StaffProfile, record: SignOff) -> bool:
    """The mentor who signed it, or a coordinator: who answers for a sign-off."""
    return record.signed_by_id == person.id or is_coordinator(person)


def may_revoke(person: StaffProfile, record: SignOff) -> bool:
    """Withdraw a standing sign-off: the mentor who signed, or a coordinator; never
    the person it is for."""
    return (record.revocation is None and person.id != record.person_id
            and signed_or_coordinates(person, record))


def may_correct(person: StaffProfile, record: SignOff) -> bool:
    """Replace a standing sign-off with a corrected one: who may revoke it. (Whether it
    was corrected already is the service's question, with its own message.)"""
    return (record.revocation is None and person.id != record.person_id
            and signed_or_coordinates(person, record))
