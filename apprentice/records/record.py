"""A person's record as one read model, as of any day.

Pages, and later portfolios, reports and credentials, read :func:`record_of`
rather than putting the record together themselves, so they all show the same
sign-offs, hours and progress. Everything is frozen: a reader cannot change the
record by accident, and nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from types import MappingProxyType

from sqlalchemy import bindparam, select
from sqlalchemy.orm import aliased

from apprentice.audit.models import AuditRecord
from apprentice.competencies.models import Competency, SupervisionLevel
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.programmes.progress import (
    AreaProgress,
    CompetencyStatus,
    ProgrammeProgress,
)
from apprentice.records import services
from apprentice.statements import services as statements
from apprentice.training import standing
from apprentice.training.models import (
    LogEntry,
    Revocation,
    SignOff,
    SignOffEvidence,
    activity_label,
)

# The audit actions that record a sign-off being made (see training.services.sign_off).
SIGN_OFF_ACTIONS = ("signoff.created", "signoff.corrected")


@dataclass(frozen=True)
class PersonRef:
    id: int
    name: str


@dataclass(frozen=True)
class CompetencyRef:
    """The wording a sign-off was made against."""

    id: int
    code: str
    statement: str
    lineage: str
    area_id: int


@dataclass(frozen=True)
class CitedEntry:
    """A log entry a sign-off cites, as a reader of the record needs it."""

    id: int
    occurred_on: date
    description: str  # what happened
    minutes: int


@dataclass(frozen=True)
class RevocationRecord:
    reason: str
    revoked_by: PersonRef
    revoked_at: datetime


@dataclass(frozen=True)
class SignOffRecord:
    """A sign-off as it was by the record's day: ``revocation`` and ``corrected_by``
    only when they had happened by then."""

    id: int
    person_id: int
    competency: CompetencyRef
    level: SupervisionLevel
    mentor: PersonRef
    signed_at: datetime
    comment: str
    cited: tuple[CitedEntry, ...]
    corrects_id: int | None
    revocation: RevocationRecord | None
    corrected_by: int | None  # the id of the sign-off correcting this one
    stands: bool

    @property
    def lineage(self) -> str:
        return self.competency.lineage

    @property
    def signed_by_id(self) -> int:
        """The signer's id, by the name the permission predicates ask for."""
        return self.mentor.id


@dataclass(frozen=True)
class CompetencyRecord:
    """A competency of the programme, its status, and the sign-off that stands for it
    (the best standing level, as progress counts it; None: not signed off)."""

    id: int
    code: str
    statement: str
    lineage: str
    status: CompetencyStatus
    standing: SignOffRecord | None


@dataclass(frozen=True)
class AreaHours:
    """Minutes in an area: the framework's minimum (None: none set), logged (verified or
    waiting for review) and verified."""

    planned_minutes: int | None
    logged_minutes: int
    verified_minutes: int


@dataclass(frozen=True)
class AreaRecord:
    id: int
    name: str
    required: bool
    competencies: tuple[CompetencyRecord, ...]
    hours: AreaHours
    progress: AreaProgress


@dataclass(frozen=True)
class EnrolmentRecord:
    id: int
    person_id: int
    framework_id: int
    framework_name: str
    status: str
    start_date: date
    target_date: date
    finished_at: datetime | None
    electives: tuple[str, ...]  # names of the chosen elective areas
    areas: tuple[AreaRecord, ...]  # required areas, then the chosen electives
    progress: ProgrammeProgress  # from the pure engine, as of the record's day

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def standing_by_competency(self) -> dict[int, SignOffRecord]:
        """Competency id -> the sign-off that stands for it, for the signed-off ones."""
        return {c.id: c.standing for area in self.areas for c in area.competencies
                if c.standing is not None}


@dataclass(frozen=True)
class EntryRecord:
    id: int
    occurred_on: date
    minutes: int
    activity: str
    description: str
    verified: bool  # by the record's day
    competency_ids: tuple[int, ...]


@dataclass(frozen=True)
class StatementSectionRecord:
    area_id: int
    area_name: str
    body: str  # Markdown, as written: render it through apprentice.formatting's sanitiser


@dataclass(frozen=True)
class StatementRecord:
    """The personal learning statement as it stood on the record's day."""

    number: int  # the revision
    overall: str  # Markdown, as written
    sections: tuple[StatementSectionRecord, ...]  # per area, in the form's order
    words: int
    saved_at: datetime
    author: PersonRef | None  # None: saved from the command line

    def sections_in(self, areas: frozenset[int] | None) -> tuple[StatementSectionRecord, ...]:
        """The sections a reader limited to ``areas`` may see (None: all)."""
        return tuple(s for s in self.sections if areas is None or s.area_id in areas)


@dataclass(frozen=True)
class Record:
    """Everything on a person's record by the end of ``as_of``."""

    person: PersonRef
    job_title: str
    branch: str
    as_of: date
    enrolments: tuple[EnrolmentRecord, ...]  # active first, finished ones kept
    sign_offs: tuple[SignOffRecord, ...]  # every one made by then, newest first
    entries: tuple[EntryRecord, ...] | None  # logged by then, newest first (None: not loaded)
    newest_sign_off_hash: str | None  # the audit hash of the newest sign-off made by then
    statement: StatementRecord | None  # the learning statement by then (None: none yet)

    @property
    def standing(self) -> tuple[SignOffRecord, ...]:
        """The sign-offs that stand, newest first."""
        return tuple(s for s in self.sign_offs if s.stands)

    @property
    def revoked(self) -> tuple[SignOffRecord, ...]:
        return tuple(s for s in self.sign_offs if s.revocation is not None)

    @property
    def corrections(self) -> Mapping[int, int]:
        """Corrected sign-off id -> the id of the sign-off correcting it."""
        return MappingProxyType({s.id: s.corrected_by for s in self.sign_offs
                                 if s.corrected_by is not None})

    def area_names(self, *, active_only: bool = False) -> dict[int, str]:
        """Area id -> name, for the areas of the person's programmes."""
        return {a.id: a.name for e in self.enrolments if e.active or not active_only
                for a in e.areas}

    def limited_to(self, in_view: frozenset[int] | None, *,
                   active_only: bool = False) -> tuple[str, ...] | None:
        """The names of the areas a reader limited to ``in_view`` sees, when that leaves
        some of the programmes' areas out (a notice says so); None: nothing is left out."""
        areas = self.area_names(active_only=active_only)
        if in_view is None or not set(areas) - in_view:
            return None
        return tuple(name for area, name in areas.items() if area in in_view)

    def enrolment(self, enrolment_id: int) -> EnrolmentRecord | None:
        return next((e for e in self.enrolments if e.id == enrolment_id), None)


def _person(person: StaffProfile) -> PersonRef:
    return PersonRef(person.id, person.name)


@cache
def _sign_offs_query(before_cutoff: bool):
    """The statement of :func:`_sign_offs_made`, built once per process (building it
    costs more than running it); ``person_id`` and ``cutoff`` are bound when run."""
    signer, revoker = aliased(StaffProfile), aliased(StaffProfile)
    query = (
        select(SignOff.id, SignOff.person_id, SignOff.lineage, SignOff.level,
               SignOff.comment, SignOff.signed_at, SignOff.corrects_id,
               Competency.id.label("competency_id"), Competency.code, Competency.statement,
               Competency.area_id, signer.id.label("signer_id"),
               signer.name.label("signer_name"), Revocation.reason, Revocation.revoked_at,
               revoker.id.label("revoker_id"), revoker.name.label("revoker_name"))
        .join(Competency, Competency.id == SignOff.competency_id)
        .join(signer, signer.id == SignOff.signed_by_id)
        .outerjoin(Revocation, Revocation.sign_off_id == SignOff.id)
        .outerjoin(revoker, revoker.id == Revocation.revoked_by_id)
        .where(SignOff.person_id == bindparam("person_id"))
        .order_by(SignOff.signed_at.desc(), SignOff.id.desc()))
    if before_cutoff:
        query = query.where(SignOff.signed_at < bindparam("cutoff", type_=SignOff.signed_at.type))
    return query


def _sign_offs_made(person_id: int, cutoff) -> list:
    """The person's sign-offs made before ``cutoff`` (None: all), newest first, as rows
    with their wording, signer and revocation (one statement, no object graphs)."""
    return list(db_session().execute(_sign_offs_query(cutoff is not None),
                                     {"person_id": person_id, "cutoff": cutoff}))


@cache
def _cited_query():
    """The statement of :func:`_cited`, built once per process."""
    return (select(SignOffEvidence.sign_off_id, LogEntry.id, LogEntry.occurred_on,
                   LogEntry.description, LogEntry.minutes)
            .join(LogEntry, LogEntry.id == SignOffEvidence.entry_id)
            .join(SignOff, SignOff.id == SignOffEvidence.sign_off_id)
            .where(SignOff.person_id == bindparam("person_id"))
            .order_by(LogEntry.occurred_on, LogEntry.id))


def _cited(person_id: int) -> dict[int, list[CitedEntry]]:
    """Sign-off id -> the entries it cites, oldest first (one statement)."""
    cited: dict[int, list[CitedEntry]] = defaultdict(list)
    for sign_off_id, entry_id, occurred_on, description, minutes in db_session().execute(
        _cited_query(), {"person_id": person_id}
    ):
        cited[sign_off_id].append(CitedEntry(entry_id, occurred_on, description, minutes))
    return cited


@cache
def _newest_hash_query():
    """The audit hash of a sign-off being made, built once per process."""
    return (select(AuditRecord.hash)
            .where(AuditRecord.object_type == SignOff.__name__,
                   AuditRecord.object_id == bindparam("sign_off_id"),
                   AuditRecord.action.in_(SIGN_OFF_ACTIONS))
            .order_by(AuditRecord.id).limit(1))


def _sign_off(row, cited: list[CitedEntry], *, stands: bool, corrected_by: int | None,
              revoked: bool) -> SignOffRecord:
    return SignOffRecord(
        id=row.id, person_id=row.person_id,
        competency=CompetencyRef(row.competency_id, row.code, row.statement, row.lineage,
                                 row.area_id),
        level=SupervisionLevel(row.level), mentor=PersonRef(row.signer_id, row.signer_name),
        signed_at=row.signed_at, comment=row.comment, cited=tuple(cited),
        corrects_id=row.corrects_id,
        revocation=RevocationRecord(row.reason, PersonRef(row.revoker_id, row.revoker_name),
                                    row.revoked_at) if revoked else None,
        corrected_by=corrected_by, stands=stands,
    )


def _best(sign_offs: tuple[SignOffRecord, ...]) -> dict[str, SignOffRecord]:
    """The standing sign-off per lineage that progress counts: the best level, the newest
    of equals (``sign_offs`` newest first)."""
    best: dict[str, SignOffRecord] = {}
    for s in sign_offs:
        if s.stands and (s.lineage not in best or s.level > best[s.lineage].level):
            best[s.lineage] = s
    return best


def _enrolments(person: StaffProfile, day: date, as_of: date | None,
                best: dict[str, SignOffRecord]) -> tuple[EnrolmentRecord, ...]:
    # ``best`` holds the levels progress counts, by the same rule (training.standing):
    # passed on, the sign-offs are not read a second time.
    levels = {lineage: s.level for lineage, s in best.items()}
    enrolments = []
    for row in services.programmes_of(person, day, as_of=as_of, levels=levels):
        e, progress = row.enrolment, row.progress
        areas = tuple(
            AreaRecord(
                id=ap.area.id, name=ap.area.name, required=ap.area.required,
                competencies=tuple(
                    CompetencyRecord(cp.competency.id, cp.competency.code,
                                     cp.competency.statement, cp.competency.lineage,
                                     cp.status, best.get(cp.competency.lineage))
                    for cp in ap.competencies),
                hours=AreaHours(
                    planned_minutes=(ap.area.min_hours * 60
                                     if ap.area.min_hours is not None else None),
                    logged_minutes=ap.verified_minutes + ap.unverified_minutes,
                    verified_minutes=ap.verified_minutes),
                progress=ap,
            )
            for ap in progress.areas)
        enrolments.append(EnrolmentRecord(
            id=e.id, person_id=e.person_id, framework_id=e.framework_id,
            framework_name=progress.framework.name, status=e.status,
            start_date=e.start_date, target_date=e.target_date, finished_at=e.finished_at,
            electives=tuple(a.area.name for a in progress.electives),
            areas=areas, progress=progress))
    return tuple(enrolments)


def _statement(person_id: int, as_of: date | None) -> StatementRecord | None:
    rows = statements.newest_rows(person_id,
                                  before=standing.end_of(as_of) if as_of else None)
    if rows is None:
        return None
    revision = rows.revision
    return StatementRecord(
        number=revision.number, overall=revision.overall,
        sections=tuple(StatementSectionRecord(s.area_id, s.area_name, s.body)
                       for s in rows.sections),
        words=revision.words, saved_at=revision.created_at,
        author=PersonRef(revision.author_id, revision.author_name)
        if revision.author_id is not None else None)


def _entries(person_id: int, as_of: date | None) -> tuple[EntryRecord, ...]:
    entries = db_session().scalars(
        select(LogEntry).where(LogEntry.person_id == person_id, standing.logged_clause(as_of))
        .order_by(LogEntry.occurred_on.desc(), LogEntry.id.desc()))
    return tuple(
        EntryRecord(e.id, e.occurred_on, e.minutes,
                    activity_label(e.activity), e.description,
                    standing.verified_by(e, as_of),
                    tuple(link.competency_id for link in e.competency_links))
        for e in entries)


def record_of(person_id: int, as_of: date | None = None, *,
              entries: bool = True) -> Record | None:
    """A person's record by the end of ``as_of`` (None: today, everything there is);
    None for nobody. A fixed number of queries, whatever the size of the record.

    ``entries=False`` leaves the log entries out, for a page that shows them a page at
    a time (the sign-offs still carry the entries they cite).
    """
    session = db_session()
    person = session.get(StaffProfile, person_id)
    if person is None:
        return None
    day = as_of or date.today()
    cutoff = standing.end_of(as_of) if as_of else None

    made = _sign_offs_made(person_id, cutoff)
    cited = _cited(person_id) if made else {}
    # The corrections made by then are among the sign-offs made by then.
    corrected_by = {s.corrects_id: s.id for s in made if s.corrects_id is not None}
    corrected = set(corrected_by)
    sign_offs = tuple(
        _sign_off(s, cited.get(s.id, []),
                  stands=standing.stands_on(s.id, s.signed_at, s.revoked_at, corrected, as_of),
                  corrected_by=corrected_by.get(s.id),
                  revoked=s.revoked_at is not None
                  and (cutoff is None or s.revoked_at < cutoff))
        for s in made)

    newest_hash = None
    if made:
        newest_hash = session.scalar(_newest_hash_query(), {"sign_off_id": made[0].id})
    return Record(
        person=_person(person), job_title=person.job_title, branch=person.branch,
        as_of=day, enrolments=_enrolments(person, day, as_of, _best(sign_offs)),
        sign_offs=sign_offs, entries=_entries(person_id, as_of) if entries else None,
        newest_sign_off_hash=newest_hash, statement=_statement(person_id, as_of),
    )
