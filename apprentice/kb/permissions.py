"""Who may do what in the procedures wiki: one named predicate per question.

Views ask these before showing a page or a button (templates receive the answers as
flags), services ask them again before changing anything, and lists and search use
the SQL and index forms of the same rule, so a page, a list, a search result and a
link on a log entry cannot disagree about who may open a procedure.

Mentors and coordinators publish (everyone does with ``APPRENTICE_KB_EVERYONE_PUBLISHES``);
anyone signed in may propose. Published pages are for everyone; drafts and archived
ones for their owner and for those who publish.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import ColumnElement, or_, true

from apprentice.kb.models import Procedure, ProcedureStatus
from apprentice.people.models import Role, StaffProfile, is_coordinator


def may_publish(person: StaffProfile | None) -> bool:
    """Publish, archive and accept proposals; an edit by this person goes live at once."""
    if person is None or not person.active:
        return False
    if current_app.config.get("APPRENTICE_KB_EVERYONE_PUBLISHES"):
        return True
    return person.has_role(Role.MENTOR, Role.COORDINATOR)


def may_propose(person: StaffProfile | None) -> bool:
    """Propose a new procedure or a change (waiting for a publisher): anyone signed in."""
    return person is not None and person.active


def may_see_procedure(person: StaffProfile | None, procedure: Procedure) -> bool:
    """Published pages for everyone signed in; drafts and archived pages for their
    owner and for those who publish."""
    if person is None:
        return False
    return (procedure.status == ProcedureStatus.PUBLISHED.value
            or procedure.owner_id == person.id or may_publish(person))


def visible_procedures_clause(person: StaffProfile) -> ColumnElement[bool]:
    """:func:`may_see_procedure` as a SQL condition on :class:`Procedure`, for lists."""
    if may_publish(person):
        return true()
    return or_(Procedure.status == ProcedureStatus.PUBLISHED.value,
               Procedure.owner_id == person.id)


def search_visibility(person: StaffProfile) -> dict:
    """:func:`may_see_procedure` as the search index's filter options
    (``apprentice.kb.search.search``: published, the viewer's own, or everything)."""
    return {"viewer_id": person.id, "sees_everything": may_publish(person)}


def may_edit_procedure(person: StaffProfile | None, procedure: Procedure) -> bool:
    """Edit so that the change goes live at once (not as a proposal)."""
    return may_see_procedure(person, procedure) and may_publish(person)


def may_propose_change(person: StaffProfile | None, procedure: Procedure) -> bool:
    """Open the edit form at all: whoever may see the page may propose a change to it."""
    return may_propose(person) and may_see_procedure(person, procedure)


def may_check(person: StaffProfile | None, procedure: Procedure) -> bool:
    """Confirm the page is still right (its review date moves on): its owner, or a
    publisher."""
    return person is not None and (procedure.owner_id == person.id or may_publish(person))


def citable_procedures_clause(person: StaffProfile) -> ColumnElement[bool]:
    """Procedures a person may cite in their log, as SQL: published ones, and their own
    drafts (stricter than reading: a mentor sees every draft but cites only what
    others can read)."""
    return (Procedure.status == ProcedureStatus.PUBLISHED.value) | (
        (Procedure.status == ProcedureStatus.DRAFT.value) & (Procedure.owner_id == person.id))


def may_import(person: StaffProfile | None) -> bool:
    """Import uploaded files or a folder as procedures: coordinators."""
    return is_coordinator(person)


def may_edit_glossary(person: StaffProfile | None) -> bool:
    """Change the search vocabulary (glossary): coordinators."""
    return is_coordinator(person)
