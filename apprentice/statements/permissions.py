"""Who may write and read a learning statement: one named predicate per question.

Views gate pages with these (``apprentice.auth.access.requires``) and pass their answers
to templates as flags; ``statements.services`` asks them again before saving.

A statement is the apprentice's own words: only they write it, nobody edits it for
them. Who may open the apprentice's page may read it (a coordinator, a mentor with a
pairing current today: ``training.permissions.may_view_apprentice``); a mentor paired
for some areas reads the overall statement and the sections of those areas only, the
area rule of pairings. Everyone else is answered 404, as if there were none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from apprentice.people.models import Role, StaffProfile, acts
from apprentice.training import permissions as training_permissions
from apprentice.training.models import Pairing


def may_write_statements(person: StaffProfile | None) -> bool:
    """Write a learning statement at all: active apprentices (the edit page's door)."""
    return acts(person) and person.has_role(Role.APPRENTICE)


def may_write_statement(person: StaffProfile | None, person_id: int) -> bool:
    """Save a new revision of ``person_id``'s statement: that apprentice, nobody else."""
    return may_write_statements(person) and person.id == person_id


may_read_statement = training_permissions.may_view_record  # one rule for the whole record


def areas_in_view(viewer: StaffProfile, person_id: int, today: date | None = None,
                  pairings: Iterable[Pairing] | None = None) -> frozenset[int] | None:
    """The areas whose sections the reader sees (None: all), by the area rule."""
    return training_permissions.areas_in_view(viewer, person_id, today or date.today(),
                                              pairings)
