"""Saving and reading learning statements: every save a new revision, never an overwrite.

LSSC suggests a statement of three pages or less: :data:`MAX_WORDS` words in all (the
overall statement and the areas together), each box also at most :data:`MAX_CHARS`
characters. Words are counted as the edit page's live counter counts them
(apprentice.js): runs of text between spaces that hold a letter or a digit, so
Markdown's ``#``, ``-`` and ``*`` are not words.

A save names the revision its writer started from; when a newer one was saved
meanwhile (another tab, another device), nothing is written and the text stays on the
form, so no revision is overwritten unseen (as for the search glossary).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from apprentice import forms
from apprentice.audit import services as audit
from apprentice.competencies.models import CompetencyArea, Framework
from apprentice.core import receipts
from apprentice.db import advisory_lock, db_session
from apprentice.people.models import StaffProfile
from apprentice.programmes.models import ElectiveChoice, Enrolment, EnrolmentStatus
from apprentice.statements import permissions
from apprentice.statements.models import StatementRevision, StatementSection
from apprentice.validation import Invalid, refuse_unless

MAX_WORDS = 1_500  # about three pages, LSSC's guidance for the whole statement
MAX_CHARS = 15_000  # per box: room for Markdown links around 1,500 words
# PostgreSQL advisory lock for one person's saves: this prefix, then the person's id.
STATEMENT_LOCK = 0x61707073 << 32

SAVED_MEANWHILE = (
    "A newer revision of your statement was saved while you were editing (revision {newest}; "
    "you started from {started}), perhaps in another tab. Nothing was saved, so that one is "
    "not overwritten. Your text is still below: compare it with the current statement (open "
    "it in another tab), then save again.")
UNKNOWN_START = (
    "This form did not say which revision of your statement you started from, so nothing "
    "was saved: a newer one may have been saved since. Your text is still below: compare it "
    "with the current statement (open it in another tab), then save again.")
NO_OVERALL = "Write your overall statement: the areas are optional, this one is not."


class StaleStatement(Invalid):
    """The edit started from a revision that is not the newest: nothing is written."""


class NoChanges(Invalid):
    """The text is the newest revision's already: no revision is added."""


@dataclass(frozen=True)
class StatementDraft:
    """What the form sends: the overall statement, and area id -> that area's text."""

    overall: str
    areas: Mapping[int, str] = field(default_factory=dict)


def count_words(text: str | None) -> int:
    """Words as a reader counts them (see the module's docstring)."""
    return sum(1 for token in (text or "").split() if any(ch.isalnum() for ch in token))


def _clean(text: str | None) -> str:
    """As stored: line breaks as LF, no blank lines or spaces around the text."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def area_field(area_id: int) -> str:
    """The form field of an area's box (the service names it in its messages)."""
    return f"area_{area_id}"


# -- reading ------------------------------------------------------------------------------

def newest(person_id: int) -> StatementRevision | None:
    """The statement as it stands, with its sections (as it stood on a past day:
    :func:`newest_rows`, the record's reader)."""
    return db_session().scalar(_newest_query(), {"person_id": person_id})


def _newest_of(query, before: bool):
    """``query`` narrowed to the newest revision (by then: ``before``), the person and
    the day bound when run (``person_id``, ``before``)."""
    query = query.where(StatementRevision.person_id == bindparam("person_id"))
    if before:
        query = query.where(StatementRevision.created_at
                            < bindparam("before", type_=StatementRevision.created_at.type))
    return query.order_by(StatementRevision.number.desc()).limit(1)


@cache
def _newest_query():
    """The statement of :func:`newest`, built once per process (building it costs more
    than running it)."""
    return _newest_of(select(StatementRevision), False)


@dataclass(frozen=True)
class NewestRows:
    """The newest revision as plain rows, for readers that need no objects (the record
    model): the revision with its author's name, and its sections with their area's
    name, in the form's order."""

    revision: object  # id, number, overall, words, created_at, author_id, author_name
    sections: list  # area_id, area_name, body


@cache
def _newest_rows_queries(before: bool):
    """The two statements of :func:`newest_rows`, built once per process."""
    author = aliased(StaffProfile)
    revision = _newest_of(
        select(StatementRevision.id, StatementRevision.number, StatementRevision.overall,
               StatementRevision.words, StatementRevision.created_at,
               StatementRevision.author_id, author.name.label("author_name"))
        .outerjoin(author, author.id == StatementRevision.author_id), before)
    sections = (select(StatementSection.area_id, CompetencyArea.name.label("area_name"),
                       StatementSection.body)
                .join(CompetencyArea, CompetencyArea.id == StatementSection.area_id)
                .where(StatementSection.revision_id == bindparam("revision_id"))
                .order_by(StatementSection.position))
    return revision, sections


def newest_rows(person_id: int, before: datetime | None = None) -> NewestRows | None:
    """:func:`newest` as rows (two statements, no object graphs); None: none yet."""
    revision_query, sections_query = _newest_rows_queries(before is not None)
    session = db_session()
    revision = session.execute(revision_query,
                               {"person_id": person_id, "before": before}).first()
    if revision is None:
        return None
    return NewestRows(revision, list(session.execute(sections_query,
                                                     {"revision_id": revision.id})))


def newest_number(person_id: int) -> int:
    """The newest revision's number (0: none yet), for the edit form."""
    revision = newest(person_id)
    return revision.number if revision is not None else 0


def get_revision(person_id: int, number: int) -> StatementRevision | None:
    return db_session().scalar(select(StatementRevision).where(
        StatementRevision.person_id == person_id, StatementRevision.number == number))


def get_revision_by_id(revision_id: int) -> StatementRevision | None:
    return db_session().get(StatementRevision, revision_id)


def history(person_id: int) -> list[StatementRevision]:
    """Every revision, newest first, with its author (the sections are not needed)."""
    return list(db_session().scalars(
        select(StatementRevision).where(StatementRevision.person_id == person_id)
        .options(selectinload(StatementRevision.author))
        .order_by(StatementRevision.number.desc())))


def sections_in_view(revision: StatementRevision,
                     areas: frozenset[int] | None) -> list[StatementSection]:
    """A revision's sections the reader may see (``areas``: permissions.areas_in_view)."""
    return [s for s in revision.sections if areas is None or s.area_id in areas]


def areas_to_write(person_id: int) -> list[CompetencyArea]:
    """The boxes of the form: the areas of the person's active programmes (the required
    ones and the chosen electives), then any area the newest revision wrote about that
    is no longer among them, so no text drops off the form unseen."""
    session = db_session()
    enrolments = list(session.scalars(select(Enrolment).where(
        Enrolment.person_id == person_id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(Enrolment.start_date, Enrolment.id)))
    chosen = set(session.scalars(select(ElectiveChoice.area_id).where(
        ElectiveChoice.enrolment_id.in_([e.id for e in enrolments])))) if enrolments else set()
    frameworks = {f.id: f for f in session.scalars(select(Framework).where(
        Framework.id.in_({e.framework_id for e in enrolments})))} if enrolments else {}
    areas: dict[int, CompetencyArea] = {}
    for enrolment in enrolments:
        for area in frameworks[enrolment.framework_id].current_areas:
            if area.required or area.id in chosen:
                areas.setdefault(area.id, area)
    latest = newest(person_id)
    for section in latest.sections if latest is not None else ():
        areas.setdefault(section.area_id, section.area)
    return list(areas.values())


# -- saving -------------------------------------------------------------------------------

def started_from(value) -> int:
    """The revision an edit form says it started from (0: none yet); missing or not a
    number: :class:`StaleStatement` (apprentice.forms.started_from)."""
    return forms.started_from(value, StaleStatement({None: UNKNOWN_START}))


def _check(draft: StatementDraft, offered: Iterable[int]) -> tuple[str, dict[int, str], int]:
    """The draft as stored (overall, areas with text), and its words; or Invalid."""
    overall = _clean(draft.overall)
    offered = list(offered)
    unknown = set(draft.areas) - set(offered)
    if unknown:
        raise Invalid({None: "Write about the areas of your programme only."})
    areas = {area_id: text for area_id in offered
             if (text := _clean(draft.areas.get(area_id)))}
    errors: dict[str | None, list[str] | str] = {}
    if not overall:
        errors["overall"] = NO_OVERALL
    for name, text in (("overall", overall), *((area_field(a), t) for a, t in areas.items())):
        if len(text) > MAX_CHARS:
            errors[name] = (f"This is {len(text):,} characters; the limit is {MAX_CHARS:,}. "
                            "Shorten it: nothing was saved yet.")
    words = count_words(overall) + sum(count_words(text) for text in areas.values())
    if words > MAX_WORDS:
        over = words - MAX_WORDS
        errors[None] = (f"Your statement is {words:,} words; the limit is {MAX_WORDS:,} "
                        f"(about three pages) for the overall statement and the areas "
                        f"together. Shorten it by {over:,} word{'s' if over != 1 else ''}: "
                        "nothing was saved yet, your text is still below.")
    if errors:
        raise Invalid(errors)
    return overall, areas, words


def save(person: StaffProfile, draft: StatementDraft, author: StaffProfile | None, *,
         based_on: int, form_token: str | None = None) -> StatementRevision:
    """Save ``person``'s statement as a new revision (the older ones are kept).

    ``based_on``: the revision the writer started from (see :func:`started_from`); a
    newer one saved since is not overwritten (:class:`StaleStatement`). The same form
    sent again (``form_token``, apprentice.core.receipts) raises AlreadySaved.
    ``author=None``: the command line or the demo data.
    """
    refuse_unless(permissions.may_write_statement(author, person.id), author,
                  "Only the apprentice writes their learning statement.")
    receipts.check(form_token, author)
    offered = [area.id for area in areas_to_write(person.id)]
    overall, areas, words = _check(draft, offered)
    session = db_session()
    advisory_lock(STATEMENT_LOCK | person.id)  # two tabs saving at once: one after the other
    latest = newest(person.id)
    current = latest.number if latest is not None else 0
    if based_on != current:
        raise StaleStatement({None: SAVED_MEANWHILE.format(newest=current, started=based_on)})
    if latest is not None and (latest.overall, {s.area_id: s.body for s in latest.sections}
                               ) == (overall, areas):
        raise NoChanges({None: "No changes to save: this is your statement as it stands."})
    revision = StatementRevision(
        person_id=person.id, number=current + 1, based_on=based_on, overall=overall,
        words=words, author_id=author.id if author is not None else None,
        sections=[StatementSection(area_id=area_id, body=text, position=offered.index(area_id))
                  for area_id, text in areas.items()])
    session.add(revision)
    audit.record("statement.saved", actor=author, obj=revision, person=person.id,
                 number=revision.number, words=words, areas=sorted(areas))
    try:
        receipts.commit(form_token, author, "statement", revision)
    except IntegrityError:  # the same number, saved by a parallel request a moment ago
        session.rollback()
        raise StaleStatement({None: SAVED_MEANWHILE.format(
            newest=newest_number(person.id), started=based_on)}) from None
    return revision
