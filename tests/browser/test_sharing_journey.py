"""Jordan shares the portfolio with a hiring panel: makes a link from the home page,
copies it, the panel opens it in a browser that never signed in, and Jordan revokes it;
the panel then sees only the plain "withdrawn" page. Every page axe-clean."""

from __future__ import annotations

import pytest

from tests.browser.steps import JORDAN, click_to_go, expect

pytestmark = pytest.mark.browser

GONE = "This link has expired or been withdrawn."


def test_a_link_opens_the_portfolio_until_it_is_revoked(page, page_at, sign_in, check_axe):
    sign_in(page, JORDAN)
    click_to_go(page, page.get_by_role("link", name="Share your portfolio"))
    check_axe(page)
    page.get_by_label("Who is it for?").fill("Riverside Library hiring panel")
    page.get_by_label("Signed-off competencies only", exact=False).check()
    click_to_go(page, page.get_by_role("button", name="Make the link"))
    check_axe(page)
    address = page.get_by_label("Link for Riverside Library hiring panel").input_value()
    assert "/shared/" in address

    panel = page_at("desktop")  # another browser: no account, no cookie
    panel.goto(address)
    expect(panel.get_by_role("heading", level=1)).to_have_text("Jordan Lee")
    check_axe(panel)
    assert panel.context.cookies() == []

    click_to_go(page, page.get_by_role("link", name="Done: back to your links"))
    row = page.get_by_role("row", name="Riverside Library hiring panel", exact=False)
    expect(row).to_contain_text("Active")
    expect(row.get_by_role("cell").nth(3)).to_have_text("1")  # Views: the panel's visit
    row.get_by_text("Revoke…").click()
    check_axe(page)
    click_to_go(page, row.get_by_role("button", name="Revoke the link for"))
    expect(page.get_by_role("row", name="Riverside Library hiring panel", exact=False)
           ).to_contain_text("Revoked")
    check_axe(page)

    panel.goto(address)
    expect(panel.get_by_role("heading", level=1)).to_have_text(GONE)
    expect(panel.locator("main")).not_to_contain_text("Jordan")
    check_axe(panel)
