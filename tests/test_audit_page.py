"""The audit trail page as a coordinator reads it: sentences with names and links, the raw
record one click away, filters by person, kind and dates, every record reachable page by
page, and a CSV download that a spreadsheet cannot turn into formulas."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select

from apprentice.audit import services as audit
from apprentice.audit.browse import CSV_COLUMNS
from apprentice.audit.models import AuditRecord
from apprentice.auth.services import attempt_sign_in
from apprentice.csvsafe import spreadsheet_safe
from apprentice.db import db_session
from apprentice.people import services as people
from apprentice.people.models import StaffProfile
from tests.factories import sql_statements
from tests.loop import as_person
from tests.support.audit_activity import every_kind_of_record, sign_off_in_the_loop
from tests.support.html import Element, parse


def records(app) -> list[AuditRecord]:
    with app.app_context():
        return list(db_session().scalars(select(AuditRecord).order_by(AuditRecord.id)))


def rows(doc: Element) -> list[Element]:
    """The table's rows (none, and no table, when nothing matches)."""
    tables = doc.find_all("table", class_="ap-audit")
    return tables[0].find("tbody").find_all("tr") if tables else []


def sentences(doc: Element) -> list[str]:
    return [row.find("p", class_="ap-audit-sentence").text for row in rows(doc)]


def page(client, url="/audit/", **query) -> Element:
    response = client.get(url, query_string=query or None)
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def status_line(doc: Element) -> str:
    return doc.find("p", role="status").text


# -- sentences, links, the raw record ---------------------------------------------------------

def test_a_sign_off_reads_as_a_sentence_with_links_to_the_people_and_the_sign_off(app, loop):
    sign_off_id, _ = sign_off_in_the_loop(app, loop)
    client = as_person(app, loop["coordinator"])
    doc = page(client)
    code = loop["competency"].code
    [row] = [r for r in rows(doc) if "signed off" in r.text]
    sentence = row.find("p", class_="ap-audit-sentence")
    assert sentence.text == (f"Marian Okafor signed off {code} for Jordan Lee at "
                             "'does it independently', citing 1 entry")
    links = {a.text: a.attrs["href"] for a in sentence.find_all("a")}
    assert links == {"Marian Okafor": f"/people/{loop['mentor'].id}/edit",
                     code: f"/sign-offs/{sign_off_id}",
                     "Jordan Lee": f"/people/{loop['apprentice'].id}/edit"}
    assert row.find_all("td")[-1].text == "Sign-off"
    # Every link leads to a page the coordinator can open.
    for href in links.values():
        assert client.get(href).status_code == 200


def test_each_row_keeps_the_raw_record_one_click_away(app, loop):
    sign_off_in_the_loop(app, loop)
    newest = records(app)[-1]
    doc = page(as_person(app, loop["coordinator"]))
    row = doc.find("tr", id=f"record-{newest.id}")
    raw = row.find("details", class_="ap-audit-raw")
    assert raw.find("summary").text == f"Raw record #{newest.id}"
    stored = json.loads(raw.find("pre").text)
    assert stored["action"] == "signoff.created"
    assert (stored["hash"], stored["prev_hash"]) == (newest.hash, newest.prev_hash)
    assert stored["details"] == json.loads(newest.details)


def test_text_anyone_typed_reads_as_text_in_sentences_and_raw_records(app, make_person,
                                                                      login_as):
    """A name, and an e-mail typed at the sign-in form by someone not signed in, reach a
    coordinator's page: as words, never as markup."""
    script = "<script>alert(1)</script>"
    coordinator = make_person(name=f"Carmen {script}", roles=["coordinator"])
    with app.app_context():
        attempt_sign_in(f"{script}@library.example", "a wrong guess", "192.0.2.7")
        people.create_person(people.PersonDetails(name="Priya <b>Shah</b>",
                                                  email="priya@library.example",
                                                  roles=["apprentice"]),
                             by=db_session().get(StaffProfile, coordinator.id))
    html = login_as(coordinator).get("/audit/").get_data(as_text=True)
    assert "<script>" not in html and "<b>Shah" not in html
    doc = parse(html)
    assert sentences(doc)[:2] == [
        f"Carmen {script} gave Priya <b>Shah</b> the apprentice role",
        f"Someone at 192.0.2.7 failed to sign in as {script}@library.example, which is no "
        "one's e-mail"]
    assert json.loads(doc.find("pre").text)["actor_name"] == f"Carmen {script}"


def test_the_records_table_is_a_labelled_region_a_keyboard_can_scroll(app, coordinator, login_as):
    doc = page(login_as(coordinator))
    [region] = doc.select(lambda e: e.attrs.get("role") == "region")
    assert region.attrs["tabindex"] == "0"
    caption = doc.find(id=region.attrs["aria-labelledby"])
    assert caption.tag == "caption"
    assert caption.text == "Audit records 1 to 1 of 1, newest first"
    assert region.find("table", class_="ap-audit")


# -- filters ----------------------------------------------------------------------------------

@pytest.fixture
def activity(app, make_person, coordinator):
    return every_kind_of_record(app, make_person, coordinator)


def test_filtering_by_person_finds_what_they_did_and_what_was_done_to_them(
        app, activity, login_as, coordinator):
    client = login_as(coordinator)
    assert sentences(page(client, person=activity.sam)) == [
        "Carmen Ortiz reactivated Sam Lee's account",
        "Carmen Ortiz deactivated Sam Lee's account",
        "Carmen Ortiz gave Sam Lee the mentor role",
        "Carmen Ortiz took the apprentice role from Sam Lee",
        "Someone gave Sam Lee the apprentice role",
    ]
    marian = sentences(page(client, person=activity.mentor))
    # Named in the details, acting, or (the pairing change) only through the pairing.
    assert any(s.startswith("Carmen Ortiz made a pairing of Jordan Lee") for s in marian)
    assert any(s.startswith("Carmen Ortiz changed the pairing") for s in marian)
    assert any(s.startswith("Marian Okafor signed off") for s in marian)
    # Named only in the details: the entry's row does not say whom it was sent to.
    assert any(s.startswith("Jordan Lee sent an entry for review to Marian Okafor")
               for s in marian)
    assert all("Marian Okafor" in s for s in marian)
    jordan = sentences(page(client, person=activity.apprentice))
    assert any(s.startswith("Carmen Ortiz moved Jordan Lee's target date") for s in jordan)
    assert not any("Sam Lee" in s or "nobody@" in s for s in jordan)


def test_filtering_by_kind(app, activity, login_as, coordinator):
    client = login_as(coordinator)
    doc = page(client, kind="sign-offs")
    assert [s.split(" for ")[0] for s in sentences(doc)] == [
        "Carmen Ortiz revoked the sign-off of " + activity.code,
        "Marian Okafor corrected an earlier sign-off of " + activity.code,
        "Marian Okafor signed off " + activity.code,
    ]
    assert status_line(doc).startswith("3 records match the filter")
    sign_ins = sentences(page(client, kind="sign-ins", person=activity.apprentice))
    assert len(sign_ins) == 6 and all(s.startswith("Someone at 192.0.2.7") for s in sign_ins)
    # Kinds are offered by name, not by code.
    options = [o.text for o in page(client).find("select", id="kind").find_all("option")]
    assert options[:4] == ["Everything", "Sign-offs", "Log entries", "Pairings"]
    assert "People & roles" in options and "Sign-ins" in options


def test_filtering_by_dates(app, activity, login_as, coordinator):
    client = login_as(coordinator)
    total = len(records(app))
    today = records(app)[-1].at.date()  # records are dated in UTC
    day = timedelta(days=1)
    assert status_line(page(client, since=today.isoformat(), until=today.isoformat())) \
        .startswith(f"{total} records match the filter")
    for query in ({"since": (today + day).isoformat()}, {"until": (today - day).isoformat()}):
        doc = page(client, **query)
        assert status_line(doc) == "0 records match the filter."
        assert "No records match." in doc.text
    # One record backdated is found by its day only (the trail is append-only: add a new one).
    with app.app_context():
        last = db_session().execute(select(AuditRecord.id, AuditRecord.hash)
                                    .order_by(AuditRecord.id.desc()).limit(1)).one()
        old = SimpleNamespace(id=last.id + 1, at=datetime(2026, 1, 15, 23, 59, tzinfo=UTC),
                              actor_id=None, actor_name="", action="test.old",
                              object_type="", object_id=None, details="{}",
                              prev_hash=last.hash)
        old.hash = audit.compute_hash(old, old.prev_hash)
        db_session().execute(insert(AuditRecord.__table__), vars(old))
        db_session().commit()
        assert audit.verify().intact  # a link of the chain like any other
    assert sentences(page(client, since="2026-01-15", until="2026-01-15")) == [
        "Recorded 'test.old'"]
    assert sentences(page(client, since="2026-01-16", until="2026-01-16")) == []


@pytest.mark.parametrize(("query", "field", "message"), [
    pytest.param({"person": "abc"}, "person", "Choose from the list.", id="person not a number"),
    pytest.param({"person": "999999"}, "person", "Choose from the list.", id="no such person"),
    pytest.param({"kind": "everything-bad"}, "kind", "Choose from the list.", id="kind"),
    pytest.param({"since": "2026-13-45"}, "since", "Enter a date like 2026-06-15.", id="date"),
    pytest.param({"until": "yesterday"}, "until", "Enter a date like 2026-06-15.", id="word"),
    pytest.param({"since": "2026-06-15", "until": "2026-06-01"}, "until",
                 "The end date must be on or after the start date.", id="ends before start"),
])
def test_a_bad_filter_value_gets_a_message_next_to_its_field(app, coordinator, login_as, query,
                                                             field, message):
    client = login_as(coordinator)
    response = client.get("/audit/", query_string=query)
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    error = doc.find(id=f"{field}-error")
    assert error.text == f"Error: {message}"
    assert doc.find(id=field).attrs["aria-describedby"].split()[-1] == f"{field}-error"
    # The rest of the filter still applies; the bad value is left out.
    assert len(rows(doc)) == len(records(app))


# -- paging ------------------------------------------------------------------------------------

def test_a_fuller_page_runs_no_more_queries(app, activity, login_as, coordinator):
    """Names are looked up for the page at once: 40 more records naming people and
    entries add no query (one per row would add 40)."""
    client = login_as(coordinator)
    with sql_statements(app) as before:
        page(client)
    with app.app_context():
        for n in range(40):
            audit.record("entry.verified", object_type="LogEntry",
                         object_id=activity.entries[n % len(activity.entries)],
                         person=activity.apprentice if n % 2 else activity.sam)
        db_session().commit()
    with sql_statements(app) as after:
        doc = page(client)
    assert sentences(doc)[0].startswith("Someone verified Jordan Lee's entry of ")
    assert len(after) <= len(before)


def test_paging_reaches_every_record_down_to_the_oldest(app, coordinator, login_as):
    with app.app_context():
        for n in range(130):
            audit.record("test.append", n=n)
        db_session().commit()
    total = len(records(app))
    assert total == 131 and app.config["APPRENTICE_PAGE_SIZE"] == 50
    client = login_as(coordinator)
    seen, url, pages = [], "/audit/", 0
    while url:
        doc = page(client, url)
        pages += 1
        seen += [int(row.attrs["id"].removeprefix("record-")) for row in rows(doc)]
        older = doc.find_all("a", rel="next")
        url = older[0].attrs["href"] if older else None
    assert pages == 3
    assert seen == list(range(total, 0, -1))  # newest first, each once, down to the first
    assert status_line(doc) == "131 records; showing 101\N{EN DASH}131, newest first."
    assert sentences(doc)[-1] == "Someone gave Carmen Ortiz the coordinator role"
    current = doc.find("span", aria_current="page")
    assert current.text == "Page 3 of 3"
    # A page past the end shows the last one.
    assert [r.attrs["id"] for r in rows(page(client, page="999"))] == [
        r.attrs["id"] for r in rows(doc)]


def test_page_links_keep_the_filter(app, coordinator, login_as):
    with app.app_context():
        for n in range(60):
            audit.record("test.append", n=n)
        db_session().commit()
    doc = page(login_as(coordinator), kind="other")
    [older] = doc.find_all("a", rel="next")
    assert "kind=other" in older.attrs["href"] and "page=2" in older.attrs["href"]
    assert status_line(doc).startswith("60 records match the filter")


# -- the CSV download --------------------------------------------------------------------------

def download(client, **query) -> list[dict]:
    response = client.get("/audit/records.csv", query_string=query)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="audit-trail-')
    text = response.get_data().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert tuple(header) == CSV_COLUMNS
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_the_csv_holds_the_filtered_records_with_their_sentences(app, activity, login_as,
                                                                 coordinator):
    client = login_as(coordinator)
    stored = {r.id: r for r in records(app)}
    lines = download(client, kind="sign-offs")
    assert [line["action"] for line in lines] == [
        "signoff.created", "signoff.corrected", "signoff.revoked"]  # oldest first
    first = lines[0]
    record = stored[int(first["id"])]
    assert first["sentence"] == (f"Marian Okafor signed off {activity.code} for Jordan Lee at "
                                 "'does it independently', citing 1 entry")
    assert first["actor"] == "Marian Okafor"
    assert datetime.fromisoformat(first["time (UTC)"]) == record.at
    assert (first["object type"], first["object id"]) == ("SignOff", str(activity.sign_offs[0]))
    assert json.loads(first["details"])["evidence"] == activity.entries[:1]
    assert first["hash"] == record.hash
    everything = download(client)
    assert [int(line["id"]) for line in everything] == sorted(stored)


def test_a_csv_with_a_bad_filter_sends_back_to_the_page_with_the_message(coordinator, login_as):
    client = login_as(coordinator)
    response = client.get("/audit/records.csv", query_string={"since": "someday"})
    assert response.status_code == 302
    doc = page(client, response.headers["Location"])
    assert doc.find(id="since-error").text == "Error: Enter a date like 2026-06-15."


@pytest.mark.parametrize("lead", ["=", "+", "-", "@"])
def test_csv_cells_cannot_run_as_spreadsheet_formulas(app, make_person, login_as, lead):
    name = f"{lead}HYPERLINK(\"http://evil.example\",\"Click\")"
    sneaky = make_person(name=name, roles=["coordinator"])
    with app.app_context():
        people.create_person(people.PersonDetails(name="Priya Shah",
                                                  email="priya@library.example",
                                                  roles=["apprentice"]),
                             by=db_session().get(StaffProfile, sneaky.id))
    [line] = [line for line in download(login_as(sneaky))
              if line["actor"].endswith("HYPERLINK(\"http://evil.example\",\"Click\")")]
    assert line["actor"] == "'" + name
    assert line["sentence"] == f"'{name} gave Priya Shah the apprentice role"
    assert line["action"] == "role.granted"  # cells that are not formulas stay as they were


@pytest.mark.parametrize(("value", "safe"), [
    pytest.param("=1+1", "'=1+1", id="equals"), pytest.param("+1", "'+1", id="plus"),
    pytest.param("-1", "'-1", id="minus"), pytest.param("@SUM(A1)", "'@SUM(A1)", id="at"),
    pytest.param("\t=1", "'\t=1", id="tab"), pytest.param("\r=1", "'\r=1", id="return"),
    pytest.param("Carmen Ortiz", "Carmen Ortiz", id="a name"),
    pytest.param("a=b", "a=b", id="not at the start"), pytest.param(-5, -5, id="a number"),
])
def test_spreadsheet_safe(value, safe):
    assert spreadsheet_safe(value) == safe


def test_only_coordinators_download_the_trail(client, login_as, make_person):
    login_as(make_person(roles=["mentor", "apprentice"]))
    assert client.get("/audit/records.csv").status_code == 403


def test_the_newest_record_is_the_trails_newest_whatever_the_filter(app, activity, login_as,
                                                                    coordinator):
    newest = records(app)[-1]
    doc = page(login_as(coordinator), kind="sign-offs", page="1")
    assert f"Newest record: #{newest.id}" in doc.find("section", class_="ap-card").text
