"""The mentor verifies one entry, returns another with a comment and signs off a
competency (signed in minutes ago, without typing the password again); the same with the
keyboard alone; and with a browser reopened on "keep me signed in", typing it again.

From the demo: Jordan's entry "Led two reference interviews" (REF-01, REF-02, done with
the mentor present) and "Sat in on the privacy policy refresher" (FND-03) wait for Marian.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.steps import (
    MARIAN,
    NO_PASSWORD_NEEDED,
    PASSWORD,
    card_of,
    click_to_go,
    expect,
    expect_message,
    go,
    keyboard_go,
    keyboard_sign_in,
    level_radio,
    press_to_go,
    sign_off_link,
    tab_to,
)

pytestmark = pytest.mark.browser

TO_VERIFY = "Led two reference interviews"
TO_RETURN = "Sat in on the privacy policy refresher"
COMMENT = "Which parts of the policy did you go through? Add one thing you would now do."
LEVEL = "Did it with the mentor present"  # what the verified entry reached


def entry_checkbox(page, words: str):
    return page.locator("main").get_by_role("checkbox", name=re.compile(re.escape(words)))


def open_link(page, words: str):
    """The link that opens the queued entry showing ``words``."""
    return card_of(page, words).get_by_role("link", name=re.compile("^Open"))


def levels(page):
    return page.get_by_role("group", name=re.compile("Supervision level")).get_by_role("radio")


def test_the_mentor_verifies_returns_and_signs_off(page, sign_in, check_axe):
    sign_in(page, MARIAN)
    check_axe(page)
    go(page, "Review")
    check_axe(page)

    entry_checkbox(page, TO_VERIFY).check()
    click_to_go(page, page.get_by_role("button", name="Verify ticked entries"))
    expect_message(page, "1 entry verified.")
    expect(entry_checkbox(page, TO_VERIFY)).to_have_count(0)
    check_axe(page)

    click_to_go(page, open_link(page, TO_RETURN))
    expect(page.locator("main")).to_contain_text(TO_RETURN)
    check_axe(page)
    page.get_by_label("What to fix").fill(COMMENT)
    click_to_go(page, page.get_by_role("button", name="Return to fix"))
    expect_message(page, "Returned to Jordan Lee with your comment.")
    expect(page.locator("main")).not_to_contain_text(TO_RETURN)

    go(page, "Home")
    click_to_go(page, page.get_by_role("link", name=re.compile("Jordan Lee")).first)
    expect(page.get_by_role("heading", level=1)).to_have_text("Jordan Lee")
    # The evidence timeline shows the entry just verified: its state and competencies.
    timeline = page.get_by_role("region", name=re.compile("Evidence timeline", re.I))
    verified = timeline.locator("li, article, tr").filter(
        has_text=re.compile(r"\bREF-02\b")).filter(has_text=re.compile(r"\bverified\b", re.I))
    expect(verified.first).to_be_visible()
    expect(verified.first).to_contain_text("REF-01")
    check_axe(page)

    link = sign_off_link(page, "REF-02")
    expect(link).to_be_visible()  # without opening a collapsed section first
    click_to_go(page, link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign off REF-02")
    check_axe(page)
    # No level is chosen for the mentor.
    expect(levels(page)).not_to_have_count(0)
    expect(page.get_by_role("group", name=re.compile("Supervision level")).get_by_role(
        "radio", checked=True)).to_have_count(0)
    expect(page.locator("main")).to_contain_text(TO_VERIFY)  # the evidence offered
    level_radio(page, LEVEL).check()
    # Signed in minutes ago: the form says so instead of asking for the password.
    expect(page.locator("main")).to_contain_text(NO_PASSWORD_NEEDED)
    expect(page.get_by_label("Your password")).to_have_count(0)
    click_to_go(page, page.get_by_role("button", name="Sign off", exact=True))
    expect_message(page, "REF-02 signed off for Jordan Lee.")
    record = card_of(page, re.compile(r"REF-02 · " + LEVEL))
    expect(record).to_contain_text("Marian Okafor")
    check_axe(page)


def test_the_mentor_reviews_and_signs_off_with_the_keyboard_alone(page, check_axe):
    keyboard_sign_in(page, MARIAN)
    keyboard_go(page, "Review")

    box = entry_checkbox(page, TO_VERIFY)
    tab_to(page, box)
    page.keyboard.press("Space")
    expect(box).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Verify ticked entries"))
    press_to_go(page)
    expect_message(page, "1 entry verified.")

    tab_to(page, open_link(page, TO_RETURN))
    press_to_go(page)
    tab_to(page, page.get_by_label("What to fix"))
    page.keyboard.type(COMMENT)
    tab_to(page, page.get_by_role("button", name="Return to fix"))
    press_to_go(page)
    expect_message(page, "Returned to Jordan Lee with your comment.")

    keyboard_go(page, "Home")
    tab_to(page, page.get_by_role("link", name=re.compile("Jordan Lee")).first)
    press_to_go(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Jordan Lee")
    tab_to(page, sign_off_link(page, "REF-02"))
    press_to_go(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign off REF-02")

    # Tab reaches the group's first level (none is chosen); the arrows move to the level
    # that the evidence reached, which is how a keyboard chooses within a radio group.
    tab_to(page, levels(page).first)
    target = level_radio(page, LEVEL)
    for _ in range(levels(page).count()):
        if target.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(target).to_be_checked()
    expect(page.get_by_label("Your password")).to_have_count(0)  # signed in minutes ago
    tab_to(page, page.get_by_role("button", name="Sign off", exact=True))
    press_to_go(page)
    expect_message(page, "REF-02 signed off for Jordan Lee.")
    check_axe(page)


def test_a_browser_reopened_on_keep_me_signed_in_asks_for_the_password(page, check_axe):
    """From the demo: Jordan's entry for REF-01 (assisting) is verified, REF-01 not signed off."""
    page.goto("/sign-in")
    page.get_by_label("E-mail").fill(MARIAN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Keep me signed in").check()
    click_to_go(page, page.get_by_role("button", name="Sign in"))
    # The browser closes and opens again: its session cookie is gone, the remember one kept.
    page.context.clear_cookies(name="session")
    page.goto("/")
    click_to_go(page, page.get_by_role("link", name=re.compile("Jordan Lee")).first)
    click_to_go(page, sign_off_link(page, "REF-01"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign off REF-01")
    expect(page.locator("main")).not_to_contain_text(NO_PASSWORD_NEEDED)

    level = level_radio(page, "Assisted the mentor")
    level.check()
    # Without the password again nothing is recorded, and the choice is kept.
    click_to_go(page, page.get_by_role("button", name="Sign off", exact=True))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sign off REF-01")
    expect(page.get_by_label("Your password")).to_have_attribute("aria-invalid", "true")
    expect(level).to_be_checked()
    check_axe(page)
    page.get_by_label("Your password").fill(PASSWORD)
    click_to_go(page, page.get_by_role("button", name="Sign off", exact=True))
    expect_message(page, "REF-01 signed off for Jordan Lee.")
