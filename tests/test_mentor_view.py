"""The mentor's view of an apprentice: the evidence timeline, and a Sign off button for
each competency in the mentor's paired areas, in view without opening anything."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from apprentice.competencies import services as frameworks
from apprentice.people.services import get_person
from apprentice.training import services
from apprentice.training.permissions import may_view_apprentice as mentors_now
from apprentice.training.permissions import may_view_entry
from tests.factories import add_entries
from tests.loop import as_person, statements_sent
from tests.support import dates
from tests.support.html import Element, parse

CSS = Path(__file__).parents[1] / "apprentice" / "static" / "apprentice.css"


def areas(app, loop) -> list:
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        return [(a.id, [(c.id, c.code, c.statement) for c in a.current_competencies])
                for a in framework.current_areas]


def logged(app, loop, *, days_ago: int, competency_ids, activity: int = 3, minutes: int = 45,
           state: str = "submitted") -> int:
    """An entry by Jordan through the services, taken to ``state``; its id."""
    with app.app_context():
        entry = services.save_entry(get_person(loop["apprentice"].id), services.EntryDetails(
            occurred_on=dates.today() - timedelta(days=days_ago), minutes=minutes,
            activity=activity, mentor_id=loop["mentor"].id, competency_ids=list(competency_ids),
            description=f"{days_ago} days ago."), submit=state != "draft")
        mentor = get_person(loop["mentor"].id)
        if state == "verified":
            services.verify_entries([entry], mentor)
        elif state == "returned":
            services.return_entry(entry, mentor, "Add the branch.")
        return entry.id


def samuel_paired_for(app, loop, make_person, area_id: int):
    """Samuel Reyes, a second mentor of Jordan's, paired for one area only."""
    samuel = make_person(name="Samuel Reyes", roles=["mentor"])
    with app.app_context():
        services.create_pairing(get_person(loop["apprentice"].id), samuel,
                                starts_on=dates.today() - timedelta(days=30),
                                area_ids=[area_id])
    return samuel


def page_of(app, person, loop, query: str = "") -> Element:
    response = as_person(app, person).get(f"/apprentices/{loop['apprentice'].id}{query}")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def timeline(page: Element) -> list[Element]:
    return page.find_all("li", class_="ap-timeline-entry")


def sign_off_links(page: Element) -> list[Element]:
    return [a for a in page.find_all("a") if a.attrs.get("href", "").startswith("/sign-offs/new")]


def competency_of(link: Element) -> int:
    return int(re.search(r"competency=(\d+)", link.attrs["href"]).group(1))


# -- the evidence timeline ----------------------------------------------------------------------

def test_the_timeline_lists_entries_newest_first_with_state_activity_time_and_competencies(
        app, loop):
    [(_, first_area), (_, second_area), *_] = areas(app, loop)
    a_id, a_code, a_statement = first_area[0]
    b_id, b_code, _ = second_area[1]
    old = logged(app, loop, days_ago=20, competency_ids=[a_id], activity=2, minutes=30,
                 state="verified")
    middle = logged(app, loop, days_ago=10, competency_ids=[a_id, b_id], minutes=285,
                    state="returned")
    new = logged(app, loop, days_ago=2, competency_ids=[b_id], activity=5, minutes=60)
    logged(app, loop, days_ago=1, competency_ids=[a_id], state="draft")

    page = page_of(app, loop["mentor"], loop)
    items = timeline(page)
    assert [item.find("a").attrs["href"] for item in items] == [
        f"/log/{new}", f"/log/{middle}", f"/log/{old}"]  # the draft is not there
    assert all("ap-tap" in item.find("a").classes for item in items)
    newest, returned, verified = (item.text for item in items)
    day = (dates.today() - timedelta(days=2)).strftime("%a %d %b %Y")
    assert newest.startswith(f"{day} · 1 h Waiting for review Did it independently {b_code}")
    assert "4 h 45 min Returned to fix Did it with the mentor present" in returned
    assert f"{a_code} {a_statement[:40]}" in returned and b_code in returned
    assert "30 min Verified Assisted the mentor" in verified
    assert "3 entries, newest first." in page.text


def test_the_timeline_pages_through_hundreds_of_entries(app, loop):
    add_entries(app, loop, 60)  # one a day, newest first: "Entry 0" is today's
    first = page_of(app, loop["mentor"], loop)
    assert len(timeline(first)) == services.TIMELINE_PAGE_SIZE
    assert "60 entries, newest first; page 1 of 3." in first.text
    older = first.find("nav", aria_label="Timeline pages").find("a")
    assert older.text == "Older" and "page=2" in older.attrs["href"]
    last = page_of(app, loop["mentor"], loop, "?page=3")
    assert len(timeline(last)) == 60 - 2 * services.TIMELINE_PAGE_SIZE
    past = page_of(app, loop["mentor"], loop, "?page=40")
    assert timeline(past) == [] and "past the last one" in past.text


def test_the_page_sends_as_many_queries_for_hundreds_of_entries_as_for_a_few(app, loop):
    mentor = as_person(app, loop["mentor"])
    url = f"/apprentices/{loop['apprentice'].id}"
    pages = []
    add_entries(app, loop, 3)
    mentor.get(url)  # the pairings, kept from here on whatever the entries (core.versions)
    few = statements_sent(app, lambda: pages.append(mentor.get(url).get_data(as_text=True)))
    add_entries(app, loop, 300, first=3)
    many = statements_sent(app, lambda: pages.append(mentor.get(url).get_data(as_text=True)))
    assert [len(timeline(parse(page))) for page in pages] == [3, services.TIMELINE_PAGE_SIZE]
    assert few == many


def test_entries_outside_the_viewers_areas_are_left_out(app, loop, make_person):
    # The area rule (issue 10): an entry in another area is not listed at all.
    [(first_area_id, first_area), (_, second_area), *_] = areas(app, loop)
    samuel = samuel_paired_for(app, loop, make_person, first_area_id)
    theirs = logged(app, loop, days_ago=3, competency_ids=[first_area[0][0]])
    other = logged(app, loop, days_ago=2, competency_ids=[second_area[0][0]])
    page = page_of(app, samuel, loop)
    [mine] = timeline(page)
    assert mine.find("a").attrs["href"] == f"/log/{theirs}"
    assert mine.find("a").text.startswith(
        (dates.today() - timedelta(days=3)).strftime("%a %d %b"))
    assert second_area[0][1] not in page.find("section", class_="ap-timeline-section").text
    assert "1 entry, newest first." in page.text
    assert as_person(app, samuel).get(f"/log/{other}").status_code == 404


# -- Sign off, in view -----------------------------------------------------------------------------

def test_sign_off_buttons_for_the_paired_areas_only_and_never_folded_away(app, loop, make_person):
    [(first_area_id, first_area), *_] = areas(app, loop)
    samuel = samuel_paired_for(app, loop, make_person, first_area_id)
    page = page_of(app, samuel, loop)
    links = sign_off_links(page)
    assert sorted(competency_of(a) for a in links) == sorted(c for c, _, _ in first_area)
    codes = {c: code for c, code, _ in first_area}
    for link in links:
        assert {"ap-button", "ap-tap"} <= set(link.classes)
        # "Sign off", and the code for a screen reader (visually hidden).
        assert link.children[0] == "Sign off"
        assert link.text.endswith(codes[competency_of(link)])
    for details in page.find_all("details"):
        assert sign_off_links(details) == []
    # The paired area's list is open; the other areas are not on this mentor's page
    # (the area rule, issue 10); where they are shown without a button, they stay folded.
    sections = page.find_all("section", class_="ap-area-progress")
    paired = [x for x in sections if x.attrs["aria-labelledby"].endswith(f"-{first_area_id}-h")]
    assert len(paired) == 1 and paired[0].find_all("details") == []
    assert [x for x in sections if x not in paired] == []
    folded = page_of(app, loop["coordinator"], loop).find_all("section", class_="ap-area-progress")
    assert len(folded) >= 4 and all(x.find_all("details") for x in folded)
    # The mentor paired for every area has a button for every competency.
    mentor_page = page_of(app, loop["mentor"], loop)
    shown = {c for x in mentor_page.find_all("section", class_="ap-area-progress")
             for c in (int(a.attrs["href"].rsplit("/", 1)[1]) for a in x.find_all("a")
                       if a.attrs["href"].startswith("/frameworks/"))}
    assert shown and {competency_of(a) for a in sign_off_links(mentor_page)} == shown
    assert all(not x.find_all("details")
               for x in mentor_page.find_all("section", class_="ap-area-progress"))


def test_a_coordinator_sees_the_page_but_no_sign_off(app, loop):
    page = page_of(app, loop["coordinator"], loop)
    assert page.find("h1").text == "Jordan Lee"
    assert sign_off_links(page) == []


def test_an_ended_pairing_gives_no_sign_off(app, loop, make_person):
    [(first_area_id, _), *_] = areas(app, loop)
    samuel = samuel_paired_for(app, loop, make_person, first_area_id)
    today = dates.today()
    with app.app_context():
        services.create_pairing(get_person(loop["apprentice"].id), samuel,
                                starts_on=today - timedelta(days=60),
                                ends_on=today - timedelta(days=31))
    # The current pairing covers one area; the ended one (every area) counts for nothing.
    assert len({competency_of(a) for a in sign_off_links(page_of(app, samuel, loop))}) == len(
        areas(app, loop)[0][1])


# -- the rules behind the page, asked of the service directly ------------------------------

def test_the_service_says_which_areas_a_viewer_signs_off_and_which_entries_they_open(
        app, loop, make_person):
    [(first_area_id, first_area), (second_area_id, second_area), *_] = areas(app, loop)
    samuel = samuel_paired_for(app, loop, make_person, first_area_id)
    draft = logged(app, loop, days_ago=4, competency_ids=[first_area[0][0]], state="draft")
    in_area = logged(app, loop, days_ago=3, competency_ids=[first_area[0][0]])
    elsewhere = logged(app, loop, days_ago=2, competency_ids=[second_area[0][0]])
    both = {first_area_id, second_area_id}
    with app.app_context():
        jordan, marian, carmen, samuel = (get_person(p.id) for p in (
            loop["apprentice"], loop["mentor"], loop["coordinator"], samuel))
        assert services.sign_off_areas(samuel, jordan.id, both) == {first_area_id}
        assert services.sign_off_areas(marian, jordan.id, both) == both
        assert services.sign_off_areas(carmen, jordan.id, both) == set()  # never signs
        unpaired, today = get_person(loop["other"].id), dates.today()
        services.create_pairing(jordan, unpaired, starts_on=today - timedelta(days=60),
                                ends_on=today - timedelta(days=1))  # ended yesterday
        assert [mentors_now(p, jordan.id, today) for p in (samuel, carmen, unpaired)] == [
            True, True, False]
        assert mentors_now(unpaired, jordan.id, today - timedelta(days=2))
        entries = [services.get_entry(i) for i in (draft, in_area, elsewhere)]
        opens = {person.name: [may_view_entry(person, e) for e in entries]
                 for person in (jordan, marian, carmen, samuel)}
    assert opens == {"Jordan Lee": [True, True, True], "Marian Okafor": [False, True, True],
                     "Carmen Ortiz": [True, True, True], "Samuel Reyes": [False, True, False]}


def test_the_tap_target_class_is_at_least_44_px_both_ways():
    css = CSS.read_text()
    assert "--ap-tap: 2.75rem" in css  # 44 px
    tap = re.search(r"\n\.ap-tap \{([^}]*)\}", css).group(1)
    assert "min-height: var(--ap-tap" in tap and "min-width: var(--ap-tap" in tap
