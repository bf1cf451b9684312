"""An OR of words scored at once (apprentice/kb/ranking.py) ranks as Whoosh ranks: the same
documents, order and scores, whatever the index holds (several segments, deleted
documents), the query's boosts and the pages a person may see."""

from __future__ import annotations

import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh.lang.porter import stem
from whoosh.query import Or, Phrase, Term

from apprentice.kb import ranking, search, services
from apprentice.people.services import get_person

WORDS = ["hold", "shelf", "loan", "fine", "renew", "patron", "barcode", "desk", "waive"]

documents = st.lists(
    st.tuples(st.lists(st.sampled_from(WORDS), max_size=4),     # title
              st.lists(st.sampled_from(WORDS), max_size=4),     # tags
              st.lists(st.sampled_from(WORDS), max_size=30)),   # body
    min_size=1, max_size=25)
queries = st.lists(
    st.tuples(st.sampled_from(["title", "tags", "body"]), st.sampled_from(WORDS),
              st.sampled_from([1.0, 1.0, 0.5, 2.0])),
    min_size=1, max_size=6)


def _index(folder: str, batches: list[list[tuple]], deleted: set[int]):
    """An index of the documents in ``folder``, one segment per batch, ``deleted``
    numbers deleted. (Not in memory: Whoosh's in-memory writers share one temporary
    folder in /tmp, which two test processes at once tore from under each other.)"""
    ix = index.create_in(folder, search._schema(search.GlossaryFilter([])))
    number = 0
    for batch in batches:
        writer = ix.writer()
        for title, tags, body in batch:
            writer.add_document(id=str(number), title=" ".join(title) or "untitled",
                                tags=",".join(tags), body=" ".join(body))
            number += 1
        writer.commit(merge=False)
    if deleted:
        writer = ix.writer()
        for number in deleted:
            writer.delete_by_term("id", str(number))
        writer.commit(merge=False)
    return ix


def _query(words: list[tuple], group_boost: float):
    """An OR of words as search() makes it: parsed, then its ORs given Whoosh's union
    matchers (search._union_matching), which add the scores in a tree of their own."""
    leaves = [Term(field, word if field == "tags" else stem(word), boost=boost)
              for field, word, boost in words]
    return search._union_matching(
        Or([Or(leaves[:2], boost=group_boost), *leaves[2:]]).normalize())


def _whoosh(searcher, query, limit, allowed):
    """Whoosh's scores for every match, in the order its collector intends (the higher
    score, then the lower document number), scores equal to ranking.ROUNDING decimals
    counted equal: Whoosh's own ties fall where its additions' last digit puts them."""
    if allowed is not None and not allowed:  # Whoosh would read it as no filter at all
        return []
    found = [(hit.docnum, hit.score)
             for hit in searcher.search(query, limit=None, filter=allowed)]
    return sorted(found, key=lambda hit: (-round(hit[1], ranking.ROUNDING), hit[0]))[:limit]


def _agree(found, expected):
    assert [docnum for docnum, _ in found] == [docnum for docnum, _ in expected]
    assert [score for _, score in found] == pytest.approx([score for _, score in expected],
                                                           rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(documents, min_size=1, max_size=3), words=queries,
       group_boost=st.sampled_from([1.0, 3.0]), limit=st.integers(1, 12),
       deleted=st.sets(st.integers(0, 40), max_size=6), allowed=st.none() | st.sets(
           st.integers(0, 80), max_size=30))
def test_the_best_documents_are_whooshs_in_whooshs_order(batches, words, group_boost, limit,
                                                          deleted, allowed):
    query = _query(words, group_boost)
    with tempfile.TemporaryDirectory() as folder, _index(folder, batches,
                                                         deleted).searcher() as searcher:
        if not ranking.plain(query):  # normalised to a single word: Whoosh's own
            query = Or([query, Term("body", "zzz")])
        assert ranking.plain(query)
        best, matched = ranking.best(searcher, query, limit, allowed)
        _agree(best, _whoosh(searcher, query, limit, allowed))
        everything = set(searcher.docs_for_query(query))
        assert matched == (everything & allowed if allowed is not None else everything)


def test_equal_scores_put_the_lower_document_first(tmp_path):
    # Pages 3 and 4 score the same for "hold desk" from different words. Added up in
    # the query's order, page 4 came out a last digit ahead; in Whoosh's tree (shaped by
    # the words' frequencies), page 3 did. Equal is equal: the lower page first.
    pages = [("fine", "", "desk loan hold x"), ("hold", "loan,hold", "desk x x x"),
             ("other", "hold,loan,desk", "hold x x x"), ("hold", "desk", "fine hold x x"),
             ("hold", "hold", "loan hold x x"), ("hold", "loan,hold", "desk loan fine x"),
             ("misc", "desk", "hold loan desk x"), ("hold", "", "desk hold loan x"),
             ("misc", "fine,loan,desk", "fine loan x x"), ("other", "", "hold loan desk x"),
             ("desk", "", "loan x x x")]
    ix = _index(str(tmp_path), [[(title.split(), tags.split(",") if tags else [], body.split())
                                 for title, tags, body in pages]], set())
    query = search._union_matching(search._parser(ix.schema).parse("hold desk"))
    with ix.searcher() as searcher:
        best, _ = ranking.best(searcher, query, 3)
        whoosh = {hit.docnum: hit.score for hit in searcher.search(query, limit=None)}
    assert [docnum for docnum, _ in best] == [3, 4, 1]
    assert best[0][1] == pytest.approx(best[1][1], rel=1e-12)
    assert [score for _, score in best] == pytest.approx([whoosh[3], whoosh[4], whoosh[1]],
                                                         rel=1e-12)


def test_only_an_or_of_words_is_scored_at_once():
    hold, shelf = Term("body", "hold"), Term("body", "shelf")
    assert ranking.plain(hold) and ranking.plain(Or([hold, shelf]))
    assert not ranking.plain(Or([hold, shelf], scale=0.9))  # a coordination bonus
    assert not ranking.plain(Or([hold, Phrase("body", ["shelf", "read"])]))


def test_search_scores_an_or_of_words_at_once_and_the_rest_through_whoosh(app, make_person,
                                                                           monkeypatch):
    with app.app_context():
        mentor = get_person(make_person(roles=["mentor"]).id)
        for title, body in (("Placing a hold", "Place the hold at the desk."),
                            ("Shelf reading", "Read the shelf and fix holds left behind."),
                            ("Waiving a fine", "Waive the fine at the desk.")):
            services.create(services.ProcedureDraft(title=title, body=body), mentor,
                            publish=True)
        scored = []
        real = ranking.best
        monkeypatch.setattr(ranking, "best", lambda *a, **k: scored.append(1) or real(*a, **k))

        def titles(text, **options):
            found = search.search(text, viewer_id=None, sees_everything=True, **options)
            return [hit.title for hit in found.hits]

        assert titles("hold desk")[0] == "Placing a hold"
        assert scored == [1]
        assert titles("hold AND desk") == ["Placing a hold"]  # not an OR
        assert len(titles("hold desk", sort="recent")) == 3  # newest first
        assert scored == [1]
