"""The home page: where each person starts, by their roles."""

from flask import Blueprint, render_template

from apprentice.auth.services import current_staff

bp = Blueprint("core", __name__)


@bp.route("/")
def home():
    return render_template("apprentice/home.html", staff=current_staff())
