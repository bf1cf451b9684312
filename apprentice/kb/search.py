"""Procedure search: the one module that knows Whoosh (index, remove, query, rebuild),
with apprentice/kb/typeahead.py, which reads this module's index for search as you type.

The database is the source of truth. Each server keeps its own index (a replica);
changes reach every replica through a log written in the same transaction as the
change (apprentice/kb/changelog.py), which each server applies after its own saves
and on a timer (apprentice/kb/applier.py), one writer at a time. ``rebuild``
builds a new index folder and swaps it in at once, so searches never see a
half-built index. A missing or broken index makes search say it is unavailable;
nothing else in the app notices.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import itertools
import json
import math
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
import zlib
from collections import Counter, OrderedDict, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache, partial
from importlib.resources import files
from pathlib import Path

import numpy as np
from flask import current_app
from markupsafe import Markup
from sqlalchemy import func, select
from whoosh import index, sorting
from whoosh.analysis import Filter, StemmingAnalyzer
from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader, W3Segment
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.index import LockError
from whoosh.lang.porter import stem
from whoosh.qparser import FieldAliasPlugin, FuzzyTermPlugin, MultifieldParser, OrGroup
from whoosh.query import And, AndNot, Every, FuzzyTerm, MultiTerm, Not, Or, Phrase, Term
from whoosh.reading import IndexReader, SegmentReader

from apprentice.config import index_dir
from apprentice.db import db_session, reading_only
from apprentice.kb import changelog, ranking, semantic
from apprentice.kb import glossary as vocabulary
from apprentice.kb.models import Procedure, ProcedureStatus
from apprentice.kb.rendering import sanitise, sections

MAX_QUERY = 200  # characters: Whoosh's parser slows sharply on very long input
WRITE_TIMEOUT = 10.0  # seconds to wait for the index's single writer lock
CONCEPT = "glossaryterm{}"  # a glossary group's token in the index, by its number


# A word as the index reads one ("u.s" and "1.5" are one). Not Whoosh-Reloaded's default,
# which keeps "*" in a word: Markdown's *emphasis* was indexed as "emphasis*", which no
# search for "emphasis" finds.
WORD = re.compile(r"\w+(?:\.?\w+)*")


def _words() -> StemmingAnalyzer:
    """Words, lower case, stop words out, stemmed: what every text field indexes."""
    return StemmingAnalyzer(expression=WORD)


class GlossaryFilter(Filter):
    """At indexing, adds one concept token wherever any term of a glossary group occurs.

    A query for "ILL" then needs two terms (``ill`` and the group's token)
    instead of every synonym and phrase of the group, which kept searches at
    10,000 procedures slow. The filter is pickled with the index's schema, so
    an index always carries the glossary it was built with; searches use the
    concept tokens only while that is the glossary in use (``signature``).
    """

    is_morph = True  # not applied to the spelling dictionary's words

    def __init__(self, groups: list[list[str]]):
        words = _words()
        self.signature = hashlib.sha256(repr(groups).encode()).hexdigest()
        self.concepts: dict[str, str] = {}
        # Words (as stems) to the tokens of every group they are a term of.
        self.sequences: dict[tuple[str, ...], list[str]] = {}
        self.stems: dict[str, set[str]] = {}  # a concept token's one-word stems, to mark
        for number, group in enumerate(groups):
            token = CONCEPT.format(number)
            for term in group:
                stems = tuple(t.text for t in words(term))
                if not stems:  # only stop words
                    continue
                self.concepts[term.lower()] = token
                tokens = self.sequences.setdefault(stems, [])
                if token not in tokens:
                    tokens.append(token)
                if len(stems) == 1:
                    self.stems.setdefault(token, set()).add(stems[0])
        self.ends = {stems[-1] for stems in self.sequences}
        self.longest = max(map(len, self.sequences), default=0)

    def __call__(self, tokens):
        # A term is recognised at its last word, looking back over the words
        # just seen, so the stream is never held up or copied. Every term ending
        # there counts ("reading shelves" and "shelves"), as when a query spells
        # out the group. The concept token reuses the tokenizer's token object,
        # which the indexer reads at once; its position is the term's last word.
        recent: deque[tuple[str, int]] = deque(maxlen=self.longest or 1)
        for token in tokens:
            if token.mode == "query" or not self.sequences:
                yield token
                continue
            text = token.text
            recent.append((text, token.startchar if token.chars else 0))
            yield token
            if text not in self.ends:
                continue
            start = token.startchar if token.chars else 0
            for length in range(1, len(recent) + 1):  # every term ending here
                words = tuple(word for word, _ in itertools.islice(
                    recent, len(recent) - length, None))
                for concept in self.sequences.get(words, ()):
                    token.text = concept
                    if token.chars:
                        token.startchar = recent[-length][1]
                    yield token
            token.text, token.startchar = text, start


@lru_cache(maxsize=4)
def _glossary_filter(groups: tuple[tuple[str, ...], ...]) -> GlossaryFilter:
    return GlossaryFilter([list(group) for group in groups])


def _current_filter(synonyms: dict[str, list[str]] | None = None) -> GlossaryFilter:
    """The glossary in use now (or the one given), as an indexing filter (cached)."""
    synonyms = vocabulary.synonyms() if synonyms is None else synonyms
    groups = dict.fromkeys(tuple(group) for group in synonyms.values())
    return _glossary_filter(tuple(groups))


def _schema(glossary: GlossaryFilter, model: str | None = None) -> Schema:
    """``model``: the signature of the search model whose vectors the index keeps."""
    analyzer = _words() | glossary
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, field_boost=3.0, stored=True, spelling=True),
        tags=KEYWORD(commas=True, lowercase=True, scorable=True, field_boost=2.0, stored=True),
        body=TEXT(analyzer=analyzer, spelling=True),
        area=KEYWORD(commas=True, lowercase=True, stored=True),
        status=ID(stored=True),
        owner=ID(stored=True),
        revision=NUMERIC(stored=True),
        updated=NUMERIC(stored=True, sortable=True),
        # The page's sections as a reader sees them (Markdown rendered, tags dropped),
        # with the words each holds, counted by this index's analyzer: search ranks a
        # page by the section that answers best and cuts its snippet from it, reading
        # nothing else (:func:`_stored_sections`).
        sections=STORED,
        # The sections' headings, for search as you type (apprentice/kb/typeahead.py).
        headings=TEXT(analyzer=_words(), phrase=False),
        # Each section's vector by the search model, for search by meaning (semantic.py).
        vectors=semantic.VectorsField(model),
    )


# The fields of the index this version writes: an index without one of them was built by
# an earlier version (it still works; snippets are then made from the database's text).
LAYOUT = frozenset(_schema(GlossaryFilter([])).names())


def _current_layout(schema) -> bool:
    """Whether this version built the index: its fields, and words read as :data:`WORD`
    reads them (an earlier version kept "*" in a word)."""
    tokenizer = next(iter(getattr(schema["body"].analyzer, "items", [])), None)
    expression = getattr(tokenizer, "expression", None)
    return (set(schema.names()) >= LAYOUT
            and getattr(expression, "pattern", None) == WORD.pattern)


def _index_glossary(schema) -> GlossaryFilter | None:
    """The glossary filter an index was built with (None: an index from before them)."""
    items = getattr(schema["body"].analyzer, "items", [])
    return next((item for item in items if isinstance(item, GlossaryFilter)), None)


SEARCH_FIELDS = ["title", "tags", "body"]


class SearchUnavailable(Exception):
    """The index cannot be read right now; the page says so and carries on."""


# -- where the index lives -------------------------------------------------------

def _root() -> Path:
    return index_dir(current_app)


def _current_dir() -> Path:
    """The live index folder: ``current`` points at one generation folder."""
    return _root() / "current"


GENERATIONS = ".generations"  # in the index root: the last generation number given out


def _new_generation() -> Path:
    """A new generation folder, numbered one above every number given out before in this
    index root (a counter beside the folders, under the swap lock): which rebuild is the
    newer never depends on a clock, which can be set back. A random tail makes each name
    new even when the counter starts again (the index root deleted whole), so no process
    takes the folder for one it still holds open under that name."""
    with _swapping():
        counter = _root() / GENERATIONS
        try:
            last = int(counter.read_text().strip() or 0)
        except (OSError, ValueError):
            last = 0
        number = max([last, *(_born(old) for old in _root().glob("gen-*"))]) + 1
        path = _root() / f"gen-{number}-{secrets.token_hex(4)}"
        path.mkdir()
        written = counter.with_name(f"{GENERATIONS}.new")
        written.write_text(str(number))
        os.replace(written, counter)
    return path


@contextmanager
def _swapping():
    """One swap at a time across processes, so that no swap drops a generation another is
    about to point ``current`` at (the lock goes with the process if it is killed)."""
    with _file_lock(".swap-lock", None):
        yield


def _swap_in(generation: Path) -> bool:
    """Point ``current`` at ``generation`` in one step, then drop older generations;
    False (and ``generation`` dropped) when a newer rebuild was swapped in meanwhile.

    The one replaced is kept until the next swap: a search that found it just
    before the swap can still open it.
    """
    current = _current_dir()
    with _swapping():
        previous = current.resolve() if current.exists() else None
        if current.is_dir() and not current.is_symlink():
            # An instance copied without its links (cp -r, shutil.copytree) has a real
            # folder here, which no link can replace: keep it as the previous generation,
            # under the one number the counter never gives out.
            previous = _root() / "gen-0"
            shutil.rmtree(previous, ignore_errors=True)
            current.rename(previous)
        if previous is not None and _born(previous) > _born(generation):
            shutil.rmtree(generation, ignore_errors=True)
            return False
        link = _root() / ".current-new"  # one swap at a time: one name will do
        link.unlink(missing_ok=True)  # left by a process killed mid-swap
        os.symlink(generation.name, link)
        os.replace(link, current)
        for old in _root().glob("gen-*"):
            # Only older ones: a newer folder may be a rebuild still running in another
            # worker (after a lost index, two saves may rebuild at once).
            if old not in (generation, previous) and _born(old) < _born(generation):
                shutil.rmtree(old, ignore_errors=True)
    return True


def _born(generation: Path) -> int:
    """A generation folder's number (its name: ``gen-<number>-<random>``; older installs
    named them ``gen-<nanoseconds>`` by the clock, which the counter continues above)."""
    try:
        return int(generation.name.removeprefix("gen-").partition("-")[0])
    except ValueError:
        return 0


_open_indexes: dict[str, object] = {}

# Whoosh lists a folder to find its newest table of contents, then opens it; a commit in
# another process may delete that file in between (its clean-up), or a listing taken
# during the commit's rename may show neither the old nor the new one. Whoosh looks
# again only when opening readers, not when opening the index: this module does.
OPEN_TRIES = 8
OPEN_PAUSE = 0.01  # seconds between tries: a commit's clean-up takes a few milliseconds
TOC_FILE = re.compile(r"^_MAIN_([0-9]+)\.toc$")  # Whoosh's table of contents, one per commit


def _open(create: bool = True):
    """The live index, opened once per generation (a rebuild swaps in a new one).

    ``create``: make an empty one when there is none (a new install; :func:`sync`
    rebuilds instead when procedures would be left out). Never when the index is
    there but was being committed to: that would hide every procedure.
    """
    generation = _current_dir().resolve()
    ix = _open_indexes.get(str(generation))
    for attempt in range(OPEN_TRIES):  # while a commit elsewhere replaces its files
        if attempt:
            time.sleep(OPEN_PAUSE)
        if not generation.is_dir():
            break
        try:
            if ix is None:
                ix = index.open_dir(str(generation))
            elif ix.latest_generation() < 0:  # opened before: its table of contents is gone
                continue
        except (index.EmptyIndexError, FileNotFoundError):
            continue
        _open_indexes.clear()
        _open_indexes[str(generation)] = ix
        return ix
    _open_indexes.clear()
    if generation.is_dir() and any(TOC_FILE.match(name) for name in os.listdir(generation)):
        raise OSError(f"The search index in {generation} kept changing while being opened.")
    if not create:
        raise SearchUnavailable("The search index is missing.")
    generation = _new_generation()
    ix = index.create_in(generation, _schema(_current_filter(), semantic.signature()))
    return ix if _swap_in(generation) else _open(create=False)


class _Codec(W3Codec):
    """Whoosh's codec, with each new segment named from ``secrets``: Whoosh names it with
    the global ``random``, which a seeded one repeats (Hypothesis seeds it per example;
    a host app may), and a segment then took an existing one's name. The segment keeps
    a plain W3Codec, so the table of contents pickles nothing of this module's."""

    def new_segment(self, storage, indexname):
        return W3Segment(W3Codec(), indexname, segid=secrets.token_hex(8))

    def per_document_reader(self, storage, segment):
        return _LengthsReader(storage, segment)


class _LengthsReader(W3PerDocReader):
    """The new segment's field lengths as a commit reads them for each term: Whoosh asked
    the file system whether a field has a lengths file once per term of a field without
    one (the spelling fields, ids, keywords), a sixth of a one-procedure commit."""

    def has_column(self, fieldname):
        known = self.__dict__.setdefault("_known_columns", {})
        if fieldname not in known:
            known[fieldname] = super().has_column(fieldname)
        return known[fieldname]


CODEC = _Codec()  # every writer's


_local = threading.local()


PARSED_KEPT = 256  # parsed queries a thread keeps per version of the index


class _Reading:
    """What a thread keeps between searches for one version of the index: the
    searcher, its query parser, the queries parsed and the facet values read so far.

    Opening a searcher per query re-read the segments' lengths each time;
    checking for a change costs a directory listing. (Whoosh's ``refresh()``
    is not used: it reuses segment readers and kept showing a replaced document.)
    """

    def __init__(self, ix):
        self.ix = ix
        self.searcher = ix.searcher()
        # The schema as the searcher read it: ix.schema would read the index's
        # table of contents from disk again, and a reindex may have just removed it.
        self.parser = _parser(self.searcher.schema)
        self.facet_values: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        # Parsed queries by their text, newest used last: staff search the same few
        # words all day, and parsing costs more than reading a short query's postings.
        self.parsed: OrderedDict[str, object] = OrderedDict()
        self.parsed_as_typed: OrderedDict[str, object] = OrderedDict()
        # The documents each filter lets through (who may see what, an area, a tag), by
        # the filter's text: Whoosh reads a filter's postings again on every search, a
        # third of a search's time at 10,000 pages.
        self.allowed: OrderedDict[str, set[int]] = OrderedDict()
        # Each segment's field lengths as BM25F reads them (ranking.py), read once.
        self.lengths: dict = {}
        self._vectors: semantic.Vectors | None = None

    def vectors(self) -> semantic.Vectors:
        """The sections' vectors as one matrix, read the first time a search asks."""
        if self._vectors is None:
            self._vectors = semantic.Vectors(self.searcher)
        return self._vectors

    def allowing(self, where) -> set[int]:
        """The documents ``where`` lets through (shared: never change it; a set, as
        Whoosh's ``filter`` takes one)."""
        return _kept(self.allowed, repr(where),
                     lambda: ranking.Allowed(self.searcher.docs_for_query(where)))

    def parse(self, text: str):
        """``text`` parsed (Whoosh's queries are not changed by searching them)."""
        return _kept(self.parsed, text, lambda: _union_matching(self.parser.parse(text)))

    def typed(self, text: str):
        """``text`` parsed with each word where it was typed, for spelling: not merged, so
        a word typed twice is there twice."""
        return _kept(self.parsed_as_typed, text,
                     lambda: self.parser.parse(text, normalize=False))

    def current(self, ix) -> bool:
        return ix is self.ix and ix.latest_generation() == self.searcher.reader().generation()

    def keyword_values(self, fieldname: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """A comma-separated keyword field's values, and each (document number, value's
        position) pair there is, as two arrays: read once per version of the index,
        where Whoosh's overlapping facets read them again on every search."""
        found = self.facet_values.get(fieldname)
        if found is None:
            names: dict[str, int] = {}
            docnums, positions = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
            for segment, offset in self.searcher.leaf_searchers():
                reader = segment.reader()
                for term in reader.lexicon(fieldname):
                    position = names.setdefault(term.decode("utf-8"), len(names))
                    holding = np.fromiter(reader.postings(fieldname, term).all_ids(),
                                          dtype=np.int64)
                    docnums.append(holding + offset)
                    positions.append(np.full(len(holding), position, dtype=np.int64))
            found = (list(names), np.concatenate(docnums), np.concatenate(positions))
            self.facet_values[fieldname] = found
        return found


def _kept(kept: OrderedDict, key: str, make):
    """``kept[key]``, made by ``make()`` the first time; the least recently used go
    beyond PARSED_KEPT."""
    value = kept.get(key)
    if value is None:
        value = kept[key] = make()
        if len(kept) > PARSED_KEPT:
            kept.popitem(last=False)
    else:
        kept.move_to_end(key)
    return value


def _reading(ix) -> _Reading:
    """This thread's reading state for ``ix``, replaced when the index has changed."""
    held = getattr(_local, "held", None)
    if held is not None:
        if held.current(ix):
            return held
        held.searcher.close()
    _local.held = _Reading(ix)
    return _local.held


# -- writing -----------------------------------------------------------------------

def _document(procedure: Procedure) -> dict:
    return {
        "id": str(procedure.id),
        "title": procedure.title,
        "tags": ",".join(procedure.tag_list),
        "body": procedure.body,
        "area": ",".join(link.area.name for link in procedure.area_links),
        "status": procedure.status,
        "owner": str(procedure.owner_id or ""),
        "revision": procedure.revision_number,
        "updated": int(procedure.updated_at.timestamp()),
        "sections": procedure.body,  # counted by the writer's analyzer: _with_sections
    }


def _counts(analyzer, text: str) -> dict[str, int]:
    return Counter(token.text for token in analyzer(text))


NEAR = 2  # words this close (a stop word between) count as standing together


def _pair(first: str, second: str) -> int:
    """Two stems standing together, as a number (a set of numbers is read back from the
    index several times faster than one of strings)."""
    return zlib.crc32(f"{first} {second}".encode())


def _pairs(analyzer, text: str) -> frozenset[int]:
    """The pairs of words that stand together in ``text`` ("check in", "patron block"),
    in order (:func:`_pair`): a question's words found together rank a section higher."""
    found, previous = set(), []
    for token in analyzer(text, positions=True):
        if token.text.startswith(CONCEPT.format("")):
            continue
        previous = [(word, at) for word, at in previous if token.pos - at <= NEAR]
        found.update(_pair(word, token.text) for word, _at in previous)
        previous.append((token.text, token.pos))
    return frozenset(found)


def _stored_sections(analyzer, title: str, parts: list) -> dict:
    """What the index keeps of a page's sections: the title's terms, and for each
    section its anchor, heading, text (cut to what snippets scan), terms of the heading
    and of the text, and the text's length in terms. ``analyzer``: the index's own, so
    glossary concepts are counted as the index counts them."""
    stored = []
    for part in parts:
        counts = _counts(analyzer, part.text[:SNIPPET_SCAN])
        stored.append((part.anchor, part.heading, part.text[:SNIPPET_SCAN], counts,
                       _counts(analyzer, part.heading or ""), sum(counts.values()),
                       _pairs(analyzer, f"{part.heading or ''}. {part.text[:SNIPPET_SCAN]}")))
    return {"title": _counts(analyzer, title), "parts": stored}


def _with_sections(document: dict, schema) -> dict:
    """``document`` as ``schema``'s index stores it: its sections counted by the
    schema's analyzer; without that field (an index from an earlier version), none."""
    names = set(schema.names())
    document = {key: value for key, value in document.items() if key in names}
    if "sections" in document:
        parts = sections(document["sections"])
        # The page's words as a reader sees them: not the Markdown's link addresses,
        # image names and markup.
        document["body"] = "\n".join(text for part in parts
                                     for text in (part.heading, part.text) if text)
        document["sections"] = _stored_sections(schema["body"].analyzer, document["title"],
                                                parts)
        if "headings" in names:
            document["headings"] = "\n".join(part[1] for part in document["sections"]["parts"]
                                             if part[1])
        if "vectors" in names:
            document["vectors"] = semantic.page_vectors(schema["vectors"], document["title"],
                                                        parts)
    return document


def queue(procedure: Procedure) -> None:
    """Note in the current transaction that this procedure's entry must be refreshed: a
    change in the log every server's index reads (apprentice/kb/changelog.py)."""
    changelog.record(procedure.id)


# -- this server's replica: one writer at a time -------------------------------------------

_held = threading.local()  # how deep this thread is inside the apply lock
LOCK_PAUSE = 0.01  # seconds between tries for a busy lock


@contextmanager
def _file_lock(name: str, wait: float | None):
    """An fcntl lock on a file in the index folder, for processes and threads alike (each
    opens the file itself); yields whether it is held. ``wait``: seconds (None: as long
    as it takes). The lock goes with a process that is killed."""
    _root().mkdir(parents=True, exist_ok=True)
    with open(_root() / name, "a+b") as handle:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(LOCK_PAUSE)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# In the index root: a save found the apply lock busy, and left its change to the holder.
PENDING = ".apply-pending"
PENDING_ROUNDS = 5  # rounds a process runs for changes left to it, before the timer's turn


def _leave_to_holder() -> None:
    """Say, before trying the apply lock, that a change is in the log: a holder that read
    the log before it was committed sees this after letting go, and applies it."""
    _root().mkdir(parents=True, exist_ok=True)
    (_root() / PENDING).touch()


def _left_for_me() -> bool:
    return (_root() / PENDING).exists()


def _take_left() -> bool:
    """Take on the changes left to the holder (only while holding the apply lock, and
    reading the log after: whoever left one committed before)."""
    try:
        (_root() / PENDING).unlink()
    except FileNotFoundError:
        return False
    return True


@contextmanager
def _applying(wait: float = WRITE_TIMEOUT):
    """Hold this replica's apply lock: reading the changes, writing them to the live index
    and moving the cursor, one process (or thread) of this server at a time. Two applying the
    same changes could otherwise commit the older text last, or a sync could move the
    cursor past a rebuild that had just set it back. Re-entrant within a thread (a save
    made while a rebuild swaps in); LockError when it stays busy for ``wait`` seconds."""
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    with _file_lock(".apply-lock", wait) as held:
        if not held:
            raise LockError("another process of this server kept the search index busy")
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0


def _rebuild_running() -> bool:
    """Whether a process of this server is rebuilding its index now."""
    with _file_lock(".rebuild-lock", 0) as free:
        return not free


BATCH = 500  # changes applied per writer commit
MISSING = "it is missing"
NEVER = -1  # rebuild_limit: never rebuild (a rebuild catching up after itself)


def _documents(ids: list[int]) -> dict[int, dict | None]:
    """The index documents of procedures ``ids`` as the database has them (None: gone)."""
    found = {p.id: _document(p) for p in
             db_session().scalars(select(Procedure).where(Procedure.id.in_(ids)))}
    return {procedure_id: found.get(procedure_id) for procedure_id in ids}


def sync(limit: int = BATCH, upto: int | None = None,
         rebuild_limit: int | None = None, wait: float = WRITE_TIMEOUT) -> int:
    """Apply this server's next ``limit`` changes from the log (none newer than ``upto``)
    to its index; how many procedures were indexed.

    The cursor moves only after the index committed, so a process killed in between
    only means the same procedures are indexed again next time. An index not built here
    yet, or lost, is rebuilt from the database (not replaced by one holding only these
    changes) when there are at most ``rebuild_limit`` procedures (None: any number);
    otherwise search stays unavailable until ``index-sync`` or the timer rebuilds it.
    ``wait``: seconds for the apply lock (LockError after).
    """
    session = db_session()
    session.commit()  # one left open by the caller would hold SQLite's write lock meanwhile
    replica = changelog.this_replica()
    with _applying(wait):
        if _take_left():  # changes left to the holder: all of them are read now
            upto, _held.took = None, True
        with reading_only():  # read, then let go before the index work
            at = changelog.position(replica.id if replica else None)
            changes = changelog.changes_after(at.applied_upto, limit, upto) if at.built else []
            ids = sorted({procedure_id for _, procedure_id in changes})
            documents = _documents(ids) if ids else {}
            session.commit()
        if at.rebuild_floor is not None and not _rebuild_running():
            changelog.clear_floor(replica)
        reason = "it was not built on this server yet" if not at.built else None
        if at.built and changes:
            try:
                _write(_open(create=False), documents)
            except SearchUnavailable:
                reason = MISSING
            else:
                if not changelog.advance(replica, changes[-1][0]):
                    current_app.logger.warning(
                        "this server's search index was forgotten (not seen for long, or a "
                        "restore): the timer or index-sync rebuilds it")
                return len(ids)
    if reason is None:
        return 0
    return _rebuild_for(reason, rebuild_limit)


# Segments at which a writer's commit merges small ones itself (:func:`_merge_tiers`);
# below it adds its own segment only. Each commit used to merge (Whoosh's MERGE_SMALL):
# at the demo's 41 procedures that rewrote the whole index (up to 1.5 s) every fifth
# save. The timer merges in the background (:func:`tidy`); this bounds the segments
# when it is off or behind: each costs every search about 1.5 ms at the demo's size.
MERGE_AT = 5
# A segment joins a merge while it holds at most this many times what is merged before it:
# a save merges equal tiers only (each document rewritten about log2(n) times, never
# the largest segment); the timer, in the background, merges more for faster searches.
MERGE_FACTOR = 1
TIDY_FACTOR = 4


def _to_merge(segments: list, largest: bool = True, factor: int = TIDY_FACTOR,
              least: int = 1) -> list:
    """The smallest segments, and each next larger one holding at most ``factor``
    times as many documents as those before it: a document is rewritten a few times
    over its life (logarithmic tiers), not at every merge; none when under two.
    ``largest``: the largest segment may be merged too (the timer, not a save).
    ``least``: merge at least that many smallest (2: a save at ``MERGE_AT`` segments)."""
    ordered = sorted(segments, key=lambda segment: segment.doc_count_all())
    if not largest:
        ordered = ordered[:-1]
    merged = ordered[:least]
    size = sum(segment.doc_count_all() for segment in merged)
    for segment in ordered[least:]:
        if segment.doc_count_all() > factor * max(size, 1):
            break
        merged.append(segment)
        size += segment.doc_count_all()
    return merged if len(merged) > 1 else []


def _merge_tiers(writer, segments: list, largest: bool = True,
                 factor: int = TIDY_FACTOR, least: int = 1) -> list:
    """A Whoosh merge policy: merge :func:`_to_merge`'s segments, keep the others."""
    merging = _to_merge(segments, largest, factor, least)
    for segment in merging:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        writer.add_reader(reader)
        reader.close()
    return [segment for segment in segments if segment not in merging]


def _write(ix, documents: dict[int, dict | None]) -> None:
    """Write ``documents`` in one commit, merging nothing below ``MERGE_AT`` segments: a
    commit of one procedure then costs its own postings only (a few tens of ms)."""
    writer = ix.writer(timeout=WRITE_TIMEOUT, codec=CODEC)
    try:
        for procedure_id, document in documents.items():
            if document is None:
                writer.delete_by_term("id", str(procedure_id))
            else:
                writer.update_document(**_with_sections(document, writer.schema))
        if len(writer.segments) + 1 >= MERGE_AT:  # the timer is off or behind
            writer.commit(mergetype=lambda writer_, segments: _merge_tiers(
                writer_, segments, largest=False, factor=MERGE_FACTOR, least=2))
        else:
            writer.commit(merge=False)
    except BaseException:
        _abandon(writer)
        raise


# Procedures up to which a save rebuilds a missing index itself (a second or two); a bigger
# library waits for the timer (apprentice/kb/applier.py), `index-sync` or `reindex`.
AUTO_REBUILD_LIMIT = 500


def _rebuild_for(reason: str, rebuild_limit: int | None) -> int:
    """Rebuild this server's index because ``reason``, if it is small enough here."""
    if rebuild_limit is not None and (rebuild_limit == NEVER or db_session().scalar(
            select(func.count(Procedure.id))) > rebuild_limit):
        raise SearchUnavailable(f"This server's search index is not up to date ({reason}): "
                                "run `flask apprentice index-sync`.")
    # A new server's first build is routine; a lost index is worth a warning.
    say = current_app.logger.warning if reason == MISSING else current_app.logger.info
    say("search index: %s; rebuilding it from the database", reason)
    return rebuild(wait=False) or 0


def _abandon(writer) -> None:
    """Give up a writer that failed, its lock included: a lock left held would keep every
    later sync of this worker (and, each after a wait, of the others) out of the index."""
    if writer.is_closed:
        return
    try:
        writer.cancel()
    except Exception:
        lock = writer.writelock
        if lock is not None and getattr(lock, "fd", None) is not None:
            lock.release()


def sync_all(rebuild_limit: int | None = None, wait: float = WRITE_TIMEOUT) -> int:
    """Apply every change this server's index has not applied yet, a batch at a time; how
    many procedures were indexed (a rebuild's count when it had to be rebuilt).

    One batch was not enough: an import of 1,400 files left 900 out of the index
    until a reindex. Changes that saves left to this holder (they found the lock busy:
    :func:`sync_quietly`), taken while it held the lock or left after it let go, get a
    few more rounds (``PENDING_ROUNDS``); after those the marker stays for the next
    holder or the timer, so this ends even while saves keep coming.
    """
    session = db_session()
    session.commit()

    def newest() -> int:
        with reading_only():
            upto = session.scalar(select(changelog.newest_change()))
            session.commit()
        return upto

    upto, total, rounds = newest(), 0, 0
    while True:
        _held.took = False
        applied = sync(upto=upto, rebuild_limit=rebuild_limit, wait=wait)
        total += applied
        if applied and not _held.took:
            continue  # the next batch up to ``upto``
        if not (_held.took or _left_for_me()):
            return total
        if rounds == PENDING_ROUNDS:
            if _held.took:  # taken but perhaps not all applied: the next holder's
                _leave_to_holder()
            return total
        rounds += 1
        upto = newest()


def waiting() -> int:
    """How many changes this server's index has not applied (after a sync that could not
    finish); every procedure when the index was never built here."""
    replica = changelog.this_replica()
    at = changelog.position(replica.id if replica else None)
    if not at.built:
        return db_session().scalar(select(func.count(Procedure.id))) or 0
    return changelog.count_after(at.applied_upto)


def sync_quietly(rebuild_limit: int | None = AUTO_REBUILD_LIMIT, wait: float = 0) -> None:
    """After a save or an import: bring this server's index up to date with every change
    logged, but never fail the save for it (the timer or ``index-sync`` finishes).

    A save does not wait (``wait`` 0) for another process applying or merging: its
    change is in the log, and it says so (:func:`_leave_to_holder`) before trying, so
    the holder applies it after letting go, whether or not it read the log before the
    change was committed. Waiting had the workers and the timer queue on the lock, a
    second or more per save under load. With the lock free, the change is applied here,
    so the editor finds it at once."""
    try:
        for _ in range(PENDING_ROUNDS):
            _leave_to_holder()
            sync_all(rebuild_limit, wait)
            if not _left_for_me():
                break
            wait = 0
    except LockError:
        pass  # the holder applies it (above); the timer or index-sync otherwise
    except (OSError, SearchUnavailable) as exc:
        current_app.logger.warning("search index not updated yet (%s); index-sync will", exc)
    except Exception:  # a broken index must not take the app down
        current_app.logger.exception("search index update failed; index-sync will retry")


def segment_count() -> int:
    """How many segments the live index has (each costs every search a little)."""
    return len(_open(create=False)._segments())


def tidy(wait: float = 0) -> bool:
    """Merge the index's small segments (:func:`_to_merge`; the timer, in the background,
    so that saves need not), then apply changes left to this process meanwhile; whether
    it merged. Waits ``wait`` seconds at most for the lock (the timer's thread a little,
    so that a burst of saves holding it in turn does not keep it from merging for ever)."""
    try:
        merged = _worth_merging() and _merge_small(wait)
    except (LockError, SearchUnavailable):
        merged = False
    if _left_for_me():
        sync_quietly(rebuild_limit=NEVER)
    return merged


def _worth_merging() -> bool:
    """Read without a lock: most rounds find nothing to merge, and opening a writer (a
    lock, a temporary segment) for nothing cost every worker every 2 s. A table of
    contents being replaced just then reads as "not now"; the next round looks again."""
    try:
        return bool(_to_merge(_open(create=False)._segments()))
    except (OSError, index.IndexError):
        return False


def _merge_small(wait: float) -> bool:
    """Merge under the apply lock, the segments read again under it; whether it merged."""
    with _applying(wait=wait):
        writer = _open(create=False).writer(timeout=0, codec=CODEC)
        try:
            if _to_merge(writer.segments):
                writer.commit(mergetype=_merge_tiers)
                return True
            writer.cancel()
            return False
        except BaseException:
            _abandon(writer)
            raise


def rebuild(wait: bool = True) -> int | None:
    """Index every procedure into a new folder, swap it in at once, and record it as this
    server's replica; then apply what was logged meanwhile. How many were indexed (None:
    another process of this server was rebuilding and ``wait`` is False; what it
    builds covers this call's).

    No clock decides what the new index holds: the log's newest id is read first,
    so every change up to it is in the procedures read after it, and becomes the
    cursor. Saves made meanwhile reached the old folder only, and are applied again.
    """
    session = db_session()
    session.commit()
    with _file_lock(".rebuild-lock", None if wait else 0) as mine:
        if not mine:
            return None
        replica = changelog.this_replica(create=True)
        with _applying():
            changelog.start_rebuild(replica)
        generation = _new_generation()
        try:
            with reading_only():  # a long read that must not keep SQLite's writers out
                at = changelog.position(None)  # the log's and the glossary's newest ids, first
                ix = index.create_in(generation, _schema(_current_filter(), semantic.signature()))
                writer = ix.writer(codec=CODEC)
                count = 0
                try:
                    for procedure in session.scalars(
                            select(Procedure).execution_options(yield_per=500)):
                        writer.add_document(**_with_sections(_document(procedure),
                                                             writer.schema))
                        count += 1
                    writer.commit()
                except BaseException:
                    _abandon(writer)
                    raise
                session.commit()
            with _applying():
                if not _swap_in(generation):
                    raise OSError("a newer search index was swapped in meanwhile")
                changelog.built(replica, at.newest_change, at.newest_glossary)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
    sync_quietly(rebuild_limit=NEVER, wait=WRITE_TIMEOUT)
    return count


def built_with_current_glossary() -> bool:
    """Whether the index carries the glossary in use (else searches expand the slow way)."""
    try:
        built = _index_glossary(_open(create=False).schema)
    except (SearchUnavailable, OSError, index.IndexError):
        return False
    return built is not None and built.signature == _current_filter().signature


def outdated() -> str | None:
    """Why the index should be rebuilt although it is right (None: it need not be)."""
    try:
        schema = _open(create=False).schema
    except (SearchUnavailable, OSError, index.IndexError):
        schema = None
    if schema is None:
        return "The search index was missing"
    if not _current_layout(schema):
        return "An earlier version of apprentice built the search index"
    if not built_with_current_glossary():
        return "The search glossary changed"
    if getattr(schema["vectors"], "model", None) != semantic.signature():
        return "The search model changed"
    return None


def sync_glossary(limit: int | None = None) -> int | None:
    """Rebuild if the glossary changed since the index was built, or an earlier version
    of apprentice built it (:func:`outdated`); how many were indexed.

    With ``limit``, only when there are at most that many procedures (a save of
    the glossary in a small library); larger ones wait for the timer or ``index-sync``.
    """
    if outdated() is None:
        return None
    if limit is not None and db_session().scalar(select(func.count(Procedure.id))) > limit:
        return None
    return rebuild(wait=limit is None)


@dataclass
class CatchUp:
    """What :func:`catch_up` did."""

    rebuilt: str | None = None  # why the index was rebuilt (None: it was not)
    indexed: int = 0  # procedures the rebuild indexed
    applied: int = 0  # procedures brought up to date from the log


_layout_checked: set[str] = set()  # generations whose layout and glossary this process read


def catch_up(wait: bool = True, thorough: bool = True) -> CatchUp:
    """Bring this server's index up to the database, whatever its size: rebuilt when it
    was never built here, was lost, carries another glossary than the newest (every
    server notices a glossary saved on any server) or an earlier layout; otherwise
    the changes beyond its cursor applied. ``index-sync`` runs it, and the timer.

    ``thorough``: read the index's glossary every time (``index-sync``); the timer
    reads it once per index generation and when the glossary's version moved on.
    ``wait``: for another process rebuilding or applying (else leave it to that one:
    a rebuild returns, applying raises LockError at once).
    """
    session = db_session()
    session.commit()
    replica = changelog.this_replica()
    with reading_only():
        at = changelog.position(replica.id if replica else None)
        session.commit()
    reason = None
    if not at.built:
        reason = "This server's search index was not built here yet"
    elif not _current_dir().exists():
        reason = "The search index was missing"
    else:
        generation = str(_current_dir().resolve())
        if thorough or at.glossary_id != at.newest_glossary \
                or generation not in _layout_checked:
            with reading_only():  # it reads the glossary: never hold SQLite's write lock
                reason = outdated()
                session.commit()
            _layout_checked.add(generation)
            if reason is None and at.glossary_id != at.newest_glossary:
                changelog.set_glossary(replica, at.newest_glossary)  # same groups
    if reason is not None:
        indexed = rebuild(wait=wait)
        return CatchUp() if indexed is None else CatchUp(rebuilt=reason, indexed=indexed)
    if at.newest_change <= at.applied_upto:
        return CatchUp(applied=0)
    return CatchUp(applied=sync_all(wait=WRITE_TIMEOUT if wait else 0))


@dataclass
class IndexCheck:
    missing: list[int]
    stale: list[int]
    extra: list[int]
    old_glossary: bool = False  # still right, only slower: index-sync rebuilds it
    old_layout: bool = False  # built by an earlier version: right, snippets slower
    unreadable: str | None = None  # why the index could not be read (then all "missing")
    # This server's replica (apprentice/kb/changelog.py): None when the index folder is
    # not one yet (never built here).
    replica: changelog.Replica | None = None
    position: changelog.Position | None = None
    behind: int = 0  # changes in the log beyond its cursor

    @property
    def built(self) -> bool:
        return self.replica is not None and self.position is not None and self.position.built

    @property
    def healthy(self) -> bool:
        return self.built and not (self.missing or self.stale or self.extra or self.unreadable)


def check() -> IndexCheck:
    """Compare this server's index with the database: missing, out-of-date and extra
    entries, and where its replica stands in the change log."""
    with reading_only():  # check-index may run while the servers save
        replica = changelog.this_replica()
        at = changelog.position(replica.id if replica else None)
        behind = changelog.count_after(at.applied_upto) if at.built else 0
        expected = {p.id: (p.revision_number, p.status)
                    for p in db_session().scalars(select(Procedure))}
    old_layout, unreadable = False, None
    try:
        ix = _open(create=False)
        with ix.searcher() as searcher:
            old_layout = not _current_layout(searcher.schema)
            indexed = {int(doc["id"]): (doc.get("revision"), doc.get("status"))
                       for doc in searcher.all_stored_fields()}
    except (SearchUnavailable, OSError, index.IndexError) as exc:
        indexed, unreadable = {}, str(exc) or type(exc).__name__
    return IndexCheck(
        unreadable=unreadable,
        old_glossary=bool(indexed) and not built_with_current_glossary(),
        old_layout=old_layout,
        missing=sorted(expected.keys() - indexed.keys()),
        stale=sorted(i for i in expected.keys() & indexed.keys() if expected[i] != indexed[i]),
        extra=sorted(indexed.keys() - expected.keys()),
        replica=replica, position=at, behind=behind,
    )


# -- reading --------------------------------------------------------------------------

SNIPPET_CHARS = 220
FACET_VALUES = 12  # values listed per facet, the commonest first
SNIPPET_SCAN = 20_000  # characters of a page searched for the snippet


def snippet(body: str, stems: set[str]) -> Markup:
    """A short piece of ``body`` (a page's plain text, see :func:`plain_text`) around
    the first word that matched, matches marked.

    Built here rather than by Whoosh's highlighter, which re-reads whole pages
    and cost more than the search itself. A regular expression finds the
    candidate words (same first three letters as a stem); only those are stemmed.
    """
    text = body[:SNIPPET_SCAN]
    prefixes = sorted({re.escape(stem_[:3]) for stem_ in stems if stem_}, key=len, reverse=True)
    spans: list[tuple[int, int]] = []
    start, end = 0, len(text)
    if prefixes:
        candidates = re.compile(rf"\b(?:{'|'.join(prefixes)})\w*(?:\.\w+)*", re.IGNORECASE)
        for match in candidates.finditer(text):
            if spans and match.end() > end:
                break
            if WORD.fullmatch(match.group()) and stem(match.group().lower()) in stems:
                if not spans:  # the window: a little before the first match, at a space
                    start = max(0, match.start() - SNIPPET_CHARS // 3)
                    start = text.rfind(" ", 0, start) + 1 if start else 0
                    end = min(len(text), start + SNIPPET_CHARS)
                spans.append(match.span())
    if not spans:
        return Markup.escape(text[:SNIPPET_CHARS].strip() + ("…" if len(text) > SNIPPET_CHARS
                                                             else ""))
    parts, cursor = [], start
    for begin, finish in spans:
        parts.append(Markup.escape(text[cursor:begin]))
        parts.append(Markup("<mark>%s</mark>") % text[begin:finish])
        cursor = finish
    parts.append(Markup.escape(text[cursor:end]))
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    return sanitise(prefix + "".join(str(part) for part in parts) + suffix)


def _facet_counts(reading: _Reading, chosen: np.ndarray, fieldname: str
                  ) -> list[tuple[str, int]]:
    """The commonest values of ``fieldname`` among the documents ``chosen`` (a flag
    per document number), with their counts (counted at once: a search matching half
    of 10,000 pages spent 3 ms counting them one by one)."""
    names, docnums, positions = reading.keyword_values(fieldname)
    counts = np.bincount(positions[chosen[docnums]], minlength=len(names))
    return sorted(((names[n], int(counts[n])) for n in np.flatnonzero(counts)),
                  key=lambda item: (-item[1], item[0]))[:FACET_VALUES]


@dataclass(frozen=True)
class SectionHit:
    """A section of a page that answers: its anchor on the page (None: the page's
    opening text) and heading."""

    anchor: str | None
    heading: str | None


@dataclass
class Hit:
    id: int
    title: str
    snippet: Markup  # cut from the section that answers best
    score: float
    areas: list[str]
    tags: list[str]
    status: str
    section: SectionHit | None = None  # the section that answers best
    more: list[SectionHit] = field(default_factory=list)  # other sections that answer


# -- ranking by sections -------------------------------------------------------------
# Pages are long and a question is answered by one part of one: Whoosh finds the pages
# (BM25F over title, tags and text), then the best CANDIDATES are ranked again by their
# best section with BM25F over the page's title, the section's heading and its text,
# from the counts the index stores (nothing is read or analysed again).
CANDIDATES = 30
K1 = 1.6
B = 0.75
TITLE_WEIGHT = 1.5
HEADING_WEIGHT = 2.0
GROUP_SHARE = 0.6  # another section is listed under the page from this share of the best
PAIR_WEIGHT = 2.0
GROUPED = 3  # other sections listed under a page, at most


def _sought(query):
    """The leaves of ``query`` a match looks for (not those it excludes)."""
    if isinstance(query, Not):
        return
    if isinstance(query, AndNot):
        yield from _sought(query.a)
    elif query.is_leaf():
        yield query
    else:
        for child in query.children():
            yield from _sought(child)


def _term_weights(searcher, query) -> dict[str, float]:
    """Each word (stem or glossary concept) the query looks for in titles or text, and
    its BM25 inverse document frequency over the pages (fuzzy words as their matches)."""
    reader = searcher.reader()
    count = max(searcher.doc_count(), 1)
    weights = {}
    for leaf in _sought(query):
        for fieldname, text in leaf.expanded_terms(reader):
            if fieldname not in ("title", "body") or not isinstance(text, str | bytes):
                continue
            text = text.decode("utf-8") if isinstance(text, bytes) else text
            if text in weights:
                continue
            frequency = max(reader.doc_frequency("body", text),
                            reader.doc_frequency("title", text))
            weights[text] = math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
    return weights


def _query_pairs(schema, text: str, weights: dict[str, float]) -> dict[int, float]:
    """The query's neighbouring words as :func:`_pairs` stores them, each weighted by the
    rarer word's inverse document frequency."""
    stems = [token.text for token in schema["body"].analyzer(text, mode="query")]
    return {_pair(a, b): min(weights.get(a, 0.0), weights.get(b, 0.0))
            for a, b in itertools.pairwise(stems) if a != b}


def _sections_of(found: list, schema) -> dict[int, dict]:
    """The stored sections of the pages ``found``, by procedure id; an index from an
    earlier version has none, so those pages are read and counted now."""
    stored = {int(fields["id"]): fields.get("sections") for fields, _ in found}
    unstored = [procedure_id for procedure_id, parts in stored.items() if parts is None]
    if unstored:
        analyzer = schema["body"].analyzer
        stored.update((procedure.id,
                       _stored_sections(analyzer, procedure.title, sections(procedure.body)))
                      for procedure in db_session().scalars(
                          select(Procedure).where(Procedure.id.in_(unstored))))
        for procedure_id in unstored:  # deleted meanwhile: nothing to show of it
            stored[procedure_id] = stored[procedure_id] or {"title": {}, "parts": []}
    return stored


def _section_scores(weights: dict[str, float], stored: dict, average: float,
                    pairs: dict[int, float] | None = None) -> list[float]:
    """Each section's BM25F score: the page's title, the section's heading and its text
    (the text's length normalised against ``average``)."""
    title = stored["title"]
    found = []
    for _anchor, _heading, _text, counts, heading, length, *together in stored["parts"]:
        norm = 1 - B + B * length / average
        score = 0.0
        for term, idf in weights.items():
            frequency = (TITLE_WEIGHT * title.get(term, 0) + HEADING_WEIGHT * heading.get(term, 0)
                         + counts.get(term, 0) / norm)
            if frequency:
                score += idf * frequency * (K1 + 1) / (frequency + K1)
        if pairs and together:
            score += PAIR_WEIGHT * sum(weight for pair, weight in pairs.items()
                                       if pair in together[0])
        found.append(score)
    return found


@dataclass
class Results:
    query: str
    total: int
    page: int
    pages: int
    hits: list[Hit]
    suggestion: str | None = None
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    message: str | None = None  # instead of results: what to type
    showing_for: str | None = None  # the query corrected, searched instead of ``query``
    note: str | None = None  # with the results: the question was searched in part
    by_words: int = 0  # of ``total``: the pages holding the words (the rest: by meaning)


CUT_NOTE = (f"Only the first {MAX_QUERY} characters were searched: "
            "a few words usually find more than a long question.")


def _within_limit(text: str) -> str:
    """The query with its spaces collapsed, cut to MAX_QUERY characters at the last whole
    word (a pasted question is searched in part, not refused)."""
    text = " ".join((text or "").split())
    if len(text) <= MAX_QUERY:
        return text
    head = text[:MAX_QUERY + 1]
    return head.rsplit(" ", 1)[0] if " " in head else text[:MAX_QUERY]


def readable(text: str | None) -> str:
    """Text pasted from a PDF or an email as it was typed: compatibility forms folded
    ("ﬁnes" as "fines", full-width letters) and invisible characters (zero-width spaces,
    soft hyphens) dropped, which otherwise hid a word from the index and from spelling."""
    return "".join(char for char in unicodedata.normalize("NFKC", text or "")
                   if unicodedata.category(char) != "Cf")


def _clean(text: str) -> str:
    """Cap the length, balance quotes, keep wildcards away from the start of words, and
    read a question mark that ends a word as the end of a question ("can I waive a
    fine?"), not as Whoosh's one-letter wildcard, which found no "fine"."""
    text = _within_limit(readable(text))
    if text.count('"') % 2:
        text = text.replace('"', " ")
    text = re.sub(r"(^|[\s(])[*?]+", r"\1", text)
    text = re.sub(r"(?<=\w)\?+(?=[\s)\"]|$)", "", text)
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        text = text.replace("(", " ").replace(")", " ")
    return text.strip()


# Words of a question or of politeness ("how do I…", "can you please…"): matched, they
# favoured pages that happen to say "how" and "I". Dropped from a query that has other
# words; Whoosh's own stop words (a, the, to, can, we, you…) are dropped by its analyzer.
QUESTION_TEXT = """
    how do does did doing done i i'm im me my mine our ours what whats what's where wheres
    where's which who whom whose why when whenever there theres there's is isn't isnt are
    am was were please thanks thank hi hello need needs want wants wanted should would
    could might must shall someone somebody someones something anything way ways get
    getting got just also about into onto any some very really still again
    arent cant dont doesnt didnt wont wasnt werent shouldnt couldnt wouldnt thats
    """
QUESTION_WORDS = frozenset(QUESTION_TEXT.split())


def _without_question_words(text: str) -> str:
    """``text`` without the words of a question (:data:`QUESTION_WORDS`); as typed when
    it has nothing else, or when it uses quotes, fields or operators."""
    if '"' in text or ":" in text or any(word in OPERATORS for word in text.split()):
        return text
    words = text.split()
    kept = [word for word in words if word.lower().strip("?!.,;") not in QUESTION_WORDS]
    return " ".join(kept) if kept else text


class StemmedFuzzyTerm(FuzzyTerm):
    """``word~``: the stemmed terms within the given edits that share its first letter.

    Whoosh's own looks the typed stem up in the spelling list, which holds
    words unstemmed, then asks the stemmed index for the words it found:
    "stacs~" never reached "stack". This scans the stemmed terms instead.
    """

    def _btexts(self, ixreader):
        field = ixreader.schema[self.fieldname]
        for word in IndexReader.terms_within(ixreader, self.fieldname, self.text,
                                             self.maxdist, prefix=max(self.prefixlength, 1)):
            yield field.to_bytes(word)


class _FuzzyTermPlugin(FuzzyTermPlugin):
    class FuzzyTermNode(FuzzyTermPlugin.FuzzyTermNode):
        qclass = StemmedFuzzyTerm


def _parser(schema) -> MultifieldParser:
    """The query parser for an index's schema (kept with the searcher: it costs a few
    copies to build)."""
    parser = MultifieldParser(SEARCH_FIELDS, schema, group=OrGroup)
    parser.add_plugin(FieldAliasPlugin({"tags": ["tag"], "area": ["areas"]}))
    parser.add_plugin(_FuzzyTermPlugin())  # recieving~ finds receiving, ~2 two edits away
    return parser


OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
TOKEN = re.compile(r'"[^"]*"|[^\s"]+')


def _group(term: str, synonyms: dict[str, list[str]], concepts: dict[str, str] | None) -> str:
    """The query text for a glossary term and its equivalents.

    With an index built from the glossary in use, that is the term and its
    group's concept token (a phrase typed is covered by the token alone);
    otherwise the group's terms OR-ed, which gives the same matches, slower.
    """
    concept = concepts.get(term.lower()) if concepts is not None else None
    if concept:
        return concept if " " in term else f"({term} OR {concept})"
    group = synonyms.get(term.lower(), [term])
    return "(" + " OR ".join(f'"{t}"' if " " in t else t for t in group) + ")"


@lru_cache(maxsize=4)
def _phrases(terms: tuple[str, ...]) -> re.Pattern | None:
    """One pattern for every multi-word glossary term, longest first."""
    phrases = sorted((t for t in terms if " " in t), key=len, reverse=True)
    if not phrases:
        return None
    return re.compile(rf"(?<![\w:-])(?:{'|'.join(map(re.escape, phrases))})(?![\w-])",
                      re.IGNORECASE)


def expand(text: str, concepts: dict[str, str] | None = None,
           synonyms: dict[str, list[str]] | None = None) -> str:
    """Staff search in their own words: each glossary term typed (ILL, circ, borrower,
    "interlibrary loan"...) also finds its equivalents. Quoted phrases, field
    filters and words after NOT or ``-`` are left as typed. ``synonyms``: the
    glossary as ``search()`` read it (else it is read here)."""
    synonyms = vocabulary.synonyms() if synonyms is None else synonyms
    placeholders: list[str] = []

    def hold(match: re.Match) -> str:
        placeholders.append(_group(match.group(0), synonyms, concepts))
        return f"\x01{len(placeholders) - 1}\x01"

    # Multi-word terms first, outside quotes.
    phrases = _phrases(tuple(synonyms))
    parts = re.split(r'("[^"]*")', text)
    for index_, part in enumerate(parts):
        if phrases and not part.startswith('"'):
            parts[index_] = phrases.sub(hold, part)
    out = []
    negate = False
    for token in TOKEN.findall("".join(parts)):
        lead = re.match(r"^[(+-]*", token).group(0)
        trail = re.search(r"[)]*$", token).group(0)
        word = token[len(lead):len(token) - len(trail)]
        if (token.startswith('"') or token in OPERATORS or ":" in token or negate
                or "-" in lead or word.lower() not in synonyms):
            out.append(token)
        else:
            out.append(lead + _group(word, synonyms, concepts) + trail)
        negate = token in {"NOT", "ANDNOT"}
    expanded = " ".join(out)
    return re.sub("\x01(\\d+)\x01", lambda m: placeholders[int(m.group(1))], expanded)


def _union_matching(query):
    """``query`` with its ORs of words scored by Whoosh's union matchers (changed in
    place; ORs holding fuzzy, prefix or wildcard words are left as they were).

    Below 5,000 documents Whoosh scores an OR through an array of 2,048 scores that it
    clears and fills for every search, whatever the index holds: half a short search's
    time at the demo's size. The union matchers give the same scores and skip the
    documents that cannot reach the page.
    """
    if isinstance(query, Or) and not any(isinstance(leaf, MultiTerm)
                                         for leaf in query.leaves()):
        query.matcher_type = Or.DEFAULT_MATCHER
    for child in query.children():
        _union_matching(child)
    return query


def _only_terms(query) -> bool:
    """An OR of plain words in the fields searched (what most searches parse to)."""
    return ranking.plain(query) and all(leaf.fieldname in SEARCH_FIELDS
                                        for leaf in query.leaves())


def _matches(searcher, query, allowed: set[int] | None) -> set[int]:
    """Every matching document's number, read from the postings without scoring.

    An OR of terms is the union of their postings, gathered as sets; anything
    else is left to Whoosh's matchers, which is slower.
    """
    if _only_terms(query):
        matched: set[int] = set()
        for segment, offset in searcher.leaf_searchers():
            reader = segment.reader()
            for leaf in query.leaves():
                term = (leaf.fieldname, searcher.schema[leaf.fieldname].to_bytes(leaf.text))
                if term in reader:
                    matched.update((ranking.postings(reader, *term)[0] + offset).tolist())
    else:
        matched = set(searcher.docs_for_query(query))
    if allowed is not None and matched:
        matched &= allowed
    return matched


SPELLED = ("title", "body")  # the fields whose words spell corrections


def _corrections(reading: _Reading, cleaned: str) -> list[tuple[int, int, str]]:
    """Where in ``cleaned`` a word stands that no page holds in any form, and the nearest
    word some page does: ``(start, end, word)``, for each such word that has one.

    Two words run together are parted first (:func:`_parted`).
    Not Whoosh's ``correct_query``: it corrects each field apart, so a word in the text
    of one page but in no title became another word ("kills" searched as "kits"), and it
    ranks candidates by frequency alone ("shelvng" became "shelver", not "shelving").
    Stop words are in no field and never corrected.
    """
    searcher = reading.searcher
    reader = searcher.reader()
    held: dict[tuple[int, int], bool] = {}  # each typed word's place: found in a field
    for token in (token for leaf in reading.typed(cleaned).leaves()
                  if isinstance(leaf, (Term, Phrase))  # not word~ or word*: asked for so
                  for token in leaf.tokens()):
        start, end = getattr(token, "startchar", None), getattr(token, "endchar", None)
        if (token.fieldname in SPELLED and start is not None and end is not None
                and WORD.fullmatch(cleaned[start:end])):
            held[start, end] = held.get((start, end)) or (token.fieldname, token.text) in reader
    words = {place: cleaned[slice(*place)].lower() for place in held}

    @cache  # a word typed twice: looked up once
    def nearest(word: str, same_stem: bool = False) -> str | None:
        if same_stem:
            return _nearest(searcher, word, same_stem=True)
        # One slip from a word of the pages is that word ("patorn": patron, not "pa
        # torn"); two words run together come before a word two edits away.
        return (_nearest(searcher, word, most=1) or _parted(searcher, word)
                or _nearest(searcher, word, fewest=2))

    corrections = _joined(searcher, cleaned, held)
    taken = {place for start, end, _ in corrections for place in held
             if start <= place[0] < end}
    corrections += [(*place, better) for place, found in held.items()
                    if not found and place not in taken and not _spelt_right(words[place])
                    if (better := nearest(words[place]))]
    if corrections:  # beside them, another form of a word the pages hold, as they spell it
        corrections += [(*place, better) for place, found in held.items()
                        if found and place not in taken and not _spelt_right(words[place])
                        if (better := nearest(words[place], same_stem=True))]
    return corrections


SYNTAX_AFTER = (":", "~", "*", "-")  # a word so followed is a field, a loose word or a chain


def _joined(searcher, cleaned: str, held: dict[tuple[int, int], bool]
            ) -> list[tuple[int, int, str]]:
    """Where two words typed side by side ("pick up", "co-worker", "e-mail") are one word
    of the pages and not both words the pages hold: ``(start, end, word)``. Spelt
    right or not: "pick" is English, and no answer when the pages say "pickup". Not
    inside quotes, nor beside the query's syntax (``tag:``, ``word~``, ``word*``).
    ``held``: what :func:`_corrections` found of the words it could place."""
    words = [match.span() for match in re.finditer(r'"[^"]*"|\w+', cleaned)
             if not match.group().startswith('"')]  # a quoted phrase is one unit, left out
    counted = cache(partial(_pages_holding, searcher))

    def holding(span: tuple[int, int]) -> bool:
        found = held.get(span)
        return found if found is not None else bool(counted(cleaned[slice(*span)].lower()))

    joined: list[tuple[int, int, str]] = []
    for (start, middle), (after, end) in itertools.pairwise(words):
        if (cleaned[middle:after] not in ("-", " ") or (joined and start < joined[-1][1])
                or cleaned[start - 1:start] in (":", "-")
                or cleaned[end:end + 1] in SYNTAX_AFTER
                or {cleaned[start:middle], cleaned[after:end]} & OPERATORS):
            continue
        word = f"{cleaned[start:middle]}{cleaned[after:end]}".lower()
        if not (holding((start, middle)) and holding((after, end))) and counted(word):
            joined.append((start, end, word))
    return joined


def _spelt_right(word: str) -> bool:
    """An English word, or one without its apostrophe ("isnt"): spelt right, so when no
    page holds it the pages lack the word, it is no typo ("worker" is not "worked")."""
    english = _english()
    return word in english or (word.endswith("nt") and f"{word[:-2]}n't" in english)


def read_english_early() -> None:
    """Read the English words in the background as the app starts, so the first search
    with a typo does not wait the 0.3 s they take (once per process)."""
    threading.Thread(target=_english, name="apprentice-english", daemon=True).start()


_english_lock = threading.Lock()


def _english() -> frozenset[str]:
    """pyspellchecker's English words (160,000; 18 MB), read once: as the app starts, or
    the first time a search has a word no page holds. A search that needs them while
    they are being read waits for that reading instead of starting another."""
    with _english_lock:
        return _english_words()


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    resource = files("spellchecker") / "resources" / "en.json.gz"
    return frozenset(json.loads(gzip.decompress(resource.read_bytes())))


def _spelled(text: str, corrections: list[tuple[int, int, str]], *,
             keeping: bool = False) -> str:
    """``text`` with its corrections made (``keeping``: beside the word typed)."""
    for start, end, better in sorted(corrections, reverse=True):  # right to left
        text = text[:start] + (f"{text[start:end]} {better}" if keeping else better) \
            + text[end:]
    return text


def _edits(word: str) -> int:
    """How many edits a word may be from its correction: none up to three letters (an
    acronym: "tlr", "edi"), one up to five, two beyond (as Elasticsearch's ``fuzziness:
    AUTO``); more turns short words into others ("waive" into "wi")."""
    return 0 if len(word) < 4 else 1 if len(word) <= 5 else 2


def _nearest(searcher, word: str, *, same_stem: bool = False, fewest: int = 1,
             most: int = 2) -> str | None:
    """The word of the pages' spelling lists fewest edits from ``word`` (sharing its first
    letter, as most typos are later in a word; two letters swapped count as one edit),
    then held by the most pages; from ``fewest`` to ``most`` edits, as many as the
    word's length allows (:func:`_edits`).

    ``same_stem``: one edit away and the same word to search ("shelvs" as "shelves"),
    unless the pages spell it as typed."""
    for distance in range(fewest, 2 if same_stem else min(_edits(word), most) + 1):
        candidates = {candidate for segment, _ in searcher.leaf_searchers()
                      for field in SPELLED for candidate in segment.reader().terms_within(
                          field, word, distance, prefix=1)}
        if distance == 1 and not same_stem:  # two letters swapped is one slip ("fien")
            candidates |= _swaps(searcher, word)
        if same_stem:
            if word in candidates:
                return None
            candidates = {c for c in candidates if stem(c) == stem(word)}
        candidates = {c for c in candidates if WORD.fullmatch(c)}  # not an old index's "x*"
        if candidates:
            return max(sorted(candidates), key=lambda c: sum(
                searcher.doc_frequency(field, stem(c)) for field in SPELLED))
    return None


def _pages_holding(searcher, word: str) -> int:
    """How many pages hold ``word`` (in some form) in their title or text; 0 for a stop
    word."""
    stems = [token.text for token in searcher.schema["body"].analyzer(word, mode="query")]
    if len(stems) != 1:
        return 0
    return max(searcher.doc_frequency(field, stems[0]) for field in SPELLED)


SPLIT_FROM = 6  # letters: a shorter word run together is more likely a typo


def _parted(searcher, word: str) -> str | None:
    """``word`` as the two words the pages hold that it runs together ("boundarylayer",
    "twodimensional": a hyphen dropped), the split whose rarer half most pages hold.

    Before a word two edits away: two words run together are no typo of a third. After
    one a single slip away, which is likelier than a split ("patorn" is no "pa torn")."""
    if len(word) < SPLIT_FROM:
        return None
    best, most = None, 0
    for at in range(2, len(word) - 1):
        held = min(_pages_holding(searcher, word[:at]), _pages_holding(searcher, word[at:]))
        if held > most:
            best, most = f"{word[:at]} {word[at:]}", held
    return best


def _swaps(searcher, word: str) -> set[str]:
    """The words of the pages' spelling lists that are ``word`` with two letters side by
    side the other way round, its first letter kept ("fien": "fine"). Looked up one by
    one: reading every word two edits away to find them took most of a typo's search."""
    swapped = {word[:at] + word[at + 1] + word[at] + word[at + 2:]
               for at in range(1, len(word) - 1) if word[at] != word[at + 1]}
    readers = [segment.reader() for segment, _ in searcher.leaf_searchers()]
    return {candidate for candidate in swapped for reader in readers for field in SPELLED
            if (searcher.schema[field].spelling_fieldname(field), candidate) in reader}


def version() -> tuple[str, int] | None:
    """The live index as a search would read it: its generation folder and newest commit
    (kept search pages are keyed by it), from two system calls; None when there is none.
    """
    root = os.fspath(_root())
    try:
        folder = os.readlink(os.path.join(root, "current"))
    except OSError:  # none yet, or a folder from before generations: read as it is
        folder = "current"
    try:
        names = os.listdir(os.path.join(root, folder))
    except OSError:
        return None
    return folder, max((int(found.group(1)) for name in names
                        if (found := TOC_FILE.match(name))), default=-1)


def search(text: str, *, viewer_id: int | None, sees_everything: bool, page: int = 1,
           pagelen: int = 10, area: str | None = None, tag: str | None = None,
           sort: str = "relevance", facets: bool = True, exact: bool = False,
           counting: bool = False) -> Results:
    """Procedures matching ``text``, with snippets, facets and a "did you mean".

    A word typed that no page holds in any form finds nothing: when what was typed finds
    fewer than three and the words corrected find more, the corrected search is the
    answer and says so ("Showing results for …"); when it finds more, the corrections are
    searched beside the words typed, with a "did you mean". Not with ``exact`` (the
    person chose "search instead for" what they typed): then only the "did you mean".
    ``counting``: how many pages hold the words, and nothing else (``by_words`` and
    ``total``, no hits: what the spelling first looks at)."""
    cleaned = _clean(text)
    note = CUT_NOTE if len(" ".join(text.split())) > MAX_QUERY else None
    browsing = not cleaned or cleaned in {"*", "?"}
    if browsing and not (area or tag):
        return Results(query=text, total=0, page=1, pages=0, hits=[],
                       message="Type a word or two, for example: holds, ILL, shelving.")
    for attempt in range(2):  # a reindex may have swapped folders just then: look again
        try:
            reading = _reading(_open(create=False))
            break
        except (SearchUnavailable, OSError, index.IndexError) as exc:
            _open_indexes.clear()
            if attempt:
                raise SearchUnavailable(str(exc)) from exc
    corrections = [] if browsing else _corrections(reading, cleaned)
    suggestion = _spelled(cleaned, corrections) if corrections else None
    if suggestion is not None and not exact:  # a word no page holds finds nothing as typed

        def searching(words: str, counting: bool = counting) -> Results:
            found = search(words, viewer_id=viewer_id, sees_everything=sees_everything,
                           page=page, pagelen=pagelen, area=area, tag=tag, sort=sort,
                           facets=facets, exact=True, counting=counting)
            found.query, found.note = text, note
            return found

        # What was typed, counted: the decision needs only how many pages hold its
        # words, and its results are never the answer as they stand (reading meaning
        # for nothing cost a typo search 67.6 ms at p95 at 10,000 pages, ranking and
        # showing them 10 ms more).
        as_typed = searching(text, counting=True)
        if as_typed.by_words < 3:  # little found: the corrected search, said so
            instead = searching(suggestion)
            if instead.by_words <= as_typed.by_words:
                return searching(text)
            instead.showing_for, instead.suggestion = suggestion, None
            return instead
        # Enough found: the nearest words searched beside the ones typed (a word
        # pages lack may be right, "worker" beside "worked"), with a "did you mean".
        beside = searching(_spelled(cleaned, corrections, keeping=True))
        beside.suggestion = suggestion
        return beside
    searcher = reading.searcher
    synonyms = vocabulary.synonyms()  # one query: the glossary's newest version
    glossary = _current_filter(synonyms)
    built = _index_glossary(searcher.schema)
    concepts = glossary.concepts if built and built.signature == glossary.signature else None
    query = Every() if browsing else reading.parse(
        expand(_without_question_words(cleaned), concepts, synonyms))
    filters = []
    if not sees_everything:
        visible = [Term("status", ProcedureStatus.PUBLISHED.value)]
        if viewer_id is not None:
            visible.append(Term("owner", str(viewer_id)))
        filters.append(Or(visible))
    if area:
        filters.append(Term("area", area.lower()))
    if tag:
        filters.append(Term("tags", tag.lower()))
    where = And(filters) if filters else None
    sortedby = sorting.FieldFacet("updated", reverse=True) if sort == "recent" else None
    # The matches are gathered once, for the total and the facets. An OR of words (most
    # searches) is scored as it is gathered, all at once (ranking.py). Anything else is
    # gathered unscored, then Whoosh scores only as many as the page needs (it skips what
    # cannot reach the page, which is also why its own count would be short).
    allowed = reading.allowing(where) if where is not None else None
    reranking = sort == "relevance" and not browsing

    def needed(page: int) -> int:  # the documents ranked to show ``page``
        return max(page * pagelen, CANDIDATES) if reranking else page * pagelen

    if counting:
        found_by_words = len(_matches(searcher, query, allowed))
        return Results(query=text, total=found_by_words, page=1, pages=0, hits=[],
                       by_words=found_by_words)
    page = max(page, 1)
    best = (ranking.best(searcher, query, needed(page), allowed, reading.lengths)
            if reranking and _only_terms(query) else None)
    matched = best[1] if best is not None else _matches(searcher, query, allowed)
    # Words in plain language (an OR of words, ranked by relevance) are also searched by
    # meaning, the question whole ("how do I" included: the model reads questions): the
    # pages nearest it join those holding its words.
    meaning = _by_meaning(reading, cleaned, allowed) if best is not None else None
    near = meaning.near if meaning is not None else []
    by_words = len(matched)
    if near:
        matched = matched | {docnum for docnum, _similarity, _part in near}
    total = len(matched)
    pages = -(-total // pagelen)
    page = min(page, max(pages, 1))
    limit = needed(page)
    # Pages found by meaning alone are read only if shown (a page's stored fields take a
    # quarter of a millisecond to read, and most of the 20 are not): until then each
    # stands in as -1 - its document number.
    later = {}  # stand-in: document number
    nearest = {}  # procedure id (or stand-in): its nearest section
    ids = {}  # document number: procedure id (or stand-in), of the pages ranked
    if best is not None:
        found = [(searcher.stored_fields(docnum), score) for docnum, score in best[0][:limit]]
        ids = {docnum: int(fields["id"])
               for (docnum, _), (fields, _) in zip(best[0][:limit], found, strict=True)}
        for docnum, _similarity, part in near:
            if docnum not in ids:
                ids[docnum] = -1 - docnum
                later[ids[docnum]] = docnum
            nearest[ids[docnum]] = part
    elif allowed is not None and not allowed:  # Whoosh reads an empty filter as no filter
        found = []
    else:
        ranked = searcher.search(query, limit=limit, filter=allowed, sortedby=sortedby)
        found = [(hit.fields(), hit.score)
                 for hit in ranked[0 if reranking else (page - 1) * pagelen:limit]]
    stems = set()
    for field_name, term in query.all_terms():
        if field_name in ("body", "title"):
            term = term.decode("utf-8") if isinstance(term, bytes) else term
            stems |= glossary.stems.get(term, {term})
    stored = _sections_of(found, searcher.schema)
    weights = _term_weights(searcher, query) if not browsing else {}
    lengths = [part[5] for parts in stored.values() for part in parts["parts"]]
    average = max(sum(lengths) / len(lengths), 1.0) if lengths else 1.0
    pairs = _query_pairs(searcher.schema, _without_question_words(cleaned), weights) \
        if weights else {}
    scored, cosines = {}, {}
    top = None  # the best section's score, of the pages holding the words

    def score_sections(pages: dict) -> None:
        """The sections of ``pages`` (their stored sections by procedure id) scored."""
        nonlocal top
        points = {procedure_id: _section_scores(weights, parts, average, pairs)
                  for procedure_id, parts in pages.items()}
        if top is None:
            top = max((max(found, default=0.0) for found in points.values()),
                      default=0.0) or 1.0
        likeness = _cosines(meaning, ids, points) if meaning is not None else {}
        _add_likeness(points, likeness, top)
        scored.update(points)
        cosines.update(likeness)

    score_sections(stored)
    fused = {}
    if reranking:  # the candidates by their best section; Whoosh's order breaks ties
        head = sorted(found[:CANDIDATES], key=lambda item: -max(
            scored[int(item[0]["id"])], default=0.0))
        if nearest:  # and by meaning: the two orders fused by their ranks
            fused = _fused([int(item[0]["id"]) for item in head], list(nearest))
            by_id = {int(item[0]["id"]): item for item in found}
            head = [by_id.get(key, key) for key in fused]  # stand-ins stay as they are
        rest = [item for item in found[CANDIDATES:] if int(item[0]["id"]) not in fused]
        found = (head + rest)[(page - 1) * pagelen:page * pagelen]
        shown = {item: (searcher.stored_fields(later[item]), 0.0)
                 for item in found if not isinstance(item, tuple)}
        for key, (fields, _score) in shown.items():  # found by meaning alone, shown: read
            procedure_id = ids[later[key]] = int(fields["id"])
            nearest[procedure_id], fused[procedure_id] = nearest.pop(key), fused.pop(key)
        if shown:
            more = _sections_of(list(shown.values()), searcher.schema)
            stored.update(more)
            score_sections(more)
            found = [item if isinstance(item, tuple) else shown[item] for item in found]
    hits = []
    for fields, score in found:
        procedure_id = int(fields["id"])
        parts, points = stored[procedure_id]["parts"], scored[procedure_id]
        order = _shown_sections(parts, points, weights, cosines.get(procedure_id))
        if not order and procedure_id in nearest and parts:  # found by meaning alone
            order = [nearest[procedure_id]]
        best = order[0] if order else (0 if parts else None)
        section = SectionHit(parts[best][0], parts[best][1]) if order else None
        top = max((points[n] for n in order), default=0.0)
        more = [SectionHit(parts[n][0], parts[n][1]) for n in order[1:GROUPED + 1]
                if points[n] >= GROUP_SHARE * top]
        hits.append(Hit(
            id=procedure_id, title=fields["title"],
            snippet=snippet(parts[best][2] if best is not None else "", stems),
            score=round(fused[procedure_id], 4) if procedure_id in fused
            else round(max(points, default=score or 0.0), 4) if reranking
            else round(score or 0.0, 4),
            areas=[a for a in fields.get("area", "").split(",") if a],
            tags=[t for t in fields.get("tags", "").split(",") if t], status=fields["status"],
            section=section, more=more,
        ))
    facet_counts = {}
    if facets:
        chosen = np.zeros(searcher.doc_count_all(), dtype=bool)
        chosen[np.fromiter(matched, dtype=np.int64, count=len(matched))] = True
        facet_counts = {name: _facet_counts(reading, chosen, name) for name in ("area", "tags")}
    return Results(query=text, total=total, page=page, pages=pages, hits=hits,
                   suggestion=suggestion, facets=facet_counts, note=note, by_words=by_words)


NEAREST = 20  # pages found by meaning, at most, beside those holding the words
NEAR_FLOOR = 0.3  # cosine: a page less like the question is not found by meaning
FUSION_K = 10  # reciprocal rank fusion: 1 / (FUSION_K + rank) from each order
MEANING_WEIGHT = 1.0  # the meaning order's share against the words' order
LIKENESS = 1.0  # a section's cosine with the question, times the best section's score


@dataclass
class _Meaning:
    """A question read by meaning: its cosine with every section, and the pages nearest
    it as (document number, cosine, nearest section's position)."""

    vectors: semantic.Vectors
    similarity: object  # numpy array, a row per section of the index
    near: list[tuple[int, float, int]]


def _by_meaning(reading: _Reading, text: str, allowed: set[int] | None) -> _Meaning | None:
    """``text`` read by meaning (semantic.py); None without a search model, or when the
    index's vectors are another model's (until it is rebuilt)."""
    question = semantic.question_vector(text)
    vectors = reading.vectors() if question is not None else None
    if vectors is None or vectors.model != semantic.signature():
        return None
    similarity = vectors.similarity(question)
    return _Meaning(vectors, similarity,
                    vectors.nearest(similarity, None if allowed is None
                                    else ranking.as_array(allowed), NEAREST, NEAR_FLOOR))


def _cosines(meaning: _Meaning, ids: dict[int, int], scored: dict[int, list[float]]
             ) -> dict:
    """Each ranked page's sections' cosines with the question, by procedure id (``ids``:
    document number to procedure id); only pages whose vectors match their sections."""
    docnums = {procedure_id: docnum for docnum, procedure_id in ids.items()}
    cosines = {}
    for procedure_id, points in scored.items():
        found = meaning.vectors.of_page(meaning.similarity, docnums.get(procedure_id))
        if found is not None and len(found) == len(points):
            cosines[procedure_id] = found
    return cosines


def _add_likeness(scored: dict[int, list[float]], cosines: dict, top: float) -> None:
    """Each section's score raised by its likeness to the question (cosine from 0, on the
    scale of ``top``, the best section's score): of two sections the words rank alike,
    the one that reads like the question first (staff set 0.461 -> 0.482,
    bench/README.md)."""
    for procedure_id, likeness in cosines.items():
        scored[procedure_id] = [score + LIKENESS * top * max(float(cosine), 0.0)
                                for score, cosine in zip(scored[procedure_id], likeness,
                                                         strict=True)]


def _shown_sections(parts: list, points: list[float], terms, likeness) -> list[int]:
    """The sections of a page to show, by position, best first: those whose own words
    answer (the title's count for every section), by their score. With meaning
    (``likeness``: each section's cosine with the question), that order and the
    sections' order by likeness fused by rank, the nearest section joining them though
    it hold none of the words: of a long page the words found, the section that reads
    like the question is linked (staff set MRR 0.638 -> 0.673, bench/README.md)."""
    order = sorted((n for n, part in enumerate(parts)
                    if any(term in part[3] or term in part[4] for term in terms)),
                   key=lambda n: -points[n])
    if not order or likeness is None:
        return order
    by_likeness = sorted(range(len(parts)), key=lambda n: -likeness[n])
    shown = {*order, by_likeness[0]}
    return [n for n in _fused(order, by_likeness) if n in shown]


def _fused(by_words: list[int], by_meaning: list[int]) -> dict[int, float]:
    """Two orders (of pages, or of a page's sections) made one by reciprocal rank fusion
    (Cormack et al. 2009): each scores 1 / (FUSION_K + its rank) in each order it is in;
    the fused scores, best first (ties: the words' order first)."""
    fused: dict[int, float] = {}
    for weight, order in ((1.0, by_words), (MEANING_WEIGHT, by_meaning)):
        for rank, procedure_id in enumerate(order, start=1):
            fused[procedure_id] = fused.get(procedure_id, 0.0) + weight / (FUSION_K + rank)
    return dict(sorted(fused.items(), key=lambda item: -item[1]))
