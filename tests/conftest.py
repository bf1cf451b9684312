"""Fixtures: ``app``, ``client``, ``login_as``, ``make_person``, and services we need.

Each test gets its own instance folder with a copy of a database migrated
once per run, so every test starts from the real schema in a few milliseconds.
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from apprentice import create_app, migrate
from apprentice.db import make_engine
from tests.factories import PersonFactory
from tests.support.clients import CSRF_META, T0, sign_in_session


def needs_service(reason: str):
    """Skip a test whose service is missing; in CI (CI=true) that is a failure instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this service: {reason}")
    pytest.skip(reason)


class Client(FlaskClient):
    """A test client that can submit forms with a valid CSRF token, as a browser would."""

    token_page = "/sign-in"

    def csrf_token(self) -> str:
        page = self.get(self.token_page, follow_redirects=True).get_data(as_text=True)
        match = CSRF_META.search(page)
        assert match, "no csrf-token meta tag on the page"
        return match.group(1)

    def submit(self, url: str, data: dict | None = None, **kwargs):
        data = {"csrf_token": self.csrf_token(), **(data or {})}
        return self.post(url, data=data, **kwargs)


def pytest_addoption(parser):
    parser.addoption(
        "--db", choices=["sqlite", "postgresql"], default="sqlite",
        help="the database every app-level test runs on (postgresql needs "
             "APPRENTICE_TEST_POSTGRES_URL)",
    )


def postgres_server() -> str:
    server = os.environ.get("APPRENTICE_TEST_POSTGRES_URL")
    if not server:
        needs_service(
            "PostgreSQL not available: set APPRENTICE_TEST_POSTGRES_URL to a server URL "
            "(.ci/run starts one), e.g. postgresql+psycopg://postgres@/postgres?host=/tmp/pg"
        )
    return server


class PostgresDatabases:
    """Creates and drops uniquely named databases on the test server."""

    def __init__(self, server: str):
        self.admin = create_engine(server, isolation_level="AUTOCOMMIT")

    def create(self, template: str | None = None) -> str:
        name = f"apprentice_test_{uuid.uuid4().hex[:12]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return name

    def url(self, name: str) -> str:
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_db(request, tmp_path_factory):
    """A database upgraded to head once per run; each test gets a copy of it.

    SQLite: a file copied per test. PostgreSQL (``--db postgresql``): a
    template database that each test's database is created from.
    """
    if request.config.getoption("--db") == "postgresql":
        databases = PostgresDatabases(postgres_server())
        name = databases.create()
        engine = make_engine(databases.url(name))
        migrate.upgrade(engine)
        engine.dispose()
        yield ("postgresql", databases, name)
        databases.drop(name)
        databases.admin.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "apprentice.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection closing folds the WAL into the file
    yield ("sqlite", path, None)


def build_app(instance, **config):
    app = create_app({
        "TESTING": True,
        "APPRENTICE_INSTANCE_PATH": str(instance),
        "SECRET_KEY": f"test-{uuid.uuid4()}",
        **config,
    })
    app.test_client_class = Client
    return app


def served(app):
    """The app as a worker process that has served a page: the database was found at
    the newest migration once (apprentice.migrate.ready_problem), so a test counting a
    page's queries counts the page's own."""
    with app.app_context():
        assert migrate.ready_problem() is None
    return app


@contextmanager
def app_on_copy(migrated_db, instance):
    """An app in ``instance`` on its own copy of the migrated database (a file there, or
    a PostgreSQL database dropped afterwards): for ``app`` and module-wide worlds."""
    kind, source, template = migrated_db
    name = None
    if kind == "sqlite":
        shutil.copy(source, instance / "apprentice.sqlite3")
        app = served(build_app(instance))
    else:
        name = source.create(template=template)
        app = served(build_app(instance, APPRENTICE_DATABASE_URL=source.url(name)))
    try:
        yield app
    finally:
        app.extensions["apprentice"].database.dispose()
        if name is not None:
            source.drop(name)


@pytest.fixture
def app(tmp_path, migrated_db):
    with app_on_copy(migrated_db, tmp_path) as app:
        yield app


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def make_person(app) -> PersonFactory:
    return PersonFactory(app)


@pytest.fixture
def login_as(client):
    """Sign ``person`` in on the test client directly (the sign-in form has its own tests)."""

    def login(person):
        return sign_in_session(client, person.get_id())

    return login


@pytest.fixture
def clock(monkeypatch):
    """The sessions' clock (apprentice/auth/sessions.py), moved by hand: starts at
    ``tests.support.clients.T0``; ``clock.at = seconds``."""
    from apprentice.auth import sessions

    class Clock:
        at = T0

    monkeypatch.setattr(sessions, "now", lambda: Clock.at)
    return Clock


@pytest.fixture
def loop(app, make_person) -> dict:
    """The daily loop's cast (see tests/loop.py)."""
    from tests.loop import make_loop

    return make_loop(app, make_person)


@pytest.fixture
def coordinator(make_person):
    return make_person(name="Carmen Ortiz", roles=["coordinator"])


@pytest.fixture
def as_coordinator(coordinator, login_as):
    """The test client, signed in as the coordinator."""
    return login_as(coordinator)


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    databases = PostgresDatabases(postgres_server())
    name = databases.create()
    yield databases.url(name)
    databases.drop(name)
    databases.admin.dispose()


@pytest.fixture
def two_servers(app, tmp_path, monkeypatch):
    """Two more app servers on the ``app`` fixture's database, as a multi-server
    installation runs them: each its own instance folder (``server-a``, ``server-b``:
    its search index), both given the same secret key and issuer-key folder through the
    environment (APPRENTICE_SECRET_KEY, APPRENTICE_CREDENTIAL_KEYS_DIR)."""
    from apprentice.config import default_database_url

    url = app.config.get("APPRENTICE_DATABASE_URL") or default_database_url(app)
    monkeypatch.setenv("APPRENTICE_SECRET_KEY", f"shared-{uuid.uuid4()}")
    monkeypatch.setenv("APPRENTICE_CREDENTIAL_KEYS_DIR", str(tmp_path / "shared-keys"))
    servers = [served(build_app(tmp_path / f"server-{name}", SECRET_KEY=None,
                                APPRENTICE_DATABASE_URL=url)) for name in "ab"]
    yield servers
    for server in servers:
        server.extensions["apprentice"].database.dispose()
