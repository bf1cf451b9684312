"""The coordinator enrols an apprentice with three electives, makes a pairing, reads the
cohort matrix and finds a mentor's sign-off in the audit trail.

From the demo: Priya Shah is paired with Hannah Becker but not enrolled; Jordan's entry
"Assisted with reference interviews" (REF-01, assisting) is verified, REF-01 not signed off.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.steps import (
    CARMEN,
    MARIAN,
    choose,
    click_to_go,
    expect,
    expect_message,
    go,
    sign_off,
    tab_to,
)

pytestmark = pytest.mark.browser

ELECTIVES = ["Access Services", "Cataloging and Classification", "Youth Services"]


def marian_signs_off_ref_01(page, sign_in) -> None:
    sign_in(page, MARIAN)
    click_to_go(page, page.get_by_role("link", name=re.compile("Jordan Lee")).first)
    sign_off(page, "REF-01", "Assisted the mentor")


def test_the_coordinator_enrols_pairs_reads_the_matrix_and_the_audit_trail(
        page, page_at, width, sign_in, check_axe):
    marian_signs_off_ref_01(page_at("desktop"), sign_in)

    sign_in(page, CARMEN)
    check_axe(page)
    go(page, "Programmes")
    check_axe(page)
    click_to_go(page, page.get_by_role("link", name="Enrol an apprentice"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enrol an apprentice")
    check_axe(page)
    choose(page.locator("main").get_by_label("Apprentice", exact=True), "Priya Shah")
    click_to_go(page, page.get_by_role("button", name="Enrol"))
    expect_message(page, "Priya Shah is enrolled")
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose 3 electives")
    check_axe(page)
    for area in ELECTIVES:
        page.get_by_role("checkbox", name=area, exact=True).check()
    click_to_go(page, page.get_by_role("button", name="Save electives"))
    expect_message(page, "Electives saved.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Priya Shah")
    expect(page.locator("main")).to_contain_text("electives 0 of 3 complete")
    for area in ELECTIVES:
        expect(page.get_by_role("heading", name=re.compile(re.escape(area)))).to_be_visible()
    check_axe(page)

    go(page, "Pairings")
    check_axe(page)
    choose(page.locator("main").get_by_label("Apprentice", exact=True), "Priya Shah")
    choose(page.locator("main").get_by_label("Mentor", exact=True), "Samuel Reyes")
    page.get_by_text("Limit to some areas").click()
    page.get_by_role("checkbox", name="Technology", exact=True).check()
    click_to_go(page, page.get_by_role("button", name="Save pairing"))
    expect_message(page, "Pairing saved.")
    pairing = page.get_by_role("row").filter(has_text="Priya Shah").filter(
        has_text="Samuel Reyes")
    expect(pairing).to_have_count(1)
    expect(pairing).to_contain_text("Technology")
    check_axe(page)

    go(page, "Home")
    matrix = page.get_by_role("region", name=re.compile("Share of each area signed off"))
    expect(matrix).to_be_visible()
    priya = matrix.get_by_role("row").filter(has_text="Priya Shah")
    expect(priya.get_by_role("cell").first).to_have_text(re.compile(r"^\s*0\s?%\s*$"))
    # Short headers on screen, the full name for everyone else.
    expect(matrix.get_by_role("columnheader", name="Reference and Information Services")
           ).to_have_count(1)
    # A keyboard reaches the table and scrolls it; the names stay in view.
    tab_to(page, matrix)
    if matrix.evaluate("element => element.scrollWidth > element.clientWidth"):
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        # Arrow keys scroll smoothly: wait for the move, then for it to settle.
        page.wait_for_function("element => element.scrollLeft > 0",
                               arg=matrix.element_handle())
        page.wait_for_timeout(500)
        name = matrix.get_by_role("rowheader", name="Jordan Lee").bounding_box()
        box = matrix.bounding_box()
        assert name["x"] >= box["x"] - 1, "the first column scrolled out of view"
    check_axe(page)

    go(page, "Audit")
    check_axe(page)
    record = page.locator("main").locator("tr, li, article").filter(
        has_text=re.compile(r"Marian Okafor signed off REF-01 for Jordan Lee")).first
    expect(record).to_be_visible()
    expect(record).to_contain_text(re.compile("assisted the mentor", re.I))
    # A sentence, not an event code (the raw record may wait one click away).
    assert "signoff.created" not in record.inner_text()
