"""What each person sees first: the apprentice's, the mentor's and the coordinator's
dashboards. Each is built in a fixed number of queries, whatever the amount of data."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from apprentice.competencies.models import Competency
from apprentice.db import db_session, utcnow
from apprentice.people.models import StaffProfile
from apprentice.programmes import services as programmes
from apprentice.records import CompetencyStatus, record_of
from apprentice.records import services as records
from apprentice.records.record import EnrolmentRecord, SignOffRecord
from apprentice.training import paired, permissions, services
from apprentice.training.models import EntryCompetency, EntryState, LogEntry, Pairing, PairingTerms

STALE_REVIEW_DAYS = 14
IDLE_PAIRING_DAYS = 30


@dataclass
class PractiseNext:
    code: str
    statement: str
    competency_id: int
    status: CompetencyStatus
    mentors: list[str]


@dataclass
class ApprenticeDashboard:
    programmes: tuple[EnrolmentRecord, ...]  # the active ones, from the person's record
    returned: list  # (id, occurred_on) of the entries returned to fix, newest first
    verified_minutes: int
    unverified_minutes: int
    practise_next: list[PractiseNext]


def apprentice_dashboard(person: StaffProfile, today: date | None = None,
                         limit: int = 6) -> ApprenticeDashboard:
    """The apprentice's home: their record's active programmes, time logged, entries to
    fix, and what to practise next (with the mentors paired for its area)."""
    today = today or date.today()
    record = record_of(person.id, entries=False)
    programmes = tuple(e for e in record.enrolments if e.active)
    current = [p for p in paired.of_apprentice(person.id) if p.current_on(today)]
    suggestions: list[PractiseNext] = []
    verified = logged = 0
    for enrolment in programmes:
        for area in enrolment.areas:
            verified += area.hours.verified_minutes
            logged += area.hours.logged_minutes
            helpers = [p.mentor.name for p in current if p.covers_area(area.id)]
            for c in area.competencies:
                if c.status != CompetencyStatus.SIGNED_OFF:
                    suggestions.append(PractiseNext(c.code, c.statement, c.id, c.status,
                                                    helpers))
    # Finish what is started first, then what is below the level, then the rest in order.
    rank = {CompetencyStatus.IN_PROGRESS: 0, CompetencyStatus.BELOW_LEVEL: 1,
            CompetencyStatus.NOT_STARTED: 2}
    suggestions.sort(key=lambda s: rank[s.status])
    return ApprenticeDashboard(
        programmes=programmes,
        returned=list(db_session().execute(  # a link per entry: its id and day
            select(LogEntry.id, LogEntry.occurred_on)
            .where(LogEntry.person_id == person.id,
                   LogEntry.state == EntryState.RETURNED.value)
            .order_by(LogEntry.occurred_on.desc(), LogEntry.id.desc()))),
        verified_minutes=verified, unverified_minutes=logged - verified,
        practise_next=suggestions[:limit],
    )


@dataclass
class ReadyToSignOff:
    person: StaffProfile
    competency_id: int
    code: str
    statement: str


@dataclass
class MentorDashboard:
    queue_count: int
    oldest_days: int | None
    rows: list  # EnrolmentProgress of their apprentices
    ready: list[ReadyToSignOff]


def mentor_dashboard(mentor: StaffProfile, today: date | None = None) -> MentorDashboard:
    """The review queue's size and age, each paired apprentice's progress, and the
    competencies with verified evidence at the required level but no sign-off yet."""
    today = today or date.today()
    mentor_pairings = paired.of_mentor(mentor.id)
    waiting = services.waiting_for(mentor, today, mentor_pairings)
    current = [p for p in mentor_pairings if p.current_on(today)]
    apprentice_ids = {p.apprentice_id for p in current}
    enrolments = list(db_session().scalars(
        programmes.enrolments_query(status="active", person_ids=apprentice_ids)
    )) if apprentice_ids else []
    rows = records.progress_of(enrolments, today)
    # Verified entries of these apprentices: the best activity level per competency lineage.
    best: dict[tuple[int, str], int] = {}
    if apprentice_ids:
        for person_id, lineage, level in db_session().execute(
            select(LogEntry.person_id, Competency.lineage, func.max(LogEntry.activity))
            .join(EntryCompetency, EntryCompetency.entry_id == LogEntry.id)
            .join(Competency, Competency.id == EntryCompetency.competency_id)
            .where(LogEntry.person_id.in_(apprentice_ids),
                   LogEntry.state == EntryState.VERIFIED.value)
            .group_by(LogEntry.person_id, Competency.lineage)
        ):
            best[(person_id, lineage)] = level
    ready = []
    for row in rows:
        needed = row.progress.framework.rule.level_required
        person = row.enrolment.person
        for area in row.progress.areas:
            if not any(p.apprentice_id == person.id and p.covers_area(area.area.id)
                       for p in current):
                continue  # another mentor's area: not theirs to sign off
            for cp in area.competencies:
                if (cp.status != CompetencyStatus.SIGNED_OFF
                        and best.get((person.id, cp.competency.lineage), 0) >= needed):
                    ready.append(ReadyToSignOff(person, cp.competency.id, cp.competency.code,
                                                cp.competency.statement))
    return MentorDashboard(
        queue_count=len(waiting),
        oldest_days=max((w.days_waiting for w in waiting), default=None),
        rows=rows, ready=ready,
    )


# -- an apprentice's record, as a mentor or a coordinator sees it ---------------------------

@dataclass
class ApprenticeRecord:
    """The apprentice page: what the viewer may see of the person's record (read from
    the record model, apprentice.records), already cut to the areas their pairing
    covers (``areas_in_view``: None, every area)."""

    enrolments: tuple[EnrolmentRecord, ...]
    entries: list[LogEntry]  # this page of the timeline
    total: int  # entries on every page
    openable: set[int]  # entries the viewer may open
    sign_offs: list[SignOffRecord]
    sign_off_areas: set[int]  # areas with a Sign off button
    areas_in_view: frozenset[int] | None
    limited_to: tuple[str, ...] | None  # names of the areas shown, when some are left out

    def shows_area(self, area_id: int) -> bool:
        """Whether the area's progress is on the page for this viewer."""
        return self.areas_in_view is None or area_id in self.areas_in_view


def apprentice_record(viewer: StaffProfile, person: StaffProfile, page: int,
                      viewer_pairings: Iterable[PairingTerms], today: date | None = None
                      ) -> ApprenticeRecord:
    """The apprentice page for ``viewer`` (who may open it: the view asked), in a fixed
    number of queries. A mentor paired for some areas sees the progress, timeline rows
    and sign-offs of those areas only; whoever else may open the page sees them all.
    ``viewer_pairings``: the viewer's pairings with the person. The timeline is paged
    here (the record itself holds every entry); the rest is the person's record."""
    today = today or date.today()
    in_view = permissions.areas_in_view(viewer, person.id, today, viewer_pairings)
    record = record_of(person.id, entries=False)
    entries, total = services.timeline(person.id, page, areas=in_view)
    sign_offs = [s for s in record.sign_offs if permissions.may_view_sign_off(
        viewer, s, today, mentor_pairings=viewer_pairings)]
    return ApprenticeRecord(
        enrolments=record.enrolments, entries=entries, total=total,
        openable={e.id for e in entries
                  if permissions.may_view_entry(viewer, e, mentor_pairings=viewer_pairings)},
        sign_offs=sign_offs,
        sign_off_areas=services.sign_off_areas(viewer, person.id,
                                               set(record.area_names(active_only=True)),
                                               today, mentor_pairings=viewer_pairings),
        areas_in_view=in_view, limited_to=record.limited_to(in_view, active_only=True),
    )


@dataclass
class MentorLoad:
    name: str
    apprentices: int
    waiting: int
    sign_offs: int


# -- the cohort matrix: people by areas, each cell the share signed off ----------------------

# The lower bounds of the shades a matrix cell takes (0, 1-24, 25-49, 50-74, 75-99, 100 %).
SHARE_BANDS = (100, 75, 50, 25, 1, 0)
_MINOR_WORDS = {"a", "an", "and", "for", "in", "of", "on", "the", "to", "&"}


def share_band(percent: int) -> int:
    """The shade of a cell: the lower bound of the band its share falls in."""
    return next(band for band in SHARE_BANDS if percent >= band)


def area_abbreviation(name: str, codes: Iterable[str] = ()) -> str:
    """A short column header for an area: the prefix its competency codes share
    ("FND" for FND-01, FND-02 ...), else the initials of its name's main words."""
    prefixes = {re.sub(r"[-_. ]*\d+$", "", code).strip() for code in codes}
    if len(prefixes) == 1:
        prefix = prefixes.pop()
        if 0 < len(prefix) <= 6:
            return prefix
    words = [w for w in re.findall(r"[^\W_]+", name) if w.lower() not in _MINOR_WORDS]
    if len(words) == 1:
        return words[0][:4].upper() if len(words[0]) > 5 else words[0]
    return "".join(w[0] for w in words[:4]).upper() or name[:4]


@dataclass(frozen=True)
class MatrixArea:
    """A column of the matrix: the area's full name and its short header."""

    name: str
    short: str


@dataclass(frozen=True)
class MatrixCell:
    percent: int
    complete: bool

    @property
    def band(self) -> int:
        """The cell's shade (see share_band)."""
        return share_band(self.percent)


@dataclass
class CoordinatorDashboard:
    areas: list[MatrixArea]
    matrix: list[tuple]  # (EnrolmentProgress, {area name: MatrixCell}), a page of them
    stale_entries: list[LogEntry]  # the oldest ten
    stale_count: int
    idle_pairings: list[Pairing]  # the newest ten
    mentors: list[MentorLoad] = field(default_factory=list)
    idle_count: int = 0
    page: int = 1  # of the matrix
    pages: int = 1
    enrolled: int = 0  # active programmes on every page of the matrix


IDLE_SHOWN = 10  # idle pairings named on the dashboard (all are counted)


def unique_headers(areas: dict[str, MatrixArea]) -> None:
    """Number the short headers two areas would share ("RS", "RS2"), so none is ambiguous."""
    seen: dict[str, int] = {}
    for name, area in areas.items():
        count = seen[area.short] = seen.get(area.short, 0) + 1
        if count > 1:
            areas[name] = MatrixArea(name, f"{area.short}{count}")


def matrix_areas(rows: Iterable) -> list[MatrixArea]:
    """The matrix's columns for these programmes (EnrolmentProgress rows): each area once,
    in the order met, with a short header no other column has."""
    areas: dict[str, MatrixArea] = {}
    for row in rows:
        for area in row.progress.areas:
            if area.area.name not in areas:
                areas[area.area.name] = MatrixArea(area.area.name, area_abbreviation(
                    area.area.name, (c.code for c in area.area.competencies)))
    unique_headers(areas)
    return list(areas.values())


@dataclass(frozen=True)
class _CoordinatorQueries:
    stale_count: object
    stale: object
    idle_count: object
    idle: object
    waiting: object


@cache
def _coordinator_queries() -> _CoordinatorQueries:
    """The statements of :func:`coordinator_dashboard` beside the cohort, built once per
    process (building them cost more than running them); the days are bound when run
    (``stale_since``, ``today``, ``idle_since``)."""
    waiting_long = (LogEntry.state == EntryState.SUBMITTED.value,
                    LogEntry.submitted_at
                    < bindparam("stale_since", type_=LogEntry.submitted_at.type))
    # Current pairings at least 30 days old with nothing logged by the pair since: found
    # and counted by the database, not by loading every pairing.
    day = Pairing.starts_on.type
    today, idle_since = bindparam("today", type_=day), bindparam("idle_since", type_=day)
    idle_where = (
        Pairing.starts_on <= idle_since,
        Pairing.ends_on.is_(None) | (Pairing.ends_on >= today),
        ~exists().where(LogEntry.person_id == Pairing.apprentice_id,
                        LogEntry.mentor_id == Pairing.mentor_id,
                        LogEntry.occurred_on >= idle_since),
    )
    return _CoordinatorQueries(
        stale_count=select(func.count(LogEntry.id)).where(*waiting_long),
        stale=select(LogEntry).where(*waiting_long).order_by(LogEntry.submitted_at).limit(10)
        .options(selectinload(LogEntry.person), selectinload(LogEntry.mentor)),
        idle_count=select(func.count(Pairing.id)).where(*idle_where),
        idle=select(Pairing).where(*idle_where)
        .order_by(Pairing.starts_on.desc(), Pairing.id.desc()).limit(IDLE_SHOWN)
        .options(joinedload(Pairing.apprentice).lazyload(StaffProfile.role_grants),
                 joinedload(Pairing.mentor).lazyload(StaffProfile.role_grants)),
        waiting=select(LogEntry.mentor_id, func.count(LogEntry.id))
        .where(LogEntry.state == EntryState.SUBMITTED.value).group_by(LogEntry.mentor_id),
    )


def coordinator_dashboard(today: date | None = None, *, page: int = 1,
                          per_page: int = 50) -> CoordinatorDashboard:
    """The cohort as people by areas (a page of them), what has stalled, and how loaded
    the mentors are: a fixed number of queries and a page's worth of rows, whatever the
    cohort's size."""
    today = today or date.today()
    session = db_session()
    cohort = records.cohort_page(page, per_page, today=today)
    rows = cohort.rows
    matrix = [(row, {a.area.name: MatrixCell(a.percent, a.complete) for a in row.progress.areas})
              for row in rows]
    queries = _coordinator_queries()
    params = {"stale_since": utcnow() - timedelta(days=STALE_REVIEW_DAYS), "today": today,
              "idle_since": today - timedelta(days=IDLE_PAIRING_DAYS)}
    stale_count = session.scalar(queries.stale_count, params)
    stale = list(session.scalars(queries.stale, params))
    idle_count = session.scalar(queries.idle_count, params)
    idle = list(session.scalars(queries.idle, params))
    waiting = dict(session.execute(queries.waiting).all())
    mentors = [MentorLoad(s.mentor.name, s.load, waiting.get(s.mentor.id, 0), s.experience)
               for s in services.suggest_mentors(today=today)]
    mentors.sort(key=lambda m: (-m.waiting, -m.apprentices, m.name))
    return CoordinatorDashboard(areas=matrix_areas(rows), matrix=matrix, stale_entries=stale,
                                stale_count=stale_count, idle_pairings=idle, mentors=mentors,
                                idle_count=idle_count, page=cohort.page, pages=cohort.pages,
                                enrolled=cohort.total)
