"""One form, one record: a create form's one-time token and the receipt its first save leaves.

A create form carries a token. The service that saves the form writes a receipt
(token, person, kind, id) in the same transaction as the record, so the same form
sent again (Back then Submit, a double tap, a page fetched again by Back) finds the
receipt and is answered "already saved" with a link, instead of making a copy. Two
requests racing with one token queue for it (``check`` holds the token until the
transaction ends), and should one get past anyway, the token is the table's primary
key: the second save's receipt is not inserted (ON CONFLICT DO NOTHING, which needs
SQLite 3.35 or newer) and it is rolled back and answered the same way. A log entry,
the busiest create form, keeps its token in its own row instead (unique per person):
apprentice.forms.once looks it up there.

A token belongs to the person it was given to; anything else (missing, malformed,
someone else's) is no receipt: the form saves normally.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from apprentice.core import pagecache
from apprentice.core.models import FormReceipt
from apprentice.db import advisory_lock, db_session, execute, insert_unless, utcnow

# Our tokens are URL-safe base64; anything else did not come from one of our forms.
WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{1,64}")


class AlreadySaved(Exception):
    """The form was saved before (its token has a receipt): nothing was saved again."""

    def __init__(self, kind: str, object_id: int | None):
        super().__init__(f"this form was already saved ({kind} {object_id})")
        self.kind = kind
        self.object_id = object_id


def new_token() -> str:
    """A fresh token for a create form (its page is never kept: apprentice.core.pagecache)."""
    pagecache.not_kept()
    return secrets.token_urlsafe(24)


def well_formed(token) -> bool:
    return isinstance(token, str) and WELL_FORMED.fullmatch(token) is not None


@cache
def _by_token():
    """A receipt's person, kind and object by its token (built once): every create form
    asks it before it saves, and a row is all it needs, not an object of the session."""
    table = FormReceipt.__table__
    return (select(table.c.person_id, table.c.kind, table.c.object_id)
            .where(table.c.token == bindparam("token")))


def _receipt(token: str):
    return execute(_by_token(), {"token": token}).first()


def find(token, person):
    """The receipt (its ``kind`` and ``object_id``) ``person`` got for ``token``, or None:
    also for a malformed token and for another person's (a token copied from someone
    shows nothing of theirs)."""
    return look_up(token, person)[0] if person is not None else None


def look_up(token, person):
    """(the receipt ``person`` got for ``token`` or None, whether the token is free: well
    formed and nobody's yet), in one read: what a create form's page asks of the token
    in its address."""
    if not well_formed(token):
        return None, False
    receipt = _receipt(token)
    if receipt is None:
        return None, True
    return (receipt if person is not None and receipt.person_id == person.id else None), False


def hold(token) -> None:
    """Make a parallel request with the same token wait until this transaction ends, so
    it then finds the receipt (PostgreSQL: an advisory lock on the token; SQLite needs
    none: a request that may write holds the write lock already)."""
    if well_formed(token):
        digest = hashlib.sha256(token.encode()).digest()
        advisory_lock(int.from_bytes(digest[:8], "big", signed=True))


def check(token, person) -> None:
    """Hold the token and refuse a form ``person`` saved already (raises AlreadySaved).
    Services call it before anything else, so the answer is "already saved", not a
    refusal of the copy (e.g. "already enrolled"); the busiest (a sign-off) only once
    they refuse the form: a copy that passes their checks is stopped by :func:`commit`,
    and the form saved the first time asks nothing more."""
    if person is None:
        return
    hold(token)
    receipt = find(token, person)
    if receipt is not None:
        raise AlreadySaved(receipt.kind, receipt.object_id)


def _stamp(session, token: str, person_id: int, kind: str, object_id: int) -> bool:
    """Insert the receipt unless the token has one already (one statement); whether it
    was inserted."""
    statement = insert_unless(FormReceipt.__table__, ("token",),
                              session.get_bind().dialect.name)
    return execute(statement, {
        "token": token, "person_id": person_id, "kind": kind, "object_id": object_id,
        "created_at": utcnow()}).first() is not None


def commit(token, person, kind: str, record) -> None:
    """Commit the current transaction with a receipt for ``record`` (a new row of
    ``kind``, or its id), when the form had a token of ``person``'s.

    No receipt without a person or a well-formed token, nor for a token someone else
    used (the record is saved all the same). The same form saved first, here or by a
    parallel request, makes this commit fail: rolled back, and AlreadySaved raised.
    """
    session = db_session()
    try:
        if person is not None and well_formed(token):
            if not isinstance(record, int):
                session.flush()  # the record's id
                record = record.id
            if not _stamp(session, token, person.id, kind, record):
                existing = _receipt(token)
                if existing is not None and existing.person_id == person.id:
                    session.rollback()
                    raise AlreadySaved(existing.kind, existing.object_id)
        session.commit()
    except IntegrityError:
        session.rollback()
        receipt = find(token, person)
        if receipt is None:
            raise
        raise AlreadySaved(receipt.kind, receipt.object_id) from None
