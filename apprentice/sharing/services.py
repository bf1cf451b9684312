"""Making, listing, opening and revoking share links.

A link's token is ``secrets.token_urlsafe(32)``: 256 random bits, so guessing one is
hopeless however many tries are made (SECURITY.md), and no rate limit is needed for it.
Only its SHA-256 hash is stored; :func:`create` hands the token back once, for the page
that shows the whole link, and nothing can show it again. :func:`open_link` looks a
visitor's token up by its hash: the database compares hashes, so how long the lookup
takes says nothing about how close a guess was.

A link works until the end of its expiry day (``today`` in the functions below: the
server's date unless a caller fixes it). Expired, revoked and unknown tokens are one
answer, None, so a visitor learns nothing about which it was.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from apprentice.audit import services as audit
from apprentice.core import receipts
from apprentice.db import db_session, utcnow
from apprentice.people.models import StaffProfile
from apprentice.sharing import permissions
from apprentice.sharing.models import ShareLink, ShareLinkViews
from apprentice.validation import Invalid, refuse_unless

TOKEN_BYTES = 32  # secrets.token_urlsafe: 43 characters, 256 bits
DEFAULT_DAYS = 30  # the form's suggested expiry, from today
MAX_DAYS = 365  # a link works for a year at most: the reader is asked again after that
MAX_LABEL = 120
MAX_ACTIVE = 20  # working links per person: a list the apprentice can still keep track of

NO_LABEL = "Say whom the link is for, e.g. \u201cRiverside Library hiring panel\u201d."
NO_EXPIRY = "Enter the last day the link works."


@dataclass(frozen=True)
class NewLink:
    """A link just made, with the one copy of its token there will ever be."""

    link: ShareLink
    token: str


def hash_token(token: str) -> str:
    """What is stored for ``token`` (any text a visitor sends is hashed the same way)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def default_expiry(today: date | None = None) -> date:
    return (today or date.today()) + timedelta(days=DEFAULT_DAYS)


def latest_expiry(today: date | None = None) -> date:
    return (today or date.today()) + timedelta(days=MAX_DAYS)


def clean_label(label: str | None) -> str:
    """As stored: one line, runs of spaces and line breaks as one space."""
    return " ".join((label or "").split())


# -- reading ------------------------------------------------------------------------------

def links_of(person_id: int) -> list[ShareLink]:
    """Every link ``person_id`` made, newest first, with its view counts and who revoked
    it (a fixed number of queries, however many links)."""
    return list(db_session().scalars(
        select(ShareLink).where(ShareLink.person_id == person_id)
        .options(selectinload(ShareLink.revoked_by))
        .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())))


def get_link_by_id(link_id: int) -> ShareLink | None:
    return db_session().get(ShareLink, link_id)


def get_link(person_id: int, link_id: int) -> ShareLink | None:
    """``person_id``'s link ``link_id``; None for another person's, so a link is only
    ever reached through its owner's page."""
    link = get_link_by_id(link_id)
    return link if link is not None and link.person_id == person_id else None


def active_count(person_id: int, today: date | None = None) -> int:
    return db_session().scalar(select(func.count()).select_from(ShareLink).where(
        ShareLink.person_id == person_id, ShareLink.revoked_at.is_(None),
        ShareLink.expires_on >= (today or date.today()))) or 0


def open_link(token: str, today: date | None = None,
              now: datetime | None = None) -> ShareLink | None:
    """The link ``token`` opens, counted as one more view; None when it opens nothing
    (unknown, expired, revoked: the same answer for all three).

    The view is counted by one UPDATE (``views = views + 1``), the first statement of
    its transaction: visits at the same moment each count, none is lost, and on SQLite
    the write lock is waited for rather than refused.
    """
    session = db_session()
    session.commit()  # whatever the request read so far: the count starts afresh
    digest = hash_token(token)
    working = select(ShareLink.id).where(
        ShareLink.token_hash == digest, ShareLink.revoked_at.is_(None),
        ShareLink.expires_on >= (today or date.today())).scalar_subquery()
    counted = session.execute(
        update(ShareLinkViews).where(ShareLinkViews.link_id == working)
        .values(views=ShareLinkViews.views + 1, last_viewed_at=now or utcnow())
        .execution_options(synchronize_session=False))
    if counted.rowcount != 1:
        session.rollback()
        return None
    session.commit()
    return session.scalar(select(ShareLink).where(ShareLink.token_hash == digest))


# -- changing -----------------------------------------------------------------------------

def _check(label: str, expires_on: date | None, today: date) -> None:
    errors: dict[str | None, str] = {}
    if not label:
        errors["label"] = NO_LABEL
    elif len(label) > MAX_LABEL:
        errors["label"] = (f"This is {len(label):,} characters; the limit is {MAX_LABEL}. "
                           "Shorten it: no link was made yet.")
    if expires_on is None:
        errors["expires_on"] = NO_EXPIRY
    elif expires_on < today:
        errors["expires_on"] = (f"{expires_on:%d %B %Y} has passed: choose today or a later "
                                "day.")
    elif expires_on > latest_expiry(today):
        errors["expires_on"] = (f"A link works for a year at most: choose "
                                f"{latest_expiry(today):%d %B %Y} or sooner. You can make "
                                "a new one when it ends.")
    if errors:
        raise Invalid(errors)


def create(person: StaffProfile, *, label: str | None, expires_on: date | None,
           signed_only: bool, by: StaffProfile | None, today: date | None = None,
           form_token: str | None = None) -> NewLink:
    """Make a link to ``person``'s portfolio (all of it, or ``signed_only``) that works
    until the end of ``expires_on``; audited. The same form sent again (``form_token``,
    apprentice.core.receipts) raises AlreadySaved: the token is not shown twice.
    ``by=None``: the command line or the demo data."""
    refuse_unless(permissions.may_make_link(by, person.id), by,
                  "Only the apprentice makes links to their own portfolio.")
    receipts.check(form_token, by)
    today = today or date.today()
    label = clean_label(label)
    _check(label, expires_on, today)
    if active_count(person.id, today) >= MAX_ACTIVE:
        raise Invalid({None: f"You have {MAX_ACTIVE} links that still work, the most at "
                             "once. Revoke one you no longer need, then make this one."})
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink(person_id=person.id, label=label, token_hash=hash_token(token),
                     signed_only=signed_only, expires_on=expires_on,
                     counter=ShareLinkViews(views=0))
    db_session().add(link)
    audit.record("sharelink.created", actor=by, obj=link, person=person.id, label=label,
                 expires=expires_on.isoformat(), signed_only=signed_only)
    receipts.commit(form_token, by, "share_link", link)
    return NewLink(link, token)


def revoke(link: ShareLink, by: StaffProfile | None, now: datetime | None = None) -> None:
    """Withdraw ``link`` for good (it then opens the same plain page as an unknown one);
    audited. Revoked already: Invalid, and nothing is recorded twice."""
    refuse_unless(permissions.may_revoke_link(by, link), by,
                  "Only the apprentice or a coordinator withdraws a share link.")
    session = db_session()
    # One UPDATE that only a link not yet revoked matches: two clicks at once, one revocation.
    done = session.execute(
        update(ShareLink).where(ShareLink.id == link.id, ShareLink.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), revoked_by_id=by.id if by else None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        session.rollback()
        raise Invalid({None: f"The link \u201c{link.label}\u201d was already revoked."})
    audit.record("sharelink.revoked", actor=by, obj=link, person=link.person_id,
                 label=link.label)
    session.commit()
    session.refresh(link)
