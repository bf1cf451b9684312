"""The home page: each person's dashboard, by their roles."""

from flask import Blueprint, render_template

from apprentice.auth.services import current_staff
from apprentice.programmes import permissions as programme_permissions
from apprentice.training import dashboards
from apprentice.training import permissions as training_permissions

bp = Blueprint("core", __name__)


@bp.route("/")
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
        coordinator=dashboards.coordinator_dashboard()
        if programme_permissions.may_see_cohort(staff) else None,
    )
