"""search index change log and replicas: the outbox becomes an append-only log that
every server's index reads, with a cursor per index replica

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The outbox was consumed by the one server that applied it (rows deleted), so other
# servers never saw those edits. The log keeps every change until each live replica has
# applied it (apprentice/kb/changelog.py). Ids only grow: AUTOINCREMENT on SQLite, so an
# id is never handed out again once the newest rows are pruned.


def _outbox() -> sa.Table:
    return sa.table("apprentice_index_outbox", sa.column("id", sa.Integer),
                    sa.column("procedure_id", sa.Integer),
                    sa.column("queued_at", sa.DateTime))


def _changes() -> sa.Table:
    return sa.table("apprentice_index_changes", sa.column("id", sa.Integer),
                    sa.column("procedure_id", sa.Integer))


def upgrade() -> None:
    op.create_table(
        "apprentice_index_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_index_changes")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "apprentice_index_replicas",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("applied_upto", sa.Integer(), nullable=False),
        sa.Column("glossary_id", sa.Integer(), nullable=True),
        sa.Column("rebuild_floor", sa.Integer(), nullable=True),
        sa.Column("built_from", sa.Integer(), nullable=True),
        sa.Column("built_at", sa.DateTime(), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_index_replicas")),
    )
    # Changes still waiting in the outbox go into the log, oldest first. (Every server
    # rebuilds its index once after this upgrade: no index folder is a replica yet.)
    outbox = _outbox()
    op.get_bind().execute(sa.insert(_changes()).from_select(
        ["procedure_id"], sa.select(outbox.c.procedure_id).order_by(outbox.c.id)))
    with op.batch_alter_table("apprentice_index_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apprentice_index_outbox_procedure_id"))
    op.drop_table("apprentice_index_outbox")


def downgrade() -> None:
    op.create_table(
        "apprentice_index_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_index_outbox")),
    )
    with op.batch_alter_table("apprentice_index_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_index_outbox_procedure_id"), ["procedure_id"], unique=False
        )
    # Every change still in the log goes back to the outbox: applying one twice only
    # indexes the procedure again, while one left out would stay unfindable.
    changes = _changes()
    op.get_bind().execute(sa.insert(_outbox()).from_select(
        ["procedure_id", "queued_at"],
        sa.select(changes.c.procedure_id, sa.func.current_timestamp())
        .order_by(changes.c.id)))
    op.drop_table("apprentice_index_replicas")
    op.drop_table("apprentice_index_changes")
