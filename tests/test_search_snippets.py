"""Search snippets read as the page does: cut from the rendered text, never showing
Markdown (``##``, ``**``, table pipes, link targets), on the page and in the API, with the
matched words still marked; an index built before snippets were stored still works."""

from __future__ import annotations

import html
import re

import pytest
from whoosh import index

from apprentice.kb import search, services
from apprentice.kb.rendering import plain_text
from apprentice.people.services import get_person
from tests.loop import as_person

BODY = """## Who can ask

Any cardholder may ask for an **ILL** through the [request form](https://library.example/ill).

| Item | Loan period |
|------|-------------|
| Book | 21 days     |

Check the status with `ill-status --open` or:

```
ill-status --all
```

Never type a < b or <script>alert(1)</script> into the form.
"""
MARKDOWN = ["##", "**", "|", "](", "```", "https://library.example"]


@pytest.fixture
def cast(make_person):
    return {"mentor": make_person(roles=["mentor"]), "apprentice": make_person()}


@pytest.fixture
def procedure_id(app, cast):
    with app.app_context():
        return services.create(services.ProcedureDraft(title="Interlibrary loans", body=BODY),
                               get_person(cast["mentor"].id), publish=True).id


def snippets_on_the_page(client, word: str) -> list[str]:
    page = client.get("/procedures/", query_string={"q": word}).get_data(as_text=True)
    return re.findall(r'<p class="ap-snippet">(.*?)</p>', page, re.S)


def snippet_in_the_api(client, word: str) -> str:
    [hit] = client.get("/api/search", query_string={"q": word}).get_json()["results"]
    return hit["snippet"]


@pytest.mark.parametrize(("word", "marked"), [
    pytest.param("cardholder", "<mark>cardholder</mark>", id="paragraph"),
    pytest.param("period", "<mark>period</mark>", id="table-cell"),
    pytest.param("status", "<mark>status</mark>", id="inline-code"),
])
def test_snippets_show_the_text_a_reader_sees_with_the_match_marked(app, cast, procedure_id,
                                                                     word, marked):
    client = as_person(app, cast["apprentice"])
    [on_page] = snippets_on_the_page(client, word)
    in_api = snippet_in_the_api(client, word)
    for snippet in (on_page, in_api):
        assert marked in snippet
        words = html.unescape(re.sub(r"</?mark>", "", snippet))
        for markup in MARKDOWN:
            assert markup not in words, (markup, snippet)
        assert words.strip("…") in plain_text(BODY)  # a piece of what the reader sees
        assert "Loan period Book 21 days" in words  # cells apart, words not run together


def test_text_that_looks_like_html_stays_text(app, cast, procedure_id):
    client = as_person(app, cast["apprentice"])
    [on_page] = snippets_on_the_page(client, "type")
    assert "a &lt; b or &lt;script&gt;alert(1)&lt;/script&gt;" in on_page
    assert "<script>" not in on_page


def test_plain_text_drops_the_markup_and_keeps_the_words():
    assert plain_text(BODY).startswith(
        "Who can ask Any cardholder may ask for an ILL through the request form. "
        "Item Loan period Book 21 days Check the status with ill-status --open or: "
        "ill-status --all")
    assert plain_text("![Returns trolley](trolley.png) *Empty* it &amp; ~~wait~~") == \
        "Returns trolley Empty it & wait"


def build_old_index(app) -> None:
    """An index as the version before stored sections built it (no ``sections``)."""
    with app.app_context():
        schema = search._schema(search._current_filter())
        schema.remove("sections")
        generation = search._new_generation()
        ix = index.create_in(generation, schema)
        writer = ix.writer()
        for procedure in services.db_session().scalars(services.select(services.Procedure)):
            document = search._document(procedure)
            del document["sections"]
            writer.add_document(**document)
        writer.commit()
        search._swap_in(generation)


def test_an_index_from_an_earlier_version_still_gives_clean_snippets_and_is_flagged(
        app, cast, procedure_id):
    build_old_index(app)
    client = as_person(app, cast["apprentice"])
    [on_page] = snippets_on_the_page(client, "cardholder")
    assert "<mark>cardholder</mark>" in on_page and "**" not in on_page
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["apprentice", "check-index"])
    assert "built by an earlier version of apprentice" in checked.output
    assert "The search index agrees with the database." in checked.output
    # A save goes into the old index (without the field it lacks) and is found at once.
    with app.app_context():
        services.create(services.ProcedureDraft(title="Renewals", body="**Renew** by phone."),
                        get_person(cast["mentor"].id), publish=True)
    assert snippet_in_the_api(client, "phone") == "Renew by <mark>phone</mark>."
    synced = runner.invoke(args=["apprentice", "index-sync"])
    assert "An earlier version of apprentice built the search index: rebuilt the index " \
           "(2 procedures)." in synced.output
    checked = runner.invoke(args=["apprentice", "check-index"])
    assert checked.output.splitlines()[-1] == "The search index agrees with the database."
    assert "0 waiting" in checked.output
    with app.app_context(), search._open(create=False).searcher() as searcher:
        texts = {" ".join(part[2] for part in doc["sections"]["parts"])
                 for doc in searcher.all_stored_fields()}
    assert "Renew by phone." in texts and len(texts) == 2


def test_an_index_that_kept_stars_in_words_is_rebuilt(app, cast):
    """Whoosh-Reloaded's tokenizer kept "*" in a word, so *emphasis* was indexed as
    "emphasis*" and not found; an index built that way is flagged and rebuilt."""
    from whoosh.analysis import StemmingAnalyzer

    with app.app_context():
        services.create(services.ProcedureDraft(title="End of shift",
                                                body="Run *Payments by workstation*."),
                        get_person(cast["mentor"].id), publish=True)
        schema = search._schema(search._current_filter())
        for name in ("title", "body"):
            schema[name].analyzer = StemmingAnalyzer(expression=r"[\w\*]+(\.?[\w\*]+)*") \
                | search._current_filter()
        generation = search._new_generation()
        ix = index.create_in(generation, schema)
        writer = ix.writer()
        for procedure in services.db_session().scalars(services.select(services.Procedure)):
            document = search._with_sections(search._document(procedure), schema)
            writer.add_document(**{**document, "body": procedure.body})  # as it was indexed
        writer.commit()
        search._swap_in(generation)
    client = as_person(app, cast["apprentice"])
    assert client.get("/api/search?q=workstation&exact=1").get_json()["total"] == 0
    runner = app.test_cli_runner()
    assert "built by an earlier version of apprentice" in runner.invoke(
        args=["apprentice", "check-index"]).output
    synced = runner.invoke(args=["apprentice", "index-sync"])
    assert "An earlier version of apprentice built the search index: rebuilt" in synced.output
    found = client.get("/api/search?q=workstation&exact=1").get_json()
    assert found["total"] == 1 and found["results"][0]["title"] == "End of shift"
