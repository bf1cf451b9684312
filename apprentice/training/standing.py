"""Which sign-offs stand, and which entries count, as of today or of any past day.

The one place for that rule: training applies it when it records (a correction may
not correct a corrected sign-off; an entry cited by a standing sign-off is locked),
and the record model (:mod:`apprentice.records`) applies it when it reads.

"As of" a day means what had happened by the end of that day (UTC, like every
timestamp the app stores): a sign-off made later does not count yet, and one
revoked or corrected later still stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import selectinload

from apprentice.db import db_session
from apprentice.training.models import EntryState, LogEntry, SignOff, SignOffEvidence


def end_of(day: date) -> datetime:
    """The first moment after ``day`` (UTC): what happened before it happened by that day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


# -- which sign-offs stand ------------------------------------------------------------

@dataclass(frozen=True)
class Correction:
    """A sign-off that corrects an earlier one, and when it was made."""

    id: int
    corrects_id: int
    signed_at: datetime


def corrections_of(person_ids: Iterable[int]) -> list[Correction]:
    """Every correction of these people's sign-offs (one query)."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    return [Correction(*row) for row in db_session().execute(_corrections_query(),
                                                             {"ids": ids})]


@cache
def _corrections_query():
    """The statement of :func:`corrections_of`, built once per process; the people are
    bound when run."""
    return (select(SignOff.id, SignOff.corrects_id, SignOff.signed_at)
            .where(SignOff.person_id.in_(bindparam("ids", expanding=True)),
                   SignOff.corrects_id.is_not(None)))


def corrected_ids(corrections: Iterable[Correction], as_of: date | None = None) -> set[int]:
    """Sign-offs corrected by ``as_of`` (None: by now). A corrected one stands no more,
    even if its correction is later revoked: the original was judged wrong."""
    cutoff = end_of(as_of) if as_of else None
    return {c.corrects_id for c in corrections if cutoff is None or c.signed_at < cutoff}


def stands_on(sign_off_id: int, signed_at: datetime, revoked_at: datetime | None,
            corrected: set[int], as_of: date | None) -> bool:
    """The rule itself, on the columns (the record model counts evidence without loading rows)."""
    if sign_off_id in corrected:
        return False
    if as_of is None:
        return revoked_at is None
    cutoff = end_of(as_of)
    return signed_at < cutoff and (revoked_at is None or revoked_at >= cutoff)


def stands(sign_off: SignOff, corrected: set[int], as_of: date | None = None) -> bool:
    """Whether a sign-off stands as of a day (None: now): made by then, and neither
    revoked nor corrected by then (``corrected``: from :func:`corrected_ids`)."""
    revocation = sign_off.revocation
    return stands_on(sign_off.id, sign_off.signed_at,
                   revocation.revoked_at if revocation else None, corrected, as_of)


def standing(sign_offs: list[SignOff], as_of: date | None = None) -> list[SignOff]:
    """Those of ``sign_offs`` that stand as of the day (None: now), in their order."""
    if not sign_offs:
        return []
    corrected = corrected_ids(corrections_of({s.person_id for s in sign_offs}), as_of)
    return [s for s in sign_offs if stands(s, corrected, as_of)]


def sign_offs_of(person_id: int) -> list[SignOff]:
    """A person's sign-offs, newest first, with their competency and signer (pages list
    them: not one query per row)."""
    return list(db_session().scalars(
        select(SignOff).where(SignOff.person_id == person_id)
        .order_by(SignOff.signed_at.desc(), SignOff.id.desc())
        .options(selectinload(SignOff.competency), selectinload(SignOff.signed_by))))


def standing_sign_offs(person_id: int, as_of: date | None = None) -> list[SignOff]:
    """A person's sign-offs that stand as of the day (None: now), newest first."""
    return standing(sign_offs_of(person_id), as_of)


def standing_sign_offs_citing(entry_id: int) -> list[SignOff]:
    """Sign-offs that cite the entry and still stand (neither revoked nor corrected)."""
    return standing(list(db_session().scalars(
        select(SignOff).join(SignOffEvidence).where(SignOffEvidence.entry_id == entry_id))))


def is_corrected(sign_off: SignOff) -> bool:
    """Whether a newer sign-off already corrects this one."""
    return sign_off.id in corrected_ids(corrections_of([sign_off.person_id]))


# -- evidence, as the progress engine counts it -----------------------------------------

def logged_clause(as_of, *, end=None):
    """Entries that count as logged by the day: not drafts and, as of a past day,
    practised and sent in by then. ``as_of`` and ``end`` may be bound parameters (a
    statement built once, the day bound when run): ``end`` then stands for ``end_of``."""
    clause = LogEntry.state != EntryState.DRAFT.value
    if as_of is not None:
        clause &= (LogEntry.occurred_on <= as_of) & (
            func.coalesce(LogEntry.submitted_at, LogEntry.created_at)
            < (end if end is not None else end_of(as_of)))
    return clause


def verified_by(entry: LogEntry, as_of: date | None = None) -> bool:
    """Whether the entry was verified by the end of the day (None: now);
    :func:`verified_clause` is the same rule for the database to apply."""
    if entry.state != EntryState.VERIFIED.value:
        return False
    if as_of is None:
        return True
    when = entry.verified_at or entry.submitted_at or entry.created_at
    return when < end_of(as_of)


def verified_clause(as_of, *, end=None):
    """:func:`verified_by` as SQL, so totals over years of entries are summed by the
    database instead of read row by row. ``as_of`` and ``end`` as for
    :func:`logged_clause` (None: now)."""
    clause = LogEntry.state == EntryState.VERIFIED.value
    if as_of is not None:
        clause &= func.coalesce(LogEntry.verified_at, LogEntry.submitted_at,
                                LogEntry.created_at) < (end if end is not None else end_of(as_of))
    return clause


