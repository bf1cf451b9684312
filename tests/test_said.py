"""The busiest saves say how it went on the page they lead to through its address
(apprentice.forms.said): no session cookie is written for it, and an address someone
made up says nothing untrue."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from apprentice.competencies.models import SupervisionLevel
from apprentice.people.services import get_person
from apprentice.training import services, standing
from tests.factories import DEFAULT_PASSWORD
from tests.loop import as_person, log_form, log_one

SENT = "Sent to your mentor for review."


def said(page: str) -> list[str]:
    """The success messages a page shows."""
    return re.findall(r'<p class="ap-flash ap-flash-success" role="status">([^<]*)</p>', page)


def landing(client, response) -> str:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    return client.get(f"{location.path}?{location.query}").get_data(as_text=True)


def logged(app, loop, description: str) -> int:
    """An entry the apprentice sends through the quick-log form; its id."""
    client = as_person(app, loop["apprentice"])
    response = client.submit("/log/new", log_form(client, loop["competency"].id,
                                                  description=description))
    return int(re.search(r"said=entry\.(\d+)", response.headers["Location"]).group(1))


def verified_entry(app, loop) -> int:
    with app.app_context():
        entry = services.save_entry(get_person(loop["apprentice"].id), services.EntryDetails(
            occurred_on=date.today() - timedelta(days=1), minutes=40,
            activity=int(SupervisionLevel.INDEPENDENT), mentor_id=loop["mentor"].id,
            competency_ids=[loop["competency"].id], description="On my own."), submit=True)
        services.verify_entries([entry], get_person(loop["mentor"].id))
        return entry.id


def test_a_quick_log_says_sent_on_the_log_without_writing_the_session(app, loop):
    client = as_person(app, loop["apprentice"])
    response = client.submit("/log/new", log_form(client, loop["competency"].id))
    assert "Set-Cookie" not in response.headers  # the session is as it was
    with app.app_context():
        [entry] = services.entries_of(loop["apprentice"].id)
    assert response.headers["Location"].endswith(f"/log/?said=entry.{entry.id}#entry-{entry.id}")
    assert said(landing(client, response)) == [SENT]
    # A draft says so; the same address says nothing once the entry is somebody's else.
    draft = client.submit("/log/new", log_form(client, loop["competency"].id,
                                               submit="", save_draft="1"))
    assert said(landing(client, draft)) == ["Draft saved."]



def test_an_entry_says_nothing_on_another_apprentices_log(app, loop, make_person):
    entry = log_one(app, loop)
    other = as_person(app, make_person(name="Sam Ortiz", roles=["apprentice"]))
    page = other.get(f"/log/?said=entry.{entry.id}")
    assert page.status_code == 200
    assert said(page.get_data(as_text=True)) == []


def test_a_verify_says_how_many_on_the_review_queue(app, loop):
    first, second = logged(app, loop, "Ran the desk."), logged(app, loop, "Shelved holds.")
    mentor = as_person(app, loop["mentor"])
    response = mentor.submit("/review/verify", {"entry_id": [str(first)]})
    assert "Set-Cookie" not in response.headers
    assert said(landing(mentor, response)) == ["1 entry verified."]
    # Another verify of one entry: that one alone, however many went before.
    assert said(landing(mentor, mentor.submit("/review/verify", {
        "entry_id": [str(second)]}))) == ["1 entry verified."]
    # The count comes from the record: an entry nobody verified says nothing, and
    # another mentor is told nothing of this one's verify; nor any other page.
    third = logged(app, loop, "Answered the phones.")
    assert said(mentor.get(f"/review/?said=verified.{third}").get_data(as_text=True)) == []
    assert said(mentor.get(f"/review/?said=entry.{first}").get_data(as_text=True)) == []


def test_a_bulk_verify_counts_every_entry_verified_together(app, loop):
    entries = [logged(app, loop, f"Desk hour {n}.") for n in range(3)]
    mentor = as_person(app, loop["mentor"])
    response = mentor.submit("/review/verify", {"entry_id": [str(e) for e in entries]})
    assert said(landing(mentor, response)) == ["3 entries verified."]


def test_a_sign_off_names_itself_on_the_apprentices_page(app, loop):
    entry_id = verified_entry(app, loop)
    mentor = as_person(app, loop["mentor"])
    person, competency = loop["apprentice"], loop["competency"]
    form_url = f"/sign-offs/new?person={person.id}&competency={competency.id}"
    page = mentor.get(form_url).get_data(as_text=True)
    token = re.search(r'name="form_token"[^>]*value="([^"]*)"', page).group(1)
    response = mentor.submit(form_url, {
        "level": str(int(SupervisionLevel.INDEPENDENT)), "entry_ids": [str(entry_id)],
        "password": DEFAULT_PASSWORD, "form_token": token})
    assert said(landing(mentor, response)) == [
        f"{competency.code} signed off for {person.name}."]
    # The coordinator opening the same address is told nothing: it is not their sign-off.
    coordinator = as_person(app, loop["coordinator"])
    location = urlsplit(response.headers["Location"])
    page = coordinator.get(f"{location.path}?{location.query}").get_data(as_text=True)
    assert person.name in page and said(page) == []
    # Withdrawn, it is no longer said to be signed off.
    with app.app_context():
        [signed] = standing.sign_offs_of(person.id)
        services.revoke(signed, get_person(loop["mentor"].id), "Signed for the wrong person.")
    page = mentor.get(f"{location.path}?{location.query}").get_data(as_text=True)
    assert said(page) == []


@pytest.mark.parametrize("made_up", ["entry.999999", "sign_off.1", "entry.x", "entry.",
                                     "nothing.1", "verified.-3", "verified.0", ""])
def test_an_address_made_up_says_nothing(app, loop, made_up):
    client = as_person(app, loop["apprentice"])
    page = client.get(f"/log/?said={made_up}")
    assert page.status_code == 200
    assert said(page.get_data(as_text=True)) == []
