"""Pages that answer JSON (the search API, the log form's procedure suggestions) are
marked, so that their errors are JSON too (see apprentice/web.py): the script reading
them looks for ``error``, and an HTML error page would only break its parsing."""

from __future__ import annotations

from flask import current_app, request


def answers_json(view):
    """Mark a view whose answers, errors included, are JSON."""
    view.apprentice_json = True
    return view


def answers_json_now() -> bool:
    """Whether the request being served is for a view marked :func:`answers_json`."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, "apprentice_json", False))
