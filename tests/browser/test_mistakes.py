"""Mistakes on the log form, as they happen at a busy desk: empty fields, a future date,
too much text, Back and send again, a sign-in that ended meanwhile. Nothing typed is lost,
nothing is saved twice, and every problem is said where a phone shows it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.browser.steps import (
    JORDAN,
    PASSWORD,
    card_of,
    click_to_go,
    expect,
    expect_message,
    is_focused,
    what_you_did,
)

pytestmark = pytest.mark.browser

LIMIT = 2000  # characters of "What happened"


def description(page):
    return page.get_by_label("What happened", exact=True)


def submit(page):
    click_to_go(page, page.get_by_role("button", name="Submit for review"))


def fill_the_form(page, text: str, code: str = "ACC-02") -> None:
    page.get_by_label("Minutes", exact=True).fill("40")
    what_you_did(page, "Did it with the mentor present").check()
    page.get_by_role("group", name="Competencies practised").get_by_role(
        "checkbox", name=re.compile("^" + re.escape(code) + r"\b")).check()
    description(page).fill(text)


def entries_showing(page, words: str):
    """The cards of the log showing ``words`` (the log, not the form, must be open)."""
    page.goto("/log/")
    return page.locator("main article").filter(has_text=words)


def error_summary(page):
    """The summary of a refused form: an alert at the top with a link to each field."""
    return page.locator("main").get_by_role("alert").filter(has=page.get_by_role("link")).first


def test_a_refused_form_says_what_to_fix_at_the_top_and_keeps_the_text(
        page, sign_in, check_axe):
    sign_in(page, JORDAN)
    page.goto("/log/new")

    # Everything empty.
    page.get_by_label("Date", exact=True).fill("")
    page.get_by_label("Minutes", exact=True).fill("")
    submit(page)
    summary = error_summary(page)
    expect(summary).to_be_visible()
    assert summary.evaluate("element => element.contains(document.activeElement)"), (
        "the focus did not move to the error summary")
    top = summary.bounding_box()
    assert top["y"] < page.viewport_size["height"], "the summary is not on the first screen"
    for field in ("occurred_on", "minutes", "description"):
        expect(summary.locator(f'a[href="#{field}"]')).to_have_count(1)
    expect(summary.locator('a[href^="#activity"]')).to_have_count(1)
    check_axe(page)
    summary.locator('a[href="#description"]').click()
    assert is_focused(description(page)), "the summary's link did not lead to the field"

    # A date in the future is refused next to the date; what was typed stays.
    page.get_by_label("Date", exact=True).fill((date.today() + timedelta(days=1)).isoformat())
    fill_the_form(page, "Covered the holds shelf for an hour.")
    submit(page)
    expect(page.locator("main")).to_contain_text("The date cannot be in the future.")
    expect(page.get_by_label("Date", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(description(page)).to_have_value("Covered the holds shelf for an hour.")
    expect(error_summary(page).locator('a[href="#occurred_on"]')).to_have_count(1)

    # Too much text: shown while typing, refused with a word, and kept in the field.
    page.get_by_label("Date", exact=True).fill(date.today().isoformat())
    long_text = ("Covered the holds shelf, then the returns trolley, then the phones. " * 40)
    long_text = long_text[:LIMIT + 500]
    description(page).fill(long_text)
    expect(description(page)).to_have_value(long_text)  # not cut at the limit
    expect(page.locator("main")).to_contain_text(re.compile(r"500 characters? too many"))
    submit(page)
    expect(error_summary(page).locator('a[href="#description"]')).to_have_count(1)
    expect(page.locator("main")).to_contain_text("2,000")
    expect(description(page)).to_have_value(long_text)
    check_axe(page)

    # Cut to the limit, it is saved whole.
    description(page).fill(long_text[:LIMIT])
    submit(page)
    expect_message(page, "Sent to your mentor for review.")
    expect(entries_showing(page, long_text[:200])).to_have_count(1)


def test_back_and_send_again_saves_the_entry_once(page, sign_in, check_axe):
    sign_in(page, JORDAN)
    page.goto("/log/new")
    fill_the_form(page, "Showed a patron how to renew online, twice over.")
    submit(page)
    expect_message(page, "Sent to your mentor for review.")

    page.go_back()
    page.wait_for_load_state()
    # The browser shows its copy of the filled form (send it again), or asks the server,
    # which knows that form's token: either way the answer is "already saved".
    if description(page).count():
        expect(description(page)).to_have_value(
            "Showed a patron how to renew online, twice over.")
        submit(page)
    expect(page.locator("main")).to_contain_text(re.compile("already saved", re.I))
    check_axe(page)
    to_the_entry = page.locator("main").get_by_role("link", name=re.compile("entry", re.I))
    click_to_go(page, to_the_entry.first)
    expect(page.locator("main")).to_contain_text("Showed a patron how to renew online")
    expect(entries_showing(page, "Showed a patron how to renew online")).to_have_count(1)


def test_a_sign_in_that_ended_loses_nothing_typed(page, sign_in, check_axe):
    sign_in(page, JORDAN)
    page.goto("/log/new")
    typed = "Booked a room for the knitting group and explained the rules on food."
    fill_the_form(page, typed, code="ACC-02")
    page.context.clear_cookies()  # the session ends (timed out, or signed out in another tab)
    submit(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Your sign-in has ended")
    expect(page.locator("main")).not_to_contain_text("Something in that request was not right")
    check_axe(page)
    sign_in_again = page.locator("main").get_by_role("link", name=re.compile("sign in", re.I))
    click_to_go(page, sign_in_again.first)
    page.get_by_label("E-mail").fill(JORDAN)
    page.get_by_label("Password").fill(PASSWORD)
    click_to_go(page, page.get_by_role("button", name="Sign in"))

    # Back on the form with what was typed, ticked and chosen.
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a session")
    expect(description(page)).to_have_value(typed)
    expect(page.get_by_label("Minutes", exact=True)).to_have_value("40")
    expect(what_you_did(page, "Did it with the mentor present")).to_be_checked()
    expect(page.get_by_role("group", name="Competencies practised").get_by_role(
        "checkbox", name=re.compile(r"^ACC-02\b"))).to_be_checked()
    check_axe(page)
    submit(page)
    expect_message(page, "Sent to your mentor for review.")
    entry = card_of(page, typed)
    expect(entry).to_contain_text("ACC-02")
    expect(entries_showing(page, typed)).to_have_count(1)
