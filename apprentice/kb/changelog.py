"""The search index's change log, and each server's place in it.

Every procedure change appends a row to an append-only log in the change's own
transaction (:func:`record`). Each server's index folder is a *replica*: an id of
its own, kept in a file in the folder, and a cursor in the database, the newest
change it has applied. A server applies whatever lies beyond its cursor (after its
own saves and on a timer: apprentice/kb/search.py, apprentice/kb/applier.py), so an
edit made on any server reaches every server. Rows are pruned only below the lowest
cursor of the replicas still live (:func:`prune`).

Ordering never uses a clock: ids come from the database. Nothing here knows Whoosh.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, insert, literal, select, update

from apprentice.config import index_dir
from apprentice.db import advisory_lock, db_session, utcnow
from apprentice.kb.models import GlossaryVersion, IndexChange, IndexReplica

LOG_LOCK_KEY = 0x61706978  # PostgreSQL advisory lock taken to append (any fixed number)
REPLICA_FILE = "replica"  # in the index folder: this replica's id and where it was made


def record(procedure_id: int) -> None:
    """Append a change of ``procedure_id`` to the log, in the caller's transaction.

    A replica's cursor moves past every id it has read, so no id may become visible
    below a cursor after the cursor passed it. PostgreSQL hands out a sequence's ids
    at INSERT, and a transaction holding id 7 may commit after one holding id 8: a
    replica that applied 8 would skip 7 for ever. So each transaction takes its id
    under a lock held until it commits (a few milliseconds: this is called just
    before the commit), and ids become visible in the order they were handed out;
    remembering gaps to look at again was the alternative, with no simple bound on
    how long to look. SQLite needs no lock: one writer at a time gives the order.
    """
    advisory_lock(LOG_LOCK_KEY)
    db_session().execute(insert(IndexChange).values(procedure_id=procedure_id))


# -- which replica this server is ---------------------------------------------------------

@dataclass(frozen=True)
class Replica:
    id: str
    location: str  # host:folder, so that a person can tell the replicas apart


def _location(folder: Path) -> str:
    return f"{socket.gethostname()}:{folder.resolve()}"


def this_replica(create: bool = False) -> Replica | None:
    """This server's replica, from the file in its index folder; None when the folder is
    not one yet (a new server, a deleted folder). ``create``: make the file (a rebuild).

    A file written for another folder or host (an instance folder copied to a new
    server) is not this replica: two servers sharing one cursor would each skip the
    changes the other applied. A new id is made instead.
    """
    folder = index_dir(current_app)
    path, here = folder / REPLICA_FILE, _location(folder)
    try:
        found = json.loads(path.read_text())
        if found.get("location") == here and found.get("id"):
            return Replica(str(found["id"]), here)
    except (OSError, ValueError, AttributeError):
        found = None
    if not create:
        return None
    if found is not None:  # made elsewhere
        path.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    # Several processes of a server may build at once: the file is linked into place,
    # so exactly one id wins and every process reads that one.
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".replica.")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump({"id": uuid.uuid4().hex, "location": here}, handle)
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)
    return this_replica()


# -- the cursor ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Position:
    """A replica's row (None fields: no row) with the log's and the glossary's newest ids,
    read in one statement."""

    registered: bool
    applied_upto: int
    glossary_id: int | None
    rebuild_floor: int | None
    built_from: int | None
    built_at: datetime | None
    last_seen_at: datetime | None
    newest_change: int
    newest_glossary: int  # 0: the shipped list

    @property
    def built(self) -> bool:
        """The replica's index was built here and is kept up to date from the log."""
        return self.registered and self.glossary_id is not None


def newest_change():
    return select(func.coalesce(func.max(IndexChange.id), 0)).scalar_subquery()


def newest_glossary():
    return select(func.coalesce(func.max(GlossaryVersion.id), 0)).scalar_subquery()


def position(replica_id: str | None) -> Position:
    """Where ``replica_id`` stands: one statement, cheap enough for a timer."""
    one = select(literal(1).label("one")).subquery()
    row = db_session().execute(
        select(IndexReplica.id, IndexReplica.applied_upto, IndexReplica.glossary_id,
               IndexReplica.rebuild_floor, IndexReplica.built_from, IndexReplica.built_at,
               IndexReplica.last_seen_at, newest_change(), newest_glossary())
        .select_from(one).outerjoin(IndexReplica, IndexReplica.id == (replica_id or ""))
    ).one()
    return Position(registered=row[0] is not None, applied_upto=row[1] or 0,
                    glossary_id=row[2], rebuild_floor=row[3], built_from=row[4],
                    built_at=row[5], last_seen_at=row[6], newest_change=row[7],
                    newest_glossary=row[8])


def changes_after(applied_upto: int, limit: int, upto: int | None = None
                  ) -> list[tuple[int, int]]:
    """(id, procedure id) of the next ``limit`` changes after ``applied_upto``, oldest
    first (none newer than ``upto``)."""
    query = (select(IndexChange.id, IndexChange.procedure_id)
             .where(IndexChange.id > applied_upto).order_by(IndexChange.id).limit(limit))
    if upto is not None:
        query = query.where(IndexChange.id <= upto)
    return [tuple(row) for row in db_session().execute(query)]


def count_after(applied_upto: int) -> int:
    return db_session().scalar(
        select(func.count(IndexChange.id)).where(IndexChange.id > applied_upto)) or 0


def start_rebuild(replica: Replica) -> None:
    """Before a rebuild reads the database: register the replica (a new one, at the log's
    newest id), and hold pruning at its cursor until the rebuild is recorded
    (:func:`built`), since meanwhile the old index moves on without the new one."""
    session = db_session()
    row = session.get(IndexReplica, replica.id)
    if row is None:
        row = IndexReplica(id=replica.id, applied_upto=session.scalar(select(newest_change())))
        session.add(row)
    row.location = replica.location[:500]
    row.rebuild_floor = row.applied_upto
    row.last_seen_at = utcnow()
    session.commit()


def built(replica: Replica, upto: int, glossary_id: int) -> None:
    """A rebuild holding every change up to ``upto``, with glossary ``glossary_id``, is
    now this replica's index: the cursor is set (lowered, too, when the old index had
    moved on: the new one has not) and pruning may go on."""
    session = db_session()
    row = session.get(IndexReplica, replica.id)
    if row is None:  # forgotten meanwhile (a restore): registered again
        row = IndexReplica(id=replica.id, location=replica.location[:500])
        session.add(row)
    row.applied_upto, row.glossary_id, row.rebuild_floor = upto, glossary_id, None
    row.built_from, row.built_at = upto, utcnow()
    row.last_seen_at = utcnow()
    session.commit()


def advance(replica: Replica, upto: int) -> bool:
    """Move the cursor on to ``upto`` (never back: another process of this server may
    have gone further); False when the replica has no row any more (forgotten as gone,
    or by a restore: it is rebuilt)."""
    session = db_session()
    moved = session.execute(
        update(IndexReplica).where(IndexReplica.id == replica.id,
                                   IndexReplica.applied_upto < upto)
        .values(applied_upto=upto, last_seen_at=utcnow())).rowcount
    known = moved or session.get(IndexReplica, replica.id) is not None
    session.commit()
    return bool(known)


def set_glossary(replica: Replica, glossary_id: int) -> None:
    """The index already carries glossary ``glossary_id`` (a version saved again with the
    same groups): noted, so that the timer does not look again."""
    db_session().execute(update(IndexReplica).where(IndexReplica.id == replica.id)
                         .values(glossary_id=glossary_id))
    db_session().commit()


def clear_floor(replica: Replica) -> None:
    """A rebuild that died (its process killed) held pruning back: let it go."""
    db_session().execute(update(IndexReplica).where(IndexReplica.id == replica.id)
                         .values(rebuild_floor=None))
    db_session().commit()


def touch(replica: Replica) -> None:
    """Say the replica is still live (its server up, with nothing to apply)."""
    db_session().execute(update(IndexReplica).where(IndexReplica.id == replica.id)
                         .values(last_seen_at=utcnow()))
    db_session().commit()


@dataclass(frozen=True)
class Pruned:
    replicas: int  # forgotten: not seen within the time-to-live
    changes: int  # removed: every live replica had applied them


def prune(ttl: timedelta) -> Pruned:
    """Forget replicas not seen for ``ttl`` (their servers rebuild if they come back),
    then remove the changes every remaining replica has applied.

    A replica is forgotten before its changes go, so one that returns finds no row
    and rebuilds rather than trusting a cursor whose next changes were removed. With
    no replica left, nothing is removed: a new one builds from the database anyway.
    """
    session = db_session()
    forgotten = session.execute(
        delete(IndexReplica).where(IndexReplica.last_seen_at < utcnow() - ttl)).rowcount
    floors = [min(upto, floor if floor is not None else upto) for upto, floor in
              session.execute(select(IndexReplica.applied_upto, IndexReplica.rebuild_floor))]
    removed = 0
    if floors:
        removed = session.execute(
            delete(IndexChange).where(IndexChange.id <= min(floors))).rowcount
    session.commit()
    return Pruned(replicas=forgotten, changes=removed)


def forget_all() -> int:
    """Forget every replica (after a restore: the log and every index are from another
    moment, so every server rebuilds)."""
    forgotten = db_session().execute(delete(IndexReplica)).rowcount
    db_session().commit()
    return forgotten
