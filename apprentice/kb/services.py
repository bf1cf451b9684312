"""The rules of the procedures wiki: saving, proposing, publishing, history, review.

Every save writes a revision. Who publishes and who may see what is
apprentice.kb.permissions; the services ask it again before changing anything.
An edit started from an older revision than the current one is refused, so a
second editor never silently overwrites the first.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from apprentice.competencies.models import Competency, CompetencyArea
from apprentice.core import receipts
from apprentice.db import db_session
from apprentice.kb import search
from apprentice.kb.models import (
    REVIEW_INTERVAL_DAYS,
    Procedure,
    ProcedureArea,
    ProcedureCompetency,
    ProcedureRevision,
    ProcedureStatus,
    RevisionState,
)
from apprentice.kb.permissions import (
    may_check,
    may_publish,
    may_see_procedure,
    visible_procedures_clause,
)
from apprentice.people.models import StaffProfile
from apprentice.validation import Invalid

MAX_TITLE = 200
MAX_BODY = 200_000  # characters: a long procedure is a few thousand
MAX_TAGS = 20
MAX_TAG = 40  # characters in one tag
MAX_SUMMARY = 300
MAX_LISTED = 200  # procedures on the page without a search


def listing(person: StaffProfile, containing: str = "") -> list[Procedure]:
    """The procedures ``person`` may see (apprentice.kb.permissions), by title; with
    ``containing``, those whose title or tags hold it (the page's stand-in while
    search is unavailable)."""
    query = (select(Procedure).where(visible_procedures_clause(person))
             .order_by(func.lower(Procedure.title)))
    if containing:
        query = query.where(or_(Procedure.title.icontains(containing, autoescape=True),
                                Procedure.tags.icontains(containing, autoescape=True)))
    return list(db_session().scalars(query.limit(MAX_LISTED)))


def get_procedure(procedure_id: int) -> Procedure | None:
    return db_session().get(Procedure, procedure_id)


def normalise_tags(tags) -> str:
    """Tags as stored: lower case, spaces collapsed, no repeats, comma-separated. A tag
    is never cut short here (:func:`_check` refuses one over ``MAX_TAG``)."""
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned = []
    for tag in tags:
        tag = " ".join(str(tag).strip().lower().split())
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return ",".join(cleaned)


@dataclass
class ProcedureDraft:
    """What an editor (or an imported file) says a procedure should be."""

    title: str
    body: str
    tags: list[str] | str = field(default_factory=list)
    competency_ids: list[int] = field(default_factory=list)
    area_ids: list[int] = field(default_factory=list)
    summary: str = ""


def _check(draft: ProcedureDraft) -> tuple[str, str, str]:
    errors: dict = {}
    title = " ".join((draft.title or "").split())
    if not title:
        errors["title"] = "Give the procedure a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title to {MAX_TITLE} characters."
    body = (draft.body or "").replace("\r\n", "\n")
    if len(body) > MAX_BODY:
        errors["body"] = (f"The text is too long ({len(body):,} characters; the limit is "
                          f"{MAX_BODY:,}). Split it into several procedures.")
    if "\x00" in body or "\x00" in title:
        errors["body"] = "The text holds a NUL character."
    tags = normalise_tags(draft.tags)
    too_long = [tag for tag in tags.split(",") if len(tag) > MAX_TAG]
    if len(tags.split(",")) > MAX_TAGS:
        errors["tags"] = f"Use at most {MAX_TAGS} tags."
    elif too_long:
        errors["tags"] = (f"Keep each tag to {MAX_TAG} characters "
                          f"(one has {len(too_long[0]):,}).")
    elif len(tags) > 500:
        errors["tags"] = "The tags are too long together."
    if len(draft.summary or "") > MAX_SUMMARY:
        errors["summary"] = f"Keep the summary to {MAX_SUMMARY} characters."
    if _unknown(Competency.id, draft.competency_ids):
        errors["competency_ids"] = "Choose competencies from the list."
    if _unknown(CompetencyArea.id, draft.area_ids):
        errors["area_ids"] = "Choose areas from the list."
    if errors:
        raise Invalid(errors)
    return title, body, tags


def _unknown(column, ids) -> bool:
    """Whether any of ``ids`` is missing from ``column`` (no query for no ids)."""
    wanted = set(ids or [])
    return bool(wanted) and bool(
        wanted - set(db_session().scalars(select(column).where(column.in_(wanted)))))


def _relink(links: list, link_class, key: str, ids) -> list:
    """``links`` changed to point at ``ids``: the links kept stay the same rows, so
    an unchanged link is neither deleted nor inserted again."""
    wanted = set(ids or [])
    kept = [link for link in links if getattr(link, key) in wanted]
    new = sorted(wanted - {getattr(link, key) for link in kept})
    return kept + [link_class(**{key: target}) for target in new]


def _apply(procedure: Procedure, revision: ProcedureRevision, draft: ProcedureDraft) -> None:
    """Make a revision the procedure's current text, with the draft's links."""
    procedure.title, procedure.body, procedure.tags = revision.title, revision.body, revision.tags
    procedure.revision_number = revision.number
    procedure.competency_links = _relink(procedure.competency_links, ProcedureCompetency,
                                         "competency_id", draft.competency_ids)
    procedure.area_links = _relink(procedure.area_links, ProcedureArea, "area_id",
                                   draft.area_ids)


def _links_of(procedure: Procedure) -> tuple[list[int], list[int]]:
    return ([link.competency_id for link in procedure.competency_links],
            [link.area_id for link in procedure.area_links])


def _next_number(procedure: Procedure) -> int:
    latest = db_session().scalar(select(func.max(ProcedureRevision.number)).where(
        ProcedureRevision.procedure_id == procedure.id))
    return (latest or 0) + 1


def _commit(procedure: Procedure | None, *, sync: bool = True,
            receipt: tuple | None = None) -> None:
    """Commit; with ``procedure``, its change goes into the search index's log in the same
    transaction and (unless the caller batches, ``sync=False``) into this server's index
    after (the other servers' take it on their next round, apprentice/kb/applier.py).
    ``receipt``: (token, person, kind, record) of the form saved (apprentice.core.receipts)."""
    if procedure is not None:
        search.queue(procedure)
    if receipt is not None:
        receipts.commit(*receipt)
    else:
        db_session().commit()
    if procedure is not None and sync:
        search.sync_quietly()


def finish_indexing() -> None:
    """Before answering "already saved": the first try may have been cut short between its
    commit and the index (its worker killed), leaving the change waiting in the log. Applied
    now, the procedure is findable, as a saved one is."""
    search.sync_quietly()


def create(draft: ProcedureDraft, author: StaffProfile | None, *, publish: bool = False,
           source_key: str | None = None, today: date | None = None,
           sync: bool = True, form_token: str | None = None) -> Procedure:
    """A new procedure; published at once only by someone who may publish.

    ``form_token`` (apprentice.core.receipts): the same form sent again raises
    AlreadySaved instead of making a second procedure."""
    receipts.check(form_token, author)
    title, body, tags = _check(draft)
    today = today or date.today()
    publishing = publish and (author is None or may_publish(author))
    procedure = Procedure(
        title=title, body=body, tags=tags, owner_id=author.id if author else None,
        status=(ProcedureStatus.PUBLISHED if publishing else ProcedureStatus.DRAFT).value,
        source_key=source_key,
        review_by=today + timedelta(days=REVIEW_INTERVAL_DAYS) if publishing else None,
    )
    session = db_session()
    session.add(procedure)
    session.flush()
    revision = ProcedureRevision(procedure_id=procedure.id, number=1, title=title, body=body,
                                 tags=tags, summary=(draft.summary or "").strip() or "Created",
                                 author_id=author.id if author else None)
    session.add(revision)
    _apply(procedure, revision, draft)
    _commit(procedure, sync=sync, receipt=(form_token, author, "procedure", procedure))
    return procedure


class EditConflict(Invalid):
    """Someone saved the procedure after this editor opened it."""


def save(procedure: Procedure, draft: ProcedureDraft, author: StaffProfile | None, *,
         based_on: int, sync: bool = True, form_token: str | None = None) -> ProcedureRevision:
    """Save an edit as a new revision.

    Published at once by someone who may publish; otherwise kept as a proposal.
    Refused (nothing lost: the view keeps the text on the form) when someone
    else saved since revision ``based_on`` was opened. The same form sent again
    (``form_token``, apprentice.core.receipts) raises AlreadySaved.
    """
    receipts.check(form_token, author)
    title, body, tags = _check(draft)
    session = db_session()
    session.refresh(procedure, with_for_update=True)
    if based_on != procedure.revision_number:
        raise EditConflict({None: (
            "Someone else saved this procedure while you were editing it (now revision "
            f"{procedure.revision_number}; you started from {based_on}). Your text is still "
            "below: compare it with the current page, then save again.")})
    publishing = author is None or may_publish(author)
    revision = ProcedureRevision(
        procedure_id=procedure.id, number=_next_number(procedure), title=title, body=body,
        tags=tags, summary=(draft.summary or "").strip(), based_on=based_on,
        state=(RevisionState.PUBLISHED if publishing else RevisionState.PROPOSED).value,
        author_id=author.id if author else None,
    )
    session.add(revision)
    if publishing:
        _apply(procedure, revision, draft)
    _commit(procedure if publishing else None, sync=sync,
            receipt=(form_token, author, "revision", revision))
    return revision


def accept(revision: ProcedureRevision, by: StaffProfile) -> None:
    """Publish a proposed revision (it must still apply to the current text)."""
    if not may_publish(by):
        raise Invalid({None: "Only mentors and coordinators publish procedures."})
    procedure = get_procedure(revision.procedure_id)
    if revision.state != RevisionState.PROPOSED.value:
        raise Invalid({None: "This revision is not waiting to be published."})
    if revision.based_on != procedure.revision_number:
        raise Invalid({None: "The page changed after this proposal was made; edit the "
                             "current page instead."})
    competency_ids, area_ids = _links_of(procedure)
    draft = ProcedureDraft(title=revision.title, body=revision.body, tags=revision.tags,
                           competency_ids=competency_ids, area_ids=area_ids)
    published = ProcedureRevision(
        procedure_id=procedure.id, number=_next_number(procedure), title=revision.title,
        body=revision.body, tags=revision.tags, based_on=procedure.revision_number,
        summary=f"Published the proposal of revision {revision.number}", author_id=by.id)
    db_session().add(published)
    _apply(procedure, published, draft)
    if procedure.status == ProcedureStatus.DRAFT.value:
        set_status(procedure, ProcedureStatus.PUBLISHED, by, commit=False)
    _commit(procedure)


def set_status(procedure: Procedure, status: ProcedureStatus, by: StaffProfile | None, *,
               commit: bool = True, today: date | None = None) -> None:
    if by is not None and not may_publish(by):
        raise Invalid({None: "Only mentors and coordinators publish or archive procedures."})
    procedure.status = status.value
    if status == ProcedureStatus.PUBLISHED and procedure.review_by is None:
        procedure.review_by = (today or date.today()) + timedelta(
            days=procedure.review_interval_days)
    if commit:
        _commit(procedure)


def mark_verified(procedure: Procedure, by: StaffProfile, today: date | None = None) -> None:
    """The owner (or a publisher) confirms the page is still right: next review moves on."""
    if not may_check(by, procedure):
        raise Invalid({None: "Only the owner, a mentor or a coordinator can mark it checked."})
    procedure.review_by = (today or date.today()) + timedelta(days=procedure.review_interval_days)
    db_session().commit()


def for_competency(competency: Competency, person: StaffProfile | None) -> list[Procedure]:
    """Procedures that teach a competency (any wording of it) that the person may see."""
    linked = (select(ProcedureCompetency.procedure_id)
              .join(Competency, Competency.id == ProcedureCompetency.competency_id)
              .where(Competency.lineage == competency.lineage))
    rows = db_session().scalars(
        select(Procedure).where(Procedure.id.in_(linked)).order_by(func.lower(Procedure.title)))
    return [p for p in rows if may_see_procedure(person, p)]


def revisions(procedure: Procedure) -> list[ProcedureRevision]:
    """Every revision, newest first, with its author (the history page names them all)."""
    return list(db_session().scalars(
        select(ProcedureRevision).options(selectinload(ProcedureRevision.author))
        .where(ProcedureRevision.procedure_id == procedure.id)
        .order_by(ProcedureRevision.number.desc())))


def proposals(procedure: Procedure) -> list[ProcedureRevision]:
    """The proposals waiting for someone who may publish, oldest first: those made on
    the current text. Once one is published, or another save overtakes them, the text
    has moved on and they wait no more (revisions themselves are never changed)."""
    return list(db_session().scalars(
        select(ProcedureRevision).where(
            ProcedureRevision.procedure_id == procedure.id,
            ProcedureRevision.state == RevisionState.PROPOSED.value,
            ProcedureRevision.based_on == procedure.revision_number)
        .order_by(ProcedureRevision.number)))


def get_revision(procedure: Procedure, number: int) -> ProcedureRevision | None:
    return db_session().scalar(select(ProcedureRevision).where(
        ProcedureRevision.procedure_id == procedure.id, ProcedureRevision.number == number))


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str


def diff(old: ProcedureRevision, new: ProcedureRevision, context: int = 3) -> list[DiffLine]:
    """What changed between two revisions, line by line (the Markdown source, shown as
    text: nothing in it is rendered, so nothing in it can run)."""
    lines = []
    for line in difflib.unified_diff(
        f"# {old.title}\n\n{old.body}".splitlines(),
        f"# {new.title}\n\n{new.body}".splitlines(), lineterm="", n=context,
    ):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(DiffLine("gap", "…"))
        elif line.startswith("+"):
            lines.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            lines.append(DiffLine("removed", line[1:]))
        else:
            lines.append(DiffLine("same", line[1:]))
    return lines


def restore(procedure: Procedure, number: int, by: StaffProfile) -> ProcedureRevision:
    """Make an older revision's text current again, as a new revision."""
    old = get_revision(procedure, number)
    if old is None:
        raise Invalid({None: "There is no such revision."})
    competency_ids, area_ids = _links_of(procedure)
    return save(procedure, ProcedureDraft(
        title=old.title, body=old.body, tags=old.tags, competency_ids=competency_ids,
        area_ids=area_ids, summary=f"Restored revision {number}"),
        by, based_on=procedure.revision_number)
