"""Who may read the reports: one named predicate per question.

The reports show everyone's progress at once, so they follow the cohort's rule
(``programmes.permissions.may_see_cohort``): coordinators. Views gate with these,
services ask again, templates get flags.
"""

from __future__ import annotations

from apprentice.people.models import StaffProfile
from apprentice.programmes import permissions as programme_permissions
from apprentice.training import permissions as training_permissions


def may_read_reports(person: StaffProfile | None) -> bool:
    """Open the reports and download their CSV: who may see the whole cohort."""
    return programme_permissions.may_see_cohort(person)


def may_see_in_reports(viewer: StaffProfile | None, person: StaffProfile | None) -> bool:
    """Read one person's activity or progress over time in the reports: a reader of the
    reports, about someone who exists (a coordinator sees the whole cohort)."""
    return person is not None and may_read_reports(viewer)


def may_see_activity(viewer: StaffProfile | None, person_id: int | None) -> bool:
    """Minutes logged per week: one's own (the home page's chart), or anyone's and the
    cohort's (``person_id`` None) for a reader of the reports."""
    return viewer is not None and (person_id == viewer.id or may_read_reports(viewer))


def may_see_own_weeks(person: StaffProfile | None) -> bool:
    """The hours-per-week chart on one's own home page: who keeps a log (apprentices)."""
    return training_permissions.may_keep_log(person)
