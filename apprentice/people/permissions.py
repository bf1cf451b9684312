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
