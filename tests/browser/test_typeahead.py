"""Search as you type (issue 14): the header's search box offers the first titles after
three letters as a WAI-ARIA 1.2 combobox with a listbox, usable with the keyboard, a
screen reader and a finger; without JavaScript it is the plain search form it was."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import WIDTHS
from tests.browser.steps import JORDAN, click_to_go, expect

pytestmark = pytest.mark.browser

# The demo's titles with a word "che...", then its sections' headings (after the page's title).
CHE = ["Checking in and sorting returns", "Checking out and renewing items",
       "Receiving orders and checking invoices", "Lending book club kits \u203a Checking in",
       "Lending book club kits \u203a Checking out"]
SUGGEST = re.compile(r"/api/search/suggest\?")


def header_box(page):
    return page.locator("header").get_by_role("combobox", name="Search the procedures")


def listbox_of(page, box):
    """The listbox the combobox says it controls."""
    controls = box.get_attribute("aria-controls")
    assert controls, "the combobox names no popup (aria-controls)"
    listbox = page.locator(f"#{controls}")
    expect(listbox).to_have_attribute("role", "listbox")
    return listbox


def highlighted(page, box, listbox, title: str) -> None:
    """``title`` is the one option chosen: the box points at it, it alone is selected,
    and the focus stays in the box."""
    option = listbox.get_by_role("option", name=title, exact=True)
    expect(option).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", option.get_attribute("id"))
    expect(listbox.locator("[aria-selected=true]")).to_have_count(1)
    expect(box).to_be_focused()


def test_the_header_box_suggests_titles_and_goes_to_one_by_keyboard(page, sign_in,
                                                                   check_axe):
    sign_in(page, JORDAN)
    box = header_box(page)
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_attribute("aria-autocomplete", "list")
    listbox = listbox_of(page, box)
    expect(listbox).to_be_hidden()

    box.press_sequentially("ch")  # two letters: nothing asked, nothing shown
    page.wait_for_timeout(400)
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("e")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(listbox).to_be_visible()
    expect(listbox).to_have_accessible_name("Suggested procedures")
    expect(listbox.get_by_role("option")).to_have_text(CHE)
    expect(page.locator("header").get_by_role("status")).to_have_text("5 suggestions")
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile("."))
    check_axe(page)  # the open popup too

    box.press("ArrowDown")
    highlighted(page, box, listbox, CHE[0])
    box.press("ArrowDown")
    highlighted(page, box, listbox, CHE[1])
    box.press("ArrowUp")
    highlighted(page, box, listbox, CHE[0])
    box.press("ArrowUp")  # round to the last
    highlighted(page, box, listbox, CHE[4])
    box.press("ArrowDown")  # and back to the first
    highlighted(page, box, listbox, CHE[0])

    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile("."))
    expect(box).to_have_value("che")  # the first Escape only closes

    box.press("ArrowDown")  # opens again at the first
    expect(box).to_have_attribute("aria-expanded", "true")
    highlighted(page, box, listbox, CHE[0])
    box.press("ArrowDown")
    with page.expect_navigation():
        box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(CHE[1])
    assert re.search(r"/procedures/\d+$", page.url), page.url


def test_enter_without_a_choice_searches_in_full(page, sign_in):
    sign_in(page, JORDAN)
    box = header_box(page)
    box.press_sequentially("hold")
    expect(box).to_have_attribute("aria-expanded", "true")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url.endswith("/procedures/?q=hold"), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Procedures")
    expect(page.locator("main ol.ap-results").get_by_role(
        "link", name="Placing and pulling holds")).to_be_visible()
    # The page's own search box suggests as well.
    own = page.locator("main").get_by_role("combobox", name="Find a procedure")
    expect(own).to_have_value("hold")
    own.fill("")
    own.press_sequentially("checking in s")
    expect(own).to_have_attribute("aria-expanded", "true")
    expect(listbox_of(page, own).get_by_role("option")).to_have_text([CHE[0]])


def test_a_click_or_a_tap_on_a_suggestion_goes_to_it(page, sign_in):
    sign_in(page, JORDAN)
    box = header_box(page)
    box.press_sequentially("holds")
    option = listbox_of(page, box).get_by_role("option", name="Placing and pulling holds",
                                               exact=True)
    with page.expect_navigation():
        option.tap() if WIDTHS[page.apprentice_width].get("has_touch") else option.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Placing and pulling holds")


def test_leaving_the_box_closes_the_list_and_escape_twice_clears_it(page, sign_in):
    sign_in(page, JORDAN)
    box = header_box(page)
    box.press_sequentially("che")
    expect(box).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox_of(page, box)).to_be_hidden()
    box.focus()
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("Escape")
    box.press("Escape")
    expect(box).to_have_value("")
    expect(box).to_have_attribute("aria-expanded", "false")


def test_no_suggestions_is_said_and_nothing_opens(page, sign_in):
    sign_in(page, JORDAN)
    box = header_box(page)
    box.press_sequentially("zqx")
    expect(page.locator("header").get_by_role("status")).to_have_text("No suggestions")
    expect(box).to_have_attribute("aria-expanded", "false")


def test_titles_are_shown_as_text_and_sections_after_them(page, sign_in):
    """The answer is put in as text: a title holding HTML runs nothing. A section is
    shown after its title and opened at its anchor; a link elsewhere is never offered."""
    sign_in(page, JORDAN)
    hostile = '<img src=x onerror="window.__xss = 1">Zanzibar <b>desk</b>'
    answer = {"query": "zan", "suggestions": [
        {"id": 1, "title": hostile, "heading": None, "url": "/procedures/1"},
        {"id": 2, "title": "Holds", "heading": "Pulling the list",
         "url": "/procedures/2#pulling-the-list"},
        {"id": 3, "title": "Elsewhere", "heading": None, "url": "https://elsewhere.example/"},
    ]}
    page.route(SUGGEST, lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(answer)))
    box = header_box(page)
    box.press_sequentially("zan")
    options = listbox_of(page, box).get_by_role("option")
    expect(options).to_have_text([hostile, "Holds \u203a Pulling the list"])
    assert page.evaluate("() => window.__xss") is None
    expect(page.locator("header img")).to_have_count(0)
    box.press("ArrowDown")
    box.press("ArrowDown")
    with page.expect_navigation():
        box.press("Enter")
    assert page.url.endswith("/procedures/2#pulling-the-list"), page.url


def test_typing_fast_asks_once_and_a_late_answer_is_dropped(page, sign_in):
    sign_in(page, JORDAN)
    held, asked = [], []

    def answer(route):
        typed = re.search(r"q=([^&]*)", route.request.url).group(1)
        asked.append(typed)
        if typed == "chec":
            held.append(route)  # the first answer arrives last
            return
        route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "query": typed, "suggestions": [
                {"id": 9, "title": "Newest answer", "heading": None, "url": "/procedures/9"}]}))

    page.route(SUGGEST, answer)
    box = header_box(page)
    box.press_sequentially("chec")  # within the 150 ms wait: one question
    page.wait_for_timeout(500)
    assert asked == ["chec"], asked
    box.press_sequentially("k")
    listbox = listbox_of(page, box)
    expect(listbox.get_by_role("option")).to_have_text(["Newest answer"])
    held[0].fulfill(status=200, content_type="application/json", body=json.dumps({
        "query": "chec", "suggestions": [
            {"id": 8, "title": "Older answer", "heading": None, "url": "/procedures/8"}]}))
    page.wait_for_timeout(300)
    expect(listbox.get_by_role("option")).to_have_text(["Newest answer"])


def test_without_javascript_the_box_is_a_plain_search_form(pages, sign_in):
    context = pages.browser.new_context(base_url=pages.base_url, java_script_enabled=False,
                                        locale="en-GB", timezone_id="UTC",
                                        **WIDTHS["desktop"])
    try:
        page = context.new_page()
        page.apprentice_width = "desktop"
        sign_in(page, JORDAN)
        box = page.locator("header").get_by_role("searchbox", name="Search the procedures")
        expect(box).not_to_have_attribute("aria-expanded", re.compile("."))
        expect(page.get_by_role("listbox")).to_have_count(0)
        box.fill("hold")
        with page.expect_navigation():
            box.press("Enter")
        assert page.url.endswith("/procedures/?q=hold"), page.url
        result = page.locator("main ol.ap-results").get_by_role(
            "link", name="Placing and pulling holds")
        click_to_go(page, result)
        expect(page.get_by_role("heading", level=1)).to_have_text("Placing and pulling holds")
    finally:
        context.close()


def test_a_section_suggested_opens_its_page_at_that_section(page, sign_in):
    sign_in(page, JORDAN)
    box = header_box(page)
    box.press_sequentially("checking ou")
    option = listbox_of(page, box).get_by_role(
        "option", name="Lending book club kits \u203a Checking out", exact=True)
    with page.expect_navigation():
        option.tap() if WIDTHS[page.apprentice_width].get("has_touch") else option.click()
    assert page.url.endswith("#checking-out")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lending book club kits")
    expect(page.locator("#checking-out")).to_have_text("Checking out")
    expect(page.locator("#checking-out")).to_be_in_viewport()
