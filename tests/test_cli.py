"""``flask apprentice ...`` commands."""

from __future__ import annotations

import pytest

from apprentice.people import services
from apprentice.people.models import Role


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_create_user_with_several_roles(app, runner):
    result = runner.invoke(args=[
        "apprentice", "create-user", "--email", "Head@Library.example", "--name", "Ada Head",
        "--role", "coordinator", "--role", "mentor", "--password", "first coordinator pw",
    ])
    assert result.exit_code == 0, result.output
    assert "Added Ada Head <head@library.example>" in result.output
    with app.app_context():
        person = services.find_by_email("head@library.example")
        assert person.roles == {Role.COORDINATOR, Role.MENTOR}
        assert not person.password_must_change
    response = app.test_client().submit(
        "/sign-in", {"email": "head@library.example", "password": "first coordinator pw"}
    )
    assert response.status_code == 302


def test_create_user_prompts_for_the_password(app, runner):
    result = runner.invoke(
        args=["apprentice", "create-user", "--email", "a@library.example", "--name", "A",
              "--role", "mentor"],
        input="typed at the prompt\ntyped at the prompt\n",
    )
    assert result.exit_code == 0, result.output
    response = app.test_client().submit(
        "/sign-in", {"email": "a@library.example", "password": "typed at the prompt"}
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "nope", "--name", "A", "--role", "mentor", "--password", "long enough pw"],
         "not a valid e-mail address"),
        (["--email", "a@library.example", "--name", " ", "--role", "mentor",
          "--password", "long enough pw"], "Enter the person's name."),
        (["--email", "a@library.example", "--name", "A", "--role", "mentor",
          "--password", "short"], "at least 12 characters"),
        (["--email", "a@library.example", "--name", "A", "--role", "wizard"], "wizard"),
    ],
)
def test_create_user_refuses_bad_input_with_a_message(app, runner, args, message):
    result = runner.invoke(args=["apprentice", "create-user", *args])
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert services.find_by_email("a@library.example") is None


def test_create_user_refuses_a_duplicate(runner, make_person):
    make_person(email="taken@library.example")
    result = runner.invoke(args=[
        "apprentice", "create-user", "--email", "TAKEN@library.example", "--name", "B",
        "--role", "mentor", "--password", "long enough pw",
    ])
    assert result.exit_code == 1
    assert "already has this e-mail" in result.output


def test_demo_has_every_role_and_loads_only_into_an_empty_install(app, runner):
    result = runner.invoke(args=["apprentice", "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "coordinator@example.org" in result.output
    with app.app_context():
        people, total = services.list_people()
        held = set().union(*(person.roles for person in people))
        assert held == set(Role)
    again = runner.invoke(args=["apprentice", "demo", "--if-empty"])
    assert "already has people" in again.output
    with app.app_context():
        assert services.list_people()[1] == total


def test_demo_is_not_loaded_into_an_install_with_people(app, runner, make_person):
    make_person()
    result = runner.invoke(args=["apprentice", "demo", "--if-empty"])
    assert "already has people" in result.output
    with app.app_context():
        assert services.find_by_email("coordinator@example.org") is None


def test_db_commands(tmp_path):
    from tests.conftest import build_app

    app = build_app(tmp_path)
    runner = app.test_cli_runner()
    assert "Database: empty" in runner.invoke(args=["apprentice", "db", "current"]).output
    upgraded = runner.invoke(args=["apprentice", "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    current = runner.invoke(args=["apprentice", "db", "current"]).output
    head = current.split("newest: ")[1].rstrip(".\n")
    assert f"Database: {head};" in current
    down = runner.invoke(args=["apprentice", "db", "downgrade", "base"])
    assert "Database at base" in down.output
    app.extensions["apprentice"].database.dispose()
