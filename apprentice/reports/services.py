"""The reports' numbers: one function per report, each returning plain dataclasses.

Progress, hours and sign-offs come from the record model (``records.services.cohort``
and ``progress_of``, as of today or of any past day), the mentors' load from
``training.suggest_mentors`` as the coordinator's dashboard counts it, so a report and
a dashboard never disagree (tests/test_reports.py compares them). Every report takes a
fixed number of queries whatever the cohort's size (a page at a time, or a chunk at a
time for the CSV), except progress over time, which reads the person's progress once
per month shown (at most :data:`MAX_MONTHS`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from sqlalchemy import bindparam, func, select

from apprentice.competencies.models import Competency, CompetencyArea
from apprentice.competencies.services import list_frameworks
from apprentice.core.paging import page_and_pages
from apprentice.db import db_session
from apprentice.people.models import Role, StaffProfile
from apprentice.programmes.models import Enrolment, EnrolmentStatus
from apprentice.programmes.services import enrolments_query
from apprentice.records import services as records
from apprentice.records.dashboards import MatrixArea, MatrixCell, matrix_areas
from apprentice.records.record import PersonRef
from apprentice.reports import permissions
from apprentice.training import services as training
from apprentice.training.models import EntryCompetency, EntryState, LogEntry, Pairing, SignOff
from apprentice.training.standing import end_of, logged_clause
from apprentice.validation import refuse_unless

DEFAULT_WEEKS = 12  # the activity report's range, unless asked: the demo's weeks fit in it
MAX_MONTHS = 36  # progress over time: the last three years at most
QUIET_DAYS = 30  # programme health: no log for this long
DRIFT_PERCENT = 10  # hours: drifting when behind the pace by more than this share of the plan
MENTOR_MONTHS = 6  # mentor load: sign-offs per month, for this many months
CSV_CHUNK = 500  # people read at once while a CSV streams


def _check(viewer: StaffProfile | None) -> None:
    """The services ask the views' question again (None: the command line, a test)."""
    refuse_unless(permissions.may_read_reports(viewer), viewer,
                  "Only who may see the whole cohort may read the reports.")


# -- dates -------------------------------------------------------------------------------

def week_start(day: date) -> date:
    """The Monday of the ISO week ``day`` is in."""
    return day - timedelta(days=day.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def default_weeks(today: date | None = None, weeks: int = DEFAULT_WEEKS) -> tuple[date, date]:
    """The activity report's range unless asked: the last ``weeks`` ISO weeks to today."""
    today = today or date.today()
    return week_start(today) - timedelta(weeks=weeks - 1), today


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """The first days of the months from ``first``'s to ``last``'s, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


# -- who is in the cohort ------------------------------------------------------------------

@dataclass(frozen=True)
class CohortFilter:
    """Active enrolments, of a framework (None: any), of people paired with a mentor
    (None: anyone) at some time between ``since`` and ``until`` (neither: today)."""

    framework_id: int | None = None
    mentor_id: int | None = None
    since: date | None = None
    until: date | None = None

    @property
    def by_pairing(self) -> bool:
        return self.mentor_id is not None or self.since is not None or self.until is not None

    @property
    def narrowed(self) -> bool:
        return self.framework_id is not None or self.by_pairing


def _cohort_query(chosen: CohortFilter, today: date):
    """The coordinator's list (``enrolments_query``, by name), narrowed by pairing."""
    query = enrolments_query(framework_id=chosen.framework_id)
    if chosen.by_pairing:
        since, until = chosen.since, chosen.until
        if since is None and until is None:
            since = until = today
        paired = select(Pairing.apprentice_id)
        if chosen.mentor_id is not None:
            paired = paired.where(Pairing.mentor_id == chosen.mentor_id)
        if until is not None:
            paired = paired.where(Pairing.starts_on <= until)
        if since is not None:
            paired = paired.where(Pairing.ends_on.is_(None) | (Pairing.ends_on >= since))
        query = query.where(Enrolment.person_id.in_(paired))
    return query.order_by(Enrolment.id)  # after the name: a stable order for paging


def _count(query) -> int:
    return db_session().scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _chunks(query, size: int = CSV_CHUNK) -> Iterator[list[Enrolment]]:
    """The query's enrolments a chunk at a time (a CSV of 5,000 people streams)."""
    offset = 0
    while True:
        chunk = list(db_session().scalars(query.limit(size).offset(offset)))
        if not chunk:
            return
        yield chunk
        offset += size


@dataclass(frozen=True)
class Page:
    total: int
    page: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1


def _page_of(query, page: int, per_page: int) -> tuple[list[Enrolment], Page]:
    total = _count(query)
    page, pages = page_and_pages(total, per_page, page)
    enrolments = list(db_session().scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return enrolments, Page(total, page, pages, per_page)


# -- 1. cohort progress ----------------------------------------------------------------------

@dataclass(frozen=True)
class CohortRow:
    person_id: int
    name: str
    framework: str
    percent: int
    expected_percent: int
    on_track: bool
    cells: Mapping[str, MatrixCell]  # area name -> the share of it signed off


@dataclass(frozen=True)
class CohortProgress:
    areas: tuple[MatrixArea, ...]  # the columns, for the people on this page
    rows: tuple[CohortRow, ...]
    page: Page


def _cohort_rows(rows: list[records.EnrolmentProgress]) -> list[CohortRow]:
    """The dashboard's matrix rows (records.dashboards.coordinator_dashboard)."""
    return [CohortRow(
        person_id=row.enrolment.person_id, name=row.enrolment.person.name,
        framework=row.progress.framework.name, percent=row.progress.percent,
        expected_percent=row.progress.expected_percent, on_track=row.progress.on_track,
        cells={a.area.name: MatrixCell(a.percent, a.complete) for a in row.progress.areas},
    ) for row in rows]


def cohort_progress(chosen: CohortFilter, *, page: int = 1, per_page: int = 50,
                    today: date | None = None, viewer: StaffProfile | None = None
                    ) -> CohortProgress:
    """People by areas, each cell the share of the area signed off, a page at a time."""
    _check(viewer)
    today = today or date.today()
    enrolments, paging = _page_of(_cohort_query(chosen, today), page, per_page)
    progress = records.progress_of(enrolments, today)
    return CohortProgress(tuple(matrix_areas(progress)), tuple(_cohort_rows(progress)), paging)


@dataclass(frozen=True)
class CohortCell:
    """One line of the cohort CSV: a person's area."""

    row: CohortRow
    area: str
    required: bool
    signed_off: int
    needed: int
    percent: int
    complete: bool


def _chunked_progress(chosen: CohortFilter, today: date | None
                      ) -> Iterator[list[records.EnrolmentProgress]]:
    """The cohort's progress a chunk of people at a time (a CSV of 5,000 people streams)."""
    today = today or date.today()
    for enrolments in _chunks(_cohort_query(chosen, today)):
        yield records.progress_of(enrolments, today)


def cohort_cells(chosen: CohortFilter, *, today: date | None = None,
                 viewer: StaffProfile | None = None) -> Iterator[CohortCell]:
    """Every person's every area, a chunk of people at a time (for the CSV). Asked now,
    not when the CSV starts to stream."""
    _check(viewer)
    return (CohortCell(cohort_row, a.area.name, a.area.required, a.signed_off, a.needed,
                       a.percent, a.complete)
            for progress in _chunked_progress(chosen, today)
            for row, cohort_row in zip(progress, _cohort_rows(progress), strict=True)
            for a in row.progress.areas)


# -- 2. activity over time -------------------------------------------------------------------

@dataclass(frozen=True)
class Week:
    start: date  # its Monday
    by_area: tuple[int, ...]  # minutes per area, in the order of Activity.areas
    verified: int  # minutes of the week's entries (each once) verified
    waiting: int  # ... logged and not verified yet

    @property
    def label(self) -> str:
        return week_label(self.start)

    @property
    def total(self) -> int:
        return self.verified + self.waiting


@dataclass(frozen=True)
class Activity:
    """Minutes logged per ISO week from ``since`` to ``until``, per area (an entry in
    two areas counts in each, as the record's hours per area count it) and in all (each
    entry once), verified or waiting for review."""

    since: date
    until: date
    person: PersonRef | None  # None: the cohort
    areas: tuple[str, ...]
    weeks: tuple[Week, ...]

    @property
    def empty(self) -> bool:
        return not any(w.total for w in self.weeks)

    @property
    def area_totals(self) -> dict[str, int]:
        return {area: sum(w.by_area[i] for w in self.weeks) for i, area in enumerate(self.areas)}


def _active_people(framework_id: int | None):
    """The people on an active programme (of a framework; None: any), as a subquery."""
    people = select(Enrolment.person_id).where(Enrolment.status == EnrolmentStatus.ACTIVE.value)
    if framework_id is not None:
        people = people.where(Enrolment.framework_id == framework_id)
    return people


def _logged(since: date, until: date, person_id: int | None, framework_id: int | None):
    """Entries logged (drafts do not count) on the days, by the person or the cohort."""
    clause = logged_clause(None) & (LogEntry.occurred_on >= since) & (
        LogEntry.occurred_on <= until)
    if person_id is not None:
        return clause & (LogEntry.person_id == person_id)
    return clause & LogEntry.person_id.in_(_active_people(framework_id))


@cache
def _activity_queries(one_person: bool, one_framework: bool):
    """The two statements of :func:`activity`, built once per process (building them
    costs more than running them); the days, the person and the framework are bound
    when run (``since``, ``until``, ``person_id``, ``framework_id``). Shapes only."""
    day = LogEntry.occurred_on.type
    where = _logged(bindparam("since", type_=day), bindparam("until", type_=day),
                    bindparam("person_id") if one_person else None,
                    bindparam("framework_id") if one_framework else None)
    per_area = (select(LogEntry.id, LogEntry.occurred_on, LogEntry.minutes,
                       Competency.area_id).distinct()
                .join(EntryCompetency, EntryCompetency.entry_id == LogEntry.id)
                .join(Competency, Competency.id == EntryCompetency.competency_id)
                .where(where).subquery())
    by_area = (select(per_area.c.occurred_on, CompetencyArea.name, func.sum(per_area.c.minutes))
               .join(CompetencyArea, CompetencyArea.id == per_area.c.area_id)
               .group_by(per_area.c.occurred_on, CompetencyArea.name))
    by_state = (select(LogEntry.occurred_on, LogEntry.state, func.sum(LogEntry.minutes))
                .where(where).group_by(LogEntry.occurred_on, LogEntry.state))
    return by_area, by_state


def activity(*, since: date, until: date, person_id: int | None = None,
             framework_id: int | None = None, viewer: StaffProfile | None = None
             ) -> Activity:
    """Minutes per week for one person or the cohort (active enrolments, of a framework),
    in two grouped queries: their rows grow with the days and areas, not the entries."""
    refuse_unless(permissions.may_see_activity(viewer, person_id), viewer,
                  "Only your own weeks, or a coordinator's reports.")
    session = db_session()
    person = session.get(StaffProfile, person_id) if person_id is not None else None
    by_area, by_state = _activity_queries(person_id is not None, framework_id is not None)
    params = {"since": since, "until": until, "person_id": person_id,
              "framework_id": framework_id}
    area_minutes: dict[tuple[date, str], int] = defaultdict(int)
    for day, area, minutes in session.execute(by_area, params):
        area_minutes[(week_start(day), area)] += minutes
    state_minutes: dict[tuple[date, bool], int] = defaultdict(int)
    for day, state, minutes in session.execute(by_state, params):
        state_minutes[(week_start(day), state == EntryState.VERIFIED.value)] += minutes
    areas = tuple(sorted({area for _, area in area_minutes}))
    weeks, monday = [], week_start(since)
    while monday <= until:
        weeks.append(Week(monday, tuple(area_minutes.get((monday, a), 0) for a in areas),
                          state_minutes.get((monday, True), 0),
                          state_minutes.get((monday, False), 0)))
        monday += timedelta(weeks=1)
    return Activity(since, until, PersonRef(person.id, person.name) if person else None,
                    areas, tuple(weeks))


def hours_per_week(person: StaffProfile, *, weeks: int = 10,
                   today: date | None = None) -> Activity:
    """The apprentice's own last ``weeks`` weeks, verified and waiting (their home page)."""
    since, until = default_weeks(today, weeks)
    return activity(since=since, until=until, person_id=person.id, viewer=person)


# -- 3. planned, logged and verified hours ------------------------------------------------------

@dataclass(frozen=True)
class HoursRow:
    """A person's area: the framework's minimum (None: none set), the share of it a
    steady pace from the start to the target date would have by now, and the minutes
    logged (verified or waiting) and verified."""

    person_id: int
    name: str
    framework: str
    area: str
    planned: int | None
    expected: int | None
    logged: int
    verified: int
    drifting: bool


@dataclass(frozen=True)
class HoursReport:
    rows: tuple[HoursRow, ...]
    page: Page
    drift_percent: int

    @property
    def drifting(self) -> list[HoursRow]:
        return [r for r in self.rows if r.drifting]

    @property
    def by_area(self) -> dict[str, tuple[int, int, int]]:
        """Planned, logged and verified minutes per area, over this page's people."""
        sums: dict[str, list[int]] = {}
        for r in self.rows:
            s = sums.setdefault(r.area, [0, 0, 0])
            s[0] += r.planned or 0
            s[1] += r.logged
            s[2] += r.verified
        return {area: tuple(s) for area, s in sums.items()}


def _hours_rows(rows: list[records.EnrolmentProgress], drift: int) -> list[HoursRow]:
    """Drifting: logged less than the plan's time-proportional share (the programme's
    expected percent, as the pace is measured) by more than ``drift`` % of the plan."""
    out = []
    for row in rows:
        pace = row.progress.expected_percent
        for a in row.progress.areas:
            planned = a.area.min_hours * 60 if a.area.min_hours is not None else None
            logged = a.verified_minutes + a.unverified_minutes
            expected = planned * pace // 100 if planned is not None else None
            out.append(HoursRow(
                person_id=row.enrolment.person_id, name=row.enrolment.person.name,
                framework=row.progress.framework.name, area=a.area.name, planned=planned,
                expected=expected, logged=logged, verified=a.verified_minutes,
                drifting=planned is not None and logged < expected - planned * drift / 100))
    return out


def hours(chosen: CohortFilter, *, page: int = 1, per_page: int = 50,
          today: date | None = None, drift: int = DRIFT_PERCENT,
          viewer: StaffProfile | None = None) -> HoursReport:
    """Planned against logged and verified minutes per person and area, a page of
    people at a time (the record's AreaHours, from the same progress)."""
    _check(viewer)
    today = today or date.today()
    enrolments, paging = _page_of(_cohort_query(chosen, today), page, per_page)
    return HoursReport(tuple(_hours_rows(records.progress_of(enrolments, today), drift)),
                       paging, drift)


def hours_rows(chosen: CohortFilter, *, today: date | None = None, drift: int = DRIFT_PERCENT,
               viewer: StaffProfile | None = None) -> Iterator[HoursRow]:
    """Every person's hours, a chunk of people at a time (for the CSV); asked now."""
    _check(viewer)
    return (row for progress in _chunked_progress(chosen, today)
            for row in _hours_rows(progress, drift))


# -- 4. mentor load ------------------------------------------------------------------------------

@dataclass(frozen=True)
class MentorRow:
    mentor_id: int
    name: str
    apprentices: int  # paired with them now
    waiting: int  # entries waiting for their review
    median_wait_days: float | None  # how long those have waited (None: nothing waits)
    sign_offs: int  # made, ever
    per_month: tuple[int, ...]  # made in each of MentorLoad.months


@dataclass(frozen=True)
class MentorLoad:
    months: tuple[date, ...]
    rows: tuple[MentorRow, ...]

    @property
    def empty(self) -> bool:
        return not self.rows


def mentor_load(*, today: date | None = None, months: int = MENTOR_MONTHS,
                viewer: StaffProfile | None = None) -> MentorLoad:
    """Every active mentor: apprentices and entries waiting as the dashboard counts
    them, how long the entries have waited (the median, in days), sign-offs per month."""
    _check(viewer)
    today = today or date.today()
    session = db_session()
    first = month_start(today)
    for _ in range(months - 1):
        first = month_start(first - timedelta(days=1))
    shown = tuple(months_between(first, today))
    waits: dict[int, list[int]] = defaultdict(list)
    for mentor_id, submitted_at in session.execute(
        select(LogEntry.mentor_id, LogEntry.submitted_at)
        .where(LogEntry.state == EntryState.SUBMITTED.value)
    ):
        waits[mentor_id].append((today - submitted_at.date()).days if submitted_at else 0)
    made: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for signed_by, signed_at in session.execute(
        select(SignOff.signed_by_id, SignOff.signed_at)
        .where(SignOff.signed_at >= end_of(first - timedelta(days=1)))
    ):
        made[signed_by][month_start(signed_at.date())] += 1
    rows = [MentorRow(
        mentor_id=s.mentor.id, name=s.mentor.name, apprentices=s.load,
        waiting=len(waits.get(s.mentor.id, ())),
        median_wait_days=statistics.median(waits[s.mentor.id]) if waits.get(s.mentor.id)
        else None,
        sign_offs=s.experience, per_month=tuple(made[s.mentor.id][m] for m in shown),
    ) for s in training.suggest_mentors(today=today)]
    rows.sort(key=lambda m: (-m.waiting, -m.apprentices, m.name))
    return MentorLoad(shown, tuple(rows))


# -- 5. programme health -------------------------------------------------------------------------

@dataclass(frozen=True)
class Behind:
    person_id: int
    name: str
    framework: str
    percent: int
    expected_percent: int
    target_date: date
    overdue: bool


@dataclass(frozen=True)
class Quiet:
    person_id: int
    name: str
    framework: str
    last_logged: date | None  # None: nothing logged yet
    days: int  # since the last entry, or since the start


@dataclass(frozen=True)
class Unmentored:
    person_id: int
    name: str
    framework: str
    area: str


@dataclass(frozen=True)
class Health:
    behind: tuple[Behind, ...]
    quiet: tuple[Quiet, ...]
    unmentored: tuple[Unmentored, ...]
    enrolments: int

    @property
    def empty(self) -> bool:
        return not (self.behind or self.quiet or self.unmentored)


def health(*, framework_id: int | None = None, today: date | None = None,
           viewer: StaffProfile | None = None) -> Health:
    """What needs a coordinator: programmes behind their pace (or past the target date),
    people with nothing logged for QUIET_DAYS, and programme areas no current pairing
    covers. The whole active cohort, in a fixed number of queries."""
    _check(viewer)
    today = today or date.today()
    session = db_session()
    rows = records.cohort(framework_id=framework_id, today=today)
    behind = tuple(
        Behind(r.enrolment.person_id, r.enrolment.person.name, r.progress.framework.name,
               r.progress.percent, r.progress.expected_percent, r.enrolment.target_date,
               r.progress.overdue)
        for r in rows if not r.progress.on_track)
    last = dict(session.execute(
        select(LogEntry.person_id, func.max(LogEntry.occurred_on))
        .where(logged_clause(None), LogEntry.person_id.in_(_active_people(framework_id)))
        .group_by(LogEntry.person_id)).all())
    quiet_since = today - timedelta(days=QUIET_DAYS)
    quiet = []
    for r in rows:
        latest = last.get(r.enrolment.person_id)
        since = latest or r.enrolment.start_date
        if since <= quiet_since:
            quiet.append(Quiet(r.enrolment.person_id, r.enrolment.person.name,
                               r.progress.framework.name, latest, (today - since).days))
    pairings: dict[int, list[Pairing]] = defaultdict(list)
    for p in training.pairings(current_on=today):
        pairings[p.apprentice_id].append(p)
    unmentored = tuple(
        Unmentored(r.enrolment.person_id, r.enrolment.person.name, r.progress.framework.name,
                   a.area.name)
        for r in rows for a in r.progress.areas
        if not any(p.covers_area(a.area.id) for p in pairings[r.enrolment.person_id]))
    return Health(behind, tuple(quiet), unmentored, len(rows))


# -- 6. one person's progress over time -------------------------------------------------------

@dataclass(frozen=True)
class Programme:
    enrolment_id: int
    framework: str
    start_date: date


@dataclass(frozen=True)
class Month:
    month: date  # its first day
    as_of: date  # its last day, or today for this month
    shares: tuple[int | None, ...]  # per programme: the share signed off (None: not begun)
    expected: tuple[int | None, ...]  # per programme: where a steady pace would be


@dataclass(frozen=True)
class ProgressOverTime:
    person: PersonRef
    programmes: tuple[Programme, ...]
    months: tuple[Month, ...]
    cut: bool  # more months than MAX_MONTHS: the oldest are left out

    @property
    def empty(self) -> bool:
        return not self.programmes


def progress_over_time(person_id: int, *, today: date | None = None,
                       max_months: int = MAX_MONTHS, viewer: StaffProfile | None = None
                       ) -> ProgressOverTime | None:
    """The share signed off at the end of each month since the first programme began
    (the last ``max_months``), as the record model counts it as of each month's end
    (``records.progress_of(..., as_of=)``, what ``record_of(as_of=)`` shows); None for
    nobody (or someone the viewer may not see)."""
    today = today or date.today()
    person = db_session().get(StaffProfile, person_id)
    if person is None or (viewer is not None
                          and not permissions.may_see_in_reports(viewer, person)):
        return None
    enrolments = sorted(db_session().scalars(enrolments_query(person_id=person_id, status=None)),
                        key=lambda e: (e.start_date, e.id))
    programmes = tuple(Programme(e.id, e.framework.name, e.start_date) for e in enrolments)
    ref = PersonRef(person.id, person.name)
    if not programmes:
        return ProgressOverTime(ref, (), (), False)
    months = months_between(programmes[0].start_date, today)
    cut = len(months) > max_months
    shown = []
    for month in months[-max_months:]:
        as_of = min(next_month(month) - timedelta(days=1), today)
        rows = [row if row.enrolment.start_date <= as_of else None
                for row in records.progress_of(enrolments, as_of=as_of)]
        shown.append(Month(
            month, as_of,
            tuple(row.progress.percent if row else None for row in rows),
            tuple(row.progress.expected_percent if row else None for row in rows)))
    return ProgressOverTime(ref, programmes, tuple(shown), cut)


# -- what the filters offer -----------------------------------------------------------------------

def frameworks() -> list[tuple[int, str]]:
    """Every framework, drafts and retired ones too, as the programmes page lists them:
    (id, name)."""
    return [(f.id, f.name) for f in list_frameworks(include_unpublished=True)]


def mentors() -> list[tuple[int, str]]:
    """Everyone who mentors or has mentored (has the role, or a pairing): (id, name)."""
    paired = select(Pairing.mentor_id)
    return [tuple(row) for row in db_session().execute(
        select(StaffProfile.id, StaffProfile.name)
        .where(StaffProfile.role_grants.any(role=Role.MENTOR.value)
               | StaffProfile.id.in_(paired))
        .order_by(StaffProfile.name, StaffProfile.id))]
