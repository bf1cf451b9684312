"""The procedures wiki's permission predicates (apprentice.kb.permissions), each asked
directly with the publishing setting on and off, and the pages that used to decide
for themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from apprentice.db import db_session
from apprentice.kb import permissions
from apprentice.kb import services as kb
from apprentice.kb.models import Procedure, ProcedureStatus
from apprentice.people.models import is_coordinator
from apprentice.people.services import get_person
from apprentice.programmes import services as programmes
from apprentice.training import services as training
from tests.loop import as_person, log_form


@pytest.fixture(params=[True, False], ids=["everyone-publishes", "publishers-only"])
def everyone(request, app):
    app.config["APPRENTICE_KB_EVERYONE_PUBLISHES"] = request.param
    return request.param


@pytest.fixture
def cast(app, make_person):
    """An apprentice with a draft, another apprentice, a mentor, a coordinator; a
    published page, the apprentice's draft and an archived page (both by the mentor
    or the apprentice); ids only."""
    people = {role: make_person(roles=[role]) for role in ("apprentice", "mentor",
                                                           "coordinator")}
    people["stranger"] = make_person(roles=["apprentice"])
    app.config["APPRENTICE_KB_EVERYONE_PUBLISHES"] = False
    with app.app_context():
        mentor, apprentice = get_person(people["mentor"].id), get_person(people["apprentice"].id)
        published = kb.create(kb.ProcedureDraft(title="Shelving", body="1. Shelve."), mentor,
                              publish=True)
        draft = kb.create(kb.ProcedureDraft(title="My draft", body="1. Mine."), apprentice,
                          publish=True)
        archived = kb.create(kb.ProcedureDraft(title="Old way", body="1. Old."), mentor,
                             publish=True)
        kb.set_status(archived, ProcedureStatus.ARCHIVED, mentor)
        assert draft.status == ProcedureStatus.DRAFT.value
        return {**people, "published": published.id, "draft": draft.id,
                "archived": archived.id}


def _people(cast):
    return {name: get_person(cast[name].id)
            for name in ("apprentice", "stranger", "mentor", "coordinator")}


def _procedures(cast):
    return {name: db_session().get(Procedure, cast[name])
            for name in ("published", "draft", "archived")}


def test_may_publish_follows_the_setting_for_apprentices_only(app, cast, everyone):
    with app.test_request_context():
        people = _people(cast)
        assert permissions.may_publish(people["apprentice"]) is everyone
        assert permissions.may_publish(people["mentor"])
        assert permissions.may_publish(people["coordinator"])
        assert not permissions.may_publish(None)
        assert all(permissions.may_propose(p) for p in people.values())
        assert not permissions.may_propose(None)


def test_may_see_procedure_owner_publishers_and_the_setting(app, cast, everyone):
    with app.test_request_context():
        people, pages = _people(cast), _procedures(cast)
        see = permissions.may_see_procedure
        for person in people.values():
            assert see(person, pages["published"])
        assert see(people["apprentice"], pages["draft"])  # the owner of the draft
        assert see(people["apprentice"], pages["archived"]) is everyone
        assert see(people["stranger"], pages["draft"]) is everyone
        for name in ("mentor", "coordinator"):
            assert see(people[name], pages["draft"]) and see(people[name], pages["archived"])
        assert not see(None, pages["published"])


def test_the_sql_clause_and_the_search_options_say_what_the_predicate_says(app, cast,
                                                                           everyone):
    with app.test_request_context():
        pages = _procedures(cast)
        for person in _people(cast).values():
            listed = set(db_session().scalars(select(Procedure.id).where(
                permissions.visible_procedures_clause(person))))
            assert listed == {p.id for p in pages.values()
                              if permissions.may_see_procedure(person, p)}
            assert {p.id for p in kb.listing(person)} == listed
            assert permissions.search_visibility(person) == {
                "viewer_id": person.id, "sees_everything": permissions.may_publish(person)}


def test_may_edit_check_propose_change(app, cast, everyone):
    with app.test_request_context():
        people, pages = _people(cast), _procedures(cast)
        apprentice, stranger = people["apprentice"], people["stranger"]
        assert permissions.may_edit_procedure(apprentice, pages["published"]) is everyone
        assert permissions.may_edit_procedure(people["mentor"], pages["draft"])
        assert permissions.may_propose_change(apprentice, pages["published"])
        assert permissions.may_propose_change(stranger, pages["draft"]) is everyone
        assert permissions.may_check(apprentice, pages["draft"])  # the owner
        assert permissions.may_check(stranger, pages["published"]) is everyone
        assert permissions.may_check(people["coordinator"], pages["published"])


def test_import_glossary_and_coordinator_are_coordinators_only(app, cast, everyone):
    with app.test_request_context():
        people = _people(cast)
        for name, person in people.items():
            expected = name == "coordinator"
            assert is_coordinator(person) is expected
            assert permissions.may_import(person) is expected
            assert permissions.may_edit_glossary(person) is expected
        assert not is_coordinator(None)


def test_citing_is_published_pages_and_ones_own_drafts(app, cast, everyone):
    with app.test_request_context():
        people = _people(cast)
        for name, citable in (("apprentice", {cast["published"], cast["draft"]}),
                              ("stranger", {cast["published"]}),
                              ("mentor", {cast["published"]})):
            assert set(db_session().scalars(select(Procedure.id).where(
                permissions.citable_procedures_clause(people[name])))) == citable


# -- through the pages ---------------------------------------------------------------------

def test_an_entry_links_a_procedure_exactly_when_the_reader_may_open_it(app, loop, everyone):
    """The "Followed" links on a log entry decided by role in the template and ignored
    the publishing setting: with everyone publishing, an apprentice may open an
    archived page but the entry showed its title without a link."""
    with app.app_context():
        mentor = get_person(loop["mentor"].id)
        competency = programmes.programme_competencies(loop["apprentice"].id)[0].id
        procedure = kb.create(kb.ProcedureDraft(title="Answering at the desk", body="1. Hi.",
                                                competency_ids=[competency]),
                              mentor, publish=True).id
    client = as_person(app, loop["apprentice"])
    data = log_form(client, competency)
    data["procedure_ids"] = [str(procedure)]
    assert client.submit("/log/new", data).status_code == 302
    with app.app_context():
        [entry] = training.entries_of(loop["apprentice"].id)
        kb.set_status(kb.get_procedure(procedure), ProcedureStatus.ARCHIVED,
                      get_person(loop["mentor"].id))
    link = f'<a href="/procedures/{procedure}">Answering at the desk</a>'
    page = client.get(f"/log/{entry.id}").get_data(as_text=True)
    opens = client.get(f"/procedures/{procedure}").status_code == 200
    assert opens is everyone
    assert (link in page) is everyone
    assert "Answering at the desk" in page


def test_the_procedure_page_offers_edit_or_propose_as_the_setting_says(app, cast, everyone):
    client = as_person(app, cast["stranger"])
    page = client.get(f"/procedures/{cast['published']}").get_data(as_text=True)
    assert (">Edit</a>" in page) is everyone
    assert (">Propose a change</a>" in page) is not everyone
    assert ('value="published"' in client.get(f"/procedures/{cast['archived']}").get_data(
        as_text=True)) is everyone  # the Publish button, only where the page opens


def test_import_is_offered_to_coordinators_only(app, cast):
    index = as_person(app, cast["coordinator"]).get("/procedures/").get_data(as_text=True)
    assert "Import files" in index
    index = as_person(app, cast["mentor"]).get("/procedures/").get_data(as_text=True)
    assert "Import files" not in index
