"""Forms kept across an ended sign-in: what someone typed is never lost to a login.

When a form is sent after the sign-in has ended, the page cannot act on it (nobody
is signed in; the CSRF token died with the session). :func:`keep_submitted_form`
stores the form's fields under a random one-time key (only its hash is stored), and
the form page, once its author has signed in again, takes them back with
:func:`kept_formdata` and shows them for checking. Keeping never performs the
form's action: the person sends it again, with a fresh CSRF token.

A view takes part by being marked :func:`restores_kept_form` and building its
form from ``kept_formdata()`` on GET; an unmarked page keeps nothing (it could not
give the text back).

The key only works in the browser that typed the form: the stored hash also covers a
random value in that browser's cookie (:data:`KEEPER_COOKIE`, set by
:func:`remember_keeper`). Anyone can send a form without signing in, so a key alone
would let them hand someone a link to a form filled in with their words.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, g, request, url_for
from sqlalchemy import delete, func, select
from werkzeug.datastructures import MultiDict

from apprentice.core.models import KeptForm
from apprentice.db import db_session, utcnow, write_turn
from apprentice.forms import this_page

# What is kept, at most: the fields' text (as stored, JSON) and how many forms at once.
MAX_KEPT_CHARS = 64 * 1024
MAX_KEPT_FORMS = 500
KEPT_FOR = timedelta(hours=24)
KEPT_ARG = "kept"
KEEPER_COOKIE = "apprentice_keeper"  # this browser's share of the key (see the docstring)
FORM_MIMETYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
RESTORED_NOTICE = ("We kept what you typed before your sign-in ended. "
                   "Check it and send it again.")


def restores_kept_form(view):
    """Mark a form page that fills its form from :func:`kept_formdata` on GET."""
    view.apprentice_restores_kept_form = True
    return view


def _hash(key: str, keeper: str) -> str:
    return hashlib.sha256(f"{keeper}:{key}".encode()).hexdigest()


def _keeper() -> str | None:
    """This browser's keeper value, if it sent a plausible one."""
    keeper = request.cookies.get(KEEPER_COOKIE, "")
    return keeper if 16 <= len(keeper) <= 64 and keeper.isascii() else None


def _kept_field(name: str) -> bool:
    """Every field but secrets: no password, no CSRF token, ever."""
    lowered = name.lower()
    return lowered != "csrf_token" and "password" not in lowered


def _same_origin() -> bool:
    """The POST came from this site's own page (a forged cross-site form is not kept).

    Browsers say so in ``Sec-Fetch-Site``, older ones in ``Origin``; a client sending
    neither (a test, a script) is taken at its word, as it could send anything anyway.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.host


@dataclass(frozen=True)
class Kept:
    """The outcome of keeping a form: where it goes back to, and whether it was kept."""

    target: str  # the form page, with ``?kept=KEY`` when kept
    kept: bool
    too_long: bool = False
    new_keeper: str | None = None  # a keeper value for this browser's cookie, when new


def remember_keeper(response, kept: Kept):
    """Give the browser its keeper cookie, when keeping the form made a new one."""
    if kept.new_keeper:
        response.set_cookie(KEEPER_COOKIE, kept.new_keeper,
                            max_age=int(KEPT_FOR.total_seconds()),
                            path=url_for("apprentice.records.home"), secure=request.is_secure,
                            httponly=True, samesite="Lax")
    return response


def keepable_request() -> bool:
    """A plain form POST to a page that restores kept forms (files cannot be kept)."""
    view = current_app.view_functions.get(request.endpoint)
    return bool(
        request.method == "POST"
        and getattr(view, "apprentice_restores_kept_form", False)
        and request.mimetype in FORM_MIMETYPES
        and not request.files
    )


def _form_page(key: str | None = None) -> str:
    """The form page's address (its query kept, so it shows the same form), plus the key."""
    return this_page(KEPT_ARG, **({KEPT_ARG: key} if key else {}))


def keep_submitted_form() -> Kept:
    """Keep this POST's fields under a new one-time key, if the page can give them back.

    Nothing is kept for an unmarked page, a file upload, a cross-site POST, more than
    ``MAX_KEPT_CHARS`` of text or when ``MAX_KEPT_FORMS`` are already waiting; forms
    older than ``KEPT_FOR`` are swept first.
    """
    if not keepable_request() or not _same_origin():
        return Kept(target=_form_page(), kept=False)
    fields = {name: values for name, values in request.form.lists() if _kept_field(name)}
    payload = json.dumps(fields, ensure_ascii=False)
    if len(payload) > MAX_KEPT_CHARS:
        return Kept(target=_form_page(), kept=False, too_long=True)
    write_turn()  # sent before the guard let the form through: it is the request's write
    session = db_session()
    session.execute(delete(KeptForm).where(KeptForm.created_at < utcnow() - KEPT_FOR))
    if session.scalar(select(func.count()).select_from(KeptForm)) >= MAX_KEPT_FORMS:
        session.commit()
        current_app.logger.warning("apprentice keeps %s forms already; not one more",
                                   MAX_KEPT_FORMS)
        return Kept(target=_form_page(), kept=False)
    keeper = _keeper()
    new_keeper = None if keeper else secrets.token_urlsafe(24)
    key = secrets.token_urlsafe(24)
    session.add(KeptForm(key_hash=_hash(key, keeper or new_keeper), path=request.path[:400],
                         payload=payload))
    session.commit()
    return Kept(target=_form_page(key), kept=True, new_keeper=new_keeper)


def kept_form(form_class, **kwargs):
    """``form_class(**kwargs)``, filled from the form kept for this page when a GET
    brings its key back (see :func:`kept_formdata`)."""
    kept = kept_formdata()
    return form_class(**kwargs) if kept is None else form_class(formdata=kept, **kwargs)


def kept_formdata() -> MultiDict | None:
    """On a GET with ``?kept=KEY`` for this very page: the fields kept under KEY, taken
    (deleted) so they come back once, with a notice; otherwise None.

    An unknown, used, expired or other page's key, or one typed in another browser, is
    ignored without a word.
    """
    if "apprentice_kept_formdata" in g:
        return g.apprentice_kept_formdata
    g.apprentice_kept_formdata = None
    key, keeper = request.args.get(KEPT_ARG, ""), _keeper()
    if request.method != "GET" or not key or len(key) > 100 or keeper is None:
        return None
    session = db_session()
    row = session.get(KeptForm, _hash(key, keeper))
    if row is None or row.path != request.path or row.created_at < utcnow() - KEPT_FOR:
        return None
    payload = row.payload
    # Taken once: only the request that deletes the row gives the text back.
    taken = session.execute(delete(KeptForm).where(KeptForm.key_hash == row.key_hash))
    session.commit()
    if taken.rowcount != 1:
        return None
    try:
        fields = json.loads(payload)
    except ValueError:
        return None
    formdata = MultiDict()
    for name, values in fields.items():
        if isinstance(values, list) and _kept_field(name):
            for value in values:
                formdata.add(name, str(value))
    flash(RESTORED_NOTICE, "info")
    g.apprentice_kept_formdata = formdata
    return formdata
