"""The plugin's blueprint: every page hangs below it, and its hooks run only for them.

Hooks are the blueprint's own (``before_request``, ``context_processor``,
``errorhandler``), never the ``*_app_*`` kinds, so a host's pages are untouched.
The one app-wide hook is the extension's teardown, which only closes the
session apprentice opened (if any).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException, InternalServerError
from wtforms.validators import ValidationError

from apprentice.auth.services import current_staff, local_sign_in, signed_in, why_no_profile
from apprentice.people.models import Role
from apprentice.resources import resource_dir

bp = Blueprint(
    "apprentice",
    __name__,
    template_folder=str(resource_dir("templates")),
    static_folder="static",
    static_url_path="/assets",
    cli_group="apprentice",
)
bp.cli.help = "apprentice: database, people and demo data."


@dataclass(frozen=True)
class NavItem:
    """One link in the navigation; shown to people holding any of ``roles`` (or to all)."""

    endpoint: str
    label: str
    roles: tuple[Role, ...] = ()


# The one list of top-level pages; each feature adds its own entries here.
NAVIGATION: list[NavItem] = [
    NavItem("apprentice.core.home", "Home"),
    NavItem("apprentice.training.log", "My log", (Role.APPRENTICE,)),
    NavItem("apprentice.programmes.mine", "My programme", (Role.APPRENTICE,)),
    NavItem("apprentice.training.review", "Review", (Role.MENTOR,)),
    NavItem("apprentice.procedures.index", "Procedures"),
    NavItem("apprentice.frameworks.index", "Competencies"),
    NavItem("apprentice.programmes.index", "Programmes", (Role.COORDINATOR,)),
    NavItem("apprentice.training.pairings", "Pairings", (Role.COORDINATOR,)),
    NavItem("apprentice.people.index", "People", (Role.COORDINATOR,)),
    NavItem("apprentice.audit.index", "Audit", (Role.COORDINATOR,)),
]

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _check_csrf() -> None:
    """Refuse (400) a state-changing request without a valid CSRF token."""
    if request.method not in UNSAFE_METHODS or not current_app.config["APPRENTICE_CSRF_ENABLED"]:
        return
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from exc
    g.csrf_valid = True  # Flask-WTF's forms then skip checking it again


def _is_public() -> bool:
    if request.endpoint == "apprentice.static":
        return True
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "apprentice_public", False))


def _refuse_nul_bytes() -> None:
    """No database stores a NUL character in text (PostgreSQL refuses it): say so, as a 400."""
    for values in (request.args, request.form):
        if any("\x00" in key + value for key, value in values.items(multi=True)):
            abort(400, "The request held a character that cannot be stored (NUL).")


@bp.before_request
def _guard():
    """CSRF on every POST; then a signed-in, active profile for every page not public."""
    _check_csrf()
    _refuse_nul_bytes()
    if _is_public():
        return None
    staff = current_staff()
    if staff is None:
        if signed_in():
            return render_error(403, why_no_profile())
        return current_app.login_manager.unauthorized()
    if (
        local_sign_in()
        and staff.password_must_change
        and request.endpoint != "apprentice.auth.change_password"
    ):
        return redirect(url_for("apprentice.auth.change_password", next=request.path))
    return None


@bp.context_processor
def template_context():
    staff = current_staff()
    nav = [
        item for item in NAVIGATION
        if staff is not None and (not item.roles or staff.has_role(*item.roles))
    ]
    return {
        "apprentice_base_template": current_app.config["APPRENTICE_BASE_TEMPLATE"],
        "apprentice_site_name": current_app.config["APPRENTICE_SITE_NAME"],
        "apprentice_nav": nav,
        "apprentice_staff": staff,
        "apprentice_local_sign_in": local_sign_in(),
        "csrf_token": generate_csrf,
    }


ERROR_MESSAGES = {
    400: ("Something in that request was not right",
          "The form may have expired. Go back, reload the page and try again."),
    401: ("Please sign in", "This page needs you to be signed in."),
    403: ("You do not have access to this page",
          "It belongs to another role. If you think you should see it, ask your coordinator."),
    404: ("Page not found",
          "The page may have moved, or the link may be mistyped."),
    405: ("That action is not available here", "Go back and use the buttons on the page."),
    413: ("That upload is too large", "Try a smaller file."),
    429: ("Too many requests", "Wait a minute and try again."),
    500: ("Something went wrong on our side",
          "Nothing you saved before is lost. Try again in a moment; if it keeps happening, "
          "tell your coordinator."),
}


def render_error(code: int, detail: str | None = None):
    """A friendly error page in the apprentice layout."""
    title, hint = ERROR_MESSAGES.get(code, ERROR_MESSAGES[500 if code >= 500 else 400])
    # Passed explicitly: the app-level 404 of the standalone app is outside the blueprint.
    return render_template(
        "apprentice/errors/error.html",
        code=code, title=title, detail=detail or hint, **template_context(),
    ), code


@bp.errorhandler(HTTPException)
def http_error_page(exc: HTTPException):
    """An HTTP error as a friendly page; the standalone app uses it for every URL."""
    if isinstance(exc, CSRFError):
        return render_error(400, "The form had expired or was sent from elsewhere. "
                                 "Reload the page and try again; nothing was changed.")
    if exc.code is None or exc.code < 400 or exc.response is not None:
        return exc
    detail = exc.description if exc.description != type(exc).description else None
    return render_error(exc.code, detail)


PLAIN_500 = (
    "<!doctype html><title>Something went wrong</title><h1>Something went wrong on our side</h1>"
    "<p>Nothing you saved before is lost. Try again in a moment.</p>"
)


@bp.errorhandler(InternalServerError)
def server_error(_exc):
    """Roll back what the failed request left half-done, then apologise."""
    session = g.get("apprentice_db_session")
    if session is not None:
        session.rollback()
    try:
        return render_error(500)
    except Exception:  # the database itself may be what failed
        current_app.logger.exception("apprentice could not render its error page")
        return PLAIN_500, 500


# Feature blueprints, mounted below this one.
from apprentice import cli  # noqa: E402, F401 - registers the commands on bp.cli
from apprentice.audit.views import bp as audit_bp  # noqa: E402
from apprentice.auth.views import bp as auth_bp  # noqa: E402
from apprentice.competencies.views import bp as frameworks_bp  # noqa: E402
from apprentice.core.views import bp as core_bp  # noqa: E402
from apprentice.kb.views import api as api_bp  # noqa: E402
from apprentice.kb.views import bp as procedures_bp  # noqa: E402
from apprentice.people.views import bp as people_bp  # noqa: E402
from apprentice.programmes.views import bp as programmes_bp  # noqa: E402
from apprentice.training.views import bp as training_bp  # noqa: E402

for feature in (core_bp, auth_bp, people_bp, frameworks_bp, programmes_bp, training_bp,
                audit_bp, procedures_bp, api_bp):
    bp.register_blueprint(feature)
