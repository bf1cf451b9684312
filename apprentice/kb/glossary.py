"""The library's search vocabulary: groups of equivalent terms (ILL, interlibrary loan...).

Shipped as ``data/glossary.txt``; a coordinator's edits are saved as new
:class:`GlossaryVersion` rows and the newest is in use. Search asks
:func:`synonyms` on every query, so it must stay cheap: one indexed query for
the newest version's id, and the parsed list kept per process until it changes.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import weakref
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from apprentice import forms
from apprentice.audit import services as audit
from apprentice.db import advisory_lock, database, db_session
from apprentice.kb.models import GlossaryVersion
from apprentice.kb.permissions import may_edit_glossary
from apprentice.people.models import StaffProfile
from apprentice.validation import Invalid

MAX_TERM = 60  # characters
GLOSSARY_LOCK_KEY = 0x61707067  # PostgreSQL advisory lock for saves (any fixed number)
MIN_TERMS = 2
MAX_TERMS = 20  # a group longer than that is usually two ideas
MAX_GROUPS = 2_000
MAX_TEXT = 100_000  # characters
MAX_SUMMARY = 300
MAX_MESSAGES = 50  # problems listed before "and N more"
# Up to this many procedures, a save also rebuilds the search index with the new list
# (searches are right at once either way; an index built with the list is faster).
REINDEX_AT_ONCE = 300

# Characters the search parser (Whoosh) reads as syntax: a phrase, a group, a field
# filter, a wildcard, a range or a boost. expand() writes terms into the query as they
# are, so a term holding one of these would change what the query means.
SYNTAX = set('"():*?[]{}^')
OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
# Invisible characters that are not control characters but still make a term that
# looks right never match; ZWNJ and ZWJ are kept, some scripts need them.
ALLOWED_FORMAT = {"\u200c", "\u200d"}


@dataclass(frozen=True)
class Group:
    """One line of the glossary: the preferred term first, then its equivalents."""

    line: int
    terms: tuple[str, ...]

    @property
    def preferred(self) -> str:
        return self.terms[0]

    @property
    def others(self) -> tuple[str, ...]:
        return self.terms[1:]


@lru_cache(maxsize=1)
def shipped_text() -> str:
    return resources.files("apprentice.kb").joinpath("data", "glossary.txt").read_text("utf-8")


def normalise(text: str) -> str:
    """The text as stored: Unix line ends, no trailing spaces, one final newline.

    A browser sends CRLF; without this, saving an untouched form would look like
    a change.
    """
    text = (text or "").removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"


def _lines(text: str):
    """(line number, line) of the lines that hold terms: not blank, not a ``#`` note."""
    for number, line in enumerate(normalise(text).split("\n"), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


def _terms(line: str) -> list[str]:
    return [" ".join(term.split()) for term in line.split(",") if term.strip()]


def _is_invisible(char: str) -> bool:
    category = unicodedata.category(char)
    return (category in ("Cc", "Cs", "Zl", "Zp") and char != "\t") or (
        category == "Cf" and char not in ALLOWED_FORMAT)


def term_problem(term: str) -> str | None:
    """Why search could not use ``term`` as typed (None when it can)."""
    if any(_is_invisible(char) for char in term):  # shown escaped, to be seen at all
        return f"{term[:MAX_TERM]!r} holds a control or invisible character."
    shown = f"“{term}”"
    if len(term) > MAX_TERM:
        return f"“{term[:MAX_TERM]}…” is longer than {MAX_TERM} characters."
    syntax = sorted({char for char in term if char in SYNTAX})
    if syntax:
        return (f"{shown} holds {' '.join(syntax)}, which search reads as part of a query; "
                "leave it out.")
    if not any(char.isalnum() for char in term):
        return f"{shown} needs a letter or a digit."
    if term[0] in "+-":
        return f"{shown} starts with {term[0]}, which search reads as include or exclude."
    if re.search(r"(^|\W)'", term):
        return f"{shown} has an apostrophe at the start of a word, which search reads as a quote."
    if " " not in term and term.upper() in OPERATORS:
        return f"{shown} is a search operator (AND, OR, NOT...)."
    return None


def parse(text: str) -> list[Group]:
    """The groups of ``text``, leniently: terms search could not use and groups left
    with fewer than two terms are dropped, and a term already in a group stays there.

    For reading what is stored; :func:`validate` says what is wrong instead.
    """
    groups, seen = [], set()
    for number, line in _lines(text):
        terms = []
        for term in _terms(line):
            if term_problem(term) is None and term.lower() not in seen:
                seen.add(term.lower())
                terms.append(term)
        if len(terms) >= MIN_TERMS:
            groups.append(Group(number, tuple(terms[:MAX_TERMS])))
    return groups


def validate(text: str) -> list[Group]:
    """The groups of ``text``, or :class:`Invalid` listing every problem by line.

    A term may be in one group only: search could not tell which group was meant.
    """
    text = text or ""
    if len(text) > MAX_TEXT:
        raise Invalid({"text": f"The list is too long ({len(text):,} characters; the limit "
                               f"is {MAX_TEXT:,})."})
    problems: list[str] = []
    groups: list[Group] = []
    first_seen: dict[str, int] = {}
    for number, line in _lines(text):
        terms = _terms(line)
        for term in terms:
            problem = term_problem(term)
            if problem:
                problems.append(f"Line {number}: {problem}")
                continue
            key = term.lower()
            if key in first_seen:
                where = ("twice on this line" if first_seen[key] == number
                         else f"also on line {first_seen[key]}")
                problems.append(f"Line {number}: “{term}” is {where}; a term can be in one "
                                "group only.")
            else:
                first_seen[key] = number
        if len(terms) < MIN_TERMS:
            problems.append(f"Line {number}: a group needs at least {MIN_TERMS} terms, separated "
                            "by commas (a term alone finds nothing more).")
        elif len(terms) > MAX_TERMS:
            problems.append(f"Line {number}: {len(terms)} terms; a group holds at most "
                            f"{MAX_TERMS}. Split it, or keep the most used ones.")
        groups.append(Group(number, tuple(terms)))
    if len(groups) > MAX_GROUPS:
        problems.insert(0, f"{len(groups):,} groups; the limit is {MAX_GROUPS:,}.")
    if problems:
        if len(problems) > MAX_MESSAGES:
            problems = [*problems[:MAX_MESSAGES],
                        f"… and {len(problems) - MAX_MESSAGES:,} more problems."]
        raise Invalid({"text": problems})
    return groups


# -- what search uses ------------------------------------------------------------------

def newest() -> GlossaryVersion | None:
    return db_session().scalar(
        select(GlossaryVersion).order_by(GlossaryVersion.id.desc()).limit(1))


def current() -> str:
    """The text in use: the newest saved version, else the shipped list."""
    version = newest()
    return version.text if version is not None else shipped_text()


def _lookup(text: str) -> dict[str, list[str]]:
    """Each term to its group's list: one list object per group, which search counts on
    to tell the groups apart."""
    lookup = {}
    for group in parse(text):
        terms = list(group.terms)
        for term in terms:
            lookup[term.lower()] = terms
    return lookup


# Per app database: (newest version's id and time, the lookup built from it). Keyed by
# the Database object so that several apps in one process never share an entry.
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


@lru_cache(maxsize=1)
def _shipped_lookup() -> dict[str, list[str]]:
    return _lookup(shipped_text())


def synonyms() -> dict[str, list[str]]:
    """Each glossary term, lower case, to its whole group.

    One query per call (the newest version's id, by primary key), so a save in
    another worker process is used by the next search here.
    """
    if not has_app_context():
        return _shipped_lookup()
    latest = db_session().execute(
        select(GlossaryVersion.id, GlossaryVersion.created_at)
        .order_by(GlossaryVersion.id.desc()).limit(1)).first()
    if latest is None:
        return _shipped_lookup()
    key = tuple(latest)
    owner = database()
    cached = _cache.get(owner)
    if cached is not None and cached[0] == key:
        return cached[1]
    text = db_session().scalar(select(GlossaryVersion.text).where(GlossaryVersion.id == key[0]))
    lookup = _lookup(text or "")
    with _cache_lock:
        _cache[owner] = (key, lookup)
    return lookup


# -- changing it (coordinators) ---------------------------------------------------------

class NoChanges(Invalid):
    """The text is the one in use already: nothing is written."""


class StartNotInUse(Invalid):
    """The edit started from a version that is not the one in use, or from one the form
    did not name: nothing is written, so nobody's save is overwritten unseen."""


class EmptyGlossary(Invalid):
    """A list with no groups, not confirmed: search would lose every equivalent at once,
    which an emptied text box (or a form sent without its text) should not do by itself."""


SAVED_MEANWHILE = ("Someone else saved the vocabulary while you were editing it. Your text is "
                   "still below: compare it with the current list (open it in another tab), "
                   "then save again.")
UNKNOWN_START = ("This form did not say which version of the vocabulary you started from, so "
                 "nothing was saved: someone else may have saved a change since. Your text is "
                 "still below: compare it with the current list (open it in another tab), then "
                 "save again.")
EMPTY_LIST = ("The list has no groups of terms, so search would find only the exact words "
              "typed. To clear the vocabulary on purpose, tick “Save an empty list” and save "
              "again (the current list stays in the history).")


def started_from(value: str | None) -> int:
    """The version an edit form says it started from (0: the shipped list); missing or
    not a number: :class:`StartNotInUse` (apprentice.forms.started_from)."""
    return forms.started_from(value, StartNotInUse({None: UNKNOWN_START}))


def newest_id() -> int:
    """The id of the version in use (0: the shipped list), for the edit form."""
    version = newest()
    return version.id if version is not None else 0


def _write(text: str, summary: str, author: StaffProfile | None, action: str, *,
           based_on: int | None = None, allow_empty: bool = True,
           **details) -> GlossaryVersion:
    if not may_edit_glossary(author):
        raise Invalid({None: "Only coordinators change the search vocabulary."})
    summary = " ".join((summary or "").split())
    if len(summary) > MAX_SUMMARY:
        raise Invalid({"summary": f"Keep the summary to {MAX_SUMMARY} characters."})
    if any(_is_invisible(char) for char in summary):
        raise Invalid({"summary": "The summary holds a control character."})
    groups = validate(text)
    if not groups and not allow_empty:
        raise EmptyGlossary({"text": EMPTY_LIST})
    text = normalise(text)
    session = db_session()
    advisory_lock(GLOSSARY_LOCK_KEY)  # two coordinators saving at once: one after the other
    in_use = newest()
    if based_on is not None and based_on != (in_use.id if in_use else 0):
        raise StartNotInUse({None: SAVED_MEANWHILE})
    if text == normalise(in_use.text if in_use else shipped_text()):
        raise NoChanges({None: "No changes to save."})
    version = GlossaryVersion(text=text, summary=summary, author_id=author.id)
    session.add(version)
    audit.record(action, actor=author, obj=version, groups=len(groups), summary=summary,
                 **details)
    session.commit()
    _reindex_quietly()
    return version


def _reindex_quietly() -> None:
    """Rebuild a small library's index on this server with the new list; never fail the
    save for it (a larger library's index, and every other server's, is rebuilt by the
    timer, apprentice/kb/applier.py, or ``flask apprentice index-sync``)."""
    from apprentice.kb import search  # search imports this module

    try:
        search.sync_glossary(limit=REINDEX_AT_ONCE)
    except Exception:  # the list is saved and in use; the index only makes it faster
        current_app.logger.exception("search index not rebuilt for the new glossary")


def save(text: str, summary: str, author: StaffProfile | None, *,
         based_on: int | None = None, allow_empty: bool = False) -> GlossaryVersion:
    """Put a coordinator's list in use, as a new version (the old ones are kept).

    ``based_on``: the version the editor started from (see :func:`started_from`); a save
    made since is not overwritten unseen. None: not checked (scripts, not the form).
    ``allow_empty``: the coordinator confirmed a list with no groups; without it such a
    list is refused (:class:`EmptyGlossary`). Restoring an empty version needs no tick.
    """
    return _write(text, summary, author, "glossary.saved", based_on=based_on,
                  allow_empty=allow_empty)


def history(limit: int = 200) -> list[GlossaryVersion]:
    """Saved versions, newest first, with their authors."""
    return list(db_session().scalars(
        select(GlossaryVersion).options(selectinload(GlossaryVersion.author))
        .order_by(GlossaryVersion.id.desc()).limit(limit)))


def restore(version_id: int, author: StaffProfile | None) -> GlossaryVersion:
    """Use an earlier version's list again, as a new version."""
    old = db_session().get(GlossaryVersion, version_id)
    if old is None:
        raise Invalid({None: "There is no such version of the vocabulary."})
    return _write(old.text, f"Restored version {old.id}", author, "glossary.restored",
                  restored=old.id)


def reset(author: StaffProfile | None) -> GlossaryVersion:
    """Go back to the list shipped with apprentice, as a new version."""
    return _write(shipped_text(), "Back to the shipped list", author, "glossary.reset")
