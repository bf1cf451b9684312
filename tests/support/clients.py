"""Test clients signed in without the form (the sign-in form has its own tests), and the
tokens a page carries: the CSRF token in ``<meta name="csrf-token">`` and a create
form's one-time ``form_token``."""

from __future__ import annotations

import re

T0 = 1_750_000_000  # a moment for tests that move the sessions' clock (15:06:40 UTC)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
FORM_TOKEN = re.compile(
    r'name="form_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_token"')


def form_token_on(page: str) -> str:
    """The one-time token of the (first) create form on ``page``."""
    match = FORM_TOKEN.search(page)
    assert match, "the form carries no form_token"
    return match.group(1) or match.group(2)


def form_token(client, url: str) -> str:
    """Open ``url`` with a test client: its form's one-time token."""
    return form_token_on(client.get(url).get_data(as_text=True))


def sign_in_session(client, user_id: str):
    """Mark ``client``'s session as signed in (and fresh) for ``user_id``; the client."""
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def signed_in(app, who=None):
    """A test client signed in as ``who`` (a person, or their user id as Flask-Login
    keeps it, for a worker process; None: nobody), with its CSRF token."""
    client = app.test_client()
    if who is not None:
        sign_in_session(client, who if isinstance(who, str) else who.get_id())
    return client, client.csrf_token()
