"""How long a local sign-in lasts (standalone mode; a host owns its own sessions).

A signed-in person's id, kept in the session cookie and in the "keep me signed in"
cookie, is ``"<staff id>:<session token>:<signed-in time>"``:

- the **session token** belongs to the person; changing it (sign-out, password change,
  deactivation, a role taken away) ends every session of theirs, copied cookies too;
- the **signed-in time** bounds the session's whole life
  (``APPRENTICE_SESSION_MAX_HOURS``), whichever cookie brings it back;
- the **last-seen time** in the session ends it after ``APPRENTICE_SESSION_IDLE_MINUTES``
  without a request, unless the person asked to be kept signed in on this device;
- the **confirmed time** in the session, when the password was last typed in this browser
  session (signing in, or confirming it is them on a sign-off), spares them typing it
  again for ``APPRENTICE_CONFIRM_MINUTES`` (``recent_confirmation``).
"""

from __future__ import annotations

import hmac
import time

from flask import current_app, request, session
from flask_login import confirm_login
from flask_login.config import COOKIE_NAME
from flask_login.utils import decode_cookie

SEEN_KEY = "_apprentice_seen"
CONFIRMED_KEY = "_apprentice_confirmed"
# Rewrite the session cookie with a new last-seen time at most this often (seconds).
SEEN_GRANULARITY = 60
# What Flask-Login keeps in the session for a sign-in.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember_seconds", SEEN_KEY, CONFIRMED_KEY)


def now() -> int:
    """Seconds since the epoch; the one clock sessions are measured by (tests replace it)."""
    return int(time.time())


def sign_in_id(staff_id: int, token: str, started: int | None = None) -> str:
    return f"{staff_id}:{token}:{now() if started is None else started}"


def parse_id(user_id: str | None) -> tuple[int, str, int] | None:
    """(staff id, session token, signed-in time), or None for anything else."""
    parts = (user_id or "").split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[0]), parts[1], int(parts[2])


def _remember_cookie_name() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)


def kept_on_this_device(user_id: str) -> bool:
    """True when the request carries a valid "keep me signed in" cookie for this sign-in."""
    cookie = request.cookies.get(_remember_cookie_name())
    remembered = decode_cookie(cookie) if cookie else None
    return remembered is not None and hmac.compare_digest(remembered, user_id)


def expired(started: int, seen: int | None, kept: bool, at: int,
            idle_minutes: int, max_hours: int) -> bool:
    """The session rule on its own: past the absolute lifetime, or idle too long
    (a sign-in kept on the device has no idle limit, only the lifetime)."""
    if at - started > max_hours * 3600 or at < started:
        return True
    last = started if seen is None else max(seen, started)
    return not kept and at - last > idle_minutes * 60


def still_open(user_id: str, started: int) -> bool:
    """Check this request's sign-in against the time limits and note that it was seen.

    An ended session is emptied here, its "keep me signed in" cookie cleared too, so
    Flask-Login does not bring it back from that cookie in the same request.
    """
    config = current_app.config
    at = now()
    seen = session.get(SEEN_KEY)
    seen = seen if isinstance(seen, int) else None
    if expired(started, seen, kept_on_this_device(user_id), at,
               config["APPRENTICE_SESSION_IDLE_MINUTES"], config["APPRENTICE_SESSION_MAX_HOURS"]):
        end_here()
        return False
    if seen is None or at - seen >= SEEN_GRANULARITY:
        session[SEEN_KEY] = at
    return True


def note_confirmed() -> None:
    """The person typed their password in this browser session just now: a recent
    confirmation starts (or starts again) from this moment, and the session is fresh
    again for Flask-Login (it may have been brought back by the remember cookie)."""
    confirm_login()
    session[CONFIRMED_KEY] = now()


def confirmation_open(confirmed: int | None, fresh: bool, at: int, minutes: int) -> bool:
    """The recent-confirmation rule on its own: a password typed ``minutes`` ago or less,
    in a session Flask-Login still calls fresh. A session brought back by the "keep me
    signed in" cookie is not fresh (nor is one whose cookie turned up in another browser),
    so it never carries a confirmation forward; 0 minutes: the password every time."""
    return fresh and confirmed is not None and confirmed <= at < confirmed + minutes * 60


def _confirmed() -> int | None:
    """When this (fresh) browser session last confirmed it is them, if it did."""
    confirmed = session.get(CONFIRMED_KEY)
    fresh = session.get("_fresh") is True
    return confirmed if fresh and type(confirmed) is int else None


def recent_confirmation() -> tuple[int, int] | None:
    """(confirmed, until) in seconds since the epoch while this browser session's
    confirmation holds, else None."""
    confirmed = _confirmed()
    minutes = current_app.config["APPRENTICE_CONFIRM_MINUTES"]
    if not confirmation_open(confirmed, confirmed is not None, now(), minutes):
        return None
    return confirmed, confirmed + minutes * 60


def confirmation_ran_out() -> bool:
    """This browser session confirmed it is them, but longer ago than the time allows."""
    return (current_app.config["APPRENTICE_CONFIRM_MINUTES"] > 0
            and _confirmed() is not None and recent_confirmation() is None)


def end_here() -> None:
    """Forget the sign-in in this browser: the session's keys and the remember cookie."""
    for key in _LOGIN_KEYS:
        session.pop(key, None)
    if _remember_cookie_name() in request.cookies:
        session["_remember"] = "clear"
