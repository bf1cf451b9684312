"""The data version: one number that changes whenever apprentice's data does.

Every transaction that wrote to apprentice's tables adds one to a single row
(``apprentice_data_version``) as it commits, in the same transaction: a reader sees
the new number exactly when it can see the new data, on every server of one
database. Whatever is built from the data can then be kept under the number it was
built at (apprentice.core.pagecache) and nothing is ever invalidated by hand.

Changes are noticed on the session, in one place: objects flushed, and INSERT, UPDATE
and DELETE statements run through it. The counter's row is locked last, just before
COMMIT (after the final flush), so writers wait on it only for the commit itself and
always take it after every other lock (no deadlock can form around it).
"""

from __future__ import annotations

from functools import cache
from itertools import chain

from flask import g, has_app_context
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from apprentice.core.models import DataVersion
from apprentice.db import db_session

CHANGED = "apprentice_changed"  # a session.info key: this transaction wrote data
SEEN = "apprentice_data_version"  # on g: the version this request's sign-in check read

# Bookkeeping no page shows, written outside anyone's act: a change to these alone
# leaves the version as it is (the search index's cursors move every few seconds, and
# its change log is pruned: a procedure's change also writes the procedure).
UNCOUNTED = frozenset({"apprentice_index_replicas", "apprentice_index_changes",
                       DataVersion.__tablename__})


def _counts(table_name: str | None) -> bool:
    return table_name not in UNCOUNTED


def _note_flush(session: Session, _context) -> None:
    # after_flush still sees what the flush wrote in new, dirty and deleted.
    for instance in chain(session.new, session.dirty, session.deleted):
        if _counts(getattr(type(instance), "__tablename__", None)):
            session.info[CHANGED] = True
            return


def _note_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if _counts(getattr(table, "name", None)):
            state.session.info[CHANGED] = True


@cache
def _bump():
    return (update(DataVersion).where(DataVersion.id == 1)
            .values(version=DataVersion.version + 1))


def _count_on_commit(session: Session) -> None:
    session.flush()  # the transaction's last changes first: the counter's lock comes last
    if session.info.pop(CHANGED, False):
        session.connection().execute(_bump())  # Core: nothing in the session to keep in step


def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction ended (not a savepoint)
        session.info.pop(CHANGED, None)
        if has_app_context():  # the next transaction may see a newer version
            g.pop(SEEN, None)


def count_changes(factory: sessionmaker) -> None:
    """Count every committed change made through sessions of ``factory``."""
    event.listen(factory, "after_flush", _note_flush)
    event.listen(factory, "do_orm_execute", _note_statement)
    event.listen(factory, "before_commit", _count_on_commit)
    event.listen(factory, "after_transaction_end", _forget)


@cache
def _read():
    return select(DataVersion.version).where(DataVersion.id == 1)


def _read_now(session: Session) -> int:
    return session.connection().execute(_read()).scalar() or 0


def column():
    """The version as a column of another statement (the sign-in guard's), so that a
    request learns it without a statement of its own (then :func:`seen`)."""
    return _read().scalar_subquery()


def seen(version: int | None) -> None:
    """The version this request's sign-in check read, carried by its statement."""
    if version is not None:
        g.setdefault(SEEN, version)


def current() -> int:
    """The data version as this request found it: what its sign-in check carried, else
    read now (a Core statement on the session's connection)."""
    version = g.get(SEEN) if has_app_context() else None
    return _read_now(db_session()) if version is None else version


def unchanged_since(version: int) -> bool:
    """Whether the version the page's own reads saw is still ``version``, so that a page
    built since it was read shows that version's data: the sign-in check read it on a
    connection of its own, and a write may have committed before the page's first read
    (or, on PostgreSQL, which reads each statement afresh, between any two)."""
    return _read_now(db_session()) == version


# Far beyond any number a running process can have read while the tables were replaced
# (a restore copies for seconds; writes go on meanwhile on other servers).
LEAP = 2**32


def carry_over(before: int) -> None:
    """After the tables were replaced (a restore), set the version far above both the
    one they came with and ``before`` (the live one, read before the copy began):
    numbers never go back, and none a process kept a page under comes round again."""
    session = db_session()
    session.execute(update(DataVersion).where(DataVersion.id == 1)
                    .values(version=max(before, _read_now(session)) + LEAP))
    session.commit()


def leap(connection) -> None:
    """After a migration (its data changes never pass through a session), on a
    connection: move the version far on, when the table exists."""
    if inspect(connection).has_table(DataVersion.__tablename__):
        connection.execute(update(DataVersion).where(DataVersion.id == 1)
                           .values(version=DataVersion.version + LEAP))
