"""Alembic environment for apprentice's own tables (see apprentice.migrate)."""

import os

from alembic import context
from sqlalchemy import create_engine

from apprentice import models  # noqa: F401 - every table on the metadata
from apprentice.db import Base
from apprentice.migrate import context_options

config = context.config


def run_offline() -> None:
    context.configure(
        url=os.environ.get("APPRENTICE_DATABASE_URL", "sqlite://"),
        target_metadata=Base.metadata,
        literal_binds=True,
        **context_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # Run by the plain `alembic` command: connect from the environment.
        engine = create_engine(os.environ["APPRENTICE_DATABASE_URL"])
        with engine.begin() as connection:
            context.configure(connection=connection, target_metadata=Base.metadata,
                              **context_options())
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=Base.metadata, **context_options())
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
