"""The plugin's blueprint: every page hangs below it, and its hooks run only for them.

Hooks are the blueprint's own (``before_request``, ``context_processor``,
``errorhandler``), never the ``*_app_*`` kinds, so a host's pages are untouched.
The one app-wide hook is the extension's teardown, which only closes the
session apprentice opened (if any).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_url
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from sqlalchemy.exc import OperationalError, ProgrammingError
from werkzeug.exceptions import HTTPException, InternalServerError
from wtforms.validators import ValidationError

from apprentice import db, migrate
from apprentice.audit import permissions as audit_permissions
from apprentice.auth.services import (
    SignInGone,
    current_viewer,
    local_sign_in,
    signed_in,
    staff_or_nobody,
    staff_read_again,
    why_no_profile,
)
from apprentice.core.answers import answers_json_now
from apprentice.core.headers import add_security_headers
from apprentice.core.kept import Kept, keep_submitted_form, remember_keeper
from apprentice.credentials import permissions as credential_permissions
from apprentice.credentials import services as credential_services
from apprentice.formatting import duration
from apprentice.forms import said
from apprentice.kb import applier
from apprentice.kb import permissions as kb_permissions
from apprentice.people import permissions as people_permissions
from apprentice.people.models import StaffProfile
from apprentice.programmes import permissions as programme_permissions
from apprentice.reports import figures as report_figures
from apprentice.reports import permissions as report_permissions
from apprentice.resources import resource_dir
from apprentice.sharing import permissions as sharing_permissions
from apprentice.training import permissions as training_permissions

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
    """One link in the navigation; shown to everyone, or with ``shown_to`` to whom the
    page's own permission predicate lets in."""

    endpoint: str
    label: str
    shown_to: Callable[[StaffProfile], bool] | None = None

    def shown(self, staff: StaffProfile) -> bool:
        return self.shown_to is None or self.shown_to(staff)


# The one list of top-level pages; each feature adds its own entries here.
NAVIGATION: list[NavItem] = [
    NavItem("apprentice.records.home", "Home"),
    NavItem("apprentice.training.log", "My log", training_permissions.may_keep_log),
    NavItem("apprentice.records.my_programmes", "My programme",
            programme_permissions.may_see_own_programmes),
    NavItem("apprentice.training.review", "Review", training_permissions.may_review_entries),
    NavItem("apprentice.procedures.index", "Procedures"),
    NavItem("apprentice.frameworks.index", "Competencies"),
    NavItem("apprentice.records.cohort", "Programmes", programme_permissions.may_see_cohort),
    NavItem("apprentice.reports.index", "Reports", report_permissions.may_read_reports),
    NavItem("apprentice.training.pairings", "Pairings", training_permissions.may_manage_pairings),
    NavItem("apprentice.people.index", "People", people_permissions.may_manage_people),
    NavItem("apprentice.audit.index", "Audit", audit_permissions.may_read_audit),
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
    g.csrf_valid = True  # checked: a Flask-WTF form of the host's in the same request skips it


def _is_public() -> bool:
    if request.endpoint == "apprentice.static":
        return True
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "apprentice_public", False))


def _refuse_nul_bytes() -> None:
    """No database stores a NUL character in text (PostgreSQL refuses it): say so, as a 400."""
    # Only a request that may write has a form worth reading (and parsing one costs).
    sent = (request.args, request.form) if request.method in UNSAFE_METHODS else (request.args,)
    for values in sent:
        if any("\x00" in key + value for key, value in values.items(multi=True)):
            abort(400, "The request held a character that cannot be stored (NUL).")


# -- a form's reads before its write turn (apprentice/db.py) ------------------------------
# Registered first: every statement of a form's request, the checks below included,
# reads before SQLite's write lock is taken.

@bp.before_request
def _reads_first():
    if request.method in UNSAFE_METHODS:
        db.reading_before_writing()


# -- a database not set up, or not upgraded, yet -----------------------------------------
# Registered before _guard, so it runs first: nothing may read a table before it.

@bp.before_request
def _database_ready():
    """A database without apprentice's tables (or behind the newest migration) gets a
    page saying what to run (503), not a 500. Checked once per process while all is
    well; again when a table turns out to be missing (``_missing_table``)."""
    if request.endpoint == "apprentice.static":
        return None
    problem = migrate.ready_problem()
    return None if problem is None else _database_not_ready(problem)


@bp.before_request
def _index_applier():
    """This process's search index applier (apprentice/kb/applier.py) starts with its first
    page: in the worker, after gunicorn forked it, and only on a database that is ready."""
    applier.ensure_started(current_app._get_current_object())


def _database_not_ready(problem: str):
    session = g.get("apprentice_db_session")
    if session is not None:
        session.rollback()
    g.apprentice_staff = None  # nobody can be looked up without the tables...
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is not None:  # ...not even by Flask-Login for the page's layout
        g._login_user = login_manager.anonymous_user()
    return render_error(503, problem)


@bp.errorhandler(OperationalError)
@bp.errorhandler(ProgrammingError)
def _missing_table(exc):
    """A table missing mid-request (a downgrade, another database file): check the
    schema again and say what to run; any other database error goes on as before."""
    if not migrate.names_a_missing_table(exc):
        raise exc
    migrate.forget_ready()
    problem = migrate.ready_problem()
    if problem is None:
        raise exc
    return _database_not_ready(problem)


@bp.before_request
def _guard():
    """CSRF on every POST; then a signed-in, active profile for every page not public.

    A form sent after the sign-in ended is answered first, before the CSRF check
    (whose token ended with the session): nothing is done, what was typed is kept.
    """
    if (request.method in UNSAFE_METHODS and not _is_public()
            and current_viewer() is None and not signed_in()):
        return sign_in_ended()
    _check_csrf()
    _refuse_nul_bytes()
    if _is_public():
        return None
    staff = current_viewer()
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


@bp.before_request
def _write_turn():
    """A form got through the guard (which only read): its view takes SQLite's write lock
    from its first statement, and who sent it is checked again under the lock (a sign-out
    everywhere or a deactivation may have been committed while it waited its turn). A
    view marked to read first leaves both to its service (apprentice.db.reads_first)."""
    view = current_app.view_functions.get(request.endpoint)
    if request.method not in UNSAFE_METHODS or getattr(view, "apprentice_reads_first", False):
        return None
    db.write_turn()
    if _is_public():
        return None
    return sign_in_ended() if staff_read_again() is None else None


@bp.errorhandler(SignInGone)
def _sign_in_gone(exc: SignInGone):
    """Let in at the start of the request, gone by the time the profile was read: the
    guard's own answers (a form's text is kept; a deactivated person is told why)."""
    if request.method in UNSAFE_METHODS:
        return sign_in_ended()
    if exc.deactivated:
        return render_error(403, why_no_profile())
    return current_app.login_manager.unauthorized()


@bp.context_processor
def template_context():
    staff = staff_or_nobody()
    nav = [item for item in NAVIGATION if staff is not None and item.shown(staff)]
    return {
        "apprentice_base_template": current_app.config["APPRENTICE_BASE_TEMPLATE"],
        "apprentice_site_name": current_app.config["APPRENTICE_SITE_NAME"],
        "apprentice_nav": nav,
        "apprentice_staff": staff,
        "apprentice_local_sign_in": local_sign_in(),
        "csrf_token": generate_csrf,
        # The words a save's address asks for (apprentice.forms.said, apprentice/_said.html).
        "apprentice_said": said,
        # Lengths of time in words ("4 h 45 min"), the same on every page.
        "ap_duration": duration,
        # Pages that link to procedures (a log entry's "Followed") ask the wiki's own
        # rule whether the viewer may open each one, instead of deciding in the template.
        "may_see_procedure": lambda procedure: kb_permissions.may_see_procedure(
            staff, procedure),
        # -- programmes (apprentice/programmes/permissions.py) --
        # A programme's summary is shown on several pages (home, the apprentice's page a
        # mentor opens); its "Choose electives" link asks the programmes' own rule.
        "may_choose_electives": lambda enrolment: programme_permissions.may_choose_electives(
            staff, enrolment),
        # -- share links (apprentice/sharing/permissions.py) --
        # The apprentice page links to the person's share links for whoever may list them.
        "may_see_share_links": lambda person_id: sharing_permissions.may_see_links(
            staff, person_id),
        # -- credentials (apprentice/credentials/permissions.py) --
        # The apprentice page links to the person's Credentials page for coordinators.
        "may_manage_credentials": lambda person_id: credential_permissions
        .may_manage_credentials(staff),
        # The apprentice's own credentials on their home page, read only there.
        "ap_own_credentials": lambda: credential_services.credentials_of(staff.id),
        # -- reports (apprentice/reports) --
        # The apprentice's hours per week on their home page, computed only there.
        "ap_own_weeks": lambda: report_figures.own_weeks(staff),
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
    503: ("apprentice is not ready yet", "Try again in a few minutes."),  # see _database_ready
    429: ("Too many requests", "Wait a minute and try again."),
    500: ("Something went wrong on our side",
          "Nothing you saved before is lost. Try again in a moment; if it keeps happening, "
          "tell your coordinator."),
}


def render_error(code: int, detail: str | None = None):
    """A friendly error page in the apprentice layout (JSON for a JSON endpoint)."""
    title, hint = ERROR_MESSAGES.get(code, ERROR_MESSAGES[500 if code >= 500 else 400])
    if answers_json_now():
        return json_error(code, title, detail or hint)
    # Passed explicitly: the app-level 404 of the standalone app is outside the blueprint.
    return render_template(
        "apprentice/errors/error.html",
        code=code, title=title, detail=detail or hint, **template_context(),
    ), code


@bp.errorhandler(HTTPException)
def http_error_page(exc: HTTPException):
    """An HTTP error as a friendly page; the standalone app uses it for every URL."""
    if isinstance(exc, CSRFError):
        if staff_or_nobody() is not None:
            # Signed in, but the form outlived its token: keep what was typed.
            kept = keep_submitted_form()
            if kept.kept:
                return _render_kept(kept, 400, expired_form=True)
        return render_error(400, "The form had expired or was sent from elsewhere. "
                                 "Reload the page and try again; nothing was changed.")
    if exc.code is None or exc.code < 400 or exc.response is not None:
        return exc
    detail = exc.description if exc.description != type(exc).description else None
    return render_error(exc.code, detail)


# -- JSON endpoints answer errors in JSON (see apprentice/core/answers.py) --------------
# render_error asks first: a refused query (a NUL byte, a 403, a 500) on /api/search or
# the log form's suggestions is {"error": ...} with the same status, never an HTML page.

def json_error(code: int, title: str, detail: str):
    """An error as the JSON endpoints' scripts read it: ``error`` says what happened."""
    return jsonify({"error": detail, "title": title, "status": code}), code


# -- forms sent after the sign-in ended (see apprentice/core/kept.py) -----------------

SIGN_IN_ENDED = "Your sign-in has ended"


def _sign_in_url(target: str) -> str | None:
    """Where to sign in again and come back to ``target``: apprentice's own page, or
    the host's login view; None when the host has none to link to."""
    if local_sign_in():
        return url_for("apprentice.auth.sign_in", next=target)
    view = getattr(current_app.login_manager, "login_view", None)
    return login_url(view, next_url=target) if view else None


def _render_kept(kept: Kept, code: int, expired_form: bool = False):
    title = "That form had expired" if expired_form else SIGN_IN_ENDED
    return remember_keeper(make_response(render_template(
        "apprentice/errors/sign_in_ended.html", title=title, kept=kept,
        expired_form=expired_form, sign_in_url=_sign_in_url(kept.target),
    ), code), kept)


def sign_in_ended():
    """A form sent by someone no longer signed in: keep what they typed (never the
    action), and offer to sign in and come back to the form with it (401)."""
    return _render_kept(keep_submitted_form(), 401)


# -- security headers (see apprentice/core/headers.py) -----------------------------------
# A blueprint hook: it runs for every page below ``bp`` (the features are nested in it),
# its assets, and the error pages its handlers render, but never for a host's own pages.

@bp.after_request
def _security_headers(response):
    """CSP, nosniff, Referrer-Policy and frame rules on every apprentice response."""
    return add_security_headers(response)


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
from apprentice.credentials.views import bp as credentials_bp  # noqa: E402
from apprentice.kb.views import api as api_bp  # noqa: E402
from apprentice.kb.views import bp as procedures_bp  # noqa: E402
from apprentice.people.views import bp as people_bp  # noqa: E402
from apprentice.portfolios.views import bp as portfolios_bp  # noqa: E402
from apprentice.programmes.views import bp as programmes_bp  # noqa: E402
from apprentice.records.views import bp as records_bp  # noqa: E402
from apprentice.reports.views import bp as reports_bp  # noqa: E402
from apprentice.sharing.views import bp as sharing_bp  # noqa: E402
from apprentice.statements.views import bp as statements_bp  # noqa: E402
from apprentice.training.views import bp as training_bp  # noqa: E402

for feature in (auth_bp, people_bp, frameworks_bp, programmes_bp, records_bp, training_bp,
                statements_bp, portfolios_bp, sharing_bp, reports_bp, audit_bp, procedures_bp,
                api_bp, credentials_bp):
    bp.register_blueprint(feature)
