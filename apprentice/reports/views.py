"""The reports' pages, each also a CSV (``/reports/<name>.csv``), for who may read them
(coordinators). Filters are GET forms: a bad value gets a message next to its field and
the report is shown without it; a person the viewer may not see is a 404."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from apprentice.auth.access import requires
from apprentice.auth.services import current_staff
from apprentice.forms import ID, id_number, page_number
from apprentice.people import services as people
from apprentice.reports import exports, figures, permissions, services
from apprentice.reports.forms import (
    MAX_DAYS,
    ActivityFilterForm,
    CohortFilterForm,
    HealthFilterForm,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")
# Each report is two rules, the page's registered first: url_for without ``fmt`` builds
# the page, with ``fmt="csv"`` the CSV.

# The reports, as the index lists them: (endpoint, title, what it answers).
REPORTS = (
    ("apprentice.reports.cohort", "Cohort progress",
     "Everyone by areas: the share of each area signed off."),
    ("apprentice.reports.activity", "Activity over time",
     "Time logged per week, by area, for the cohort or one person."),
    ("apprentice.reports.hours", "Planned and logged hours",
     "Planned, logged and verified time per person and area, and who is drifting."),
    ("apprentice.reports.mentors", "Mentor load",
     "Apprentices, entries waiting and for how long, sign-offs per month."),
    ("apprentice.reports.health", "Programme health",
     "Behind the pace, nothing logged for a month, areas nobody mentors."),
)


def _valid(field):
    """A filter field's value, or None when empty (blanks too: Optional lets them
    through unchecked) or refused (its message is shown)."""
    value = field.data.strip() if isinstance(field.data, str) else field.data
    return value if value and not field.errors else None


def _kept(**values) -> dict[str, str]:
    """The filter values to keep in links (pages, the CSV), as the query string has them."""
    return {name: v.isoformat() if isinstance(v, date) else str(v)
            for name, v in values.items() if v}


FILTERS = ("framework", "mentor", "since", "until", "person")


def _csv_refused(form, endpoint: str):
    """A CSV asked with a bad filter: the page, saying what is wrong, rather than a
    download of something else (None: nothing wrong)."""
    if not form.errors:
        return None
    return redirect(url_for(endpoint, **{name: value for name, value in request.args.items()
                                         if name in FILTERS}))


def _cohort_filter() -> tuple[CohortFilterForm, services.CohortFilter, dict[str, str]]:
    form = CohortFilterForm(request.args)
    form.offer_frameworks(services.frameworks())
    form.offer_mentors(services.mentors())
    form.validate()
    framework, mentor = _valid(form.framework), _valid(form.mentor)
    since, until = _valid(form.since), _valid(form.until)
    chosen = services.CohortFilter(int(framework) if framework else None,
                                   int(mentor) if mentor else None, since, until)
    return form, chosen, _kept(framework=framework, mentor=mentor, since=since, until=until)


def _per_page() -> int:
    return current_app.config["APPRENTICE_PAGE_SIZE"]


@bp.route("/")
@requires(permissions.may_read_reports)
def index():
    return render_template("apprentice/reports/index.html", reports=REPORTS)


@bp.route("/cohort.csv", defaults={"fmt": "csv"})
@bp.route("/cohort", defaults={"fmt": "html"})
@requires(permissions.may_read_reports)
def cohort(fmt: str):
    form, chosen, keep = _cohort_filter()
    staff = current_staff()
    if fmt == "csv":
        return _csv_refused(form, "apprentice.reports.cohort") or exports.csv_response(
            "cohort-progress", exports.COHORT,
            exports.cohort_rows(services.cohort_cells(chosen, viewer=staff)))
    report = services.cohort_progress(chosen, page=page_number(request.args.get("page")),
                                      per_page=_per_page(), viewer=staff)
    return render_template("apprentice/reports/cohort.html", report=report, filters=form,
                           chosen=chosen, keep=keep, chart=figures.cohort_heat(report))


def _weeks(form: ActivityFilterForm) -> tuple[date, date]:
    """The range asked, or twelve weeks to today (to its end, back from it)."""
    since, until = _valid(form.since), _valid(form.until) or date.today()
    if since is not None and (until - since).days > MAX_DAYS:  # "to" left blank: today
        form.since.errors = [*form.since.errors, "Choose at most three years."]
        since = None
    return since or services.default_weeks(until)[0], until


@bp.route("/activity.csv", defaults={"fmt": "csv"})
@bp.route("/activity", defaults={"fmt": "html"})
@requires(permissions.may_read_reports)
def activity(fmt: str):
    staff = current_staff()
    person = None
    if request.args.get("person"):
        number = id_number(request.args["person"])
        person = people.get_person(number) if number else None
        if not permissions.may_see_in_reports(staff, person):
            abort(404)
    form = ActivityFilterForm(request.args)
    form.offer_frameworks(services.frameworks())
    form.validate()
    since, until = _weeks(form)
    if fmt == "csv" and form.errors:
        return _csv_refused(form, "apprentice.reports.activity")
    framework = _valid(form.framework) if person is None else None
    report = services.activity(since=since, until=until,
                               person_id=person.id if person else None,
                               framework_id=int(framework) if framework else None, viewer=staff)
    if fmt == "csv":
        header, rows = exports.activity_table(report)
        name = f"activity-person-{person.id}" if person else "activity"
        return exports.csv_response(name, header, rows)
    keep = _kept(person=person.id if person else None, framework=framework,
                 since=_valid(form.since), until=_valid(form.until))
    return render_template("apprentice/reports/activity.html", report=report, filters=form,
                           keep=keep, chart=figures.activity_chart(report))


@bp.route("/hours.csv", defaults={"fmt": "csv"})
@bp.route("/hours", defaults={"fmt": "html"})
@requires(permissions.may_read_reports)
def hours(fmt: str):
    form, chosen, keep = _cohort_filter()
    staff = current_staff()
    if fmt == "csv":
        return _csv_refused(form, "apprentice.reports.hours") or exports.csv_response(
            "hours", exports.HOURS, exports.hours_rows(services.hours_rows(chosen, viewer=staff)))
    report = services.hours(chosen, page=page_number(request.args.get("page")),
                            per_page=_per_page(), viewer=staff)
    return render_template("apprentice/reports/hours.html", report=report, filters=form,
                           chosen=chosen, keep=keep, chart=figures.hours_chart(report))


@bp.route("/mentors.csv", defaults={"fmt": "csv"})
@bp.route("/mentors", defaults={"fmt": "html"})
@requires(permissions.may_read_reports)
def mentors(fmt: str):
    report = services.mentor_load(viewer=current_staff())
    if fmt == "csv":
        header, rows = exports.mentor_table(report)
        return exports.csv_response("mentor-load", header, rows)
    return render_template("apprentice/reports/mentors.html", report=report,
                           chart=figures.mentor_chart(report))


@bp.route("/health.csv", defaults={"fmt": "csv"})
@bp.route("/health", defaults={"fmt": "html"})
@requires(permissions.may_read_reports)
def health(fmt: str):
    form = HealthFilterForm(request.args)
    form.offer_frameworks(services.frameworks())
    form.validate()
    framework = _valid(form.framework)
    if fmt == "csv" and form.errors:
        return _csv_refused(form, "apprentice.reports.health")
    report = services.health(framework_id=int(framework) if framework else None,
                             viewer=current_staff())
    if fmt == "csv":
        return exports.csv_response("programme-health", exports.HEALTH,
                                    exports.health_rows(report))
    return render_template("apprentice/reports/health.html", report=report, filters=form,
                           keep=_kept(framework=framework), shown=_per_page(),
                           quiet_days=services.QUIET_DAYS)


@bp.route(f"/progress/<{ID}:person_id>.csv", defaults={"fmt": "csv"})
@bp.route(f"/progress/<{ID}:person_id>", defaults={"fmt": "html"})
@requires(permissions.may_read_reports)
def progress(person_id: int, fmt: str):
    report = services.progress_over_time(person_id, viewer=current_staff())
    if report is None:
        abort(404)
    if fmt == "csv":
        return exports.csv_response(f"progress-person-{person_id}", exports.PROGRESS,
                                    exports.progress_rows(report))
    return render_template("apprentice/reports/progress.html", report=report,
                           chart=figures.progress_chart(report), max_months=services.MAX_MONTHS)
