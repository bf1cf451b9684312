"""A form reads first, then takes its write turn (apprentice/db.py): on SQLite the
sign-in check, the form's choices and its mistakes never wait for another writer, and
whatever the write depends on is read again once the turn is taken."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, update

from apprentice import db
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.training.models import LogEntry
from tests.loop import as_person, log_form, make_loop

WAIT = 30  # seconds at most for the other thread (never a measured time)


@pytest.fixture
def loop(app, make_person):
    if app.extensions["apprentice"].database.engine.dialect.name != "sqlite":
        pytest.skip("the write turn is SQLite's single write lock (PostgreSQL locks rows)")
    return make_loop(app, make_person)


class HeldTurn:
    """Another writer (another worker, say) holding SQLite's write lock until released."""

    def __init__(self, app, person_id: int, **change):
        self.writing, self.release = threading.Event(), threading.Event()
        change = change or {"job_title": "Holding the write lock"}

        def hold():
            with app.app_context():
                db_session().execute(update(StaffProfile).where(StaffProfile.id == person_id)
                                     .values(**change))
                self.writing.set()
                self.release.wait(WAIT)
                db_session().commit()

        self.thread = threading.Thread(target=hold)
        self.thread.start()
        assert self.writing.wait(WAIT)

    def end(self):
        self.release.set()
        self.thread.join(WAIT)


def sent_meanwhile(client, data, path="/log/new"):
    """A form sent from another thread: (the thread, what it answered)."""
    answered = []
    thread = threading.Thread(target=lambda: answered.append(client.submit(path, data)))
    thread.start()
    return thread, answered


def entries(app, person_id: int) -> int:
    with app.app_context(), db.reading_only():  # a reader: it never waits for a writer
        return db_session().scalar(select(func.count()).select_from(LogEntry)
                                   .where(LogEntry.person_id == person_id))


def test_a_form_with_a_mistake_is_answered_while_another_writer_holds_the_lock(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id, minutes="0")
    held = HeldTurn(app, loop["coordinator"].id)
    try:
        thread, answered = sent_meanwhile(client, data)
        thread.join(WAIT)
        # Answered before the other writer let go: it never asked for the write lock.
        assert not held.release.is_set() and answered
        page = answered[0].get_data(as_text=True)
        assert answered[0].status_code == 200
        assert "Between 1 minute and 24 hours" in page
    finally:
        held.end()
    assert entries(app, loop["apprentice"].id) == 0


def test_a_right_form_waits_its_turn_and_is_saved_once_the_other_commits(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id)
    held = HeldTurn(app, loop["coordinator"].id)
    try:
        thread, answered = sent_meanwhile(client, data)
        time.sleep(0.3)  # time enough to have saved, were it not waiting
        assert thread.is_alive() and not answered
        assert entries(app, loop["apprentice"].id) == 0
    finally:
        held.end()
    thread.join(WAIT)
    assert answered[0].status_code == 302
    assert entries(app, loop["apprentice"].id) == 1


def test_what_was_read_before_the_turn_is_read_again_after_it(app, loop):
    person_id = loop["mentor"].id
    with app.test_request_context("/log/new", method="POST"):
        db.reading_before_writing()
        mentor = db_session().get(StaffProfile, person_id)
        assert mentor.name == "Marian Okafor"
        with app.app_context():  # another request renames her meanwhile
            db_session().execute(update(StaffProfile).where(StaffProfile.id == person_id)
                                 .values(name="Marian Okafor-Reyes"))
            db_session().commit()
        db.write_turn()
        assert mentor.name == "Marian Okafor-Reyes"


def test_a_write_before_the_turn_is_refused_as_a_mistake_in_the_code(app, make_person):
    """On every database: a write the turn did not let through is a mistake in the code."""
    loop = make_loop(app, make_person)
    with app.test_request_context("/log/new", method="POST"):
        db.reading_before_writing()
        mentor = db_session().get(StaffProfile, loop["mentor"].id)
        mentor.job_title = "Branch librarian"
        with pytest.raises(RuntimeError, match="write turn"):
            db_session().flush()
        db_session().rollback()
        db.write_turn()
        mentor = db_session().get(StaffProfile, loop["mentor"].id)
        mentor.job_title = "Branch librarian"
        db_session().commit()
    with app.app_context():
        assert db_session().get(StaffProfile, loop["mentor"].id).job_title == "Branch librarian"


def test_a_deactivation_committed_while_a_form_waits_its_turn_stops_it(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id)
    held = HeldTurn(app, loop["apprentice"].id, active=False)
    try:
        thread, answered = sent_meanwhile(client, data)
        time.sleep(0.3)  # it read the person as active, and waits for its turn
    finally:
        held.end()
    thread.join(WAIT)
    assert answered[0].status_code == 200
    assert "no longer keep a log" in answered[0].get_data(as_text=True)
    assert entries(app, loop["apprentice"].id) == 0


def test_a_sign_out_everywhere_committed_while_a_form_waits_stops_it(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id, submit="", save_draft="1")
    assert client.submit("/log/new", data).status_code == 302
    with app.app_context(), db.reading_only():
        draft = db_session().scalar(select(LogEntry.id).where(
            LogEntry.person_id == loop["apprentice"].id))
    held = HeldTurn(app, loop["apprentice"].id, session_token="ended-everywhere")
    try:
        thread, answered = sent_meanwhile(client, {}, path=f"/log/{draft}/delete")
        time.sleep(0.3)
    finally:
        held.end()
    thread.join(WAIT)
    assert answered[0].status_code == 401  # the sign-in ended: asked to sign in again
    assert entries(app, loop["apprentice"].id) == 1  # the draft is still there
