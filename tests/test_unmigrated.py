"""A database not set up (or not upgraded) yet: every command and every page says what to
run, instead of a traceback or a 500; ``demo`` sets an empty database up itself."""

from __future__ import annotations

import pytest

from apprentice import migrate
from apprentice.db import database
from tests.conftest import build_app
from tests.factories import sql_statements
from tests.loop import as_person

NOT_SET_UP = "The database is not set up yet: run `flask --app wsgi apprentice db upgrade` first."
BEHIND = ("The database is at an older version (0006) than this apprentice ({head}): run "
          "`flask --app wsgi apprentice db upgrade` first.")

COMMANDS = [
    pytest.param(["create-user", "--email", "a@library.example", "--name", "Ada",
                  "--role", "coordinator", "--password", "long enough password"],
                 id="create-user"),
    pytest.param(["import-framework", "--default"], id="import-framework"),
    pytest.param(["export-framework"], id="export-framework"),
    pytest.param(["list-frameworks"], id="list-frameworks"),
    pytest.param(["audit-verify"], id="audit-verify"),
    pytest.param(["send-reminders"], id="send-reminders"),
    pytest.param(["import-procedures", "."], id="import-procedures"),
    pytest.param(["reindex"], id="reindex"),
    pytest.param(["index-sync"], id="index-sync"),
    pytest.param(["check-index"], id="check-index"),
]


@pytest.fixture
def empty_app(tmp_path):
    """The standalone app on a new instance folder: no table at all."""
    app = build_app(tmp_path / "instance")
    yield app
    app.extensions["apprentice"].database.dispose()


@pytest.mark.parametrize("args", COMMANDS)
def test_a_command_before_db_upgrade_says_what_to_run(empty_app, args):
    result = empty_app.test_cli_runner().invoke(args=["apprentice", *args])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {NOT_SET_UP}"
    assert isinstance(result.exception, SystemExit)  # not a traceback


def test_demo_sets_an_empty_database_up_first(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["apprentice", "demo"])
    assert result.exit_code == 0, result.output
    assert f"Set up the database (now at {migrate.head_revision()})." in result.output
    assert "Demo sign-ins" in result.output


def test_a_page_before_db_upgrade_says_what_to_run_and_comes_back_after(empty_app):
    client = empty_app.test_client()
    for url in ("/", "/sign-in", "/procedures/", "/api/search?q=holds"):
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 503, url
        assert "apprentice is not ready yet" in page
        assert NOT_SET_UP in page
    with client.get("/assets/apprentice.css") as style:
        assert style.status_code == 200  # the page keeps its style
    result = empty_app.test_cli_runner().invoke(args=["apprentice", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert client.get("/sign-in").status_code == 200  # no restart needed


@pytest.fixture
def new_worker(app, tmp_path):
    """Another worker process's app on the test's database, started after the test's
    changes: it has not checked the database yet."""
    started = []

    def start():
        started.append(build_app(
            tmp_path, APPRENTICE_DATABASE_URL=app.config.get("APPRENTICE_DATABASE_URL")))
        return started[-1]

    yield start
    for worker in started:
        worker.extensions["apprentice"].database.dispose()


def test_a_database_behind_the_migrations_says_to_upgrade(app, new_worker):
    with app.app_context():
        migrate.downgrade(database().engine, "0006")
    app = new_worker()
    expected = BEHIND.format(head=migrate.head_revision())
    result = app.test_cli_runner().invoke(args=["apprentice", "list-frameworks"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {expected}"
    response = app.test_client().get("/sign-in")
    assert response.status_code == 503
    assert "(0006) than this apprentice" in response.get_data(as_text=True)


def test_the_check_runs_once_and_again_when_a_table_goes_missing(make_person, new_worker):
    person = make_person(name="Jordan Lee")
    app = new_worker()
    client = as_person(app, person)
    with sql_statements(app) as sent:
        assert client.get("/").status_code == 200
    assert [sql for sql in sent if migrate.VERSION_TABLE in sql]  # checked here...
    with sql_statements(app) as sent:
        assert client.get("/").status_code == 200
    assert not [sql for sql in sent if migrate.VERSION_TABLE in sql]  # ...and not again
    with app.app_context():
        migrate.downgrade(database().engine, "base")  # the tables go (another database file)
    response = client.get("/")
    assert response.status_code == 503
    assert "The database is not set up yet" in response.get_data(as_text=True)
