"""The apprentice logs a session at the desk (on the phone, and at a desk computer) and
sees it in the log; the same with the keyboard alone."""

from __future__ import annotations

import re

import pytest

from tests.browser.steps import (
    JORDAN,
    card_of,
    click_to_go,
    expect,
    expect_message,
    go,
    is_focused,
    keyboard_sign_in,
    press_to_go,
    tab_to,
    what_you_did,
)

pytestmark = pytest.mark.browser


def competency(page, code: str):
    return page.get_by_role("group", name="Competencies practised").get_by_role(
        "checkbox", name=re.compile("^" + re.escape(code) + r"\b"))


def test_the_apprentice_logs_a_session_and_sees_it_in_the_log(page, sign_in, check_axe):
    page.goto("/sign-in")
    check_axe(page)
    sign_in(page, JORDAN)
    check_axe(page)
    go(page, "My log")
    check_axe(page)
    click_to_go(page, page.get_by_role("link", name="Log a session"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a session")
    check_axe(page)

    # Nothing is ticked for the person: what they practised is their claim.
    competencies = page.get_by_role("group", name="Competencies practised")
    expect(competencies.get_by_role("checkbox", checked=True)).to_have_count(0)
    expect(page.get_by_role("group", name="What you did").get_by_role(
        "radio", checked=True)).to_have_count(0)

    page.get_by_label("Minutes", exact=True).fill("45")
    what_you_did(page, "Assisted the mentor").check()
    expect(page.get_by_label("Mentor", exact=True)).to_have_value(re.compile(r"\d"))
    page.get_by_label("Find a competency").fill("reference interview")
    competency(page, "REF-01").check()
    page.get_by_label("What happened", exact=True).fill(
        "Helped a patron trace a local history question with Marian at the desk.")
    click_to_go(page, page.get_by_role("button", name="Submit for review"))

    expect_message(page, "Sent to your mentor for review.")
    waiting = page.locator("section").filter(
        has=page.get_by_role("heading", name=re.compile("Waiting for your mentor")))
    entry = card_of(waiting, "Helped a patron trace a local history question")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("45 min")
    expect(entry).to_contain_text("Assisted the mentor")
    expect(entry).to_contain_text("REF-01")
    check_axe(page)
    click_to_go(page, entry.get_by_role("link").first)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jordan Lee")
    expect(page.locator("main")).to_contain_text("Helped a patron trace a local history")
    check_axe(page)


def test_the_apprentice_logs_a_session_with_the_keyboard_alone(page, check_axe):
    keyboard_sign_in(page, JORDAN)
    tab_to(page, page.locator("main").get_by_role("link", name="Log a session"))
    press_to_go(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Log a session")

    minutes = page.get_by_label("Minutes", exact=True)
    tab_to(page, minutes)
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    # A radio group takes one Tab; Space chooses the radio that has the focus.
    tab_to(page, what_you_did(page, "Shadowed the mentor"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_label("Find a competency"))
    page.keyboard.type("REF-02")
    tab_to(page, competency(page, "REF-02"))
    page.keyboard.press("Space")
    expect(competency(page, "REF-02")).to_be_checked()
    tab_to(page, page.get_by_label("What happened", exact=True))
    page.keyboard.type("Watched Marian choose databases for a tricky health question.")
    submit = page.get_by_role("button", name="Submit for review")
    tab_to(page, submit)
    assert is_focused(submit)
    press_to_go(page)

    expect_message(page, "Sent to your mentor for review.")
    entry = card_of(page, "Watched Marian choose databases")
    expect(entry).to_contain_text("30 min")
    expect(entry).to_contain_text("Shadowed the mentor")
    expect(entry).to_contain_text("REF-02")
    # Only what the person ticked went to the mentor as evidence.
    expect(entry.get_by_text(re.compile(r"^[A-Z]{3}-\d\d$"))).to_have_count(1)
    check_axe(page)
