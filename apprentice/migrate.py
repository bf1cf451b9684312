"""Alembic, driven from code: the same migrations in standalone and host mode.

apprentice keeps its own version table (``apprentice_alembic_version``) and
only ever looks at tables whose names start with ``apprentice_``, so it can
share a database with a host that runs Alembic migrations of its own.
"""

from __future__ import annotations

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


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
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
