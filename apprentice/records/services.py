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

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from apprentice.competencies.models import (
    Competency,
    CompetencyArea,
    Framework,
    SupervisionLevel,
)
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.programmes.models import Enrolment
from apprentice.programmes.progress import (
    AreaShape,
    CompetencyShape,
    Evidence,
    FrameworkShape,
    ProgrammeProgress,
    Rule,
    programme_progress,
)
from apprentice.programmes.services import electives_of, enrolments_query
from apprentice.training import standing
from apprentice.training.models import EntryCompetency, LogEntry, Revocation, SignOff


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
    logged = standing.logged_clause(as_of)
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
    corrected = standing.corrected_ids(standing.corrections_of(ids), as_of)
    for sign_off_id, person_id, lineage, level, signed_at, revoked_at in session.execute(
        select(SignOff.id, SignOff.person_id, SignOff.lineage, SignOff.level,
               SignOff.signed_at, Revocation.revoked_at)
        .outerjoin(Revocation, Revocation.sign_off_id == SignOff.id)
        .where(SignOff.person_id.in_(ids))
    ):
        if not standing.stands_on(sign_off_id, signed_at, revoked_at, corrected, as_of):
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
        minutes[entry.person_id][entry.area_id][0 if standing.verified_by(entry, as_of) else 1] += (
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


def rule_of(framework: Framework) -> Rule:
    return Rule(
        electives_required=framework.electives_required,
        level_required=framework.level,
        area_completion_percent=framework.area_completion_percent,
        time_allowed_months=framework.time_allowed_months,
    )


def shape_of(framework: Framework) -> FrameworkShape:
    """The current structure, as the progress engine reads it."""
    return FrameworkShape(
        id=framework.id,
        name=framework.name,
        rule=rule_of(framework),
        areas=tuple(
            AreaShape(
                id=area.id,
                name=area.name,
                required=area.required,
                min_hours=area.min_hours,
                competencies=tuple(
                    CompetencyShape(c.id, c.lineage, c.code, c.statement)
                    for c in area.current_competencies
                ),
            )
            for area in framework.current_areas
        ),
    )


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


