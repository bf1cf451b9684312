"""Alembic environment for the intranet's own tables.

Driven from code (``intranet.upgrade_database``, ``flask init-db``), which hands
over the connection, the intranet's metadata and its options. Those options
include ``include_name``, which hides apprentice's tables: the intranet's
autogenerate never proposes to drop them. The version table is Alembic's
default ``alembic_version``; apprentice keeps its own.
"""

from alembic import context

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the intranet's migrations with `flask init-db`")
    context.configure(
        connection=connection,
        target_metadata=config.attributes["target_metadata"],
        **config.attributes["options"],
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("the intranet's migrations run online only (`flask init-db`)")
run_migrations()
