"""Who may open which page. Every apprentice page needs a signed-in, active
profile unless it is marked :func:`public`; :func:`requires` narrows further, by a
named predicate of the feature's permissions module."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort

from apprentice.auth.services import current_viewer
from apprentice.people.models import StaffProfile


def public(view):
    """Mark a view that anonymous visitors may open (the sign-in page)."""
    view.apprentice_public = True
    return view


def requires(allowed: Callable[[StaffProfile | None], bool]):
    """Answer 403 unless ``allowed(current_viewer())``. ``allowed`` is a named predicate
    of the feature's permissions module, the one its service asks again before a change,
    so the page and the service cannot disagree (predicates read only a person's ``id``,
    ``active`` and ``has_role``, which the session's plain facts answer too)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not allowed(current_viewer()):
                abort(403)
            return view(*args, **kwargs)

        wrapped.apprentice_permission = allowed
        return wrapped

    return decorator
