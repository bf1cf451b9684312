"""The home page: each person's dashboard, by their roles."""

from flask import Blueprint, render_template

from apprentice.auth.services import current_staff
from apprentice.people.models import Role
from apprentice.training import dashboards

bp = Blueprint("core", __name__)


@bp.route("/")
def home():
    staff = current_staff()
    return render_template(
        "apprentice/home.html", staff=staff,
        apprentice=dashboards.apprentice_dashboard(staff)
        if staff.has_role(Role.APPRENTICE) else None,
        mentor=dashboards.mentor_dashboard(staff) if staff.has_role(Role.MENTOR) else None,
        coordinator=dashboards.coordinator_dashboard()
        if staff.has_role(Role.COORDINATOR) else None,
    )
