"""Reports for coordinators (apprentice/reports): each renders with data and empty, as
a page and as CSV; their numbers equal the dashboards'; filters and bad input answer
with a message (or a 404 for a person), never a 500; the charts are SVG images with a
title, a description and no style attribute; queries stay flat in the cohort's size;
and the apprentice's home page shows their hours per week."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from apprentice.competencies import services as frameworks
from apprentice.competencies.models import CompetencyArea
from apprentice.db import db_session, utcnow
from apprentice.people.services import PersonDetails, create_person, find_by_email, get_person
from apprentice.programmes import services as programmes
from apprentice.programmes.models import Enrolment
from apprentice.records import dashboards, record_of
from apprentice.reports import charts
from apprentice.reports import services as reports
from apprentice.training import services as training
from apprentice.training.models import SignOff
from apprentice.validation import Invalid
from tests.factories import sql_statements
from tests.loop import as_person
from tests.support import dates

# Each report, and what it shows of the busy world below.
SHOWS = {"/reports/cohort": "Jordan Lee", "/reports/activity": "<td>3 h 45 min</td>",
         "/reports/hours": "Jordan Lee", "/reports/mentors": "Marian Okafor",
         "/reports/health": "Quinn Quiet"}
PAGES = tuple(SHOWS)


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def entry(app, loop, *, days_ago: int, minutes: int, verify: bool, competency=None) -> int:
    """An entry by the loop's apprentice, submitted (and verified, if asked)."""
    with app.app_context():
        saved = training.save_entry(get_person(loop["apprentice"].id), training.EntryDetails(
            occurred_on=dates.today() - timedelta(days=days_ago), minutes=minutes, activity=5,
            mentor_id=loop["mentor"].id, competency_ids=[(competency or loop["competency"]).id],
            description=f"Desk shift, {days_ago} days ago."), submit=True)
        if verify:
            training.verify_entries([saved], get_person(loop["mentor"].id))
        return saved.id


@pytest.fixture
def busy(app, loop):
    """The loop with four entries (two verified, one in a second area), a sign-off, and a
    second apprentice on the programme with nothing logged and no mentor."""
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        second = framework.current_areas[1].current_competencies[0]
    verified = entry(app, loop, days_ago=3, minutes=60, verify=True)
    entry(app, loop, days_ago=10, minutes=45, verify=True)
    entry(app, loop, days_ago=10, minutes=30, verify=False)
    entry(app, loop, days_ago=20, minutes=90, verify=False, competency=second)
    with app.app_context():
        training.sign_off(get_person(loop["mentor"].id), get_person(loop["apprentice"].id),
                          frameworks.get_competency(loop["competency"].id), level=5,
                          entry_ids=[verified])
        quiet = create_person(PersonDetails("Quinn Quiet", "quinn@library.example",
                                            roles=["apprentice"]))
        programmes.enrol(quiet, frameworks.get_framework(loop["framework"].id),
                         start=dates.today() - timedelta(days=60))
    loop["quiet"] = quiet
    loop["second"] = second
    return loop


# -- each report, with data and empty ---------------------------------------------------------

def test_each_report_renders_with_data_as_a_page_and_as_csv(app, busy):
    client = as_person(app, busy["coordinator"])
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        text = page.get_data(as_text=True)
        assert SHOWS[path] in text, path
        assert "Download" in text and ".csv" in text, path
        assert len(rows_of(client.get(f"{path}.csv"))) > 0, path
    person = busy["apprentice"].id
    page = client.get(f"/reports/progress/{person}").get_data(as_text=True)
    assert "Jordan Lee: progress over time" in page
    assert rows_of(client.get(f"/reports/progress/{person}.csv"))
    index = client.get("/reports/").get_data(as_text=True)
    for path in PAGES:
        assert f'href="{path}"' in index


EMPTY = {
    "/reports/cohort": "Nobody is enrolled on a programme yet.",
    "/reports/activity": "Nothing was logged between",
    "/reports/hours": "Nobody is enrolled on a programme yet.",
    "/reports/mentors": "Nobody mentors yet",
    "/reports/health": "No active programme",
}


@pytest.mark.parametrize("path", sorted(EMPTY))
def test_each_report_has_an_empty_state(client, as_coordinator, path):
    page = client.get(path).get_data(as_text=True)
    assert EMPTY[path] in page
    assert charts_on(page) == []  # no empty chart
    assert rows_of(client.get(f"{path}.csv")) == []  # the header only


def test_progress_over_time_of_someone_on_no_programme_says_so(app, client, as_coordinator,
                                                               make_person):
    nobody = make_person(name="Nadia Noprogramme", roles=["apprentice"])
    page = client.get(f"/reports/progress/{nobody.id}").get_data(as_text=True)
    assert "Nadia Noprogramme is not on a programme" in page
    assert rows_of(client.get(f"/reports/progress/{nobody.id}.csv")) == []


# -- the numbers are the dashboards' -------------------------------------------------------------

def test_cohort_csv_equals_the_coordinator_dashboard(app, busy):
    client = as_person(app, busy["coordinator"])
    rows = rows_of(client.get("/reports/cohort.csv"))
    with app.app_context(), app.test_request_context():
        matrix = dashboards.coordinator_dashboard().matrix
    expected = {(row.enrolment.person.name, area): cell.percent
                for row, cells in matrix for area, cell in cells.items()}
    got = {(r["person"], r["area"]): int(r["area_percent"]) for r in rows}
    assert got == expected
    assert any(percent > 0 for percent in got.values())  # Jordan's sign-off counts
    overall = {row.enrolment.person.name: row.progress.percent for row, _ in matrix}
    assert {r["person"]: int(r["overall_percent"]) for r in rows} == overall


def test_hours_and_activity_totals_equal_the_apprentice_record(app, busy):
    client = as_person(app, busy["coordinator"])
    with app.app_context():
        [enrolment] = record_of(busy["apprentice"].id).enrolments
        record = {a.name: (a.hours.logged_minutes, a.hours.verified_minutes)
                  for a in enrolment.areas}
    hours = {r["area"]: (int(r["logged_minutes"]), int(r["verified_minutes"]))
             for r in rows_of(client.get("/reports/hours.csv")) if r["person"] == "Jordan Lee"}
    assert hours == record
    assert sum(logged for logged, _ in hours.values()) == 60 + 45 + 30 + 90
    activity = rows_of(client.get(f"/reports/activity.csv?person={busy['apprentice'].id}"))
    for area, (logged, _verified) in record.items():
        assert sum(int(r.get(area) or 0) for r in activity) == logged
    assert sum(int(r["verified_minutes"]) for r in activity) == 60 + 45
    assert sum(int(r["waiting_minutes"]) for r in activity) == 30 + 90


def test_mentor_load_equals_the_dashboard_and_gives_the_median_wait(app, busy):
    client = as_person(app, busy["coordinator"])
    rows = {r["mentor"]: r for r in rows_of(client.get("/reports/mentors.csv"))}
    with app.app_context(), app.test_request_context():
        mentors = dashboards.coordinator_dashboard().mentors
    for m in mentors:
        assert (int(rows[m.name]["apprentices"]), int(rows[m.name]["entries_waiting"]),
                int(rows[m.name]["sign_offs_made"])) == (m.apprentices, m.waiting, m.sign_offs)
    marian = rows["Marian Okafor"]
    assert (marian["entries_waiting"], marian["median_wait_days"]) == ("2", "0")
    assert marian[f"sign_offs_{dates.today():%Y-%m}"] == "1"


def test_programme_health_names_who_is_quiet_and_the_areas_nobody_mentors(app, busy):
    client = as_person(app, busy["coordinator"])
    rows = rows_of(client.get("/reports/health.csv"))
    quiet = {r["person"] for r in rows if r["problem"] == "no log"}
    assert quiet == {"Quinn Quiet"}  # Jordan logged three days ago
    unmentored = {(r["person"], r["detail"]) for r in rows if r["problem"] == "area nobody mentors"}
    assert {p for p, _ in unmentored} == {"Quinn Quiet"}  # Marian covers all of Jordan's areas
    page = client.get("/reports/health").get_data(as_text=True)
    assert "Nothing logged for 30 days (1)" in page


def test_who_is_drifting_behind_the_planned_hours(app, busy):
    """Planned 10 h in the first area, halfway from start to target: 5 h expected by now;
    drifting below 5 h - 10 % of 10 h = 4 h."""
    today = dates.today()
    with app.app_context():
        session = db_session()
        area = session.get(CompetencyArea, frameworks.get_competency(
            busy["competency"].id).area_id)
        # Through the editor: a published framework changes by a new version, which is
        # what servers see (they keep published versions: programmes.shapes).
        frameworks.save_area(area.framework, area, name=area.name,
                             description=area.description, kind=area.kind, min_hours=10,
                             by=get_person(busy["coordinator"].id))
        enrolment = session.scalars(select(Enrolment).where(
            Enrolment.person_id == busy["apprentice"].id)).one()
        enrolment.start_date, enrolment.target_date = today - timedelta(days=50), \
            today + timedelta(days=50)
        session.commit()
        area_name = area.name
    client = as_person(app, busy["coordinator"])

    def jordan():
        [row] = [r for r in rows_of(client.get("/reports/hours.csv"))
                 if r["person"] == "Jordan Lee" and r["area"] == area_name]
        return row

    row = jordan()
    assert (row["planned_minutes"], row["expected_by_now_minutes"], row["logged_minutes"]) == (
        "600", "300", "135")
    assert row["drifting"] == "yes"
    page = client.get("/reports/hours").get_data(as_text=True)
    assert "more than 10 % of the planned minimum" in page  # the rule, said on the page
    assert re.search(r"Jordan Lee</a>, " + re.escape(area_name) + r": 2 h 15 min logged", page)
    entry(app, busy, days_ago=1, minutes=120, verify=False)  # 255 min: within 4 h
    assert jordan()["drifting"] == "no"


def test_progress_over_time_reads_the_record_as_of_each_month_end(app, make_person):
    apprentice = make_person(name="Avery Month", roles=["apprentice"])
    mentor = make_person(name="Mo Mentor", roles=["mentor"])
    coordinator = make_person(name="Carmen Ortiz", roles=["coordinator"])
    today = dates.today()
    with app.app_context():
        framework = frameworks.load_default_framework()
        programmes.enrol(apprentice, framework, start=today - timedelta(days=100))
        competency = framework.current_areas[0].current_competencies[0]
        signed = utcnow() - timedelta(days=45)
        session = db_session()
        session.add(SignOff(person_id=apprentice.id, competency_id=competency.id,
                            lineage=competency.lineage, level=5, signed_by_id=mentor.id,
                            signed_at=signed))
        session.commit()
    rows = rows_of(as_person(app, coordinator).get(f"/reports/progress/{apprentice.id}.csv"))
    assert rows[0]["month"] == f"{today - timedelta(days=100):%Y-%m}"
    assert rows[-1]["as_of"] == today.isoformat()
    with app.app_context():
        for r in rows:
            as_of = date.fromisoformat(r["as_of"])
            [e] = record_of(apprentice.id, as_of=as_of, entries=False).enrolments
            assert int(r["share_signed_off_percent"]) == e.progress.percent
            assert (e.progress.percent > 0) == (as_of >= signed.date())
    assert rows[0]["share_signed_off_percent"] == "0"
    assert int(rows[-1]["share_signed_off_percent"]) > 0


# -- filters and bad input ------------------------------------------------------------------

def test_the_cohort_filters_by_framework_mentor_and_pairing_dates(app, busy):
    client = as_person(app, busy["coordinator"])

    def people(query: str) -> set[str]:
        return {r["person"] for r in rows_of(client.get(f"/reports/cohort.csv?{query}"))}

    assert people("") == {"Jordan Lee", "Quinn Quiet"}
    assert people(f"framework={busy['framework'].id}") == {"Jordan Lee", "Quinn Quiet"}
    assert people(f"mentor={busy['mentor'].id}") == {"Jordan Lee"}
    assert people(f"mentor={busy['other'].id}") == set()
    today = dates.today()
    before = (today - timedelta(days=40)).isoformat()
    assert people(f"until={before}") == set()  # Jordan's pairing began 30 days ago
    assert people(f"since={before}&until={today.isoformat()}") == {"Jordan Lee"}
    page = client.get(f"/reports/cohort?mentor={busy['other'].id}").get_data(as_text=True)
    assert "No active programme matches." in page


@pytest.mark.parametrize(("query", "message"), [
    pytest.param("framework=99999", "Choose from the list.", id="unknown framework"),
    pytest.param("mentor=abc", "Choose from the list.", id="nonsense mentor"),
    pytest.param("since=2026-02-30", "Enter a date like 2026-06-15.", id="no such day"),
    pytest.param("since=tomorrow", "Enter a date like 2026-06-15.", id="nonsense date"),
    pytest.param("since=2026-05-02&until=2026-05-01",
                 "The end date must be on or after the start date.", id="from after to"),
])
@pytest.mark.parametrize("path", ["/reports/cohort", "/reports/hours"])
def test_a_bad_filter_is_a_message_next_to_it_and_the_report_still_shows(
        app, busy, path, query, message):
    client = as_person(app, busy["coordinator"])
    page = client.get(f"{path}?{query}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert re.search(r'class="ap-error"[^>]*>\s*<p><span class="ap-visually-hidden">Error: '
                     r"</span>" + re.escape(message), text)
    assert "Jordan Lee" in text  # shown without the refused value
    download = client.get(f"{path}.csv?{query}")  # not a download of something else
    assert download.status_code == 302 and download.headers["Location"].startswith(path + "?")


@pytest.mark.parametrize(("query", "message", "weeks"), [
    pytest.param("since=2026-05-02&until=2026-05-01",
                 "The end date must be on or after the start date.", None, id="from after to"),
    pytest.param("until={in_three_days}", "Choose a day up to today", 12, id="ahead"),
    pytest.param("since=2001-01-01", "Choose at most three years.", 12, id="decades"),
    pytest.param("until=0001-01-08", "Choose a day from 2000-01-01 on.", 12, id="year one"),
    pytest.param("framework=99999", "Choose from the list.", 12, id="unknown framework"),
])
def test_bad_activity_ranges_are_refused_with_a_message(app, busy, query, message, weeks):
    # The day three days ahead is read now, not when the module was imported.
    query = query.format(in_three_days=(dates.today() + timedelta(days=3)).isoformat())
    page = as_person(app, busy["coordinator"]).get(f"/reports/activity?{query}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert message in text and 'class="ap-error"' in text
    if weeks:
        assert f"{weeks} weeks, " in text  # the default range instead


@pytest.mark.parametrize("url", [
    "/reports/activity?person=99999", "/reports/activity?person=abc",
    "/reports/activity.csv?person=0", "/reports/progress/99999",
    "/reports/progress/99999.csv",
])
def test_a_person_who_is_not_there_is_a_404(client, as_coordinator, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/reports/", "/reports/cohort", "/reports/cohort.csv",
                                 "/reports/activity", "/reports/health.csv",
                                 "/reports/mentors", "/reports/hours.csv"])
def test_only_coordinators_read_the_reports(app, busy, url):
    for role in ("apprentice", "mentor"):
        response = as_person(app, busy[role]).get(url)
        assert response.status_code == 403, (role, url)
        assert "Quinn Quiet" not in response.get_data(as_text=True)
    person = f"/reports/progress/{busy['apprentice'].id}"
    assert as_person(app, busy["apprentice"]).get(person).status_code == 403
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]


def test_the_services_ask_again_who_may_read_them(app, busy):
    """The views gate the pages; the services hold the rule too (reports.permissions)."""
    week = reports.default_weeks()
    with app.app_context():
        apprentice, mentor = get_person(busy["apprentice"].id), get_person(busy["mentor"].id)
        own = reports.activity(since=week[0], until=week[1], person_id=apprentice.id,
                               viewer=apprentice)
        assert own.person.name == "Jordan Lee" and not own.empty  # one's own weeks
        for viewer, person_id in ((apprentice, busy["quiet"].id), (apprentice, None),
                                  (mentor, apprentice.id)):
            with pytest.raises(Invalid):
                reports.activity(since=week[0], until=week[1], person_id=person_id,
                                 viewer=viewer)
        with pytest.raises(Invalid):  # asked at once, not when the CSV starts to stream
            reports.cohort_cells(reports.CohortFilter(), viewer=mentor)
        with pytest.raises(Invalid):
            reports.hours_rows(reports.CohortFilter(), viewer=mentor)
        assert reports.progress_over_time(apprentice.id, viewer=mentor) is None


def test_the_reports_are_in_the_navigation_of_coordinators_only(app, busy):
    assert 'href="/reports/"' in as_person(app, busy["coordinator"]).get("/").get_data(
        as_text=True)
    assert 'href="/reports/"' not in as_person(app, busy["mentor"]).get("/").get_data(
        as_text=True)


def test_csv_cells_never_run_as_formulas(app, busy):
    with app.app_context():
        person = get_person(busy["quiet"].id)
        person.name = "=HYPERLINK(\"http://evil.example\")"
        db_session().commit()
    rows = rows_of(as_person(app, busy["coordinator"]).get("/reports/cohort.csv"))
    assert "'=HYPERLINK(\"http://evil.example\")" in {r["person"] for r in rows}


# -- the charts ----------------------------------------------------------------------------------

SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
INLINE_STYLE = re.compile(r"\sstyle\s*=", re.IGNORECASE)  # as tests/test_headers.py looks


def charts_on(text: str) -> list[str]:
    return [svg for svg in SVG.findall(text) if 'role="img"' in svg.split(">", 1)[0]]


@pytest.mark.parametrize("path", ["/reports/cohort", "/reports/activity", "/reports/hours",
                                  "/reports/mentors", "progress"])
def test_charts_are_images_with_a_title_a_description_a_legend_and_a_table(app, busy, path):
    if path == "progress":
        path = f"/reports/progress/{busy['apprentice'].id}"
    text = as_person(app, busy["coordinator"]).get(path).get_data(as_text=True)
    [chart] = charts_on(text)
    labelled = re.search(r'aria-labelledby="([^"]+) ([^"]+)"', chart)
    title, desc = labelled.groups()
    assert re.search(rf'<title id="{title}">[^<]+</title>', chart)
    assert re.search(rf'<desc id="{desc}">[^<]+</desc>', chart)
    assert not INLINE_STYLE.search(text) and "<script>" not in text  # the CSP refuses both
    assert re.search(r"<table[^>]*>\s*<caption", text)  # the data beside it
    if "/cohort" not in path:  # bars and lines: a legend, and patterns or dashes
        assert 'class="ap-chart-legend"' in text


def test_series_differ_by_pattern_not_colour_alone(app, busy):
    text = as_person(app, busy["coordinator"]).get(
        f"/reports/activity?person={busy['apprentice'].id}").get_data(as_text=True)
    [chart] = charts_on(text)
    assert 'fill="url(#ap-chart-activity-diagonal)"' in chart  # the second area's pattern
    assert "(diagonal)" in text  # ... named in the legend


def test_the_activity_chart_shows_the_demo_weeks(app):
    assert app.test_cli_runner().invoke(args=["apprentice", "demo"]).exit_code == 0
    with app.app_context():
        carmen = find_by_email("coordinator@example.org")
        from apprentice.demo import DEMO_ENTRIES
    client = as_person(app, carmen)
    weeks: dict[str, int] = {}
    today = dates.today()
    for days_ago, minutes, *_rest, state in DEMO_ENTRIES:
        if state != "draft":
            label = reports.week_label(reports.week_start(today - timedelta(days=days_ago)))
            weeks[label] = weeks.get(label, 0) + minutes
    rows = rows_of(client.get("/reports/activity.csv"))
    assert {r["week"]: int(r["total_minutes"]) for r in rows if r["total_minutes"] != "0"} == weeks
    text = client.get("/reports/activity").get_data(as_text=True)
    [chart] = charts_on(text)
    for label in weeks:  # each week of the demo's log under its bar, and in the table
        assert f">{label.split('-')[-1]}</text>" in chart
        assert f"<th scope=\"row\">{label} " in text
    assert "Jordan Lee" in client.get("/reports/cohort").get_data(as_text=True)


@pytest.mark.parametrize(("largest", "step", "top"), [
    pytest.param(0, 1, 1, id="nothing"), pytest.param(7, 2, 8, id="small"),
    pytest.param(230, 50, 250, id="hundreds"), pytest.param(1, 0.2, 1, id="one"),
])
def test_the_y_axis_steps_are_round_and_reach_the_largest_value(largest, step, top):
    assert charts.nice_step(largest) == pytest.approx(step)
    assert charts.scale_top(largest, charts.nice_step(largest)) == pytest.approx(top)


def test_labels_under_the_axis_are_thinned_only_when_they_would_touch():
    weeks = [f"W{n}" for n in range(38, 50)]
    assert charts.label_step(weeks, 43) == 1  # twelve weeks: every one
    assert charts.label_step(weeks, 20) == 2
    assert charts.label_step(["Aug 2026", "Sep 2026"], 43) == 2  # months need more room


def test_stacked_bars_stack_and_grouped_bars_stand_side_by_side():
    stacked = charts.bar_chart("c", "T", "D", ["a", "b"], ["x", "y"], [[60, 120], [0, 0]],
                               unit=60, fmt=lambda v: f"{v:g}")
    assert [t.label for t in stacked.ticks] == ["0", "60", "120", "180"]  # whole hours
    low, high = stacked.columns[0].boxes
    assert high.y + high.height == pytest.approx(low.y)  # y on top of x
    assert low.y + low.height == pytest.approx(stacked.bottom)
    assert (high.height, low.height) == pytest.approx((2 * low.height, low.height))
    assert stacked.columns[0].value_label == "180" and stacked.columns[1].value_label == ""
    grouped = charts.bar_chart("g", "T", "D", ["a"], ["x", "y"], [[30, 60]], stacked=False)
    x, y = grouped.columns[0].boxes
    assert x.x + x.width == pytest.approx(y.x) and x.y > y.y  # side by side, y taller
    assert (x.pattern, y.pattern) == ("solid", "diagonal")  # not told apart by colour alone
    assert not charts.bar_chart("e", "T", "D", ["a"], ["x"], [[0]]).columns[0].boxes[0].height


def test_the_apprentice_home_page_shows_hours_per_week(app, busy):
    text = as_person(app, busy["apprentice"]).get("/").get_data(as_text=True)
    assert "Hours per week" in text
    [chart] = charts_on(text)
    assert 'aria-labelledby="ap-chart-weeks-title ap-chart-weeks-desc"' in chart
    this_week = reports.week_label(reports.week_start(dates.today() - timedelta(days=3)))
    row = re.search(rf"<th scope=\"row\">{this_week} .*?</tr>", text, re.S).group(0)
    assert "<td>1 h</td>" in row  # the verified hour three days ago
    assert not INLINE_STYLE.search(text)
    # A coordinator's home page has no chart of their own weeks.
    assert "Hours per week" not in as_person(app, busy["coordinator"]).get("/").get_data(
        as_text=True)


# -- 5,000 apprentices: pages, streamed CSV, flat queries ----------------------------------------

def enrol_many(app, framework_id: int, count: int, first: int) -> None:
    with app.app_context():
        framework = frameworks.get_framework(framework_id)
        for n in range(first, first + count):
            person = create_person(PersonDetails(f"Many {n:04d}", f"many{n}@library.example",
                                                 roles=["apprentice"]))
            programmes.enrol(person, framework, start=dates.today() - timedelta(days=30))


@pytest.mark.parametrize("url", ["/reports/cohort", "/reports/cohort.csv", "/reports/hours",
                                 "/reports/hours.csv", "/reports/activity", "/reports/health",
                                 "/reports/health.csv", "/reports/mentors"])
def test_queries_stay_flat_as_the_cohort_grows(app, loop, url):
    client = as_person(app, loop["coordinator"])
    client.get(url)  # the first request of a client loads what it keeps

    def queries() -> int:
        with sql_statements(app) as sent:
            response = client.get(url)
            response.get_data()  # a CSV streams: count what it sends while it does
        assert response.status_code == 200
        return len(sent)

    enrol_many(app, loop["framework"].id, 5, 0)
    few = queries()
    enrol_many(app, loop["framework"].id, 195, 5)
    assert queries() == few


def test_progress_over_time_reads_a_fixed_number_of_queries_a_month(app, busy):
    """Once per month shown, whatever the size of the record."""
    client = as_person(app, busy["coordinator"])
    url = f"/reports/progress/{busy['apprentice'].id}"
    client.get(url)

    def queries() -> int:
        with sql_statements(app) as sent:
            assert client.get(url).status_code == 200
        return len(sent)

    few = queries()
    for days_ago in (1, 2, 4, 5, 6):  # this month or the last: the months shown stay
        entry(app, busy, days_ago=days_ago, minutes=30, verify=days_ago % 2 == 0)
    assert queries() == few


def test_the_pages_are_paged_and_the_csv_has_everyone(app, loop):
    app.config["APPRENTICE_PAGE_SIZE"] = 20
    enrol_many(app, loop["framework"].id, 45, 0)
    client = as_person(app, loop["coordinator"])
    first = client.get("/reports/cohort").get_data(as_text=True)
    assert "46 programmes" in first and "Page 1 of 3" in first
    last = client.get("/reports/cohort?page=3").get_data(as_text=True)
    assert "showing 41\u201346" in last and "Many 0044" in last and "Many 0000" not in last
    assert len({r["person"] for r in rows_of(client.get("/reports/cohort.csv"))}) == 46
    hours = client.get("/reports/hours?page=2").get_data(as_text=True)
    assert "Page 2 of 3" in hours


@pytest.mark.parametrize("path", ["/reports/cohort", "/reports/activity", "/reports/hours",
                                  "/reports/health", "/reports/cohort.csv"])
def test_a_blank_filter_is_no_filter(app, busy, path):
    """Optional lets a blank through unchecked: it was read as an id (a 500)."""
    response = as_person(app, busy["coordinator"]).get(f"{path}?framework=%20&mentor=%09")
    if path.endswith(".csv"):
        assert {r["person"] for r in rows_of(response)} == {"Jordan Lee", "Quinn Quiet"}
    else:
        assert response.status_code == 200
        assert SHOWS[path] in response.get_data(as_text=True)  # everyone, unfiltered


def test_nothing_below_the_reports_imports_them():
    """The reports read records, training, programmes...; none of those reads them (the
    issue's layering: a cycle would tie the record model to its readers)."""
    from pathlib import Path

    import apprentice

    root = Path(apprentice.__file__).parent
    below = ("audit", "auth", "competencies", "kb", "people", "programmes", "records",
             "statements", "training")
    importers = [str(path.relative_to(root)) for package in below
                 for path in (root / package).rglob("*.py")
                 if re.search(r"apprentice\.reports|from apprentice import reports",
                              path.read_text())]
    assert importers == []
