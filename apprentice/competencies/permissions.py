"""Who may do what with competency frameworks: one named predicate per question.

Views gate pages with these (``apprentice.auth.access.requires``) and pass their
answers to templates as flags; ``competencies.services`` asks them again before
changing anything (``by=None`` is the command line or the demo data).

A published framework is for everyone signed in: apprentices read what they will be
signed off against. Drafts and retired frameworks, and every change, are the
coordinators'. A retired framework is read-only for everyone.
"""

from __future__ import annotations

from apprentice.competencies.models import Framework, FrameworkStatus
from apprentice.people.models import StaffProfile, acts, is_coordinator


def may_manage_frameworks(person: StaffProfile | None) -> bool:
    """Create, import, edit, publish and retire frameworks, their areas and
    competencies: coordinators."""
    return is_coordinator(person)


def may_see_unpublished(person: StaffProfile | None) -> bool:
    """See drafts and retired frameworks (in the list and by address): who manages them."""
    return may_manage_frameworks(person)


def may_see_framework(person: StaffProfile | None, framework: Framework) -> bool:
    """A published framework: everyone signed in; a draft or a retired one: who may see
    unpublished frameworks. Its competencies and history go with it."""
    return acts(person) and (framework.state == FrameworkStatus.ACTIVE
                             or may_see_unpublished(person))


def may_export_framework(person: StaffProfile | None, framework: Framework) -> bool:
    """Download a framework as JSON or CSV: whoever may see it (the file holds nothing
    its page does not)."""
    return may_see_framework(person, framework)


def may_import_framework(person: StaffProfile | None) -> bool:
    """Create a framework from a file, or load the shipped one: who manages frameworks."""
    return may_manage_frameworks(person)


def framework_editable(framework: Framework) -> bool:
    """Whether a framework can change at all: a retired one is kept as it was."""
    return framework.state != FrameworkStatus.RETIRED


def may_edit_framework(person: StaffProfile | None, framework: Framework) -> bool:
    """Change a framework's name and rule, add, edit, move and retire its areas and
    competencies: who manages frameworks, while it is not retired."""
    return may_manage_frameworks(person) and framework_editable(framework)


def may_set_framework_status(person: StaffProfile | None) -> bool:
    """Publish a draft or retire a published framework: who manages frameworks. (Which
    move is allowed from which status is the service's question, with its own message.)"""
    return may_manage_frameworks(person)
