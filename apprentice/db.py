"""The data layer: one declarative base, one engine and session per Flask app.

apprentice never registers Flask-SQLAlchemy on the host. It keeps its own
engine (or borrows the host's, see ``APPRENTICE_ENGINE``) and a session per app
context, stored on ``g`` under an ``apprentice_`` name and closed on teardown.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from itertools import count

from flask import current_app, g, has_request_context, request
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.types import TypeDecorator

# Named constraints let Alembic alter and drop them, SQLite batch mode included.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every apprentice table: names start with ``apprentice_``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def one_of(column: str, values, name: str) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``values`` (enum members or strings)."""
    listed = ", ".join(f"'{getattr(value, 'value', value)}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware. Used as a column default (called per row)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite has no time zones; PostgreSQL has. Storing naive UTC on both and
    attaching UTC on the way out gives one behaviour everywhere.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("apprentice stores only timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def reading() -> bool:
    """Whether a transaction begun now would only read (see :func:`_begin_statement`)."""
    return _reading_only.get() or (has_request_context() and (
        request.method in SAFE_METHODS or g.get(READS_FIRST, False)))


def _begin_statement() -> str:
    """``BEGIN IMMEDIATE`` where the work may write, plain ``BEGIN`` for page views and
    for a form's reads before its write turn (:func:`write_turn`).

    In WAL mode a deferred transaction that has read and then tries to write,
    after another process committed, fails at once with "database is locked"
    (the busy timeout does not help). Taking the write lock at the start makes
    writers queue for it instead. Page views (GET) only read, and keep reading
    in parallel.
    """
    return "BEGIN" if reading() else "BEGIN IMMEDIATE"


# -- a form's reads, then its write turn ---------------------------------------------------
# SQLite lets one transaction write at a time, and a form's request used to hold that
# lock from its first statement: the sign-in check, the form's choices, the objects it
# names. Its reads now come first, in a read transaction; the write turn ends it and
# takes the lock, and every check the write depends on is made (again) after that.

READS_FIRST = "apprentice_reads_first"  # on g: a form's request, before its write turn


def reads_first(view):
    """Mark a view whose service takes its own write turn: the view's reads (the form's
    choices, the objects it names) run before it, outside SQLite's write lock. Every
    other form takes its turn before the view runs (apprentice.web)."""
    view.apprentice_reads_first = True
    return view


def reading_before_writing() -> None:
    """This request (a form's) reads first: its transactions begin as reads until
    :func:`write_turn`."""
    g.setdefault(READS_FIRST, True)


# A session.info key: what this transaction read once and keeps for its length (the
# structure version, apprentice.core.versions), forgotten at the write turn so that the
# checks after it read it again.
TURN_READS = "apprentice_turn_reads"


def write_turn() -> None:
    """This request writes from here on. On SQLite a read begun before ends, so the next
    statement takes the write lock; every object read so far is read again when next
    used, now under the lock. On PostgreSQL, whose writers lock rows and never the whole
    database, nothing changes. Services call it before the checks their write depends
    on; it does nothing outside a request that read first."""
    if not has_request_context() or not g.pop(READS_FIRST, False):
        return
    session = g.get("apprentice_db_session")
    if session is None:
        return
    session.info.pop(TURN_READS, None)  # read again under the lock, on every database
    if not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("write_turn() comes before the changes it lets through")
    if session.get_bind().dialect.name == "sqlite":
        session.rollback()  # it only read: nothing is lost, and its objects are expired


def after_refusal() -> None:
    """A service refused what a form sent (apprentice.validation.Invalid: nothing was
    saved). End its write transaction now, and begin the request's next ones as a page
    view's, so that the form drawn again with its messages reads outside SQLite's write
    lock instead of holding it, and every other writer waiting, for as long as the page
    takes. Objects read so far are read again when next used."""
    if not has_request_context() or reading():
        return
    session = g.get("apprentice_db_session")
    if session is not None and session.in_transaction():
        session.rollback()
    reading_before_writing()


def _refuse_early_writes(session, *_args) -> None:
    """A write before the write turn would run in a read transaction, which SQLite
    refuses as soon as another process has written: a mistake in the code, said here
    rather than as "database is locked" under load."""
    if has_request_context() and g.get(READS_FIRST) and session is g.get(
            "apprentice_db_session"):
        raise RuntimeError("a form wrote before its write turn: call write_turn() first")


def _refuse_early_statements(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _refuse_early_writes(state.session)


_reading_only = ContextVar("apprentice_reading_only", default=False)


@contextmanager
def reading_only():
    """Transactions begun inside start as a page view's do (plain ``BEGIN`` on SQLite):
    work outside a request that only reads (the search index's applier, every few
    seconds) never holds the write lock. Commit before writing: a write in such a
    transaction fails at once when another process wrote meanwhile."""
    token = _reading_only.set(True)
    try:
        yield
    finally:
        _reading_only.reset(token)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout and foreign keys; and let SQLAlchemy own BEGIN.

    pysqlite's own transaction handling defers BEGIN in ways that break
    SAVEPOINT and make locking unpredictable; this is SQLAlchemy's documented fix.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.close()

    queue = _WriterQueue.beside(engine.url.database)
    _beginning(engine.dialect, queue)
    _after_ending(engine.dialect, queue)
    if queue is not None:
        # A connection invalidated mid-write sees no ROLLBACK: its turn ends here.
        event.listen(engine, "invalidate",
                     lambda dbapi_connection, _record, _exc: queue.leave(dbapi_connection))


# The write-ahead log is copied into the database (a checkpoint) every CHECKPOINT_EVERY
# commits of a process, once the writer's turn has ended: the other writers go on
# meanwhile. SQLite's own checkpoint runs inside the COMMIT that crosses its threshold,
# still holding the turn, and every writer of every process waited for it; it stays, at
# WAL_CHECKPOINT_PAGES (SQLite's default: 1,000), for a log that grows faster than that
# (many processes). Between two checkpoints the busiest writes rewrite the same few pages (the
# ends of the entries, audit and receipts tables and their indexes, the data version's
# row), which a checkpoint copies once however often they were written.
CHECKPOINT_EVERY = 200
WAL_CHECKPOINT_PAGES = 10_000  # about 40 MB of log


def _beginning(dialect, queue: _WriterQueue | None) -> None:
    """Give ``dialect`` (this engine's own) a BEGIN: pysqlite's is none at all. Run on
    the driver's connection, where SQLAlchemy begins a transaction (its errors wrapped as
    every statement's are), not as a statement of its own through the engine, whose
    result and context cost more than BEGIN itself, once or twice a request. A writer
    takes its turn first (:class:`_WriterQueue`)."""
    def do_begin(dbapi_connection):
        statement = _begin_statement()
        if queue is not None and statement == "BEGIN IMMEDIATE":
            queue.join(dbapi_connection)
        _driver(dbapi_connection).execute(statement)

    dialect.do_begin = do_begin


def _driver(dbapi_connection):
    """The driver's own connection behind the pool's proxy (or itself): where a
    transaction is begun and ended, and how a writer's turn knows its connection."""
    return getattr(dbapi_connection, "driver_connection", dbapi_connection)


def _after_ending(dialect, queue: _WriterQueue | None) -> None:
    """Wrap ``dialect``'s (this engine's own) COMMIT and ROLLBACK: the writer's turn ends
    once they have run, whether or not they succeeded (:class:`_WriterQueue`), and every
    CHECKPOINT_EVERY commits the log is checkpointed after it."""
    def ending(end):
        def ended(dbapi_connection):
            try:
                end(dbapi_connection)
            finally:
                if queue is not None:
                    queue.leave(dbapi_connection)
        return ended

    committed, commits = ending(dialect.do_commit), count(1)

    def do_commit(dbapi_connection):
        committed(dbapi_connection)
        if next(commits) % CHECKPOINT_EVERY == 0:
            checkpoint(dbapi_connection)

    dialect.do_commit, dialect.do_rollback = do_commit, ending(dialect.do_rollback)


def checkpoint(dbapi_connection) -> None:
    """Copy what the write-ahead log holds into the database, waiting for nobody (PASSIVE:
    a reader's snapshot or a writer's frames are left for the next one)."""
    with suppress(sqlite3.Error):  # none this time: the next one, or SQLite's own
        dbapi_connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").close()


class _WriterQueue:
    """Writers to one SQLite file take turns through a lock file beside it.

    SQLite lets one transaction write at a time; a writer that finds the file locked
    sleeps in its busy handler (1, 2, 5, 10 ... up to 100 ms), so under a burst of
    saves a waiting worker slept on after the holder had finished, and the holder's
    next request took the lock again first. Waiting here instead, polling the lock file
    every tenth of a millisecond (up to every half millisecond as a long write goes on:
    a sign-off holds the turn about 3 ms, and a waiter that looked every 2 ms found it
    free a millisecond late on average), hands the turn over within half a millisecond
    to a writer that waited (not in order of arrival). After
    the busy timeout (10 s) the writer goes on to BEGIN IMMEDIATE as before, whose own
    timeout then applies.

    The turn ends once COMMIT or ROLLBACK has run, not before (SQLAlchemy's commit and
    rollback events come before them): the next writer's BEGIN IMMEDIATE never meets
    the lock still held and sleeps a millisecond in SQLite's busy handler. A thread
    already holding a turn (a second connection inside a write) does not queue behind
    itself; a turn whose connection is invalidated mid-write ends then, and one whose
    thread ended without ending it ends with the thread. A lock file that cannot be
    opened or locked (made by another user, a file system without locks) leaves
    writers to SQLite's own waiting, as before.
    """

    POLL = 0.0001  # seconds between two looks at first, growing to LONGEST_POLL
    LONGEST_POLL = 0.0005
    TIMEOUT = 10.0

    def __init__(self, path: str):
        self.path = os.path.abspath(path)  # the folder the app started in, not a later one
        self.held = threading.local()

    @classmethod
    def beside(cls, database: str | None) -> _WriterQueue | None:
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(f"{database}-writers")

    def join(self, dbapi_connection) -> None:
        turn = getattr(self.held, "turn", None)
        if turn is not None:
            if turn.still_writing():
                return  # a second connection inside this thread's write: no queue for it
            self._let_go()  # that transaction ended unseen
        try:  # read-only is enough to lock, so whoever made the file, others may use it
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            return
        deadline, pause = time.monotonic() + self.TIMEOUT, self.POLL
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() <= deadline:
                    time.sleep(pause)
                    pause = min(pause * 1.5, self.LONGEST_POLL)  # a long write: ask less
                    continue
            except OSError:
                pass
            os.close(fd)  # waited long enough, or no locks here: SQLite's own waiting
            return
        self.held.turn = _Turn(fd, _driver(dbapi_connection))

    def leave(self, dbapi_connection) -> None:
        """After COMMIT or ROLLBACK on ``dbapi_connection`` (the pool's proxy, or the
        driver's own), or as it is invalidated: end the turn if that connection took it."""
        turn = getattr(self.held, "turn", None)
        if turn is not None and _driver(dbapi_connection) is turn.connection:
            self._let_go()

    def _let_go(self) -> None:
        self.held.turn.end()
        self.held.turn = None


class _Turn:
    """A writer's turn: the lock file (its descriptor) and the connection writing. The
    file is closed, letting go of its lock, when the turn ends, or when the thread
    holding it ends without ending it (its thread-local turn is dropped)."""

    def __init__(self, fd: int, connection):
        self.connection = connection
        self.end = weakref.finalize(self, os.close, fd)

    def still_writing(self) -> bool:
        try:
            return self.connection.in_transaction
        except sqlite3.Error:  # closed
            return False


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with apprentice's SQLite settings where they apply."""
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


class Database:
    """The engine and session factory of one app, created on first use.

    Created lazily so that a host's engine (``APPRENTICE_ENGINE`` as a callable,
    e.g. ``lambda: db.engine`` for Flask-SQLAlchemy) can be borrowed inside an
    app context.
    """

    def __init__(self, url: str | None, engine_source=None):
        self.url = url
        self._engine_source = engine_source
        self._engine: Engine | None = None
        self._factory: sessionmaker | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    source = self._engine_source
                    if source is None:
                        engine = make_engine(self.url)
                    elif isinstance(source, Engine):
                        engine = source
                    else:
                        engine = source()
                    # Objects stay readable after commit (the redirect that follows
                    # a save, factories in tests); each request has its own session.
                    self._factory = sessionmaker(bind=engine, expire_on_commit=False)
                    from apprentice.core import versions  # it builds on this module

                    versions.count_changes(self._factory)
                    event.listen(self._factory, "before_flush", _refuse_early_writes)
                    event.listen(self._factory, "do_orm_execute", _refuse_early_statements)
                    self._engine = engine
        return self._engine

    def new_session(self) -> Session:
        self.engine  # noqa: B018 - creates the factory on first use
        return self._factory()

    def dispose(self) -> None:
        """Close pooled connections we own (not a borrowed host engine)."""
        if self._engine is not None and self._engine_source is None:
            self._engine.dispose()


def database() -> Database:
    """The current app's :class:`Database`."""
    return current_app.extensions["apprentice"].database


def db_session() -> Session:
    """The session of the current app context, opened on first use."""
    session = g.get("apprentice_db_session")
    if session is None:
        session = g.apprentice_db_session = database().new_session()
    return session


def close_db_session(_exc=None) -> None:
    """Teardown: close the app context's session, rolling back anything left open."""
    session = g.pop("apprentice_db_session", None)
    if session is not None:
        session.close()


def advisory_lock(key: int) -> None:
    """Hold ``key`` until the transaction ends, so a check-then-write runs one worker
    process at a time. PostgreSQL: a transaction-scoped advisory lock. SQLite needs
    none: a request that may write already holds the write lock (BEGIN IMMEDIATE)."""
    _refuse_early_writes(db_session())  # on SQLite the write turn is the lock
    session = db_session()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def id_of(record) -> int:
    """A row's id without reading it: an object expired by the write turn keeps its id
    in its identity (reading it as ``.id`` would load the whole row again). Anything
    that is not a mapped object (plain data, a row) gives its ``id``."""
    state = inspect(record, raiseerr=False)
    if state is not None and state.identity is not None:
        return state.identity[0]
    return record.id


def execute(statement, params=None):
    """Run a Core statement on the session's connection, for a third of the cost of
    ``Session.execute`` (no ORM entities to load, nothing to flush first): what the
    busiest forms' few statements need. A write is refused before the write turn and
    counted in the data version, as the session's own are (apprentice.core.versions)."""
    session = db_session()
    if statement.is_dml:
        _refuse_early_writes(session)
        from apprentice.core import versions  # it builds on this module

        versions.note_statement(session, statement)
    return session.connection().execute(statement, params)


@cache
def insert_into(table):
    """A table's INSERT, built once per process (its values bound when run)."""
    return insert(table)


@cache
def insert_unless(table, columns: tuple[str, ...], dialect: str):
    """``INSERT ... ON CONFLICT (columns) DO NOTHING RETURNING`` the primary key, for
    SQLite (3.35 or newer) or PostgreSQL (built once): a row comes back when inserted,
    none when a row with those unique columns is there already (rowcount is not always
    told)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise NotImplementedError(f"apprentice runs on SQLite and PostgreSQL, not {dialect}")
    return (dialect_insert(table).on_conflict_do_nothing(index_elements=list(columns))
            .returning(*table.primary_key.columns))


def inserted(model: type[Base], row: dict, *links: tuple[type[Base], str, list[dict]],
             unless: tuple[str, ...] = ()):
    """Insert one row of ``model`` and rows linked to it by ``(link model, its column
    naming the row, [their other columns])``, as Core statements (no unit of work: the
    busiest forms save this way), and return the row as a persistent object of this
    session: its columns as inserted, its relationships read only if asked for.

    ``unless``: unique columns; None (nothing inserted) when a row with those values is
    there already, found by the INSERT itself rather than a SELECT before it."""
    table = model.__table__
    if unless:
        statement = insert_unless(table, unless, db_session().get_bind().dialect.name)
        found = execute(statement, row).first()
        if found is None:
            return None
        new_id = found[0]
    else:
        new_id = execute(insert_into(table), row).inserted_primary_key[0]
    for link_model, key, rows in links:
        if rows:
            execute(insert_into(link_model.__table__), [{key: new_id, **r} for r in rows])
    record = model(id=new_id, **row)
    make_transient_to_detached(record)
    db_session().add(record)
    return record
