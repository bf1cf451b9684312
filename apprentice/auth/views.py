"""Sign in, sign out, change one's password (standalone mode signs in here)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from apprentice.auth import sessions
from apprentice.auth.access import public
from apprentice.auth.forms import ChangePasswordForm, SignInForm
from apprentice.auth.services import (
    attempt_sign_in,
    change_password,
    current_staff,
    end_every_session,
    local_sign_in,
    minutes_text,
)
from apprentice.forms import safe_next
from apprentice.validation import Invalid

bp = Blueprint("auth", __name__)

GENERIC_FAILURE = "That e-mail address and password do not match. Check both and try again."


def _home():
    return url_for("apprentice.records.home")


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    if not local_sign_in():
        abort(404)
    if current_staff() is not None:
        return redirect(safe_next(request.args.get("next")) or _home())
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        result = attempt_sign_in(form.email.data, form.password.data, request.remote_addr)
        if result.staff is not None:
            target = safe_next(form.next.data) or _home()
            # A fresh session on sign-in: nothing from before survives (session fixation).
            session.clear()
            login_user(result.staff, remember=form.remember.data)
            sessions.note_confirmed()  # the password just typed spares it on sign-offs
            if result.staff.password_must_change:
                flash("Welcome! Please choose your own password now.", "info")
                return redirect(url_for("apprentice.auth.change_password", next=target))
            return redirect(target)
        if result.throttled_minutes:
            form.form_errors.append(
                "Too many failed sign-ins. For your safety, try again in "
                f"{minutes_text(result.throttled_minutes)}."
            )
            status = 429
        elif result.deactivated:
            form.form_errors.append(
                "Your account has been deactivated. Ask your programme coordinator."
            )
            status = 403
        else:
            form.form_errors.append(GENERIC_FAILURE)
            status = 401
    return render_template("apprentice/auth/sign_in.html", form=form), status


@bp.route("/sign-out", methods=["POST"])
@public
def sign_out():
    if local_sign_in():
        staff = current_staff()
        if staff is not None:
            end_every_session(staff)  # copied and remembered cookies end with this one
        # Clear first: logout_user() leaves word in the session to delete the
        # "keep me signed in" cookie, which clearing afterwards would lose.
        session.clear()
        logout_user()
        flash("You are signed out.", "info")
        return redirect(url_for("apprentice.auth.sign_in"))
    return redirect(_home())


@bp.route("/account/password", methods=["GET", "POST"], endpoint="change_password")
def change_password_page():
    if not local_sign_in():
        abort(404)
    staff = current_staff()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(staff, form.current_password.data, form.new_password.data,
                            request.remote_addr)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            # The new session token ended every other session; keep this one.
            login_user(staff)
            flash("Your password is changed.", "success")
            return redirect(safe_next(request.args.get("next")) or _home())
    return render_template("apprentice/auth/change_password.html", form=form)
