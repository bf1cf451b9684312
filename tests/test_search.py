"""Procedure search: findable at once, the library's own words, filters, typos, hostile
queries, the JSON API, and an index that can be lost, rebuilt and checked."""

from __future__ import annotations

import shutil
import time

import pytest

from apprentice.config import index_dir
from apprentice.kb import search, services
from apprentice.people.services import get_person
from tests.conftest import build_app
from tests.factories import sql_statements
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
    # "readng" is held by no page; "shelvs" finds shelving pages already, and is only
    # spelt as the pages spell it.
    assert find(app, "shelvs readng").suggestion == "shelves reading"


def test_drafts_are_found_only_by_those_who_may_see_them(app, cast, make_person):
    with app.app_context():
        draft = services.create(services.ProcedureDraft(title="Secret draft about holds",
                                                        body="x"),
                                get_person(cast["apprentice"].id), publish=False)
    for typed in ("secret", '"secret draft"', "secret AND holds", "secret~"):
        # Nothing else in the index: Whoosh read the empty set of pages this person may
        # see as no filter at all, and listed the draft (with a count of 0).
        results = find(app, typed)
        assert (results.total, results.hits) == (0, []), typed
        assert titles(find(app, typed, viewer_id=draft.owner_id)) == [draft.title]
        assert titles(find(app, typed, sees_everything=True)) == [draft.title]


@pytest.mark.parametrize("typed", ['"unbalanced', "((holds", "holds))", "*", "?", "x" * 2000,
                                   "nosuchfield:abc", "AND OR NOT", "title:", "\\", "tag:"])
def test_odd_queries_never_answer_500(app, cast, library, typed):
    client = as_person(app, cast["apprentice"])
    assert client.get("/procedures/", query_string={"q": typed}).status_code == 200
    assert client.get("/api/search", query_string={"q": typed}).status_code == 200


def test_a_long_question_is_searched_in_part_and_says_so(app, cast, library):
    """A question pasted whole, longer than the search takes, is searched in its first
    words (cut at a whole word) and the page and the API say so, instead of a refusal
    and no results."""
    typed = "shelves " + "please could you tell me what to do " * 8 + "interlibrary"
    assert len(typed) > search.MAX_QUERY
    client = as_person(app, cast["apprentice"])
    answer = client.get("/api/search", query_string={"q": typed}).get_json()
    assert [hit["title"] for hit in answer["results"]] == ["Shelf reading in the stacks"]
    assert answer["note"] == search.CUT_NOTE  # "interlibrary", past the cut, not searched
    page = client.get("/procedures/", query_string={"q": typed}).get_data(as_text=True)
    assert "Shelf reading in the stacks" in page and search.CUT_NOTE in page
    short = client.get("/api/search", query_string={"q": "shelves"}).get_json()
    assert short["note"] is None


@pytest.mark.parametrize("typed", [
    "word " * 50,  # a space falls right after the limit
    "ab " * 70,
    "interlibrary loan request " * 12,
    "x" * 300,  # one word longer than the limit: cut where the limit is
])
def test_a_long_question_is_cut_at_the_last_whole_word_that_fits(typed):
    typed = " ".join(typed.split())
    cut = search._within_limit(typed)
    assert len(cut) <= search.MAX_QUERY and typed.startswith(cut)
    if " " in typed[:search.MAX_QUERY + 1]:
        rest = typed[len(cut):]
        assert rest.startswith(" ")  # whole words only
        next_word = rest.split()[0]
        assert len(cut) + 1 + len(next_word) > search.MAX_QUERY  # and as many as fit
    else:
        assert cut == typed[:search.MAX_QUERY]


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
    assert set(data) == {"query", "total", "page", "results", "suggestion", "note",
                         "showing_results_for"}
    assert data["total"] == 1
    [hit] = data["results"]
    assert set(hit) == {"id", "title", "url", "section", "snippet", "score", "areas", "tags",
                        "more_sections"}
    assert hit["url"].split("#")[0] == f"/procedures/{library[0]}"
    page = client.get("/procedures/?q=loan").get_data(as_text=True)
    assert hit["title"] in page
    assert app.test_client().get("/api/search?q=loan").status_code == 302  # sign in first


def test_the_api_counts_no_facets_it_does_not_return(app, cast, library, monkeypatch):
    from apprentice.kb import search as module
    counted = []
    real = module._facet_counts
    monkeypatch.setattr(module, "_facet_counts",
                        lambda *args, **kw: counted.append(args[-1]) or real(*args, **kw))
    client = as_person(app, cast["apprentice"])
    assert client.get("/api/search?q=loan").get_json()["total"] == 1
    assert counted == []
    client.get("/procedures/?q=loan")  # the page shows them
    assert counted
    assert find(app, "loan", facets=False).facets == {}  # the service's own switch


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


def test_a_rebuild_is_the_newer_index_whatever_the_clock_says(app, library, monkeypatch):
    """Generations are numbered by a counter, not the clock: a clock set back (an NTP
    step, a restored VM) cannot make a rebuild look older than the index it replaces,
    and an index folder numbered by the clock (older versions) is still counted above."""
    root = index_dir(app)
    (root / "gen-1764633600000000000").mkdir()  # as an older version named them
    monkeypatch.setattr(time, "time_ns", lambda: 1)
    with app.app_context():
        assert search.rebuild() == 2
        first = (root / "current").resolve()
        assert search.rebuild() == 2
        second = (root / "current").resolve()
    assert search._born(second) == search._born(first) + 1 > 1764633600000000000
    assert not (root / "gen-1764633600000000000").exists()
    assert titles(find(app, "shelf"))[:1] == ["Shelf reading in the stacks"]


def test_an_index_lost_and_built_again_is_never_taken_for_the_one_before(app, cast, library):
    """The generations' counter starts again in an index folder deleted whole: the new
    folder must not be taken for the old one a process still has open (same name, same
    commit number), or searches keep finding the old index's documents only."""
    assert titles(find(app, "shelf"))[:1] == ["Shelf reading in the stacks"]  # held open
    before = (index_dir(app) / "current").resolve().name
    shutil.rmtree(index_dir(app))
    with app.app_context():
        services.create(services.ProcedureDraft(title="Wiping down the self-checkout",
                                                body="Use the isopropyl wipes."),
                        get_person(cast["mentor"].id), publish=True)
    # Another worker's process may still hold the one before by its name (the fault
    # suite's test_a_deleted_index_is_said_and_comes_back): a name is never given twice.
    assert (index_dir(app) / "current").resolve().name != before
    assert titles(find(app, "isopropyl")) == ["Wiping down the self-checkout"]
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
        assert search.waiting() == 1
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


# -- the glossary in the index, one-pass counting, facets, fuzzy terms ------------------

def test_the_glossary_filter_adds_one_token_per_term_at_indexing_only():
    from whoosh.analysis import StemmingAnalyzer

    glossary = search.GlossaryFilter([["interlibrary loan", "ill"], ["patron", "borrower"]])
    analyzer = StemmingAnalyzer() | glossary
    tokens = [token.text for token in analyzer("Interlibrary loans for a borrower. ILL.",
                                               mode="index")]
    ill, patron = glossary.concepts["ill"], glossary.concepts["patron"]
    assert tokens == ["interlibrari", "loan", ill, "borrow", patron, "ill", ill]
    assert glossary.concepts["interlibrary loan"] == ill != patron
    # A query is parsed as typed, and the spelling list gets no made-up words.
    assert [t.text for t in analyzer("ill borrower", mode="query")] == ["ill", "borrow"]
    assert [t.text for t in analyzer("ill", mode="index", no_morph=True)] == ["ill"]


def _ids(results) -> set[int]:
    return {hit.id for hit in results.hits}


def test_a_changed_glossary_is_used_at_once_and_index_sync_rebuilds_for_it(app, library,
                                                                            monkeypatch):
    by_concept = find(app, "ILL")
    assert _ids(by_concept) == {library[0]}
    with app.app_context():
        assert search.built_with_current_glossary()
        assert search.expand("ILL", search._current_filter().concepts).startswith("(ILL OR ")
    # A coordinator adds a term: until the index is rebuilt, searches expand the
    # slow way, with the same results, and the new term works at once.
    shipped = search.vocabulary.synonyms()
    groups = {tuple(group) for group in shipped.values()}
    new_group = ["stack maintenance", "shelf tidying", "shelves"]
    changed = {term.lower(): list(group) for group in groups for term in group}
    changed |= {term: new_group for term in new_group}
    monkeypatch.setattr(search.vocabulary, "synonyms", lambda: changed)
    with app.app_context():
        assert not search.built_with_current_glossary()
        assert search.check().old_glossary
    assert _ids(find(app, "ILL")) == _ids(by_concept)
    assert _ids(find(app, "shelf tidying")) == {library[1]}
    result = app.test_cli_runner().invoke(args=["apprentice", "index-sync"])
    assert result.exit_code == 0 and "rebuilt the index (2 procedures)" in result.output
    with app.app_context():
        assert search.built_with_current_glossary() and search.check().healthy
    assert _ids(find(app, "shelf tidying")) == {library[1]}
    assert _ids(find(app, "ILL")) == _ids(by_concept)


def test_a_synonym_found_through_the_glossary_is_marked_in_the_snippet(app, cast):
    with app.app_context():
        services.create(services.ProcedureDraft(
            title="Renewals", body="At the desk, borrowers may renew twice."),
            get_person(cast["mentor"].id), publish=True)
    [hit] = find(app, "patron").hits
    assert "<mark>borrowers</mark>" in str(hit.snippet)
    assert "<mark>renew</mark>" not in str(hit.snippet)


def test_an_edit_made_during_a_rebuild_is_in_the_new_index(app, cast, library, monkeypatch):
    swap = search._swap_in

    def save_then_swap(generation):
        # Someone saves while the rebuild is writing the new folder: their save
        # is indexed into the old folder only, which is about to be replaced.
        procedure = services.get_procedure(library[1])
        services.save(procedure, services.ProcedureDraft(
            title="Shelf reading in the stacks", body="Mind the kickstool."),
            get_person(cast["mentor"].id), based_on=procedure.revision_number)
        return swap(generation)

    monkeypatch.setattr(search, "_swap_in", save_then_swap)
    with app.app_context():
        search.rebuild()
        assert search.check().healthy
    assert titles(find(app, "kickstool")) == ["Shelf reading in the stacks"]


def test_totals_are_exact_and_pages_follow(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        for number in range(23):
            services.create(services.ProcedureDraft(title=f"Holds step {number}",
                                                    body="holds " * (number + 1)),
                            mentor, publish=True)
    first, last = find(app, "holds"), find(app, "holds", page=3)
    assert (first.total, first.pages, len(first.hits)) == (23, 3, 10)
    assert (last.total, last.page, len(last.hits)) == (23, 3, 3)
    assert find(app, "holds", page=99).page == 3  # past the end: the last page
    assert not _ids(first) & _ids(last)


def test_facet_counts_follow_edits(app, cast, library):
    assert dict(find(app, "shelves").facets["tags"]) == {"shelving": 1}
    with app.app_context():
        procedure = services.get_procedure(library[1])
        services.save(procedure, services.ProcedureDraft(
            title=procedure.title, body=procedure.body, tags="stacks, tidying"),
            get_person(cast["mentor"].id), based_on=procedure.revision_number)
    assert dict(find(app, "shelves").facets["tags"]) == {"stacks": 1, "tidying": 1}
    assert titles(find(app, "shelves", tag="tidying")) == [SHELVES.title]
    assert find(app, "shelves", tag="shelving").total == 0


def test_fuzzy_terms_allow_a_typo(app, library):
    assert find(app, "catlog", exact=True).total == 0
    assert titles(find(app, "catlog~")) == [ILL.title]
    assert titles(find(app, "shelfs~2 AND stakcs~2")) == [SHELVES.title]


def test_deleted_index_files_are_reported_and_reindex_repairs_them(app, cast, library):
    with app.app_context():
        generation = (index_dir(app) / "current").resolve()
        for segment_file in generation.glob("*.seg"):
            segment_file.unlink()
        search._local.__dict__.clear()  # as in a freshly started worker
        search._open_indexes.clear()
        assert search.check().missing == sorted(library)
    client = as_person(app, cast["apprentice"])
    page = client.get("/procedures/?q=shelf")
    assert page.status_code == 200 and "Search is unavailable" in page.get_data(as_text=True)
    assert client.get(f"/procedures/{library[1]}").status_code == 200
    result = app.test_cli_runner().invoke(args=["apprentice", "check-index"])
    assert result.exit_code == 1 and "Missing" in result.output
    assert app.test_cli_runner().invoke(args=["apprentice", "reindex"]).exit_code == 0
    assert titles(find(app, "shelf")) == [SHELVES.title]


def test_searches_carry_on_while_reindex_runs(app, library):
    import threading

    failures, counts, done = [], [], threading.Event()

    def keep_searching():
        while not done.is_set():
            try:
                counts.append(find(app, "shelves OR loan").total)
            except Exception as exc:  # any failure is the finding
                failures.append(exc)
                return

    searchers = [threading.Thread(target=keep_searching) for _ in range(2)]
    for thread in searchers:
        thread.start()
    try:
        with app.app_context():
            for _ in range(5):
                assert search.rebuild() == 2
    finally:
        done.set()
        for thread in searchers:
            thread.join(TIMEOUT)
    assert failures == [] and counts and set(counts) == {2}


@pytest.mark.parametrize("facets", [True, False])
def test_the_total_counts_matches_that_cannot_reach_the_first_page(app, cast, facets):
    """Whoosh stops scoring words that can no longer reach the top ten; its count then
    leaves those pages out. The total must not."""
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        for number in range(12):
            services.create(services.ProcedureDraft(title=f"Zebra crossing {number}",
                                                    body="zebra holds"), mentor, publish=True)
        for number in range(30):
            services.create(services.ProcedureDraft(title=f"Desk {number}",
                                                    body="holds " + "filler " * 40),
                            mentor, publish=True)
    results = find(app, "zebra holds", facets=facets)
    assert (results.total, results.pages) == (42, 5)
    assert all(title.startswith("Zebra") for title in titles(results))
    assert find(app, "zebra holds", facets=facets, page=5).hits
    assert find(app, "zebra AND holds", facets=facets).total == 12  # not only terms


def test_counting_from_postings_agrees_with_whoosh_after_edits(app, cast, library):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        for number in range(5):
            procedure = services.get_procedure(library[number % 2])
            services.save(procedure, services.ProcedureDraft(
                title=procedure.title, body=f"{procedure.body} shelves holds {number}"),
                mentor, based_on=procedure.revision_number)  # deletes the old document
        searcher = search._reading(search._open(create=False)).searcher
        assert searcher.reader().has_deletions()
        parser = search._parser(searcher.schema)
        for text in ("shelves OR holds", "shelves", "holds AND shelves", "loan OR nothing"):
            query = parser.parse(text)
            assert search._matches(searcher, query, None) == set(searcher.docs_for_query(query))
        assert len(search._matches(searcher, parser.parse("shelves OR holds"), None)) == 2


def test_a_search_reads_the_glossary_once(app, library):
    with app.app_context(), sql_statements(app) as sent:
        search.search("ILL circ borrower weeding holds", viewer_id=None, sees_everything=True)
    assert sum("apprentice_glossary_versions" in statement for statement in sent) == 1
