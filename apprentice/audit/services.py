"""Appending to and checking the audit trail.

Every change that matters calls :func:`record` inside its own transaction, so
the record and the change commit together or not at all. Appends are made one
at a time (SQLite: writing transactions already queue for the write lock;
PostgreSQL: a transaction-scoped advisory lock), so several worker processes
still build one unbroken chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

from sqlalchemy import select

from apprentice.audit.models import AuditRecord
from apprentice.db import advisory_lock, db_session, execute, insert_into, utcnow

GENESIS = "0" * 64
# Any fixed number: the key of PostgreSQL's advisory lock for appends.
ADVISORY_LOCK_KEY = 0x61707072  # "appr"


def canonical(details: dict) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def compute_hash(record, prev_hash: str) -> str:
    """The hash of a record's content (an AuditRecord or a row with its columns)
    and its predecessor's hash."""
    content = canonical({
        "id": record.id,
        "at": record.at.isoformat(),
        "actor_id": record.actor_id,
        "actor_name": record.actor_name,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "details": record.details,
        "prev": prev_hash,
    })
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def newest() -> AuditRecord | None:
    return db_session().scalar(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1))


@cache
def _chain_end():
    """The newest record's id and hash, all the next record needs of it (built once per
    process; loading the whole record cost more than the rest of appending one)."""
    return select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)


def record(action: str, *, actor=None, obj=None, object_type: str = "",
           object_id: int | None = None, **details) -> None:
    """Append one record to the current transaction (the caller commits).

    ``obj`` names the object (its table's singular name and id) unless
    ``object_type``/``object_id`` are given.
    """
    session = db_session()
    advisory_lock(ADVISORY_LOCK_KEY)
    last = execute(_chain_end()).first()
    if obj is not None:
        session.flush()  # the object needs its id
        object_type = object_type or type(obj).__name__
        object_id = object_id if object_id is not None else obj.id
    row = SimpleNamespace(
        id=(last.id + 1) if last else 1,
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "name", "") or "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=canonical(details),
        prev_hash=last.hash if last else GENESIS,
    )
    row.hash = compute_hash(row, row.prev_hash)
    execute(insert_into(AuditRecord.__table__), vars(row))


@dataclass(frozen=True)
class ChainReport:
    records: int
    newest_hash: str
    broken_at: int | None = None  # id of the first record whose link is wrong
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(batch: int = 5000) -> ChainReport:
    """Walk the chain from the start; report the first broken link."""
    session = db_session()
    prev = GENESIS
    count = 0
    last_id = 0
    columns = [getattr(AuditRecord, c.key) for c in AuditRecord.__table__.columns]
    while True:
        rows = session.execute(  # plain rows: nothing piles up in the session
            select(*columns).where(AuditRecord.id > last_id)
            .order_by(AuditRecord.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(records=count, newest_hash=prev)
        for row in rows:
            count += 1
            if row.prev_hash != prev:
                return ChainReport(count, prev, row.id,
                                   "it does not follow the record before it "
                                   "(one was deleted or the order changed)")
            if compute_hash(row, prev) != row.hash:
                return ChainReport(count, prev, row.id, "its content was changed")
            prev = row.hash
            last_id = row.id


def recent(limit: int = 100) -> list[AuditRecord]:
    return list(db_session().scalars(
        select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    ))
