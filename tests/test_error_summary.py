"""Errors you can see on a phone: a refused form opens with an error summary (the GOV.UK
pattern) above the form, whose links each lead to the field they are about."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.factories import add_entries
from tests.loop import as_person, log_form
from tests.support.clients import form_token


class Page(HTMLParser):
    """What a test needs of a page: ids in document order, the error summary (its
    attributes, items and links) and where the first post form of the content starts."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: list[str] = []
        self.summary: dict | None = None
        self.summary_at: int | None = None
        self.form_at: int | None = None
        self.items: list[tuple[str, str | None]] = []  # (text, href or None)
        self.heading = ""
        self._depth = 0  # open elements inside the summary
        self._in = None  # "h2" or "li" while collecting text
        self._text = ""
        self._href = None
        self.title = ""
        self._in_title = False
        self._in_main = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "title":
            self._in_title = True
        if tag == "main":
            self._in_main = True
        if tag == "form" and attrs.get("method") == "post" and self._in_main \
                and self.form_at is None:
            self.form_at = self.getpos()[0] * 100_000 + self.getpos()[1]
        if self.summary is None and "data-ap-error-summary" in attrs:
            self.summary, self._depth = attrs, 1
            self.summary_at = self.getpos()[0] * 100_000 + self.getpos()[1]
            return
        if self._depth:
            self._depth += 1
            if tag in ("h2", "li"):
                self._in, self._text, self._href = tag, "", None
            if tag == "a" and self._in == "li":
                self._href = attrs.get("href")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if not self._depth:
            return
        self._depth -= 1
        if tag == self._in:
            text = " ".join(self._text.split())
            if tag == "h2":
                self.heading = text
            else:
                self.items.append((text, self._href))
            self._in = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._in:
            self._text += data

    @property
    def links(self) -> list[str]:
        return [href for _, href in self.items if href]


def refused(response, status=200) -> Page:
    """The page of a refused form, checked for what every error summary must be."""
    assert response.status_code == status
    page = Page(response.get_data(as_text=True))
    assert page.summary is not None, "no error summary on the refused form"
    assert page.summary.get("role") == "alert"
    assert page.summary.get("tabindex") == "-1"
    assert page.heading == "There is a problem"
    assert page.summary_at < page.form_at, "the summary comes before the form"
    assert page.title.startswith("Error: ")
    for href in page.links:
        assert href.startswith("#") and href[1:] in page.ids, f"{href} leads nowhere"
    # The links follow the fields down the page.
    assert page.links == sorted(page.links, key=lambda href: page.ids.index(href[1:]))
    return page


def test_the_empty_log_form_lists_each_problem_with_a_link_to_its_field(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id, occurred_on="", minutes="", activity="",
                    competency_ids=[], description="")
    page = refused(client.submit("/log/new", data))
    messages = dict(page.items)
    assert "Enter the date." in messages
    assert messages["Enter the date."] == "#occurred_on"
    assert "#description" in page.links
    # The activity is a group of radio buttons: its link goes to the first of them.
    assert "#activity-0" in page.links
    assert page.links.index("#occurred_on") < page.links.index("#activity-0") \
        < page.links.index("#description")


def test_the_sign_off_form_links_to_the_first_level(app, loop):
    add_entries(app, loop, 1, states=("verified",))
    mentor = as_person(app, loop["mentor"])
    url = f"/sign-offs/new?person={loop['apprentice'].id}&competency={loop['competency'].id}"
    page = refused(mentor.submit(url, {"form_token": form_token(mentor, url),
                                       "comment": "Seen."}))
    assert page.items == [("Choose a level.", "#level-0")]


def test_the_pairing_form_lists_its_fields_in_the_order_the_page_shows_them(app, loop):
    coordinator = as_person(app, loop["coordinator"])
    page = refused(coordinator.submit("/pairings/", {
        "form_token": form_token(coordinator, "/pairings/"), "apprentice_id": "",
        "mentor_id": "", "starts_on": "", "ends_on": "not a date"}))
    assert page.links[:4] == ["#apprentice_id", "#mentor_id", "#starts_on", "#ends_on"]


def test_a_box_in_a_group_is_the_target_of_its_groups_message(app, loop):
    coordinator = as_person(app, loop["coordinator"])
    page = refused(coordinator.submit("/people/new", {
        "name": "Priya Shah", "email": "priya@example.org", "roles": ["wizard"],
        "temporary_password": "a temporary one 123"}))
    assert ("Choose from the list.", "#roles-0") in page.items


def test_a_message_about_the_whole_form_is_listed_without_a_link(client, make_person):
    make_person(email="jordan@example.org")
    page = refused(client.submit("/sign-in", {"email": "jordan@example.org",
                                              "password": "not the password"}), status=401)
    (text, href), = page.items
    assert "do not match" in text and href is None


def test_a_form_without_problems_has_no_summary_and_no_error_title(app, loop):
    client = as_person(app, loop["apprentice"])
    page = Page(client.get("/log/new").get_data(as_text=True))
    assert page.summary is None
    assert not page.title.startswith("Error")


@pytest.mark.parametrize("url", ["/sign-in", "/log/new"])
def test_every_page_loads_the_script_that_moves_focus_to_the_summary_once(app, loop, url):
    client = as_person(app, loop["apprentice"]) if url != "/sign-in" else app.test_client()
    html = client.get(url).get_data(as_text=True)
    assert len(re.findall(r'<script src="[^"]*/apprentice\.js"', html)) == 1
    with client.get("/assets/apprentice.js") as response:
        script = response.get_data(as_text=True)
    assert "[data-ap-error-summary]" in script and "summary.focus()" in script
