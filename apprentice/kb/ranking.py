"""The best pages for an OR of words, scored all at once: what most searches parse to.

Whoosh scores a search one posting at a time through a tree of matchers. At 10,000
procedures a query whose words are on half the pages ("user barcode") spent four fifths
of its time there. Here each word's postings are read a block at a time and scored
together with numpy by Whoosh's own BM25F: its formula, its statistics (idf, average
field length, the lengths it stores), the field boosts in its postings and the query's
boosts. The best are kept in the order Whoosh's collector intends: the higher score
first, then the lower document number. Anything else (phrases, fuzzy words, another
weighting) is Whoosh's.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.matching import FilterMatcher
from whoosh.query import Or, Term
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

# A field length as Whoosh stores it (one byte, approximate) and reads it back; a
# document without the field reads as 1, as BM25F's scorer asks.
_LENGTHS = np.array([byte_to_length(n) if n else 1 for n in range(256)], dtype=np.float64)


ROUNDING = 9  # decimals of a score that count: BM25F scores here are 0.01 to 100


class Allowed(set):
    """The document numbers a filter lets through, kept per version of the index (see
    search._Reading), with their numpy array made once: made on each search, it cost a
    millisecond at 10,000 pages, twice (the words' ranking and the meaning's)."""

    @cached_property
    def array(self) -> np.ndarray:
        return np.fromiter(self, dtype=np.int64, count=len(self))


def as_array(allowed: set[int]) -> np.ndarray:
    """``allowed`` as a numpy array: an :class:`Allowed`'s own, or made."""
    if isinstance(allowed, Allowed):
        return allowed.array
    return np.fromiter(allowed, dtype=np.int64, count=len(allowed))


def plain(query) -> bool:
    """An OR of words with nothing Whoosh would score another way (a coordination
    bonus, a minimum to match)."""
    if type(query) is Term:
        return True
    return (type(query) is Or and not query.scale and not query.minmatch
            and all(plain(sub) for sub in query.subqueries))


def _boosted(query, boost: float = 1.0) -> Iterator[tuple[Term, float]]:
    """Each word of a :func:`plain` query with the boost its score is multiplied by
    (Whoosh ignores the boost of an OR that holds a single query)."""
    if type(query) is Term:
        yield query, boost * query.boost
        return
    inner = boost * query.boost if len(query.subqueries) > 1 else boost
    for sub in query.subqueries:
        yield from _boosted(sub, inner)


def postings(reader, fieldname: str, btext: bytes, weights: bool = False):
    """A word's document numbers in one segment (and its weights, the counts times the
    field's boost, with ``weights``), deleted documents left out, as numpy arrays.

    Read a block at a time, which relies on Whoosh-Reloaded 2.7.5's codec (pinned);
    anything else is read a posting at a time through Whoosh's matcher."""
    matcher = reader.postings(fieldname, btext)
    deleted = ()
    if isinstance(matcher, FilterMatcher) and matcher._exclude:
        matcher, deleted = matcher.child, matcher._ids
    ids, found = [], []
    try:
        while matcher.is_active():
            matcher._read_ids()
            ids.extend(matcher._ids)
            if weights:
                matcher._read_weights()
                found.extend(matcher._weights)
            matcher._next_block()
    except AttributeError:
        ids, found, deleted = [], [], ()
        matcher = reader.postings(fieldname, btext)
        while matcher.is_active():
            ids.append(matcher.id())
            if weights:
                found.append(matcher.weight())
            matcher.next()
    ids = np.array(ids, dtype=np.int64)
    found = np.array(found, dtype=np.float64) if weights else None
    if len(deleted):
        kept = ~np.isin(ids, np.fromiter(deleted, dtype=np.int64, count=len(deleted)))
        ids = ids[kept]
        found = found[kept] if weights else None
    return ids, found


def field_lengths(reader, fieldname: str) -> np.ndarray:
    """Every document's length in ``fieldname`` in one segment, as BM25F reads it."""
    count = reader.doc_count_all()
    try:  # the lengths column's bytes at once (Whoosh-Reloaded 2.7.5's codec)
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        raw = b"" if column is None else column._dbfile.get(column._basepos, column._count)
        codes = np.frombuffer(raw, dtype=np.uint8)
    except AttributeError:
        return np.array([reader.doc_field_length(docnum, fieldname, 1)
                         for docnum in range(count)], dtype=np.float64)
    codes = np.concatenate([codes[:count], np.zeros(max(count - len(codes), 0), np.uint8)])
    return _LENGTHS[codes]


def best(searcher, query, limit: int, allowed: set[int] | None = None,
         lengths: dict | None = None) -> tuple[list[tuple[int, float]], set[int]] | None:
    """The best ``limit`` documents for a :func:`plain` ``query`` as (document number,
    score), best first, and every matching document's number; only documents in
    ``allowed`` when given. None when Whoosh's own scoring is needed: another weighting,
    or a field without stored lengths.

    ``lengths``: a cache of :func:`field_lengths` for this searcher's version of the
    index (they are read once, not per search)."""
    weighting = searcher.weighting
    if type(weighting) is not BM25F:
        return None
    schema, k1 = searcher.schema, weighting.K1
    words, everywhere = [], searcher.reader()
    for term, boost in _boosted(query):
        field = schema[term.fieldname]
        btext = field.to_bytes(term.text)
        if not field.scorable:  # no lengths stored: Whoosh's own scoring
            return None
        if (term.fieldname, btext) not in everywhere:  # as Whoosh: no statistics asked
            continue
        words.append((term.fieldname, btext, boost, searcher.idf(term.fieldname, btext),
                      searcher.avg_field_length(term.fieldname) or 1,
                      weighting._field_B.get(term.fieldname, weighting.B)))
    lengths = {} if lengths is None else lengths
    numbers, scores = [], []
    for number, (segment, offset) in enumerate(searcher.leaf_searchers()):
        reader = segment.reader()
        total = np.zeros(reader.doc_count_all(), dtype=np.float64)
        matched = np.zeros(len(total), dtype=bool)
        for fieldname, btext, boost, idf, average, b in words:
            if (fieldname, btext) not in reader:
                continue
            ids, weight = postings(reader, fieldname, btext, weights=True)
            key = (number, fieldname)
            if key not in lengths:
                lengths[key] = field_lengths(reader, fieldname)
            length = lengths[key][ids]
            score = idf * ((weight * (k1 + 1))
                           / (weight + k1 * ((1 - b) + b * length / average)))
            total[ids] += score * boost if boost != 1.0 else score
            matched[ids] = True
        found = np.flatnonzero(matched) + offset
        numbers.append(found)
        scores.append(total[found - offset])
    numbers = np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int64)
    scores = np.concatenate(scores) if scores else np.zeros(0, dtype=np.float64)
    if allowed is not None:
        keep = np.isin(numbers, as_array(allowed))
        numbers, scores = numbers[keep], scores[keep]
    everything = set(numbers.tolist())
    # Scores equal but for the order their words were added in (Whoosh adds them in a
    # tree shaped by the words' frequencies, here in the query's order) are equal: the
    # lower document number first, as Whoosh intends, not a last-digit accident.
    ranked = np.round(scores, ROUNDING)
    if len(numbers) > limit > 0:  # only what can reach the page is sorted
        least = np.partition(ranked, len(ranked) - limit)[len(ranked) - limit]
        keep = ranked >= least
        numbers, scores, ranked = numbers[keep], scores[keep], ranked[keep]
    order = np.lexsort((numbers, -ranked))[:max(limit, 0)]
    return [(int(numbers[n]), float(scores[n])) for n in order], everything
