"""Procedure search: the one module that knows Whoosh (index, remove, query, rebuild).

The database is the source of truth. Changes reach the index through an outbox
written in the same transaction as the change and applied after the commit,
one writer at a time; ``rebuild`` builds a new index folder and swaps it in at
once, so searches never see a half-built index. A missing or broken index
makes search say it is unavailable; nothing else in the app notices.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, select
from whoosh import index, sorting
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.index import LockError
from whoosh.lang.porter import stem
from whoosh.qparser import FieldAliasPlugin, MultifieldParser, OrGroup
from whoosh.query import And, Every, Or, Term

from apprentice.config import index_dir
from apprentice.db import db_session
from apprentice.kb.models import IndexOutbox, Procedure, ProcedureStatus
from apprentice.kb.rendering import sanitise

MAX_QUERY = 200  # characters: Whoosh's parser slows sharply on very long input
WRITE_TIMEOUT = 10.0  # seconds to wait for the index's single writer lock

SCHEMA = Schema(
    id=ID(stored=True, unique=True),
    title=TEXT(analyzer=StemmingAnalyzer(), field_boost=3.0, stored=True, spelling=True),
    tags=KEYWORD(commas=True, lowercase=True, scorable=True, field_boost=2.0, stored=True),
    body=TEXT(analyzer=StemmingAnalyzer(), spelling=True),
    area=KEYWORD(commas=True, lowercase=True, stored=True),
    status=ID(stored=True),
    owner=ID(stored=True),
    revision=NUMERIC(stored=True),
    updated=NUMERIC(stored=True, sortable=True),
)
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


def _swap_in(generation: Path) -> None:
    """Point ``current`` at ``generation`` in one step, then drop older generations."""
    link = _root() / f".current-{time.time_ns()}"
    os.symlink(generation.name, link)
    os.replace(link, _current_dir())
    for old in _root().glob("gen-*"):
        if old != generation:
            shutil.rmtree(old, ignore_errors=True)


_open_indexes: dict[str, object] = {}


def _open(create: bool = True):
    """The live index, opened once per generation (a rebuild swaps in a new one)."""
    current = _current_dir()
    if current.exists() and index.exists_in(current):
        generation = str(current.resolve())
        ix = _open_indexes.get(generation)
        if ix is None:
            _open_indexes.clear()
            ix = _open_indexes[generation] = index.open_dir(generation)
        return ix
    if not create:
        raise SearchUnavailable("The search index is missing.")
    generation = _new_generation()
    ix = index.create_in(generation, SCHEMA)
    _swap_in(generation)
    return ix


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
    }


def queue(procedure: Procedure) -> None:
    """Note in the current transaction that this procedure's entry must be refreshed."""
    db_session().add(IndexOutbox(procedure_id=procedure.id))


def sync(limit: int = 500) -> int:
    """Apply the outbox to the index (one writer at a time); how many were applied.

    Rows are removed only after the index committed, so a crash in between
    only means the same procedures are indexed again next time.
    """
    session = db_session()
    rows = list(session.scalars(select(IndexOutbox).order_by(IndexOutbox.id).limit(limit)))
    if not rows:
        return 0
    ids = sorted({row.procedure_id for row in rows})
    procedures = {p.id: p for p in session.scalars(select(Procedure).where(Procedure.id.in_(ids)))}
    ix = _open()
    writer = ix.writer(timeout=WRITE_TIMEOUT)
    try:
        for procedure_id in ids:
            procedure = procedures.get(procedure_id)
            if procedure is None:
                writer.delete_by_term("id", str(procedure_id))
            else:
                writer.update_document(**_document(procedure))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    session.execute(delete(IndexOutbox).where(IndexOutbox.id.in_([r.id for r in rows])))
    session.commit()
    return len(ids)


def sync_quietly() -> None:
    """After a save: bring the index up to date, but never fail the save for it."""
    try:
        sync()
    except (LockError, OSError, SearchUnavailable) as exc:
        current_app.logger.warning("search index not updated yet (%s); index-sync will", exc)
    except Exception:  # a broken index must not take the app down
        current_app.logger.exception("search index update failed; index-sync will retry")


def rebuild() -> int:
    """Index every procedure into a new folder, then swap it in at once."""
    generation = _new_generation()
    ix = index.create_in(generation, SCHEMA)
    writer = ix.writer()
    count = 0
    for procedure in db_session().scalars(select(Procedure)):
        writer.add_document(**_document(procedure))
        count += 1
    writer.commit()
    db_session().execute(delete(IndexOutbox))
    db_session().commit()
    _swap_in(generation)
    return count


@dataclass
class IndexCheck:
    missing: list[int]
    stale: list[int]
    extra: list[int]

    @property
    def healthy(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def check() -> IndexCheck:
    """Compare the index with the database: missing, out-of-date and extra entries."""
    expected = {p.id: (p.revision_number, p.status)
                for p in db_session().scalars(select(Procedure))}
    try:
        ix = _open(create=False)
        with ix.searcher() as searcher:
            indexed = {int(doc["id"]): (doc.get("revision"), doc.get("status"))
                       for doc in searcher.all_stored_fields()}
    except (SearchUnavailable, OSError, index.IndexError):
        indexed = {}
    return IndexCheck(
        missing=sorted(expected.keys() - indexed.keys()),
        stale=sorted(i for i in expected.keys() & indexed.keys() if expected[i] != indexed[i]),
        extra=sorted(indexed.keys() - expected.keys()),
    )


# -- reading --------------------------------------------------------------------------

SNIPPET_CHARS = 220
SNIPPET_SCAN = 20_000  # characters of a page searched for the snippet
WORD = re.compile(r"\w+(?:\.?\w+)*")  # the words StemmingAnalyzer's tokenizer finds


def snippet(body: str, stems: set[str]) -> Markup:
    """A short piece of ``body`` around the first word that matched, matches marked.

    Built here rather than by Whoosh's highlighter, which re-reads whole pages
    and cost more than the search itself.
    """
    text = body[:SNIPPET_SCAN]
    prefixes = {stem_[:3] for stem_ in stems}
    spans = [match.span() for match in WORD.finditer(text)
             if match.group().lower()[:3] in prefixes and stem(match.group().lower()) in stems]
    if not spans:
        return Markup.escape(text[:SNIPPET_CHARS].strip() + ("…" if len(text) > SNIPPET_CHARS
                                                             else ""))
    start = max(0, spans[0][0] - SNIPPET_CHARS // 3)
    start = text.rfind(" ", 0, start) + 1 if start else 0
    end = min(len(text), start + SNIPPET_CHARS)
    parts, cursor = [], start
    for begin, finish in spans:
        if begin < cursor or finish > end:
            continue
        parts.append(Markup.escape(text[cursor:begin]))
        parts.append(Markup("<mark>%s</mark>") % text[begin:finish])
        cursor = finish
    parts.append(Markup.escape(text[cursor:end]))
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    return sanitise(prefix + "".join(str(part) for part in parts) + suffix)


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


def glossary() -> list[list[str]]:
    """Groups of equivalent library terms (the shipped list)."""
    text = resources.files("apprentice.kb").joinpath("data", "glossary.txt").read_text("utf-8")
    return [[term.strip() for term in line.split(",") if term.strip()]
            for line in text.splitlines() if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, list[str]]:
    """Each glossary term, lower case, to its whole group."""
    return {term.lower(): group for group in glossary() for term in group}


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


def _parser(schema):
    parser = MultifieldParser(SEARCH_FIELDS, schema, group=OrGroup.factory(0.9))
    parser.add_plugin(FieldAliasPlugin({"tags": ["tag"], "area": ["areas"]}))
    return parser


OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
TOKEN = re.compile(r'"[^"]*"|[^\s"]+')


def _group(term: str) -> str:
    """The query text for a glossary term and its equivalents, OR-ed."""
    group = _synonyms().get(term.lower(), [term])[:8]
    return "(" + " OR ".join(f'"{t}"' if " " in t else t for t in group) + ")"


def expand(text: str) -> str:
    """Staff search in their own words: each glossary term typed (ILL, circ, borrower,
    "interlibrary loan"...) also finds its equivalents. Quoted phrases, field
    filters and words after NOT or ``-`` are left as typed."""
    phrases = sorted((t for t in _synonyms() if " " in t), key=len, reverse=True)
    placeholders: list[str] = []

    def hold(match: re.Match) -> str:
        placeholders.append(_group(match.group(0)))
        return f"\x01{len(placeholders) - 1}\x01"

    # Multi-word terms first, outside quotes.
    parts = re.split(r'("[^"]*")', text)
    for index_, part in enumerate(parts):
        if part.startswith('"'):
            continue
        for phrase in phrases:
            part = re.sub(rf"(?<![\w:-]){re.escape(phrase)}(?![\w-])", hold, part,
                          flags=re.IGNORECASE)
        parts[index_] = part
    out = []
    negate = False
    for token in TOKEN.findall("".join(parts)):
        lead = re.match(r"^[(+-]*", token).group(0)
        trail = re.search(r"[)]*$", token).group(0)
        word = token[len(lead):len(token) - len(trail)]
        if (token.startswith('"') or token in OPERATORS or ":" in token or negate
                or "-" in lead or word.lower() not in _synonyms()):
            out.append(token)
        else:
            out.append(lead + _group(word) + trail)
        negate = token in {"NOT", "ANDNOT"}
    expanded = " ".join(out)
    return re.sub("\x01(\\d+)\x01", lambda m: placeholders[int(m.group(1))], expanded)


def search(text: str, *, viewer_id: int | None, sees_everything: bool, page: int = 1,
           pagelen: int = 10, area: str | None = None, tag: str | None = None,
           sort: str = "relevance", facets: bool = True) -> Results:
    """Procedures matching ``text``, with snippets, facets and a "did you mean"."""
    cleaned = _clean(text)
    browsing = not cleaned or cleaned in {"*", "?"}
    if browsing and not (area or tag):
        return Results(query=text, total=0, page=1, pages=0, hits=[],
                       message="Type a word or two, for example: holds, ILL, shelving.")
    try:
        ix = _open(create=False)
        searcher = ix.searcher()
    except (SearchUnavailable, OSError, index.IndexError) as exc:
        raise SearchUnavailable(str(exc)) from exc
    with searcher:
        parser = _parser(ix.schema)
        query = Every() if browsing else parser.parse(expand(cleaned))
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
        facets = {"area": sorting.FieldFacet("area", allow_overlap=True),
                  "tags": sorting.FieldFacet("tags", allow_overlap=True)} if facets else {}
        sortedby = sorting.FieldFacet("updated", reverse=True) if sort == "recent" else None
        results = searcher.search_page(query, max(page, 1), pagelen=pagelen, filter=where,
                                       groupedby=facets or None, sortedby=sortedby)
        stems = {text.decode("utf-8") if isinstance(text, bytes) else text
                 for field_name, text in query.all_terms() if field_name in ("body", "title")}
        bodies = {p.id: p.body for p in db_session().scalars(select(Procedure).where(
            Procedure.id.in_([int(hit["id"]) for hit in results])))}
        hits = []
        for hit in results:
            procedure_id = int(hit["id"])
            hits.append(Hit(
                id=procedure_id, title=hit["title"],
                snippet=snippet(bodies.get(procedure_id, ""), stems),
                score=round(hit.score or 0.0, 4),
                areas=[a for a in hit.get("area", "").split(",") if a],
                tags=[t for t in hit.get("tags", "").split(",") if t], status=hit["status"],
            ))
        facet_counts = {}
        for name in facets:
            groups = results.results.groups(name)
            facet_counts[name] = sorted(((key, len(docs)) for key, docs in groups.items() if key),
                                        key=lambda item: (-item[1], item[0]))[:12]
        suggestion = None
        if results.total < 3 and not browsing:  # few results: perhaps a typo
            typed = parser.parse(cleaned)
            try:
                corrected = searcher.correct_query(typed, cleaned)
            except (TypeError, ValueError):  # Whoosh cannot correct some queries
                corrected = None
            if corrected is not None and corrected.query != typed:
                suggestion = corrected.string
        return Results(query=text, total=results.total, page=results.pagenum,
                       pages=results.pagecount, hits=hits, suggestion=suggestion,
                       facets=facet_counts)
