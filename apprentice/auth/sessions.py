"""How long a local sign-in lasts (standalone mode; a host owns its own sessions).

A signed-in person's id, kept in the session cookie and in the "keep me signed in"
cookie, is ``"<staff id>:<session token>:<signed-in time>"``:

- the **session token** belongs to the person; changing it (sign-out, password change,
  deactivation, a role taken away) ends every session of theirs, copied cookies too;
- the **signed-in time** bounds the session's whole life
  (``APPRENTICE_SESSION_MAX_HOURS``), whichever cookie brings it back;
- the **last-seen time** in the session ends it after ``APPRENTICE_SESSION_IDLE_MINUTES``
  without a request, unless the person asked to be kept signed in on this device.
"""

from __future__ import annotations

import hmac
import time

from flask import current_app, request, session
from flask_login.config import COOKIE_NAME
from flask_login.utils import decode_cookie

SEEN_KEY = "_apprentice_seen"
# Rewrite the session cookie with a new last-seen time at most this often (seconds).
SEEN_GRANULARITY = 60
# What Flask-Login keeps in the session for a sign-in.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", "_remember_seconds", SEEN_KEY)


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


def end_here() -> None:
    """Forget the sign-in in this browser: the session's keys and the remember cookie."""
    for key in _LOGIN_KEYS:
        session.pop(key, None)
    if _remember_cookie_name() in request.cookies:
        session["_remember"] = "clear"
