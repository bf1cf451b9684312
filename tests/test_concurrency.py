"""Several worker processes on one database, as under gunicorn: no 500s, no lost rows,
and no way round the sign-in throttle by guessing in parallel.

Each worker is a separate process (``spawn``: nothing inherited, not even a
pooled connection) that builds its own app on the same database URL, gets its
CSRF token, waits at a barrier and then sends its requests with the others.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from apprentice import migrate
from apprentice.auth.models import SignInFailure
from apprentice.db import db_session, make_engine
from apprentice.people import services
from apprentice.people.models import StaffProfile
from tests import workers
from tests.conftest import build_app
from tests.factories import PersonFactory
from tests.support.clients import signed_in as signed_in_client
from tests.workers import TIMEOUT

WRONG = "not the password at all"


# -- what each worker process runs (module level, plain arguments, so spawn can pickle) ----

def _sign_in_worker(instance, url, config, email, attempts, barrier):
    app = build_app(instance, APPRENTICE_DATABASE_URL=url, **config)
    try:
        client = app.test_client()
        token = client.csrf_token()
        barrier.wait(TIMEOUT)
        return [
            client.post("/sign-in", data={
                "csrf_token": token, "email": email, "password": WRONG,
            }).status_code
            for _ in range(attempts)
        ]
    finally:
        app.extensions["apprentice"].database.dispose()


def _add_person_worker(instance, url, config, user_id, details, barrier):
    app = build_app(instance, APPRENTICE_DATABASE_URL=url, **config)
    try:
        client, token = signed_in_client(app, user_id)
        barrier.wait(TIMEOUT)
        return [client.post("/people/new", data={"csrf_token": token, **details}).status_code]
    finally:
        app.extensions["apprentice"].database.dispose()


def run_workers(target, tmp_path, argument_lists) -> list[int]:
    """Every status code the workers saw."""
    return [status for statuses in workers.run_workers(target, tmp_path, argument_lists)
            for status in statuses]


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A SQLite file of its own, created and migrated here (not the shared test copy)."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def count(app, table) -> int:
    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(table))


# -- the tests ------------------------------------------------------------------------------

PROCESSES = 4
ATTEMPTS = 15


def test_worker_processes_on_one_sqlite_file_never_answer_500(tmp_path, sqlite_url):
    config = {
        "APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT": 1000,
        "APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ADDRESS": 1000,
    }
    checker = build_app(tmp_path / "checker", APPRENTICE_DATABASE_URL=sqlite_url, **config)
    PersonFactory(checker)(email="jordan@library.example")
    try:
        statuses = run_workers(_sign_in_worker, tmp_path, [
            (sqlite_url, config, "jordan@library.example", ATTEMPTS)
            for _ in range(PROCESSES)
        ])
        assert Counter(statuses) == {401: PROCESSES * ATTEMPTS}
        # Every wrong password is on record: none lost to a lock or a race.
        assert count(checker, SignInFailure) == PROCESSES * ATTEMPTS
    finally:
        checker.extensions["apprentice"].database.dispose()


def test_simultaneous_guesses_cannot_beat_the_throttle(app, tmp_path):
    """On the test database (SQLite, or PostgreSQL with ``--db postgresql``)."""
    limit = 5
    config = {
        "APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT": limit,
        "APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ADDRESS": 1000,
    }
    app.config.update(config)
    PersonFactory(app)(email="jordan@library.example")
    url = app.extensions["apprentice"].database.url
    assert url, "the app fixture opens its own database"
    statuses = run_workers(_sign_in_worker, tmp_path, [
        (url, config, "jordan@library.example", limit) for _ in range(4)
    ])
    tally = Counter(statuses)
    assert set(tally) <= {401, 429}, tally
    assert tally[401] <= limit, tally  # at most `limit` passwords were actually checked
    assert tally[429] >= 4 * limit - limit, tally
    # Each checked (401) attempt is on record; each refused one left nothing behind.
    assert count(app, SignInFailure) == tally[401]
    # And the account stays locked, even for the right password.
    response = app.test_client().submit("/sign-in", {
        "email": "jordan@library.example", "password": "correct horse battery",
    })
    assert response.status_code == 429


def test_two_processes_adding_people_at_once_both_succeed(tmp_path, sqlite_url):
    checker = build_app(tmp_path / "checker", APPRENTICE_DATABASE_URL=sqlite_url)
    coordinator = PersonFactory(checker)(name="Carmen Ortiz", roles=["coordinator"])
    try:
        people = [
            {"name": name, "email": f"{name.split()[0].lower()}@library.example",
             "roles": ["apprentice"], "password": "temporary phrase 1"}
            for name in ("Priya Shah", "Sam Lee")
        ]
        statuses = run_workers(_add_person_worker, tmp_path, [
            (sqlite_url, {}, coordinator.get_id(), details) for details in people
        ])
        assert statuses == [302, 302]
        with checker.app_context():
            for details in people:
                assert services.find_by_email(details["email"]) is not None
        assert count(checker, StaffProfile) == 3
    finally:
        checker.extensions["apprentice"].database.dispose()
