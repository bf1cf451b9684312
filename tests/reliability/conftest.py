"""Fixtures for load and fault runs: the demo instance under gunicorn with 4 workers.

- ``instance`` (harness.Instance): a fresh copy of a demo instance (migrated with
  ``flask apprentice db upgrade``, loaded with ``flask apprentice demo`` once per run):
  SQLite (WAL) by default, a PostgreSQL database of its own with ``--db postgresql``.
- ``server`` (tests.support.gunicorn.Gunicorn): gunicorn ``--workers 4`` on the instance,
  at ``server.url``; its output in ``server.log`` (see ``harness.log_problems``);
  ``server.worker_pids()`` for faults. Stopped after the test; on failure the end of
  its log is shown.
- ``sign_in(email)``: a harness.WebClient signed in through the form (demo password).
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import PostgresDatabases, postgres_server
from tests.reliability.harness import Instance, WebClient
from tests.support.gunicorn import Gunicorn, flask


@pytest.fixture(scope="session")
def demo_template(request, tmp_path_factory):
    """A demo instance set up once per run with the CLI: (folder, databases, name)."""
    folder = tmp_path_factory.mktemp("reliability") / "demo-instance"
    folder.mkdir()
    if request.config.getoption("--db") != "postgresql":
        flask(folder, "db", "upgrade")
        flask(folder, "demo")
        yield folder, None, None
        return
    databases = PostgresDatabases(postgres_server())
    name = databases.create()
    settings = {"APPRENTICE_DATABASE_URL": databases.url(name)}
    flask(folder, "db", "upgrade", settings=settings)
    flask(folder, "demo", settings=settings)
    yield folder, databases, name
    databases.drop(name)
    databases.admin.dispose()


@pytest.fixture
def instance(demo_template, tmp_path) -> Instance:
    """A fresh copy of the demo instance: its folder (search index, secret key) and its
    database (the SQLite file in the folder, or a PostgreSQL copy of the template)."""
    template, databases, name = demo_template
    folder = tmp_path / "instance"
    shutil.copytree(template, folder)
    if databases is None:
        made = Instance(folder)
        yield made
        made.dispose()
        return
    copy = databases.create(template=name)
    made = Instance(folder, {"APPRENTICE_DATABASE_URL": databases.url(copy)})
    yield made
    made.dispose()
    databases.drop(copy)


@pytest.fixture
def server(request, instance, tmp_path):
    """gunicorn with 4 workers on ``instance``."""
    log = tmp_path / "gunicorn.log"
    request.node.apprentice_server_log = log
    served = Gunicorn(instance.folder, log, workers=4, settings=instance.settings)
    yield served
    served.stop()


@pytest.fixture
def sign_in(server):
    """``sign_in(email)``: a web client signed in as that person, through the form."""

    def sign_in(email: str) -> WebClient:
        return WebClient(server.url).sign_in(email)

    return sign_in


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, the end of the server's log."""
    report = yield
    log = getattr(item, "apprentice_server_log", None)
    if report.failed and log is not None and log.exists():
        report.sections.append(("end of the server's log", log.read_text()[-4000:]))
    return report
