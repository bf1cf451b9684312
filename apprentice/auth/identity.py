"""Asking a signed-in person to confirm who they are before a weighty act."""

from __future__ import annotations

from flask import request
from flask_login import login_fresh

from apprentice.auth.services import check_password_throttled, local_sign_in, minutes_text
from apprentice.people.models import StaffProfile


def confirm_identity(staff: StaffProfile, password: str | None) -> str | None:
    """None when confirmed, else the message to show.

    Standalone: the person types their password again (under the sign-in
    throttle). Host mode: the host's sign-in must be fresh (not a remembered one).
    """
    if not local_sign_in():
        return None if login_fresh() else "Sign in again to confirm it is you."
    if not password:
        return "Type your password to confirm it is you."
    outcome = check_password_throttled(staff.email, request.remote_addr, staff.password_hash,
                                       password)
    if outcome is True:
        return None
    if outcome is False:
        return "That is not your password."
    return f"Too many wrong passwords. Try again in {minutes_text(outcome)}."
