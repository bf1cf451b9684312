"""The pages that read a person's record: the home page's dashboards, the apprentice
page (as a mentor or a coordinator sees it) and the programme pages with their progress.

They sit here, above training and programmes, because they read the record model;
the forms that change a programme stay in :mod:`apprentice.programmes.views`.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, render_template, request

from apprentice.auth.access import requires
from apprentice.auth.services import current_staff
from apprentice.competencies import services as frameworks
from apprentice.core.pagecache import kept_page
from apprentice.forms import ID, id_number, page_number
from apprentice.people import services as people
from apprentice.programmes import permissions as programme_permissions
from apprentice.programmes.forms import TargetDateForm
from apprentice.programmes.models import EnrolmentStatus
from apprentice.programmes.views import enrolment_for_viewer
from apprentice.records import dashboards, services
from apprentice.records.record import record_of
from apprentice.training import permissions as training_permissions
from apprentice.training import services as training

bp = Blueprint("records", __name__)


@bp.route("/")
@kept_page()
def home():
    """Dashboards by what the person does (their own record, their apprentices); the
    whole cohort only for who may see it (programmes.permissions)."""
    staff = current_staff()
    return render_template(
        "apprentice/home.html", staff=staff, has_no_role=not staff.roles,
        apprentice=dashboards.apprentice_dashboard(staff)
        if training_permissions.may_keep_log(staff) else None,
        mentor=dashboards.mentor_dashboard(staff)
        if training_permissions.may_review_entries(staff) else None,
        coordinator=dashboards.coordinator_dashboard(
            page=page_number(request.args.get("page")),
            per_page=current_app.config["APPRENTICE_PAGE_SIZE"])
        if programme_permissions.may_see_cohort(staff) else None,
    )


@bp.route(f"/apprentices/<{ID}:person_id>")
@requires(training_permissions.may_see_apprentices)
def apprentice(person_id: int):
    """The mentor's view: progress with a Sign off button for each competency in the
    viewer's paired areas, the evidence timeline (a page at a time), the sign-offs; a
    mentor paired for some areas sees those areas only (dashboards.apprentice_record)."""
    staff = current_staff()
    person = people.get_person(person_id)
    viewer_pairings = training_permissions.pairings_between(staff.id, person_id)
    if person is None or not training_permissions.may_view_apprentice(
            staff, person_id, date.today(), viewer_pairings):
        abort(404)
    page = page_number(request.args.get("page"))
    record = dashboards.apprentice_record(staff, person, page, viewer_pairings)
    return render_template("apprentice/training/apprentice.html", person=person,
                           record=record, page=page, per_page=training.TIMELINE_PAGE_SIZE)


@bp.route("/programmes/mine")
def my_programmes():
    staff = current_staff()
    return render_template("apprentice/programmes/mine.html",
                           programmes=record_of(staff.id, entries=False).enrolments,
                           staff=staff)


@bp.route("/programmes/")
@requires(programme_permissions.may_see_cohort)
def cohort():
    framework_id = id_number(request.args.get("framework"))
    status = request.args.get("status", "active")
    if status not in {s.value for s in EnrolmentStatus} | {""}:
        status = "active"
    cohort = services.cohort_page(page_number(request.args.get("page")),
                                  current_app.config["APPRENTICE_PAGE_SIZE"],
                                  framework_id=framework_id, status=status or None)
    return render_template(
        "apprentice/programmes/index.html", rows=cohort.rows, cohort=cohort,
        frameworks=frameworks.list_frameworks(include_unpublished=True),
        framework_id=framework_id, status=status,
    )


@bp.route(f"/programmes/<{ID}:enrolment_id>")
def programme(enrolment_id: int):
    enrolment = enrolment_for_viewer(enrolment_id)
    staff = current_staff()
    record = record_of(enrolment.person_id, entries=False)
    return render_template(
        "apprentice/programmes/show.html", record=record,
        enrolment=record.enrolment(enrolment.id),
        target_form=TargetDateForm(target_date=enrolment.target_date),
        may_see_cohort=programme_permissions.may_see_cohort(staff),
        may_set_target=programme_permissions.may_set_target(staff, enrolment),
        may_finish=programme_permissions.may_finish(staff, enrolment),
    )
