"""apprentice mounted in a host: the example intranet in ``examples/intranet``.

The intranet has its own database, users, sign-in, layout and migrations;
these tests check that apprentice fits in beside them without taking over.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from types import SimpleNamespace

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import g
from sqlalchemy import create_engine, inspect, text

from apprentice import db, migrate
from apprentice.auth.services import profile_for_host_user
from apprentice.db import database
from apprentice.people.models import Role
from tests.support.host import (
    HOST_PASSWORD,
    INTRANET_DIR,
    add_intranet_user,
    coordinator_and_sam,
    create_apprentice_user,
    host_login,
    intranet_app,
    load_intranet,
    profiles,
)

# Not "intranet": a module of that name must not leak into other test files.
MODULE_NAME = "apprentice_tests_example_intranet"
APPRENTICE_TABLES = {"apprentice_staff", "apprentice_staff_roles", "apprentice_sign_in_failures"}
DEACTIVATED = "Your apprentice profile is deactivated"
HOST_MARKER = "Riverside Libraries intranet"  # from intranet_base.html


@pytest.fixture(scope="module")
def intranet():
    """The example's module, imported once from its file under a private name."""
    yield from load_intranet(MODULE_NAME)


@pytest.fixture(params=["shared-engine", "same-url"])
def host_app(request, intranet, tmp_path):
    with intranet_app(intranet, tmp_path, own_engine=request.param == "same-url") as app:
        yield app


@pytest.fixture
def add_host_user(host_app, intranet):
    """``add_host_user(email, name=..., password=...)`` on the ``host_app``."""

    def add(email, name="Dana Reyes", password=HOST_PASSWORD):
        return add_intranet_user(intranet, host_app, email, name, password)

    return add


def table_names(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def links(html: str) -> set[str]:
    return set(re.findall(r'(?:href|action|src)="([^"]*)"', html))


# -- 1. migrations ---------------------------------------------------------------

def _both_migrations_share_one_database(intranet, app, own_engine):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["apprentice", "db", "upgrade"])
    assert result.exit_code == 0, result.output

    with app.app_context():
        engine = intranet.db.engine
        if own_engine:
            assert database().engine is not engine
            assert database().engine.url == engine.url
        else:
            assert database().engine is engine  # apprentice borrows the intranet's engine
        names = table_names(engine)
        assert {"users", "alembic_version", "apprentice_alembic_version"} <= names
        assert names >= APPRENTICE_TABLES
        with engine.connect() as connection:
            host_versions = connection.scalars(text("SELECT version_num FROM alembic_version"))
            assert list(host_versions) == ["intranet_0001"]
        assert migrate.current_revision(engine) == migrate.head_revision()

        # Neither side's autogenerate sees anything to do...
        assert migrate.differences(engine) == []
        assert intranet.migration_differences(engine) == []
        # ...and for the intranet it is include_name that keeps apprentice's tables out:
        # without it, autogenerate would propose to drop them.
        with engine.connect() as connection:
            unfiltered = compare_metadata(MigrationContext.configure(connection),
                                          intranet.db.metadata)
        dropped = {diff[1].name for diff in unfiltered if diff[0] == "remove_table"}
        assert dropped >= APPRENTICE_TABLES

        user = intranet.User(email="kim@library.example", name="Kim")
        user.set_password(HOST_PASSWORD)
        intranet.db.session.add(user)
        intranet.db.session.commit()

    result = runner.invoke(args=["apprentice", "db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        engine = intranet.db.engine
        names = table_names(engine)
        assert not {name for name in names if name.startswith("apprentice_")} - {
            migrate.VERSION_TABLE
        }
        assert migrate.current_revision(engine) is None
        assert {"users", "alembic_version"} <= names
        with engine.connect() as connection:
            emails = connection.scalars(text("SELECT email FROM users"))
            assert list(emails) == ["kim@library.example"]
            host_versions = connection.scalars(text("SELECT version_num FROM alembic_version"))
            assert list(host_versions) == ["intranet_0001"]
        assert intranet.migration_differences(engine) == []

    # And back up again, beside the intranet's data.
    result = runner.invoke(args=["apprentice", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert migrate.differences(intranet.db.engine) == []
        assert intranet.migration_differences(intranet.db.engine) == []


@pytest.mark.parametrize("own_engine", [False, True], ids=["shared-engine", "same-url"])
def test_host_and_apprentice_migrations_share_the_database(intranet, tmp_path, own_engine):
    with intranet_app(intranet, tmp_path, migrated=False, own_engine=own_engine) as app:
        _both_migrations_share_one_database(intranet, app, own_engine)


@pytest.mark.postgres
@pytest.mark.parametrize("own_engine", [False, True], ids=["shared-engine", "same-url"])
def test_host_and_apprentice_migrations_share_a_postgres_database(
    intranet, tmp_path, postgres_url, own_engine
):
    with intranet_app(
        intranet, tmp_path, database_url=postgres_url, migrated=False, own_engine=own_engine
    ) as app:
        _both_migrations_share_one_database(intranet, app, own_engine)


# -- 2. nothing registered twice ----------------------------------------------------

def test_apprentice_adds_no_extension_of_its_own_kind(host_app, intranet):
    """Not a second Flask-SQLAlchemy, CSRFProtect or LoginManager: only its own state."""
    assert set(host_app.extensions) == {"sqlalchemy", "apprentice"}
    assert host_app.extensions["sqlalchemy"] is intranet.db
    assert host_app.extensions["apprentice"].url_prefix == "/training"
    assert host_app.login_manager is intranet.login_manager
    assert host_app.login_manager._user_callback is intranet.load_user
    assert host_app.login_manager.login_view == "login"


# -- 3. the intranet's own pages ----------------------------------------------------

def test_host_pages_are_untouched_by_apprentice(host_app, add_host_user):
    add_host_user("dana@library.example")
    client = host_app.test_client()
    with client:
        response = client.get("/")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Intranet news" in page and HOST_MARKER in page
        # apprentice's hooks and context did not run for the intranet's page.
        assert "apprentice_staff" not in g
        assert "apprentice_db_session" not in g
        assert 'name="csrf-token"' not in page
        assert "/training/assets/apprentice.css" not in page

    response = client.get("/login")
    assert response.status_code == 200
    assert "Log in to the intranet" in response.get_data(as_text=True)

    # The intranet's own POSTs carry no apprentice CSRF token and are not refused.
    response = client.post("/login", data={"email": "dana@library.example", "password": "no"})
    assert response.status_code == 401
    assert "wrong password" in response.get_data(as_text=True)
    response = client.post(
        "/login", data={"email": "dana@library.example", "password": HOST_PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    response = client.get("/")
    assert response.status_code == 200
    assert "Dana Reyes" in response.get_data(as_text=True)
    # Using the intranet does not make an apprentice profile.
    assert profiles(host_app) == []

    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


# -- 4, 7. the intranet owns sign-in --------------------------------------------------

def test_anonymous_visitor_is_sent_to_the_host_login(host_app, add_host_user):
    add_host_user("dana@library.example")
    client = host_app.test_client()
    response = client.get("/training/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Ftraining%2F"

    response = client.get(response.headers["Location"])
    assert "Log in to the intranet" in response.get_data(as_text=True)
    assert 'name="next" value="/training/"' in response.get_data(as_text=True)

    response = client.post("/login", data={
        "email": "dana@library.example", "password": HOST_PASSWORD, "next": "/training/",
    })
    assert response.status_code == 302
    assert response.headers["Location"] == "/training/"
    assert client.get("/training/").status_code == 200


def test_apprentice_sign_in_and_password_pages_are_not_there_in_host_mode(
    host_app, add_host_user
):
    anonymous = host_app.test_client()
    assert anonymous.get("/training/sign-in").status_code == 404
    add_host_user("dana@library.example")
    client = host_login(host_app, "dana@library.example")
    response = client.get("/training/sign-in")
    assert response.status_code == 404
    assert HOST_MARKER in response.get_data(as_text=True)
    assert client.get("/training/account/password").status_code == 404


# -- 5. host users become staff profiles --------------------------------------------

def test_host_user_gets_one_profile_matched_by_email(host_app, add_host_user):
    add_host_user("Dana.Reyes@Library.Example", name="Dana Reyes")
    client = host_login(host_app, "dana.reyes@library.example")

    response = client.get("/training/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert HOST_MARKER in page  # apprentice's page, in the intranet's layout
    assert "Hello, Dana Reyes" in page
    assert 'name="csrf-token"' in page  # _assets.html, included by the host layout

    created = profiles(host_app)
    assert [(p.email, p.name) for p in created] == [("dana.reyes@library.example", "Dana Reyes")]

    assert client.get("/training/").status_code == 200
    assert [p.id for p in profiles(host_app)] == [created[0].id]


def test_a_host_user_whose_first_visit_is_a_form_gets_a_profile_and_no_error(
        host_app, add_host_user):
    """A form is the first thing apprentice sees of them (a tab left open while their
    address changed, a form posted from a host page): the profile is made, as on a first
    page, and the form, its token from no apprentice page, is answered as expired."""
    add_host_user("lee.park@library.example", name="Lee Park")
    client = host_login(host_app, "lee.park@library.example")
    response = client.post("/training/log/new", data={"description": "Shelved holds."})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert [p.email for p in profiles(host_app)] == ["lee.park@library.example"]


def test_existing_coordinator_profile_is_matched_to_the_host_user(host_app, add_host_user):
    create_apprentice_user(host_app, "carmen.ortiz@library.example", "Carmen Ortiz",
                           "coordinator")
    add_host_user("Carmen.Ortiz@LIBRARY.example", name="Carmen O.")
    add_host_user("sam@library.example", name="Sam Lee")

    coordinator = host_login(host_app, "carmen.ortiz@library.example")
    response = coordinator.get("/training/people/")
    assert response.status_code == 200
    assert HOST_MARKER in response.get_data(as_text=True)
    matched = profiles(host_app, "carmen.ortiz@library.example")
    assert len(matched) == 1 and matched[0].name == "Carmen Ortiz"

    colleague = host_login(host_app, "sam@library.example")
    assert colleague.get("/training/").status_code == 200
    response = colleague.get("/training/people/")
    assert response.status_code == 403
    assert HOST_MARKER in response.get_data(as_text=True)
    assert len(profiles(host_app)) == 2


# -- 6. every apprentice URL is below the prefix ------------------------------------

HOST_URLS = {"/", "/login", "/logout"}


def test_apprentice_links_stay_under_the_prefix(host_app, add_host_user):
    create_apprentice_user(host_app, "carmen@library.example", "Carmen Ortiz", "coordinator")
    add_host_user("carmen@library.example", name="Carmen Ortiz")
    client = host_login(host_app, "carmen@library.example")

    home = links(client.get("/training/").get_data(as_text=True))
    assert {"/training/", "/training/people/", "/training/assets/apprentice.css"} <= home
    people = links(client.get("/training/people/").get_data(as_text=True))
    assert any(re.fullmatch(r"/training/people/\d+/edit", url) for url in people)
    for url in (home | people) - HOST_URLS:
        if url.startswith("#"):
            continue
        assert url.startswith("/training/"), url

    response = host_app.test_client().get("/training/assets/apprentice.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert b"ap-" in response.data
    response.close()


# -- 8. deactivated profiles ---------------------------------------------------------

def test_deactivated_profile_keeps_the_intranet_but_not_training(host_app, add_host_user):
    create_apprentice_user(host_app, "carmen@library.example", "Carmen Ortiz", "coordinator")
    add_host_user("carmen@library.example", name="Carmen Ortiz")
    add_host_user("sam@library.example", name="Sam Lee")
    sam = host_login(host_app, "sam@library.example")
    assert sam.get("/training/").status_code == 200
    [sam_profile] = profiles(host_app, "sam@library.example")

    # The coordinator deactivates Sam through apprentice's own form (CSRF token from
    # the meta tag the intranet layout includes).
    coordinator = host_login(host_app, "carmen@library.example")
    response = coordinator.submit(f"/training/people/{sam_profile.id}/active",
                                  data={"active": "0"})
    assert response.status_code == 302
    assert profiles(host_app, "sam@library.example")[0].active is False

    response = sam.get("/")
    assert response.status_code == 200
    assert "Sam Lee" in response.get_data(as_text=True)  # still signed in to the intranet

    response = sam.get("/training/")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert DEACTIVATED in page and HOST_MARKER in page
    assert sam.get("/training/people/").status_code == 403
    # No second profile made for the deactivated person.
    assert len(profiles(host_app, "sam@library.example")) == 1


def test_apprentice_post_without_csrf_token_is_refused(host_app, intranet):
    """The host skips CSRF on its own forms; apprentice still checks its own."""
    coordinator, sam_id = coordinator_and_sam(intranet, host_app)
    response = coordinator.post(f"/training/people/{sam_id}/active", data={"active": "0"})
    assert response.status_code == 400
    assert profiles(host_app, "sam@library.example")[0].active is True


# -- the README's commands, through the real `flask` command --------------------------

@pytest.mark.slow
def test_readme_walkthrough_with_the_flask_command(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FLASK_", "APPRENTICE_", "INTRANET_"))}
    env["INTRANET_INSTANCE_PATH"] = str(tmp_path / "instance")
    env["PYTHONWARNINGS"] = "error"

    def flask(*args):
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", str(INTRANET_DIR / "intranet.py"), *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    commands = flask("--help")
    assert re.search(r"^\s+init-db\b", commands, re.M)
    assert re.search(r"^\s+apprentice\b", commands, re.M)
    assert re.search(r"^\s+create-user\b", flask("apprentice", "--help"), re.M)

    flask("init-db")
    flask("apprentice", "db", "upgrade")
    flask("add-user", "--email", "Carmen@Library.Example", "--name", "Carmen Ortiz",
          "--password", HOST_PASSWORD)
    flask("apprentice", "create-user", "--email", "carmen@library.example",
          "--name", "Carmen Ortiz", "--role", "coordinator")

    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'intranet.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == (
                "intranet_0001"
            )
            assert connection.scalar(
                text("SELECT version_num FROM apprentice_alembic_version")
            ) == migrate.head_revision()
            assert connection.scalar(text("SELECT email FROM users")) == "Carmen@Library.Example"
            assert connection.scalar(text("SELECT email FROM apprentice_staff")) == (
                "carmen@library.example"
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("email", ["front-desk-terminal", "", None,
                                   "dana@\uff4c\uff49\uff42rary.example"])
def test_a_host_user_without_a_plain_valid_email_gets_no_profile(app, email):
    """The mapping rule, in the service: no address, or one that only matches after
    normalisation (a look-alike), is never linked to a profile nor makes one."""
    with app.app_context():
        assert profile_for_host_user(SimpleNamespace(email=email, name="Dana")) is None
    assert profiles(app) == []


def test_a_host_user_gets_one_profile_with_the_default_roles(app):
    app.config["APPRENTICE_HOST_DEFAULT_ROLES"] = ["apprentice"]
    user = SimpleNamespace(email="Dana.Reyes@Library.Example", name="  Dana Reyes ")
    with app.app_context():
        staff = profile_for_host_user(user)
        assert (staff.email, staff.name) == ("dana.reyes@library.example", "Dana Reyes")
        assert staff.roles == {Role.APPRENTICE}
    with app.app_context():
        assert profile_for_host_user(user).id == staff.id
    assert len(profiles(app)) == 1


def test_a_host_users_profile_is_made_in_a_forms_request_before_its_write_turn(app):
    """The rule in the service: making the profile takes the form's write turn itself
    (the guard reads who is signed in before any turn is taken)."""
    user = SimpleNamespace(email="lee.park@library.example", name="Lee Park")
    with app.test_request_context("/log/new", method="POST"):
        db.reading_before_writing()
        staff = profile_for_host_user(user)
        assert staff.email == "lee.park@library.example"
    assert [p.email for p in profiles(app)] == ["lee.park@library.example"]


def test_host_user_without_a_usable_email_gets_a_friendly_403(host_app, add_host_user):
    add_host_user("front-desk-terminal", name="Front desk")
    client = host_login(host_app, "front-desk-terminal")
    response = client.get("/training/")
    assert response.status_code == 403
    assert "has no valid one" in response.get_data(as_text=True)
    assert profiles(host_app) == []
    assert client.get("/").status_code == 200


def test_what_a_save_says_shows_in_the_hosts_layout(host_app, add_host_user):
    """A save's words ride in the address of the page it leads to (apprentice.forms.said)
    and are drawn in that page's content: a host's layout, which shows only flashed
    messages, shows them too."""
    from apprentice.competencies import services as frameworks
    from apprentice.people.services import find_by_email
    from apprentice.programmes import services as programmes
    from apprentice.training import services as training

    create_apprentice_user(host_app, "jordan@library.example", "Jordan Lee", "apprentice")
    create_apprentice_user(host_app, "marian@library.example", "Marian Okafor", "mentor")
    add_host_user("jordan@library.example", name="Jordan Lee")
    with host_app.app_context():
        jordan = find_by_email("jordan@library.example")
        marian = find_by_email("marian@library.example")
        framework = frameworks.load_default_framework()
        programmes.enrol(jordan, framework, start=date.today(), electives=[
            a.id for a in framework.current_areas if not a.required][:3])
        training.create_pairing(jordan, marian, starts_on=date.today())
        competency = framework.current_areas[0].current_competencies[0]
        entry = training.save_entry(jordan, training.EntryDetails(
            occurred_on=date.today(), minutes=30, activity=1, mentor_id=marian.id,
            competency_ids=[competency.id], description="Watched the desk."))
    page = host_login(host_app, "jordan@library.example").get(
        f"/training/log/?said=entry.{entry.id}").get_data(as_text=True)
    assert HOST_MARKER in page
    assert "Draft saved." in page
