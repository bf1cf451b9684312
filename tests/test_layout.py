"""The layout on a phone and as a guest: one compact bar whose menu works without
script, a favicon under any prefix, and a stylesheet that styles only apprentice."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask, render_template
from flask_login import LoginManager

from apprentice import Apprentice
from tests.loop import as_person

CSS = Path(__file__).resolve().parent.parent / "apprentice" / "static" / "apprentice.css"


VOID = {"input", "meta", "link", "br", "img", "hr"}  # elements that never close


class Nav(HTMLParser):
    """The navigation of a page: its menu (a <details>), what the menu holds and the
    search form of the bar."""

    def __init__(self, html: str):
        super().__init__()
        self.menu: dict | None = None
        self.summary = ""
        self.menu_links: list[str] = []
        self.menu_forms: list[str] = []  # actions of the forms inside the menu
        self.menu_text = ""
        self.search: dict | None = None
        self.search_input: dict | None = None
        self._nav = self._menu = 0  # open elements inside the nav, inside the menu
        self._summary = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = attrs.get("class", "").split()
        if not self._nav:
            self._nav = int(tag == "nav" and "ap-nav" in classes)
            return
        if tag == "details" and "ap-menu" in classes:
            self.menu = attrs
        if self.menu is not None and (self._menu or tag == "details"):
            self._summary = self._summary or tag == "summary"
            if tag == "a":
                self.menu_links.append(attrs["href"])
            if tag == "form":
                self.menu_forms.append(attrs["action"])
            self._menu += tag not in VOID
        if tag == "form" and attrs.get("role") == "search":
            self.search = attrs
        if tag == "input" and self.search is not None and attrs.get("type") == "search":
            self.search_input = attrs
        self._nav += tag not in VOID

    def handle_endtag(self, tag):
        if not self._nav:
            return
        self._nav -= 1
        if self._menu:
            self._menu -= 1
            self._summary = self._summary and tag != "summary"

    def handle_data(self, data):
        if self._summary:
            self.summary += data
        elif self._menu:
            self.menu_text += data


@pytest.mark.parametrize("who, links", [
    ("coordinator", ["/", "/procedures/", "/frameworks/", "/programmes/", "/reports/",
                     "/pairings/", "/people/", "/audit/"]),
    ("apprentice", ["/", "/log/", "/programmes/mine", "/procedures/", "/frameworks/"]),
])
def test_the_menu_is_a_details_button_holding_the_links_and_the_account(app, loop, who, links):
    page = as_person(app, loop[who]).get("/").get_data(as_text=True)
    nav = Nav(page)
    assert nav.menu is not None, "no <details class='ap-menu'> in the navigation"
    assert "open" not in nav.menu, "the menu starts closed on a phone"
    assert nav.summary.strip() == "Menu"
    assert nav.menu_links[:len(links)] == links
    # The account lives in the menu too: the name, the password page and signing out.
    assert loop[who].name in nav.menu_text
    assert "/account/password" in nav.menu_links
    assert "/sign-out" in nav.menu_forms
    # The search box stays in the bar, outside the menu, and searches the procedures.
    assert nav.search is not None and nav.search["action"] == "/procedures/"
    assert nav.search_input is not None and nav.search_input["name"] == "q"


def test_a_visitor_who_is_not_signed_in_sees_no_menu(client):
    nav = Nav(client.get("/sign-in").get_data(as_text=True))
    assert nav.menu is None and nav.search is None


ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)"')


def test_every_page_links_a_favicon_that_is_served_as_an_image(client):
    page = client.get("/sign-in").get_data(as_text=True)
    hrefs = ICON_LINK.findall(page)
    assert hrefs, "no <link rel=icon> on the page"
    for href in [*hrefs, "/favicon.ico"]:
        with client.get(href) as response:
            assert response.status_code == 200, href
            assert response.mimetype.startswith("image/"), (href, response.mimetype)
            assert response.data  # an actual file


def test_the_favicon_follows_the_url_prefix_and_adds_no_route_to_a_host(tmp_path):
    host = Flask("host")
    host.config.update(TESTING=True, SECRET_KEY="host secret",
                       APPRENTICE_INSTANCE_PATH=str(tmp_path))
    LoginManager(host).user_loader(lambda user_id: None)
    Apprentice(host, url_prefix="/training")
    with host.test_request_context("/training/"):
        assets = render_template("apprentice/_assets.html", csrf_token=lambda: "token")
    hrefs = ICON_LINK.findall(assets)
    assert hrefs and all(href.startswith("/training/assets/favicon.") for href in hrefs)
    client = host.test_client()
    for href in hrefs:
        with client.get(href) as response:
            assert response.status_code == 200 and response.mimetype.startswith("image/")
    # The host's own /favicon.ico is the host's business.
    assert client.get("/favicon.ico").status_code == 404


def top_level_rules(css: str):
    """(selector list, declarations) of every rule, looking inside @media and @supports."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules, depth, start, prelude = [], 0, 0, []
    for i, ch in enumerate(css):
        if ch == "{":
            prelude.append(css[start:i].strip())
            depth += 1
            start = i + 1
        elif ch == "}":
            depth -= 1
            head = prelude.pop()
            if not head.startswith("@"):
                rules.append((head, css[start:i].strip()))
            start = i + 1
    assert depth == 0, "unbalanced braces in apprentice.css"
    return rules


def split_selectors(head: str) -> list[str]:
    """A selector list split at top-level commas (not those inside :where(...))."""
    parts, depth, current = [], 0, ""
    for ch in head:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [*parts, current.strip()]


def test_the_stylesheet_styles_only_apprentice_elements():
    rules = top_level_rules(CSS.read_text())
    assert len(rules) > 50
    bare = []
    for head, body in rules:
        for selector in split_selectors(head):
            if selector == ":root":
                # Only apprentice's own custom properties: nothing a host would see.
                names = [d.split(":")[0].strip() for d in body.split(";") if d.strip()]
                assert all(name.startswith("--ap-") for name in names), names
            elif "ap-" not in selector:
                bare.append(selector)
    assert bare == [], f"selectors that would restyle a host's pages: {bare}"


@pytest.mark.parametrize("selector", ["body", "*", "a", "h1", "h2", ":focus-visible"])
def test_no_element_of_a_host_page_is_styled_on_its_own(selector):
    heads = [split_selectors(head) for head, _ in top_level_rules(CSS.read_text())]
    assert not any(selector in selectors for selectors in heads)
