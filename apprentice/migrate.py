"""Alembic, driven from code: the same migrations in standalone and host mode.

apprentice keeps its own version table (``apprentice_alembic_version``) and
only ever looks at tables whose names start with ``apprentice_``, so it can
share a database with a host that runs Alembic migrations of its own.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import Engine, inspect

from apprentice.core import versions
from apprentice.resources import resource_dir

VERSION_TABLE = "apprentice_alembic_version"
TABLE_PREFIX = "apprentice_"


def include_name(name, type_, _parent_names) -> bool:
    """Alembic sees only apprentice's tables, never the host's."""
    if type_ == "table":
        return bool(name) and name.startswith(TABLE_PREFIX) and name != VERSION_TABLE
    return True


def context_options() -> dict:
    """Options shared by the migration environment and the model/migration comparison."""
    return {
        "version_table": VERSION_TABLE,
        "include_name": include_name,
        "render_as_batch": True,  # SQLite can only ALTER through table copies
        "compare_type": True,
    }


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def migration_connection(engine: Engine):
    """A connection in a transaction for schema changes.

    On SQLite, foreign keys are switched off around it: batch mode rebuilds a
    table by dropping and re-creating it, and with foreign keys on that drop
    would cascade into (delete!) the rows of every table pointing at it. The
    pragma only works outside a transaction, so it is set on the raw
    connection first, and the keys are checked before they are switched on.
    """
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    with migration_connection(engine) as connection:
        command.upgrade(alembic_config(connection), revision)
        versions.leap(connection)  # pages kept before it are not the data now


def downgrade(engine: Engine, revision: str) -> None:
    with migration_connection(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
        versions.leap(connection)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


@cache
def _scripts() -> ScriptDirectory:
    """The migration scripts, read once per process (they do not change while it runs)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    return _scripts().get_current_head()


def _known(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def upgrade_command(app) -> str:
    """The command that sets the database up, as the person at the prompt types it."""
    # The standalone app is named "apprentice"; a host runs its own app's command line.
    standalone = app.name == "apprentice"
    return f"flask {'--app wsgi ' if standalone else ''}apprentice db upgrade"


def schema_problem(engine: Engine, upgrade: str) -> str | None:
    """What keeps apprentice from using this database, in words, or None when it is at
    the newest revision. A revision newer than this code knows (a rolled-back
    deploy) is left to run: only the database's owner can say whether it fits."""
    current = current_revision(engine)
    if current == head_revision() or (current is not None and not _known(current)):
        return None
    if current is None:
        return f"The database is not set up yet: run `{upgrade}` first."
    return (f"The database is at an older version ({current}) than this apprentice "
            f"({head_revision()}): run `{upgrade}` first.")


def ready_problem() -> str | None:
    """:func:`schema_problem` for the current app, remembered once the database is ready,
    so a page pays for the check once per process (see ``forget_ready``)."""
    state = current_app.extensions["apprentice"]
    if state.schema_ready:
        return None
    problem = schema_problem(state.database.engine, upgrade_command(current_app))
    state.schema_ready = problem is None
    return problem


def forget_ready() -> None:
    """Check again on the next call: a table was missing after all (a downgrade, a new
    database file)."""
    current_app.extensions["apprentice"].schema_ready = False


MISSING_TABLE_CODES = {"42P01", "42703"}  # PostgreSQL: undefined table, undefined column


def names_a_missing_table(exc: Exception) -> bool:
    """Whether a database error says a table or column is missing (SQLite's "no such
    table", PostgreSQL's undefined table), as on a database behind the migrations."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    text = str(orig).lower()
    return code in MISSING_TABLE_CODES or "no such table" in text or "no such column" in text


def has_tables(engine: Engine) -> bool:
    """Whether any apprentice table exists (an empty database may be set up at once)."""
    return any(include_name(name, "table", None) for name in inspect(engine).get_table_names())


def differences(engine: Engine) -> list:
    """What autogenerate would change: empty when models and migrations agree."""
    from apprentice import models  # noqa: F401
    from apprentice.db import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=context_options())
        return compare_metadata(context, Base.metadata)
