"""A form reads first, then takes its write turn (apprentice/db.py): on SQLite the
sign-in check, the form's choices and its mistakes never wait for another writer, and
whatever the write depends on is read again once the turn is taken."""

from __future__ import annotations

import threading
import time

import flask
import pytest
from flask import has_request_context
from sqlalchemy import func, select, update

from apprentice import db
from apprentice.auth import sessions
from apprentice.auth.services import SignInGone, current_staff, staff_read_again
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.people.services import get_person
from apprentice.training import services
from apprentice.training.models import LogEntry
from apprentice.validation import Invalid
from tests.loop import as_person, log_form, make_loop
from tests.support import dates
from tests.support.writers import WAIT, HeldTurn


@pytest.fixture
def loop(app, make_person):
    if app.extensions["apprentice"].database.engine.dialect.name != "sqlite":
        pytest.skip("the write turn is SQLite's single write lock (PostgreSQL locks rows)")
    return make_loop(app, make_person)


@pytest.fixture
def turn_asked(monkeypatch) -> threading.Event:
    """Set when a request asks for the write lock (BEGIN IMMEDIATE): it has read."""
    asked = threading.Event()
    begin = db._begin_statement

    def noting() -> str:
        statement = begin()
        if statement == "BEGIN IMMEDIATE" and has_request_context():
            asked.set()
        return statement

    monkeypatch.setattr(db, "_begin_statement", noting)
    return asked


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
        # Answered while the other writer still holds the lock: it never asked for it.
        assert held.thread.is_alive() and answered
        page = answered[0].get_data(as_text=True)
        assert answered[0].status_code == 200
        assert "Between 1 minute and 24 hours" in page
    finally:
        held.end()
    assert entries(app, loop["apprentice"].id) == 0


def test_a_right_form_waits_its_turn_and_is_saved_once_the_other_commits(app, loop,
                                                                         turn_asked):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id)
    held = HeldTurn(app, loop["coordinator"].id)
    try:
        thread, answered = sent_meanwhile(client, data)
        assert turn_asked.wait(WAIT)
        time.sleep(0.1)  # time enough to have saved, were it not waiting
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


def test_a_deactivation_committed_while_a_form_waits_its_turn_stops_it(app, loop,
                                                                       turn_asked):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id)
    held = HeldTurn(app, loop["apprentice"].id, active=False)
    try:
        thread, answered = sent_meanwhile(client, data)
        assert turn_asked.wait(WAIT)  # it read the person as active, and waits its turn
    finally:
        held.end()
    thread.join(WAIT)
    assert answered[0].status_code == 200
    assert "no longer keep a log" in answered[0].get_data(as_text=True)
    assert entries(app, loop["apprentice"].id) == 0


def test_a_sign_out_everywhere_committed_while_a_form_waits_stops_it(app, loop,
                                                                     turn_asked):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id, submit="", save_draft="1")
    assert client.submit("/log/new", data).status_code == 302
    with app.app_context(), db.reading_only():
        draft = db_session().scalar(select(LogEntry.id).where(
            LogEntry.person_id == loop["apprentice"].id))
    held = HeldTurn(app, loop["apprentice"].id, session_token="ended-everywhere")
    try:
        turn_asked.clear()  # the draft's save asked already
        thread, answered = sent_meanwhile(client, {}, path=f"/log/{draft}/delete")
        assert turn_asked.wait(WAIT)
    finally:
        held.end()
    thread.join(WAIT)
    assert answered[0].status_code == 401  # the sign-in ended: asked to sign in again
    assert entries(app, loop["apprentice"].id) == 1  # the draft is still there


@pytest.mark.parametrize("change", [{"active": False}, {"roles": ()}],
                         ids=["deactivated", "no longer an apprentice"])
def test_the_log_service_itself_asks_who_may_keep_a_log(app, make_person, change):
    """The rule is the service's (``may_keep_log``, asked after the write turn), on every
    database, whoever calls it."""
    loop = make_loop(app, make_person)
    with app.app_context():
        person = get_person(loop["apprentice"].id)
        if "active" in change:
            person.active = False
        else:
            person.role_grants.clear()
        db_session().commit()
        with pytest.raises(Invalid, match="no longer keep a log"):
            services.save_entry(person, services.EntryDetails(
                occurred_on=dates.today(), minutes=20, activity=3,
                mentor_id=loop["mentor"].id, competency_ids=[loop["competency"].id],
                description="Shelved the returns."), submit=True)
    assert entries(app, loop["apprentice"].id) == 0


def test_a_profile_gone_between_the_sign_in_check_and_the_page_is_no_error(
        app, make_person, monkeypatch):
    """The sign-in check reads on a connection of its own; a deactivation committed
    before the page reads the profile is answered as the guard would (403, why)."""
    loop = make_loop(app, make_person)
    client = as_person(app, loop["apprentice"])
    still_open = sessions.still_open

    def deactivated_meanwhile(*args):
        with app.app_context():
            db_session().execute(update(StaffProfile).where(
                StaffProfile.id == loop["apprentice"].id).values(active=False))
            db_session().commit()
        return still_open(*args)

    monkeypatch.setattr(sessions, "still_open", deactivated_meanwhile)
    response = client.get("/log/")  # a page never kept that reads the profile
    assert response.status_code == 403
    assert "deactivated" in response.get_data(as_text=True)


def test_the_profile_read_again_after_the_turn_sees_a_sign_out_everywhere(app, loop):
    person = loop["apprentice"]
    client = as_person(app, person)
    with client.session_transaction() as cookie:
        signed = dict(cookie)
    with app.test_request_context("/log/new", method="POST"):
        flask.session.update(signed)
        db.reading_before_writing()
        assert current_staff().id == person.id  # read before the turn
        with app.app_context():  # another request signs them out everywhere
            db_session().execute(update(StaffProfile).where(StaffProfile.id == person.id)
                                 .values(session_token="ended-everywhere"))
            db_session().commit()
        db.write_turn()
        with pytest.raises(SignInGone):
            staff_read_again()
