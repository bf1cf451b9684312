"""The audit trail for coordinators: recent records, the newest hash, a chain check."""

from flask import Blueprint, render_template, request

from apprentice.audit import services
from apprentice.auth.access import requires_role
from apprentice.people.models import Role

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/", methods=["GET", "POST"])
@requires_role(Role.COORDINATOR)
def index():
    report = services.verify() if request.method == "POST" else None
    records = services.recent(100)  # newest first: the newest record is the first of them
    return render_template("apprentice/audit/index.html", records=records,
                           newest=records[0] if records else None, report=report)
