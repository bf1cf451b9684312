"""Page numbers, one rule for every list that pages (apprentice/core/paging.py)."""

from __future__ import annotations

import pytest

from apprentice.core.paging import page_and_pages


@pytest.mark.parametrize(("total", "asked", "expected"), [
    (0, 1, (1, 1)),  # an empty list is one (empty) page
    (0, 3, (1, 1)),
    (25, 1, (1, 1)),
    (26, 2, (2, 2)),  # one row over a page makes a second
    (50, 2, (2, 2)),
    (51, 9, (3, 3)),  # past the last: the last
    (51, 0, (1, 3)),  # before the first: the first
    (51, -4, (1, 3)),
])
def test_page_and_pages(total, asked, expected):
    assert page_and_pages(total, 25, asked) == expected
