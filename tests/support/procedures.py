"""Procedures written and searched through the services, as the index tests need them:
each call in its own app context, so a test can interleave several servers (apps)."""

from __future__ import annotations

from apprentice.kb import search, services
from apprentice.people.services import get_person


def create(app, author_id: int, title: str, body: str, **options) -> int:
    """A published procedure by ``author_id``; its id. ``options``: as services.create."""
    with app.app_context():
        return services.create(services.ProcedureDraft(title=title, body=body),
                               get_person(author_id), publish=True, **options).id


def edit(app, author_id: int, procedure_id: int, body: str) -> None:
    """A new revision of the procedure with ``body``, based on the one it has."""
    with app.app_context():
        procedure = services.get_procedure(procedure_id)
        services.save(procedure, services.ProcedureDraft(title=procedure.title, body=body),
                      get_person(author_id), based_on=procedure.revision_number)


def found(app, words: str) -> list[str]:
    """The titles search finds for ``words`` on ``app``'s index, sorted."""
    with app.app_context():
        return sorted(hit.title for hit in search.search(
            words, viewer_id=None, sees_everything=True, pagelen=50).hits)
