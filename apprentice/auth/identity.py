"""Asking a signed-in person to confirm who they are before a weighty act."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, request
from flask_login import login_fresh

from apprentice.auth import sessions
from apprentice.auth.services import (
    check_password_throttled,
    current_staff,
    local_sign_in,
    minutes_text,
)


def recently_confirmed() -> tuple[datetime, datetime] | None:
    """When this browser session last confirmed it is them, and until when that spares
    them the password (UTC), or None when a form must ask for it (standalone only: a
    host's sign-in decides freshness on its own)."""
    if not local_sign_in():
        return None
    window = sessions.recent_confirmation()
    if window is None:
        return None
    confirmed, until = window
    return datetime.fromtimestamp(confirmed, UTC), datetime.fromtimestamp(until, UTC)


def confirm_identity(password: str | None) -> str | None:
    """None when the signed-in person is confirmed, else the message to show.

    Standalone: within ``APPRENTICE_CONFIRM_MINUTES`` of typing their password in this
    browser session (apprentice/auth/sessions.py) nothing is asked and a password sent
    is ignored; after that the person types it again (under the sign-in throttle), and
    a right one starts the time again. Host mode: the host's sign-in must be fresh (not
    a remembered one).
    """
    if not local_sign_in():
        return None if login_fresh() else "Sign in again to confirm it is you."
    if sessions.recent_confirmation() is not None:
        return None
    if not password:
        if sessions.confirmation_ran_out():  # the form was opened inside the time
            minutes = current_app.config["APPRENTICE_CONFIRM_MINUTES"]
            return (f"More than {minutes} minutes have passed since you confirmed it is "
                    "you: type your password.")
        return "Type your password to confirm it is you."
    staff = current_staff()  # only now: inside the time, their profile is not read
    outcome = check_password_throttled(staff.email, request.remote_addr, staff.password_hash,
                                       password)
    if outcome is True:
        sessions.note_confirmed()
        return None
    if outcome is False:
        return "That is not your password."
    return f"Too many wrong passwords. Try again in {minutes_text(outcome)}."
