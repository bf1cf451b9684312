"""The search vocabulary: checked line by line, edited by coordinators only, in use at
once in every worker process, versioned (restore, back to the shipped list), shown safely."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from apprentice.audit.models import AuditRecord
from apprentice.db import db_session, make_engine, utcnow
from apprentice.kb import glossary, search, services
from apprentice.kb.models import GlossaryVersion
from apprentice.people.services import get_person
from apprentice.validation import Invalid
from tests.factories import sql_statements
from tests.loop import as_person

GROUP = "zanzibar, quokka\n"


@pytest.fixture
def cast(make_person):
    return {"coordinator": make_person(name="Carmen Ortiz", roles=["coordinator"]),
            "mentor": make_person(roles=["mentor"]), "apprentice": make_person()}


def problems(text: str) -> list[str]:
    with pytest.raises(Invalid) as refused:
        glossary.validate(text)
    return refused.value.errors["text"]


def versions(app) -> list[GlossaryVersion]:
    with app.app_context():
        return glossary.history()


def save(app, person, text, summary="", **options):
    with app.app_context():
        return glossary.save(text, summary, get_person(person.id), **options)


def ferry_timetable(app, author) -> None:
    """A published procedure that says "zanzibar" (a word no shipped group holds)."""
    with app.app_context():
        services.create(services.ProcedureDraft(title="Ferry timetable",
                                                body="Ask at the zanzibar desk.\n"),
                        get_person(author.id), publish=True)


def find(app, text) -> list[str]:
    with app.app_context():
        results = search.search(text, viewer_id=None, sees_everything=False)
    return [hit.title for hit in results.hits]


# -- the rules, line by line -------------------------------------------------------------

def test_the_shipped_list_passes_its_own_rules():
    groups = glossary.validate(glossary.shipped_text())
    assert groups[0].preferred == "interlibrary loan" and "ill" in groups[0].others


def test_notes_and_blank_lines_are_skipped_but_counted_in_line_numbers():
    text = "# our words\r\n\r\nholds, reserves\r\n  circ ,  circulation,, \r\n"
    groups = glossary.validate(text)
    assert [(g.line, g.terms) for g in groups] == [(3, ("holds", "reserves")),
                                                   (4, ("circ", "circulation"))]
    assert problems("# note\nholds, reserves\n\nILL, x\nill, y\n") == [
        "Line 5: “ill” is also on line 4; a term can be in one group only."]


@pytest.mark.parametrize(("text", "expected"), [
    ("holds, Holds", "Line 1: “Holds” is twice on this line"),
    ("a, " + "b" * 61, f"Line 1: “{'b' * 60}…” is longer than 60 characters."),
    ("x, y\nholds", "Line 2: a group needs at least 2 terms"),
    (", ".join(f"t{n}" for n in range(21)), "Line 1: 21 terms; a group holds at most 20"),
    ("bell, ring\x07", "Line 1: 'ring\\x07' holds a control or invisible character."),
    ("bell, ri\u200bng", "Line 1: 'ri\\u200bng' holds a control or invisible character."),
    ('holds, "reserves"', "Line 1: “\"reserves\"” holds \", which search reads"),
    ("holds, reserves (desk)", "Line 1: “reserves (desk)” holds ( ), which search reads"),
    ("holds, tag:holds", "Line 1: “tag:holds” holds :, which search reads"),
    ("circ*, circulation", "Line 1: “circ*” holds *, which search reads"),
    ("wh?, who", "holds ?, which"),
    ("a^2, b", "holds ^, which"),
    ("[a, b]", "holds [, which"),
    ("-ill, loan", "Line 1: “-ill” starts with -, which search reads as include or exclude."),
    ("'tis, it is", "apostrophe at the start of a word"),
    ("NOT, never", "Line 1: “NOT” is a search operator"),
    ("or, either", "Line 1: “or” is a search operator"),
    ("..., dots", "Line 1: “...” needs a letter or a digit."),
])
def test_each_rule_says_which_line(text, expected):
    assert any(message.startswith(expected) or expected in message
               for message in problems(text)), problems(text)


def test_the_size_of_the_whole_list_is_capped():
    too_many = "".join(f"term{n}a, term{n}b\n" for n in range(glossary.MAX_GROUPS + 1))
    assert problems(too_many)[0] == "2,001 groups; the limit is 2,000."
    too_long = "a" * 50 + ", b\n" + "#" * 100_000
    assert problems(too_long) == [
        "The list is too long (100,054 characters; the limit is 100,000)."]


def test_a_flood_of_problems_is_summed_up():
    messages = problems("".join(f"alone{n}\n" for n in range(80)))
    assert len(messages) == 51 and messages[-1] == "… and 30 more problems."


def test_reading_a_stored_list_drops_what_search_could_not_use():
    groups = glossary.parse('holds, "bad", reserves\nalone\nill, loan\nILL, again, more\n')
    assert [g.terms for g in groups] == [("holds", "reserves"), ("ill", "loan"),
                                         ("again", "more")]


# -- who may change it -------------------------------------------------------------------

def test_everyone_reads_the_vocabulary_and_finds_it_from_the_search_page(app, cast):
    client = as_person(app, cast["apprentice"])
    page = client.get("/procedures/glossary").get_data(as_text=True)
    assert "typing any of these finds the others" in page
    assert "<strong>interlibrary loan</strong></td><td>ill, inter-library loan" in page
    assert "Edit the vocabulary" not in page
    assert 'href="/procedures/glossary"' in client.get("/procedures/").get_data(as_text=True)


@pytest.mark.parametrize("who", ["apprentice", "mentor"])
def test_only_coordinators_may_change_it(app, cast, who):
    client = as_person(app, cast[who])
    assert client.get("/procedures/glossary/edit").status_code == 403
    assert client.submit("/procedures/glossary/edit",
                         {"text": GROUP, "based_on": "0"}).status_code == 403
    assert client.get("/procedures/glossary/history").status_code == 403
    assert client.submit("/procedures/glossary/reset").status_code == 403
    assert client.submit("/procedures/glossary/restore/1").status_code == 403
    with pytest.raises(Invalid, match="Only coordinators change the search vocabulary"):
        save(app, cast[who], GROUP)
    with app.app_context():
        with pytest.raises(Invalid, match="Only coordinators"):
            glossary.reset(get_person(cast[who].id))
        with pytest.raises(Invalid, match="Only coordinators"):
            glossary.save(GROUP, "", None)
    assert versions(app) == []


# -- in use at once ----------------------------------------------------------------------

def test_a_saved_group_changes_search_at_once(app, cast):
    ferry_timetable(app, cast["mentor"])
    assert find(app, "quokka") == []
    client = as_person(app, cast["coordinator"])
    response = client.submit("/procedures/glossary/edit", {
        "text": glossary.shipped_text() + GROUP, "summary": "Island words", "based_on": "0"})
    assert response.status_code == 302
    assert find(app, "quokka") == ["Ferry timetable"]
    with app.app_context():  # a small library: the index was rebuilt with the new list
        assert search.built_with_current_glossary()
    reader = as_person(app, cast["apprentice"])
    assert [r["title"] for r in reader.get("/api/search?q=quokka").get_json()["results"]] == [
        "Ferry timetable"]
    assert find(app, "ILL") == []  # the shipped groups are still there, nothing else changed
    page = reader.get("/procedures/glossary").get_data(as_text=True)
    assert "<strong>zanzibar</strong></td><td>quokka" in page
    assert "by Carmen Ortiz: Island words" in page


def test_a_failed_index_rebuild_never_fails_the_save(app, cast, monkeypatch):
    ferry_timetable(app, cast["mentor"])

    def broken(**_options):
        raise OSError("disk full")

    monkeypatch.setattr(search, "sync_glossary", broken)
    save(app, cast["coordinator"], GROUP)
    assert len(versions(app)) == 1
    assert find(app, "quokka") == ["Ferry timetable"]  # the slower way, still right


def test_the_cache_sees_a_save_made_by_another_process(app, cast):
    with app.app_context():
        first = glossary.synonyms()
        assert "quokka" not in first
    with sql_statements(app) as statements, app.app_context():
        assert glossary.synonyms() is first  # nothing saved: no query but the id
    assert [s for s in statements if s.startswith("SELECT")] == [statements[-1]]
    # Another worker process: its own engine and connection.
    other = make_engine(app.extensions["apprentice"].database.url)
    with other.begin() as connection:
        connection.execute(insert(GlossaryVersion).values(
            text=GROUP, summary="from elsewhere", created_at=utcnow()))
    other.dispose()
    with app.app_context():
        assert glossary.synonyms()["quokka"] == ["zanzibar", "quokka"]
        assert "ill" not in glossary.synonyms()
        cached = glossary.synonyms()
        assert glossary.synonyms() is cached
        assert glossary.current() == GROUP


def test_a_glossary_stored_with_broken_terms_never_breaks_search(app, cast):
    other = make_engine(app.extensions["apprentice"].database.url)
    with other.begin() as connection:
        connection.execute(insert(GlossaryVersion).values(
            text='holds, "re(serves, tag:x\nzanzibar, quokka, OR\n', summary="",
            created_at=utcnow()))
    other.dispose()
    with app.app_context():
        assert glossary.synonyms() == {"zanzibar": ["zanzibar", "quokka"],
                                       "quokka": ["zanzibar", "quokka"]}
    client = as_person(app, cast["apprentice"])
    assert client.get("/procedures/?q=holds").status_code == 200


@pytest.mark.parametrize("term", ["c++", "readers' advisory corner", "children's", "a/v", "Q&A",
                                  "wi-fi zone", "e.g.", "café crème", "50% off", "#hashtag"])
def test_terms_the_rules_accept_work_in_search(app, cast, term):
    ferry_timetable(app, cast["mentor"])
    save(app, cast["coordinator"], f"zanzibar, {term}\n")
    assert find(app, term) == ["Ferry timetable"]


# -- versions ----------------------------------------------------------------------------

def test_restore_and_reset_add_versions_and_keep_the_history(app, cast):
    first = save(app, cast["coordinator"], GROUP, "Islands")
    second = save(app, cast["coordinator"], "holds, reserves\n", "Holds only")
    client = as_person(app, cast["coordinator"])
    page = client.get("/procedures/glossary/history").get_data(as_text=True)
    assert "Holds only" in page and "Islands" in page and "Carmen Ortiz" in page
    assert f'action="/procedures/glossary/restore/{first.id}"' in page
    assert f'action="/procedures/glossary/restore/{second.id}"' not in page  # in use

    response = client.submit(f"/procedures/glossary/restore/{first.id}", follow_redirects=True)
    assert f"Version {first.id} is in use again" in response.get_data(as_text=True)
    with app.app_context():
        assert glossary.current() == GROUP
        assert "quokka" in glossary.synonyms()

    response = client.submit("/procedures/glossary/reset", follow_redirects=True)
    assert "The shipped list is in use again" in response.get_data(as_text=True)
    with app.app_context():
        assert glossary.current() == glossary.shipped_text()
        assert "quokka" not in glossary.synonyms()
    history = versions(app)
    assert [v.summary for v in history] == [
        "Back to the shipped list", f"Restored version {first.id}", "Holds only", "Islands"]
    with app.app_context():
        actions = list(db_session().scalars(select(AuditRecord.action).where(
            AuditRecord.action.like("glossary.%")).order_by(AuditRecord.id)))
    assert actions == ["glossary.saved", "glossary.saved", "glossary.restored",
                       "glossary.reset"]
    page = client.get("/procedures/glossary/history").get_data(as_text=True)
    assert 'action="/procedures/glossary/reset"' not in page  # the shipped list is in use


def test_the_same_text_again_writes_nothing(app, cast):
    client = as_person(app, cast["coordinator"])
    shipped_from_a_browser = glossary.shipped_text().replace("\n", "\r\n")
    response = client.submit("/procedures/glossary/edit", {
        "text": shipped_from_a_browser, "based_on": "0"}, follow_redirects=True)
    assert "No changes to save." in response.get_data(as_text=True)
    assert versions(app) == []
    save(app, cast["coordinator"], GROUP)
    with pytest.raises(glossary.NoChanges, match=r"No changes to save\."):
        save(app, cast["coordinator"], GROUP + "\n\n")
    only = versions(app)
    assert len(only) == 1
    response = client.submit(f"/procedures/glossary/restore/{only[0].id}",
                             follow_redirects=True)
    assert "No changes to save." in response.get_data(as_text=True)
    with app.app_context():
        assert db_session().scalar(select(func.count(GlossaryVersion.id))) == 1


def test_the_edit_form_shows_problems_by_line_and_keeps_the_text(app, cast):
    client = as_person(app, cast["coordinator"])
    typed = "holds, reserves\nreserves, pickup\n<img src=x onerror=alert(1)>, x"
    response = client.submit("/procedures/glossary/edit",
                             {"text": typed, "summary": "<b>bold</b>", "based_on": "0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    errors = page.split('id="text-error"')[1].split("</div>")[0]
    assert "Line 2: “reserves” is also on line 1" in errors
    assert "Line 3: “&lt;img src=x onerror=alert(1)&gt;” holds ( )" in errors
    assert "<img" not in page.split('id="ap-main"')[1]
    assert ("\nholds, reserves\nreserves, pickup\n&lt;img src=x onerror=alert(1)&gt;, x"
            "</textarea>") in page
    assert 'value="&lt;b&gt;bold&lt;/b&gt;"' in page
    assert versions(app) == []


def test_hostile_terms_are_shown_as_text(app, cast):
    save(app, cast["coordinator"], "<script>alert</script>, <b>x</b>\n", "<i>sneaky</i>")
    client = as_person(app, cast["apprentice"])
    page = client.get("/procedures/glossary").get_data(as_text=True)
    assert "&lt;script&gt;alert&lt;/script&gt;" in page and "<script>alert" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "&lt;i&gt;sneaky&lt;/i&gt;" in page
    history = as_person(app, cast["coordinator"]).get("/procedures/glossary/history")
    assert "&lt;i&gt;sneaky&lt;/i&gt;" in history.get_data(as_text=True)


def test_a_save_made_while_editing_is_not_overwritten(app, cast):
    client = as_person(app, cast["coordinator"])
    form = client.get("/procedures/glossary/edit").get_data(as_text=True)
    assert 'name="based_on" type="hidden" value="0"' in form
    save(app, cast["coordinator"], GROUP)  # someone else, meanwhile
    response = client.submit("/procedures/glossary/edit",
                             {"text": "holds, reserves\n", "based_on": "0"})
    page = response.get_data(as_text=True)
    assert "Someone else saved the vocabulary while you were editing it" in page
    assert "\nholds, reserves\n</textarea>" in page
    with app.app_context():
        assert glossary.current() == GROUP


def test_the_service_refuses_a_save_started_from_an_older_version(app, cast):
    first = save(app, cast["coordinator"], GROUP)
    with pytest.raises(Invalid, match="Someone else saved the vocabulary"):
        save(app, cast["coordinator"], "holds, reserves\n", based_on=0)
    second = save(app, cast["coordinator"], "holds, reserves\n", based_on=first.id)
    assert [v.id for v in versions(app)] == [second.id, first.id]


@pytest.mark.parametrize("data", [
    {"text": "holds, reserves", "based_on": "not a number"},
    {"text": "holds, reserves", "based_on": "9" * 40},
    {"text": "holds, reserves", "summary": "x" * 400, "based_on": "0"},
    {"text": "x" * 100_001, "based_on": "0"},
    {"text": "", "based_on": "0"},
    {"text": "holds, reserves\u2028more, words", "based_on": "0"},
])
def test_odd_input_never_answers_500(app, cast, data):
    client = as_person(app, cast["coordinator"])
    assert client.submit("/procedures/glossary/edit", data).status_code in (200, 302)
    assert client.submit("/procedures/glossary/restore/999").status_code == 302
    assert client.submit("/procedures/glossary/restore/99999999999").status_code == 404


# -- a form that does not say where it started, and an emptied list (issue 10) ----------

EDIT = "/procedures/glossary/edit"


def summary_of(page: str) -> str:
    """The error summary at the top of the refused form."""
    return page.split('class="ap-error-summary"')[1].split("</div>")[0]


def based_on_in(page: str) -> str:
    return page.split('name="based_on" type="hidden" value="')[1].split('"')[0]


@pytest.mark.parametrize("sent", [
    pytest.param({"text": "holds, reserves\n"}, id="no based_on"),
    pytest.param({"text": "holds, reserves\n", "based_on": ""}, id="empty based_on"),
    pytest.param({"text": "holds, reserves\n", "based_on": "latest"}, id="not a number"),
    pytest.param({"text": "holds, reserves\n", "based_on": "9" * 40}, id="out of range"),
    pytest.param({}, id="nothing at all"),
])
def test_a_form_that_does_not_say_where_it_started_saves_nothing(app, cast, sent):
    first = save(app, cast["coordinator"], GROUP)  # someone else's save, meanwhile
    client = as_person(app, cast["coordinator"])
    response = client.submit(EDIT, sent)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "did not say which version of the vocabulary you started from" in summary_of(page)
    assert f"{sent.get('text', '')}</textarea>" in page  # what they typed is kept
    assert [v.id for v in versions(app)] == [first.id]
    with app.app_context():
        assert glossary.current() == GROUP  # not overwritten unseen


def test_after_the_warning_the_same_form_saves(app, cast):
    # Told that someone saved meanwhile (or that the start was unknown), the coordinator
    # compares and sends the same page again: that now saves, over the version they saw.
    client = as_person(app, cast["coordinator"])
    form = client.get(EDIT).get_data(as_text=True)
    first = save(app, cast["coordinator"], GROUP)  # someone else, meanwhile
    refused = client.submit(EDIT, {"text": "holds, reserves\n", "based_on": based_on_in(form)})
    page = refused.get_data(as_text=True)
    assert "Someone else saved the vocabulary" in summary_of(page)
    assert based_on_in(page) == str(first.id)
    again = client.submit(EDIT, {"text": "holds, reserves\n", "based_on": based_on_in(page)})
    assert again.status_code == 302
    with app.app_context():
        assert glossary.current() == "holds, reserves\n"


@pytest.mark.parametrize("text", ["", "   \r\n\r\n", "# Our words, to come\n"])
def test_an_emptied_list_is_refused_until_the_coordinator_ticks_to_confirm(app, cast, text):
    client = as_person(app, cast["coordinator"])
    assert 'name="confirm_empty"' not in client.get(EDIT).get_data(as_text=True)
    refused = client.submit(EDIT, {"text": text, "based_on": "0"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 200
    beside_the_text = page.split('id="text-error"')[1].split("</div>")[0]
    assert "The list has no groups of terms" in beside_the_text
    assert "tick “Save an empty list”" in beside_the_text
    assert 'name="confirm_empty"' in page and "Save an empty list</label>" in page
    assert versions(app) == []
    with app.app_context():
        assert glossary.synonyms()["ill"]  # the shipped list still in use
    saved = client.submit(EDIT, {"text": text, "based_on": "0", "confirm_empty": "y"})
    assert saved.status_code == 302
    [version] = versions(app)
    with app.app_context():
        assert glossary.parse(version.text) == [] and glossary.synonyms() == {}


def test_the_service_refuses_an_unconfirmed_empty_list_and_an_unknown_start(app, cast):
    with pytest.raises(glossary.EmptyGlossary, match="no groups of terms"):
        save(app, cast["coordinator"], "# nothing yet\n")
    assert versions(app) == []
    save(app, cast["coordinator"], "", allow_empty=True)
    assert len(versions(app)) == 1
    assert [glossary.started_from(v) for v in ("0", " 0 ", "7")] == [0, 0, 7]
    for value in (None, "", "latest", "-1", "9" * 40, "0x10"):
        with pytest.raises(glossary.StartNotInUse):
            glossary.started_from(value)
