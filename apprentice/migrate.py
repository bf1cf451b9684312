"""Alembic, driven from code: the same migrations in standalone and host mode.

apprentice keeps its own version table (``apprentice_alembic_version``) and
only ever looks at tables whose names start with ``apprentice_``, so it can
share a database with a host that runs Alembic migrations of its own.
"""

from __future__ import annotations

from contextlib import contextmanager

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

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


def downgrade(engine: Engine, revision: str) -> None:
    with migration_connection(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def differences(engine: Engine) -> list:
    """What autogenerate would change: empty when models and migrations agree."""
    from apprentice import models  # noqa: F401
    from apprentice.db import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=context_options())
        return compare_metadata(context, Base.metadata)
