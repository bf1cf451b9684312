"""Jordan opens the portfolio from the home page, lists the signed-off competencies only,
downloads the PDF and prints the page (no menu or buttons on paper); Marian opens it from
Jordan's page. Every page axe-clean."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.browser.steps import DOCUMENT_TIMEOUT, JORDAN, MARIAN, click_to_go, expect

pytestmark = pytest.mark.browser


def test_jordan_reads_prints_and_downloads_the_portfolio(page, sign_in, check_axe):
    from pypdf import PdfReader

    sign_in(page, JORDAN)
    click_to_go(page, page.get_by_role("link", name="Your portfolio", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Jordan Lee")
    expect(page.locator("main")).to_contain_text("Not started")
    check_axe(page)
    page.get_by_label("Signed off only").check()
    click_to_go(page, page.get_by_role("button", name="Show"))
    expect(page.locator("main")).not_to_contain_text("Not started")
    expect(page.locator("main")).to_contain_text("Signed off at level 5")
    check_axe(page)
    with page.expect_download(timeout=DOCUMENT_TIMEOUT) as download:
        page.get_by_role("link", name="PDF").click(timeout=DOCUMENT_TIMEOUT)
    assert download.value.suggested_filename.startswith("portfolio-jordan-lee-signed-off-")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(
        Path(download.value.path()).read_bytes())).pages)
    assert "Marian Okafor" in " ".join(text.split())
    page.emulate_media(media="print")
    expect(page.locator("header.ap-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Show")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.emulate_media(media="screen")


def test_marian_opens_the_portfolio_from_jordans_page(page, sign_in, check_axe):
    sign_in(page, MARIAN)
    click_to_go(page, page.get_by_role("link", name=re.compile("Jordan Lee")).first)
    click_to_go(page, page.get_by_role("link", name="Portfolio", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Jordan Lee")
    check_axe(page)
