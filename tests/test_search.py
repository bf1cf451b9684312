"""Procedure search: findable at once, the library's own words, filters, typos, hostile
queries, the JSON API, and an index that can be lost, rebuilt and checked."""

from __future__ import annotations

import shutil

import pytest

from apprentice.config import index_dir
from apprentice.kb import search, services
from apprentice.kb.models import IndexOutbox
from apprentice.people.services import get_person
from tests.conftest import build_app
from tests.loop import as_person
from tests.test_kb_rendering import problems_in
from tests.workers import TIMEOUT, run_workers

ILL = services.ProcedureDraft(
    title="Processing an interlibrary loan request",
    body="Check the catalog first. Then request the item from a partner library.\n",
    tags="resource sharing, requests")
SHELVES = services.ProcedureDraft(
    title="Shelf reading in the stacks",
    body="Read the shelves left to right and fix call number order.\n", tags="shelving")


@pytest.fixture
def cast(make_person):
    return {"mentor": make_person(roles=["mentor"]), "apprentice": make_person()}


@pytest.fixture
def library(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        return [services.create(draft, mentor, publish=True).id for draft in (ILL, SHELVES)]


def find(app, text, **options):
    with app.app_context():
        defaults = {"viewer_id": None, "sees_everything": False}
        return search.search(text, **{**defaults, **options})


def titles(results) -> list[str]:
    return [hit.title for hit in results.hits]


def test_a_saved_page_is_findable_at_once(app, cast, library):
    assert titles(find(app, "shelves")) == ["Shelf reading in the stacks"]
    with app.app_context():
        procedure = services.get_procedure(library[1])
        services.save(procedure, services.ProcedureDraft(
            title="Shelf reading in the stacks", body="Use the weeding cart for damaged books."),
            get_person(cast["mentor"].id), based_on=procedure.revision_number)
    assert titles(find(app, "cart")) == ["Shelf reading in the stacks"]
    assert find(app, "call number").total == 0


@pytest.mark.parametrize(("typed", "expected"), [
    ("ILL", "Processing an interlibrary loan request"),            # abbreviation
    ("inter-library loan", "Processing an interlibrary loan request"),  # variant
    ('"shelf reading"', "Shelf reading in the stacks"),            # phrase
    ("shel*", "Shelf reading in the stacks"),                      # prefix
    ("tag:shelving", "Shelf reading in the stacks"),               # field filter
    ("requesting", "Processing an interlibrary loan request"),     # stemming
])
def test_staff_find_pages_in_their_own_words(app, library, typed, expected):
    assert titles(find(app, typed))[:1] == [expected]


def test_title_weighs_more_than_body(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        services.create(services.ProcedureDraft(title="Holds shelf", body="Pull items."),
                        mentor, publish=True)
        services.create(services.ProcedureDraft(title="Opening", body="Check the holds shelf."),
                        mentor, publish=True)
    assert titles(find(app, "holds"))[0] == "Holds shelf"


def test_a_typo_gets_a_did_you_mean(app, library):
    assert find(app, "shelvs readng").suggestion == "shelf reading"


def test_drafts_are_found_only_by_those_who_may_see_them(app, cast, make_person):
    with app.app_context():
        draft = services.create(services.ProcedureDraft(title="Secret draft about holds",
                                                        body="x"),
                                get_person(cast["apprentice"].id), publish=False)
    assert find(app, "secret").total == 0
    assert find(app, "secret", viewer_id=draft.owner_id).total == 1
    assert find(app, "secret", sees_everything=True).total == 1


@pytest.mark.parametrize("typed", ['"unbalanced', "((holds", "holds))", "*", "?", "x" * 2000,
                                   "nosuchfield:abc", "AND OR NOT", "title:", "\\", "tag:"])
def test_odd_queries_never_answer_500(app, cast, library, typed):
    client = as_person(app, cast["apprentice"])
    assert client.get("/procedures/", query_string={"q": typed}).status_code == 200
    assert client.get("/api/search", query_string={"q": typed}).status_code == 200


def test_snippets_are_safe(app, cast):
    with app.app_context():
        services.create(services.ProcedureDraft(
            title="Hostile", body="holds <img src=x onerror=alert(1)> [x](javascript:alert(1))"),
            get_person(cast["mentor"].id), publish=True)
    for hit in find(app, "holds").hits:
        assert problems_in(str(hit.snippet)) == []
    page = as_person(app, cast["apprentice"]).get("/procedures/?q=holds").get_data(as_text=True)
    results = page.split('class="ap-procedure-list ap-results"')[1].split("</ol>")[0]
    assert problems_in(results) == []


def test_the_api_ranks_as_the_page_does(app, cast, library):
    client = as_person(app, cast["apprentice"])
    data = client.get("/api/search?q=loan").get_json()
    assert set(data) == {"query", "total", "page", "results", "suggestion"}
    assert data["total"] == 1
    [hit] = data["results"]
    assert set(hit) == {"id", "title", "url", "snippet", "score", "areas", "tags"}
    assert hit["url"] == f"/procedures/{library[0]}"
    page = client.get("/procedures/?q=loan").get_data(as_text=True)
    assert hit["title"] in page
    assert app.test_client().get("/api/search?q=loan").status_code == 302  # sign in first


def test_facets_count_areas_and_tags(app, library):
    results = find(app, "shelves OR loan")
    assert results.total == 2
    assert dict(results.facets["tags"]) == {"shelving": 1, "resource sharing": 1, "requests": 1}
    assert titles(find(app, "shelves OR loan", tag="shelving")) == [SHELVES.title]


def test_lost_index_makes_search_unavailable_and_reindex_brings_it_back(app, cast, library):
    with app.app_context():
        shutil.rmtree(index_dir(app))
        assert search.check().missing == sorted(library)
    client = as_person(app, cast["apprentice"])
    page = client.get("/procedures/?q=shelf")
    assert page.status_code == 200 and "Search is unavailable" in page.get_data(as_text=True)
    assert client.get("/").status_code == 200  # the rest of the app carries on
    result = app.test_cli_runner().invoke(args=["apprentice", "check-index"])
    assert result.exit_code == 1 and "Missing" in result.output
    assert app.test_cli_runner().invoke(args=["apprentice", "reindex"]).exit_code == 0
    assert titles(find(app, "shelf"))[:1] == ["Shelf reading in the stacks"]
    assert app.test_cli_runner().invoke(args=["apprentice", "check-index"]).exit_code == 0


def test_reindex_swaps_in_while_a_search_is_open(app, library):
    with app.app_context():
        ix = search._open(create=False)
        with ix.searcher() as searcher:  # a search in progress on the old index
            assert search.rebuild() == 2
            assert searcher.doc_count() == 2
        assert titles(find(app, "shelf"))[:1] == ["Shelf reading in the stacks"]


def test_an_edit_whose_indexing_died_is_finished_by_index_sync(app, cast, library,
                                                               monkeypatch):
    monkeypatch.setattr(search, "sync_quietly", lambda: None)  # the worker died after commit
    with app.app_context():
        procedure = services.get_procedure(library[0])
        services.save(procedure, services.ProcedureDraft(title=procedure.title,
                                                         body="Use the WorldCat form."),
                      get_person(cast["mentor"].id), based_on=procedure.revision_number)
        assert search.check().stale == [library[0]]
        from apprentice.db import db_session

        assert db_session().query(IndexOutbox).count() == 1
    result = app.test_cli_runner().invoke(args=["apprentice", "index-sync"])
    assert "Brought 1" in result.output
    assert titles(find(app, "worldcat")) == [ILL.title]


def _create_worker(instance, url, index, title, user_id, barrier):
    app = build_app(instance, APPRENTICE_DATABASE_URL=url, APPRENTICE_INDEX_DIR=index)
    try:
        with app.app_context():
            from apprentice.db import database

            database().engine.connect().close()
            barrier.wait(TIMEOUT)
            for n in range(5):
                services.create(services.ProcedureDraft(title=f"{title} {n}", body="desk"),
                                get_person(user_id), publish=True)
    finally:
        app.extensions["apprentice"].database.dispose()
    return title


def test_two_processes_saving_at_once_are_both_indexed(app, tmp_path, cast):
    url = app.extensions["apprentice"].database.url
    index = str(index_dir(app))
    with app.app_context():
        search._open()
    run_workers(_create_worker, tmp_path, [(url, index, "Alpha", cast["mentor"].id),
                                           (url, index, "Bravo", cast["mentor"].id)])
    with app.app_context():
        assert search.check().healthy
    assert find(app, "alpha").total == 5 and find(app, "bravo").total == 5


@pytest.mark.parametrize(("typed", "expected"), [
    ("circ", "(circulation OR circ OR "),                      # a word: its group
    ("holds NOT ill", "NOT ill"),                              # after NOT: as typed
    ("-ill holds", "-ill ("),                                  # excluded: as typed
    ('"ill" tag:ill', '"ill" tag:ill'),                        # quoted, field: as typed
    ("interlibrary loan forms", '("interlibrary loan" OR ill'),  # a phrase from the list
    ("desk", "desk"),                                          # not in the glossary
])
def test_the_glossary_expands_only_what_was_typed_plainly(typed, expected):
    assert expected in search.expand(typed)
    if typed in ('"ill" tag:ill', "desk"):
        assert search.expand(typed) == typed


def test_a_snippet_marks_the_stems_around_the_first_match():
    body = "Open the desk. " + "Filler words here. " * 30 + "Renewing items: renewals need a card."
    html = str(search.snippet(body, {"renew"}))
    assert html.startswith("…") and "<mark>Renewing</mark>" in html
    assert "<mark>renewals</mark>" in html  # every word with the stem, in the window
    assert "Open the desk" not in html
    escaped = str(search.snippet("<b>x</b> holds", {"hold"}))
    assert escaped == "&lt;b&gt;x&lt;/b&gt; <mark>holds</mark>"
