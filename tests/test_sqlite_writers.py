"""SQLite writers take turns through a lock file beside the database (apprentice/db.py):
a writer waits for the one writing and goes on the moment it commits, instead of
sleeping in SQLite's busy handler; a lock file it cannot use leaves SQLite's own waiting."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
from flask import before_render_template
from sqlalchemy import event, update

from apprentice import db
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.training import services
from tests.loop import as_person, log_form
from tests.support.writers import WAIT, HeldTurn


@pytest.fixture
def sqlite_app(app):
    if app.extensions["apprentice"].database.engine.dialect.name != "sqlite":
        pytest.skip("the writers' lock file is SQLite's (PostgreSQL locks rows)")
    return app


def rename(app, person_id: int, name: str) -> None:
    with app.app_context():
        db_session().execute(update(StaffProfile).where(StaffProfile.id == person_id)
                             .values(name=name))
        db_session().commit()


def test_a_writer_waits_its_turn_and_goes_on_when_the_other_commits(sqlite_app, make_person,
                                                                    monkeypatch):
    person = make_person(name="Dana Reyes")
    order = []
    queued = threading.Event()  # a writer found the turn taken (not SQLite's busy wait)
    flock = db.fcntl.flock

    def noting(fd, operation):
        try:
            return flock(fd, operation)
        except BlockingIOError:
            if threading.current_thread() is not threading.main_thread():  # not the test's
                queued.set()  # own look (turn_is_free)
            raise

    monkeypatch.setattr(db.fcntl, "flock", noting)

    def second():
        rename(sqlite_app, person.id, "Second")
        order.append("second saved")

    first = HeldTurn(sqlite_app, person.id, name="First",
                     before_commit=lambda: order.append("first commits"))
    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)  # the second writer is queued meanwhile, not saved
    assert order == []
    assert not turn_is_free(sqlite_app)  # the first writer holds the turn
    assert queued.wait(WAIT)  # and the second waits for it in the queue
    first.end()
    thread.join(WAIT)
    assert order == ["first commits", "second saved"]
    assert turn_is_free(sqlite_app)  # and every writer let go of it
    with sqlite_app.app_context():
        assert db_session().get(StaffProfile, person.id).name == "Second"


def turn_is_free(app) -> bool:
    """Whether another process could take the writers' turn now (a lock of its own)."""
    url = app.extensions["apprentice"].database.engine.url
    path = db._WriterQueue.beside(url.database).path
    assert path.endswith("apprentice.sqlite3-writers")
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_lock_file_that_cannot_be_opened_leaves_writes_working(sqlite_app, make_person,
                                                                 monkeypatch):
    person = make_person(name="Dana Reyes")

    asked = []

    def refused(path, *_args, **_kwargs):
        asked.append(path)
        raise PermissionError("made by another user")

    monkeypatch.setattr(db.os, "open", refused)
    rename(sqlite_app, person.id, "Dana Reyes-Okafor")
    assert asked and asked[0].endswith("-writers")  # the writer did try the lock file
    with sqlite_app.app_context():
        assert db_session().get(StaffProfile, person.id).name == "Dana Reyes-Okafor"


def test_the_turn_ends_once_the_commit_has_run_not_before(sqlite_app, make_person):
    """SQLAlchemy's commit event comes before COMMIT: a turn ended there would let the
    next writer's BEGIN IMMEDIATE meet the lock still held (and sleep in SQLite's busy
    handler). The turn is held through COMMIT and free after it, for a ROLLBACK too."""
    person = make_person(name="Dana Reyes")
    engine = sqlite_app.extensions["apprentice"].database.engine
    seen = []

    def look(_connection):
        seen.append(turn_is_free(sqlite_app))

    event.listen(engine, "commit", look)
    event.listen(engine, "rollback", look)
    try:
        rename(sqlite_app, person.id, "Dana Reyes-Okafor")
        assert seen == [False]  # held as COMMIT was about to run
        assert turn_is_free(sqlite_app)  # and let go once it had
        with sqlite_app.app_context():
            db_session().execute(update(StaffProfile).where(StaffProfile.id == person.id)
                                 .values(name="Not kept"))
            db_session().rollback()
        assert seen == [False, False]
        assert turn_is_free(sqlite_app)
    finally:
        event.remove(engine, "commit", look)
        event.remove(engine, "rollback", look)
    with sqlite_app.app_context():
        assert db_session().get(StaffProfile, person.id).name == "Dana Reyes-Okafor"


def test_a_form_refused_by_its_service_is_drawn_again_outside_the_write_lock(sqlite_app,
                                                                            loop):
    """The service refused the quick log under the write lock (nothing saved): the page
    that shows the message is drawn after the lock was let go, not while holding it (and
    every other writer waiting)."""
    client = as_person(sqlite_app, loop["apprentice"])
    data = log_form(client, loop["competency"].id, competency_ids=["999999"])
    seen = []

    def drawing(_sender, template, **_extra):
        seen.append((template.name, turn_is_free(sqlite_app)))

    with before_render_template.connected_to(drawing, sqlite_app):
        response = client.submit("/log/new", data)
    assert response.status_code == 200
    assert "Choose competencies from your own programme." in response.get_data(as_text=True)
    assert dict(seen)["apprentice/training/entry_form.html"] is True
    with sqlite_app.app_context():
        assert services.entries_of(loop["apprentice"].id) == []


def test_a_turn_whose_connection_was_lost_does_not_stay_taken(sqlite_app, make_person):
    """A connection invalidated in the middle of a write (no ROLLBACK runs on it) in a
    thread that then ends: its turn ends with it, instead of keeping every other writer
    waiting; and a thread that writes again after losing one goes on as usual."""
    person = make_person(name="Dana Reyes")

    def write_and_lose_it():
        with sqlite_app.app_context():
            db_session().execute(update(StaffProfile).where(StaffProfile.id == person.id)
                                 .values(name="Lost"))
            assert not turn_is_free(sqlite_app)
            db_session().connection().invalidate()
            db_session().rollback()

    thread = threading.Thread(target=write_and_lose_it)
    thread.start()
    thread.join(WAIT)
    assert turn_is_free(sqlite_app)
    write_and_lose_it()  # this thread now
    assert turn_is_free(sqlite_app)
    rename(sqlite_app, person.id, "Dana Reyes-Okafor")
    assert turn_is_free(sqlite_app)
    with sqlite_app.app_context():
        assert db_session().get(StaffProfile, person.id).name == "Dana Reyes-Okafor"


def test_the_log_is_checkpointed_after_the_turn_ends(sqlite_app, make_person, monkeypatch):
    """Every CHECKPOINT_EVERY commits the write-ahead log is copied into the database once
    the writer's turn has ended (SQLite's own checkpoint ran inside the COMMIT, holding
    the turn, and every other writer waited for it)."""
    person = make_person(name="Dana Reyes")
    seen, checkpoint = [], db.checkpoint

    def checking(dbapi_connection):
        seen.append(turn_is_free(sqlite_app))
        checkpoint(dbapi_connection)

    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 1)
    monkeypatch.setattr(db, "checkpoint", checking)
    rename(sqlite_app, person.id, "Dana Reyes-Okafor")
    assert seen and all(seen)
    with sqlite_app.app_context():
        connection = db_session().connection().connection.driver_connection
        assert connection.execute("PRAGMA wal_autocheckpoint").fetchone() == (
            db.WAL_CHECKPOINT_PAGES,)
