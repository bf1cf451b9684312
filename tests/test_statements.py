"""The personal learning statement (apprentice/statements): the apprentice writes it in
Markdown, every save a new revision with who and when, a save from an older revision
refused, about three pages at most; who may open the apprentice's page reads it."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from apprentice.audit import describe
from apprentice.audit.models import AuditRecord
from apprentice.competencies import services as frameworks
from apprentice.db import db_session
from apprentice.people.services import get_person
from apprentice.records import record_of
from apprentice.statements import services as statements
from apprentice.statements.models import StatementRevision
from apprentice.training import services as training
from apprentice.validation import Invalid
from tests.loop import as_person

TOKEN = re.compile(r'name="form_token"[^>]*value="([^"]+)"')
BASED_ON = re.compile(r'name="based_on"[^>]*value="([^"]*)"')


def edit_url(person) -> str:
    return f"/apprentices/{person.id}/statement/edit"


def show_url(person) -> str:
    return f"/apprentices/{person.id}/statement"


def opened_form(client, person) -> dict:
    """The edit form as the page hands it out: its one-time token and starting revision."""
    page = client.get(edit_url(person)).get_data(as_text=True)
    return {"form_token": TOKEN.search(page).group(1),
            "based_on": BASED_ON.search(page).group(1)}


def write(client, person, overall: str, form: dict | None = None, **areas):
    return client.submit(edit_url(person), {**(form or opened_form(client, person)),
                                            "overall": overall, **areas})


def revisions(app, person) -> list[tuple[int, str, int | None]]:
    with app.app_context():
        return [(r.number, r.overall, r.author_id) for r in db_session().scalars(
            select(StatementRevision).where(StatementRevision.person_id == person.id)
            .order_by(StatementRevision.number))]


def plain(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def first_area(app, person):
    with app.app_context():
        area = statements.areas_to_write(person.id)[0]
        return area.id, area.name


# -- writing and revising ------------------------------------------------------------------

def test_writing_then_revising_keeps_every_revision_with_who_and_when(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    area_id, area_name = first_area(app, jordan)
    assert opened_form(client, jordan)["based_on"] == "0"
    response = write(client, jordan, "I learned to run the **issue desk**.",
                     **{f"area_{area_id}": "Checked out books for a whole shift."})
    assert response.status_code == 302
    response = write(client, jordan, "I learned to run the issue desk and the holds shelf.")
    assert response.status_code == 302

    assert revisions(app, jordan) == [
        (1, "I learned to run the **issue desk**.", jordan.id),
        (2, "I learned to run the issue desk and the holds shelf.", jordan.id)]
    page = client.get(show_url(jordan)).get_data(as_text=True)
    words = plain(page)
    assert "Revision 2, saved by Jordan Lee on" in words
    assert "the holds shelf" in words and area_name not in words  # the area was cleared
    history = plain(page[page.index('id="statement-history"'):])
    assert re.search(r"2 shown \d{4}-\d\d-\d\d \d\d:\d\d Jordan Lee 11 "
                     r"1 \d{4}-\d\d-\d\d \d\d:\d\d Jordan Lee 14", history), history
    # The first revision is still there, as it was saved, its area with it.
    older = client.get(f"/apprentices/{jordan.id}/statement/revisions/1").get_data(as_text=True)
    assert "<strong>issue desk</strong>" in older
    assert area_name in plain(older) and "Checked out books for a whole shift." in older
    assert "an earlier one: read the newest, revision 2" in plain(older)
    assert client.get(f"/apprentices/{jordan.id}/statement/revisions/3").status_code == 404


def test_the_edit_form_starts_from_the_newest_revision(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    write(client, jordan, "Version one of my statement.")
    page = client.get(edit_url(jordan)).get_data(as_text=True)
    assert BASED_ON.search(page).group(1) == "1"
    assert "Version one of my statement.</textarea>" in page
    assert "5 of 1,500 words" in page  # the word count, before any script runs


def test_a_save_from_an_older_revision_is_refused_and_the_text_kept(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    write(client, jordan, "The first words.")
    first_tab, second_tab = opened_form(client, jordan), opened_form(client, jordan)
    assert write(client, jordan, "Saved in the first tab.", first_tab).status_code == 302

    response = write(client, jordan, "Typed in the second tab.", second_tab)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert ("A newer revision of your statement was saved while you were editing (revision 2; "
            "you started from 1), perhaps in another tab. Nothing was saved") in plain(page)
    assert "Typed in the second tab.</textarea>" in page
    assert [r[1] for r in revisions(app, jordan)] == ["The first words.",
                                                      "Saved in the first tab."]
    # Told so, the writer may save again from the page they were shown.
    again = {"form_token": TOKEN.search(page).group(1), "based_on": BASED_ON.search(page).group(1)}
    assert again["based_on"] == "2"
    assert write(client, jordan, "Typed in the second tab.", again).status_code == 302
    assert revisions(app, jordan)[-1][:2] == (3, "Typed in the second tab.")


@pytest.mark.parametrize("based_on", [
    pytest.param(None, id="missing"), pytest.param("", id="blank"),
    pytest.param("one", id="not a number"),
])
def test_a_form_that_does_not_say_where_it_started_saves_nothing(app, loop, based_on):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    form = opened_form(client, jordan)
    if based_on is None:
        del form["based_on"]
    else:
        form["based_on"] = based_on
    page = write(client, jordan, "No starting point.", form).get_data(as_text=True)
    assert "did not say which revision of your statement you started from" in plain(page)
    assert revisions(app, jordan) == []


def test_the_starting_revision_is_a_number_or_the_save_is_refused():
    assert [statements.started_from(v) for v in ("0", " 0 ", "7")] == [0, 0, 7]
    for value in (None, "", "one", "-1", "2147483648"):
        with pytest.raises(statements.StaleStatement) as refused:
            statements.started_from(value)
        assert refused.value.errors == {None: [statements.UNKNOWN_START]}


def test_over_the_word_limit_is_refused_with_the_text_kept(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    area_id, _ = first_area(app, jordan)
    overall = " ".join(["desk"] * 1_000)
    area_text = " ".join(["shelf"] * 501)  # 1,501 words in all
    response = write(client, jordan, overall, **{f"area_{area_id}": area_text})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ("Your statement is 1,501 words; the limit is 1,500 (about three pages) for the "
            "overall statement and the areas together. Shorten it by 1 word") in plain(page)
    assert f"{overall}</textarea>" in page and f"{area_text}</textarea>" in page
    # The count says so at the top of the form and again by the Save button.
    assert page.count("1 word too many") == 2
    assert revisions(app, jordan) == []
    # Exactly at the limit is fine.
    response = write(client, jordan, overall, **{f"area_{area_id}": " ".join(["shelf"] * 500)})
    assert response.status_code == 302


@pytest.mark.parametrize(("text", "words"), [
    pytest.param("## My year\n\n- Ran the **desk**\n- 3 shifts", 7, id="markdown marks"),
    pytest.param("Read [the manual](https://library.example/manual) — twice.", 4,
                 id="a link and a dash"),
    pytest.param("   \n\t", 0, id="blank"),
])
def test_words_are_counted_as_a_reader_counts_them(text, words):
    assert statements.count_words(text) == words


def test_a_blank_overall_statement_is_refused_next_to_its_box(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    area_id, _ = first_area(app, jordan)
    page = write(client, jordan, "  \r\n ", **{f"area_{area_id}": "Only an area."}
                 ).get_data(as_text=True)
    error = re.search(r'<div class="ap-error" id="overall-error">(.*?)</div>', page, re.S)
    assert error and statements.NO_OVERALL in plain(error.group(1))
    assert "Only an area.</textarea>" in page
    assert revisions(app, jordan) == []


def test_the_same_text_again_adds_no_revision(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    write(client, jordan, "Nothing new.")
    response = write(client, jordan, "Nothing new.\r\n")
    assert response.status_code == 302
    assert len(revisions(app, jordan)) == 1


def test_a_form_sent_twice_saves_one_revision(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    form = opened_form(client, jordan)
    assert write(client, jordan, "Sent twice.", form).status_code == 302
    again = write(client, jordan, "Sent twice.", form)
    assert again.status_code == 200 and "View your learning statement" in again.get_data(
        as_text=True)
    assert len(revisions(app, jordan)) == 1


def test_a_statement_sent_after_the_sign_in_ended_is_kept_for_its_writer(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    data = {**opened_form(client, jordan), "overall": "Typed while my session ran out.",
            "csrf_token": client.csrf_token()}
    with client.session_transaction() as session:
        session.clear()
    response = client.post(edit_url(jordan), data=data)
    assert response.status_code == 401
    assert revisions(app, jordan) == []
    [link] = re.findall(r'href="(/sign-in\?next=[^"]+)"', response.get_data(as_text=True))
    target = unquote(parse_qs(urlsplit(html.unescape(link)).query)["next"][0])
    assert target.startswith(f"{edit_url(jordan)}?kept=")
    as_person(app, jordan, client)
    page = client.get(target).get_data(as_text=True)
    assert "Typed while my session ran out.</textarea>" in page


# -- Markdown through the sanitiser ----------------------------------------------------------

def test_markdown_is_rendered_and_script_is_stripped(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    write(client, jordan, "I can **issue cards**.\n\n<script>alert('x')</script>\n\n"
                          "[click](javascript:alert(1)) <img src=x onerror=alert(1)>")
    page = client.get(show_url(jordan)).get_data(as_text=True)
    article = page[page.index('<article class="ap-procedure ap-statement"'):page.index(
        "</article>")]
    assert "<strong>issue cards</strong>" in article
    # Raw HTML and a javascript: link are shown as the text typed, never as markup.
    assert "<script" not in article and "<img" not in article
    assert "&lt;script&gt;alert" in article
    assert 'href="javascript' not in article and "<a " not in article


# -- who reads it ----------------------------------------------------------------------------

@pytest.fixture
def written(app, loop):
    """Jordan's statement: an overall one, and one on each of the first two areas."""
    jordan = loop["apprentice"]
    with app.app_context():
        areas = statements.areas_to_write(jordan.id)[:2]
        person = get_person(jordan.id)
        statements.save(person, statements.StatementDraft(
            "My overall statement.", {areas[0].id: "About the first area.",
                                      areas[1].id: "About the second area."}),
            person, based_on=0)
        return [(a.id, a.name) for a in areas]


@pytest.mark.parametrize(("who", "status"), [
    pytest.param("apprentice", 200, id="the apprentice"),
    pytest.param("mentor", 200, id="a mentor paired with them"),
    pytest.param("coordinator", 200, id="a coordinator"),
    pytest.param("other", 404, id="a mentor not paired with them"),
    pytest.param("other apprentice", 404, id="another apprentice"),
])
def test_who_reads_the_statement(app, loop, make_person, written, who, status):
    person = (make_person(name="Sam Other", roles=["apprentice"]) if who == "other apprentice"
              else loop[who])
    client = as_person(app, person)
    jordan = loop["apprentice"]
    for url in (show_url(jordan), f"/apprentices/{jordan.id}/statement/revisions/1"):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == status, url
        assert ("My overall statement." in page) == (status == 200)
        assert ("About the second area." in page) == (status == 200)


@pytest.mark.parametrize("who", ["mentor", "coordinator", "other", "other apprentice"])
def test_nobody_but_the_apprentice_writes_it(app, loop, make_person, written, who):
    person = (make_person(name="Sam Other", roles=["apprentice"]) if who == "other apprentice"
              else loop[who])
    client = as_person(app, person)
    jordan = loop["apprentice"]
    assert client.get(edit_url(jordan)).status_code in (403, 404)
    response = client.submit(edit_url(jordan), {"overall": "Not mine to write.",
                                                "based_on": "1"})
    assert response.status_code in (403, 404)
    assert [r[1] for r in revisions(app, jordan)] == ["My overall statement."]
    page = client.get(show_url(jordan)).get_data(as_text=True)
    assert edit_url(jordan) not in page  # no Edit button for a reader


def test_a_mentor_paired_for_one_area_reads_that_area_only(app, loop, make_person, written):
    _first, (second_id, second_name) = written
    jordan = loop["apprentice"]
    samuel = make_person(name="Area Mentor Samuel", roles=["mentor"])
    with app.app_context():
        training.create_pairing(get_person(jordan.id), get_person(samuel.id),
                                starts_on=date.today() - timedelta(days=3),
                                area_ids=[second_id])
    page = as_person(app, samuel).get(show_url(jordan)).get_data(as_text=True)
    assert "My overall statement." in page
    assert "About the second area." in page and second_name in plain(page)
    assert "About the first area." not in page
    assert (f"Your pairing with Jordan Lee covers {second_name} only, so this page shows the "
            "overall statement and what they wrote about that area.") in plain(page)


def test_a_pairing_that_ended_no_longer_reads_it(app, loop, make_person, written):
    jordan = loop["apprentice"]
    former = make_person(name="Former Mentor", roles=["mentor"])
    with app.app_context():
        training.create_pairing(get_person(jordan.id), get_person(former.id),
                                starts_on=date.today() - timedelta(days=60),
                                ends_on=date.today() - timedelta(days=1))
    assert as_person(app, former).get(show_url(jordan)).status_code == 404


def test_the_home_page_and_the_record_page_link_to_it(app, loop):
    jordan = loop["apprentice"]
    home = as_person(app, jordan).get("/").get_data(as_text=True)
    assert f'href="{show_url(jordan)}">Learning statement</a>' in home
    record = as_person(app, loop["mentor"]).get(f"/apprentices/{jordan.id}").get_data(
        as_text=True)
    assert f'href="{show_url(jordan)}">Learning statement</a>' in record
    empty = as_person(app, loop["mentor"]).get(show_url(jordan)).get_data(as_text=True)
    assert "Jordan Lee has not written a learning statement yet." in empty


# -- the audit trail and the database ----------------------------------------------------------

def test_each_save_is_audited_in_words(app, loop):
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    write(client, jordan, "Three words here.")
    write(client, jordan, "Now it is five words.")
    with app.app_context():
        records = list(db_session().scalars(select(AuditRecord).where(
            AuditRecord.action == "statement.saved").order_by(AuditRecord.id)))
        assert [(r.actor_id, r.object_type, describe.details_of(r)) for r in records] == [
            (jordan.id, "StatementRevision",
             {"person": jordan.id, "number": 1, "words": 3, "areas": []}),
            (jordan.id, "StatementRevision",
             {"person": jordan.id, "number": 2, "words": 5, "areas": []})]
        sentence = describe.describe_all(records)[1][1]
    assert str(sentence) == "Jordan Lee saved revision 2 of their learning statement (5 words)"
    assert describe.Link("learning statement", "statement", jordan.id) in sentence.parts
    assert describe.kind_label("statement.saved") == "Learning statement"
    audit_page = as_person(app, loop["coordinator"]).get("/audit/").get_data(as_text=True)
    assert f'<a href="{show_url(jordan)}">learning statement</a>' in audit_page


def test_the_database_refuses_to_change_or_remove_a_revision(app, loop, written):
    with app.app_context():
        session = db_session()
        for statement in ("UPDATE apprentice_statement_revisions SET overall = 'Rewritten'",
                          "DELETE FROM apprentice_statement_sections"):
            with pytest.raises(DatabaseError) as caught:
                session.execute(text(statement))
            assert "append-only" in str(caught.value)
            session.rollback()
        assert session.scalar(select(func.count()).select_from(StatementRevision)) == 1


def test_the_statement_as_it_stood_on_a_day(app, loop):
    """For the record's read model: the newest revision saved by a given time."""
    jordan = loop["apprentice"]
    client = as_person(app, jordan)
    write(client, jordan, "Early words.")
    with app.app_context():
        first = statements.newest(jordan.id)
        saved_at = first.created_at
    write(client, jordan, "Later words.")
    with app.app_context():
        assert statements.newest(jordan.id).overall == "Later words."
        later = statements.newest(jordan.id).created_at
        assert statements.newest_rows(jordan.id, before=later).revision.overall == "Early words."
        assert statements.newest_rows(jordan.id, before=saved_at) is None


def test_the_record_carries_the_statement_as_it_stood_on_its_day(app, loop, written):
    jordan = loop["apprentice"]
    with app.app_context():
        statement = record_of(jordan.id).statement
        assert statement.number == 1 and statement.overall == "My overall statement."
        assert [(s.area_id, s.area_name, s.body) for s in statement.sections] == [
            (written[0][0], written[0][1], "About the first area."),
            (written[1][0], written[1][1], "About the second area.")]
        assert statement.author.id == jordan.id
        assert [s.area_id for s in statement.sections_in(frozenset({written[1][0]}))] == [
            written[1][0]]
        assert record_of(jordan.id, as_of=date.today() - timedelta(days=1)).statement is None


def test_the_boxes_are_the_programmes_areas_required_and_chosen(app, loop):
    jordan = loop["apprentice"]
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        chosen = [a.id for a in framework.current_areas if not a.required][:3]
        offered = [a.id for a in framework.current_areas if a.required or a.id in chosen]
        left_out = [a.id for a in framework.current_areas if not a.required][3:]
    page = as_person(app, jordan).get(edit_url(jordan)).get_data(as_text=True)
    boxes = [int(n) for n in re.findall(r'<textarea[^>]*name="area_(\d+)"', page)]
    assert boxes == offered and left_out
    # An area that is not offered is refused, not stored.
    response = write(as_person(app, jordan), jordan, "Overall.",
                     **{f"area_{left_out[0]}": "Not my elective."})
    assert response.status_code == 302  # not a field of the form: ignored
    with app.app_context():
        assert statements.newest(jordan.id).sections == []
        with pytest.raises(Invalid):
            statements.save(get_person(jordan.id), statements.StatementDraft(
                "Overall, again.", {left_out[0]: "Not my elective."}), get_person(jordan.id),
                based_on=1)


@pytest.mark.parametrize("who", ["mentor", "coordinator"])
def test_the_service_asks_who_writes_again(app, loop, who):
    with app.app_context():
        with pytest.raises(Invalid, match="Only the apprentice writes"):
            statements.save(get_person(loop["apprentice"].id),
                            statements.StatementDraft("Written for them."),
                            get_person(loop[who].id), based_on=0)
        assert statements.newest(loop["apprentice"].id) is None
