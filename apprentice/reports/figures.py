"""Each report's chart, from its numbers (the geometry is :mod:`charts`'s, the drawing
the macros' in templates/apprentice/macros/charts.html). A chart's description says in
words what it shows; the table beside it holds every number."""

from __future__ import annotations

from apprentice.formatting import duration
from apprentice.people.models import StaffProfile
from apprentice.records.dashboards import share_band
from apprentice.reports import charts, permissions, services
from apprentice.reports.services import (
    Activity,
    CohortProgress,
    HoursReport,
    MentorLoad,
    ProgressOverTime,
)

OTHERS = 7  # mentors drawn each in their own style; the rest together as "Other mentors"


def _week(label: str) -> str:
    """"2026-W48" under a bar: the week's number is enough there."""
    return label.split("-")[-1]


def cohort_heat(report: CohortProgress) -> charts.HeatChart:
    areas = [(a.short, a.name) for a in report.areas]
    return charts.heat_cells(
        "ap-chart-cohort", "Share of each area signed off",
        f"One row per person on this page ({len(report.rows)}), one column per area; "
        "the darker the cell, the larger the share signed off. Each cell says its share.",
        [r.name for r in report.rows], areas,
        [[r.cells[a.name].percent if a.name in r.cells else None for a in report.areas]
         for r in report.rows], share_band)


def activity_chart(report: Activity) -> charts.BarChart:
    who = report.person.name if report.person else "the cohort"
    busiest = max(report.weeks, key=lambda w: sum(w.by_area), default=None)
    return charts.bar_chart(
        "ap-chart-activity", f"Time logged per week by {who}, by area",
        f"Stacked bars, one per ISO week from {report.since.isoformat()} to "
        f"{report.until.isoformat()}; each part is an area. "
        + (f"The busiest week was {busiest.label} with {duration(sum(busiest.by_area))}."
           if busiest and sum(busiest.by_area) else "Nothing was logged."),
        [_week(w.label) for w in report.weeks], list(report.areas),
        [list(w.by_area) for w in report.weeks], fmt=duration, unit=60)


def hours_per_week_chart(report: Activity) -> charts.BarChart:
    """The apprentice's own weeks: verified and waiting for review."""
    total = sum(w.total for w in report.weeks)
    return charts.bar_chart(
        "ap-chart-weeks", "Your hours per week",
        f"Stacked bars, one per week for the last {len(report.weeks)} weeks: verified time, "
        f"and time waiting for review. {duration(total)} in all.",
        [_week(w.label) for w in report.weeks], ["Verified", "Waiting for review"],
        [[w.verified, w.waiting] for w in report.weeks], fmt=duration, unit=60)


def hours_chart(report: HoursReport) -> charts.BarChart:
    sums = report.by_area
    return charts.bar_chart(
        "ap-chart-hours", "Planned, logged and verified time per area",
        f"Grouped bars, three per area, summed over the {len({r.person_id for r in report.rows})} "
        "people on this page: the framework's planned minimum, the time logged and the "
        "time verified.",
        list(sums), ["Planned", "Logged", "Verified"], [list(v) for v in sums.values()],
        fmt=duration, stacked=False, unit=60)


def mentor_chart(report: MentorLoad) -> charts.BarChart:
    busiest = sorted(report.rows, key=lambda r: (-sum(r.per_month), r.name))
    named, rest = busiest[:OTHERS], busiest[OTHERS:]
    series = [r.name for r in named] + (["Other mentors"] if rest else [])
    values = [[r.per_month[i] for r in named] + ([sum(r.per_month[i] for r in rest)]
                                                 if rest else [])
              for i in range(len(report.months))]
    return charts.bar_chart(
        "ap-chart-mentors", "Sign-offs per month, by mentor",
        f"Stacked bars, one per month from {report.months[0]:%B %Y} to "
        f"{report.months[-1]:%B %Y}; each part is a mentor's sign-offs. "
        f"{sum(map(sum, values))} in all.",
        [f"{m:%b %Y}" for m in report.months], series, values, fmt=lambda v: f"{v:g}")


def progress_chart(report: ProgressOverTime) -> charts.LineChart:
    latest = report.months[-1] if report.months else None
    now = (f"; {latest.shares[0]}% by {latest.as_of.isoformat()}."
           if latest and latest.shares[0] is not None else ".")
    return charts.step_chart(
        "ap-chart-progress", f"{report.person.name}: share signed off, month by month",
        "A step line per programme: the share of the programme signed off at the end of "
        "each month, and a dashed one where a steady pace to the target date would be" + now,
        [f"{m.month:%b %Y}" for m in report.months],
        [p.framework for p in report.programmes]
        + [f"{p.framework}: expected at a steady pace" for p in report.programmes],
        [[m.shares[i] for m in report.months] for i in range(len(report.programmes))]
        + [[m.expected[i] for m in report.months] for i in range(len(report.programmes))],
        top=100, fmt=lambda v: f"{v:g}%")


def own_weeks(person: StaffProfile | None) -> dict | None:
    """The apprentice's hours per week for their home page, as the template includes it
    (``weeks``, ``weeks_chart``); None for who keeps no log."""
    if not permissions.may_see_own_weeks(person):
        return None
    weeks = services.hours_per_week(person)
    return {"weeks": weeks, "weeks_chart": hours_per_week_chart(weeks)}
