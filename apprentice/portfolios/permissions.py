"""Who may see a person's portfolio: one named predicate per question.

A portfolio is the person's record as a document, so it follows the apprentice page's
rules (training.permissions) rather than new ones: the person themselves, a
coordinator, or a mentor with a pairing with them current today. A mentor paired for
some areas sees those areas only, in every format (the area rule of pairings:
training.permissions.areas_in_view, asked by portfolios.services.portfolio_for).
Everyone else is answered 404, as if there were no such person. A programme's
certificate follows the programme page's rule (programmes.permissions).
"""

from __future__ import annotations

from apprentice.people.models import StaffProfile, acts
from apprentice.programmes import permissions as programme_permissions
from apprentice.programmes.models import Enrolment
from apprentice.training import permissions as training_permissions


def may_open_portfolios(person: StaffProfile | None) -> bool:
    """The pages' door: anyone who acts (whose portfolio: :func:`may_see_portfolio`)."""
    return acts(person)


may_see_portfolio = training_permissions.may_view_record  # one rule for the whole record


def may_see_certificate(viewer: StaffProfile | None, enrolment: Enrolment) -> bool:
    """A programme's certificate: who may open the programme's page (its apprentice, a
    coordinator; programmes.permissions.may_view_enrolment)."""
    return programme_permissions.may_view_enrolment(viewer, enrolment)
