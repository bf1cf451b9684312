"""Pages kept per data version: a page asked again while nothing it shows has changed is
answered without reading its data or rendering it.

A kept page's key is everything the page is built from: the URL (host, path, query),
who asks (the person, the user a host signed in, the session's keys), the day and the
hour (what counts days from a moment, "waiting 3 days", moves within the hour), the
data version (apprentice.core.versions: carried by the sign-in check's statement, it
changes with every committed write on any server) and what a view adds (``extra``: the
search index's own version for search pages). A write makes a new key; a process drops
every page kept under an older data version the first time it sees a newer one.
Nothing is invalidated by hand.

Only a 200 answer to a GET is kept, and not when the page showed or left a flashed
message, changed the session, or handed out a one-time form token (:func:`not_kept`).
The session's CSRF token (signed with a time, so it would age in a kept page) is
swapped for a fresh one each time a kept page is served: signed in this minute for this
session (one signature serves the minute's pages; signing cost a tenth of such a page).

``APPRENTICE_PAGE_CACHE_MB`` bounds what one process keeps (least recently used go
first); 0 keeps nothing. A host whose own layout (``APPRENTICE_BASE_TEMPLATE``) shows
its own data keeps nothing unless it sets a size: apprentice cannot see its changes.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from functools import wraps

import flask_login
from flask import current_app, g, has_request_context, request, session
from flask_wtf.csrf import generate_csrf

from apprentice import config as settings
from apprentice.auth.sessions import SEEN_KEY
from apprentice.core import versions

CACHE_NAME = "pages"
HOUR = 3600
# Stands for the CSRF token in a kept page: no page holds a NUL byte (they are refused on
# the way in), and no text can guess this process's own mark.
CSRF_MARK = b"\x00csrf-" + secrets.token_hex(8).encode() + b"\x00"
MAX_PAGES = 10_000  # besides the bytes: many small answers (search API) cost their keys
SIGNED_FOR = 60  # seconds a CSRF signature serves its session's kept pages
MAX_SIGNATURES = 10_000  # sessions with a signature kept; past it, they are made again
# Session keys that change without changing any page: the last request's time (the idle
# limit), the CSRF token (swapped on the way out), and flashes (such pages are not kept).
VOLATILE = frozenset({SEEN_KEY, "csrf_token", "_flashes"})
KEPT_HEADERS = ("Content-Type", "Cache-Control", "Content-Disposition")


class PageStore:
    """One process's kept pages, least recently used first, within a size in bytes."""

    def __init__(self, budget: int):
        self.budget = budget
        self.version: int | None = None
        self.pages: OrderedDict[tuple, tuple[bytes, list, int]] = OrderedDict()  # + size
        self.size = 0
        self.lock = threading.Lock()
        # A session's raw CSRF token -> (the minute it was signed in, the signed token).
        self.signatures: dict[str, tuple[int, str]] = {}

    def _at(self, version: int) -> None:
        if version != self.version:  # newer data (or a restore): nothing kept holds
            self.pages.clear()
            self.size = 0
            self.version = version

    def get(self, key: tuple, version: int):
        with self.lock:
            self._at(version)
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
            return page

    def put(self, key: tuple, version: int, body: bytes, headers: list) -> None:
        size = len(body) + _size(key) + _size(headers)
        if size > self.budget // 4:
            return
        with self.lock:
            self._at(version)
            old = self.pages.pop(key, None)
            if old is not None:
                self.size -= old[2]
            self.pages[key] = (body, headers, size)
            self.size += size
            while self.size > self.budget or len(self.pages) > MAX_PAGES:
                _key, (_body, _headers, dropped) = self.pages.popitem(last=False)
                self.size -= dropped


def _size(value) -> int:
    """Roughly the bytes ``value`` (a key or headers: tuples of short values) holds."""
    if isinstance(value, (tuple, list)):
        return sys.getsizeof(value) + sum(_size(item) for item in value)
    return sys.getsizeof(value)


def _store() -> PageStore | None:
    state = current_app.extensions["apprentice"]
    store = state.caches.get(CACHE_NAME)
    if store is None:
        megabytes = current_app.config.get("APPRENTICE_PAGE_CACHE_MB")
        if megabytes is None:  # apprentice's own layout: it knows everything on the page
            own = (current_app.config["APPRENTICE_BASE_TEMPLATE"]
                   == settings.DEFAULTS["APPRENTICE_BASE_TEMPLATE"])
            megabytes = 8 if own else 0
        store = state.caches[CACHE_NAME] = PageStore(megabytes * 1024 * 1024)
    return store if store.budget > 0 else None


def not_kept() -> None:
    """Never keep this request's page: it holds something meant for it alone (a one-time
    form token), or says something true for a moment only (search unavailable). Outside
    a request there is no page to keep."""
    if has_request_context():
        g.apprentice_page_not_kept = True


def _hour() -> int:
    return int(time.time() // HOUR)


def _viewer_key() -> tuple:
    """Who is asking: the person apprentice resolved, the signed-in user as Flask-Login
    has them (a host may sign people in without the session: a header, a token), and the
    session's own keys."""
    from apprentice.auth.services import current_viewer  # it builds on the forms' receipts

    staff = current_viewer()
    user = flask_login.current_user
    return (staff.id if staff is not None else None,
            user.get_id() if user and user.is_authenticated else None,
            tuple(sorted((k, str(v)) for k, v in session.items() if k not in VOLATILE)))


def _served_again(store: PageStore, body: bytes, headers: list):
    """A kept page, with this session's CSRF token freshly signed in it."""
    if CSRF_MARK in body:
        body = body.replace(CSRF_MARK, _signed_csrf_token(store).encode())
    return current_app.response_class(body, headers=headers)


def _signed_csrf_token(store: PageStore) -> str:
    """This session's CSRF token as Flask-WTF signs it, signed at most a minute ago: it
    expires at most that much sooner (WTF_CSRF_TIME_LIMIT), and is Flask-WTF's own
    answer for the rest of the request."""
    field = _csrf_field()
    minute = int(time.time() // SIGNED_FOR)
    raw = session.get(field)
    signed = store.signatures.get(raw) if isinstance(raw, str) else None
    if signed is not None and signed[0] == minute:
        setattr(g, field, signed[1])
        return signed[1]
    token = generate_csrf()
    if len(store.signatures) >= MAX_SIGNATURES:
        store.signatures.clear()
    store.signatures[session[field]] = (minute, token)
    return token


def _csrf_field() -> str:
    """Where Flask-WTF keeps the session's token (in the session, and signed on ``g``)."""
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")


def _may_keep(response, version: int, session_before: dict) -> bool:
    """A page just built may be kept (see the module): among the rest, the version its
    own reads saw is the one it would be kept under."""
    return (response.status_code == 200 and versions.unchanged_since(version)
            and not response.direct_passthrough and not g.get("apprentice_page_not_kept")
            and dict(session) == session_before and "_flashes" not in session)


def kept_page(extra: Callable[[], object] | None = None):
    """Keep the view's page per data version (see the module). ``extra``: anything else
    the page depends on that the database does not hold (the search index's version)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            store = _store()
            if store is None or request.method != "GET" or "_flashes" in session:
                return view(*args, **kwargs)
            version = versions.current()
            key = (request.host, request.path, request.query_string, _viewer_key(),
                   date.today(), _hour(), extra() if extra is not None else None)
            page = store.get(key, version)
            if page is not None:
                return _served_again(store, *page[:2])
            before = dict(session)
            response = current_app.make_response(view(*args, **kwargs))
            if _may_keep(response, version, before):
                body = response.get_data()
                token = g.get(_csrf_field())
                if token:
                    body = body.replace(token.encode(), CSRF_MARK)
                store.put(key, version, body, [(name, value) for name, value in response.headers
                                               if name in KEPT_HEADERS])
            return response

        return wrapper

    return decorate
