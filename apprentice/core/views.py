"""The home page: each person's dashboard, by their roles."""

from flask import Blueprint, render_template

from apprentice.auth.services import current_staff
from apprentice.people.models import Role
from apprentice.programmes import permissions as programme_permissions
from apprentice.training import dashboards

bp = Blueprint("core", __name__)


@bp.route("/")
def home():
    """Dashboards by what the person does (their own record, their apprentices); the
    whole cohort only for who may see it (programmes.permissions)."""
    staff = current_staff()
    return render_template(
        "apprentice/home.html", staff=staff, has_no_role=not staff.roles,
        apprentice=dashboards.apprentice_dashboard(staff)
        if staff.has_role(Role.APPRENTICE) else None,
        mentor=dashboards.mentor_dashboard(staff) if staff.has_role(Role.MENTOR) else None,
        coordinator=dashboards.coordinator_dashboard()
        if programme_permissions.may_see_cohort(staff) else None,
    )
