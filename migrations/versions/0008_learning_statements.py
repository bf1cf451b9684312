"""learning statements: revisions and their area sections, append-only

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# A statement's revisions are never changed or removed: the database refuses it, as for
# sign-offs (0003, whose PostgreSQL function apprentice_refuse_change is used here; the
# triggers are written out again: migrations do not import each other).
APPEND_ONLY = ("apprentice_statement_revisions", "apprentice_statement_sections")


def create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: records are never "
                    "changed or removed'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION apprentice_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION apprentice_refuse_change()"
            )


def upgrade() -> None:
    op.create_table(
        "apprentice_statement_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=False),
        sa.Column("overall", sa.Text(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_statement_revisions_author_id_apprentice_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["apprentice_staff.id"],
            name=op.f("fk_apprentice_statement_revisions_person_id_apprentice_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apprentice_statement_revisions")),
        sa.UniqueConstraint("person_id", "number", name="uq_apprentice_statement_revisions_n"),
    )
    with op.batch_alter_table("apprentice_statement_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_statement_revisions_person_id"), ["person_id"],
            unique=False)
    op.create_table(
        "apprentice_statement_sections",
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["apprentice_competency_areas.id"],
            name=op.f("fk_apprentice_statement_sections_area_id_apprentice_competency_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["apprentice_statement_revisions.id"],
            name=op.f(
                "fk_apprentice_statement_sections_revision_id_apprentice_statement_revisions"),
        ),
        sa.PrimaryKeyConstraint("revision_id", "area_id",
                                name=op.f("pk_apprentice_statement_sections")),
    )
    with op.batch_alter_table("apprentice_statement_sections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apprentice_statement_sections_area_id"), ["area_id"], unique=False)
    create_append_only_triggers()


def downgrade() -> None:
    # Dropping a table drops its triggers too (SQLite and PostgreSQL).
    op.drop_table("apprentice_statement_sections")
    op.drop_table("apprentice_statement_revisions")
