"""Who may do what with people's records: one named predicate per question.

Views gate pages with these (``apprentice.auth.access.requires``), templates receive
their answers as flags, and ``people.services`` asks them again before changing
anything (``by=None`` is the command line, which runs as the server's owner).

Staff records are personal data: only coordinators list, add and change people.
A coordinator may change their own details and roles (the service keeps one active
coordinator), but never deactivates themselves: they would lock themselves out with
nobody there to see it.
"""

from __future__ import annotations

from apprentice.people.models import StaffProfile, is_coordinator
from apprentice.validation import Invalid

__all__ = ["is_coordinator"]  # the role check lives with the profile, importable from here


def acts(person: StaffProfile | None) -> bool:
    """Someone signed in whose profile is active: deactivated people act as nobody,
    whatever roles they still hold."""
    return person is not None and person.active


def refuse_unless(allowed: bool, by: StaffProfile | None, message: str) -> None:
    """A service asks a predicate again before a change: :class:`Invalid` with
    ``message`` when ``by`` may not. ``by=None`` is the command line or the demo data,
    run by whoever owns the server, and is not asked."""
    if by is not None and not allowed:
        raise Invalid({None: message})


def may_manage_people(person: StaffProfile | None) -> bool:
    """List people, add someone, open and save a person's details: coordinators."""
    return is_coordinator(person)


def may_edit_person(actor: StaffProfile | None, person: StaffProfile) -> bool:
    """Change a person's name, e-mail, job, branch or temporary password: coordinators,
    their own record included."""
    return may_manage_people(actor)


def may_change_roles(actor: StaffProfile | None, person: StaffProfile) -> bool:
    """Give or take roles: coordinators, their own included (handing the coordinator
    role on is how one steps down; the service refuses to leave nobody coordinating)."""
    return may_manage_people(actor)


def may_set_active(actor: StaffProfile | None, person: StaffProfile, active: bool) -> bool:
    """Deactivate or reactivate: coordinators, except deactivating themselves."""
    return may_manage_people(actor) and (active or actor.id != person.id)
