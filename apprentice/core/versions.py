"""The data version: one number that changes whenever apprentice's data does.

Every transaction that wrote to apprentice's tables adds one to a single row
(``apprentice_data_version``) as it commits, in the same transaction: a reader sees
the new number exactly when it can see the new data, on every server of one
database. Whatever is built from the data can then be kept under the number it was
built at (apprentice.core.pagecache) and nothing is ever invalidated by hand.

Changes are noticed on the session: objects flushed, and INSERT, UPDATE and DELETE
statements run through it or on its connection (apprentice.db.execute), each through
:func:`note_statement`. The counter's row is locked last, just before
COMMIT (after the final flush), so writers wait on it only for the commit itself and
always take it after every other lock (no deadlock can form around it).

A second row counts only the transactions that changed the programme's structure
(:data:`STRUCTURE_TABLES`: people and roles, pairings, enrolments, frameworks), which
every write form checks against and which changes a few times a day, not with every
entry logged. What is built from those tables alone is kept per process under that
number (:func:`kept_with_structure`), so a form's checks read it once, not per request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from itertools import chain
from threading import Lock

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from apprentice.core.models import DataVersion
from apprentice.db import TURN_READS, db_session, reading

CHANGED = "apprentice_changed"  # a session.info key: this transaction wrote data
RESHAPED = "apprentice_reshaped"  # a session.info key: ... changed the structure
DATA, STRUCTURE = 1, 2  # the counter rows: every change, and changes to the structure
SEEN = "apprentice_data_version"  # on g: the version this request's sign-in check read
SEEN_STRUCTURE = "apprentice_structure_version"  # on g: ... and the structure version

# Bookkeeping no page shows, written outside anyone's act: a change to these alone
# leaves the version as it is (the search index's cursors move every few seconds, and
# its change log is pruned: a procedure's change also writes the procedure).
UNCOUNTED = frozenset({"apprentice_index_replicas", "apprentice_index_changes",
                       DataVersion.__tablename__})


# Who is who, on which programme, paired with whom for what, and the frameworks: what
# the write forms check against. A change to one also moves the structure version.
# Of a person's row only the name and whether they are active count: a sign-in, a
# password or a sign-out everywhere changes it too, and is no change of structure.
STRUCTURE_TABLES: dict[str, frozenset[str] | None] = {  # table: its columns (None: all)
    "apprentice_staff": frozenset({"name", "active"}),
    **dict.fromkeys(("apprentice_staff_roles", "apprentice_pairings",
                     "apprentice_pairing_areas", "apprentice_enrolments",
                     "apprentice_enrolment_electives", "apprentice_frameworks",
                     "apprentice_competency_areas", "apprentice_competencies"))}


def _note(session: Session, table_name: str | None, reshapes: bool) -> None:
    if table_name not in UNCOUNTED:
        session.info[CHANGED] = True
        if reshapes:
            session.info[RESHAPED] = True


def _table_of(instance) -> str | None:
    return getattr(type(instance), "__tablename__", None)


def _reshapes(instance, table_name: str | None, changed: bool) -> bool:
    """Whether this change of ``instance`` (``changed``: an update, not an insert or a
    delete) changes the structure: its table's structure columns, or any of them."""
    if table_name not in STRUCTURE_TABLES:
        return False
    columns = STRUCTURE_TABLES[table_name]
    if columns is None or not changed:
        return True
    attributes = inspect(instance).attrs
    return any(attributes[column].history.has_changes() for column in columns)


def _pending(session: Session):
    """(instance, whether it is an update) for each change in the session."""
    return chain(((i, False) for i in session.new), ((i, True) for i in session.dirty),
                 ((i, False) for i in session.deleted))


def _note_flush(session: Session, _context) -> None:
    # after_flush still sees what the flush wrote in new, dirty and deleted, and the
    # attributes' history.
    for instance, changed in _pending(session):
        table_name = _table_of(instance)
        _note(session, table_name, _reshapes(instance, table_name, changed))


def note_statement(session: Session, statement) -> None:
    """Count an INSERT, UPDATE or DELETE run through ``session`` or on its connection
    (apprentice.db.execute)."""
    name = getattr(getattr(statement, "table", None), "name", None)
    _note(session, name, name in STRUCTURE_TABLES)  # which columns: not known


def _note_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        note_statement(state.session, state.statement)


@cache
def _bump(row: int):
    return (update(DataVersion).where(DataVersion.id == row)
            .values(version=DataVersion.version + 1))


def _count_on_commit(session: Session) -> None:
    session.flush()  # the transaction's last changes first: the counter's lock comes last
    if session.info.pop(CHANGED, False):
        connection = session.connection()  # Core: nothing in the session to keep in step
        connection.execute(_bump(DATA))
        if session.info.pop(RESHAPED, False):  # always after row 1: one order, no deadlock
            connection.execute(_bump(STRUCTURE))


def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:  # the whole transaction ended (not a savepoint)
        for key in (CHANGED, RESHAPED, TURN_READS):
            session.info.pop(key, None)
        if has_app_context():  # the next transaction may see a newer version
            g.pop(SEEN, None)
            g.pop(SEEN_STRUCTURE, None)


def count_changes(factory: sessionmaker) -> None:
    """Count every committed change made through sessions of ``factory``."""
    event.listen(factory, "after_flush", _note_flush)
    event.listen(factory, "do_orm_execute", _note_statement)
    event.listen(factory, "before_commit", _count_on_commit)
    event.listen(factory, "after_transaction_end", _forget)


@cache
def _read(row: int = DATA):
    return select(DataVersion.version).where(DataVersion.id == row)


def _read_now(session: Session, row: int = DATA) -> int:
    return session.connection().execute(_read(row)).scalar() or 0


def column(row: int = DATA):
    """A counter as a column of another statement (the sign-in guard's), so that a
    request learns it without a statement of its own (then :func:`seen`)."""
    return _read(row).scalar_subquery()


def seen(version: int | None, structure_version: int | None = None) -> None:
    """The versions this request's sign-in check read, carried by its statement."""
    if version is not None:
        g.setdefault(SEEN, version)
    if structure_version is not None:
        g.setdefault(SEEN_STRUCTURE, structure_version)


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


def highest() -> int:
    """The highest of the counters now (what :func:`carry_over` must pass)."""
    session = db_session()
    return session.connection().execute(select(func.max(DataVersion.version))).scalar() or 0


def carry_over(before: int) -> None:
    """After the tables were replaced (a restore), set both counters far above every
    number they came with and ``before`` (:func:`highest` of the live ones, read before
    the copy began): numbers never go back, and none a process kept something under
    comes round again."""
    session = db_session()
    session.execute(update(DataVersion).values(version=max(before, highest()) + LEAP))
    session.commit()


def leap(connection) -> None:
    """After a migration (its data changes never pass through a session), on a
    connection: move both counters far on, when the table exists."""
    if inspect(connection).has_table(DataVersion.__tablename__):
        connection.execute(update(DataVersion).values(version=DataVersion.version + LEAP))


# -- what is kept under the structure version ------------------------------------------

# Entries kept per process before the store starts afresh (each is one person's
# programme or pairings: a tuple of references to plain data shared by many).
STRUCTURE_KEPT = 20_000


class StructureStore:
    """What :func:`kept_with_structure` keeps: the values of one structure version.
    A newer version starts it afresh; a transaction that still sees an older one (it
    began before the change) builds its own and keeps nothing. The version and its
    values are one tuple, replaced whole: a thread never reads one with the other's."""

    def __init__(self, size: int = STRUCTURE_KEPT):
        self.size = size
        self._kept: tuple[int, dict] = (-1, {})
        self._lock = Lock()

    def get(self, version: int, key):
        kept_version, values = self._kept
        return values.get(key) if version == kept_version else None

    def put(self, version: int, key, value) -> None:
        with self._lock:
            kept_version, values = self._kept
            if version > kept_version or len(values) >= self.size:
                self._kept = (max(version, kept_version), {})
            kept_version, values = self._kept
            if version == kept_version:
                values[key] = value


def structure(session: Session) -> int | None:
    """The structure version this transaction sees, read once per transaction (and
    again after the write turn, apprentice.db.write_turn); None when its row is
    missing (nothing can be kept then).

    A request that only reads (a page, a form before its write turn) takes the one its
    sign-in check carried: what is kept under it is then found without a transaction
    of its own. A change committed since is seen by the next request, and by every
    check a write makes after its turn, which reads the version under the lock."""
    reads = session.info.setdefault(TURN_READS, {})
    if "structure" not in reads:
        carried = g.get(SEEN_STRUCTURE) if has_request_context() and reading() else None
        reads["structure"] = (carried if carried is not None else
                              session.connection().execute(_read(STRUCTURE)).scalar())
    return reads["structure"]


def _reshaping(session: Session) -> bool:
    """Whether this transaction changed (or is about to flush a change to) the
    structure: what it reads then is not yet what the version it sees stands for."""
    return session.info.get(RESHAPED, False) or any(
        _reshapes(instance, _table_of(instance), changed)
        for instance, changed in _pending(session))


def _structure_store() -> StructureStore:
    caches = current_app.extensions["apprentice"].caches
    store = caches.get("structure")
    return store if store is not None else caches.setdefault("structure", StructureStore())


def kept_with_structure(build: Callable) -> Callable:
    """Keep what ``build(*args)`` returns per process under the structure version.

    ``build`` reads :data:`STRUCTURE_TABLES` only (tests/test_structure_kept.py holds
    each one to that) and returns plain data nobody changes (frozen dataclasses,
    tuples). Within a transaction that changed the structure, it is built afresh.
    Nothing is invalidated by hand: any change to those tables, on any server, moves
    the version that the next transaction reads."""

    @wraps(build)
    def kept(*args):
        session = db_session()
        version = None if _reshaping(session) else structure(session)
        if version is None:
            return build(*args)
        store = _structure_store()
        key = (build, args)
        value = store.get(version, key)
        if value is None:
            value = build(*args)
            store.put(version, key, value)
        return value

    kept.build = build  # for the tests that read what it reads
    return kept
