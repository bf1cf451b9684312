"""The apprenticeship loop's rules: pairings, log entries, review, sign-offs.

Each state change appends an audit record in the same transaction, so the
change and its record commit together or not at all.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload, selectinload

from apprentice.audit import services as audit
from apprentice.competencies.models import (
    Competency,
    CompetencyArea,
    SupervisionLevel,
)
from apprentice.core import receipts
from apprentice.db import (
    advisory_lock,
    db_session,
    execute,
    id_of,
    inserted,
    utcnow,
    write_turn,
)
from apprentice.forms import id_number, ids_from
from apprentice.kb.models import Procedure, ProcedureCompetency, ProcedureStatus
from apprentice.kb.permissions import citable_procedures_clause
from apprentice.people.kept import KeptPerson
from apprentice.people.kept import now as kept_now
from apprentice.people.models import Role, StaffProfile, acts_as
from apprentice.programmes.services import in_programme, programme_competencies
from apprentice.training import paired
from apprentice.training.models import (
    EntryCompetency,
    EntryProcedure,
    EntryState,
    LogEntry,
    Pairing,
    PairingArea,
    PairingTerms,
    Revocation,
    SignOff,
    SignOffEvidence,
    activity_label,
    days_waiting,
)
from apprentice.training.permissions import (
    is_coordinator,
    may_correct,
    may_keep_log,
    may_review,
    may_revoke,
    may_sign_off,
    may_unlock,
    mentor_covers,
    signed_or_coordinates,
)
from apprentice.training.standing import (
    is_corrected,
    standing,
    standing_sign_offs_citing,
)
from apprentice.validation import Invalid

MAX_DESCRIPTION = 2000
MAX_REFLECTION = 4000
MAX_COMPETENCIES_PER_ENTRY = 10
MAX_PROCEDURES_PER_ENTRY = 10
MAX_SUGGESTED_PROCEDURES = 12
MAX_SUGGESTION_COMPETENCIES = 50  # suggestions look at this many ticked competencies at most


# -- pairings ------------------------------------------------------------------

def get_pairing(pairing_id: int) -> Pairing | None:
    return db_session().get(Pairing, pairing_id)


def _check_people(apprentice: StaffProfile, mentor: StaffProfile) -> None:
    errors: dict = {}
    if not acts_as(apprentice, Role.APPRENTICE):
        errors["apprentice"] = f"{apprentice.name} is not an active apprentice."
    if not acts_as(mentor, Role.MENTOR):
        errors["mentor"] = f"{mentor.name} is not an active mentor."
    if apprentice.id == mentor.id:
        errors["mentor"] = "Nobody can mentor themselves."
    if errors:
        raise Invalid(errors)


def _relink(links: list, wanted: Iterable[int], key: str, make) -> list:
    """The links for ``wanted`` ids: existing link rows kept (so unchanged ones are not
    deleted and inserted again), ``make(id)`` for the new ones, in ``wanted`` order."""
    wanted = list(wanted)
    kept = [link for link in links if getattr(link, key) in wanted]
    have = {getattr(link, key) for link in kept}
    return kept + [make(i) for i in wanted if i not in have]


def _check_pairing(starts_on: date, ends_on: date | None, area_ids: Iterable[int]) -> set[int]:
    """Dates and areas (checked on every change; the people only when pairing them,
    so a pairing can still be ended after its mentor has left)."""
    errors: dict = {}
    if ends_on is not None and ends_on < starts_on:
        errors["ends_on"] = "The end date must be on or after the start date."
    areas = set(area_ids)
    if areas:
        known = set(db_session().scalars(
            select(CompetencyArea.id).where(CompetencyArea.id.in_(areas))
        ))
        if areas - known:
            errors["areas"] = "Choose areas from the list."
    if errors:
        raise Invalid(errors)
    return areas


def create_pairing(apprentice: StaffProfile, mentor: StaffProfile, *, starts_on: date,
                   ends_on: date | None = None, area_ids: Iterable[int] = (),
                   by: StaffProfile | None = None, form_token: str | None = None) -> Pairing:
    """Pair an apprentice with a mentor, for some areas (none: all) and dates.

    ``form_token``: the form's one-time token (apprentice.core.receipts): sent again,
    it raises AlreadySaved instead of pairing them twice."""
    receipts.check(form_token, by)
    _check_people(apprentice, mentor)
    areas = _check_pairing(starts_on, ends_on, area_ids)
    for existing in pairings(mentor_id=mentor.id, apprentice_id=apprentice.id):
        if existing.area_ids == areas and existing.current_on(starts_on):
            raise Invalid({"mentor": f"{apprentice.name} is already paired with {mentor.name} "
                                     "for these areas."})
    pairing = Pairing(apprentice_id=apprentice.id, mentor_id=mentor.id, starts_on=starts_on,
                      ends_on=ends_on, created_by_id=by.id if by else None)
    pairing.area_links = [PairingArea(area_id=a) for a in sorted(areas)]
    db_session().add(pairing)
    audit.record("pairing.created", actor=by, obj=pairing, apprentice=apprentice.id,
                 mentor=mentor.id, starts_on=starts_on, ends_on=ends_on, areas=sorted(areas))
    receipts.commit(form_token, by, "pairing", pairing)
    return pairing


def change_pairing(pairing: Pairing, *, ends_on: date | None, area_ids: Iterable[int],
                   by: StaffProfile | None = None) -> None:
    """Change a pairing's areas or end date (ending it is setting the end date).

    Areas since retired stay on the pairing: a form cannot offer them, and
    dropping them would silently widen the pairing to every area.
    """
    retired = {link.area_id for link in pairing.area_links if link.area.retired}
    areas = _check_pairing(pairing.starts_on, ends_on, area_ids) | retired
    before = {"ends_on": pairing.ends_on, "areas": sorted(pairing.area_ids)}
    pairing.ends_on = ends_on
    pairing.area_links = _relink(pairing.area_links, sorted(areas), "area_id",
                                 lambda a: PairingArea(area_id=a))
    audit.record("pairing.changed", actor=by, obj=pairing, before=before,
                 after={"ends_on": ends_on, "areas": sorted(areas)})
    db_session().commit()


def pairings(*, mentor_id: int | None = None, apprentice_id: int | None = None,
             current_on: date | None = None) -> list[Pairing]:
    """Pairings, newest first, with both people (one statement, their roles read only
    if asked for) and the areas they cover."""
    query = _pairings_query(mentor_id is not None, apprentice_id is not None,
                            current_on is not None)
    return list(db_session().scalars(query, {"mentor_id": mentor_id,
                                             "apprentice_id": apprentice_id,
                                             "current_on": current_on}))


@cache
def _pairings_query(by_mentor: bool, by_apprentice: bool, current: bool):
    """The statement of :func:`pairings`, built once per process (building it costs more
    than running it); the ids and the day are bound when run."""
    query = (select(Pairing).order_by(Pairing.starts_on.desc(), Pairing.id.desc())
             .options(joinedload(Pairing.apprentice).lazyload(StaffProfile.role_grants),
                      joinedload(Pairing.mentor).lazyload(StaffProfile.role_grants)))
    if by_mentor:
        query = query.where(Pairing.mentor_id == bindparam("mentor_id"))
    if by_apprentice:
        query = query.where(Pairing.apprentice_id == bindparam("apprentice_id"))
    if current:
        day = bindparam("current_on", type_=Pairing.starts_on.type)
        query = query.where(Pairing.starts_on <= day).where(
            (Pairing.ends_on.is_(None)) | (Pairing.ends_on >= day))
    return query


@dataclass(frozen=True)
class MentorSuggestion:
    mentor: StaffProfile
    load: int              # apprentices paired with them now
    experience: int        # sign-offs they made in the area (or in all areas)


@cache
def _suggestion_queries(in_area: bool):
    """The statements of :func:`suggest_mentors`, built once per process (building them
    costs more than running them); the day and the area are bound when run."""
    mentors = select(StaffProfile).where(StaffProfile.active.is_(True),
                                         StaffProfile.role_grants.any(role=Role.MENTOR.value))
    today = bindparam("today", type_=Pairing.starts_on.type)
    load = (select(Pairing.mentor_id, func.count(func.distinct(Pairing.apprentice_id)))
            .where(Pairing.starts_on <= today,
                   (Pairing.ends_on.is_(None)) | (Pairing.ends_on >= today))
            .group_by(Pairing.mentor_id))
    experience = select(SignOff.signed_by_id, func.count(SignOff.id)).group_by(
        SignOff.signed_by_id)
    if in_area:
        experience = experience.join(
            Competency, Competency.id == SignOff.competency_id
        ).where(Competency.area_id == bindparam("area_id"))
    return mentors, load, experience


def suggest_mentors(area_id: int | None = None, today: date | None = None
                    ) -> list[MentorSuggestion]:
    """Active mentors, most experienced in the area first, then the least loaded."""
    today = today or date.today()
    session = db_session()
    mentors_query, load_query, experience_query = _suggestion_queries(area_id is not None)
    mentors = list(session.scalars(mentors_query))
    load = dict(session.execute(load_query, {"today": today}).all())
    experience = dict(session.execute(experience_query, {"area_id": area_id}).all())
    suggestions = [MentorSuggestion(m, load.get(m.id, 0), experience.get(m.id, 0))
                   for m in mentors]
    suggestions.sort(key=lambda s: (-s.experience, s.load, s.mentor.name))
    return suggestions


# -- log entries -----------------------------------------------------------------

def get_entry(entry_id: int) -> LogEntry | None:
    return db_session().get(LogEntry, entry_id)


@dataclass
class EntryDetails:
    occurred_on: date | None
    minutes: int | None
    activity: int | None
    mentor_id: int | None
    competency_ids: list[int] = field(default_factory=list)
    description: str = ""
    reflection: str = ""
    procedure_ids: list[int] = field(default_factory=list)


def _check_entry(person: StaffProfile, details: EntryDetails, today: date,
                 entry: LogEntry | None = None
                 ) -> tuple[StaffProfile | KeptPerson, list[Competency], list[int]]:
    errors: dict = {}
    if details.occurred_on is None:
        errors["occurred_on"] = "Enter the date."
    elif details.occurred_on > today:
        errors["occurred_on"] = "The date cannot be in the future."
    elif (today - details.occurred_on).days > 366:
        errors["occurred_on"] = "Log entries must be from the last year."
    if details.minutes is None or details.minutes <= 0:
        errors["minutes"] = "Enter how long it took, in minutes (more than zero)."
    elif details.minutes > 24 * 60:
        errors["minutes"] = "One entry cannot be longer than 24 hours (1440 minutes)."
    try:
        SupervisionLevel(details.activity)
    except ValueError:
        errors["activity"] = "Choose what you did."
    description = (details.description or "").strip()
    if not description:
        errors["description"] = "Write a few words about what happened."
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"Keep the description to {MAX_DESCRIPTION} characters."
    if len(details.reflection or "") > MAX_REFLECTION:
        errors["reflection"] = f"Keep the reflection to {MAX_REFLECTION} characters."
    allowed = {c.id: c for c in programme_competencies(person.id)}
    wanted = list(dict.fromkeys(details.competency_ids))
    if not wanted:
        errors["competency_ids"] = "Choose at least one competency you practised."
    elif len(wanted) > MAX_COMPETENCIES_PER_ENTRY:
        errors["competency_ids"] = (f"Choose at most {MAX_COMPETENCIES_PER_ENTRY} "
                                    "competencies for one entry.")
    elif any(c not in allowed for c in wanted):
        errors["competency_ids"] = "Choose competencies from your own programme."
    competencies = [allowed[c] for c in wanted if c in allowed]
    # The person's pairings, kept per process: the mentor as they name them.
    pairings = paired.of_apprentice(person.id)
    mentor = next((p.mentor for p in pairings if p.mentor_id == details.mentor_id), None)
    if mentor is None and details.mentor_id:  # never paired with them: named in the message
        mentor = db_session().get(StaffProfile, details.mentor_id)
    if mentor is None:
        errors["mentor_id"] = "Choose the mentor you worked with."
    elif "occurred_on" not in errors and not mentor_covers(
        mentor, person.id, {c.area_id for c in competencies}, details.occurred_on, pairings
    ):
        errors["mentor_id"] = (f"{mentor.name} was not your mentor for these competencies "
                               "on that date. Choose one of your current mentors.")
    procedure_ids, problem = _check_procedures(person, details.procedure_ids, entry)
    if problem:
        errors["procedure_ids"] = problem
    if errors:
        raise Invalid(errors)
    return mentor, competencies, procedure_ids


# -- procedures followed in an entry ---------------------------------------------

def _check_procedures(person: StaffProfile, procedure_ids: Iterable, entry: LogEntry | None
                      ) -> tuple[list[int], str | None]:
    """The procedures to link, and what is wrong with the choice (None: nothing).

    Links the entry has already stay allowed, so a procedure archived since the
    entry was written does not block saving it again.
    """
    numbers = [id_number(value) for value in procedure_ids or []]
    wanted = list(dict.fromkeys(numbers))
    if None in wanted:
        return [], "Choose procedures from the list."
    if len(wanted) > MAX_PROCEDURES_PER_ENTRY:
        return wanted, f"Choose at most {MAX_PROCEDURES_PER_ENTRY} procedures for one entry."
    if not wanted:
        return [], None
    linked = {link.procedure_id for link in entry.procedure_links} if entry else set()
    rule = citable_procedures_clause(person)
    if linked:
        rule |= Procedure.id.in_(linked)
    allowed = set(db_session().scalars(select(Procedure.id).where(Procedure.id.in_(wanted),
                                                                  rule)))
    if any(p not in allowed for p in wanted):
        return wanted, ("One of the procedures ticked no longer exists or is not published: "
                        "choose procedures from the list.")
    return wanted, None


def suggest_procedures(competency_ids: Iterable, limit: int = MAX_SUGGESTED_PROCEDURES
                       ) -> list[Procedure]:
    """Published procedures that teach the competencies (any wording of them): those
    teaching most of them first, then by title."""
    ids = ids_from(competency_ids, limit=MAX_SUGGESTION_COMPETENCIES)
    if not ids:
        return []
    session = db_session()
    lineages = set(session.scalars(select(Competency.lineage).where(Competency.id.in_(ids))))
    if not lineages:
        return []
    taught = (
        select(ProcedureCompetency.procedure_id,
               func.count(func.distinct(Competency.lineage)).label("taught"))
        .join(Competency, Competency.id == ProcedureCompetency.competency_id)
        .where(Competency.lineage.in_(lineages))
        .group_by(ProcedureCompetency.procedure_id)
        .subquery()
    )
    return list(session.scalars(
        select(Procedure).join(taught, taught.c.procedure_id == Procedure.id)
        .where(Procedure.status == ProcedureStatus.PUBLISHED.value)
        .order_by(taught.c.taught.desc(), func.lower(Procedure.title), Procedure.id)
        .limit(limit)))


def procedure_choices(person: StaffProfile, competency_ids: Iterable, ticked: Iterable = (),
                      entry: LogEntry | None = None) -> list[Procedure]:
    """What the log form offers: the ticked procedures the person may link (and the
    entry's own links) first, so a suggestion list never drops them, then suggestions."""
    linked = [link.procedure for link in entry.procedure_links] if entry else []
    keep = ids_from(ticked, limit=MAX_PROCEDURES_PER_ENTRY)
    found = {link.id: link for link in linked}
    missing = [p for p in keep if p not in found]
    if missing:
        found.update((p.id, p) for p in db_session().scalars(
            select(Procedure).where(Procedure.id.in_(missing), citable_procedures_clause(person))))
    first = [found[p] for p in keep if p in found]
    shown = {p.id for p in first}
    rest = [p for p in linked if p.id not in shown]
    shown |= {p.id for p in rest}
    return first + rest + [p for p in suggest_procedures(competency_ids) if p.id not in shown]


def times_logged(procedure_id: int) -> int:
    """How many log entries (beyond drafts) cite the procedure: one query."""
    return db_session().scalar(
        select(func.count()).select_from(EntryProcedure)
        .join(LogEntry, LogEntry.id == EntryProcedure.entry_id)
        .where(EntryProcedure.procedure_id == procedure_id,
               LogEntry.state != EntryState.DRAFT.value)) or 0


@cache
def _by_token():
    """A person's entry saved with a form's token: its id and state (built once)."""
    return select(LogEntry.id, LogEntry.state).where(
        LogEntry.person_id == bindparam("person_id"),
        LogEntry.form_token == bindparam("form_token"))


def _token_row(person, form_token: str):
    return execute(_by_token(), {"person_id": person.id, "form_token": form_token}).first()


def _entry_by_token(person, form_token: str) -> LogEntry | None:
    found = _token_row(person, form_token)
    return None if found is None else db_session().get(LogEntry, found.id)


def entry_saved_with(form_token: str, person) -> receipts.AlreadySaved | None:
    """The entry ``person`` saved with this form, as the "already saved" page names it: an
    entry keeps its form's token itself (one per person), so it has no receipt."""
    found = _token_row(person, form_token)
    return None if found is None else receipts.AlreadySaved("log_entry", found.id)


def _saved_before(person, form_token: str | None) -> LogEntry | None:
    """The entry ``person`` saved with this form before: a draft, to save again; one sent
    for review raises AlreadySaved (the same form sent twice). None: not saved before."""
    existing = _entry_by_token(person, form_token) if form_token else None
    if existing is not None and not existing.editable:
        raise receipts.AlreadySaved("log_entry", existing.id)
    return existing


def save_entry(person: StaffProfile, details: EntryDetails, *, entry: LogEntry | None = None,
               submit: bool = False, form_token: str | None = None,
               today: date | None = None) -> LogEntry:
    """Create or change a log entry (a draft, or submitted for review).

    Submitted and verified entries are locked. A new entry's ``form_token`` (see
    apprentice.core.receipts) makes a form sent twice save once: sent again after a
    draft, it changes that draft; after submitting, it raises AlreadySaved. The entry
    keeps the token in its own row, unique per person, so it needs no receipt. The form's
    earlier save is looked for only when it matters: when the form is refused (the same
    form sent again is answered "already saved", whatever is wrong with it now), or when
    the INSERT finds the token taken; not by a statement before every quick log.
    """
    write_turn()  # the form's own reads came before: what follows is checked again
    person = kept_now(person)  # as they stand under the lock: no read of their row
    if not may_keep_log(person):  # deactivated, or the role taken, since the form was read
        raise Invalid({None: "You can no longer keep a log here. Ask your coordinator."})
    today = today or date.today()
    session = db_session()
    if not receipts.well_formed(form_token):
        form_token = None  # not one of ours: a fresh token is made below
    receipts.hold(form_token)  # the same form sent twice at once: one waits for the other
    if entry is not None:
        if entry.person_id != person.id:
            raise Invalid({None: "This is someone else's entry."})
        if not entry.editable:
            raise Invalid({None: "This entry is locked while it is reviewed or once verified."})
    try:
        mentor, competencies, procedure_ids = _check_entry(person, details, today, entry)
    except Invalid:
        earlier = _saved_before(person, form_token) if entry is None else None
        if earlier is None:
            raise
        entry = earlier  # its draft, checked as a draft (the procedures it links stay allowed)
        mentor, competencies, procedure_ids = _check_entry(person, details, today, entry)
    now = utcnow()
    values = {"occurred_on": details.occurred_on, "minutes": details.minutes,
              "activity": int(details.activity), "mentor_id": mentor.id,
              "description": details.description.strip(),
              "reflection": (details.reflection or "").strip()}
    if submit:
        values.update(state=EntryState.SUBMITTED.value, submitted_at=now)
    competency_ids = [c.id for c in competencies]
    created = entry is None
    if created:
        entry = inserted(  # Core statements: the quick log is the busiest write
            LogEntry,
            {"person_id": person.id, "form_token": form_token or receipts.new_token(),
             "state": EntryState.DRAFT.value, "return_comment": "", "created_at": now,
             "updated_at": now, "submitted_at": None, "verified_at": None,
             "verified_by_id": None, **values},
            (EntryCompetency, "entry_id", [{"competency_id": c} for c in competency_ids]),
            (EntryProcedure, "entry_id", [{"procedure_id": p} for p in procedure_ids]),
            unless=("person_id", "form_token"))
        if entry is None:  # the token is taken: this form's draft, saved again...
            entry, created = _saved_before(person, form_token), False
            if entry is None:  # ...and deleted since (another tab), after the INSERT
                raise Invalid({None: "This form's draft was deleted meanwhile, so nothing "
                                     "was saved. Send the form again to save it as a new "
                                     "entry."})
    was_returned = not created and entry.state == EntryState.RETURNED.value
    if not created:
        for name, value in values.items():
            setattr(entry, name, value)
        entry.competency_links = _relink(entry.competency_links, competency_ids,
                                         "competency_id",
                                         lambda c: EntryCompetency(competency_id=c))
        entry.procedure_links = _relink(entry.procedure_links, procedure_ids,
                                        "procedure_id",
                                        lambda p: EntryProcedure(procedure_id=p))
    if submit:
        # Procedures only when there are some: records without them keep their shape.
        followed = {"procedures": procedure_ids} if procedure_ids else {}
        audit.record("entry.resubmitted" if was_returned else "entry.submitted",
                     actor=person, obj=entry, mentor=mentor.id, minutes=details.minutes,
                     competencies=competency_ids, **followed)
    session.commit()  # no receipt: the entry keeps its form's token itself
    return entry


def delete_draft(entry: LogEntry, person: StaffProfile) -> None:
    if entry.person_id != person.id or entry.state != EntryState.DRAFT.value:
        raise Invalid({None: "Only your own drafts can be deleted."})
    db_session().delete(entry)
    db_session().commit()


def _lock(*entries: LogEntry) -> None:
    """Re-read the entries FOR UPDATE (PostgreSQL) so two requests cannot both change
    one; SQLite already runs writing transactions one at a time. One statement for them
    (and one for their competencies); the procedures they followed, whose pages are
    long, only if asked for. Their ids come from the identity map: an entry expired by
    the write turn is not read once more just for its id."""
    ids = [id_of(entry) for entry in entries]
    db_session().scalars(
        select(LogEntry).where(LogEntry.id.in_(ids))
        .options(lazyload(LogEntry.procedure_links)).with_for_update()
        .execution_options(populate_existing=True)).all()


def _required_text(value: str | None, field: str, missing: str) -> str:
    """``value`` stripped, refused when empty or longer than the forms allow (the limit
    holds here too, for callers without a form)."""
    text = (value or "").strip()
    if not text:
        raise Invalid({field: missing})
    if len(text) > MAX_DESCRIPTION:
        raise Invalid({field: f"Keep the {field} to {MAX_DESCRIPTION} characters."})
    return text


def _reviewable(entry: LogEntry, mentor: StaffProfile,
                mentor_pairings: Iterable[PairingTerms] | None = None,
                areas: set[int] | None = None) -> None:
    """Refuse unless the (locked) entry waits for review by this mentor."""
    if entry.state != EntryState.SUBMITTED.value:
        raise Invalid({None: "Only entries waiting for review can be verified or returned."})
    if not may_review(mentor, entry, mentor_pairings=mentor_pairings, areas=areas):
        raise Invalid({None: "You are not this apprentice's mentor for these competencies."})


@cache
def _locked_query():
    """What a verify and a sign-off read of the entries they act on, under the write
    lock, in one statement: the entries (FOR UPDATE on PostgreSQL, their rows only), a
    row per competency each practised with its area and lineage (built once per
    process)."""
    return (select(LogEntry.id, LogEntry.person_id, LogEntry.state, LogEntry.occurred_on,
                   LogEntry.activity, Competency.area_id, Competency.lineage)
            .outerjoin(EntryCompetency, EntryCompetency.entry_id == LogEntry.id)
            .outerjoin(Competency, Competency.id == EntryCompetency.competency_id)
            .where(LogEntry.id.in_(bindparam("ids", expanding=True)))
            .with_for_update(of=LogEntry.__table__))


def _locked_entries(entry_ids: list[int]
                    ) -> tuple[dict, dict[int, set[int]], dict[int, set[str]]]:
    """The entries as Core rows by id, and the areas and the lineages each practised:
    one statement for any number of entries (nothing of them is changed here)."""
    entries: dict = {}
    areas: dict[int, set[int]] = defaultdict(set)
    lineages: dict[int, set[str]] = defaultdict(set)
    if not entry_ids:
        return entries, areas, lineages
    for row in execute(_locked_query(), {"ids": entry_ids}):
        entries.setdefault(row.id, row)
        if row.lineage is not None:  # an entry with no competency (imported) has none
            areas[row.id].add(row.area_id)
            lineages[row.id].add(row.lineage)
    return entries, areas, lineages


def verified_together(entry: LogEntry) -> int:
    """How many entries were verified with ``entry`` (one verify: one signer, one time)."""
    return db_session().scalar(select(func.count()).select_from(LogEntry).where(
        LogEntry.verified_by_id == entry.verified_by_id,
        LogEntry.verified_at == entry.verified_at)) or 0


def verify_entries(entries: Iterable[int | LogEntry | None], mentor: StaffProfile) -> int:
    """Verify submitted entries (one, or a bulk selection; their ids, None for a value
    that is no id, or the entries):
    all or none. Read, checked and changed under the write lock in a fixed number of
    statements whatever their number (Core rows: the review queue's button is a busy
    one), then one audit record each, in the order given."""
    write_turn()  # the entries are read under the write lock, as they are checked
    mentor = kept_now(mentor)  # as they stand under the lock: no read of their row
    ids = list(dict.fromkeys(entry if entry is None or isinstance(entry, int)
                             else id_of(entry) for entry in entries))
    entries, areas, _lineages = _locked_entries(ids)
    if not ids or len(entries) != len(ids):  # no id (None), or one that does not exist
        raise Invalid({None: "Some of those entries do not exist; nothing was verified."})
    mentor_pairings = paired.of_mentor(mentor.id)  # once, not once per entry
    for entry_id in ids:
        _reviewable(entries[entry_id], mentor, mentor_pairings, areas[entry_id])
    now = utcnow()
    # ORM-enabled: entries this session holds (a caller's) show the change too.
    db_session().execute(
        update(LogEntry).where(LogEntry.id.in_(ids))
        .values(state=EntryState.VERIFIED.value, verified_at=now, verified_by_id=mentor.id,
                return_comment="", updated_at=now))
    for entry_id in ids:
        audit.record("entry.verified", actor=mentor, object_type="LogEntry",
                     object_id=entry_id, person=entries[entry_id].person_id)
    db_session().commit()
    return len(entries)


def return_entry(entry: LogEntry, mentor: StaffProfile, comment: str) -> None:
    """Send an entry back to the apprentice with what to fix; it opens again."""
    comment = _required_text(comment, "comment", "Say what to fix, so the apprentice knows.")
    _lock(entry)
    _reviewable(entry, mentor)
    entry.state = EntryState.RETURNED.value
    entry.return_comment = comment
    audit.record("entry.returned", actor=mentor, obj=entry, person=entry.person_id,
                 comment=comment)
    db_session().commit()


def unlock_entry(entry: LogEntry, coordinator: StaffProfile, reason: str) -> None:
    """A coordinator reopens a verified entry; the reason is kept in the audit trail."""
    if not may_unlock(coordinator, entry):
        raise Invalid({None: "Only a coordinator can unlock a verified entry."
                       if not is_coordinator(coordinator) else
                       "Nobody unlocks their own entries; ask another coordinator."})
    reason = _required_text(reason, "reason",
                            "Write why the entry is unlocked; the reason is kept.")
    _lock(entry)
    if entry.state != EntryState.VERIFIED.value:
        raise Invalid({None: "Only verified entries can be unlocked."})
    if standing_sign_offs_citing(entry.id):
        raise Invalid({None: "A sign-off cites this entry as evidence. Revoke that sign-off "
                             "first, so the record stays true."})
    entry.state = EntryState.RETURNED.value
    entry.verified_at = entry.verified_by_id = None
    entry.return_comment = f"Unlocked by {coordinator.name}: {reason}"
    audit.record("entry.unlocked", actor=coordinator, obj=entry, person=entry.person_id,
                 reason=reason)
    db_session().commit()


REVIEW_PAGE_SIZE = 50


@dataclass(frozen=True)
class Waiting:
    """An entry waiting for the mentor's review, as the queue counts and orders it."""

    id: int
    submitted_at: datetime

    @property
    def days_waiting(self) -> int:
        return days_waiting(self.submitted_at)


@cache
def _waiting_query():
    """Submitted entries of some apprentices with their competencies' areas, a row per
    area, oldest first (built once; the apprentices bound when run)."""
    return (select(LogEntry.id, LogEntry.person_id, LogEntry.occurred_on,
                   LogEntry.submitted_at, Competency.area_id)
            .outerjoin(EntryCompetency, EntryCompetency.entry_id == LogEntry.id)
            .outerjoin(Competency, Competency.id == EntryCompetency.competency_id)
            .where(LogEntry.state == EntryState.SUBMITTED.value,
                   LogEntry.person_id.in_(bindparam("people", expanding=True)))
            .order_by(LogEntry.submitted_at, LogEntry.id))


def waiting_for(mentor: StaffProfile, today: date | None = None,
                mentor_pairings: Iterable[PairingTerms] | None = None) -> list[Waiting]:
    """Every submitted entry the mentor may review, oldest first, as compact rows: the
    area rule (:func:`may_review`) is asked of each, and no entry is loaded whole, so a
    backlog of thousands costs one statement and no page holds them all.
    ``mentor_pairings``: the mentor's pairings, when the caller has them already."""
    today = today or date.today()
    if mentor_pairings is None:
        mentor_pairings = paired.of_mentor(mentor.id)
    apprentice_ids = sorted({p.apprentice_id for p in mentor_pairings})
    if not apprentice_ids:
        return []
    rows: dict[int, tuple] = {}
    areas: dict[int, set[int]] = defaultdict(set)
    for row in db_session().execute(_waiting_query(), {"people": apprentice_ids}):
        rows.setdefault(row.id, row)
        if row.area_id is not None:
            areas[row.id].add(row.area_id)
    return [Waiting(row.id, row.submitted_at) for row in rows.values()
            if may_review(mentor, row, today, mentor_pairings, areas=areas[row.id])]


def review_queue(mentor: StaffProfile, today: date | None = None, *,
                 waiting: list[Waiting] | None = None) -> list[LogEntry]:
    """Submitted entries the mentor may review, oldest first, loaded whole: those of
    ``waiting`` (a page of :func:`waiting_for`), or all of them."""
    if waiting is None:
        waiting = waiting_for(mentor, today)
    ids = [w.id for w in waiting]
    if not ids:
        return []
    found = {e.id: e for e in db_session().scalars(
        select(LogEntry).where(LogEntry.id.in_(ids))
        .options(selectinload(LogEntry.person).lazyload(StaffProfile.role_grants)))}
    return [found[i] for i in ids if i in found]


@cache
def _entries_query(states: bool, lineage: bool, limit: bool, links: bool, ids: bool):
    """The statement of :func:`entries_of` for what it is asked, built once per process
    (building it cost more than running it); the values are bound when run."""
    query = (select(LogEntry).where(LogEntry.person_id == bindparam("person_id"))
             .order_by(LogEntry.occurred_on.desc(), LogEntry.id.desc()))
    if not links:
        query = query.options(lazyload(LogEntry.competency_links),
                              lazyload(LogEntry.procedure_links))
    if states:
        query = query.where(LogEntry.state.in_(bindparam("states", expanding=True)))
    if lineage:
        query = query.where(
            select(EntryCompetency.entry_id)
            .join(Competency, Competency.id == EntryCompetency.competency_id)
            .where(EntryCompetency.entry_id == LogEntry.id,
                   Competency.lineage == bindparam("lineage"))
            .exists())
    if ids:
        query = query.where(LogEntry.id.in_(bindparam("ids", expanding=True)))
    if limit:
        query = query.limit(bindparam("limit"))
    return query


def entries_of(person_id: int, *, states: Iterable[str] | None = None,
               limit: int | None = None, lineage: str | None = None,
               links: bool = True, ids: Iterable[int] | None = None) -> list[LogEntry]:
    """A person's entries, newest first; ``lineage``: only those that practised that
    competency (any version of it), chosen by the database, not after loading years of
    entries (a sign-off's evidence); ``links=False``: the competencies and procedures
    of each are read only if asked for; ``ids``: only those of these."""
    states = list(states or [])
    ids = None if ids is None else list(ids)
    query = _entries_query(bool(states), lineage is not None, bool(limit), links,
                           ids is not None)
    return list(db_session().scalars(query, {"person_id": person_id, "states": states,
                                             "lineage": lineage, "limit": limit, "ids": ids}))


TIMELINE_PAGE_SIZE = 25


def timeline(person_id: int, page: int = 1, per_page: int = TIMELINE_PAGE_SIZE,
             areas: Iterable[int] | None = None) -> tuple[list[LogEntry], int]:
    """One page of a person's evidence timeline (every entry but drafts, newest first),
    and how many there are: a fixed number of queries whatever the page holds.

    ``areas``: only entries whose competencies all lie in these areas (what a mentor
    paired for some areas may see, permissions.areas_in_view); None: every entry. Left
    out in the query, not after it, so the pages and the count stay right.
    """
    session = db_session()
    shown = (LogEntry.person_id == person_id) & (LogEntry.state != EntryState.DRAFT.value)
    if areas is not None:
        outside = (select(EntryCompetency.entry_id)
                   .join(Competency, Competency.id == EntryCompetency.competency_id)
                   .where(EntryCompetency.entry_id == LogEntry.id,
                          Competency.area_id.not_in(sorted(set(areas)))))
        shown &= ~outside.exists()
    total = session.scalar(select(func.count()).select_from(LogEntry).where(shown)) or 0
    entries = list(session.scalars(
        select(LogEntry).where(shown)
        .order_by(LogEntry.occurred_on.desc(), LogEntry.id.desc())
        .offset((max(page, 1) - 1) * per_page).limit(per_page)))
    return entries, total


def sign_off_areas(mentor: StaffProfile, person_id: int, area_ids: Iterable[int],
                   today: date | None = None,
                   mentor_pairings: Iterable[PairingTerms] | None = None) -> set[int]:
    """Those of ``area_ids`` the mentor may sign off for the person today (their current
    pairing covers them); none for anyone else, coordinators included."""
    today = today or date.today()
    if mentor_pairings is None:
        mentor_pairings = paired.between(mentor.id, person_id)
    return {area for area in area_ids
            if may_sign_off(mentor, person_id, area, today, mentor_pairings)}


def last_mentor(person_id: int) -> int | None:
    """The mentor of the person's last entry: the quick log's one default. Nothing else
    is chosen for them: what they practised is their own claim (see recent_competencies)."""
    return db_session().scalar(
        select(LogEntry.mentor_id).where(LogEntry.person_id == person_id)
        .order_by(LogEntry.created_at.desc(), LogEntry.id.desc()).limit(1))


def recent_competencies(person_id: int, entries: int = 5) -> list[int]:
    """Competencies of the person's last few entries, most recent first: listed first on
    the log form, never ticked for them."""
    recent = db_session().scalars(
        select(LogEntry).where(LogEntry.person_id == person_id)
        .order_by(LogEntry.created_at.desc(), LogEntry.id.desc()).limit(entries))
    return list(dict.fromkeys(link.competency_id for e in recent for link in e.competency_links))


# -- sign-offs ---------------------------------------------------------------------

def get_sign_off(sign_off_id: int) -> SignOff | None:
    return db_session().get(SignOff, sign_off_id)


def highest_cited(level: int, entries: Iterable[LogEntry]) -> LogEntry | None:
    """The cited entry with the highest activity, when ``level`` is above every one of
    them (None when some entry reached the level, or nothing is cited): a sign-off
    above its evidence needs the mentor's own word that they saw it."""
    best = max(entries, key=lambda e: e.activity, default=None)
    return best if best is not None and int(level) > best.activity else None


def entries_reaching(entries: Iterable[LogEntry]) -> dict[SupervisionLevel, list[LogEntry]]:
    """For each level, the entries whose activity reached it (at or above), oldest first:
    what the sign-off form shows next to each level."""
    ordered = sorted(entries, key=lambda e: (e.occurred_on, e.id))
    return {level: [e for e in ordered if e.activity >= level] for level in SupervisionLevel}


def above_evidence_message(person: StaffProfile, level: SupervisionLevel, highest) -> str:
    """``highest``: the cited entry (or its row) with the highest activity."""
    return (f"None of the entries you cite reached '{level.label.lower()}' (the highest: "
            f"'{activity_label(highest.activity).lower()}'). If you saw {person.name} do "
            "this yourself "
            "at that level, tick the box below to confirm.")


def _hold_competency(person_id: int, lineage: str) -> None:
    """Make a parallel sign-off of this person's competency (another tab, another
    form) wait until this transaction ends, so the checks that read their sign-offs
    see it: "signed off at this level already", "corrected already". PostgreSQL: an
    advisory lock; SQLite runs writing transactions one at a time already."""
    digest = hashlib.sha256(f"sign-off {person_id} {lineage}".encode()).digest()
    advisory_lock(int.from_bytes(digest[:8], "big", signed=True))


@cache
def _signed_at_level():
    """The ids of a signer's sign-offs of a person's competency at a level (built once)."""
    return select(SignOff.id).where(
        SignOff.signed_by_id == bindparam("signer"), SignOff.person_id == bindparam("person"),
        SignOff.lineage == bindparam("lineage"), SignOff.level == bindparam("level"))


def _signed_already(signer_id: int, person_id: int, lineage: str, level: int) -> bool:
    """Whether a sign-off of the signer's at this level still stands: their ids first (one
    compact statement, nearly always none), the sign-offs only when there are some."""
    ids = execute(_signed_at_level(), {"signer": signer_id, "person": person_id,
                                       "lineage": lineage, "level": int(level)}).scalars().all()
    return bool(ids) and bool(standing(list(db_session().scalars(
        select(SignOff).where(SignOff.id.in_(ids))))))


def _checked_sign_off(mentor, person, competency, programmed, *, level, entry_ids, comment,
                      corrects, today, confirm_above_evidence):
    """What :func:`sign_off` is asked, checked under the write lock: the level, the cited
    entries, and the highest cited activity when the level is above it (else None);
    Invalid says what is wrong."""
    errors: dict = {}
    if mentor.id == person.id:
        raise Invalid({None: "Nobody signs off their own work."})
    if corrects is not None:
        if corrects.person_id != person.id or corrects.lineage != competency.lineage:
            raise Invalid({None: "A correction must be for the same person and competency."})
        if not may_correct(mentor, corrects):
            raise Invalid({None: "That sign-off was revoked; sign off afresh instead."
                           if corrects.revocation is not None else
                           "Only the mentor who signed, or a coordinator, can correct "
                           "a sign-off."})
        if is_corrected(corrects):
            raise Invalid({None: "That sign-off has been corrected already; correct the "
                                 "newer one if needed."})
    elif not may_sign_off(mentor, person.id, competency.area_id, today):
        raise Invalid({None: f"You are not {person.name}'s mentor for this area today."})
    if programmed is None:
        errors["competency"] = "This competency is not part of their programme."
    try:
        level = SupervisionLevel(level)
    except ValueError:
        errors["level"] = "Choose a supervision level."
    evidence = list(dict.fromkeys(entry_ids))
    entries, _areas, practised = _locked_entries(evidence)
    if not evidence:
        errors["entry_ids"] = "Cite at least one verified log entry as evidence."
    else:
        for entry_id in evidence:
            entry = entries.get(entry_id)
            if (entry is None or entry.person_id != person.id
                    or entry.state != EntryState.VERIFIED.value):
                errors["entry_ids"] = "Evidence must be their own verified log entries."
                break
            if competency.lineage not in practised[entry_id]:
                errors["entry_ids"] = "Cite entries that practised this competency."
                break
    if len(comment or "") > MAX_DESCRIPTION:
        errors["comment"] = f"Keep the comment to {MAX_DESCRIPTION} characters."
    highest = None if errors else highest_cited(level, entries.values())
    if highest is not None and not confirm_above_evidence:
        errors["level"] = above_evidence_message(person, level, highest)
    if not errors and corrects is None and _signed_already(mentor.id, person.id,
                                                           competency.lineage, level):
        errors[None] = "You have signed this off at this level already."
    if errors:
        raise Invalid(errors)
    return level, evidence, highest


def sign_off(mentor: StaffProfile, person: StaffProfile, competency: Competency, *,
             level: int, entry_ids: Iterable[int], comment: str = "",
             corrects: SignOff | None = None, today: date | None = None,
             confirm_above_evidence: bool = False, form_token: str | None = None) -> SignOff:
    """Sign off a competency at a level, citing verified entries as evidence.

    The signer is a mentor paired with the person for the competency's area
    (a correction: the mentor who signed the original, or a coordinator).
    A level above every cited entry's activity needs ``confirm_above_evidence``
    (the mentor saw it themselves); the audit record then says ``above_evidence``.
    ``form_token`` (apprentice.core.receipts): the same form sent again raises
    AlreadySaved instead of signing twice.
    """
    write_turn()  # the form's own reads came before: what follows is checked again
    mentor, person = kept_now(mentor), kept_now(person)  # under the lock, rows not read
    # The competency as the person's programme has it, kept: its row is not read again
    # (one outside the programme is, and refused below).
    programmed = in_programme(person.id, id_of(competency))
    competency = programmed or competency
    receipts.hold(form_token)  # the same form sent twice at once: one waits for the other
    _hold_competency(person.id, competency.lineage)
    try:
        level, evidence, highest = _checked_sign_off(
            mentor, person, competency, programmed, level=level, entry_ids=entry_ids,
            comment=comment, corrects=corrects, today=today or date.today(),
            confirm_above_evidence=confirm_above_evidence)
    except Invalid:
        # The same form sent again is "already saved", whatever it would be refused for
        # now ("signed off already"): asked only then, the save itself is told by its
        # receipt's INSERT (apprentice.core.receipts.commit).
        receipts.check(form_token, mentor)
        raise
    record = inserted(SignOff, {"person_id": person.id, "competency_id": competency.id,
                                "lineage": competency.lineage, "level": int(level),
                                "comment": (comment or "").strip(), "signed_by_id": mentor.id,
                                "signed_at": utcnow(),
                                "corrects_id": corrects.id if corrects else None},
                      (SignOffEvidence, "sign_off_id", [{"entry_id": e} for e in evidence]))
    audit.record("signoff.corrected" if corrects else "signoff.created", actor=mentor,
                 obj=record, person=person.id, competency=competency.id,
                 code=competency.code, level=int(level), evidence=evidence,
                 corrects=corrects.id if corrects else None,
                 # Only when it happened: other records keep their shape.
                 **({"above_evidence": True} if highest is not None else {}))
    receipts.commit(form_token, mentor, "sign_off", record.id)
    return record


def revoke(record: SignOff, by: StaffProfile, reason: str) -> Revocation:
    """Withdraw a sign-off (the mentor who signed, or a coordinator), with a reason."""
    reason = _required_text(reason, "reason",
                            "Write why the sign-off is withdrawn; the reason is kept.")
    if not may_revoke(by, record):  # the message: the first reason it says no
        raise Invalid({None: "Only the mentor who signed, or a coordinator, can revoke it."
                       if not signed_or_coordinates(by, record) else
                       "Nobody revokes their own sign-offs; ask a coordinator."
                       if by.id == record.person_id else
                       "This sign-off is already revoked."})
    revocation = Revocation(reason=reason, revoked_by_id=by.id)
    record.revocation = revocation
    audit.record("signoff.revoked", actor=by, obj=record, person=record.person_id,
                 reason=reason)
    session = db_session()
    try:
        session.commit()
    except IntegrityError as exc:  # revoked by someone else a moment ago
        session.rollback()
        raise Invalid({None: "This sign-off is already revoked."}) from exc
    return revocation
