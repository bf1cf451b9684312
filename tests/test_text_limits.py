"""No silent truncation: a long text box shows its limit and a counter instead of a
``maxlength`` (with which a browser cuts pasted text without a word), and the server
refuses text over the limit with a message next to the box, keeping all of it there."""

from __future__ import annotations

import html
import re

import pytest

from apprentice.people.services import get_person
from apprentice.training import services
from tests.loop import as_person, log_form, log_one

LONG = "Shelved returns and helped at the desk. " * 250  # 10,000 characters
assert len(LONG) == 10_000


def _textarea(page: str, name: str) -> tuple[str, str]:
    """The opening tag of the textarea called ``name``, and its text."""
    match = re.search(rf'(<textarea[^>]*name="{name}"[^>]*>)(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {name}"
    return match.group(1), html.unescape(match.group(2)).lstrip("\r\n")


def _error(page: str, field_id: str) -> str:
    match = re.search(rf'<div class="ap-error" id="{field_id}-error">(.*?)</div>', page, re.S)
    assert match, f"no message next to {field_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_the_log_forms_long_boxes_show_a_limit_and_a_counter_not_a_maxlength(app, loop):
    page = as_person(app, loop["apprentice"]).get("/log/new").get_data(as_text=True)
    for name, limit, words in (("description", "2000", "Up to 2,000 characters."),
                               ("reflection", "4000", "Up to 4,000 characters.")):
        tag, _ = _textarea(page, name)
        assert "maxlength" not in tag
        assert f'data-ap-count-max="{limit}"' in tag
        assert f'aria-describedby="{name}-hint"' in tag
        hint = re.search(rf'<p class="ap-hint" id="{name}-hint">(.*?)</p>', page).group(1)
        assert words in hint


@pytest.mark.parametrize("field, limit", [("description", 2000), ("reflection", 4000)])
def test_too_long_is_refused_next_to_the_box_with_all_the_text_kept(app, loop, field, limit):
    client = as_person(app, loop["apprentice"])
    response = client.submit("/log/new", log_form(client, loop["competency"].id,
                                                  **{field: LONG}))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    over = f"{10_000 - limit:,}"
    assert _error(page, field) == (f"Error: This is 10,000 characters; the limit is {limit:,}. "
                                   f"Shorten it by {over} characters: nothing was saved yet.")
    tag, text = _textarea(page, field)
    assert text == LONG  # every character still there
    assert 'aria-invalid="true"' in tag and "maxlength" not in tag
    with app.app_context():
        assert services.entries_of(loop["apprentice"].id) == []


def test_line_breaks_count_once_as_the_counter_counts_them(app, loop):
    """A browser sends a line break as CR LF: 2,000 characters with 100 of them fit."""
    text = ("x" * 19 + "\r\n") * 100
    assert len(text) == 2_100 and len(text.replace("\r\n", "\n")) == 2_000
    client = as_person(app, loop["apprentice"])
    response = client.submit("/log/new", log_form(client, loop["competency"].id,
                                                  description=text))
    assert response.status_code == 302
    with app.app_context():
        [entry] = services.entries_of(loop["apprentice"].id)
        assert entry.description == ("x" * 19 + "\n") * 99 + "x" * 19  # stripped at the end


@pytest.mark.parametrize("who, action, field, state", [
    pytest.param("mentor", "/review/{}/return", "comment", "submitted",
                 id="a-mentors-return-comment"),
    pytest.param("coordinator", "/log/{}/unlock", "reason", "verified",
                 id="a-coordinators-unlock-reason"),
])
def test_a_too_long_comment_or_reason_stays_in_the_box(app, loop, who, action, field, state):
    entry = log_one(app, loop)
    if state == "verified":
        with app.app_context():
            services.verify_entries([services.get_entry(entry.id)],
                                    get_person(loop["mentor"].id))
    response = as_person(app, loop[who]).submit(action.format(entry.id), {field: LONG})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "the limit is 2,000" in _error(page, field)
    assert _textarea(page, field)[1] == LONG
    with app.app_context():
        assert services.get_entry(entry.id).state == state  # nothing done


@pytest.mark.parametrize("url", ["/procedures/new", "/frameworks/new"])
def test_no_long_box_anywhere_renders_a_maxlength(app, loop, url):
    page = as_person(app, loop["coordinator"]).get(url).get_data(as_text=True)
    boxes = re.findall(r"<textarea[^>]*>", page)
    assert boxes, f"no text box on {url}"
    for tag in boxes:
        assert "maxlength" not in tag and "data-ap-count-max=" in tag, tag
