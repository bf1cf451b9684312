"""Shared form helpers: ids and page numbers from untrusted query strings."""

from __future__ import annotations

import pytest

from apprentice.forms import id_number, page_number


@pytest.mark.parametrize(("value", "expected"), [
    ("12", 12), ("1", 1), ("2147483647", 2147483647), ("2147483648", None),
    ("0", None), ("-3", None), ("abc", None), ("", None), (None, None), ("1.5", None),
])
def test_id_number(value, expected):
    assert id_number(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("3", 3), ("0", 1), ("-2", 1), ("x", 1), (None, 1), ("922337203685477580", 100_000),
])
def test_page_number(value, expected):
    assert page_number(value) == expected
