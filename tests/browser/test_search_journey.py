"""Everyone searches with a typo, follows "Did you mean", opens a result; the apprentice
then logs practising it from the procedure's page."""

from __future__ import annotations

import re

import pytest

from tests.browser.steps import (
    CARMEN,
    JORDAN,
    MARIAN,
    card_of,
    click_to_go,
    expect,
    expect_message,
    search,
    what_you_did,
)

pytestmark = pytest.mark.browser

PROCEDURE = "Checking out and renewing items"
MARKDOWN_LEFT_OVER = re.compile(r"(^|\s)#{1,6}\s|\*\*|__|\s\|\s|^\||\|$|\]\(", re.M)


def find_by_a_typo(page, check_axe):
    """Search "renewls": the results for "renewals" are shown and say so; "search instead
    for renewls" gives a "Did you mean renewals?" that leads back; open the desk's
    check-out page at the section that answers."""
    search(page, "renewls")
    check_axe(page)
    expect(page.locator("main")).to_contain_text(
        "Showing results for renewals; search instead for renewls.")
    click_to_go(page, page.locator("main").get_by_role("link", name="renewls", exact=True))
    expect(page.locator("main")).to_contain_text("Did you mean renewals?")
    click_to_go(page, page.get_by_role("link", name="renewals"))
    expect(page.get_by_role("combobox", name="Find a procedure")).to_have_value("renewals")
    result = page.locator("main").get_by_role("link", name=re.compile("^" + PROCEDURE))
    expect(result).to_be_visible()
    check_axe(page)
    # Snippets are plain text: no Markdown headings, bold marks, table pipes or links.
    snippets = page.locator("main ol li p").all_inner_texts()
    assert snippets, "the results show no snippet"
    for snippet in snippets:
        assert not MARKDOWN_LEFT_OVER.search(snippet), f"Markdown shows in a snippet: {snippet!r}"
    click_to_go(page, result)
    expect(page.get_by_role("heading", level=1)).to_have_text(PROCEDURE)
    check_axe(page)


@pytest.mark.parametrize("email", [MARIAN, CARMEN], ids=["mentor", "coordinator"])
def test_mentors_and_coordinators_find_a_procedure_despite_a_typo(
        page, sign_in, check_axe, email):
    sign_in(page, email)
    find_by_a_typo(page, check_axe)
    # Logging practice is the apprentices' (the page offers it to them only).
    expect(page.get_by_role("link", name="Log practising this")).to_have_count(0)


def test_the_apprentice_finds_a_procedure_and_logs_practising_it(page, sign_in, check_axe):
    sign_in(page, JORDAN)
    find_by_a_typo(page, check_axe)
    taught = page.get_by_role("complementary").get_by_role("listitem").locator("strong")
    codes = taught.all_inner_texts()
    assert codes, "the procedure names no competency it teaches"

    click_to_go(page, page.get_by_role("link", name="Log practising this"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a session")
    check_axe(page)
    # What the person chose by clicking is ticked: the procedure's competencies and itself.
    competencies = page.get_by_role("group", name="Competencies practised")
    ticked = competencies.get_by_role("checkbox", checked=True)
    expect(ticked).to_have_count(len(codes))
    for code in codes:
        expect(competencies.get_by_role("checkbox", name=re.compile(
            "^" + re.escape(code) + r"\b"))).to_be_checked()
    followed = page.get_by_role("group", name=re.compile("Procedures you followed"))
    expect(followed.get_by_role("checkbox", name=PROCEDURE)).to_be_checked()

    what_you_did(page, "Did it with the mentor present").check()
    page.get_by_label("What happened", exact=True).fill(
        "Renewed loans for three patrons at the desk, following the check-out page.")
    click_to_go(page, page.get_by_role("button", name="Submit for review"))
    expect_message(page, "Sent to your mentor for review.")
    entry = card_of(page, "Renewed loans for three patrons")
    expect(entry).to_be_visible()
    for code in codes:
        expect(entry).to_contain_text(code)
    expect(entry).to_contain_text(PROCEDURE)
    check_axe(page)


def test_each_facet_count_stands_beside_its_name(page, sign_in):
    """The "narrow the results" lists: a long area name ("Adult readers' advisory
    services") wraps inside its link, and its count stays on the right, level with it,
    not pushed to a line of its own."""
    sign_in(page, JORDAN)
    search(page, "readers advisory")
    facets = page.get_by_role("complementary", name="Narrow the results")
    rows = facets.get_by_role("listitem")
    expect(rows.first).to_be_visible()
    for row in rows.all():
        link = row.get_by_role("link").bounding_box()
        count = row.locator(".ap-hint").bounding_box()
        assert count["x"] >= link["x"] + link["width"], f"{row.inner_text()!r}: count under"
        middle = count["y"] + count["height"] / 2
        assert link["y"] <= middle <= link["y"] + link["height"], \
            f"{row.inner_text()!r}: the count is not level with its name"
        assert link["height"] >= 44, f"{row.inner_text()!r}: a tap target under 44 px"
