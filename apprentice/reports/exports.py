"""The reports as CSV: a header, then a line at a time, streamed (a cohort of 5,000
people is read a chunk at a time), every cell through csvsafe so none runs as a
formula in a spreadsheet."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from flask import Response

from apprentice.core import downloads
from apprentice.reports.services import (
    Activity,
    CohortCell,
    Health,
    HoursRow,
    MentorLoad,
    ProgressOverTime,
)


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """A download named ``name-<today>.csv``; ``rows`` is read while it streams."""
    return downloads.csv_download(f"{name}-{date.today().isoformat()}.csv", header, rows)


COHORT = ("person_id", "person", "framework", "overall_percent", "expected_percent", "area",
          "required", "signed_off", "needed", "area_percent", "area_complete")


def cohort_rows(cells: Iterable[CohortCell]) -> Iterator[tuple]:
    for c in cells:
        yield (c.row.person_id, c.row.name, c.row.framework, c.row.percent,
               c.row.expected_percent, c.area, "yes" if c.required else "no", c.signed_off,
               c.needed, c.percent, "yes" if c.complete else "no")


def activity_table(report: Activity) -> tuple[tuple[str, ...], list[tuple]]:
    """One line per week: minutes per area, then all areas (each entry once), verified
    and waiting for review; none when nothing was logged (the page says so too)."""
    header = ("week", "week_start", *report.areas, "total_minutes", "verified_minutes",
              "waiting_minutes")
    if report.empty:
        return header, []
    return header, [(w.label, w.start.isoformat(), *w.by_area, w.total, w.verified, w.waiting)
                    for w in report.weeks]


HOURS = ("person_id", "person", "framework", "area", "planned_minutes",
         "expected_by_now_minutes", "logged_minutes", "verified_minutes", "drifting")


def hours_rows(rows: Iterable[HoursRow]) -> Iterator[tuple]:
    for r in rows:
        yield (r.person_id, r.name, r.framework, r.area, "" if r.planned is None else r.planned,
               "" if r.expected is None else r.expected, r.logged, r.verified,
               "yes" if r.drifting else "no")


def mentor_table(report: MentorLoad) -> tuple[tuple[str, ...], list[tuple]]:
    header = ("mentor_id", "mentor", "apprentices", "entries_waiting", "median_wait_days",
              "sign_offs_made", *(f"sign_offs_{m:%Y-%m}" for m in report.months))
    return header, [(r.mentor_id, r.name, r.apprentices, r.waiting,
                     "" if r.median_wait_days is None else f"{r.median_wait_days:g}", r.sign_offs,
                     *r.per_month) for r in report.rows]


HEALTH = ("problem", "person_id", "person", "framework", "detail")


def health_rows(report: Health) -> list[tuple]:
    rows = [("behind" if not b.overdue else "overdue", b.person_id, b.name, b.framework,
             f"{b.percent}% signed off, {b.expected_percent}% expected; "
             f"target {b.target_date.isoformat()}") for b in report.behind]
    rows += [("no log", q.person_id, q.name, q.framework,
              f"last entry {q.last_logged.isoformat()}" if q.last_logged
              else "nothing logged since the start") for q in report.quiet]
    rows += [("area nobody mentors", u.person_id, u.name, u.framework, u.area)
             for u in report.unmentored]
    return rows


PROGRESS = ("month", "as_of", "framework", "share_signed_off_percent", "expected_percent")


def progress_rows(report: ProgressOverTime) -> list[tuple]:
    return [(f"{m.month:%Y-%m}", m.as_of.isoformat(), p.framework, share, expected)
            for m in report.months
            for p, share, expected in zip(report.programmes, m.shares, m.expected, strict=True)
            if share is not None]
