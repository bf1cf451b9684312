"""The progress engine: pure functions, no database, one place for every rule.

Pages, exports and reports all ask these functions; loading the data they
need (a whole cohort in a fixed number of queries) is done in
:mod:`apprentice.records.services`, the frameworks' structure coming from
:mod:`apprentice.programmes.shapes` (published versions kept per process).

Evidence is keyed by competency *lineage*, so a sign-off recorded against an
older wording of a competency still counts for its current wording.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from itertools import combinations

from apprentice.competencies.models import SupervisionLevel


class CompetencyStatus(StrEnum):
    NOT_STARTED = "not-started"
    IN_PROGRESS = "in-progress"
    SIGNED_OFF = "signed-off"
    BELOW_LEVEL = "below-level"  # signed off, but below the level the programme requires

    @property
    def label(self) -> str:
        return {
            CompetencyStatus.NOT_STARTED: "Not started",
            CompetencyStatus.IN_PROGRESS: "In progress",
            CompetencyStatus.SIGNED_OFF: "Signed off",
            CompetencyStatus.BELOW_LEVEL: "Signed off below the required level",
        }[self]


# -- inputs --------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A framework's programme rule."""

    electives_required: int = 3
    level_required: SupervisionLevel = SupervisionLevel.INDEPENDENT
    area_completion_percent: int = 100
    time_allowed_months: int = 48


@dataclass(frozen=True)
class CompetencyShape:
    id: int
    lineage: str
    code: str
    statement: str
    area_id: int | None = None  # its area (read from a framework; builders may leave it)


@dataclass(frozen=True)
class AreaShape:
    id: int
    name: str
    required: bool
    competencies: tuple[CompetencyShape, ...]
    min_hours: int | None = None


@dataclass(frozen=True)
class FrameworkShape:
    """The current structure of a framework, as the engine needs it."""

    id: int
    name: str
    rule: Rule
    areas: tuple[AreaShape, ...]

    @property
    def required_areas(self) -> tuple[AreaShape, ...]:
        return tuple(area for area in self.areas if area.required)

    @property
    def elective_areas(self) -> tuple[AreaShape, ...]:
        return tuple(area for area in self.areas if not area.required)


@dataclass(frozen=True)
class Evidence:
    """What one person has on record, as counted by the training records.

    ``entries``: log entries per competency lineage (drafts excluded);
    ``levels``: the best standing (neither revoked nor corrected) sign-off level
    per lineage;
    ``minutes``: logged minutes per area id, as (verified, not yet verified).
    """

    entries: Mapping[str, int] = field(default_factory=dict)
    levels: Mapping[str, SupervisionLevel] = field(default_factory=dict)
    minutes: Mapping[int, tuple[int, int]] = field(default_factory=dict)


NO_EVIDENCE = Evidence()


# -- outputs -------------------------------------------------------------------

@dataclass(frozen=True)
class CompetencyProgress:
    competency: CompetencyShape
    status: CompetencyStatus
    level: SupervisionLevel | None = None


@dataclass(frozen=True)
class AreaProgress:
    area: AreaShape
    competencies: tuple[CompetencyProgress, ...]
    signed_off: int
    needed: int
    percent: int
    verified_minutes: int
    unverified_minutes: int
    hours_met: bool
    complete: bool

    @property
    def total(self) -> int:
        return len(self.competencies)


@dataclass(frozen=True)
class ProgrammeProgress:
    framework: FrameworkShape
    required: tuple[AreaProgress, ...]
    electives: tuple[AreaProgress, ...]  # the chosen ones
    electives_chosen: int
    required_done: int
    electives_done: int
    percent: int
    complete: bool
    on_track: bool
    overdue: bool
    expected_percent: int

    @property
    def areas(self) -> tuple[AreaProgress, ...]:
        return self.required + self.electives


# -- the rules -----------------------------------------------------------------

def competency_status(
    competency: CompetencyShape, evidence: Evidence, rule: Rule
) -> CompetencyProgress:
    """Signed off (at or above the level, or below it), in progress, or not started."""
    level = evidence.levels.get(competency.lineage)
    if level is not None:
        status = (
            CompetencyStatus.SIGNED_OFF
            if level >= rule.level_required
            else CompetencyStatus.BELOW_LEVEL
        )
        return CompetencyProgress(competency, status, level)
    if evidence.entries.get(competency.lineage, 0) > 0:
        return CompetencyProgress(competency, CompetencyStatus.IN_PROGRESS)
    return CompetencyProgress(competency, CompetencyStatus.NOT_STARTED)


def competencies_needed(total: int, rule: Rule) -> int:
    """How many of an area's competencies must be signed off (rounded up)."""
    return math.ceil(total * rule.area_completion_percent / 100)


def area_progress(area: AreaShape, evidence: Evidence, rule: Rule) -> AreaProgress:
    """An area is complete when enough competencies are signed off at the required
    level and, if the framework sets one, enough verified hours are logged."""
    competencies = tuple(competency_status(c, evidence, rule) for c in area.competencies)
    signed_off = sum(1 for c in competencies if c.status == CompetencyStatus.SIGNED_OFF)
    needed = competencies_needed(len(competencies), rule)
    verified, unverified = evidence.minutes.get(area.id, (0, 0))
    hours_met = area.min_hours is None or verified >= area.min_hours * 60
    percent = 100 * min(signed_off, needed) // needed if needed else 0
    return AreaProgress(
        area=area,
        competencies=competencies,
        signed_off=signed_off,
        needed=needed,
        percent=percent,
        verified_minutes=verified,
        unverified_minutes=unverified,
        hours_met=hours_met,
        complete=needed > 0 and signed_off >= needed and hours_met,
    )


def expected_percent(start: date, target: date, today: date) -> int:
    """Where a steady pace would be by ``today``: 0 at the start, 100 at the target."""
    if today <= start:
        return 0
    if today >= target:
        return 100
    return 100 * (today - start).days // (target - start).days


def programme_progress(
    framework: FrameworkShape,
    electives: Iterable[int],
    evidence: Evidence,
    *,
    start: date,
    target: date,
    today: date,
) -> ProgrammeProgress:
    """The whole programme: every required area plus the chosen electives.

    Complete when every required area is complete and at least
    ``electives_required`` chosen electives are. On track when complete, or
    when the share of needed sign-offs done is at least where a steady pace
    from ``start`` to ``target`` would be today.
    """
    rule = framework.rule
    chosen = set(electives)
    required = tuple(area_progress(a, evidence, rule) for a in framework.required_areas)
    elective = tuple(
        area_progress(a, evidence, rule) for a in framework.elective_areas if a.id in chosen
    )
    required_done = sum(1 for a in required if a.complete)
    electives_done = sum(1 for a in elective if a.complete)
    complete = required_done == len(required) and electives_done >= rule.electives_required

    # Overall share: the required areas plus the electives needed. Of the chosen
    # electives, the combination that shows the most progress counts (so choosing
    # one more never lowers the figure); each one not chosen yet counts as an
    # average elective's worth of work not started.
    take = min(rule.electives_required, len(elective))
    missing_needed = (rule.electives_required - take) * _average_needed(
        framework.elective_areas, rule
    )
    required_needed = sum(a.needed for a in required)
    required_done_count = sum(min(a.signed_off, a.needed) for a in required)

    def share(areas: tuple[AreaProgress, ...]) -> tuple[int, int]:
        done = required_done_count + sum(min(a.signed_off, a.needed) for a in areas)
        return done, required_needed + missing_needed + sum(a.needed for a in areas)

    done, needed = max(
        (share(combo) for combo in combinations(elective, take)),
        key=lambda pair: pair[0] / pair[1] if pair[1] else 0,
    )
    # 100% means complete; sign-offs done with hours still missing show as 99%.
    percent = 100 if complete else min(99, 100 * done // needed if needed else 0)
    expected = expected_percent(start, target, today)
    overdue = not complete and today > target
    return ProgrammeProgress(
        framework=framework,
        required=required,
        electives=elective,
        electives_chosen=len(elective),
        required_done=required_done,
        electives_done=electives_done,
        percent=percent,
        complete=complete,
        on_track=complete or (not overdue and percent >= expected),
        overdue=overdue,
        expected_percent=expected,
    )


def _average_needed(areas: tuple[AreaShape, ...], rule: Rule) -> int:
    if not areas:
        return 0
    return round(sum(competencies_needed(len(a.competencies), rule) for a in areas) / len(areas))
