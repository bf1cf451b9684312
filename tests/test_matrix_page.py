"""The cohort matrix on the coordinator's home page: a labelled scroll region a keyboard
can reach, short area headers that keep the full names, and cells shaded by the share
signed off with the number kept as text."""

from __future__ import annotations

import pytest

from apprentice.competencies import services as frameworks
from apprentice.records.dashboards import (
    MatrixArea,
    area_abbreviation,
    coordinator_dashboard,
    share_band,
    unique_headers,
)
from tests.loop import as_person
from tests.support.audit_activity import sign_off_in_the_loop
from tests.support.html import parse


def matrix_of(app, loop):
    page = as_person(app, loop["coordinator"]).get("/").get_data(as_text=True)
    return parse(page)


def test_the_matrix_is_a_labelled_region_a_keyboard_can_scroll(app, loop):
    doc = matrix_of(app, loop)
    [region] = doc.select(lambda e: "ap-matrix-wrap" in e.classes)
    assert region.attrs["role"] == "region"
    assert region.attrs["tabindex"] == "0"
    title = doc.find(id=region.attrs["aria-labelledby"])
    assert title.text == "Share of each area signed off"
    assert region.find("table", class_="ap-matrix")
    # The hint that it scrolls sideways is part of the region's description.
    hint = doc.find(id=region.attrs["aria-describedby"])
    assert "Scroll the table sideways to see every area." in hint.text


def test_area_headers_are_short_and_carry_the_full_names(app, loop):
    doc = matrix_of(app, loop)
    table = doc.find("table", class_="ap-matrix")
    headers = table.find("thead").find_all("th")
    assert [h.text for h in headers[:2]] == ["Apprentice", "Overall"]
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        chosen = [a for a in framework.current_areas if a.required] + [
            a for a in framework.current_areas if not a.required][:3]
    shown = {}
    for header in headers[2:]:
        abbr = header.find("abbr")
        hidden = header.find("span", class_="ap-visually-hidden")
        assert abbr.attrs["title"] == hidden.text  # the tooltip and the screen reader agree
        shown[abbr.text] = hidden.text
    assert shown["FND"] == "Foundations of Library Services"
    assert sorted(shown.values()) == sorted(a.name for a in chosen)
    assert all(len(short) <= 6 for short in shown)
    # The key below the table spells every header out for a phone without tooltips.
    key = doc.find("details", class_="ap-matrix-key")
    assert {dt.text: dd.text for dt, dd in zip(key.find_all("dt"), key.find_all("dd"),
                                               strict=True)} == shown


def test_a_sign_off_shades_its_cell_with_the_share_kept_as_text(app, loop):
    doc = matrix_of(app, loop)
    before = doc.find("table", class_="ap-matrix").find("tbody").find("tr")
    assert before.find_all("td")[1].text == "0 %"
    assert "ap-share-0" in before.find_all("td")[1].classes

    _, total = sign_off_in_the_loop(app, loop)
    share = 100 * 1 // total  # 1 of the area's competencies
    doc = matrix_of(app, loop)
    table = doc.find("table", class_="ap-matrix")
    columns = [th.find("abbr").text for th in table.find("thead").find_all("th")[2:]]
    [row] = table.find("tbody").find_all("tr")
    assert row.find("th").text == "Jordan Lee"
    cells = row.find_all("td")[1:]  # after the overall share
    foundations = cells[columns.index("FND")]
    assert foundations.text == f"{share} %"
    assert share_band(share) == 1 and "ap-share-1" in foundations.classes
    others = [cell for column, cell in zip(columns, cells, strict=True) if column != "FND"]
    assert {cell.text for cell in others} == {"0 %"}
    assert all("ap-share-0" in cell.classes for cell in others)


@pytest.mark.parametrize(("percent", "band"), [
    pytest.param(0, 0, id="none"), pytest.param(1, 1, id="1"), pytest.param(24, 1, id="24"),
    pytest.param(25, 25, id="25"), pytest.param(49, 25, id="49"), pytest.param(50, 50, id="50"),
    pytest.param(74, 50, id="74"), pytest.param(75, 75, id="75"), pytest.param(99, 75, id="99"),
    pytest.param(100, 100, id="all"),
])
def test_shares_fall_in_bands(percent, band):
    assert share_band(percent) == band


@pytest.mark.parametrize(("name", "codes", "short"), [
    pytest.param("Foundations of Library Services", ["FND-01", "FND-02"], "FND", id="codes"),
    pytest.param("Adult Readers' Advisory Services", ["RA-01", "RA-12"], "RA", id="short code"),
    pytest.param("Outreach and Community Work", ["OCW1", "X-2"], "OCW", id="mixed: initials"),
    pytest.param("Technology", [], "TECH", id="one long word"),
    pytest.param("Shelving", ["SHELVING-AND-STACKS-1"], "SHEL", id="prefix too long"),
])
def test_area_abbreviations(name, codes, short):
    assert area_abbreviation(name, codes) == short


def test_two_areas_never_share_a_header():
    areas = {name: MatrixArea(name, area_abbreviation(name)) for name in
             ("Reference Services", "Reader Services", "Research Support")}
    unique_headers(areas)
    assert [a.short for a in areas.values()] == ["RS", "RS2", "RS3"]


def test_idle_pairings_are_those_with_nothing_logged_for_30_days(app, loop, make_person):
    """Counted by the database, the newest ten named: a pairing 30 days old or more with
    nothing logged by the pair since; not one with a recent entry, nor one too new or
    ended."""
    from datetime import date, timedelta

    from apprentice.db import db_session
    from apprentice.people.services import get_person
    from apprentice.training import services
    from apprentice.training.models import LogEntry

    today = date.today()
    quiet, busy, new, ended = (make_person(name=name) for name in
                               ("Quiet Quinn", "Busy Bea", "New Nia", "Ended Eli"))
    with app.app_context():
        mentor = get_person(loop["mentor"].id)
        for person, start, end in ((quiet, 40, None), (busy, 40, None), (new, 10, None),
                                   (ended, 60, 35)):
            services.create_pairing(get_person(person.id), mentor,
                                     starts_on=today - timedelta(days=start),
                                     ends_on=today - timedelta(days=end) if end else None)
        # Any entry of the pair counts, a draft too (Bea is not enrolled: written directly).
        db_session().add(LogEntry(person_id=busy.id, mentor_id=mentor.id, minutes=30,
                                  occurred_on=today - timedelta(days=3), activity=3,
                                  description="Desk.", state="draft", form_token="busy"))
        db_session().commit()
        dashboard = coordinator_dashboard(today)  # the rule, in the service
        assert dashboard.idle_count == 2
        assert sorted(p.apprentice.name for p in dashboard.idle_pairings) == [
            "Jordan Lee", "Quiet Quinn"]
    page = as_person(app, loop["coordinator"]).get("/").get_data(as_text=True)
    [line] = [li for li in parse(page).find_all("li") if "with no activity" in li.text]
    assert line.text.split()[0] == "2"  # Quinn, and the loop's Jordan (30 days, nothing)
    assert "Quiet Quinn with Marian Okafor" in line.text
    assert "Jordan Lee with Marian Okafor" in line.text
    assert not any(name in line.text for name in ("Busy Bea", "New Nia", "Ended Eli"))
