"""Search answers with the part of a page that answers: sections indexed with the page,
results linked to the section's anchor with its heading and snippet, other sections of
the same page grouped under it; a typo corrected when what was typed finds little; the
words of a question not searched for."""

from __future__ import annotations

import re

import pytest

from apprentice.kb import rendering, search, services
from apprentice.people.services import get_person
from tests.loop import as_person

CIRCULATION = services.ProcedureDraft(
    title="Circulation desk handbook",
    body=(
        "What every shift at the desk covers.\n\n"
        "## Renewing loans by phone\n\n"
        "Ask for the card number, find the account, renew each loan and read out the "
        "new due dates.\n\n"
        "## Waiving an overdue fine\n\n"
        "A supervisor may waive a fine when the book drop was closed. Open the fee, choose "
        "Waive and give the reason.\n\n"
        "### Fines over ten dollars\n\n"
        "Ask the branch manager first.\n\n"
        "## Closing the desk\n\n"
        "Count the cash float, log out of every workstation and switch off the lights.\n"
    ),
)
FINES = services.ProcedureDraft(
    title="Fines policy",
    body="The board sets the overdue fine for each kind of material once a year.\n")


@pytest.fixture
def cast(make_person):
    return {"mentor": make_person(roles=["mentor"]), "apprentice": make_person()}


@pytest.fixture
def handbook(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        return [services.create(draft, mentor, publish=True).id for draft in (CIRCULATION, FINES)]


def find(app, text, **options):
    with app.app_context():
        return search.search(text, **{"viewer_id": None, "sees_everything": False, **options})


# -- sections and their anchors -------------------------------------------------------

def test_a_page_is_cut_into_sections_at_its_top_headings():
    parts = rendering.sections(CIRCULATION.body)
    assert [(part.anchor, part.heading) for part in parts] == [
        (None, None),
        ("renewing-loans-by-phone", "Renewing loans by phone"),
        ("waiving-an-overdue-fine", "Waiving an overdue fine"),
        ("closing-the-desk", "Closing the desk"),
    ]
    # A sub-heading stays in its section, words and all.
    assert "Fines over ten dollars Ask the branch manager first." in parts[2].text
    assert parts[0].text == "What every shift at the desk covers."


def test_every_heading_on_the_page_carries_the_anchor_search_links_to():
    html = str(rendering.render(CIRCULATION.body))
    for part in rendering.sections(CIRCULATION.body)[1:]:
        assert f'id="{part.anchor}"' in html
    assert 'id="fines-over-ten-dollars"' in html


def test_anchors_are_unique_and_never_take_the_apps_own_ids():
    body = "## Steps\n\nOne.\n\n## Steps\n\nTwo.\n\n## Steps 2\n\nThree.\n\n## ap-nav-q\n\nx\n"
    anchors = [part.anchor for part in rendering.sections(body)]
    assert anchors == ["steps", "steps-2", "steps-2-2", "s-ap-nav-q"]
    html = str(rendering.render(body))
    assert re.findall(r'id="([^"]+)"', html) == anchors


def test_a_heading_with_markup_is_anchored_by_its_words():
    [part] = rendering.sections("## Scan the *patron's* `card` <b>now</b>\n\ntext\n")
    assert part.heading == "Scan the patron's card <b>now</b>"
    assert part.anchor == "scan-the-patron-s-card-b-now-b"


# -- results at the section that answers ----------------------------------------------

def test_a_result_links_to_the_section_that_answers(app, cast, handbook):
    [hit, *_] = find(app, "waive fine").hits
    assert hit.id == handbook[0]
    assert hit.section == search.SectionHit("waiving-an-overdue-fine", "Waiving an overdue fine")
    assert "<mark>waive</mark>" in str(hit.snippet).lower()
    assert "card number" not in str(hit.snippet)  # cut from the section, not the opening

    client = as_person(app, cast["apprentice"])
    data = client.get("/api/search?q=renew+by+phone").get_json()
    first = data["results"][0]
    assert first["url"] == f"/procedures/{handbook[0]}#renewing-loans-by-phone"
    assert first["section"] == {"heading": "Renewing loans by phone",
                                "anchor": "renewing-loans-by-phone",
                                "url": f"/procedures/{handbook[0]}#renewing-loans-by-phone"}
    page = client.get("/procedures/?q=renew+by+phone").get_data(as_text=True)
    assert f'href="/procedures/{handbook[0]}#renewing-loans-by-phone"' in page
    assert "\u203a Renewing loans by phone" in page
    shown = client.get(f"/procedures/{handbook[0]}").get_data(as_text=True)
    assert 'id="renewing-loans-by-phone"' in shown  # the link lands on the heading


def test_other_sections_that_answer_are_grouped_under_their_page(app, cast, handbook):
    results = find(app, "desk")
    assert [hit.id for hit in results.hits] == [handbook[0]]  # one result per page
    [hit] = results.hits
    assert hit.section == search.SectionHit("closing-the-desk", "Closing the desk")
    # The opening says "desk" too; the sections that only share the page's title do not.
    assert hit.more == [search.SectionHit(None, None)]

    client = as_person(app, cast["apprentice"])
    [result] = client.get("/api/search?q=desk").get_json()["results"]
    assert result["more_sections"] == [
        {"heading": None, "anchor": None, "url": f"/procedures/{handbook[0]}"}]
    page = client.get("/procedures/?q=desk").get_data(as_text=True)
    assert (f'Also on this page: <a href="/procedures/{handbook[0]}">the opening</a>'
            in page)


def test_a_match_in_the_title_alone_links_to_the_top_of_the_page(app, handbook):
    [hit] = find(app, "handbook").hits
    assert hit.section is None and hit.more == []
    assert "What every shift" in str(hit.snippet)


def test_a_page_without_headings_links_to_the_page(app, cast, handbook):
    [hit] = [h for h in find(app, "board").hits]
    assert hit.id == handbook[1]
    assert hit.section is None or hit.section.anchor is None
    data = as_person(app, cast["apprentice"]).get("/api/search?q=board").get_json()
    assert data["results"][0]["url"] == f"/procedures/{handbook[1]}"


def test_a_heading_with_markup_in_results_is_text_not_html(app, cast):
    with app.app_context():
        services.create(services.ProcedureDraft(
            title="Odd headings", body="## <img src=x onerror=alert(1)> Shelving carts\n\n"
                                       "Push the shelving cart slowly.\n"),
            get_person(cast["mentor"].id), publish=True)
    page = as_person(app, cast["apprentice"]).get("/procedures/?q=shelving+cart").get_data(
        as_text=True)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; Shelving carts" in page


def test_sections_follow_an_edit_of_the_page(app, cast, handbook):
    with app.app_context():
        procedure = services.get_procedure(handbook[0])
        services.save(procedure, services.ProcedureDraft(
            title=procedure.title, body=CIRCULATION.body.replace(
                "## Closing the desk", "## Locking up at night")),
            get_person(cast["mentor"].id), based_on=procedure.revision_number)
    [hit, *_] = find(app, "lights workstation").hits
    assert hit.section == search.SectionHit("locking-up-at-night", "Locking up at night")


# -- the words of a question ----------------------------------------------------------

def test_question_words_are_not_searched_for(app, handbook):
    asked = find(app, "how do i waive a fine please")
    plain = find(app, "waive fine")
    assert [h.id for h in asked.hits] == [h.id for h in plain.hits]
    assert asked.total == plain.total
    for hit in asked.hits:
        assert "<mark>how</mark>" not in str(hit.snippet).lower()


def test_a_query_of_question_words_only_is_searched_as_typed(app, cast):
    with app.app_context():
        services.create(services.ProcedureDraft(title="What to do when", body="Who knows."),
                        get_person(cast["mentor"].id), publish=True)
    assert find(app, "what").total == 1


# -- spelling ------------------------------------------------------------------------

def test_a_typo_that_finds_nothing_is_searched_corrected_and_says_so(app, cast, handbook):
    results = find(app, "workstaton")
    assert results.showing_for == "workstation"
    assert [h.id for h in results.hits] == [handbook[0]]
    assert results.query == "workstaton"

    as_typed = find(app, "workstaton", exact=True)
    assert as_typed.total == 0 and as_typed.showing_for is None
    assert as_typed.suggestion == "workstation"

    client = as_person(app, cast["apprentice"])
    page = client.get("/procedures/?q=workstaton").get_data(as_text=True)
    assert "Showing results for <strong>workstation</strong>" in page
    assert 'search instead for <a href="/procedures/?q=workstaton&amp;exact=1">workstaton</a>' \
        in page
    instead = client.get("/procedures/?q=workstaton&exact=1").get_data(as_text=True)
    assert "Showing results for" not in instead and "Did you mean" in instead
    data = client.get("/api/search?q=workstaton").get_json()
    assert data["showing_results_for"] == "workstation"
    assert data["results"][0]["id"] == handbook[0]


def test_words_that_find_enough_are_never_corrected(app, handbook):
    results = find(app, "fine")
    assert results.showing_for is None and results.total >= 2


def test_a_word_in_one_page_but_in_no_title_is_not_corrected(app, cast, handbook):
    """Each field was corrected apart: "find" is in no title, and was searched as
    "fines" although the handbook's text holds it."""
    results = find(app, "find")
    assert results.showing_for is None and results.suggestion is None
    assert [h.id for h in results.hits] == [handbook[0]]


def test_a_correction_takes_the_word_fewest_edits_away(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        for title, body in (("Shelving returns", "Shelving by call number."),
                            ("Shelver duties", "The shelver, the shelver, the shelver.")):
            services.create(services.ProcedureDraft(title=title, body=body), mentor,
                            publish=True)
    # "shelving" is one edit from what was typed, "shelver" two: held by more pages or
    # not, the nearer word is the correction.
    assert find(app, "shelvng", exact=True).suggestion == "shelving"


def test_two_letters_swapped_are_one_slip(app, cast, desk):
    # "recieve" is two edits from "receive" counted letter by letter, and one from
    # "receve" (a page's own typo, below): the swap is the slip staff make.
    with app.app_context():
        services.create(services.ProcedureDraft(title="Returns", body="Receve the bag."),
                        get_person(cast["mentor"].id), publish=True)
    assert find(app, "recieve", exact=True).suggestion == "receive"
    assert find(app, "recieve desk").suggestion == "receive desk"


def test_a_word_typed_twice_is_corrected_twice(app, handbook):
    assert find(app, "workstaton workstaton").showing_for == "workstation workstation"
    # ... but not where it names a tag or asks for words like it
    assert find(app, "workstaton tag:workstaton workstaton~", exact=True).suggestion \
        == "workstation tag:workstaton workstaton~"


@pytest.mark.parametrize("pasted", ["\u200bworkstaton", "work\u00adstaton", "\ufeffworkstaton"])
def test_invisible_characters_pasted_with_a_word_are_dropped(app, handbook, pasted):
    results = find(app, pasted)
    assert results.showing_for == "workstation" and results.hits[0].id == handbook[0]


def test_compatibility_forms_are_read_as_letters(app, cast):
    with app.app_context():
        services.create(services.ProcedureDraft(title="Overdue fines", body="Waive them."),
                        get_person(cast["mentor"].id), publish=True)
    assert find(app, "\ufb01nes").total == 1  # "fines" with the fi ligature, from a PDF
    assert find(app, "\uff46\uff49\uff4e\uff45\uff53").total == 1  # full-width letters


def test_words_asked_for_loosely_are_not_corrected(app, handbook):
    # word~ asks for words like it, word* for words that begin so: already loose.
    for typed in ("workstaton~", "workstaton~2", "workstaton*", "workstat*"):
        results = find(app, typed)
        assert results.suggestion is None and results.showing_for is None, typed
    assert find(app, "workstaton~2").total >= 1  # what they ask for, no more


def test_short_words_are_not_corrected_into_other_words(app, handbook):
    # Two edits in four letters leave too little of what was typed to guess from
    # ("bxxk" and "book"): a word of up to five letters is corrected by one edit.
    assert find(app, "bxxk", exact=True).suggestion is None
    assert find(app, "renw", exact=True).suggestion == "renew"


def test_a_question_mark_ends_the_question(app, handbook):
    # Whoosh reads "fine?" as "fine" and one more letter: the question lost its last word.
    assert find(app, "can i waive a fine?").total == find(app, "can i waive a fine").total == 2
    assert find(app, "renew?? loans").total == 1
    assert find(app, "w?iv").total == 1  # inside a word, ? still stands for one letter


def test_two_words_run_together_are_searched_apart(app, cast, handbook):
    # A hyphen dropped or a space missed ("cash-float", "due dates"): no page holds the
    # word as typed, and the nearest spelling is no answer; the two words are.
    results = find(app, "cashfloat")
    assert results.showing_for == "cash float"
    assert [h.id for h in results.hits] == [handbook[0]]
    assert find(app, "overduefine", exact=True).suggestion == "overdue fine"
    # ... split where both halves are the pages' words, not into a word and a scrap
    assert find(app, "workstaton", exact=True).suggestion == "workstation"
    # ... and not where one slip makes a word of the pages: "patorn" is patron, two
    # letters swapped, though "pa" and "torn" are both there.
    with app.app_context():
        services.create(services.ProcedureDraft(
            title="Closing", body="Announce it on the PA. Mend a torn page. Thank the patron."),
            get_person(cast["mentor"].id), publish=True)
    assert find(app, "patorn").showing_for == "patron"
    assert find(app, "patorn", exact=True).suggestion == "patron"
    client = as_person(app, cast["apprentice"])
    data = client.get("/api/search?q=duedates").get_json()
    assert data["showing_results_for"] == "due dates"
    assert data["results"][0]["id"] == handbook[0]


def test_one_word_typed_as_two_is_searched_as_one(app, cast, handbook):
    with app.app_context():
        pickup = services.create(services.ProcedureDraft(
            title="Pickup shelf", body="Requested items wait here for a coworker to collect."),
            get_person(cast["mentor"].id), publish=True).id
    for typed in ("pick up", "pick-up", "Pick-Up shelf"):
        results = find(app, typed)
        assert results.hits and results.hits[0].id == pickup, typed
    assert find(app, "pick up").showing_for == "pickup"
    assert find(app, "co-worker", exact=True).suggestion == "coworker"
    # Words the pages hold as typed are left alone, and so are quoted phrases and syntax.
    assert find(app, "cash float", exact=True).suggestion is None
    assert find(app, '"pick up"', exact=True).suggestion is None
    assert find(app, "tag:pick up", exact=True).suggestion is None


def test_a_word_is_split_only_into_two_words_the_pages_hold(app, handbook):
    assert find(app, "deskzzqx", exact=True).suggestion is None  # "desk" and a scrap
    assert find(app, "cashby", exact=True).suggestion != "cash by"  # "by": a stop word


def test_emphasised_words_are_found(app, cast):
    with app.app_context():
        services.create(services.ProcedureDraft(
            title="End of shift", body="Run *Payments by workstation* and **count** it."),
            get_person(cast["mentor"].id), publish=True)
    assert find(app, "workstation").total == 1
    assert find(app, "count").total == 1


@pytest.fixture
def desk(app, cast):
    """Five pages on the desk's work: enough for any question to find three."""
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        return [services.create(services.ProcedureDraft(title=title, body=body), mentor,
                                publish=True).id
                for title, body in (
                    ("Receiving a delivery", "Receive each box and check the packing list."),
                    ("Opening the desk", "Switch on the desk computers and the receipt printer."),
                    ("Closing the desk", "Count the float and lock the desk drawer."),
                    ("Desk cover", "Ask the supervisor for desk cover at lunch."),
                    ("Desk shows", "Show the desk calendar to new staff."))]


def test_a_typo_beside_words_that_find_enough_is_searched_as_well_and_suggested(app, desk):
    results = find(app, "recieve desk")
    assert results.total >= 3 and results.showing_for is None
    assert results.suggestion == "receive desk"
    assert results.hits[0].id == desk[0]  # the typo's word, found, ranks its page first
    as_typed = find(app, "recieve desk", exact=True)
    assert as_typed.suggestion == "receive desk" and desk[0] not in [h.id for h in as_typed.hits]


def test_words_spelt_right_are_never_corrected(app, desk):
    # "snow" is one letter from "show", which the pages hold; it is an English word,
    # so the pages lack it: no correction, no suggestion. Likewise a word without its
    # apostrophe, and three letters (an acronym: "tlr").
    for typed in ("snow desk", "desk isnt open", "tlr desk", "snow"):
        results = find(app, typed)
        assert results.suggestion is None and results.showing_for is None, typed
    assert find(app, "snow").total == 0


@pytest.mark.parametrize(("typed", "expected"), [
    ("item type for laptops", "Material types"),  # another system's name for it
    ("student account transfer", "Bursar exports"),
    ("change many users at once in bulk", "Batch editing users"),
    ("quick add", "Brief records"),
    ("reading history", "Loan history"),
])
def test_the_shipped_glossary_knows_other_systems_names(app, cast, typed, expected):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        for title, body in (("Bursar exports", "Send the fees owed to the bursar nightly."),
                            ("Material types", "Add a material type in the settings."),
                            ("Batch editing users", "Upload a file of barcodes to edit."),
                            ("Brief records", "A fast add record is enough at the desk."),
                            ("Loan history", "Anonymize closed loans after a year."),
                            ("Typing", "Change the laptop, the type and the user. "
                                       "Account for each student; transfer them.")):
            services.create(services.ProcedureDraft(title=title, body=body), mentor,
                            publish=True)
    assert find(app, typed).hits[0].title == expected
