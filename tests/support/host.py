"""The example intranet of ``examples/intranet``, for tests that mount apprentice in a
host: imported under a private module name, built on a temporary database, signed into
through its own login form."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from apprentice import migrate
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from tests.conftest import Client

INTRANET_DIR = Path(__file__).resolve().parents[2] / "examples" / "intranet"
HOST_PASSWORD = "reading is fun 42"


class HostClient(Client):
    """Apprentice's CSRF token comes from its home page, inside the intranet layout."""

    token_page = "/training/"


def load_intranet(module_name: str):
    """The example's module, imported from its file under ``module_name`` (a fixture body)."""
    spec = importlib.util.spec_from_file_location(module_name, INTRANET_DIR / "intranet.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # Flask finds the templates through it
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(module_name, None)


def build_intranet(intranet, tmp_path, database_url=None, migrated=True, own_engine=False,
                   **config):
    """The intranet; apprentice borrows its engine, or opens its own on the same URL.
    ``config`` adds to or overrides the intranet's settings."""
    instance = tmp_path / "instance"
    database_url = database_url or f"sqlite:///{instance / 'intranet.sqlite3'}"
    config = {
        "TESTING": True,
        "SECRET_KEY": f"test-{uuid.uuid4()}",
        "INTRANET_INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        **config,
    }
    if own_engine:
        config["APPRENTICE_DATABASE_URL"] = database_url
    app = intranet.create_app(config)
    app.test_client_class = HostClient
    if migrated:
        with app.app_context():
            intranet.upgrade_database(intranet.db.engine)
            migrate.upgrade(intranet.db.engine)
    return app


@contextmanager
def intranet_app(intranet, tmp_path, **build):
    """``build_intranet(intranet, tmp_path, **build)``, its engines disposed afterwards
    (the intranet's, and apprentice's own when it opened one) so no file stays open."""
    app = build_intranet(intranet, tmp_path, **build)
    try:
        yield app
    finally:
        with app.app_context():
            intranet.db.engine.dispose()
        app.extensions["apprentice"].database.dispose()


def add_intranet_user(intranet, app, email, name="Dana Reyes", password=HOST_PASSWORD) -> int:
    """An intranet account (the host's own table), made the way the intranet makes them."""
    with app.app_context():
        user = intranet.User(email=email, name=name)
        user.set_password(password)
        intranet.db.session.add(user)
        intranet.db.session.commit()
        return user.id


def host_login(app, email, password=HOST_PASSWORD, next_url=None) -> HostClient:
    """A client signed in through the intranet's own login form (no apprentice CSRF token)."""
    client = app.test_client()
    data = {"email": email, "password": password}
    if next_url:
        data["next"] = next_url
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def create_apprentice_user(app, email, name, *roles):
    result = app.test_cli_runner().invoke(
        args=["apprentice", "create-user", "--email", email, "--name", name,
              *[arg for role in roles for arg in ("--role", role)]],
    )
    assert result.exit_code == 0, result.output
    return result


def coordinator_and_sam(intranet, app):
    """Carmen (coordinator) signed in, and the id of the profile Sam got on his first visit."""
    create_apprentice_user(app, "carmen@library.example", "Carmen Ortiz", "coordinator")
    add_intranet_user(intranet, app, "carmen@library.example", "Carmen Ortiz")
    add_intranet_user(intranet, app, "sam@library.example", "Sam Lee")
    host_login(app, "sam@library.example").get("/training/")
    [sam] = profiles(app, "sam@library.example")
    return host_login(app, "carmen@library.example"), sam.id


def profiles(app, email=None) -> list[StaffProfile]:
    with app.app_context():
        query = select(StaffProfile).order_by(StaffProfile.id)
        if email is not None:
            query = query.where(func.lower(StaffProfile.email) == email.lower())
        return list(db_session().scalars(query))
