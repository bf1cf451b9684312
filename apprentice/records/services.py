"""Loading a person's evidence and programmes, for one person or a whole cohort.

The one place that decides which sign-offs stand and what counts as evidence, as
of today or of any past day, so training (which records the evidence) and
programmes (which measures it) need not import each other. The rules of progress
stay in the pure engine, :mod:`apprentice.programmes.progress`; this module only
loads what it needs, in a fixed number of queries whatever the data's size.

"As of" a day means what had happened by the end of that day (UTC, like every
timestamp the app stores): a sign-off made later does not count yet, and one
revoked or corrected later still stands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from apprentice.competencies.models import (
    Competency,
    CompetencyArea,
    Framework,
    SupervisionLevel,
)
from apprentice.competencies.services import shape_of
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.programmes.models import ElectiveChoice, Enrolment, EnrolmentStatus
from apprentice.programmes.progress import (
    Evidence,
    FrameworkShape,
    ProgrammeProgress,
    programme_progress,
)
from apprentice.training.models import (
    EntryCompetency,
    EntryState,
    LogEntry,
    Revocation,
    SignOff,
    SignOffEvidence,
)


def end_of(day: date) -> datetime:
    """The first moment after ``day`` (UTC): what happened before it happened by that day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


# -- which sign-offs stand ------------------------------------------------------------

@dataclass(frozen=True)
class Correction:
    """A sign-off that corrects an earlier one, and when it was made."""

    id: int
    corrects_id: int
    signed_at: datetime


def corrections_of(person_ids: Iterable[int]) -> list[Correction]:
    """Every correction of these people's sign-offs (one query)."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    return [Correction(*row) for row in db_session().execute(
        select(SignOff.id, SignOff.corrects_id, SignOff.signed_at)
        .where(SignOff.person_id.in_(ids), SignOff.corrects_id.is_not(None)))]


def corrected_ids(corrections: Iterable[Correction], as_of: date | None = None) -> set[int]:
    """Sign-offs corrected by ``as_of`` (None: by now). A corrected one stands no more,
    even if its correction is later revoked: the original was judged wrong."""
    cutoff = end_of(as_of) if as_of else None
    return {c.corrects_id for c in corrections if cutoff is None or c.signed_at < cutoff}


def _stands(sign_off_id: int, signed_at: datetime, revoked_at: datetime | None,
            corrected: set[int], as_of: date | None) -> bool:
    """The rule itself, on the columns (:func:`load_evidence` reads no rows)."""
    if sign_off_id in corrected:
        return False
    if as_of is None:
        return revoked_at is None
    cutoff = end_of(as_of)
    return signed_at < cutoff and (revoked_at is None or revoked_at >= cutoff)


def stands(sign_off: SignOff, corrected: set[int], as_of: date | None = None) -> bool:
    """Whether a sign-off stands as of a day (None: now): made by then, and neither
    revoked nor corrected by then (``corrected``: from :func:`corrected_ids`)."""
    revocation = sign_off.revocation
    return _stands(sign_off.id, sign_off.signed_at,
                   revocation.revoked_at if revocation else None, corrected, as_of)


def standing(sign_offs: list[SignOff], as_of: date | None = None) -> list[SignOff]:
    """Those of ``sign_offs`` that stand as of the day (None: now), in their order."""
    if not sign_offs:
        return []
    corrected = corrected_ids(corrections_of({s.person_id for s in sign_offs}), as_of)
    return [s for s in sign_offs if stands(s, corrected, as_of)]


def sign_offs_of(person_id: int) -> list[SignOff]:
    """A person's sign-offs, newest first, with their competency and signer (pages list
    them: not one query per row)."""
    return list(db_session().scalars(
        select(SignOff).where(SignOff.person_id == person_id)
        .order_by(SignOff.signed_at.desc(), SignOff.id.desc())
        .options(selectinload(SignOff.competency), selectinload(SignOff.signed_by))))


def standing_sign_offs(person_id: int, as_of: date | None = None) -> list[SignOff]:
    """A person's sign-offs that stand as of the day (None: now), newest first."""
    return standing(sign_offs_of(person_id), as_of)


def standing_sign_offs_citing(entry_id: int) -> list[SignOff]:
    """Sign-offs that cite the entry and still stand (neither revoked nor corrected)."""
    return standing(list(db_session().scalars(
        select(SignOff).join(SignOffEvidence).where(SignOffEvidence.entry_id == entry_id))))


def is_corrected(sign_off: SignOff) -> bool:
    """Whether a newer sign-off already corrects this one."""
    return sign_off.id in corrected_ids(corrections_of([sign_off.person_id]))


# -- evidence, as the progress engine counts it -----------------------------------------

def logged_clause(as_of: date | None):
    """Entries that count as logged by the day: not drafts and, as of a past day,
    practised and sent in by then."""
    clause = LogEntry.state != EntryState.DRAFT.value
    if as_of is not None:
        clause &= (LogEntry.occurred_on <= as_of) & (
            func.coalesce(LogEntry.submitted_at, LogEntry.created_at) < end_of(as_of))
    return clause


def verified_by(entry: LogEntry, as_of: date | None = None) -> bool:
    """Whether the entry was verified by the end of the day (None: now)."""
    if entry.state != EntryState.VERIFIED.value:
        return False
    if as_of is None:
        return True
    when = entry.verified_at or entry.submitted_at or entry.created_at
    return when < end_of(as_of)


def load_evidence(person_ids: Iterable[int], as_of: date | None = None) -> dict[int, Evidence]:
    """Everyone's evidence as of a day (None: now) in four queries, whatever the number
    of people or entries.

    Entries count when submitted or later (drafts do not). A sign-off stands
    unless revoked or corrected; a competency's level is the best standing one
    (a lower later sign-off does not undo a higher one: a correction does).
    Minutes count once per area an entry touched, verified and not yet verified apart.
    """
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    session = db_session()
    logged = logged_clause(as_of)
    entries: dict[int, dict[str, int]] = defaultdict(dict)
    for person_id, lineage, count in session.execute(
        select(LogEntry.person_id, Competency.lineage, func.count(func.distinct(LogEntry.id)))
        .join(EntryCompetency, EntryCompetency.entry_id == LogEntry.id)
        .join(Competency, Competency.id == EntryCompetency.competency_id)
        .where(LogEntry.person_id.in_(ids), logged)
        .group_by(LogEntry.person_id, Competency.lineage)
    ):
        entries[person_id][lineage] = count
    levels: dict[int, dict[str, SupervisionLevel]] = defaultdict(dict)
    corrected = corrected_ids(corrections_of(ids), as_of)
    for sign_off_id, person_id, lineage, level, signed_at, revoked_at in session.execute(
        select(SignOff.id, SignOff.person_id, SignOff.lineage, SignOff.level,
               SignOff.signed_at, Revocation.revoked_at)
        .outerjoin(Revocation, Revocation.sign_off_id == SignOff.id)
        .where(SignOff.person_id.in_(ids))
    ):
        if not _stands(sign_off_id, signed_at, revoked_at, corrected, as_of):
            continue
        best = levels[person_id].get(lineage)
        if best is None or level > best:
            levels[person_id][lineage] = SupervisionLevel(level)
    minutes: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for entry in session.execute(
        select(LogEntry.person_id, LogEntry.id, Competency.area_id, LogEntry.minutes,
               LogEntry.state, LogEntry.verified_at, LogEntry.submitted_at,
               LogEntry.created_at).distinct()
        .join(EntryCompetency, EntryCompetency.entry_id == LogEntry.id)
        .join(Competency, Competency.id == EntryCompetency.competency_id)
        .where(LogEntry.person_id.in_(ids), logged)
    ):
        minutes[entry.person_id][entry.area_id][0 if verified_by(entry, as_of) else 1] += (
            entry.minutes)
    return {
        person_id: Evidence(
            entries=dict(entries[person_id]),
            levels=dict(levels[person_id]),
            minutes={area: (v, u) for area, (v, u) in minutes[person_id].items()},
        )
        for person_id in ids
    }


# -- programmes and their progress ------------------------------------------------------

@dataclass(frozen=True)
class EnrolmentProgress:
    enrolment: Enrolment
    progress: ProgrammeProgress


def enrolments_query(*, framework_id: int | None = None, status: str | None = "active",
                     person_id: int | None = None, person_ids: Iterable[int] | None = None):
    """Enrolments by the person's name, with person and framework loaded."""
    query = (
        select(Enrolment)
        .join(StaffProfile, StaffProfile.id == Enrolment.person_id)
        .options(selectinload(Enrolment.person), selectinload(Enrolment.framework))
        .order_by(StaffProfile.name, Enrolment.start_date)
    )
    if framework_id is not None:
        query = query.where(Enrolment.framework_id == framework_id)
    if status:
        query = query.where(Enrolment.status == status)
    if person_id is not None:
        query = query.where(Enrolment.person_id == person_id)
    if person_ids is not None:
        query = query.where(Enrolment.person_id.in_(sorted(set(person_ids))))
    return query


def electives_of(enrolment_ids: Iterable[int]) -> dict[int, set[int]]:
    """The chosen elective areas of each enrolment (one query)."""
    chosen: dict[int, set[int]] = defaultdict(set)
    ids = sorted(set(enrolment_ids))
    if ids:
        for enrolment_id, area_id in db_session().execute(
            select(ElectiveChoice.enrolment_id, ElectiveChoice.area_id)
            .where(ElectiveChoice.enrolment_id.in_(ids))
        ):
            chosen[enrolment_id].add(area_id)
    return chosen


def shapes_of(framework_ids: Iterable[int]) -> dict[int, FrameworkShape]:
    """The current structure of each framework, as the engine reads it (three queries)."""
    frameworks = db_session().scalars(
        select(Framework).where(Framework.id.in_(sorted(set(framework_ids)))).options(
            selectinload(Framework.areas).selectinload(CompetencyArea.competencies)))
    return {f.id: shape_of(f) for f in frameworks}


def progress_of(enrolments: list[Enrolment], today: date | None = None, *,
                as_of: date | None = None) -> list[EnrolmentProgress]:
    """Progress of many enrolments at once: a fixed number of queries whatever their count.

    ``today`` sets the pace the progress is measured against; ``as_of`` counts only the
    evidence of that day and before (and is then the pace's day too).
    """
    today = today or as_of or date.today()
    if not enrolments:
        return []
    shapes = shapes_of(e.framework_id for e in enrolments)
    electives = electives_of(e.id for e in enrolments)
    evidence = load_evidence({e.person_id for e in enrolments}, as_of)
    return [
        EnrolmentProgress(
            enrolment=e,
            progress=programme_progress(
                shapes[e.framework_id], electives[e.id], evidence[e.person_id],
                start=e.start_date, target=e.target_date, today=today,
            ),
        )
        for e in enrolments
    ]


def cohort(*, framework_id: int | None = None, status: str | None = "active",
           today: date | None = None) -> list[EnrolmentProgress]:
    """Everyone's progress (the coordinator's list), in a fixed number of queries."""
    enrolments = list(db_session().scalars(
        enrolments_query(framework_id=framework_id, status=status)
    ))
    return progress_of(enrolments, today)


def programmes_of(person: StaffProfile, today: date | None = None, *,
                  as_of: date | None = None) -> list[EnrolmentProgress]:
    """A person's programmes, active first, finished ones kept."""
    enrolments = list(db_session().scalars(
        enrolments_query(person_id=person.id, status=None)
    ))
    enrolments.sort(key=lambda e: (not e.active, e.start_date))
    return progress_of(enrolments, today, as_of=as_of)


def programme_competencies(person_id: int) -> list[Competency]:
    """Current competencies of the person's active programmes: every required area,
    and the chosen electives (all electives until enough are chosen): what they may
    log against and be signed off for."""
    session = db_session()
    enrolments = list(session.scalars(select(Enrolment).where(
        Enrolment.person_id == person_id, Enrolment.status == EnrolmentStatus.ACTIVE.value)))
    if not enrolments:
        return []
    chosen = electives_of(e.id for e in enrolments)
    frameworks = {f.id: f for f in session.scalars(
        select(Framework).where(Framework.id.in_({e.framework_id for e in enrolments})))}
    competencies: list[Competency] = []
    for enrolment in enrolments:
        framework = frameworks[enrolment.framework_id]
        picked = chosen[enrolment.id]
        all_electives = len(picked) < framework.electives_required
        for area in framework.current_areas:
            if area.required or all_electives or area.id in picked:
                competencies.extend(area.current_competencies)
    return competencies
