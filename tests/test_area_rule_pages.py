"""The area rule of pairings on the apprentice page (issue 10, point 2): a mentor paired
with Jordan for one area sees that area's progress, timeline rows and sign-offs only, and
is told so; a mentor paired for every area, and a coordinator, see the whole record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apprentice.competencies import services as frameworks
from apprentice.people.services import get_person
from apprentice.training import permissions, services
from tests.factories import add_entries
from tests.loop import as_person, statements_sent
from tests.support import dates
from tests.support.html import Element, parse


@pytest.fixture
def record(app, loop, make_person) -> dict:
    """Jordan's record in two areas, X (Foundations) and Y (Communication and Teamwork):
    a verified entry and a sign-off in each, and an entry citing both; Samuel, a second
    mentor, paired with Jordan for Y only."""
    samuel = make_person(name="Samuel Reyes", roles=["mentor"])
    today = dates.today()
    with app.app_context():
        jordan, marian = get_person(loop["apprentice"].id), get_person(loop["mentor"].id)
        area_x, area_y = frameworks.get_framework(loop["framework"].id).current_areas[:2]
        [x1, x2], [y1, y2] = area_x.current_competencies[:2], area_y.current_competencies[:2]
        services.create_pairing(jordan, samuel, starts_on=today - timedelta(days=30),
                                area_ids=[area_y.id])

        def entry(days_ago: int, *competencies, verify: bool = True):
            logged = services.save_entry(jordan, services.EntryDetails(
                occurred_on=today - timedelta(days=days_ago), minutes=45, activity=5,
                mentor_id=marian.id, competency_ids=[c.id for c in competencies],
                description="Worked the desk."), submit=True)
            if verify:
                services.verify_entries([logged], marian)
            return logged.id

        in_x, in_y = entry(5, x1), entry(4, y1)
        both = entry(3, x2, y2, verify=False)
        sign_off_x = services.sign_off(marian, jordan, x1, level=5, entry_ids=[in_x]).id
        sign_off_y = services.sign_off(marian, jordan, y1, level=5, entry_ids=[in_y]).id
        return {"samuel": samuel, "area_x": (area_x.id, area_x.name),
                "area_y": (area_y.id, area_y.name), "x": (x1.code, x1.statement),
                "x2": (x2.code, x2.statement), "y": (y1.code, y1.statement),
                "y2": y2.code, "entries": {"x": in_x, "y": in_y, "both": both},
                "sign_offs": {"x": sign_off_x, "y": sign_off_y}}


def page_for(app, loop, person) -> Element:
    response = as_person(app, person).get(f"/apprentices/{loop['apprentice'].id}")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def timeline_of(page: Element) -> Element:
    return page.find("section", class_="ap-timeline-section")


def timeline_links(page: Element) -> list[str]:
    return [item.find("a").attrs["href"] for item in
            page.find_all("li", class_="ap-timeline-entry") if item.find("a")]


def sign_offs_listed(page: Element) -> list[str]:
    return [a.attrs["href"] for a in page.find_all("a")
            if a.attrs.get("href", "").startswith("/sign-offs/")
            and not a.attrs["href"].startswith("/sign-offs/new")]


def areas_shown(page: Element) -> list[str]:
    return [section.find("h3").children[0].strip()
            for section in page.find_all("section", class_="ap-area-progress")]


def notice(page: Element) -> str | None:
    """The line saying the page shows some areas only, if there is one."""
    found = page.find_all("p", class_="ap-area-notice")
    return found[0].text if found else None


def test_an_area_only_mentor_sees_only_the_area_their_pairing_covers(app, loop, record):
    page = page_for(app, loop, record["samuel"])
    text = page.find("main").text
    # Nothing of area X anywhere: no timeline row, no progress, no sign-off.
    for code, statement in (record["x"], record["x2"]):
        assert code not in text and statement[:40] not in text
    assert areas_shown(page) == [record["area_y"][1]]
    # The entry citing X and Y is left out too: it is not all in Samuel's area.
    timeline = timeline_of(page)
    assert record["y2"] not in timeline.text
    assert timeline_links(page) == [f"/log/{record['entries']['y']}"]
    y_code, y_statement = record["y"]
    assert y_code in timeline.text and y_statement[:40] in timeline.text
    assert "1 entry, newest first." in timeline.text
    assert sign_offs_listed(page) == [f"/sign-offs/{record['sign_offs']['y']}"]
    # Said plainly, with the area named, so the record does not look thin.
    assert notice(page) == (
        f"Your pairing with Jordan Lee covers {record['area_y'][1]} only, so this page shows "
        "the progress, log entries and sign-offs in that area, not the rest of the record.")


@pytest.mark.parametrize("who", ["mentor", "coordinator"])
def test_the_all_areas_mentor_and_the_coordinator_see_the_whole_record(app, loop, record, who):
    page = page_for(app, loop, loop[who])
    timeline = timeline_of(page)
    for code, statement in (record["x"], record["x2"], record["y"]):
        assert code in timeline.text and statement[:40] in timeline.text
    entries = record["entries"]
    assert timeline_links(page) == [f"/log/{entries[k]}" for k in ("both", "y", "x")]
    assert sorted(sign_offs_listed(page)) == sorted(
        f"/sign-offs/{i}" for i in record["sign_offs"].values())
    assert {record["area_x"][1], record["area_y"][1]} <= set(areas_shown(page))
    assert len(areas_shown(page)) >= 4 and notice(page) is None


def test_the_count_and_the_pages_are_of_the_mentors_area_alone(app, loop, record):
    add_entries(app, loop, 60)  # all in area X
    page = page_for(app, loop, record["samuel"])
    assert "1 entry, newest first." in timeline_of(page).text
    assert page.find_all("nav", aria_label="Timeline pages") == []
    assert "63 entries, newest first; page 1 of 3." in timeline_of(
        page_for(app, loop, loop["mentor"])).text


def test_the_area_only_page_sends_as_many_queries_for_hundreds_of_entries(app, loop, record):
    with app.app_context():
        y_competency = frameworks.get_framework(loop["framework"].id).current_areas[1] \
            .current_competencies[0].id
    client = as_person(app, record["samuel"])
    url = f"/apprentices/{loop['apprentice'].id}"
    pages = []
    client.get(url)  # the pairings, kept from here on whatever the entries (core.versions)
    few = statements_sent(app, lambda: pages.append(client.get(url).get_data(as_text=True)))
    add_entries(app, loop, 150, first=10)  # area X: left out
    add_entries(app, loop, 150, first=200, competency_id=y_competency)
    many = statements_sent(app, lambda: pages.append(client.get(url).get_data(as_text=True)))
    assert [len(parse(p).find_all("li", class_="ap-timeline-entry")) for p in pages] == [
        1, services.TIMELINE_PAGE_SIZE]
    assert few == many


def test_which_areas_a_viewer_sees_asked_of_the_permission_directly(app, loop, record):
    area_y, today = record["area_y"][0], dates.today()
    with app.app_context():
        jordan = loop["apprentice"].id
        samuel, marian, carmen, unpaired = (get_person(p.id) for p in (
            record["samuel"], loop["mentor"], loop["coordinator"], loop["other"]))
        assert permissions.areas_in_view(samuel, jordan, today) == {area_y}
        assert permissions.areas_in_view(marian, jordan, today) is None  # every area
        assert permissions.areas_in_view(carmen, jordan, today) is None
        assert permissions.areas_in_view(get_person(jordan), jordan, today) is None
        assert permissions.areas_in_view(unpaired, jordan, today) == set()
        # Before Samuel's pairing began, it covered nothing.
        assert permissions.areas_in_view(samuel, jordan, today - timedelta(days=31)) == set()
