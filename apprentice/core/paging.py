"""Page numbers, reckoned one way for every list that pages (the cohort, the audit trail,
the reports)."""

from __future__ import annotations


def page_and_pages(total: int, per_page: int, page: int) -> tuple[int, int]:
    """(page, pages) for ``total`` rows ``per_page`` at a time: at least one page, even
    empty; a page asked for past the last (or before the first) is the last (the first),
    so a link kept from a longer list still shows something."""
    pages = max(1, -(-total // per_page))
    return min(max(page, 1), pages), pages
