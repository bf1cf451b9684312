"""Loading a person's evidence and programmes, for one person or a whole cohort.

The record model's loaders: evidence as the progress engine counts it, applying
training's standing rule (:mod:`apprentice.training.standing`), and each programme's
progress from the pure engine (:mod:`apprentice.programmes.progress`), as of today or
of any past day, in a fixed number of queries whatever the data's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import bindparam, case, func, select

from apprentice.competencies.models import (
    Competency,
    SupervisionLevel,
)
from apprentice.core.paging import page_and_pages
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.programmes.models import Enrolment
from apprentice.programmes.progress import Evidence, ProgrammeProgress, programme_progress
from apprentice.programmes.services import electives_of, enrolments_query
from apprentice.programmes.shapes import shapes_of
from apprentice.training import standing
from apprentice.training.models import EntryCompetency, LogEntry, Revocation, SignOff


@cache
def _evidence_queries(past: bool):
    """The three statements :func:`load_evidence` runs, built once per process (building
    a statement costs more than running it here); the people (``ids``) and, for a past
    day, the day (``as_of``, ``end``) are bound when run. Shapes only, never data."""
    logged = standing.logged_clause(
        bindparam("as_of", type_=LogEntry.occurred_on.type) if past else None,
        end=bindparam("end", type_=LogEntry.created_at.type) if past else None)
    people = LogEntry.person_id.in_(bindparam("ids", expanding=True))
    entries = (
        select(LogEntry.person_id, Competency.lineage, func.count(func.distinct(LogEntry.id)))
        .join(EntryCompetency, EntryCompetency.entry_id == LogEntry.id)
        .join(Competency, Competency.id == EntryCompetency.competency_id)
        .where(people, logged)
        .group_by(LogEntry.person_id, Competency.lineage))
    sign_offs = (
        select(SignOff.id, SignOff.person_id, SignOff.lineage, SignOff.level,
               SignOff.signed_at, Revocation.revoked_at)
        .outerjoin(Revocation, Revocation.sign_off_id == SignOff.id)
        .where(SignOff.person_id.in_(bindparam("ids", expanding=True))))
    verified = standing.verified_clause(
        bindparam("as_of", type_=LogEntry.occurred_on.type) if past else None,
        end=bindparam("end", type_=LogEntry.created_at.type) if past else None)
    # Each entry once per area it touched, then summed by the database: years of
    # entries come back as a row per person, area and verified-or-not.
    touched = (
        select(LogEntry.person_id, LogEntry.id, Competency.area_id, LogEntry.minutes,
               case((verified, 1), else_=0).label("verified")).distinct()
        .join(EntryCompetency, EntryCompetency.entry_id == LogEntry.id)
        .join(Competency, Competency.id == EntryCompetency.competency_id)
        .where(people, logged)).subquery()
    minutes = (
        select(touched.c.person_id, touched.c.area_id, touched.c.verified,
               func.sum(touched.c.minutes))
        .group_by(touched.c.person_id, touched.c.area_id, touched.c.verified))
    return entries, sign_offs, minutes


def load_evidence(person_ids: Iterable[int], as_of: date | None = None, *,
                  levels: dict[int, dict[str, SupervisionLevel]] | None = None
                  ) -> dict[int, Evidence]:
    """Everyone's evidence as of a day (None: now) in four queries, whatever the number
    of people or entries.

    Entries count when submitted or later (drafts do not). A sign-off stands
    unless revoked or corrected; a competency's level is the best standing one
    (a lower later sign-off does not undo a higher one: a correction does).
    Minutes count once per area an entry touched, verified and not yet verified apart.
    ``levels``: person id -> the best standing level per lineage, when the caller has
    already read the sign-offs by the same rule (the record model); two queries fewer.
    """
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    session = db_session()
    entries_query, sign_offs_query, minutes_query = _evidence_queries(as_of is not None)
    params = {"ids": ids}
    if as_of is not None:
        params.update(as_of=as_of, end=standing.end_of(as_of))
    entries: dict[int, dict[str, int]] = defaultdict(dict)
    for person_id, lineage, count in session.execute(entries_query, params):
        entries[person_id][lineage] = count
    if levels is None:
        levels = defaultdict(dict)
        corrected = standing.corrected_ids(standing.corrections_of(ids), as_of)
        for sign_off_id, person_id, lineage, level, signed_at, revoked_at in session.execute(
            sign_offs_query, {"ids": ids}
        ):
            if not standing.stands_on(sign_off_id, signed_at, revoked_at, corrected, as_of):
                continue
            best = levels[person_id].get(lineage)
            if best is None or level > best:
                levels[person_id][lineage] = SupervisionLevel(level)
    minutes: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for person_id, area_id, verified, total in session.execute(minutes_query, params):
        minutes[person_id][area_id][0 if verified else 1] += total or 0
    return {
        person_id: Evidence(
            entries=dict(entries[person_id]),
            levels=dict(levels.get(person_id, {})),
            minutes={area: (v, u) for area, (v, u) in minutes[person_id].items()},
        )
        for person_id in ids
    }


# -- programmes and their progress ------------------------------------------------------

@dataclass(frozen=True)
class EnrolmentProgress:
    enrolment: Enrolment
    progress: ProgrammeProgress


def progress_of(enrolments: list[Enrolment], today: date | None = None, *,
                as_of: date | None = None,
                levels: dict[int, dict[str, SupervisionLevel]] | None = None
                ) -> list[EnrolmentProgress]:
    """Progress of many enrolments at once: a fixed number of queries whatever their count.

    ``today`` sets the pace the progress is measured against; ``as_of`` counts only the
    evidence of that day and before (and is then the pace's day too); ``levels``: as
    :func:`load_evidence` takes them.
    """
    today = today or as_of or date.today()
    if not enrolments:
        return []
    shapes = shapes_of(e.framework_id for e in enrolments)
    electives = electives_of(e.id for e in enrolments)
    evidence = load_evidence({e.person_id for e in enrolments}, as_of, levels=levels)
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


@dataclass(frozen=True)
class CohortPage:
    """One page of the cohort's programmes, by the person's name."""

    rows: list[EnrolmentProgress]
    total: int  # programmes on every page
    page: int
    pages: int


def cohort_page(page: int, per_page: int, *, framework_id: int | None = None,
                status: str | None = "active", today: date | None = None) -> CohortPage:
    """A page of everyone's progress (pages listing people page, whatever the cohort's
    size): the count, the page's enrolments and their progress, in a fixed number of
    queries. A page past the last shows the last."""
    session = db_session()
    query = enrolments_query(framework_id=framework_id, status=status)
    total = session.scalar(select(func.count()).select_from(
        query.with_only_columns(Enrolment.id).order_by(None).subquery()))
    page, pages = page_and_pages(total, per_page, page)
    enrolments = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return CohortPage(progress_of(enrolments, today), total, page, pages)


@cache
def _enrolments_query():
    """A person's enrolments, oldest first: built once per process."""
    return (select(Enrolment).where(Enrolment.person_id == bindparam("person_id"))
            .order_by(Enrolment.start_date, Enrolment.id))


def programmes_of(person: StaffProfile, today: date | None = None, *,
                  as_of: date | None = None,
                  levels: dict[str, SupervisionLevel] | None = None
                  ) -> list[EnrolmentProgress]:
    """A person's programmes, active first, finished ones kept (the enrolments' own rows:
    the record needs neither the person nor the framework objects). ``levels``: the
    person's best standing level per lineage, when the caller has read the sign-offs."""
    enrolments = list(db_session().scalars(_enrolments_query(), {"person_id": person.id}))
    enrolments.sort(key=lambda e: (not e.active, e.start_date))
    return progress_of(enrolments, today, as_of=as_of,
                       levels=None if levels is None else {person.id: levels})


