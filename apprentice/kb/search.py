"""Procedure search: the one module that knows Whoosh (index, remove, query, rebuild).

The database is the source of truth. Changes reach the index through an outbox
written in the same transaction as the change and applied after the commit,
one writer at a time; ``rebuild`` builds a new index folder and swaps it in at
once, so searches never see a half-built index. A missing or broken index
makes search say it is unavailable; nothing else in the app notices.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import os
import re
import secrets
import shutil
import threading
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, func, select
from whoosh import index, sorting
from whoosh.analysis import Filter, StemmingAnalyzer
from whoosh.codec.whoosh3 import W3Codec, W3Segment
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.index import LockError
from whoosh.lang.porter import stem
from whoosh.matching.wrappers import FilterMatcher
from whoosh.qparser import FieldAliasPlugin, FuzzyTermPlugin, MultifieldParser, OrGroup
from whoosh.query import And, Every, FuzzyTerm, Or, Term
from whoosh.reading import IndexReader

from apprentice.config import index_dir
from apprentice.db import db_session, utcnow
from apprentice.kb import glossary as vocabulary
from apprentice.kb.models import IndexOutbox, Procedure, ProcedureStatus
from apprentice.kb.rendering import plain_text, sanitise

MAX_QUERY = 200  # characters: Whoosh's parser slows sharply on very long input
WRITE_TIMEOUT = 10.0  # seconds to wait for the index's single writer lock
CONCEPT = "glossaryterm{}"  # a glossary group's token in the index, by its number


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
        words = StemmingAnalyzer()
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


def _schema(glossary: GlossaryFilter) -> Schema:
    analyzer = StemmingAnalyzer() | glossary
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
        # The page as a reader sees it (Markdown rendered, tags dropped), cut to what
        # snippets scan: made once at indexing, so a search renders nothing.
        plain=STORED,
    )


# The fields of the index this version writes: an index without one of them was built by
# an earlier version (it still works; snippets are then made from the database's text).
LAYOUT = frozenset(_schema(GlossaryFilter([])).names())


def _current_layout(schema) -> bool:
    return set(schema.names()) >= LAYOUT


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


def _new_generation() -> Path:
    path = _root() / f"gen-{time.time_ns()}"
    path.mkdir(parents=True)
    return path


@contextmanager
def _swapping():
    """One swap at a time across processes, so that no swap drops a generation another is
    about to point ``current`` at (the lock goes with the process if it is killed)."""
    with open(_root() / ".swap-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _swap_in(generation: Path) -> bool:
    """Point ``current`` at ``generation`` in one step, then drop older generations;
    False (and ``generation`` dropped) when a newer rebuild was swapped in meanwhile.

    The one replaced is kept until the next swap: a search that found it just
    before the swap can still open it.
    """
    current = _current_dir()
    with _swapping():
        if current.is_dir() and not current.is_symlink():
            # An instance copied without its links (cp -r, shutil.copytree) has a real
            # folder here, which no link can replace: keep it as the previous generation.
            current.rename(_root() / f"gen-{_born(generation) - 1}")
        previous = current.resolve() if current.exists() else None
        if previous is not None and _born(previous) > _born(generation):
            shutil.rmtree(generation, ignore_errors=True)
            return False
        link = _root() / f".current-{time.time_ns()}"
        os.symlink(generation.name, link)
        os.replace(link, current)
        for old in _root().glob("gen-*"):
            # Only older ones: a newer folder may be a rebuild still running in another
            # worker (after a lost index, two saves may rebuild at once).
            if old not in (generation, previous) and _born(old) < _born(generation):
                shutil.rmtree(old, ignore_errors=True)
    return True


def _born(generation: Path) -> int:
    """When a generation folder was made (its name: ``gen-<nanoseconds>``)."""
    try:
        return int(generation.name.removeprefix("gen-"))
    except ValueError:
        return 0


_open_indexes: dict[str, object] = {}

# Whoosh lists a folder to find its newest table of contents, then opens it; a commit in
# another process may delete that file in between (its clean-up), or a listing taken
# during the commit's rename may show neither the old nor the new one. Whoosh looks
# again only when opening readers, not when opening the index: this module does.
OPEN_TRIES = 8
OPEN_PAUSE = 0.01  # seconds between tries: a commit's clean-up takes a few milliseconds
TOC_FILE = re.compile(r"^_MAIN_[0-9]+\.toc$")  # Whoosh's table of contents, one per commit


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
    ix = index.create_in(generation, _schema(_current_filter()))
    return ix if _swap_in(generation) else _open(create=False)


class _Codec(W3Codec):
    """Whoosh's codec, with each new segment named from ``secrets``: Whoosh names it with
    the global ``random``, which a seeded one repeats (Hypothesis seeds it per example;
    a host app may), and a segment then took an existing one's name. The segment keeps
    a plain W3Codec, so the table of contents pickles nothing of this module's."""

    def new_segment(self, storage, indexname):
        return W3Segment(W3Codec(), indexname, segid=secrets.token_hex(8))


CODEC = _Codec()  # every writer's


_local = threading.local()


class _Reading:
    """What a thread keeps between searches for one version of the index: the
    searcher, its query parser and the facet values read so far.

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
        self.facet_values: dict[str, list[list[str]]] = {}

    def current(self, ix) -> bool:
        return ix is self.ix and ix.latest_generation() == self.searcher.reader().generation()

    def keyword_values(self, fieldname: str) -> list[list[str]]:
        """Each document's values of a comma-separated keyword field, by document
        number: read once per version of the index, where Whoosh's overlapping
        facets read them again on every search."""
        values = self.facet_values.get(fieldname)
        if values is None:
            searcher = self.searcher
            values = [[] for _ in range(searcher.doc_count_all())]
            for segment, offset in searcher.leaf_searchers():
                reader = segment.reader()
                for term in reader.lexicon(fieldname):
                    text = term.decode("utf-8")
                    for docnum in reader.postings(fieldname, term).all_ids():
                        values[offset + docnum].append(text)
            self.facet_values[fieldname] = values
        return values


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
        "plain": plain_text(procedure.body)[:SNIPPET_SCAN],
    }


def queue(procedure: Procedure) -> None:
    """Note in the current transaction that this procedure's entry must be refreshed."""
    db_session().add(IndexOutbox(procedure_id=procedure.id))


def sync(limit: int = 500, upto: int | None = None) -> int:
    """Apply one batch of the outbox (its oldest ``limit`` rows, none newer than ``upto``)
    to the index, one writer at a time; how many procedures were applied.

    Rows are removed only after the index committed, so a crash in between
    only means the same procedures are indexed again next time. A lost index is
    rebuilt (small libraries), never replaced by one holding only these rows.
    """
    session = db_session()
    waiting = select(IndexOutbox).order_by(IndexOutbox.id).limit(limit)
    if upto is not None:
        waiting = waiting.where(IndexOutbox.id <= upto)
    rows = list(session.scalars(waiting))
    if not rows:
        return 0
    ix = _live_or_new()
    if ix is None:
        return _replace_missing()
    ids = sorted({row.procedure_id for row in rows})
    procedures = {p.id: p for p in session.scalars(select(Procedure).where(Procedure.id.in_(ids)))}
    writer = ix.writer(timeout=WRITE_TIMEOUT, codec=CODEC)
    names = set(writer.schema.names())  # an index built by an earlier version has fewer
    try:
        for procedure_id in ids:
            procedure = procedures.get(procedure_id)
            if procedure is None:
                writer.delete_by_term("id", str(procedure_id))
            else:
                document = _document(procedure)
                writer.update_document(**{k: v for k, v in document.items() if k in names})
        writer.commit()
    except BaseException:
        _abandon(writer)
        raise
    session.execute(delete(IndexOutbox).where(IndexOutbox.id.in_([r.id for r in rows])))
    session.commit()
    return len(ids)


# -- a missing index (deleted, or lost with a disk) ------------------------------------------

# Procedures up to which the next save rebuilds a missing index itself (a second or two);
# a bigger library waits for `flask apprentice reindex` or `index-sync`.
AUTO_REBUILD_LIMIT = 500


def _live_or_new():
    """The live index for a sync; a new, empty one when there is none and every procedure
    waits in the outbox (a new install's first saves queue every one); None when the
    index was lost: applying the outbox to an empty index would leave the others
    unfindable, and search would answer "no matches" as if that were true."""
    try:
        return _open(create=False)
    except SearchUnavailable:
        pass
    outside = select(func.count(Procedure.id)).where(
        Procedure.id.not_in(select(IndexOutbox.procedure_id)))
    return None if db_session().scalar(outside) else _open()


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


def _replace_missing() -> int:
    """Rebuild a lost index from the database (small libraries, at the next save), or
    keep search "unavailable" and the changes waiting until a reindex."""
    if db_session().scalar(select(func.count(Procedure.id))) > AUTO_REBUILD_LIMIT:
        raise SearchUnavailable("The search index is missing: run `flask apprentice reindex`.")
    current_app.logger.warning("search index missing: rebuilding it from the database")
    return rebuild()


def sync_all() -> int:
    """Apply everything waiting in the outbox now, a batch at a time; how many were applied.

    One batch was not enough: an import of 1,400 files left 900 out of the index
    until a reindex. Rows queued meanwhile by others wait for their own sync, so
    this ends even while saves keep coming.
    """
    session = db_session()
    upto = session.scalar(select(func.max(IndexOutbox.id)))
    total = 0
    while upto is not None and (applied := sync(upto=upto)):
        total += applied
    # End the last (empty) read: left open, it would hold SQLite's write lock (outside a
    # page view every transaction begins IMMEDIATE).
    session.commit()
    return total


def waiting() -> int:
    """How many changes wait for the index (after a sync that could not finish)."""
    return db_session().scalar(select(func.count(IndexOutbox.id))) or 0


def sync_quietly() -> None:
    """After a save or an import: bring the index up to date with everything waiting,
    but never fail the save for it."""
    try:
        sync_all()
    except (LockError, OSError, SearchUnavailable) as exc:
        current_app.logger.warning("search index not updated yet (%s); index-sync will", exc)
    except Exception:  # a broken index must not take the app down
        current_app.logger.exception("search index update failed; index-sync will retry")


def rebuild() -> int:
    """Index every procedure into a new folder, then swap it in at once.

    Saves made meanwhile may have gone into the old folder only: after the
    swap, every procedure changed since the start is indexed again, and only
    the outbox rows older than the start are dropped.
    """
    session = db_session()
    started = utcnow() - timedelta(seconds=1)  # timestamps may be a little coarse
    covered = session.scalar(select(func.max(IndexOutbox.id))) or 0
    generation = _new_generation()
    ix = index.create_in(generation, _schema(_current_filter()))
    writer = ix.writer(codec=CODEC)
    count = 0
    for procedure in session.scalars(select(Procedure).execution_options(yield_per=500)):
        writer.add_document(**_document(procedure))
        count += 1
    writer.commit()
    # Swapped in before the outbox is cleared: a process killed in between leaves rows
    # that are applied again, never changes that are in neither index nor outbox.
    _swap_in(generation)
    session.execute(delete(IndexOutbox).where(IndexOutbox.id <= covered))
    session.commit()
    changed = session.scalars(select(Procedure).where(Procedure.updated_at >= started)).all()
    if changed:
        session.add_all(IndexOutbox(procedure_id=procedure.id) for procedure in changed)
        session.commit()
    sync_quietly()
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
    return None


def sync_glossary(limit: int | None = None) -> int | None:
    """Rebuild if the glossary changed since the index was built, or an earlier version
    of apprentice built it (:func:`outdated`); how many were indexed.

    With ``limit``, only when there are at most that many procedures (a save of
    the glossary in a small library); larger ones wait for ``index-sync``.
    """
    if outdated() is None:
        return None
    if limit is not None and db_session().scalar(select(func.count(Procedure.id))) > limit:
        return None
    return rebuild()


@dataclass
class IndexCheck:
    missing: list[int]
    stale: list[int]
    extra: list[int]
    old_glossary: bool = False  # still right, only slower: index-sync rebuilds it
    old_layout: bool = False  # built by an earlier version: right, snippets slower
    unreadable: str | None = None  # why the index could not be read (then all "missing")

    @property
    def healthy(self) -> bool:
        return not (self.missing or self.stale or self.extra or self.unreadable)


def check() -> IndexCheck:
    """Compare the index with the database: missing, out-of-date and extra entries."""
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
    )


# -- reading --------------------------------------------------------------------------

SNIPPET_CHARS = 220
FACET_VALUES = 12  # values listed per facet, the commonest first
SNIPPET_SCAN = 20_000  # characters of a page searched for the snippet
WORD = re.compile(r"\w+(?:\.?\w+)*")  # the words StemmingAnalyzer's tokenizer finds


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


def _facet_counts(reading: _Reading, matched: set[int], fieldname: str
                  ) -> list[tuple[str, int]]:
    values = reading.keyword_values(fieldname)
    counts = Counter(value for docnum in matched for value in values[docnum])
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:FACET_VALUES]


@dataclass
class Hit:
    id: int
    title: str
    snippet: Markup
    score: float
    areas: list[str]
    tags: list[str]
    status: str


@dataclass
class Results:
    query: str
    total: int
    page: int
    pages: int
    hits: list[Hit]
    suggestion: str | None = None
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    message: str | None = None


def _clean(text: str) -> str:
    """Cap the length, balance quotes, keep wildcards away from the start of words."""
    text = " ".join((text or "").split())[:MAX_QUERY]
    if text.count('"') % 2:
        text = text.replace('"', " ")
    text = re.sub(r"(^|[\s(])[*?]+", r"\1", text)
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        text = text.replace("(", " ").replace(")", " ")
    return text.strip()


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


def _only_terms(query) -> bool:
    """An OR of plain terms (what most searches parse to)."""
    if type(query) is Term:
        return query.fieldname in SEARCH_FIELDS
    return type(query) is Or and all(_only_terms(sub) for sub in query.subqueries)


def _posting_ids(reader, fieldname: str, btext: bytes):
    """A term's document numbers, a block at a time where the codec allows.

    Whoosh's ``all_ids()`` takes one Python call per posting, a third of a
    search's time for words on half the pages. The block reading relies on
    Whoosh-Reloaded 2.7.5's codec (pinned); anything else takes the slow road.
    """
    matcher = reader.postings(fieldname, btext)
    deleted = frozenset()
    if isinstance(matcher, FilterMatcher) and matcher._exclude:
        matcher, deleted = matcher.child, matcher._ids
    try:
        ids = []
        while matcher.is_active():
            matcher._read_ids()
            ids.extend(matcher._ids)
            matcher._next_block()
    except AttributeError:
        return reader.postings(fieldname, btext).all_ids()
    return [docnum for docnum in ids if docnum not in deleted] if deleted else ids


def _matches(searcher, query, where) -> set[int]:
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
                    matched.update(offset + docnum for docnum in _posting_ids(reader, *term))
    else:
        matched = set(searcher.docs_for_query(query))
    if where is not None and matched:
        matched &= set(searcher.docs_for_query(where))
    return matched


def search(text: str, *, viewer_id: int | None, sees_everything: bool, page: int = 1,
           pagelen: int = 10, area: str | None = None, tag: str | None = None,
           sort: str = "relevance", facets: bool = True) -> Results:
    """Procedures matching ``text``, with snippets, facets and a "did you mean"."""
    cleaned = _clean(text)
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
    searcher, parser = reading.searcher, reading.parser
    synonyms = vocabulary.synonyms()  # one query: the glossary's newest version
    glossary = _current_filter(synonyms)
    built = _index_glossary(searcher.schema)
    concepts = glossary.concepts if built and built.signature == glossary.signature else None
    query = Every() if browsing else parser.parse(expand(cleaned, concepts, synonyms))
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
    # The matches are gathered once, unscored, for the total and the facets; then
    # only as many are scored as the page needs (Whoosh skips what cannot reach
    # it, which is also why its own count would be short).
    matched = _matches(searcher, query, where)
    total = len(matched)
    pages = -(-total // pagelen)
    page = min(max(page, 1), max(pages, 1))
    ranked = searcher.search(query, limit=page * pagelen, filter=where, sortedby=sortedby)
    found = [(hit.fields(), hit.score)
             for hit in ranked[(page - 1) * pagelen:page * pagelen]]
    stems = set()
    for field_name, term in query.all_terms():
        if field_name in ("body", "title"):
            term = term.decode("utf-8") if isinstance(term, bytes) else term
            stems |= glossary.stems.get(term, {term})
    texts = {int(fields["id"]): fields.get("plain") for fields, _ in found}
    unstored = [procedure_id for procedure_id, text in texts.items() if text is None]
    if unstored:  # an index built by an earlier version: render the pages now
        texts.update((procedure_id, plain_text(body)[:SNIPPET_SCAN]) for procedure_id, body in
                     db_session().execute(select(Procedure.id, Procedure.body).where(
                         Procedure.id.in_(unstored))))
    hits = []
    for fields, score in found:
        procedure_id = int(fields["id"])
        hits.append(Hit(
            id=procedure_id, title=fields["title"],
            snippet=snippet(texts.get(procedure_id) or "", stems),
            score=round(score or 0.0, 4),
            areas=[a for a in fields.get("area", "").split(",") if a],
            tags=[t for t in fields.get("tags", "").split(",") if t], status=fields["status"],
        ))
    facet_counts = ({name: _facet_counts(reading, matched, name) for name in ("area", "tags")}
                    if facets else {})
    suggestion = None
    if total < 3 and not browsing:  # few results: perhaps a typo
        typed = parser.parse(cleaned)
        try:
            # Suggestions share the first letter (prefix=1): most typos are later in
            # the word, and it makes correcting ten times faster at 10,000 pages.
            corrected = searcher.correct_query(typed, cleaned, prefix=1)
        except (TypeError, ValueError):  # Whoosh cannot correct some queries
            corrected = None
        if corrected is not None and corrected.query != typed:
            suggestion = corrected.string
    return Results(query=text, total=total, page=page, pages=pages, hits=hits,
                   suggestion=suggestion, facets=facet_counts)
