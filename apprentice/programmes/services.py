"""Enrolment and progress: who is on which programme, and how far along they are.

Progress itself is computed by :mod:`apprentice.programmes.progress`; this
module loads what it needs, for one person or a whole cohort, in a fixed
number of queries.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from apprentice.audit import services as audit
from apprentice.competencies.models import CompetencyArea, Framework, FrameworkStatus
from apprentice.competencies.services import shape_of
from apprentice.core import receipts
from apprentice.db import db_session, utcnow
from apprentice.people.models import Role, StaffProfile, StaffRole
from apprentice.people.permissions import refuse_unless
from apprentice.programmes import permissions
from apprentice.programmes.models import ElectiveChoice, Enrolment, EnrolmentStatus
from apprentice.programmes.progress import (
    FrameworkShape,
    ProgrammeProgress,
    programme_progress,
)
from apprentice.training.services import load_evidence
from apprentice.validation import Invalid


def add_months(start: date, months: int) -> date:
    """``start`` plus whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def get_enrolment(enrolment_id: int) -> Enrolment | None:
    return db_session().get(Enrolment, enrolment_id)


def _check_electives(framework: Framework, area_ids: Iterable[int], field: str) -> set[int]:
    chosen = set(area_ids)
    if chosen - {area.id for area in framework.current_electives}:
        raise Invalid({field: "Choose electives from this framework's elective areas."})
    wanted = framework.electives_required
    if len(chosen) != wanted:
        raise Invalid({field: f"Choose exactly {wanted} elective areas "
                              f"(you chose {len(chosen)})."})
    return chosen


def enrol(person: StaffProfile, framework: Framework, *, start: date,
          target: date | None = None, electives: Iterable[int] | None = None,
          by: StaffProfile | None = None, form_token: str | None = None) -> Enrolment:
    """Put an apprentice on a framework's programme.

    The target date defaults to the start plus the time the framework allows.
    Electives may be chosen now or later (by the apprentice or a coordinator).
    ``form_token`` (apprentice.core.receipts): the same form sent again raises
    AlreadySaved.
    """
    refuse_unless(permissions.may_enrol(by), by, "Only coordinators enrol people.")
    receipts.check(form_token, by)
    errors: dict = {}
    if not person.active or not person.has_role(Role.APPRENTICE):
        errors["person"] = f"{person.name} is not an active apprentice. Give them the " \
                           "apprentice role first."
    if framework.state != FrameworkStatus.ACTIVE:
        errors["framework"] = "Only active (published) frameworks take enrolments."
    try:
        target = target or add_months(start, framework.time_allowed_months)
    except (ValueError, OverflowError):
        raise Invalid({"start_date": "That start date is too far in the future."}) from None
    if target < start:
        errors["target_date"] = "The target date must be on or after the start date."
    if errors:
        raise Invalid(errors)
    chosen = _check_electives(framework, electives, "electives") if electives else set()
    if _active_enrolment(person, framework) is not None:
        raise Invalid({"person": f"{person.name} is already enrolled on {framework.name}."})
    enrolment = Enrolment(
        person_id=person.id, framework_id=framework.id, start_date=start, target_date=target,
        created_by_id=by.id if by else None,
    )
    enrolment.electives = [ElectiveChoice(area_id=area_id) for area_id in sorted(chosen)]
    session = db_session()
    session.add(enrolment)
    audit.record("enrolment.created", actor=by, obj=enrolment, person=person.id,
                 framework=framework.id, start=start, target=target, electives=sorted(chosen))
    try:
        receipts.commit(form_token, by, "enrolment", enrolment)
    except IntegrityError as exc:  # a second request enrolled them a moment ago
        session.rollback()
        raise Invalid({"person": f"{person.name} is already enrolled on "
                                 f"{framework.name}."}) from exc
    return enrolment


def _active_enrolment(person: StaffProfile, framework: Framework) -> Enrolment | None:
    return db_session().scalar(select(Enrolment).where(
        Enrolment.person_id == person.id,
        Enrolment.framework_id == framework.id,
        Enrolment.status == EnrolmentStatus.ACTIVE.value,
    ))


def choose_electives(enrolment: Enrolment, area_ids: Iterable[int],
                     by: StaffProfile | None = None) -> None:
    """Set the electives: exactly the number the rule asks for.

    Changing them later removes no evidence: log entries and sign-offs belong
    to the person and competency, not to the choice.
    """
    refuse_unless(permissions.may_choose_electives(by, enrolment), by,
                  "Only the apprentice or a coordinator chooses the electives.")
    if not enrolment.active:
        raise Invalid({"electives": "This programme is finished; its electives stay as they were."})
    chosen = _check_electives(enrolment.framework, area_ids, "electives")
    keep = [choice for choice in enrolment.electives if choice.area_id in chosen]
    have = {choice.area_id for choice in keep}
    enrolment.electives = keep + [ElectiveChoice(area_id=a) for a in sorted(chosen - have)]
    audit.record("enrolment.electives", actor=by, obj=enrolment, electives=sorted(chosen))
    db_session().commit()


def set_target_date(enrolment: Enrolment, target: date,
                    by: StaffProfile | None = None) -> None:
    """Move the target date (the pace shown is measured against it)."""
    refuse_unless(permissions.may_set_target(by, enrolment), by,
                  "Only a coordinator changes the target date, and not of their own "
                  "programme.")
    if target < enrolment.start_date:
        raise Invalid({"target_date": "The target date must be on or after the start date."})
    audit.record("enrolment.target", actor=by, obj=enrolment, before=enrolment.target_date,
                 after=target)
    enrolment.target_date = target
    db_session().commit()


def finish(enrolment: Enrolment, status: EnrolmentStatus,
           by: StaffProfile | None = None) -> None:
    """Mark a programme completed or withdrawn; it stays visible."""
    refuse_unless(permissions.may_finish(by, enrolment), by,
                  "Only a coordinator finishes a programme, and not their own.")
    if not enrolment.active:
        raise Invalid({None: "This programme is already finished."})
    if status == EnrolmentStatus.ACTIVE:
        raise Invalid({None: "Choose completed or withdrawn."})
    enrolment.status = status.value
    enrolment.finished_at = utcnow()
    audit.record(f"enrolment.{status.value}", actor=by, obj=enrolment)
    db_session().commit()


# -- progress, for one or many -------------------------------------------------

@dataclass(frozen=True)
class EnrolmentProgress:
    enrolment: Enrolment
    progress: ProgrammeProgress


def progress_of(enrolments: list[Enrolment], today: date | None = None) -> list[EnrolmentProgress]:
    """Progress of many enrolments at once: a fixed number of queries whatever their count."""
    today = today or date.today()
    if not enrolments:
        return []
    session = db_session()
    framework_ids = {e.framework_id for e in enrolments}
    frameworks = {
        f.id: f for f in session.scalars(
            select(Framework).where(Framework.id.in_(framework_ids)).options(
                selectinload(Framework.areas).selectinload(CompetencyArea.competencies)
            )
        )
    }
    shapes: dict[int, FrameworkShape] = {fid: shape_of(f) for fid, f in frameworks.items()}
    electives: dict[int, set[int]] = defaultdict(set)
    for enrolment_id, area_id in session.execute(
        select(ElectiveChoice.enrolment_id, ElectiveChoice.area_id)
        .where(ElectiveChoice.enrolment_id.in_([e.id for e in enrolments]))
    ):
        electives[enrolment_id].add(area_id)
    evidence = load_evidence({e.person_id for e in enrolments})
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


def enrolments_query(*, framework_id: int | None = None, status: str | None = "active",
                     person_id: int | None = None):
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
    return query


def cohort(*, framework_id: int | None = None, status: str | None = "active",
           today: date | None = None) -> list[EnrolmentProgress]:
    """Everyone's progress (the coordinator's list), in a fixed number of queries."""
    enrolments = list(db_session().scalars(
        enrolments_query(framework_id=framework_id, status=status)
    ))
    return progress_of(enrolments, today)


def programmes_of(person: StaffProfile, today: date | None = None) -> list[EnrolmentProgress]:
    """A person's programmes, active first, finished ones kept."""
    enrolments = list(db_session().scalars(
        enrolments_query(person_id=person.id, status=None)
    ))
    enrolments.sort(key=lambda e: (not e.active, e.start_date))
    return progress_of(enrolments, today)


def apprentices() -> list[StaffProfile]:
    """Active people holding the apprentice role, by name (for the enrol form)."""
    return list(db_session().scalars(
        select(StaffProfile)
        .where(StaffProfile.active.is_(True),
               StaffProfile.role_grants.any(StaffRole.role == Role.APPRENTICE.value))
        .order_by(StaffProfile.name)
    ))
