"""Who may do what with programmes (enrolments): one named predicate per question.

Views gate pages with these (``apprentice.auth.access.requires``) and pass their
answers to templates as flags; ``programmes.services`` asks them again before changing
anything (``by=None`` is the command line or the demo data).

Coordinators enrol people and run the programme. A programme page is its
apprentice's and the coordinators'. A mentor sees a paired apprentice's progress on
the apprentice's own page (``training.permissions.may_view_apprentice``), where
entries and sign-offs each keep the pairing's area rule; the programme page, with its
electives and dates, is not theirs.
"""

from __future__ import annotations

from apprentice.people.models import Role, StaffProfile, acts, is_coordinator
from apprentice.programmes.models import Enrolment


def may_manage_programmes(person: StaffProfile | None) -> bool:
    """Enrol people, see the whole cohort, change target dates, finish programmes:
    coordinators."""
    return is_coordinator(person)


def may_enrol(person: StaffProfile | None) -> bool:
    """Put an apprentice on a programme: who manages programmes."""
    return may_manage_programmes(person)


def may_see_cohort(person: StaffProfile | None) -> bool:
    """Everyone's progress at once (the programmes list, the home page's matrix)."""
    return may_manage_programmes(person)


def may_see_own_programmes(person: StaffProfile | None) -> bool:
    """Follow one's own programme ("My programme"): apprentices."""
    return acts(person) and person.has_role(Role.APPRENTICE)


def may_view_enrolment(viewer: StaffProfile | None, enrolment: Enrolment) -> bool:
    """Open a programme's page: the apprentice it is for, or a coordinator."""
    return acts(viewer) and (enrolment.person_id == viewer.id or is_coordinator(viewer))


def may_choose_electives(person: StaffProfile | None, enrolment: Enrolment) -> bool:
    """Choose the elective areas: the apprentice (the areas should fit their work) or a
    coordinator. Whether the programme is still running is the service's question."""
    return may_view_enrolment(person, enrolment)


def may_set_target(person: StaffProfile | None, enrolment: Enrolment) -> bool:
    """Move the target date: coordinators, never the apprentice themselves."""
    return may_manage_programmes(person) and person.id != enrolment.person_id


def may_finish(person: StaffProfile | None, enrolment: Enrolment) -> bool:
    """Mark a programme completed or withdrawn: coordinators, never on their own
    programme (completing it is a claim about them)."""
    return may_manage_programmes(person) and person.id != enrolment.person_id
