"""Search as you type (issue 14): titles whose words begin as typed, from three letters,
at most five, only what the viewer may see; the JSON the search boxes read, which
answers any query without a 500. (The combobox itself: tests/browser/test_typeahead.py.)"""

from __future__ import annotations

import shutil

import pytest
from whoosh.analysis import STOP_WORDS

from apprentice.config import index_dir
from apprentice.kb import services, typeahead
from apprentice.kb.typeahead import Suggestion
from apprentice.people.services import get_person

TITLES = [
    "Checking in an item",
    "Cheque payments at the desk",
    "ILL requests from partner libraries",
    "Processing an interlibrary loan request",
    "Renewing a loan",
    "Loans for staff and visiting scholars",
    "Loan periods",
    "Shelf reading in the stacks",
    "Closing the desk",
    "Resource sharing between branches",
]


@pytest.fixture
def cast(make_person):
    return {"mentor": make_person(roles=["mentor"]), "apprentice": make_person(),
            "other": make_person()}


def create(app, person, title, *, publish=True) -> int:
    with app.app_context():
        return services.create(services.ProcedureDraft(title=title, body="Steps.\n"),
                               get_person(person.id), publish=publish).id


@pytest.fixture
def library(app, cast):
    return {title: create(app, cast["mentor"], title) for title in TITLES}


def suggested(app, typed, *, viewer_id=None, sees_everything=False, **options) -> list[str]:
    with app.app_context():
        return [s.title for s in typeahead.suggest(typed, viewer_id=viewer_id,
                                                   sees_everything=sees_everything, **options)]


@pytest.mark.parametrize(("typed", "expected"), [
    pytest.param("chec", ["Checking in an item"], id="a word begun"),
    pytest.param("CHEC", ["Checking in an item"], id="any case"),
    pytest.param("che", ["Checking in an item", "Cheque payments at the desk"], id="two begin"),
    pytest.param("ill req", ["ILL requests from partner libraries"], id="two words"),
    pytest.param("  ill   req ", ["ILL requests from partner libraries"], id="spaces"),
    pytest.param("loan req", ["Processing an interlibrary loan request"], id="mid-title"),
    pytest.param("checki", ["Checking in an item"], id="past the stem"),
    pytest.param("librar", ["ILL requests from partner libraries"], id="stem changes"),
    pytest.param("libraries", ["ILL requests from partner libraries"], id="whole word"),
    pytest.param("closi", ["Closing the desk"], id="stem ends otherwise"),
    pytest.param("resource shari", ["Resource sharing between branches"], id="sharing"),
    pytest.param("checking in", ["Checking in an item"], id="stop word last"),
    pytest.param("checking in an it", ["Checking in an item"], id="stop words between"),
    pytest.param("ecking", [], id="not inside a word"),
    pytest.param("chec item", [], id="earlier words are whole"),
    pytest.param("stacks shelf", ["Shelf reading in the stacks"], id="any order"),
    pytest.param("che\u00adcking", ["Checking in an item"], id="soft hyphen pasted"),
    pytest.param("\u200bchec", ["Checking in an item"], id="zero-width space pasted"),
    pytest.param("\uff43\uff48\uff45\uff43", ["Checking in an item"], id="full-width letters"),
    pytest.param("zebra", [], id="nothing"),
])
def test_titles_whose_words_begin_as_typed(app, library, typed, expected):
    assert suggested(app, typed) == expected


def test_every_beginning_of_every_word_finds_its_title(app, library):
    """The index holds stems, which may end otherwise than the word ("placing" is
    "place"): each beginning of three letters or more still finds the title. (Stop words
    are not in the index: "the" alone finds nothing; "the desk" does.)"""
    for title in TITLES:
        for word in set(typeahead.words(title)) - STOP_WORDS:
            for end in range(3, len(word) + 1):
                assert title in suggested(app, word[:end], limit=20), (title, word[:end])


def test_titles_that_begin_as_typed_come_first_then_shorter_ones(app, library):
    """"Renewing a loan" is shorter than "Loans for staff ...", but does not begin with
    "loa"."""
    assert suggested(app, "loa") == [
        "Loan periods", "Loans for staff and visiting scholars", "Renewing a loan",
        "Processing an interlibrary loan request"]


@pytest.mark.parametrize("typed", ["", "ch", " c h ", "é", "  ", "--", "a.b"])
def test_nothing_is_suggested_under_three_letters(app, library, typed):
    assert suggested(app, typed) == []


def test_three_letters_are_enough(app, library):
    assert suggested(app, "she") == ["Shelf reading in the stacks"]


def test_at_most_five(app, cast):
    for n in range(7):
        create(app, cast["mentor"], f"Desk opening step {n + 1}")
    assert suggested(app, "desk") == [f"Desk opening step {n}" for n in range(1, 6)]
    assert suggested(app, "desk", limit=2) == ["Desk opening step 1", "Desk opening step 2"]


def test_drafts_are_suggested_only_to_those_who_may_see_them(app, cast, library, login_as,
                                                            client):
    create(app, cast["apprentice"], "Secret draft about holds", publish=False)
    login_as(cast["other"])
    assert client.get("/api/search/suggest?q=secr").get_json()["suggestions"] == []
    login_as(cast["apprentice"])  # the author
    [mine] = client.get("/api/search/suggest?q=secr").get_json()["suggestions"]
    assert mine["title"] == "Secret draft about holds"
    login_as(cast["mentor"])  # who may publish sees every draft
    assert [s["title"] for s in client.get("/api/search/suggest?q=secr").get_json()[
        "suggestions"]] == ["Secret draft about holds"]


def test_a_changed_title_is_suggested_as_it_is_now(app, cast, library):
    """Titles read from the index are kept per segment: a saved change must show at once."""
    assert suggested(app, "chec") == ["Checking in an item"]
    with app.app_context():
        procedure = services.get_procedure(library["Checking in an item"])
        services.save(procedure, services.ProcedureDraft(title="Returning an item",
                                                         body="Steps.\n"),
                      get_person(cast["mentor"].id), based_on=procedure.revision_number)
    assert suggested(app, "chec") == []
    assert suggested(app, "retu") == ["Returning an item"]


def test_the_endpoint_answers_titles_with_their_pages(app, cast, library, login_as, client):
    login_as(cast["apprentice"])
    response = client.get("/api/search/suggest?q=ill+req")
    assert response.status_code == 200 and response.is_json
    assert response.get_json() == {"query": "ill req", "suggestions": [{
        "id": library["ILL requests from partner libraries"],
        "title": "ILL requests from partner libraries", "heading": None,
        "url": f"/procedures/{library['ILL requests from partner libraries']}"}]}


HANDBOOK = ("Welcome.\n\n## Waiving an overdue fine\n\nOpen the fee and choose Waive.\n\n"
            "## Pulling the holds list\n\nPrint it at opening.\n\n### Waiting shelf\n\nx\n")


def test_sections_are_suggested_by_their_headings_at_their_anchors(app, cast, login_as,
                                                                    client):
    with app.app_context():
        procedure_id = services.create(
            services.ProcedureDraft(title="Desk handbook", body=HANDBOOK),
            get_person(cast["mentor"].id), publish=True).id
    with app.app_context():
        found = typeahead.suggest("waiv", viewer_id=None, sees_everything=False)
    assert found == [Suggestion(procedure_id, "Desk handbook", "Waiving an overdue fine",
                                "waiving-an-overdue-fine")]
    login_as(cast["apprentice"])
    [answer] = client.get("/api/search/suggest?q=holds+li").get_json()["suggestions"]
    assert answer == {"id": procedure_id, "title": "Desk handbook",
                      "heading": "Pulling the holds list",
                      "url": f"/procedures/{procedure_id}#pulling-the-holds-list"}
    # A sub-heading is part of its section, not a section of its own.
    with app.app_context():
        assert typeahead.suggest("waiti", viewer_id=None, sees_everything=False) == []


def test_titles_come_before_headings_and_five_in_all(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        services.create(services.ProcedureDraft(title="Desk handbook", body="\n\n".join(
            f"## Fines case {n}\n\ntext {n}" for n in range(6))), mentor, publish=True)
        services.create(services.ProcedureDraft(title="Fines policy", body="x"),
                        mentor, publish=True)
        found = typeahead.suggest("fines", viewer_id=None, sees_everything=False)
    assert [(s.title, s.heading) for s in found] == [
        ("Fines policy", None), ("Desk handbook", "Fines case 0"),
        ("Desk handbook", "Fines case 1"), ("Desk handbook", "Fines case 2"),
        ("Desk handbook", "Fines case 3")]


def test_a_drafts_headings_are_suggested_only_to_those_who_may_see_it(app, cast):
    with app.app_context():
        draft = services.create(services.ProcedureDraft(title="Secret", body=HANDBOOK),
                                get_person(cast["other"].id), publish=False)
        assert typeahead.suggest("waiv", viewer_id=cast["apprentice"].id,
                                 sees_everything=False) == []
        assert [s.heading for s in typeahead.suggest(
            "waiv", viewer_id=draft.owner_id, sees_everything=False)] == [
            "Waiving an overdue fine"]


def test_a_title_with_html_comes_back_as_the_text_it_is(app, cast, login_as, client):
    title = 'Zanzibar <img src=x onerror="alert(1)"> & <b>desk</b>'
    procedure_id = create(app, cast["mentor"], title)
    login_as(cast["apprentice"])
    response = client.get("/api/search/suggest?q=zanz")
    assert response.mimetype == "application/json"
    [found] = response.get_json()["suggestions"]
    assert (found["id"], found["title"]) == (procedure_id, title)  # not escaped, not dropped
    # Data, not markup: never read as a page (the combobox puts it in as text).
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_signed_out_people_are_sent_to_sign_in(app, library):
    response = app.test_client().get("/api/search/suggest?q=chec")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("query", [
    pytest.param("", id="no q"),
    pytest.param("q=", id="empty"),
    pytest.param("q=" + "chec" * 5000, id="20,000 characters"),
    pytest.param("q=" + "chec+" * 100, id="100 words"),
    pytest.param("q=chec&q=zebra", id="repeated"),
    pytest.param("q=%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80", id="emoji"),
    pytest.param("q=%E2%80%AEchec", id="right-to-left override"),
    pytest.param("q=che%1Fc+%07", id="control characters"),
    pytest.param("q=%ED%A0%80che", id="a lone surrogate's bytes"),
    pytest.param("q=%FF%FEche", id="not UTF-8"),
    pytest.param("q=che*+title:+%22((", id="query syntax"),
    pytest.param("q=glossaryterm0", id="an index token"),
    pytest.param("q=e%CC%81%CC%81%CC%81che", id="combining marks"),
])
def test_any_query_answers_a_list(app, cast, library, login_as, client, query):
    login_as(cast["apprentice"])
    response = client.get("/api/search/suggest?" + query)
    assert response.status_code == 200 and response.is_json
    assert isinstance(response.get_json()["suggestions"], list)


def test_repeated_queries_take_the_first(app, cast, library, login_as, client):
    login_as(cast["apprentice"])
    answer = client.get("/api/search/suggest?q=chec&q=zebra").get_json()
    assert [s["title"] for s in answer["suggestions"]] == ["Checking in an item"]


def test_a_nul_byte_is_refused_in_json(app, cast, login_as, client):
    login_as(cast["apprentice"])
    response = client.get("/api/search/suggest?q=chec%00")
    assert response.status_code == 400 and response.is_json
    assert "NUL" in response.get_json()["error"]


def test_a_lost_index_suggests_nothing_and_the_form_still_works(app, cast, library, login_as,
                                                                 client):
    with app.app_context():
        shutil.rmtree(index_dir(app))
    login_as(cast["apprentice"])
    response = client.get("/api/search/suggest?q=chec")
    assert response.status_code == 200 and response.get_json()["suggestions"] == []
    assert "Search is unavailable" in client.get("/procedures/?q=chec").get_data(as_text=True)


def test_the_search_boxes_opt_in_and_work_as_plain_forms(app, cast, login_as, client):
    """The boxes carry the address the script reads; the combobox roles are the script's
    to add, so without it the boxes are plain search boxes of GET forms."""
    login_as(cast["apprentice"])
    page = client.get("/procedures/").get_data(as_text=True)
    assert page.count('data-ap-typeahead="/api/search/suggest"') == 2  # header and page
    assert 'role="combobox"' not in page and "aria-expanded" not in page
    assert '<form method="get" action="/procedures/"' in page
