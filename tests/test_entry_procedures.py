"""Log entries cite the procedures followed: suggestions for the ticked competencies
(with and without script), the rules on what may be linked, and where links show."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from apprentice.audit.models import AuditRecord
from apprentice.db import db_session
from apprentice.kb import services as kb
from apprentice.kb.models import ProcedureStatus
from apprentice.people.services import get_person
from apprentice.programmes import services as programmes
from apprentice.training import services
from apprentice.training.models import EntryProcedure, LogEntry
from apprentice.validation import Invalid
from tests.factories import add_entries
from tests.loop import as_person, build_dashboards, log_form, statements_sent


def _procedure(app, author, title, competency_ids, *, status="published"):
    """A procedure teaching ``competency_ids``, by ``author``, in ``status``; its id."""
    with app.app_context():
        person = get_person(author.id)
        procedure = kb.create(
            kb.ProcedureDraft(title=title, body=f"1. {title}.\n", competency_ids=competency_ids),
            person, publish=status != "draft")
        if status == "archived":
            kb.set_status(procedure, ProcedureStatus.ARCHIVED, person)
        return procedure.id


@pytest.fixture
def wiki(app, loop, make_person):
    """Procedures around two of the apprentice's competencies (``a`` and ``b``) and a third
    (``c``): published, archived, someone else's draft and the apprentice's own draft."""
    with app.app_context():
        competencies = programmes.programme_competencies(loop["apprentice"].id)
        a, b, c = competencies[0].id, competencies[1].id, competencies[20].id
    mentor, someone = loop["mentor"], make_person(roles=["apprentice"])
    return {
        "a": a, "b": b, "c": c, "someone": someone,
        "both": _procedure(app, mentor, "Zoning the desk for both", [a, b]),
        "only_a": _procedure(app, mentor, "Answering at the desk", [a]),
        "only_b": _procedure(app, mentor, "Bookmarks for b", [b]),
        "other": _procedure(app, mentor, "Cataloguing for c", [c]),
        "archived": _procedure(app, mentor, "Archived way for a", [a], status="archived"),
        "their_draft": _procedure(app, someone, "Someone's draft for a", [a], status="draft"),
        "my_draft": _procedure(app, loop["apprentice"], "My own draft for a", [a],
                               status="draft"),
    }


def _entries(app, loop) -> list[LogEntry]:
    with app.app_context():
        return services.entries_of(loop["apprentice"].id)


def _links(app, entry_id) -> set[int]:
    with app.app_context():
        return {link.procedure_id for link in services.get_entry(entry_id).procedure_links}


def _ticked(page: str) -> set[int]:
    return {int(v) for v in re.findall(
        r'<input type="checkbox" name="procedure_ids" value="(\d+)" checked>', page)}


def _offered(page: str) -> set[int]:
    return {int(v) for v in re.findall(r'name="procedure_ids" value="(\d+)"', page)}


# -- suggestions ----------------------------------------------------------------------

def test_suggestions_are_published_procedures_for_the_ticked_competencies(app, wiki):
    with app.app_context():
        both = [p.id for p in services.suggest_procedures([wiki["a"], wiki["b"]])]
        only_a = [p.id for p in services.suggest_procedures([str(wiki["a"])])]
    # Teaching both first, then by title; nothing for c, archived or in draft.
    assert both == [wiki["both"], wiki["only_a"], wiki["only_b"]]
    assert only_a == [wiki["only_a"], wiki["both"]]


def test_suggestions_are_capped_and_bad_ids_are_ignored(app, loop, wiki):
    for n in range(15):
        _procedure(app, loop["mentor"], f"Desk task {n:02}", [wiki["c"]])
    with app.app_context():
        many = services.suggest_procedures([wiki["c"]])
        junk = services.suggest_procedures(["x", "-1", "0", "99999999999999", "", None])
        flood = services.suggest_procedures([str(n) for n in range(10**6, 10**6 + 5000)])
    assert len(many) == services.MAX_SUGGESTED_PROCEDURES == 12
    assert [p.title for p in many][:2] == ["Cataloguing for c", "Desk task 00"]
    assert junk == [] and flood == []


def test_the_form_suggests_for_the_competencies_asked_for(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    page = client.get(f"/log/new?competency={wiki['b']}").get_data(as_text=True)
    assert "Procedures you followed" in page and "Suggest procedures" in page
    assert _offered(page) == {wiki["both"], wiki["only_b"]}
    assert _ticked(page) == set()


def test_the_form_suggests_for_what_the_person_ticks_not_their_last_entry(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    client.submit("/log/new", log_form(client, wiki["b"], submit="", save_draft="1"))
    page = client.get("/log/new").get_data(as_text=True)
    assert _offered(page) == set()  # the last entry's competencies are not ticked for them
    # Ticking b and pressing "Suggest procedures" (no script) offers b's procedures.
    data = log_form(client, wiki["b"], submit="", suggest="1")
    page = client.submit("/log/new", data).get_data(as_text=True)
    assert _offered(page) == {wiki["both"], wiki["only_b"]}


def test_a_procedure_asked_for_is_ticked(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    page = client.get(f"/log/new?competency={wiki['c']}&procedure={wiki['other']}"
                      ).get_data(as_text=True)
    assert _ticked(page) == {wiki["other"]}
    mine = client.get(f"/log/new?competency={wiki['c']}&procedure={wiki['my_draft']}"
                      ).get_data(as_text=True)
    assert _ticked(mine) == {wiki["my_draft"]}  # own draft: offered when asked for


@pytest.mark.parametrize("asked", ["abc", "-3", "99999999999999999999", "their_draft",
                                   "archived", "424242"])
def test_a_procedure_that_cannot_be_linked_is_not_offered(app, loop, wiki, asked):
    client = as_person(app, loop["apprentice"])
    response = client.get(f"/log/new?competency={wiki['c']}&procedure={wiki.get(asked, asked)}")
    assert response.status_code == 200
    assert _offered(response.get_data(as_text=True)) == {wiki["other"]}


def test_a_flood_of_ids_in_the_query_string_is_no_error(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    query = "&".join(f"procedure={n}&competency={n}" for n in range(1, 2000))
    assert client.get(f"/log/new?{query}").status_code == 200
    assert client.get(f"/log/procedure-suggestions?{query}").status_code == 200


def test_the_procedure_page_logs_practising_with_that_procedure_ticked(app, loop, wiki):
    page = as_person(app, loop["apprentice"]).get(f"/procedures/{wiki['both']}"
                                                   ).get_data(as_text=True)
    [href] = re.findall(r'href="([^"]*/log/new[^"]*)"[^>]*>Log practising this', page)
    href = href.replace("&amp;", "&")
    assert f"procedure={wiki['both']}" in href
    form = as_person(app, loop["apprentice"]).get(href).get_data(as_text=True)
    assert _ticked(form) == {wiki["both"]}


def test_suggest_procedures_without_script_saves_nothing_and_keeps_what_was_typed(
        app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, wiki["a"], description="", reflection="Half-typed thoughts",
                    minutes="", submit="", suggest="1")
    data["competency_ids"] = [str(wiki["b"])]
    data["procedure_ids"] = [str(wiki["other"])]  # ticked earlier: stays ticked
    response = client.submit("/log/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _entries(app, loop) == []
    assert "-error" not in page and "ap-form-errors" not in page
    assert _offered(page) == {wiki["other"], wiki["both"], wiki["only_b"]}
    assert _ticked(page) == {wiki["other"]}
    assert "Half-typed thoughts" in page
    assert f'value="{data["form_token"]}"' in page
    assert re.search(rf'value="{wiki["b"]}" checked', page)


# -- the JSON endpoint for the form's script -----------------------------------------------

def test_the_suggestions_endpoint_needs_sign_in_and_lists_the_suggestions(app, loop, wiki):
    url = f"/log/procedure-suggestions?competency={wiki['a']}&competency={wiki['b']}"
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    response = as_person(app, loop["apprentice"]).get(url)
    data = response.get_json()
    assert [p["id"] for p in data["procedures"]] == [wiki["both"], wiki["only_a"],
                                                      wiki["only_b"]]
    assert data["procedures"][0] == {"id": wiki["both"], "title": "Zoning the desk for both",
                                     "url": f"/procedures/{wiki['both']}"}
    junk = as_person(app, loop["apprentice"]).get(
        "/log/procedure-suggestions?competency=x&competency=99999999999999999&competency=")
    assert junk.status_code == 200 and junk.get_json() == {"procedures": []}


# -- saving the links ---------------------------------------------------------------------

def test_submitting_stores_the_links_and_audits_them(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, wiki["a"])
    data["procedure_ids"] = [str(wiki["only_a"]), str(wiki["my_draft"]), str(wiki["other"])]
    assert client.submit("/log/new", data).status_code == 302
    [entry] = _entries(app, loop)
    assert _links(app, entry.id) == {wiki["only_a"], wiki["my_draft"], wiki["other"]}
    with app.app_context():
        record = db_session().scalar(select(AuditRecord).where(
            AuditRecord.action == "entry.submitted", AuditRecord.object_id == entry.id))
    assert json.loads(record.details)["procedures"] == [wiki["only_a"], wiki["my_draft"],
                                                        wiki["other"]]


@pytest.mark.parametrize("ticked", [
    ["their_draft"], ["archived"], ["424242"], ["only_a", "424242"], ["abc"],
    [str(n) for n in range(1000, 1011)],
])
def test_a_procedure_that_may_not_be_linked_is_a_field_error(app, loop, wiki, ticked):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, wiki["a"])
    data["procedure_ids"] = [str(wiki.get(t, t)) for t in ticked]
    response = client.submit("/log/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="procedure_ids-error"' in page
    assert "Ran the desk on my own" in page  # what was typed is still there
    assert _entries(app, loop) == []


def test_too_many_procedures_are_refused_by_the_service(app, loop, wiki):
    ids = [_procedure(app, loop["mentor"], f"Step {n}", [wiki["a"]]) for n in range(11)]
    with app.app_context():
        details = services.EntryDetails(
            occurred_on=date.today(), minutes=30, activity=1, mentor_id=loop["mentor"].id,
            competency_ids=[wiki["a"]], description="Desk.", procedure_ids=ids)
        with pytest.raises(Invalid) as refused:
            services.save_entry(get_person(loop["apprentice"].id), details)
        assert "at most 10 procedures" in refused.value.errors["procedure_ids"][0]
        details.procedure_ids = ids[:10]
        entry = services.save_entry(get_person(loop["apprentice"].id), details)
        assert len(entry.procedure_links) == 10


def test_editing_a_draft_changes_its_links_and_keeps_an_archived_one(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, wiki["a"], submit="", save_draft="1")
    data["procedure_ids"] = [str(wiki["only_a"]), str(wiki["both"])]
    client.submit("/log/new", data)
    [entry] = _entries(app, loop)
    page = client.get(f"/log/{entry.id}").get_data(as_text=True)
    assert _ticked(page) == {wiki["only_a"], wiki["both"]}
    with app.app_context():
        kb.set_status(kb.get_procedure(wiki["only_a"]), ProcedureStatus.ARCHIVED,
                      get_person(loop["mentor"].id))
    data["procedure_ids"] = [str(wiki["only_a"]), str(wiki["only_b"])]
    assert client.submit(f"/log/{entry.id}", data).status_code == 302
    assert _links(app, entry.id) == {wiki["only_a"], wiki["only_b"]}
    data["procedure_ids"] = []
    client.submit(f"/log/{entry.id}", data)
    assert _links(app, entry.id) == set()
    # Once unlinked, the archived procedure cannot come back.
    data["procedure_ids"] = [str(wiki["only_a"])]
    assert 'id="procedure_ids-error"' in client.submit(f"/log/{entry.id}", data).get_data(
        as_text=True)
    assert _links(app, entry.id) == set()


def test_a_draft_sent_again_from_its_create_form_keeps_an_archived_link(app, loop, wiki):
    """Saved as a draft, then Back to the create form and Submit: the form is checked as
    that draft (a new entry could not link the archived procedure; the draft may keep it)."""
    client = as_person(app, loop["apprentice"])
    data = log_form(client, wiki["a"], submit="", save_draft="1")
    data["procedure_ids"] = [str(wiki["only_a"])]
    assert client.submit("/log/new", data).status_code == 302
    with app.app_context():
        kb.set_status(kb.get_procedure(wiki["only_a"]), ProcedureStatus.ARCHIVED,
                      get_person(loop["mentor"].id))
    sent = client.submit("/log/new", {**data, "save_draft": "", "submit": "1", "minutes": "20"})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    [entry] = _entries(app, loop)
    assert (entry.state, entry.minutes) == ("submitted", 20)
    assert _links(app, entry.id) == {wiki["only_a"]}


def test_a_submitted_entrys_links_are_locked(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, wiki["a"])
    data["procedure_ids"] = [str(wiki["only_a"])]
    client.submit("/log/new", data)
    [entry] = _entries(app, loop)
    data["procedure_ids"] = [str(wiki["both"])]
    assert client.submit(f"/log/{entry.id}", data).status_code == 409
    assert _links(app, entry.id) == {wiki["only_a"]}


# -- where the links show ------------------------------------------------------------------

def test_the_links_show_on_the_entry_the_log_and_the_review_queue(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, wiki["a"])
    data["procedure_ids"] = [str(wiki["only_a"]), str(wiki["my_draft"])]
    client.submit("/log/new", data)
    [entry] = _entries(app, loop)
    link = f'<a href="/procedures/{wiki["only_a"]}">Answering at the desk</a>'
    entry_page = client.get(f"/log/{entry.id}").get_data(as_text=True)
    assert "Procedures followed" in entry_page and link in entry_page
    assert entry_page.count(link) == 1  # listed once, not again in the card
    assert link in client.get("/log/").get_data(as_text=True)
    queue = as_person(app, loop["mentor"]).get("/review/").get_data(as_text=True)
    assert link in queue
    assert f'<a href="/procedures/{wiki["my_draft"]}">My own draft for a</a>' in queue
    assert as_person(app, loop["mentor"]).get(f"/procedures/{wiki['my_draft']}"
                                              ).status_code == 200


def test_times_logged_counts_entries_beyond_drafts(app, loop, wiki):
    client = as_person(app, loop["apprentice"])
    for submit in ("1", "1", ""):
        data = log_form(client, wiki["a"], submit=submit,
                        **({} if submit else {"save_draft": "1"}))
        data["procedure_ids"] = [str(wiki["only_a"])]
        client.submit("/log/new", data)
    with app.app_context():
        assert services.times_logged(wiki["only_a"]) == 2
        assert services.times_logged(wiki["both"]) == 0


# -- no query per entry ---------------------------------------------------------------------

def _add_linked_entries(app, loop, wiki, count: int, first: int = 0) -> None:
    add_entries(app, loop, count, first, competency_id=wiki["a"],
                states=("submitted", "verified", "returned"),
                procedures=lambda n: (wiki["only_a"], (wiki["both"], wiki["only_b"])[n % 2]))


def test_dashboards_and_pages_do_not_query_per_linked_entry(app, loop, wiki):
    apprentice = as_person(app, loop["apprentice"])
    mentor = as_person(app, loop["mentor"])

    def boards():
        build_dashboards(app, loop)

    def pages():
        for client, url in ((mentor, "/review/"), (apprentice, "/log/"), (apprentice, "/")):
            assert client.get(url).status_code == 200

    _add_linked_entries(app, loop, wiki, 9)
    boards()  # the pairings, kept from here on whatever the entries (core.versions)
    small = statements_sent(app, boards), statements_sent(app, pages)
    _add_linked_entries(app, loop, wiki, 291, first=9)
    large = statements_sent(app, boards), statements_sent(app, pages)
    assert small == large
    assert "Bookmarks for b" in mentor.get("/review/").get_data(as_text=True)


def test_the_demo_links_entries_to_the_procedures_they_followed(app):
    assert app.test_cli_runner().invoke(args=["apprentice", "demo"]).exit_code == 0
    with app.app_context():
        links = db_session().execute(select(LogEntry.description, EntryProcedure.procedure_id)
                                     .join(EntryProcedure)).all()
        titles = {description[:30]: kb.get_procedure(p).title for description, p in links}
        assert len(links) >= 8
        assert titles["Read at baby storytime while M"] == "Planning baby and toddler storytime"


def test_enter_in_the_form_submits_for_review_not_suggest(app, loop):
    """Browsers submit with the form's first submit button when Enter is pressed."""
    page = as_person(app, loop["apprentice"]).get("/log/new").get_data(as_text=True)
    form = page.split('class="ap-form ap-quick-log"', 1)[1]
    first = re.search(r'<button type="submit" name="(\w+)"', form)
    assert first.group(1) == "submit"
