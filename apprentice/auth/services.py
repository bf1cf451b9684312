"""Who is signed in, and the rules for signing in.

Two modes, one question (``current_staff()``): in standalone mode the signed-in
Flask-Login user *is* a :class:`StaffProfile`; in host mode the host's user is
mapped to a profile by e-mail, created on first visit.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import flask_login
from flask import current_app, g
from flask import session as browser_session
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from apprentice.audit import services as audit
from apprentice.auth import sessions
from apprentice.auth.models import SignInFailure
from apprentice.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from apprentice.core import versions
from apprentice.db import database, db_session, utcnow, write_turn
from apprentice.people.models import Role, SignedInPerson, StaffProfile, StaffRole
from apprentice.people.services import check_email, find_by_email, normalise_email
from apprentice.validation import Invalid


def local_sign_in() -> bool:
    """True when apprentice itself checks passwords (the standalone app)."""
    return current_app.config["APPRENTICE_AUTH"] == "local"


# -- who is signed in --------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SignedIn(SignedInPerson):
    """Who a request's session names, as plain data read by one Core statement: what the
    sign-in check, the page guard, the permission predicates (``id``, ``active``,
    ``has_role``) and a kept page's key need. Turning rows into ORM objects cost more
    than the rest of a kept page; the profile itself is loaded (:func:`current_staff`)
    only when a page is built."""

    id: int
    user_id: str  # the session's own id: "<id>:<session token>:<signed-in time>"
    active: bool
    password_must_change: bool
    roles: frozenset[Role]

    def get_id(self) -> str:
        return self.user_id


@cache
def _sign_in_query():
    """The person's sign-in facts, a row per role, each carrying the data version (which
    pages kept per version need): built once per process; the id is bound when run."""
    return (select(StaffProfile.active, StaffProfile.password_must_change,
                   StaffProfile.session_token, StaffRole.role, versions.column(),
                   versions.column(versions.STRUCTURE))
            .outerjoin(StaffRole, StaffRole.staff_id == StaffProfile.id)
            .where(StaffProfile.id == bindparam("id")))


def load_user(user_id: str) -> SignedIn | None:
    """Flask-Login's user loader for standalone mode, run on every request:
    ``"<id>:<session token>:<signed-in time>"`` (apprentice/auth/sessions.py)."""
    parsed = sessions.parse_id(user_id)
    if parsed is None:
        sessions.end_here()
        return None
    staff_id, token, started = parsed
    # On a connection of its own, not the request's session: a kept page needs nothing
    # more, and an ORM session cost more to open and close than the statement itself.
    with database().engine.connect() as connection:
        rows = connection.execute(_sign_in_query(), {"id": staff_id}).all()
    versions.seen(*(rows[0][4:6] if rows else (None, None)))
    if (not rows or not rows[0].active
            or not hmac.compare_digest(rows[0].session_token, token)):
        sessions.end_here()
        return None
    if not sessions.still_open(user_id, started):
        return None
    return SignedIn(id=staff_id, user_id=user_id, active=True,
                    password_must_change=rows[0].password_must_change,
                    roles=frozenset(Role(row.role) for row in rows if row.role))


def keep_this_session(staff: StaffProfile) -> None:
    """After ``staff``'s own sessions were ended by their own act (taking a role from
    themselves), keep the one in this browser, with its original signed-in time."""
    parsed = sessions.parse_id(browser_session.get("_user_id"))
    if not local_sign_in() or parsed is None or parsed[0] != staff.id:
        return
    remembered = sessions.kept_on_this_device(browser_session["_user_id"])
    browser_session["_user_id"] = sessions.sign_in_id(staff.id, staff.session_token, parsed[2])
    if remembered:
        browser_session["_remember"] = "set"


def end_every_session(staff: StaffProfile) -> None:
    """Sign ``staff`` out everywhere: every cookie they hold, copied or remembered,
    names the old session token and is refused from now on."""
    staff.end_sessions()
    db_session().commit()


def signed_in() -> bool:
    """True if the app (standalone or host) has someone signed in."""
    return bool(flask_login.current_user and flask_login.current_user.is_authenticated)


NO_PROFILE_DEACTIVATED = "Your apprentice profile is deactivated. Ask your programme coordinator."
NO_PROFILE_NO_EMAIL = (
    "apprentice knows people by their e-mail address, and your intranet account has no "
    "valid one. Ask your intranet administrator to add it."
)


def current_staff() -> StaffProfile | None:
    """The active staff profile of whoever is signed in, or None. Cached per request."""
    if "apprentice_staff" not in g:
        g.apprentice_staff = _resolve_staff()
    return g.apprentice_staff


def current_viewer() -> SignedIn | StaffProfile | None:
    """Whoever is signed in and active, for questions of access (the page guard, the
    permission predicates, a kept page's key): in standalone mode the session's plain
    facts (the profile is not loaded for them); the profile right after signing in, and
    in host mode (where it is found, or made, from the host's user)."""
    user = _signed_in_user()
    return user if isinstance(user, SignedIn) else current_staff()


def staff_or_nobody() -> StaffProfile | None:
    """:func:`current_staff`, for what renders any page, an error page included: someone
    whose sign-in is gone (:class:`SignInGone`) is nobody there."""
    try:
        return current_staff()
    except SignInGone:
        g.apprentice_staff = None
        return None


def staff_read_again() -> StaffProfile | None:
    """The signed-in profile read afresh: after a form's write turn, under the lock (a
    sign-out everywhere or a deactivation may have been committed while it waited:
    :class:`SignInGone`)."""
    g.pop("apprentice_staff", None)
    return current_staff()


def why_no_profile() -> str:
    """Why someone signed in has no usable profile (shown on the 403 page)."""
    return g.get("apprentice_no_profile", NO_PROFILE_DEACTIVATED)


@cache
def _profile_query():
    """A person with their roles, by id, in one statement (built once per process)."""
    return (select(StaffProfile).options(joinedload(StaffProfile.role_grants))
            .where(StaffProfile.id == bindparam("id")))


class SignInGone(Exception):
    """The person the sign-in check let in at the start of this request is no longer
    signed in when their profile is read (deactivated, or signed out everywhere, in
    between: the check reads on a connection of its own, or before a form's write turn).
    apprentice.web answers it as the guard would have."""

    def __init__(self, deactivated: bool):
        super().__init__("deactivated" if deactivated else "signed out")
        self.deactivated = deactivated


def _signed_in_user():
    """Flask-Login's user of this request, or None when nobody is signed in."""
    if not hasattr(current_app, "login_manager"):
        raise RuntimeError(
            "apprentice needs Flask-Login: set up a LoginManager on the host app "
            "(host mode) or use apprentice.create_app() (standalone)."
        )
    user = flask_login.current_user._get_current_object()  # once: asked of every request
    return user if user is not None and user.is_authenticated else None


def _resolve_staff() -> StaffProfile | None:
    user = _signed_in_user()
    if user is None:
        return None
    if isinstance(user, SignedIn):
        # Checked by load_user, and checked again here: a form's view may load the
        # profile after its write turn (apprentice.db), when a sign-out everywhere or a
        # deactivation may have been committed since.
        signed = user
        user = db_session().execute(_profile_query(), {"id": signed.id}).unique().scalar()
        if user is None or not hmac.compare_digest(
                user.session_token, sessions.parse_id(signed.user_id)[1]):
            sessions.end_here()
            raise SignInGone(deactivated=False)
        if not user.active:
            raise SignInGone(deactivated=True)
        return user
    if isinstance(user, StaffProfile):
        return user if user.active else None
    staff = profile_for_host_user(user)
    if staff is None:
        g.apprentice_no_profile = NO_PROFILE_NO_EMAIL
        return None
    return staff if staff.active else None


def _default_host_mapper(user) -> tuple[str, str]:
    email = getattr(user, "email", None)
    name = getattr(user, "name", None) or getattr(user, "username", None) or email
    return email, name


def profile_for_host_user(user) -> StaffProfile | None:
    """The profile of a host user, made on their first visit; None without a valid e-mail.

    ``APPRENTICE_HOST_USER_MAPPER(user) -> (email, name)`` says who they are;
    new profiles get ``APPRENTICE_HOST_DEFAULT_ROLES``. The e-mail is the link,
    so a host user whose address changes needs the profile's address changed too.
    """
    mapper = current_app.config["APPRENTICE_HOST_USER_MAPPER"] or _default_host_mapper
    raw_email, name = mapper(user)
    try:
        email = check_email(raw_email or "")
    except Invalid:
        return None
    if email != normalise_email(raw_email):
        # The address only matches after Unicode or IDNA normalisation (a
        # look-alike of someone else's, perhaps): never map it to a profile.
        return None
    staff = find_by_email(email)
    if staff is not None:
        return staff
    session = db_session()
    # End the read transaction first: on SQLite a page view's transaction could
    # otherwise be too old to write in (a form's request: its write turn does it).
    write_turn()
    session.rollback()
    staff = StaffProfile(email=email, name=(name or email).strip()[:120] or email)
    for role in current_app.config["APPRENTICE_HOST_DEFAULT_ROLES"]:
        staff.role_grants.append(StaffRole(role=Role(role).value))
    session.add(staff)
    try:
        session.commit()
    except IntegrityError:
        # Another request created the same profile a moment ago.
        session.rollback()
        staff = find_by_email(email)
    return staff


# -- signing in ----------------------------------------------------------------

@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in attempt. ``staff`` is set only on success."""

    staff: StaffProfile | None = None
    throttled_minutes: int = 0
    deactivated: bool = False


def _window() -> timedelta:
    return timedelta(minutes=current_app.config["APPRENTICE_SIGN_IN_WINDOW_MINUTES"])


def _limits(email: str, address: str) -> tuple:
    """(column, value, most failures allowed) for the account and for the address."""
    config = current_app.config
    return (
        (SignInFailure.email, email, config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"]),
        (SignInFailure.address, address, config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ADDRESS"]),
    )


def _blocked_until(column, value: str, limit: int, since: datetime) -> datetime | None:
    """When the ``limit``-th most recent failure for ``value`` leaves the window, if it is in it."""
    if limit <= 0:
        return None
    nth_newest = db_session().scalar(
        select(SignInFailure.created_at)
        .where(column == value, SignInFailure.created_at > since)
        .order_by(SignInFailure.created_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    return None if nth_newest is None else nth_newest + _window()


def throttle_minutes(email: str, address: str, now: datetime | None = None) -> int:
    """Minutes until this account and address may try again (0: they may now).

    Counted in the database, so every worker process sees the same failures.
    """
    now = now or utcnow()
    since = now - _window()
    waits = [_blocked_until(column, value, limit, since)
             for column, value, limit in _limits(email, address)]
    until = max((w for w in waits if w is not None), default=None)
    if until is None or until <= now:
        return 0
    return max(1, math.ceil((until - now).total_seconds() / 60))


def _record_attempt(email: str, address: str) -> SignInFailure:
    """Write the attempt down as a failure *before* checking the password.

    Counting it before the check means simultaneous guesses cannot all slip
    past the throttle: each one sees the others. A successful sign-in removes it.
    """
    session = db_session()
    now = utcnow()
    session.execute(delete(SignInFailure).where(SignInFailure.created_at < now - _window()))
    attempt = SignInFailure(email=email, address=address, created_at=now)
    session.add(attempt)
    session.commit()
    return attempt


def _over_limit(email: str, address: str) -> bool:
    since = utcnow() - _window()
    session = db_session()
    for column, value, limit in _limits(email, address):
        count = session.scalar(
            select(func.count()).where(column == value, SignInFailure.created_at > since)
        )
        if limit > 0 and count > limit:
            return True
    return False


def _audit_failure(action: str, email: str, address: str) -> None:
    """Every refused password goes into the audit trail (the e-mail as typed, no password)."""
    staff = find_by_email(email)
    audit.record(action, object_type="StaffProfile", object_id=staff.id if staff else None,
                 email=email[:254], address=address)
    db_session().commit()


def check_password_throttled(email: str, address: str | None, password_hash: str | None,
                             password: str) -> bool | int:
    """Check a password under the throttle: True if right, False if wrong, or the
    minutes to wait (an int) when there have been too many failures."""
    write_turn()  # every outcome is written down (a failure, or the failures cleared)
    # As stored (the column holds 64 characters), so every count matches what was written.
    address = (address or "unknown")[:64]
    wait = throttle_minutes(email, address)
    if wait:
        _audit_failure("signin.throttled", email, address)
        return wait
    attempt = _record_attempt(email, address)
    session = db_session()
    if _over_limit(email, address):
        session.delete(attempt)  # refused unchecked: it does not count
        session.commit()
        _audit_failure("signin.throttled", email, address)
        return max(throttle_minutes(email, address), 1)
    session.commit()  # the count read: the write lock is not held while argon2 works
    if not verify_password(password_hash, password):
        _audit_failure("signin.failed", email, address)
        return False
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))
    session.commit()
    return True


def minutes_text(minutes: int) -> str:
    """The wait in words ("1 minute", "5 minutes"), worded alike in every message."""
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def attempt_sign_in(email: str, password: str, address: str | None) -> SignInResult:
    """Check an e-mail and password, applying the throttle.

    A throttled attempt is refused before the password is looked at and is not
    counted, so someone guessing cannot keep an account locked for ever.
    """
    email = normalise_email(email)
    staff = find_by_email(email)
    outcome = check_password_throttled(
        email, address, staff.password_hash if staff else None, password
    )
    if outcome is False:
        return SignInResult()
    if outcome is not True:
        return SignInResult(throttled_minutes=outcome)
    if not staff.active:
        return SignInResult(deactivated=True)
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    staff.last_sign_in_at = utcnow()
    db_session().commit()
    return SignInResult(staff=staff)


def change_password(staff: StaffProfile, current: str, new: str,
                    address: str | None) -> None:
    """Change one's own password; other sessions of this person end.

    The current password is checked under the sign-in throttle, so a stolen
    session cannot be used to guess it.
    """
    outcome = check_password_throttled(staff.email, address, staff.password_hash, current)
    if outcome is False:
        raise Invalid({"current_password": "That is not your current password."})
    if outcome is not True:
        raise Invalid({"current_password": "Too many wrong passwords. Try again in "
                                           f"{minutes_text(outcome)}."})
    problems = password_problems(new)
    if not problems and new == current:
        problems = ["Choose a password different from the current one."]
    if problems:
        raise Invalid({"new_password": problems})
    staff.password_hash = hash_password(new)
    staff.password_must_change = False
    staff.end_sessions()
    db_session().commit()
