"""Parts of a portfolio that features above it add: the credentials issued to the person
(apprentice.credentials) is one. Portfolios never imports them: they read the record
and sit above it (tests/test_layers.py), so a portfolio asks for their parts through
this hook instead.

The extension lists the sources once, in ``app.extensions["apprentice"]
.portfolio_sections`` (apprentice/extension.py); :func:`sections_for` asks each for its
part while the portfolio is built. A :class:`Section` is rendered by its own templates:
``template`` inside the document (the page, the PDF and a share link's page alike), and
``tools``, when there is one, on the signed-in page only, beside its download links.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import current_app

from apprentice.people.models import StaffProfile


@dataclass(frozen=True)
class Section:
    """One feature's part of a portfolio; its templates read it as ``section``."""

    template: str  # inside the document: links nowhere inside the app
    data: object  # what the templates show (frozen, like the portfolio)
    tools: str | None = None  # on the signed-in page only, never in the PDF or a share link


# person_id, viewer (None: nobody signed in, a share link's reader), the areas in view
# (None: every area), the day the portfolio stands at -> the part, or None when there is
# nothing to show.
SectionSource = Callable[[int, StaffProfile | None, frozenset[int] | None, date],
                         "Section | None"]


def sections_for(person_id: int, viewer: StaffProfile | None,
                 areas: frozenset[int] | None, as_of: date) -> tuple[Section, ...]:
    """Every registered source's part of ``person_id``'s portfolio by the end of
    ``as_of``, in the order listed."""
    sources = current_app.extensions["apprentice"].portfolio_sections
    found = (source(person_id, viewer, areas, as_of) for source in sources)
    return tuple(section for section in found if section is not None)
