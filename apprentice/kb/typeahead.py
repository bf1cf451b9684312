"""Search as you type: the procedures whose titles, or the headings of whose sections,
hold the words typed (issue 14).

Read from the search index that apprentice/kb/search.py keeps (through its ``_open`` and
``_reading``, so this shares the thread's searcher and sees a rebuild at once), never
the database: a keystroke must answer in a few milliseconds at 10,000 procedures. The
index holds a title's stems, not its words, so the index only narrows the candidates
(a superset) and the stored titles decide, word by word, as the person reads them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from whoosh import index
from whoosh.analysis import STOP_WORDS

from apprentice.kb import search
from apprentice.kb.models import ProcedureStatus

MIN_LETTERS = 3  # fewer letters match too many titles to be worth a round trip
LIMIT = 5
MAX_TYPED = 200  # characters: no title is longer (Procedure.title), so nothing could match
WORD = search.WORD
CONCEPT = search.CONCEPT.format("")  # glossary tokens share the title's terms: never words
SHORTEST_STEM = 2  # the index drops shorter words (StemmingAnalyzer's minsize)


@dataclass(frozen=True)
class Suggestion:
    """A procedure to offer, at a section of it when ``anchor`` is given."""

    procedure_id: int
    title: str
    heading: str | None = None
    anchor: str | None = None


@dataclass(frozen=True)
class _Title:
    """What a suggestion needs of an indexed procedure, read once from its stored fields."""

    procedure_id: int
    title: str
    words: tuple[str, ...]  # lower case, as WORD reads them
    status: str
    owner: str
    # The sections' headings: (anchor, heading, its words), in the page's order.
    headings: tuple[tuple[str | None, str, tuple[str, ...]], ...] = ()


# Titles read so far, by index folder and segment, then document number within it: a
# segment never changes (a commit adds new ones), so typing "che", "chec", "check" and
# the next person's search read each title once. Segments gone from the index are
# dropped (_forget_others): a merge or a rebuild replaces them.
_titles: dict[tuple[str, str], dict[int, _Title]] = {}
SPARE_SEGMENTS = 8  # kept beyond the live index's, for threads still on an older version
_titles_lock = threading.Lock()


def words(text: str) -> list[str]:
    """``text``'s words in lower case, as a title's are compared."""
    return WORD.findall(search.readable(text).lower())


def suggest(text: str, *, viewer_id: int | None, sees_everything: bool,
            limit: int = LIMIT) -> list[Suggestion]:
    """Up to ``limit`` procedures the viewer may see whose title holds every word typed,
    the last one as the start of a word; titles that begin with the words typed come
    first, then shorter titles. Nothing under three letters, or while the index is
    unavailable (a type-ahead only helps; the search page says what is wrong).

    ``viewer_id``, ``sees_everything``: as :func:`apprentice.kb.search.search` takes
    them (apprentice.kb.permissions.search_visibility)."""
    cleaned = " ".join(text.split())
    typed = words(cleaned)
    if sum(map(len, typed)) < MIN_LETTERS or len(cleaned) > MAX_TYPED:
        return []
    try:
        ix = search._open(create=False)
        titles = _candidates(ix, search._reading(ix).searcher, typed)
    except (search.SearchUnavailable, OSError, index.IndexError):
        return []
    owner = str(viewer_id) if viewer_id is not None else None
    visible = [t for t in titles if sees_everything or t.status == ProcedureStatus.PUBLISHED.value
               or t.owner == owner]
    matching = [t for t in visible if _holds(t.words, typed)]
    matching.sort(key=lambda t: (not _begins(t.words, typed), len(t.title), t.title.lower(),
                                 t.procedure_id))
    found = [Suggestion(t.procedure_id, t.title) for t in matching]
    if len(found) < limit:  # then the sections whose headings hold the words typed
        sections = [(t, anchor, heading, held) for t in visible
                    for anchor, heading, held in t.headings if _holds(held, typed)]
        sections.sort(key=lambda s: (not _begins(s[3], typed), len(s[2]), s[2].lower(),
                                     s[0].procedure_id))
        found += [Suggestion(t.procedure_id, t.title, heading, anchor)
                  for t, anchor, heading, _held in sections]
    return found[:max(limit, 0)]


def _holds(held: tuple[str, ...], typed: list[str]) -> bool:
    """Every word typed is one of ``held``, the last one the start of one."""
    *whole, last = typed
    return all(word in held for word in whole) and any(word.startswith(last) for word in held)


def _begins(title: tuple[str, ...], typed: list[str]) -> bool:
    """The title's first words are the words typed (the last one begun)."""
    *whole, last = typed
    return (len(title) >= len(typed) and list(title[:len(whole)]) == whole
            and title[len(whole)].startswith(last))


FIELDS = ("title", "headings")  # where the words typed are looked for


def _candidates(ix, searcher, typed: list[str]) -> list[_Title]:
    """Procedures whose title or a heading may match, from the stemmed terms in each
    segment: each whole word's stem, and for the word being typed any term it may still
    become. Stop words are not in the index: the stored titles and headings decide those.
    (An index from before headings were indexed offers titles only.)"""
    folder = str(getattr(ix.storage, "folder", ""))
    fields = [name for name in FIELDS if name in searcher.schema]
    found, live = [], set()
    for segment, _offset in searcher.leaf_searchers():
        reader = segment.reader()
        key = (folder, reader.segment().segment_id())
        live.add(key)
        docnums: set[int] = set()
        for fieldname in fields:
            docnums |= _matching(reader, searcher.schema[fieldname].analyzer, fieldname, typed)
        kept = _titles.get(key)
        if kept is None:
            kept = _titles.setdefault(key, {})
        found.extend(_title(reader, kept, docnum) for docnum in sorted(docnums))
    _forget_others(live)
    return found


def _matching(reader, analyzer, fieldname: str, typed: list[str]) -> set[int]:
    """The documents of one segment whose ``fieldname`` may hold the words typed."""
    *whole, last = typed
    stems = {stem for word in whole for stem in _stems(analyzer, word)}
    stop_word = any(stop.startswith(last) for stop in STOP_WORDS)
    begun = _terms_begun(reader, analyzer, fieldname, last)
    if not begun and not stop_word:
        return set()  # no word in this segment's field begins so
    needed = [[stem] for stem in stems]
    if begun and not (stop_word and stems):  # a stop word's documents: by the other words
        needed.append(sorted(begun))
    docnums: set[int] | None = None
    for terms in needed:  # each word's documents: any of its terms
        ids = set()
        for term in terms:
            if (fieldname, term) in reader:
                ids.update(reader.postings(fieldname, term.encode("utf-8")).all_ids())
        docnums = ids if docnums is None else docnums & ids
        if not docnums:
            break
    return docnums or set()


def _stems(analyzer, word: str) -> list[str]:
    """``word`` as the index holds it (none for a stop word)."""
    return [token.text for token in analyzer(word, mode="query")]


def _terms_begun(reader, analyzer, fieldname: str, begun: str) -> set[str]:
    """The terms of ``fieldname`` a word beginning ``begun`` may be indexed as: those that begin
    with it or with its stem ("library" is "librari"), stems it already goes past
    ("checki" was "checking": "check"), and stems that end in a letter it does not have
    yet ("shari" is "sharing": "share"; "copyi" is "copying": "copi")."""
    terms: set[str] = set()
    for start in {begun, *_stems(analyzer, begun)}:
        terms.update(term.decode("utf-8") for term in reader.expand_prefix(fieldname, start))
    for end in range(SHORTEST_STEM, len(begun)):
        for term in (begun[:end], begun[:end] + "e", begun[:end] + "i"):
            if (fieldname, term) in reader:
                terms.add(term)
    return {term for term in terms if not term.startswith(CONCEPT)}


def _title(reader, kept: dict[int, _Title], docnum: int) -> _Title:
    """A document's title (and who may see it), read from the segment once."""
    title = kept.get(docnum)
    if title is None:
        fields = reader.stored_fields(docnum)
        parts = (fields.get("sections") or {}).get("parts", ())
        title = kept[docnum] = _Title(
            int(fields["id"]), fields["title"], tuple(words(fields["title"])),
            fields.get("status", ""), fields.get("owner", ""),
            tuple((part[0], part[1], tuple(words(part[1]))) for part in parts if part[1]))
    return title


def _forget_others(live: set[tuple[str, str]]) -> None:
    """Drop the titles of segments no longer in the index, once there are a few."""
    if len(_titles) <= len(live) + SPARE_SEGMENTS:
        return
    with _titles_lock:
        for key in [key for key in _titles if key not in live]:
            _titles.pop(key, None)
