"""Steps shared by the journeys: what a person does, found by labels, roles and text.

The phone layout may fold the navigation (and the search box) into a menu button; the
steps open it when what they look for is hidden behind it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.support import demo_accounts

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then says what is missing
    expect = None

JORDAN = demo_accounts.APPRENTICE  # Jordan Lee, apprentice
MARIAN = demo_accounts.MENTOR  # Marian Okafor, Jordan's mentor
CARMEN = demo_accounts.COORDINATOR  # Carmen Ortiz, coordinator
PASSWORD = demo_accounts.PASSWORD
# A PDF is laid out by WeasyPrint (several seconds of CPU for a three-year portfolio); on
# a 2-core machine running the PostgreSQL pass beside this one it took longer than the
# 10 s a page gets, so its download is waited for this long (milliseconds).
DOCUMENT_TIMEOUT = 60_000
# The sign-off form's line instead of the password box, shortly after signing in.
NO_PASSWORD_NEEDED = re.compile(r"You confirmed it is you at \d\d:\d\d UTC; no password needed "
                                r"until \d\d:\d\d UTC\.")


def _open_menu(page: Page) -> None:
    """Open the header's menu (a <details> or a button), if the layout has one."""
    header = page.locator("header")
    summary = header.locator("summary").first
    if summary.count() and summary.is_visible():
        if not header.locator("details[open]").count():
            summary.click()
        return
    button = header.get_by_role("button", name=re.compile("menu", re.I))
    if button.count() and button.first.is_visible():
        button.first.click()


def header_link(page: Page, name: str) -> Locator:
    return page.locator("header").get_by_role("link", name=name, exact=True).first


def go(page: Page, name: str) -> None:
    """Follow a link of the header's navigation, by its words."""
    link = header_link(page, name)
    if not link.is_visible():
        _open_menu(page)
    click_to_go(page, link)


def search(page: Page, words: str) -> None:
    """Search the procedures from the box in the header, as anyone would: typed, then
    Enter before any suggestion is chosen (a combobox with script, a search box without)."""
    box = page.locator("header").get_by_label("Search the procedures")
    if not box.is_visible():
        _open_menu(page)
    box.fill(words)
    with page.expect_navigation():
        box.press("Enter")
    page.wait_for_load_state()


def click_to_go(page: Page, target: Locator) -> None:
    """Click a link or a button that opens another page, and wait for that page."""
    with page.expect_navigation():
        target.click()
    page.wait_for_load_state()


def choose(select: Locator, words: str) -> None:
    """Pick the option of a <select> whose text holds ``words``."""
    option = select.locator("option", has_text=words).first
    select.select_option(option.get_attribute("value"))


def expect_message(page: Page, words: str | re.Pattern) -> None:
    expect(page.locator("main").get_by_text(words).first).to_be_visible()


def card_of(within: Page | Locator, words: str | re.Pattern) -> Locator:
    """The innermost card, list item, row or box showing ``words`` (an entry, a record),
    in the page's main part or within a part of it."""
    scope = within.locator("main") if hasattr(within, "goto") else within
    # Matches nest (a box holds the card): the last in document order is the innermost.
    return scope.locator("article, li, tr, div").filter(has_text=words).last


# -- the keyboard -------------------------------------------------------------------------

def is_focused(locator: Locator) -> bool:
    return locator.evaluate("element => element === document.activeElement")


def tab_to(page: Page, target: Locator, most: int = 400, key: str = "Tab") -> int:
    """Press Tab until ``target`` has the focus; returns the presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press(key)
        if is_focused(target):
            return presses
    focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML")
    raise AssertionError(f"{most} presses of {key} never reached {target}; focus is on "
                         f"{(focused or '')[:200]}")


def press_to_go(page: Page, key: str = "Enter") -> None:
    """Press a key that follows a link or sends a form, and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press(key)
    page.wait_for_load_state()


def keyboard_go(page: Page, name: str) -> None:
    """Follow a header link with Tab and Enter (opening the menu with Enter if folded)."""
    link = header_link(page, name)
    if not link.is_visible():
        summary = page.locator("header summary").first
        tab_to(page, summary)
        page.keyboard.press("Enter")
    tab_to(page, link)
    press_to_go(page)


def keyboard_sign_in(page: Page, email: str) -> None:
    """Sign in with the keyboard only: the e-mail box has the focus when the page opens."""
    page.goto("/sign-in")
    email_box = page.get_by_label("E-mail")
    if not is_focused(email_box):
        tab_to(page, email_box)
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    press_to_go(page)
    assert "/sign-in" not in page.url, page.locator("main").inner_text()


# -- the loop -----------------------------------------------------------------------------

def what_you_did(page: Page, label: str) -> Locator:
    """An activity on the log form (nothing is chosen for the person)."""
    return page.get_by_role("group", name="What you did").get_by_role(
        "radio", name=label, exact=True)


def level_radio(page: Page, label: str) -> Locator:
    """A supervision level on the sign-off form; its label may go on with the evidence."""
    group = page.get_by_role("group", name=re.compile("Supervision level"))
    return group.get_by_role("radio", name=re.compile("^" + re.escape(label)))


def sign_off_link(page: Page, code: str) -> Locator:
    """The "Sign off" action for ``code`` on the mentor's page of an apprentice."""
    # The innermost list item or row naming the code (an outer one comes first).
    row = page.locator("main li, main tr").filter(
        has_text=re.compile(r"\b" + re.escape(code) + r"\b")).filter(
        has=page.get_by_role("link", name=re.compile("Sign off"))).last
    return row.get_by_role("link", name=re.compile("Sign off"))


def sign_off(page: Page, code: str, level: str, check_axe=None) -> None:
    """As a mentor on an apprentice's page: sign ``code`` off at ``level``. Signed in
    minutes ago, the mentor is not asked for the password again."""
    link = sign_off_link(page, code)
    expect(link).to_be_visible()  # no collapsed section to open first
    click_to_go(page, link)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Sign off {code}")
    if check_axe:
        check_axe(page)
    level_radio(page, level).check()
    expect(page.locator("main")).to_contain_text(NO_PASSWORD_NEEDED)
    expect(page.get_by_label("Your password")).to_have_count(0)
    click_to_go(page, page.get_by_role("button", name="Sign off", exact=True))
    expect_message(page, f"{code} signed off for")
