"""Who may see a person's portfolio: one named predicate per question.

A portfolio is the person's record as a document, so it follows the apprentice page's
rules (training.permissions) rather than new ones: the person themselves, a
coordinator, or a mentor with a pairing with them current today. A mentor paired for
some areas sees those areas only, in every format (the area rule of pairings).
Everyone else is answered 404, as if there were no such person. A programme's
certificate follows the programme page's rule (programmes.permissions).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from apprentice.people.models import StaffProfile, acts
from apprentice.programmes import permissions as programme_permissions
from apprentice.programmes.models import Enrolment
from apprentice.training import permissions as training_permissions
from apprentice.training.models import Pairing


def may_open_portfolios(person: StaffProfile | None) -> bool:
    """The pages' door: anyone who acts (whose portfolio: :func:`may_see_portfolio`)."""
    return acts(person)


def may_see_portfolio(viewer: StaffProfile | None, person_id: int, today: date | None = None,
                      pairings: Iterable[Pairing] | None = None) -> bool:
    """The person, a coordinator, or a mentor paired with them today (any area).
    ``pairings``: the viewer's pairings with the person, when the caller has them."""
    if not acts(viewer):
        return False
    return viewer.id == person_id or training_permissions.may_view_apprentice(
        viewer, person_id, today or date.today(), pairings)


def areas_in_view(viewer: StaffProfile, person_id: int, today: date | None = None,
                  pairings: Iterable[Pairing] | None = None) -> frozenset[int] | None:
    """The areas of the record the viewer sees (None: all), exactly as on the
    apprentice page (training.permissions.areas_in_view)."""
    return training_permissions.areas_in_view(viewer, person_id, today or date.today(),
                                              pairings)


def may_see_certificate(viewer: StaffProfile | None, enrolment: Enrolment) -> bool:
    """A programme's certificate: who may open the programme's page (its apprentice, a
    coordinator; programmes.permissions.may_view_enrolment)."""
    return programme_permissions.may_view_enrolment(viewer, enrolment)
