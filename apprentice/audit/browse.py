"""Reading the audit trail: filtering, paging and the CSV download.

Kept apart from :mod:`apprentice.audit.services` (appending and checking the
chain), which every feature imports: this module reads the features' tables
to find a person's records, so it must not be imported by them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, not_, or_, select

from apprentice import csvsafe
from apprentice.audit.describe import KIND_BY_SLUG, KINDS, OTHER, Kind, describe, names_for
from apprentice.audit.models import AuditRecord
from apprentice.core.paging import page_and_pages
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.programmes.models import Enrolment
from apprentice.training.models import LogEntry, Pairing, SignOff

CSV_BATCH = 500
CSV_COLUMNS = ("id", "time (UTC)", "actor", "action", "sentence", "object type", "object id",
               "details", "hash")
# Details keys that name the person a record is about (besides its actor and object).
PERSON_KEYS = ("person", "apprentice", "mentor")
# Objects whose own row names everyone their records' details name (a sign-off's person,
# a pairing's apprentice and mentor, a programme's person): their records are found
# through that row, and their details need not be searched. An entry's row does not
# name the mentor it was sent to at the time, so entries' details are searched.
NAMED_BY_THEIR_ROW = ("StaffProfile", "SignOff", "Pairing", "Enrolment")


@dataclass(frozen=True)
class AuditFilter:
    """Which records to show: by a person (as actor or subject), kind and UTC days."""

    person_id: int | None = None
    kind: Kind | None = None
    since: date | None = None
    until: date | None = None

    @property
    def narrowed(self) -> bool:
        return any(v is not None for v in (self.person_id, self.kind, self.since, self.until))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _about_person(person_id: int):
    """Records by or about a person: as actor, as the object, about their entries,
    sign-offs, pairings and programmes, or named in the details.

    No index serves this (the trail is scanned, about 0.1 s per 100,000 records on
    SQLite); the text search of the details, the costly part, runs only on records
    whose object does not already name them (``NAMED_BY_THEIR_ROW``).
    """
    # Details are canonical JSON (sorted keys, no spaces), so a key and its number
    # read exactly '"person":12' followed by ',' or '}'; quotes inside strings are escaped.
    named = and_(AuditRecord.object_type.not_in(NAMED_BY_THEIR_ROW), or_(*(
        AuditRecord.details.like(f'%"{key}":{person_id}{end}%')
        for key in PERSON_KEYS for end in (",", "}"))))

    def owned(type_name, ids):
        return and_(AuditRecord.object_type == type_name, AuditRecord.object_id.in_(ids))

    return or_(
        AuditRecord.actor_id == person_id,
        and_(AuditRecord.object_type == "StaffProfile", AuditRecord.object_id == person_id),
        owned("LogEntry", select(LogEntry.id).where(LogEntry.person_id == person_id)),
        owned("SignOff", select(SignOff.id).where(SignOff.person_id == person_id)),
        owned("Pairing", select(Pairing.id).where(or_(Pairing.apprentice_id == person_id,
                                                      Pairing.mentor_id == person_id))),
        owned("Enrolment", select(Enrolment.id).where(Enrolment.person_id == person_id)),
        named,
    )


def _of_kind(kind: Kind):
    if kind is OTHER:
        return and_(*(not_(AuditRecord.action.like(f"{prefix}%"))
                      for known in KINDS for prefix in known.prefixes))
    return or_(*(AuditRecord.action.like(f"{prefix}%") for prefix in kind.prefixes))


def conditions(chosen: AuditFilter) -> list:
    where = []
    if chosen.person_id is not None:
        where.append(_about_person(chosen.person_id))
    if chosen.kind is not None:
        where.append(_of_kind(chosen.kind))
    if chosen.since is not None:
        where.append(AuditRecord.at >= _day_start(chosen.since))
    if chosen.until is not None and chosen.until < date.max:
        where.append(AuditRecord.at < _day_start(chosen.until + timedelta(days=1)))
    return where


def count(chosen: AuditFilter) -> int:
    return db_session().scalar(
        select(func.count()).select_from(AuditRecord).where(*conditions(chosen))) or 0


def page_of(chosen: AuditFilter, page: int, per_page: int
            ) -> tuple[list[AuditRecord], int, int, int]:
    """One page of the matching records, newest first: (records, total, page, pages), the
    page moved back to the last one when asked for one past it."""
    total = count(chosen)
    page, pages = page_and_pages(total, per_page, page)
    records = list(db_session().scalars(
        select(AuditRecord).where(*conditions(chosen)).order_by(AuditRecord.id.desc())
        .offset((page - 1) * per_page).limit(per_page)))
    return records, total, page, pages


def batches(chosen: AuditFilter, size: int = CSV_BATCH) -> Iterator[list[AuditRecord]]:
    """Every matching record, oldest first, a batch at a time (keyset: no growing offsets)."""
    session = db_session()
    after = 0
    while True:
        batch = list(session.scalars(
            select(AuditRecord).where(*conditions(chosen), AuditRecord.id > after)
            .order_by(AuditRecord.id).limit(size)))
        if not batch:
            return
        yield batch
        after = batch[-1].id
        for record in batch:  # a long download does not keep every record in memory
            session.expunge(record)


def csv_lines(chosen: AuditFilter) -> Iterator[str]:
    """The matching records as CSV, line by line (a header first), oldest first."""
    def rows():
        for batch in batches(chosen):
            names = names_for(batch)
            for record in batch:
                yield (record.id, record.at.isoformat(), record.actor_name, record.action,
                       str(describe(record, names)), record.object_type,
                       "" if record.object_id is None else record.object_id,
                       record.details, record.hash)

    return csvsafe.csv_lines(CSV_COLUMNS, rows())


def kind_from_slug(slug: str | None) -> Kind | None:
    return KIND_BY_SLUG.get(slug or "")


def people() -> list[tuple[int, str, bool]]:
    """Everyone, deactivated people too (their records stay): (id, name, active) by name."""
    return [tuple(row) for row in db_session().execute(
        select(StaffProfile.id, StaffProfile.name, StaffProfile.active)
        .order_by(StaffProfile.name, StaffProfile.id))]
