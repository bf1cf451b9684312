"""Enrolment and progress: who is on which programme, and how far along they are.

Progress itself is computed by the pure engine, :mod:`apprentice.programmes.progress`;
the record model (:mod:`apprentice.records`) loads the evidence it reads.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from apprentice.audit import services as audit
from apprentice.competencies.models import Framework, FrameworkStatus
from apprentice.core import receipts
from apprentice.core.versions import kept_with_structure
from apprentice.db import db_session, utcnow
from apprentice.people.models import Role, StaffProfile, acts_as
from apprentice.programmes import permissions
from apprentice.programmes.models import ElectiveChoice, Enrolment, EnrolmentStatus
from apprentice.programmes.progress import CompetencyShape
from apprentice.programmes.shapes import shapes_of
from apprentice.validation import Invalid, refuse_unless


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
    if not acts_as(person, Role.APPRENTICE):
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


# -- who is on which programme, and what they may log against --------------------------

def enrolments_query(*, framework_id: int | None = None, status: str | None = "active",
                     person_id: int | None = None, person_ids: Iterable[int] | None = None):
    """Enrolments by the person's name, with person and framework loaded."""
    query = (
        select(Enrolment)
        .join(StaffProfile, StaffProfile.id == Enrolment.person_id)
        .options(selectinload(Enrolment.person), selectinload(Enrolment.framework))
        .order_by(StaffProfile.name, Enrolment.start_date, Enrolment.id)  # a fixed order to page by
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


@cache
def _electives_query():
    """The statement of :func:`electives_of`, built once per process."""
    return (select(ElectiveChoice.enrolment_id, ElectiveChoice.area_id)
            .where(ElectiveChoice.enrolment_id.in_(bindparam("ids", expanding=True))))


def electives_of(enrolment_ids: Iterable[int]) -> dict[int, set[int]]:
    """The chosen elective areas of each enrolment (one query)."""
    chosen: dict[int, set[int]] = defaultdict(set)
    ids = sorted(set(enrolment_ids))
    if ids:
        for enrolment_id, area_id in db_session().execute(_electives_query(), {"ids": ids}):
            chosen[enrolment_id].add(area_id)
    return chosen


# A competency someone may log against and be signed off for, in its current wording:
# the framework's own plain data (id, code, statement, lineage, area_id), kept per
# process with the framework's version (programmes.shapes).
ProgrammeCompetency = CompetencyShape


@kept_with_structure
def programme_competencies(person_id: int) -> tuple[ProgrammeCompetency, ...]:
    """Current competencies of the person's active programmes: every required area,
    and the chosen electives (all electives until enough are chosen): what they may
    log against and be signed off for. Kept per process until the structure changes
    (apprentice.core.versions); built in three small queries, the frameworks' own
    structure from programmes.shapes."""
    enrolments = db_session().execute(
        select(Enrolment.id, Enrolment.framework_id)
        .where(Enrolment.person_id == person_id,
               Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(Enrolment.start_date, Enrolment.id)).all()
    if not enrolments:
        return ()
    chosen = electives_of(e.id for e in enrolments)
    shapes = shapes_of(e.framework_id for e in enrolments)
    competencies: list[ProgrammeCompetency] = []
    for enrolment in enrolments:
        shape = shapes[enrolment.framework_id]
        picked = chosen[enrolment.id]
        all_electives = len(picked) < shape.rule.electives_required
        for area in shape.areas:
            if area.required or all_electives or area.id in picked:
                competencies.extend(area.competencies)
    return tuple(competencies)


def in_programme(person_id: int, competency_id: int) -> ProgrammeCompetency | None:
    """The competency as the person's programme has it (kept plain data), or None when
    it is not part of it."""
    return next((c for c in programme_competencies(person_id) if c.id == competency_id),
                None)

