"""``flask apprentice ...``: thin commands over the services, on the blueprint."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from apprentice import migrate
from apprentice.db import database
from apprentice.people.models import Role
from apprentice.validation import Invalid
from apprentice.web import bp

db_cli = AppGroup("db", help="Create and upgrade apprentice's tables (Alembic).")
bp.cli.add_command(db_cli)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: the newest)."""
    migrate.upgrade(database().engine, revision)
    click.echo(f"Database at {migrate.current_revision(database().engine)}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION ("base" removes every apprentice table)."""
    migrate.downgrade(database().engine, revision)
    click.echo(f"Database at {migrate.current_revision(database().engine) or 'base'}.")


@db_cli.command("current")
def db_current() -> None:
    """Show the database's revision and the newest one."""
    current = migrate.current_revision(database().engine)
    click.echo(f"Database: {current or 'empty'}; newest: {migrate.head_revision()}.")


def _fail(exc: Invalid) -> None:
    for field, messages in exc.errors.items():
        for message in messages:
            click.echo(f"Error{f' ({field})' if field else ''}: {message}", err=True)
    raise SystemExit(1)


@bp.cli.command("create-user")
@click.option("--email", required=True, help="Their e-mail address (also their sign-in).")
@click.option("--name", required=True, help="Their full name.")
@click.option(
    "--role", "roles", multiple=True, required=True,
    type=click.Choice([role.value for role in Role]), help="A role; repeat for several.",
)
@click.option("--job-title", default="", help="For example: Library Assistant.")
@click.option("--branch", default="", help="Their branch or department.")
@click.option("--password", default=None, help="Prompted for when not given (standalone mode).")
def create_user(email, name, roles, job_title, branch, password) -> None:
    """Add a person, for example the first coordinator."""
    from apprentice.people.services import PersonDetails, create_person

    if current_app.config["APPRENTICE_AUTH"] == "local" and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        person = create_person(
            PersonDetails(name, email, job_title, branch, roles),
            password=password, must_change_password=False,
        )
    except Invalid as exc:
        _fail(exc)
    click.echo(f"Added {person.name} <{person.email}> as {', '.join(sorted(roles))}.")


@bp.cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if anyone exists already.")
def demo(if_empty: bool) -> None:
    """Load demo people (and, as features arrive, demo content)."""
    from apprentice.demo import DEMO_PASSWORD, load_demo
    from apprentice.people.services import has_anyone

    if if_empty and has_anyone():
        click.echo("The database already has people; demo data not loaded.")
        return
    people = load_demo()
    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for person in people:
        roles = ", ".join(Role(r).value for r in person.roles)
        click.echo(f"  {person.email:<28} {person.name} ({roles})")
